# pt verify end to end; see tests/cli/run.
# shellcheck shell=bash disable=SC2154
# ($ROOT, $OUT, $ERR, $TESTDIR and $top belong to tests/cli/run.)

VF_OLD="2026-01-01 00:00:00 UTC"
VF_NEW="2026-01-02 00:00:00 UTC"

# vf_times INITRD_TIME CONFIG_TIME: git keeps no mtimes, so every test that reads the initramfs
# check sets them: the initrds get the first time, modprobe.d and initramfs-tools the second.
vf_times() {
    local f
    for f in "$ROOT"/boot/initrd.img-*; do
        [ -e "$f" ] && touch -d "$1" "$f"
    done
    for f in "$ROOT"/etc/modprobe.d/* "$ROOT"/etc/initramfs-tools/* "$ROOT"/etc/initramfs-tools/*/*; do
        [ -e "$f" ] && touch -d "$2" "$f"
    done
    return 0
}

# vf_root NAME: a copy of fixture root NAME with a fresh initramfs.
vf_root() {
    use_root "$1" || return 1
    vf_times "$VF_NEW" "$VF_OLD"
}

# vf_status ID STATUS: every check with this id has this status (and there is one).
vf_status() {
    expect_jq "[.checks[] | select(.id == \"$1\")] | length > 0 and all(.status == \"$2\")"
}

# vf_field ID FIELD TEXT: some check with this id has TEXT in FIELD.
vf_field() {
    expect_jq "any(.checks[] | select(.id == \"$1\"); .$2 | contains($(jq -Rn --arg s "$3" '$s')))"
}

# vf_rom FILE: a minimal option ROM holding one x64 EFI image (ground truth §9), 512 bytes.
vf_rom() {
    {
        # 55 AA, init size 1, EFI signature 0EF1, boot-service driver, x64, uncompressed
        printf '\x55\xaa\x01\x00\xf1\x0e\x00\x00\x0b\x00\x64\x86\x00\x00'
        printf '\x00\x00\x00\x00\x00\x00\x00\x00\x40\x00\x1c\x00\x00\x00'
        # PCIR: 10de:2504, length 0x18, rev 0, class 030000, 1 x 512 bytes, EFI, last image
        printf 'PCIR\xde\x10\x04\x25\x00\x00\x18\x00\x00\x00\x00\x03\x01\x00\x00\x00\x03\x80\x00\x00'
        head -c 464 /dev/zero
    } >"$1"
}

suite_verify() {
    TEST "healthy Intel GRUB host: every check passes, text as expected, nothing written"
    vf_root verify-intel-grub
    run_pt verify
    expect_exit 0
    expect_stdout_file intel-grub.txt
    expect_stderr_empty
    expect_unchanged

    TEST "healthy Intel GRUB host: JSON has exactly the documented shape"
    vf_root verify-intel-grub
    run_pt verify --json
    expect_exit 0
    expect_jq 'keys_unsorted == ["platform", "checks", "reboot_pending", "summary"]'
    expect_jq '.platform | keys_unsorted == ["pve_major", "pve_manager", "qemu_server", "kernel_running"]'
    expect_jq '.platform.kernel_running == "6.8.12-4-pve" and .platform.pve_major == null'
    expect_jq '.reboot_pending == false'
    expect_jq '.summary | keys == ["fail", "pass", "skip", "warn"]'
    expect_jq 'all(.checks[]; keys - ["layers"] == ["evidence", "fix", "id", "status", "summary"])'
    expect_jq 'all(.checks[] | .layers // empty; keys_unsorted == ["configured", "staged", "running"])'
    expect_jq '[.checks[] | select(.layers) | .id] | index("gpu.driver") != null and index("initramfs.fresh") != null'
    expect_jq '.summary.fail == 0 and .summary.warn == 0'
    expect_jq '.summary.pass == ([.checks[] | select(.status == "pass")] | length)'
    expect_jq '[.checks[].id] | index("initramfs.fresh") != null and index("gpu.reset") != null'
    vf_status iommu.interrupt-remapping pass
    vf_field iommu.interrupt-remapping evidence "DMAR-IR: Enabled IRQ remapping in x2apic mode"
    vf_field cmdline.iommu summary "no parameter is needed"
    vf_status vm.ok pass

    TEST "the same verify twice gives the same output"
    vf_root verify-intel-grub
    run_pt verify --json
    cp "$OUT" "$TESTDIR/first"
    run_pt verify --json
    check cmp -s "$TESTDIR/first" "$OUT" || fail "the second run differs"

    TEST "-q keeps the check lines and drops the summary"
    vf_root verify-folklore
    run_pt -q verify
    expect_exit 0
    expect_stdout_contains "Checking kernel command line for invalid values"
    expect_stdout_contains "    fix:"
    expect_stdout_not_contains "passed,"

    TEST "healthy AMD ZFS systemd-boot host with a PCI mapping passes"
    vf_root verify-amd-zfs
    run_pt verify --json
    expect_exit 0
    expect_jq '.summary.fail == 0 and .summary.warn == 0'
    vf_field cmdline.configured evidence "/etc/kernel/cmdline line 1: root=ZFS=rpool/ROOT/pve-1"
    vf_field iommu.interrupt-remapping evidence "AMD-Vi: Interrupt remapping enabled"
    vf_field gpu.driver evidence "0000:0b:00.0/driver: vfio-pci"
    expect_jq 'any(.checks[]; .id | startswith("mapping."))'
    expect_jq 'all(.checks[] | select(.id | startswith("mapping.")); .status == "pass")'

    TEST "identical GPUs: only the passed-through card is checked, and it passes"
    vf_root verify-identical-gpus
    run_pt verify --json
    expect_exit 0
    expect_jq '[.checks[] | select(.id == "gpu.driver") | .evidence | split("\n")[0]] == ["/sys/bus/pci/devices/0000:02:00.0/driver: vfio-pci"]'
    vf_status gpu.host-driver pass
    vf_field gpu.driver evidence "configured: /etc/initramfs-tools/scripts/init-top/pt-vfio"
    expect_jq '(.checks[] | select(.id == "gpu.driver") | .layers) == {"configured": true, "staged": null, "running": true}'

    TEST "identical GPUs: without pt's hook the card on vfio-pci is lost at the next boot"
    vf_root verify-identical-gpus
    rm "$ROOT/etc/initramfs-tools/scripts/init-top/pt-vfio"
    run_pt verify --json
    expect_exit 3
    vf_status gpu.driver fail
    vf_field gpu.driver summary "running but not configured"
    vf_field gpu.driver fix "pt bind 0000:02:00 --apply"

    TEST "identical GPUs: vfio-pci ids= would also take the host's card"
    vf_root verify-identical-gpus
    printf 'options vfio-pci ids=10de:2504\n' >"$ROOT/etc/modprobe.d/vfio.conf"
    vf_times "$VF_NEW" "$VF_OLD"
    run_pt verify --json
    expect_exit 0
    vf_status gpu.host-driver warn
    vf_field gpu.host-driver evidence "vfio-pci ids= also claims 0000:01:00.0"
    vf_field gpu.host-driver fix "--softdep"

    TEST "stale initramfs: modules not loaded after reboot (seed row 1)"
    use_root verify-stale-initramfs
    vf_times "$VF_OLD" "$VF_NEW"
    run_pt verify
    expect_exit 3
    expect_stdout_contains "Checking initramfs newer than modprobe.d / modules / hooks"
    expect_stdout_contains "stale initramfs for 6.8.12-4-pve"
    expect_stdout_contains "/boot/initrd.img-6.8.12-4-pve: 2026-01-01 00:00:00 UTC (older)"
    expect_stdout_contains "fix:      update-initramfs -u -k all, then reboot"
    run_pt verify --json
    vf_status initramfs.fresh fail
    vf_status modules.loaded fail
    vf_field modules.loaded summary "although listed for early load before this boot"
    vf_field modules.loaded evidence "/proc/stat: booted 2026-01-03 08:00:00 UTC; /etc/modules changed 2024-11-07 17:20:00 UTC"
    expect_jq '.reboot_pending == false'

    TEST "modules listed since this boot: reboot pending, not a failure"
    use_root verify-stale-initramfs
    vf_times "$VF_OLD" "$VF_NEW"
    touch -d "2026-01-04 00:00:00 UTC" "$ROOT/etc/modules"
    run_pt verify --json
    vf_status modules.loaded warn
    vf_field modules.loaded summary "reboot pending"
    vf_field modules.loaded fix "modprobe vfio-pci"
    expect_jq '(.checks[] | select(.id == "modules.loaded") | .layers) == {"configured": true, "staged": true, "running": false}'
    expect_jq '.reboot_pending == true'
    rm "$ROOT/proc/stat"
    run_pt verify --json
    vf_status modules.loaded warn
    vf_field modules.loaded summary "a reboot is pending if they were listed since this boot"

    TEST "initramfs: equal times count as fresh"
    use_root verify-stale-initramfs
    vf_times "$VF_OLD" "$VF_OLD"
    run_pt verify --json
    vf_status initramfs.fresh pass

    TEST "initramfs: a kernel without an initrd is a warning"
    vf_root verify-intel-grub
    mkdir -p "$ROOT/lib/modules/6.8.8-2-pve"
    run_pt verify --json
    expect_exit 0
    vf_status initramfs.fresh warn
    vf_field initramfs.fresh evidence "/boot/initrd.img-6.8.8-2-pve: missing"

    TEST "host driver still bound: GPU unassigned (seed row 2)"
    vf_root verify-driver-bound
    run_pt verify
    expect_exit 3
    expect_stdout_file driver-bound.txt
    run_pt verify --json
    vf_status gpu.driver fail
    vf_field gpu.driver summary "the host driver nvidia still has the GPU"
    vf_field gpu.driver fix "pt bind 0000:01:00 --apply"
    vf_field gpu.driver fix "pt bind 0000:01:00 --now --apply"
    expect_jq '(.checks[] | select(.id == "gpu.driver") | .layers) == {"configured": false, "staged": null, "running": false}'
    expect_jq '.reboot_pending == false'
    vf_status gpu.host-driver fail
    vf_field gpu.host-driver evidence "nothing keeps nouveau, nvidia, nvidiafb off"
    vf_status gpu.group-bound warn

    TEST "IOMMU not detected (seed row 3): Intel kernel 6.5 without intel_iommu=on"
    vf_root verify-iommu-off
    run_pt verify 01:00 --json
    expect_exit 3
    vf_status iommu.enabled fail
    vf_field iommu.enabled summary "IOMMU not detected"
    vf_field iommu.enabled fix "intel_iommu=on"
    vf_field iommu.enabled evidence "kernel log: "
    vf_status cmdline.iommu fail
    vf_field cmdline.iommu summary "needs intel_iommu=on"
    vf_field cmdline.iommu fix "pt grub --apply (it runs update-grub), then reboot"
    vf_status iommu.interrupt-remapping skip
    vf_status gpu.group-isolated skip

    TEST "no GPU on vfio-pci or in a VM: gpu.select warns and names the display devices"
    vf_root verify-iommu-off
    run_pt verify --json
    vf_status gpu.select warn
    vf_field gpu.select evidence "0000:01:00.0 on nouveau"

    TEST "GPU grouped with other devices (seed row 4)"
    vf_root verify-shared-group
    run_pt verify --json
    expect_exit 3
    vf_status gpu.group-isolated fail
    vf_field gpu.group-isolated summary "0000:00:14.0 (class 0c0330, xhci_hcd)"
    vf_field gpu.group-isolated fix "ACS"
    vf_status gpu.group-bound warn

    TEST "VM start hangs: AMD Polaris without vendor-reset (seed row 6)"
    vf_root verify-amd-reset
    run_pt verify --json
    expect_exit 3
    vf_status gpu.reset fail
    vf_field gpu.reset summary "AMD Polaris 10 cannot be reset without vendor-reset"
    vf_field gpu.reset evidence "reset_method: bus"
    vf_field gpu.reset fix "device_specific > /sys/bus/pci/devices/0000:0a:00.0/reset_method"

    TEST "AMD Polaris with vendor-reset's device_specific method passes"
    vf_root verify-amd-reset
    printf 'device_specific bus\n' >"$ROOT/sys/bus/pci/devices/0000:0a:00.0/reset_method"
    run_pt verify --json
    expect_exit 0
    vf_status gpu.reset pass

    TEST "no interrupt remapping: fail, then the allow_unsafe_interrupts trade-off warns"
    vf_root verify-no-remap
    run_pt verify --json
    expect_exit 3
    vf_status iommu.interrupt-remapping fail
    vf_field iommu.interrupt-remapping evidence "IRQ remapping doesn't support X2APIC mode"
    vf_field iommu.interrupt-remapping fix "allow_unsafe_interrupts=1"
    printf 'options vfio_iommu_type1 allow_unsafe_interrupts=1\n' >"$ROOT/etc/modprobe.d/iommu_unsafe_interrupts.conf"
    vf_times "$VF_NEW" "$VF_OLD"
    run_pt verify --json
    expect_exit 0
    vf_status iommu.interrupt-remapping warn
    vf_field iommu.interrupt-remapping evidence "options vfio_iommu_type1 allow_unsafe_interrupts=1"

    TEST "no kernel log in the root: the log checks skip and say where it belongs"
    vf_root verify-intel-grub
    rm "$ROOT/var/lib/pt/snapshot/dmesg"
    run_pt verify --json
    expect_exit 0
    vf_status iommu.interrupt-remapping skip
    vf_field iommu.interrupt-remapping summary "/var/lib/pt/snapshot/dmesg"

    TEST "folklore: amd_iommu=on and vfio_virqfd warn, exit 0"
    vf_root verify-folklore
    run_pt verify --json
    expect_exit 0
    vf_status cmdline.invalid warn
    vf_field cmdline.invalid evidence "/proc/cmdline: amd_iommu=on"
    vf_field cmdline.invalid evidence "/etc/default/grub: amd_iommu=on"
    vf_field cmdline.invalid evidence "AMD-Vi: Unknown option - 'on'"
    vf_status modules.vfio-virqfd warn
    vf_field modules.vfio-virqfd fix "remove the vfio_virqfd line from /etc/modules"
    vf_status cmdline.iommu pass

    TEST "framebuffer folklore: video=efifb:off warns with the exact removal; without it, pass"
    vf_root verify-intel-grub
    run_pt verify --json
    vf_status cmdline.folklore pass
    sed -i 's/iommu=pt/iommu=pt video=efifb:off/' "$ROOT/proc/cmdline" "$ROOT/etc/default/grub" "$ROOT/boot/grub/grub.cfg"
    vf_times "$VF_NEW" "$VF_OLD"
    run_pt verify --json
    expect_exit 0
    vf_status cmdline.folklore warn
    vf_field cmdline.folklore summary "video=efifb:off does nothing on Proxmox kernels"
    vf_field cmdline.folklore evidence "/proc/cmdline: video=efifb:off"
    vf_field cmdline.folklore evidence "/etc/default/grub: video=efifb:off"
    vf_field cmdline.folklore fix "pt grub --remove video=efifb:off --apply"
    run_pt grub --remove video=efifb:off
    expect_exit 0
    expect_stdout_contains "-GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt video=efifb:off\""

    TEST "intel_iommu=on on an AMD host: it does nothing there, and AMD needs no parameter"
    vf_root verify-amd-zfs
    run_pt verify --json
    vf_status cmdline.iommu pass
    sed -i 's/iommu=pt/intel_iommu=on iommu=pt/' "$ROOT/proc/cmdline"
    run_pt verify --json
    vf_status cmdline.iommu warn
    vf_field cmdline.iommu summary "intel_iommu=on does nothing on this AMD CPU"
    vf_field cmdline.iommu summary "The AMD IOMMU needs no parameter"
    vf_field cmdline.iommu fix "pt grub --remove intel_iommu=on --apply"

    TEST "video=efifb:off names sysfb and pt grub --sysfb-off"
    vf_root verify-intel-grub
    sed -i 's/iommu=pt/iommu=pt video=efifb:off/' "$ROOT/proc/cmdline"
    run_pt verify --json
    vf_field cmdline.folklore summary "since 5.15 they hand the firmware framebuffer to sysfb"
    vf_field cmdline.folklore summary "pt grub --sysfb-off does that"

    TEST "cmdline.invalid on Intel names the intel_iommu value and its valid ones, not amd_iommu"
    vf_root verify-intel-grub
    sed -i 's/iommu=pt/iommu=pt intel_iommu=on,sm_of/' "$ROOT/proc/cmdline" "$ROOT/etc/default/grub"
    printf "[    0.104600] DMAR: Unknown option - 'sm_of'\n" >>"$ROOT/var/lib/pt/snapshot/dmesg"
    vf_times "$VF_NEW" "$VF_OLD"
    run_pt verify --json
    vf_status cmdline.invalid warn
    vf_field cmdline.invalid summary "intel_iommu=sm_of is not a valid value"
    vf_field cmdline.invalid summary "igfx_off, sp_off, sm_on, sm_off, tboot_noforce"
    vf_field cmdline.invalid summary "DMAR: Unknown option - 'sm_of'"
    vf_field cmdline.invalid evidence "DMAR: Unknown option - 'sm_of'"
    vf_field cmdline.invalid fix "pt grub --remove intel_iommu=on,sm_of --apply"
    expect_jq '[.checks[] | select(.id == "cmdline.invalid") | .summary + .fix] | all(contains("amd_iommu") | not)'

    TEST "bios: OVMF is not a value Proxmox accepts: vm.bios-invalid fails"
    vf_root verify-intel-grub
    sed -i 's/^bios: ovmf$/bios: OVMF/' "$ROOT/etc/pve/nodes/pve/qemu-server/100.conf"
    run_pt verify --json
    expect_exit 3
    vf_status vm.bios-invalid fail
    vf_field vm.bios-invalid summary "bios: OVMF is not a value Proxmox accepts"
    vf_field vm.bios-invalid summary "the VM boots SeaBIOS, not OVMF"
    vf_field vm.bios-invalid fix "qm set 100 --bios ovmf"
    expect_jq '[.checks[].id] | index("vm.ok") == null'

    TEST "wrong file edited, VT-x off, no /dev/kvm"
    vf_root verify-wrong-file
    run_pt verify --json
    expect_exit 3
    vf_status cmdline.configured fail
    vf_field cmdline.configured summary "edited a file this bootloader does not read"
    vf_field cmdline.configured fix "/etc/kernel/cmdline"
    vf_status cpu.virtualization fail
    vf_field cpu.virtualization fix "Intel Virtualization Technology (VT-x)"
    vf_status kvm.device fail

    TEST "update-grub not run: configured but not in grub.cfg fails with the layers and the fix"
    vf_root verify-intel-grub
    sed -i 's/quiet iommu=pt/quiet iommu=pt initcall_blacklist=sysfb_init/' "$ROOT/etc/default/grub"
    run_pt verify --json
    expect_exit 3
    vf_status cmdline.configured fail
    vf_field cmdline.configured summary "configured but not in /boot/grub/grub.cfg: initcall_blacklist=sysfb_init; update-grub has not run"
    vf_field cmdline.configured evidence "staged: /boot/grub/grub.cfg line 13: root=/dev/mapper/pve-root ro  quiet iommu=pt"
    vf_field cmdline.configured fix "update-grub, then reboot"
    expect_jq '.checks[] | select(.id == "cmdline.configured") | .layers == {"configured": true, "staged": false, "running": false}'
    expect_jq '.reboot_pending == false'
    run_pt grub --json
    expect_jq '.staged == {"path": "/boot/grub/grub.cfg", "line": 13, "cmdline": "root=/dev/mapper/pve-root ro  quiet iommu=pt"} and .not_staged == ["initcall_blacklist=sysfb_init"]'
    run_pt grub
    expect_stdout_contains "Staged:      root=/dev/mapper/pve-root ro  quiet iommu=pt"
    expect_stdout_contains "configured but not in /boot/grub/grub.cfg (line 13): initcall_blacklist=sysfb_init; update-grub has not run"

    TEST "reboot pending: configured and in grub.cfg, not running"
    vf_root verify-intel-grub
    sed -i 's/quiet iommu=pt/quiet iommu=pt initcall_blacklist=sysfb_init/' "$ROOT/etc/default/grub" "$ROOT/boot/grub/grub.cfg"
    run_pt verify --json
    expect_exit 0
    vf_status cmdline.configured warn
    vf_field cmdline.configured summary "reboot pending"
    vf_field cmdline.configured fix "reboot"
    expect_jq '.checks[] | select(.id == "cmdline.configured") | .layers == {"configured": true, "staged": true, "running": false}'
    expect_jq '.reboot_pending == true'

    TEST "boot VGA GPU with a BAR the framebuffer holds"
    vf_root verify-boot-vga
    run_pt verify --json
    expect_exit 3
    vf_status gpu.boot-vga fail
    vf_field gpu.boot-vga evidence "BAR 1: can't reserve"
    vf_field gpu.boot-vga fix "pt grub --sysfb-off --apply"
    vf_status gpu.rom warn

    TEST "romfile: missing, absolute, and a valid EFI ROM"
    vf_root verify-intel-grub
    sed -i 's/^hostpci0: .*/hostpci0: 0000:01:00,pcie=1,x-vga=1,romfile=rtx3060.rom/' "$ROOT/etc/pve/nodes/pve/qemu-server/100.conf"
    run_pt verify --json
    expect_exit 3
    vf_status gpu.rom fail
    vf_field gpu.rom evidence "/usr/share/kvm/rtx3060.rom: missing"
    mkdir -p "$ROOT/usr/share/kvm"
    vf_rom "$ROOT/usr/share/kvm/rtx3060.rom"
    run_pt verify --json
    expect_exit 0
    vf_status gpu.rom pass
    vf_field gpu.rom evidence "images: EFI (x64)"
    head -c 256 /dev/zero >"$ROOT/usr/share/kvm/rtx3060.rom"
    run_pt verify --json
    expect_exit 3
    vf_status gpu.rom fail
    sed -i 's/romfile=rtx3060.rom/romfile=\/var\/lib\/vz\/vgabios\/gpu.rom/' "$ROOT/etc/pve/nodes/pve/qemu-server/100.conf"
    run_pt verify --json
    vf_field gpu.rom summary "absolute path"

    TEST "cmdline.invalid: values outside the kernel's own lists, and an ids= list split by a space"
    use_root seed-rtx3090
    printf '%s\n' "BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve root=/dev/mapper/pve-root ro quiet amd_iommu=1 iommu=on iommu.passthrough=maybe vfio-pci.ids=10de:2204, 10de:1aef" >"$ROOT/proc/cmdline"
    run_pt verify --json
    vf_status cmdline.invalid warn
    vf_field cmdline.invalid summary "amd_iommu=1 is not a valid value"
    vf_field cmdline.invalid summary "iommu=on is not a valid value"
    vf_field cmdline.invalid summary "Malformed early option 'iommu.passthrough'"
    vf_field cmdline.invalid summary "a space splits vfio-pci.ids: 10de:1aef is a separate word"
    vf_field cmdline.invalid evidence "/proc/cmdline: vfio-pci.ids=10de:2204, 10de:1aef"
    vf_field cmdline.invalid fix "--remove vfio-pci.ids=10de:2204, --remove 10de:1aef --add vfio-pci.ids=10de:2204,10de:1aef"

    TEST "cmdline.iommu: amd_iommu=off fails, and its fix really removes it"
    use_root seed-rtx3090
    sed -i 's/^GRUB_CMDLINE_LINUX_DEFAULT="quiet"/GRUB_CMDLINE_LINUX_DEFAULT="quiet amd_iommu=off"/' "$ROOT/etc/default/grub"
    sed -i 's/ quiet/ quiet amd_iommu=off/' "$ROOT/proc/cmdline"
    run_pt verify --json
    expect_exit 3
    vf_status cmdline.iommu fail
    vf_field cmdline.iommu fix "pt grub --apply"
    run_pt grub --apply
    expect_exit 0
    check grep -q 'amd_iommu' "$ROOT/etc/default/grub" && fail "pt grub --apply left amd_iommu=off: $(grep CMDLINE "$ROOT/etc/default/grub")"

    TEST "modprobe.vfio-ids: conflicting ids= in two files: the last one wins, and the fix names both"
    vf_root verify-intel-grub
    printf 'options vfio-pci ids=10de:2504\n' >"$ROOT/etc/modprobe.d/zz-old.conf"
    run_pt verify --json
    vf_status modprobe.vfio-ids warn
    vf_field modprobe.vfio-ids summary "vfio-pci gets only the last one, 10de:2504 (/etc/modprobe.d/zz-old.conf:1)"
    vf_field modprobe.vfio-ids summary "so 10de:228e is not claimed at boot"
    vf_field modprobe.vfio-ids evidence "/etc/modprobe.d/vfio.conf:1: options vfio-pci ids=10de:2504,10de:228e"
    vf_field modprobe.vfio-ids fix "sed -i '1d' /etc/modprobe.d/vfio.conf"
    vf_field modprobe.vfio-ids fix "make /etc/modprobe.d/zz-old.conf:1 read ids=10de:2504,10de:228e"

    TEST "modprobe.vfio-ids: a space in the list, a typo, and a file hidden by /etc"
    vf_root verify-intel-grub
    printf 'options vfio-pci ids=10de:2504, 10de:228e\n' >"$ROOT/etc/modprobe.d/vfio.conf"
    run_pt verify --json
    vf_status modprobe.vfio-ids warn
    vf_field modprobe.vfio-ids summary "a space splits the ids= list at /etc/modprobe.d/vfio.conf:1"
    printf 'options vfio-pci ids=10de:2505\n' >"$ROOT/etc/modprobe.d/vfio.conf"
    run_pt verify --json
    vf_field modprobe.vfio-ids summary "10de:2505 matches no PCI device of this host"
    mkdir -p "$ROOT/usr/lib/modprobe.d"
    printf 'options vfio-pci ids=10de:2504,10de:228e\n' >"$ROOT/usr/lib/modprobe.d/vfio.conf"
    run_pt verify --json
    vf_field modprobe.vfio-ids evidence "/usr/lib/modprobe.d/vfio.conf: hidden by /etc/modprobe.d/vfio.conf"
    vf_field modprobe.vfio-ids summary "10de:2505 matches no PCI device"

    TEST "SEL narrows the GPUs; --vm picks one VM"
    vf_root verify-identical-gpus
    run_pt verify 01:00 --json
    expect_exit 3
    expect_jq '[.checks[] | select(.id == "gpu.driver") | .status] == ["fail"]'
    run_pt verify --vm 100 --json
    expect_exit 0
    expect_jq '[.checks[] | select(.id | startswith("vm.")) | .id] == ["vm.ok"]'
    expect_jq '[.checks[] | select(.id == "gpu.driver") | .evidence | split("\n")[0]] == ["/sys/bus/pci/devices/0000:02:00.0/driver: vfio-pci"]'

    TEST "--vm checks that VM's GPUs only"
    vf_root verify-intel-grub
    printf 'memory: 2048\nname: plain\nostype: l26\n' >"$ROOT/etc/pve/nodes/pve/qemu-server/200.conf"
    run_pt verify --vm 200 --json
    expect_exit 0
    vf_status vm.ok pass
    vf_status gpu.select warn
    vf_field gpu.select summary "VM 200 passes no display device"
    vf_field gpu.select fix "pt vmconf 200 0000:01:00 --apply"
    expect_jq '[.checks[] | select(.id == "gpu.driver")] | length == 0'
    run_pt verify --json
    expect_jq '[.checks[] | select(.id | startswith("vm."))] | length == 1'

    TEST "a VM config problem is a vm.* finding of verify"
    vf_root verify-intel-grub
    sed -i 's/^machine: q35$/machine: pc-i440fx-8.1/' "$ROOT/etc/pve/nodes/pve/qemu-server/100.conf"
    run_pt verify --json
    expect_exit 3
    vf_status vm.pcie-without-q35 fail
    expect_stdout_contains '"id": "vm.pcie-without-q35"'

    TEST "errors and usage errors"
    vf_root verify-intel-grub
    run_pt verify 05:00
    expect_exit 1
    expect_stderr_contains "05:00 matches no PCI device"
    run_pt verify 1:2:3:4
    expect_exit 2
    run_pt verify --vm 999
    expect_exit 1
    run_pt verify --guest 01:00
    expect_exit 2
    run_pt verify --guest --vm 100
    expect_exit 2

    TEST "guest: a working passed-through GPU"
    use_root verify-guest
    run_pt verify --guest
    expect_exit 0
    expect_stdout_file guest.txt
    run_pt verify --guest --json
    vf_status guest.pcie-link pass
    vf_field guest.pcie-link summary "PCIe link 16.0 GT/s x16"
    vf_status guest.nvidia-smi skip
    vf_status guest.host-checks skip
    expect_unchanged

    TEST "guest: GPU visible but no driver, no PCIe link (seed row 5: driver not installed)"
    use_root verify-guest-no-driver
    run_pt verify --guest --json
    expect_exit 3
    vf_status guest.gpu-visible pass
    vf_status guest.driver fail
    vf_field guest.driver summary "the driver is not installed"
    vf_status guest.pcie-link warn
    vf_field guest.pcie-link fix "pcie=1"
    vf_status guest.device-nodes skip

    TEST "guest: nothing passed through (seed row 5: not a driver problem)"
    use_root verify-guest-no-gpu
    run_pt verify --guest --json
    expect_exit 3
    vf_status guest.gpu-visible fail
    vf_field guest.gpu-visible summary "not passed through"
    vf_field guest.gpu-visible evidence "0000:00:01.0 [1234:1111]"

    TEST "guest: bound to nvidia but no device nodes"
    use_root verify-guest
    rm "$ROOT/dev/nvidia0"
    run_pt verify --guest --json
    expect_exit 3
    vf_status guest.device-nodes fail

    TEST "guest: run on the Proxmox host, it says so instead of blaming the driver"
    use_root seed-rtx3090-after
    run_pt verify --guest
    expect_exit 3
    expect_stdout_contains "this is the host, not a guest"
    expect_stdout_not_contains "renderD* is missing"
    run_pt verify --guest --json
    vf_status guest.hypervisor fail
    vf_field guest.hypervisor evidence "/etc/pve: present"
    vf_field guest.hypervisor evidence "/sys/bus/pci/devices/0000:81:00.0/driver: vfio-pci"
    vf_field guest.hypervisor fix "pt verify --guest inside the VM"
    vf_status guest.gpu-visible skip
    expect_jq '[.checks[].id] | index("guest.device-nodes") == null and index("guest.driver") == null'

    vf_realworld
}

# The kernel logs published in ../shared/realworld/dmesg.yaml: each interrupt remapping verdict
# the collector read from a log must be the one pt reads from it (skipped without the file).
vf_realworld() {
    local file=$top/../shared/realworld/dmesg.yaml id want
    TEST "realworld kernel logs: interrupt remapping read as the collector read it"
    if [ ! -f "$file" ] || ! command -v python3 >/dev/null || ! python3 -c 'import yaml' 2>/dev/null; then
        skip "no realworld samples (../shared/realworld beside the checkout, python3 and python3-yaml)"
        return 0
    fi
    python3 - "$file" "$TESTDIR" <<'PY' >"$TESTDIR/cases"
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for case in doc["cases"]:
    state = str(case.get("interrupt_remapping", ""))
    if case.get("kind") not in ("dmesg", "journal") or not state:
        continue
    # "DMAR-IR present": a grep excerpt that shows the remapping units but not the verdict line,
    # so pt must say the log does not tell (warn), not guess.
    want = ("fail" if state.upper().startswith("NOT") else "pass" if "enabled" in state
            else "warn" if "present" in state else "")
    if not want:
        continue
    open(f"{sys.argv[2]}/{case['id']}.log", "w").write(case["text"])
    print(case["id"], want)
PY
    check [ -s "$TESTDIR/cases" ] || fail "no case with an interrupt remapping verdict"
    while read -r id want; do
        vf_root verify-intel-grub
        cp "$TESTDIR/$id.log" "$ROOT/var/lib/pt/snapshot/dmesg"
        run_pt verify --json
        expect_jq "[.checks[] | select(.id == \"iommu.interrupt-remapping\") | .status] == [\"$want\"]"
    done <"$TESTDIR/cases"
    vf_realworld_config
}

# The published kernel command lines and modprobe.d files: pt reads each one in place of a
# fixture's own, never crashes, and judges amd_iommu=on and allow_unsafe_interrupts as it should.
vf_realworld_config() {
    local dir=$top/../shared/realworld id kind want
    TEST "realworld command lines and modprobe.d files"
    python3 - "$dir" "$TESTDIR" <<'PY' >"$TESTDIR/config-cases"
import os, re, sys, yaml
src, out = sys.argv[1], sys.argv[2]
def put(case, path, text):
    full = os.path.join(out, "files", case, path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    open(full, "w").write(text)
where = {"etc-default-grub": "/etc/default/grub", "etc-kernel-cmdline": "/etc/kernel/cmdline",
         "proc-cmdline-observed": "/proc/cmdline"}
for case in yaml.safe_load(open(f"{src}/cmdlines.yaml"))["cases"]:
    kind = case.get("file_kind")
    if kind not in where:
        continue
    put(case["id"], where[kind], case["content"])
    amd_on = kind == "proc-cmdline-observed" and re.search(r"(^|\s)amd_iommu=on(\s|$)", case["content"])
    print(case["id"], kind, "warn" if amd_on else "any")
for case in yaml.safe_load(open(f"{src}/modprobe.yaml"))["cases"]:
    unsafe = False
    for f in case.get("files", []):
        path = str(f.get("installed_as", "")).split()[0]
        if not path.startswith("/etc/"):
            continue
        put(case["id"], path, f["content"])
        for line in f["content"].splitlines():
            line = line.split("#")[0]
            if re.search(r"options\s+vfio[_-]iommu[_-]type1\b.*allow_unsafe_interrupts=(1|Y|y)", line):
                unsafe = True
    print(case["id"], "modprobe", "warn" if unsafe else "fail")
PY
    check [ -s "$TESTDIR/config-cases" ] || fail "no real-world configuration read"
    while read -r id kind want; do
        case $kind in
        proc-cmdline-observed | etc-kernel-cmdline) vf_root verify-amd-zfs ;;
        modprobe) vf_root verify-no-remap ;;
        *) vf_root verify-intel-grub ;;
        esac
        [ "$kind" = modprobe ] && rm -f "$ROOT"/etc/modprobe.d/* "$ROOT/etc/modules"
        cp -r "$TESTDIR/files/$id/." "$ROOT/"
        run_pt verify --json
        { check [ "$RC" -eq 0 ] || [ "$RC" -eq 3 ]; } || fail "$id: exit status $RC"
        expect_jq '.checks | length > 10'
        case $kind in
        proc-cmdline-observed)
            [ "$want" = warn ] && vf_status cmdline.invalid warn
            [ "$want" = warn ] || vf_status cmdline.invalid pass
            ;;
        modprobe) vf_status iommu.interrupt-remapping "$want" ;;
        *) expect_jq 'any(.checks[]; .id == "cmdline.configured")' ;;
        esac
    done <"$TESTDIR/config-cases"
}
