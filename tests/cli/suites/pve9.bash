# Proxmox VE 9 (Debian 13) hosts end to end: every read-only subcommand over the four pve9-* roots
# (tests/fixtures/hosts/pve9-*.yaml); see tests/cli/run.
# shellcheck shell=bash disable=SC2154
# ($ROOT, $OUT, $ERR, $RC, $TESTDIR and $PT belong to tests/cli/run.)

# p9_status ID STATUS: every check (or finding) with this id has this status, and there is one.
p9_status() {
    expect_jq "[.checks[] | select(.id == \"$1\")] | length > 0 and all(.status == \"$2\")"
}

# p9_absent ID: no check with this id.
p9_absent() {
    expect_jq "[.checks[] | select(.id == \"$1\")] | length == 0"
}

# p9_gpu ADDRESS ID STATUS: the check ID of the GPU at ADDRESS has STATUS. A GPU's checks come in
# one run that starts with its gpu.driver check, whose evidence names the device's sysfs folder.
p9_gpu() {
    check jq -e --arg a "$1" --arg id "$2" --arg st "$3" '
        .checks as $c
        | [range(0; $c | length) | select($c[.].id == "gpu.driver")] as $starts
        | [$starts[] | select($c[.].evidence | startswith("/sys/bus/pci/devices/" + $a + "/driver:"))][0] as $s
        | ([$starts[] | select(. > $s)] + [$c | length])[0] as $e
        | [$c[$s:$e][] | select(.id == $id)] | length == 1 and .[0].status == $st' "$OUT" >/dev/null 2>&1 \
        || fail "$1: $2 is not $3: $(jq -c --arg id "$2" '[.checks[] | select(.id == $id) | {status, summary}]' "$OUT" 2>/dev/null)"
}

# p9_findings VMID: the ids of the lint findings of VM VMID (vmconf --check --json), one per line.
p9_findings() {
    jq -r ".vms[] | select(.vmid == $1) | .findings[].id" "$OUT"
}

suite_pve9() {
    local name

    # --- verify --json: the platform of each host -------------------------------------------
    TEST "pve9-grub-6.14: verify names PVE 9.0, qemu-server 9.0.23 and kernel 6.14; only the meta package warns"
    use_root pve9-grub-6.14
    run_pt verify --json
    expect_exit 0
    expect_jq '.platform == {"pve_major": 9, "pve_manager": "9.0.11", "qemu_server": "9.0.23", "kernel_running": "6.14.8-2-pve"}'
    p9_status boot.systemd-boot-meta warn
    expect_jq '[.checks[] | select(.id == "boot.systemd-boot-meta") | .fix][0] | startswith("apt remove systemd-boot ")'
    expect_jq '[.checks[] | select(.id == "boot.systemd-boot-meta") | .evidence][0] == "/var/lib/dpkg/status: systemd-boot 257.8-1~deb13u2 installed, with systemd-boot-tools and systemd-boot-efi"'
    expect_jq '.summary.fail == 0 and .summary.warn == 1'
    expect_jq '[.checks[] | select(.status != "pass") | .id] == ["boot.systemd-boot-meta"]'
    p9_gpu 0000:01:00.0 gpu.driver pass
    p9_gpu 0000:01:00.0 gpu.host-driver pass
    p9_status modules.early-load pass
    expect_jq 'any(.checks[] | select(.id == "modules.early-load"); .evidence | contains("/etc/modules-load.d/pt-vfio.conf"))'
    p9_status vm.ok pass
    expect_stderr_empty
    expect_unchanged

    TEST "pve9-grub-6.14: verify text starts with the platform line"
    use_root pve9-grub-6.14
    run_pt verify
    expect_exit 0
    check [ "$(head -n 1 "$OUT")" = "Platform: Proxmox VE 9 (pve-manager 9.0.11, qemu-server 9.0.23), running kernel 6.14.8-2-pve" ] \
        || fail "first line: $(head -n 1 "$OUT")"
    expect_stdout_contains "Checking systemd-boot packages (Proxmox VE 9)                    : WARN"
    expect_stdout_contains "21 passed, 1 warned, 0 failed, 0 skipped"

    TEST "pve9-pbt-6.17: verify names PVE 9.1 and kernel 6.17; split systemd-boot packages pass"
    use_root pve9-pbt-6.17
    run_pt verify --json
    expect_exit 0
    expect_jq '.platform == {"pve_major": 9, "pve_manager": "9.1.1", "qemu_server": "9.1.0", "kernel_running": "6.17.2-1-pve"}'
    p9_status boot.systemd-boot-meta pass
    expect_jq '.summary.fail == 0'
    expect_jq '[.checks[] | select(.status != "pass") | .id] == ["vm.machine-version-old"]'
    expect_jq 'any(.checks[] | select(.id == "cmdline.configured"); .evidence | contains("/etc/kernel/cmdline line 1: root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet iommu=pt"))'
    p9_gpu 0000:03:00.0 gpu.driver pass
    p9_gpu 0000:03:00.0 gpu.reset pass
    expect_jq 'any(.checks[] | select(.id == "vm.machine-version-old"); .evidence == "/etc/pve/nodes/pve/qemu-server/101.conf:8: machine: pc-q35-5.2")'
    expect_unchanged

    TEST "pve9-keep-7.0: verify names PVE 9.2, qemu-server 9.2.6 and kernel 7.0; driver= is not an invalid key"
    use_root pve9-keep-7.0
    run_pt verify --json
    expect_jq '.platform == {"pve_major": 9, "pve_manager": "9.2.11", "qemu_server": "9.2.6", "kernel_running": "7.0.0-1-pve"}'
    p9_status boot.systemd-boot-meta pass
    p9_absent vm.hostpci-invalid
    p9_gpu 0000:0c:00.0 gpu.driver pass
    p9_gpu 0000:0c:00.0 gpu.host-driver pass
    p9_gpu 0000:0c:00.0 gpu.group-bound pass
    expect_jq 'any(.checks[] | select(.id == "vm.ok"); .summary == "VM 101: 1 hostpci entry, no problem found")'
    expect_unchanged

    TEST "pve9-vgpu: verify names PVE 9.1 and kernel 6.17; the vGPU VF on nvidia passes gpu.driver and gpu.host-driver"
    use_root pve9-vgpu
    run_pt verify --json
    expect_exit 0
    expect_jq '.platform == {"pve_major": 9, "pve_manager": "9.1.4", "qemu_server": "9.1.4", "kernel_running": "6.17.2-1-pve"}'
    p9_status boot.systemd-boot-meta pass
    expect_jq '.summary.fail == 0'
    # Only the VF the VM names is checked: the PF is on no VM and not on vfio-pci.
    expect_jq '[.checks[] | select(.id == "gpu.driver") | .what // .evidence | split("\n")[0]] | length == 1'
    p9_gpu 0000:17:00.4 gpu.driver pass
    p9_gpu 0000:17:00.4 gpu.host-driver pass
    expect_jq 'any(.checks[] | select(.id == "gpu.driver"); .summary | startswith("on nvidia, as meant: VM 100 gets a mediated device (mdev=nvidia-1011)"))'
    p9_absent vm.hostpci-invalid
    expect_unchanged

    # --- driver=keep and vGPU: what Proxmox does with them -----------------------------------
    TEST "pve9-keep-7.0: driver=keep on a GPU that nvidia holds is no pass (QEMU opens it through VFIO)"
    # qemu-server 9.0.25+ (PCI.pm prepare_pci_device) skips the vfio-pci bind and the reset for
    # driver=keep, "useful for devices that already have the correct driver loaded" (commit
    # aa47045f: mlx5_vfio_pci, i915_vfio_pci); QEMU still gets -device vfio-pci,host=0000:0b:00.0,
    # which needs the device on a VFIO driver. On nvidia the VM cannot start.
    use_root pve9-keep-7.0
    run_pt verify --json
    p9_gpu 0000:0b:00.0 gpu.driver fail
    expect_exit 3

    TEST "pve9-keep-7.0: driver=keep on a GPU already on vfio-pci passes, and Proxmox does not unbind it"
    use_root pve9-keep-7.0
    for name in 0000:0b:00.0 0000:0b:00.1; do
        # The driver link and uevent's DRIVER= both say it, as the kernel's do.
        ln -sfn "$(readlink "$ROOT/sys/bus/pci/devices/0000:0c:00.0/driver")" "$ROOT/sys/bus/pci/devices/$name/driver"
        sed -i 's/^DRIVER=.*/DRIVER=vfio-pci/' "$ROOT/sys/bus/pci/devices/$name/uevent"
    done
    check readlink -f "$ROOT/sys/bus/pci/devices/0000:0b:00.0/driver" | grep -q '/drivers/vfio-pci$' \
        || fail "the test could not move 0b:00.0 to vfio-pci"
    # ... and claimed at boot, as pt bind 0b:00 --force writes it (same time as the initrd).
    sed -i 's/^options vfio-pci ids=.*/options vfio-pci ids=10de:1aef,10de:2204,10de:228e,10de:2504/' "$ROOT/etc/modprobe.d/pt-vfio.conf"
    touch -d @1731000000 "$ROOT/etc/modprobe.d/pt-vfio.conf"
    run_pt verify --json
    p9_gpu 0000:0b:00.0 gpu.driver pass
    p9_gpu 0000:0b:00.0 gpu.group-bound pass
    p9_absent vm.hostpci-not-vfio

    TEST "pve9-keep-7.0: vmconf --check accepts driver=keep and driver=vfio on qemu-server 9.2.6"
    use_root pve9-keep-7.0
    run_pt vmconf --check --all --json
    expect_exit 0
    expect_jq '[.vms[].vmid] == [100, 101]'
    expect_jq '[.vms[].findings[].id] | index("vm.hostpci-invalid") == null'
    expect_jq '(.vms[] | select(.vmid == 101) | [.findings[].id]) == ["vm.ok"]'
    run_pt vmconf 101 --check
    expect_exit 0
    expect_stdout_contains "pass  vm.ok  VM 101: 1 hostpci entry, no problem found"
    expect_stdout_not_contains "driver="
    expect_unchanged

    TEST "pve9-keep-7.0: with qemu-server 9.0.23 the same driver= lines are invalid"
    use_root pve9-keep-7.0
    sed -i 's/^Version: 9.2.6$/Version: 9.0.23/' "$ROOT/var/lib/dpkg/status"
    run_pt vmconf --check --all --json
    expect_exit 3
    expect_jq '[.vms[] | select(.vmid == 100 or .vmid == 101) | [.findings[] | select(.id == "vm.hostpci-invalid")] | length] == [1, 1]'
    expect_jq 'any(.vms[].findings[]; .summary | contains("has driver=vfio, which qemu-server knows from 9.0.25 on"))'
    expect_jq 'any(.vms[].findings[]; .summary | contains("this host has qemu-server 9.0.23"))'

    TEST "pve9-keep-7.0: driver=keep: the lint does not say Proxmox unbinds the device"
    # prepare_pci_device skips pci_dev_group_bind_to_vfio for driver=keep.
    use_root pve9-keep-7.0
    run_pt vmconf 100 --check --json
    expect_jq 'all(.vms[].findings[]; .summary | contains("Proxmox unbinds") | not)'

    TEST "pve9-vgpu: verify of the L4's physical function: it stays on nvidia, as its VFs carry the vGPUs"
    # On kernels from 6.8 the PF has no nvidia/ directory; its VFs carry nvidia/creatable_vgpu_types
    # (qemu-server PCI/Mdev.pm get_mdev_types, create_nvidia_device).
    use_root pve9-vgpu
    run_pt verify 0000:17:00.0 --json
    p9_gpu 0000:17:00.0 gpu.driver pass
    p9_gpu 0000:17:00.0 gpu.host-driver pass
    expect_jq '.summary.fail == 0'

    TEST "pve9-vgpu: the VF on nvidia is not a group to hand to vfio-pci (Proxmox does not rebind a vGPU)"
    # PCI.pm prepare_pci_device: for an NVIDIA vGPU (mdev=nvidia-N on a VF with the nvidia sysfs
    # API) "nothing to do"; the VF on nvidia is itself a VFIO device (vfio-dev/).
    use_root pve9-vgpu
    run_pt verify --json
    p9_gpu 0000:17:00.4 gpu.group-bound pass
    p9_absent vm.hostpci-not-vfio
    expect_jq 'all(.checks[] | select(.fix != ""); .fix | contains("pt bind 0000:17:00") | not)'

    TEST "pve9-vgpu: vmconf --check: mdev=nvidia-1011 on the VF is valid"
    use_root pve9-vgpu
    run_pt vmconf 100 --check --json
    expect_jq '[.vms[].findings[] | select(.status == "fail")] == []'
    expect_jq '[.vms[].findings[].id] | index("vm.hostpci-invalid") == null and index("vm.hostpci-missing-device") == null'
    expect_unchanged

    # --- grub -------------------------------------------------------------------------------
    TEST "pve9-grub-6.14: pt grub: platform, plain GRUB on UEFI, the meta package warning"
    use_root pve9-grub-6.14
    run_pt grub
    expect_exit 0
    expect_stdout_contains "Platform:    Proxmox VE 9 (pve-manager 9.0.11, qemu-server 9.0.23), running kernel 6.14.8-2-pve"
    expect_stdout_contains "Bootloader:  GRUB"
    expect_stdout_contains "because /etc/kernel/proxmox-boot-uuids is absent"
    expect_stdout_contains "Configured:  quiet iommu=pt"
    expect_stdout_contains "Warning:     the systemd-boot meta package is installed"
    expect_stdout_contains "fix: apt remove systemd-boot (systemd-boot-tools and systemd-boot-efi stay"
    run_pt grub --json
    expect_exit 0
    expect_jq '.bootloader == "grub" and .cpu == "intel" and .kernel == "6.14.8-2-pve"'
    expect_jq '.platform == {"pve_major": 9, "pve_manager": "9.0.11", "qemu_server": "9.0.23", "kernel_running": "6.14.8-2-pve"}'
    expect_jq '[.warnings[].id] == ["boot.systemd-boot-meta"] and (.warnings[0].fix | startswith("apt remove systemd-boot "))'
    expect_jq '.needed == [] and .follow_ups == [] and .not_configured == []'
    expect_unchanged

    TEST "pve9-pbt-6.17: pt grub: proxmox-boot-tool + systemd-boot, /etc/kernel/cmdline, no warning"
    use_root pve9-pbt-6.17
    run_pt grub
    expect_exit 0
    expect_stdout_contains "Platform:    Proxmox VE 9 (pve-manager 9.1.1, qemu-server 9.1.0), running kernel 6.17.2-1-pve"
    expect_stdout_contains "Bootloader:  proxmox-boot-tool + systemd-boot"
    expect_stdout_contains "Configured:  root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet iommu=pt"
    expect_stdout_contains "Running:     initrd=\\EFI\\proxmox\\6.17.2-1-pve\\initrd.img-6.17.2-1-pve root=ZFS=rpool/ROOT/pve-1"
    expect_stdout_contains "Differences: none"
    expect_stdout_not_contains "Warning:"
    run_pt grub --json
    expect_exit 0
    expect_jq '.bootloader == "proxmox-boot-tool+systemd-boot" and .cpu == "amd" and .kernel == "6.17.2-1-pve"'
    expect_jq '.platform.pve_major == 9 and .platform.pve_manager == "9.1.1" and .platform.qemu_server == "9.1.0"'
    expect_jq '.warnings == [] and .needed == []'
    expect_jq '.configured == "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet iommu=pt"'
    expect_unchanged

    TEST "pve9-keep-7.0 and pve9-vgpu: pt grub: GRUB, kernel 7.0 / 6.17, no warning"
    use_root pve9-keep-7.0
    run_pt grub --json
    expect_exit 0
    expect_jq '.bootloader == "grub" and .kernel == "7.0.0-1-pve" and .warnings == []'
    expect_jq '.platform.qemu_server == "9.2.6"'
    use_root pve9-vgpu
    run_pt grub --json
    expect_exit 0
    expect_jq '.bootloader == "grub" and .kernel == "6.17.2-1-pve" and .warnings == []'
    expect_jq '.configured == "quiet intel_iommu=on"'

    TEST "pve9: a PVE 9 host with the meta package but without the split packages is told to install them first"
    use_root pve9-grub-6.14
    sed -i '/^Package: systemd-boot-tools$/,/^Description/d; /^Package: systemd-boot-efi$/,/^Description/d' "$ROOT/var/lib/dpkg/status"
    run_pt grub --json
    expect_jq '[.warnings[].id] == ["boot.systemd-boot-meta"]'
    expect_jq '.warnings[0].fix == "apt install systemd-boot-tools systemd-boot-efi, then apt remove systemd-boot"'

    # --- iommu-groups -----------------------------------------------------------------------
    TEST "pve9-grub-6.14: iommu-groups lists the RTX 4090 alone in group 14, viable"
    use_root pve9-grub-6.14
    run_pt iommu-groups --json
    expect_exit 0
    expect_jq '[.groups[].group] == [0, 1, 2, 8, 9, 14, 15, 16]'
    expect_jq '(.groups[] | select(.group == 14)) | .isolated and .viable and ([.devices[].address] == ["0000:01:00.0", "0000:01:00.1"])'
    expect_jq '(.groups[] | select(.group == 14) | .devices[0].device_name) == "AD102 [GeForce RTX 4090]"'
    run_pt iommu-groups
    expect_exit 0
    expect_stdout_contains "IOMMU group 14 (DMA)"
    expect_stdout_contains "0000:01:00.0  VGA compatible controller [0300]: NVIDIA Corporation AD102 [GeForce RTX 4090] [10de:2684]"
    expect_unchanged

    TEST "pve9-pbt-6.17: iommu-groups: the Navi 31 behind its own switch, group 14, ids without names"
    use_root pve9-pbt-6.17
    run_pt iommu-groups --gpu --json
    expect_exit 0
    expect_jq '[.groups[].group] == [14]'
    expect_jq '.groups[0].devices[0] | .vendor == "1002" and .device == "744c" and .driver == "vfio-pci" and .parent == "0000:02:00.0" and .device_name == null'
    expect_jq '.groups[0].isolated and .groups[0].viable'
    expect_unchanged

    TEST "pve9-keep-7.0: iommu-groups: the RTX 3090 on nvidia is not viable, the RTX 3060 on vfio-pci is"
    use_root pve9-keep-7.0
    run_pt iommu-groups --gpu --json
    expect_exit 0
    expect_jq '[.groups[] | {group, viable}] == [{"group": 16, "viable": false}, {"group": 17, "viable": true}]'
    expect_jq '(.groups[] | select(.group == 16) | [.blockers[].driver]) == ["nvidia", "snd_hda_intel"]'
    expect_unchanged

    TEST "pve9-vgpu: iommu-groups: the L4 PF lists its four VFs, each VF in its own group"
    use_root pve9-vgpu
    run_pt iommu-groups --json
    expect_exit 0
    expect_jq '(.groups[] | select(.group == 21) | .devices[0]) | .device_name == "AD104GL [L4]" and .class == "030200" and .driver == "nvidia" and .virtfns == ["0000:17:00.4", "0000:17:00.5", "0000:17:00.6", "0000:17:00.7"]'
    expect_jq '[.groups[] | select(.group >= 40 and .group <= 43) | .devices | length] == [1, 1, 1, 1]'
    expect_jq '[.groups[] | select(.group >= 40 and .group <= 43) | .devices[0].physfn] == ["0000:17:00.0", "0000:17:00.0", "0000:17:00.0", "0000:17:00.0"]'
    run_pt iommu-groups
    expect_exit 0
    expect_stdout_contains "IOMMU group 40 (DMA)"
    expect_unchanged

    # --- vmconf --check: machine versions ---------------------------------------------------
    TEST "pve9-pbt-6.17: vmconf 101 --check warns vm.machine-version-old for pc-q35-5.2"
    use_root pve9-pbt-6.17
    run_pt vmconf 101 --check --json
    expect_exit 0
    check [ "$(p9_findings 101 | tr '\n' ' ')" = "vm.machine-version-old " ] || fail "findings: $(p9_findings 101 | tr '\n' ' ')"
    expect_jq '.vms[0].findings[0] | .status == "warn" and .evidence == "/etc/pve/nodes/pve/qemu-server/101.conf:8: machine: pc-q35-5.2"'
    expect_jq '.vms[0].findings[0].fix | contains("qm set 101 --machine q35")'
    expect_jq '.summary == {"vms": 1, "pass": 0, "warn": 1, "fail": 0, "skip": 0, "vms_by_status": {"pass": 0, "warn": 1, "fail": 0, "skip": 0}}'
    run_pt vmconf 101 --check
    expect_exit 0
    expect_stdout_contains "warn  vm.machine-version-old  VM 101: the machine is pinned to pc-q35-5.2, older than 6.0"
    expect_unchanged

    TEST "pve9-pbt-6.17: machine pc-q35-6.0 (the baseline) and plain q35 are not old"
    use_root pve9-pbt-6.17
    sed -i 's/^machine: pc-q35-5.2$/machine: pc-q35-6.0/' "$ROOT/etc/pve/nodes/pve/qemu-server/101.conf"
    run_pt vmconf 101 --check --json
    expect_exit 0
    check [ "$(p9_findings 101 | tr '\n' ' ')" = "vm.ok " ] || fail "findings: $(p9_findings 101 | tr '\n' ' ')"
    sed -i 's/^machine: pc-q35-6.0$/machine: q35/' "$ROOT/etc/pve/nodes/pve/qemu-server/101.conf"
    run_pt vmconf 101 --check --json
    check [ "$(p9_findings 101 | tr '\n' ' ')" = "vm.ok " ] || fail "findings: $(p9_findings 101 | tr '\n' ' ')"

    TEST "pve9-grub-6.14: vmconf 100 --check is clean"
    use_root pve9-grub-6.14
    run_pt vmconf 100 --check --json
    expect_exit 0
    check [ "$(p9_findings 100 | tr '\n' ' ')" = "vm.ok " ] || fail "findings: $(p9_findings 100 | tr '\n' ' ')"

    # --- bind (dry run) ---------------------------------------------------------------------
    TEST "pve9-grub-6.14: bind dry run without pt's files: modules-load.d/pt-vfio.conf, never /etc/modules"
    use_root pve9-grub-6.14
    rm "$ROOT/etc/modules-load.d/pt-vfio.conf" "$ROOT/etc/modprobe.d/pt-vfio.conf"
    (cd "$ROOT" && find . -printf '%p %y %l %s\n' | sort >"$TESTDIR/tree.before")
    run_pt bind 01:00 --json
    expect_exit 0
    expect_jq '[.files[].path] | index("/etc/modules-load.d/pt-vfio.conf") != null'
    expect_jq '[.files[].path] | index("/etc/modules") == null'
    expect_jq '(.files[] | select(.path == "/etc/modules-load.d/pt-vfio.conf")) | .action == "create" and (.diff | contains("+# Written by pt bind; pt unbind removes it. See pt-bind(1).\n+# The VFIO modules, loaded by systemd-modules-load (modules-load.d(5)).\n+vfio\n+vfio_iommu_type1\n+vfio_pci\n"))'
    expect_jq '(.files[] | select(.path == "/etc/modprobe.d/pt-vfio.conf") | .diff) | contains("+options vfio-pci ids=10de:22ba,10de:2684\n")'
    expect_jq '.follow_ups == ["update-initramfs -u -k all"]'
    run_pt bind 01:00
    expect_exit 0
    expect_stdout_contains "# create /etc/modules-load.d/pt-vfio.conf (mode 0644)"
    ! check grep -qE '^\+\+\+ b/etc/modules$' "$OUT" || fail "the plan writes /etc/modules"
    expect_stdout_contains "dry run: nothing was changed"
    expect_unchanged

    TEST "pve9-grub-6.14: bind dry run with pt's files in place changes nothing"
    use_root pve9-grub-6.14
    run_pt bind 01:00 --json
    expect_exit 0
    expect_jq '.changes == false and .files == []'
    expect_unchanged

    TEST "pve9-keep-7.0: bind refuses the host's only display; with --force the dry run adds its IDs, no /etc/modules"
    use_root pve9-keep-7.0
    run_pt bind 0b:00
    expect_exit 1
    expect_stderr_contains "0000:0b:00.0 (display controller [10de:2204], nvidia) is the host's only display device"
    run_pt bind 0b:00 --force --json
    expect_exit 0
    expect_jq '.changes == true and [.files[].path] == ["/etc/modprobe.d/pt-vfio.conf"]'
    expect_jq '[.files[].path] | index("/etc/modules") == null'
    expect_jq '(.files[] | select(.path == "/etc/modprobe.d/pt-vfio.conf") | .diff) | contains("+options vfio-pci ids=10de:1aef,10de:2204,10de:228e,10de:2504\n")'
    expect_unchanged

    # --- snapshot round trip ----------------------------------------------------------------
    for name in pve9-grub-6.14 pve9-pbt-6.17 pve9-keep-7.0 pve9-vgpu; do
        TEST "$name: snapshot round trip: verify, grub, iommu-groups and vmconf --check say the same offline"
        use_root "$name"
        run_pt snapshot -o "$TESTDIR/snap.tar.gz" --json
        expect_exit 0
        expect_jq '.format == 1 and .archive.members > 0'
        mkdir -p "$TESTDIR/x"
        check tar -xzf "$TESTDIR/snap.tar.gz" -C "$TESTDIR/x" || fail "tar could not extract the snapshot"
        local args side
        for args in "verify --json" "grub --json" "iommu-groups --json" "vmconf --check --all --json"; do
            for side in "$ROOT" "$TESTDIR/x"; do
                # shellcheck disable=SC2086 # args are words
                "$PT" --root "$side" $args 2>&1 | sed "s|$side|ROOT|g" >"$TESTDIR/out.$([ "$side" = "$ROOT" ] && echo a || echo b)"
            done
            check cmp -s "$TESTDIR/out.a" "$TESTDIR/out.b" \
                || fail "pt $args differs on the extracted snapshot:" "$(diff -u "$TESTDIR/out.a" "$TESTDIR/out.b" | head -n 20)"
        done
        check grep -qx 'Package: pve-manager' "$TESTDIR/x/var/lib/dpkg/status" || fail "the snapshot lost pve-manager's stanza"
        check [ -f "$TESTDIR/x/etc/debian_version" ] || fail "the snapshot lost /etc/debian_version"
        expect_unchanged
    done
}
