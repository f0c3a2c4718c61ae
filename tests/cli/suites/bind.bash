# pt bind / pt unbind end to end; see tests/cli/run.
# shellcheck shell=bash disable=SC2154
# ($ROOT, $OUT, $ERR and $TESTDIR belong to tests/cli/run.)
#
# The fixture roots have no mount table, routes, /sys/class/block or /sys/class/net: each case
# adds what it needs to its copy, in the kernel's shapes (relative links into /sys/devices).

BIND_CONF=etc/modprobe.d/pt-vfio.conf
BIND_HOOK=etc/initramfs-tools/scripts/init-top/pt-vfio
X570_NVME=sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0
X570_NIC=sys/devices/pci0000:00/0000:00:01.2/0000:02:00.0

# bind_snapshot: take the tree listing again after a case changed its copy of the root.
bind_snapshot() {
    (cd "$ROOT" && find . -printf '%p %y %l %s\n' | sort >"$TESTDIR/tree.before")
}

# bind_x570_host: the x570 copy with an ext4 root on the NVMe (0000:01:00.0, nvme0n1p2) and the
# IPv4 default route on vmbr0, a bridge over enp2s0 (0000:02:00.0).
bind_x570_host() {
    use_root x570-two-gpus || return 1
    mkdir -p "$ROOT/$X570_NVME/nvme/nvme0/nvme0n1/nvme0n1p2" "$ROOT/sys/class/block" "$ROOT/proc/self"
    echo 2 >"$ROOT/$X570_NVME/nvme/nvme0/nvme0n1/nvme0n1p2/partition"
    ln -s "../../devices/pci0000:00/0000:00:01.1/0000:01:00.0/nvme/nvme0/nvme0n1" "$ROOT/sys/class/block/nvme0n1"
    ln -s "../../devices/pci0000:00/0000:00:01.1/0000:01:00.0/nvme/nvme0/nvme0n1/nvme0n1p2" "$ROOT/sys/class/block/nvme0n1p2"
    printf '%s\n' "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro" \
        "23 22 0:21 / /proc rw,nosuid shared:12 - proc proc rw" >"$ROOT/proc/self/mountinfo"
    mkdir -p "$ROOT/$X570_NIC/net/enp2s0" "$ROOT/sys/devices/virtual/net/vmbr0" "$ROOT/sys/class/net" "$ROOT/proc/net"
    ln -s "../../../0000:02:00.0" "$ROOT/$X570_NIC/net/enp2s0/device"
    ln -s "../../../pci0000:00/0000:00:01.2/0000:02:00.0/net/enp2s0" "$ROOT/sys/devices/virtual/net/vmbr0/lower_enp2s0"
    ln -s "../../devices/pci0000:00/0000:00:01.2/0000:02:00.0/net/enp2s0" "$ROOT/sys/class/net/enp2s0"
    ln -s "../../devices/virtual/net/vmbr0" "$ROOT/sys/class/net/vmbr0"
    printf 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n%s\n%s\n' \
        "vmbr0	00000000	0101A8C0	0003	0	0	0	00000000	0	0	0" \
        "vmbr0	0001A8C0	00000000	0001	0	0	0	00FFFFFF	0	0	0" >"$ROOT/proc/net/route"
    mkdir -p "$ROOT/etc/modprobe.d" "$ROOT/etc/initramfs-tools"
    printf '# /etc/modules: kernel modules to load at boot time.\n' >"$ROOT/etc/modules"
    printf '# List of modules that you want to include in your initramfs.\n' >"$ROOT/etc/initramfs-tools/modules"
    bind_snapshot
}

# bind_x570_nouveau: the RTX 3090 (0b:00) on nouveau and snd_hda_intel instead of vfio-pci (the
# driver link, and DRIVER= in uevent, which pt reads first).
bind_x570_nouveau() {
    local dev=$ROOT/sys/devices/pci0000:00/0000:00:03.1
    mkdir -p "$ROOT/sys/bus/pci/drivers/nouveau"
    ln -sfn ../../../../bus/pci/drivers/nouveau "$dev/0000:0b:00.0/driver"
    ln -sfn ../../../../bus/pci/drivers/snd_hda_intel "$dev/0000:0b:00.1/driver"
    echo "(null)" >"$dev/0000:0b:00.0/driver_override"
    echo "(null)" >"$dev/0000:0b:00.1/driver_override"
    sed -i 's/^DRIVER=.*/DRIVER=nouveau/' "$dev/0000:0b:00.0/uevent"
    sed -i 's/^DRIVER=.*/DRIVER=snd_hda_intel/' "$dev/0000:0b:00.1/uevent"
    bind_snapshot
}

# bind_expect_conf LINE...: pt-vfio.conf holds exactly these commands (comments aside).
bind_expect_conf() {
    check [ -f "$ROOT/$BIND_CONF" ] || { fail "$BIND_CONF was not written"; return 1; }
    printf '%s\n' "$@" >"$TESTDIR/want"
    grep -vE '^(#|$)' "$ROOT/$BIND_CONF" >"$TESTDIR/got"
    check diff -u "$TESTDIR/want" "$TESTDIR/got" >"$TESTDIR/diff" || fail "$BIND_CONF differs:" "$(cat "$TESTDIR/diff")"
}

suite_bind() {
    TEST "x570: another file's later ids= would win over pt's: refused, naming the line to delete"
    bind_x570_host
    mkdir -p "$ROOT/etc/modprobe.d"
    printf '# by hand\noptions vfio-pci ids=10de:2204\n' >"$ROOT/etc/modprobe.d/vfio.conf"
    run_pt bind 0b:00 --apply
    expect_exit 1
    expect_stderr_contains "/etc/modprobe.d/vfio.conf:2 sets vfio-pci ids=10de:2204 after pt's /etc/modprobe.d/pt-vfio.conf"
    expect_stderr_contains "0000:0b:00.1 (10de:1aef) would not go to vfio-pci at the next boot"
    expect_stderr_contains "sed -i '2d' /etc/modprobe.d/vfio.conf"
    check [ -e "$ROOT/etc/modprobe.d/pt-vfio.conf" ] && fail "pt wrote the file that would lose"
    sed -i '2d' "$ROOT/etc/modprobe.d/vfio.conf"
    run_pt bind 0b:00
    expect_exit 0
    expect_stdout_contains "next boot: 0000:0b:00.1 -> vfio-pci, by vfio-pci ids= in /etc/modprobe.d/pt-vfio.conf:3"

    TEST "x570: dry run shows pt-vfio.conf and the module lists, changes nothing"
    bind_x570_host
    run_pt bind 0b:00
    expect_exit 0
    expect_stdout_file dry-run.txt
    expect_stdout_contains "+options vfio-pci ids=10de:1aef,10de:2204"
    expect_stdout_contains "+softdep nouveau pre: vfio-pci"
    expect_stdout_contains "+++ b/etc/initramfs-tools/modules"
    expect_stdout_contains "+++ b/etc/modules-load.d/pt-vfio.conf"
    expect_stdout_contains "+vfio_iommu_type1"
    expect_stdout_contains "then run: update-initramfs -u -k all"
    expect_stdout_not_contains "vfio_virqfd"
    expect_stdout_not_contains "init-top"
    expect_stderr_empty
    expect_unchanged

    TEST "x570: --json dry run"
    bind_x570_host
    run_pt bind 0b:00 --json
    expect_exit 0
    expect_jq '.title == "pt bind 0b:00"'
    expect_jq '[.files[].path] == ["/etc/modprobe.d/pt-vfio.conf", "/etc/initramfs-tools/modules", "/etc/modules-load.d/pt-vfio.conf"]'
    expect_jq '.follow_ups == ["update-initramfs -u -k all"] and .reboot_needed and (.applied | not)'
    expect_jq '.notes[0] | startswith("binds 0000:0b:00.0, 0000:0b:00.1 to vfio-pci at boot by ID")'
    expect_unchanged

    TEST "x570: --apply writes the files, a second --apply has nothing to do"
    bind_x570_host
    run_pt bind 0b:00 --apply
    expect_exit 0
    expect_stdout_contains "created /etc/modprobe.d/pt-vfio.conf"
    expect_stdout_contains "reboot needed"
    bind_expect_conf "options vfio-pci ids=10de:1aef,10de:2204" \
        "softdep nouveau pre: vfio-pci" "softdep nvidia pre: vfio-pci" "softdep snd_hda_intel pre: vfio-pci"
    check grep -qx vfio_pci "$ROOT/etc/initramfs-tools/modules" || fail "vfio_pci is not in /etc/initramfs-tools/modules"
    check grep -qx vfio_iommu_type1 "$ROOT/etc/modules-load.d/pt-vfio.conf" || fail "vfio_iommu_type1 is not in /etc/modules-load.d/pt-vfio.conf"
    check [ "$(cat "$ROOT/etc/modules")" = "# /etc/modules: kernel modules to load at boot time." ] || fail "/etc/modules was changed"
    run_pt bind 0b:00.1 --apply
    expect_exit 0
    expect_stdout_contains "nothing to do"
    run_pt bind 0b:00 --json
    expect_jq '.changes == false'

    TEST "identical-gpus: by address, with the init-top hook in the plan"
    use_root identical-gpus
    run_pt bind 02:00
    expect_exit 0
    expect_stdout_contains "# create /$BIND_HOOK (mode 0755)"
    expect_stdout_contains "+for dev in 0000:02:00.0 0000:02:00.1; do"
    expect_stdout_contains "+PREREQ=\"\""
    expect_stdout_contains "bound by address: 0000:02:00.0, 0000:02:00.1 share their vendor:device IDs with 0000:01:00.0, 0000:01:00.1"
    expect_stdout_not_contains "options vfio-pci ids="
    expect_unchanged
    run_pt bind 02:00 --apply
    expect_exit 0
    check [ -f "$ROOT/$BIND_HOOK" ] || fail "the hook was not installed"
    check [ "$(stat -c %a "$ROOT/$BIND_HOOK" 2>/dev/null)" = 755 ] || fail "the hook is not mode 0755"
    check sh -n "$ROOT/$BIND_HOOK" || fail "the hook is not valid sh"
    check [ "$(sh "$ROOT/$BIND_HOOK" prereqs)" = "" ] || fail "the hook's prereqs are not empty"
    run_pt bind 02:00 --apply
    expect_stdout_contains "nothing to do"

    TEST "intel-shared-group: a group with other slots needs --include-group"
    use_root intel-shared-group
    run_pt bind 03:00
    expect_exit 1
    expect_stdout_empty
    expect_stderr_contains "refusing to bind 03:00: IOMMU group 7 also holds 0000:00:14.0 (USB controller [8086:a2af], xhci_hcd)"
    expect_stderr_contains "0000:00:17.0 (storage controller [8086:a282], ahci)"
    expect_stderr_contains "Add --include-group"
    expect_stderr_contains "(see pt iommu-groups --device 03:00)"
    expect_unchanged
    # Several selectors: the command the message names shows each one's group, and works.
    run_pt bind 03:00 03:00.0
    expect_exit 1
    expect_stderr_contains "refusing to bind 03:00 03:00.0: IOMMU group 7 also holds"
    expect_stderr_contains "(see pt iommu-groups --device 03:00 --device 03:00.0)"
    run_pt iommu-groups --device 03:00 --device 03:00.0 --json
    expect_exit 0
    expect_jq '[.groups[].group] == [7]'

    TEST "intel-shared-group: --include-group still refuses the root disk's controller without --force"
    use_root intel-shared-group
    mkdir -p "$ROOT/sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda3" \
        "$ROOT/sys/devices/virtual/block/dm-0/dm" "$ROOT/sys/devices/virtual/block/dm-0/slaves" "$ROOT/sys/class/block" "$ROOT/proc/self"
    ln -s "../../devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda3" "$ROOT/sys/class/block/sda3"
    ln -s "../../devices/virtual/block/dm-0" "$ROOT/sys/class/block/dm-0"
    ln -s "../../../../pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda3" "$ROOT/sys/devices/virtual/block/dm-0/slaves/sda3"
    echo pve-root >"$ROOT/sys/devices/virtual/block/dm-0/dm/name"
    echo "25 1 253:0 / / rw,relatime - ext4 /dev/mapper/pve-root rw" >"$ROOT/proc/self/mountinfo"
    bind_snapshot
    run_pt bind 03:00 --include-group
    expect_exit 1
    expect_stderr_contains "0000:00:17.0 (storage controller [8086:a282], ahci) holds the root file system (ext4 on /dev/mapper/pve-root, block device dm-0 -> sda3; from /proc/self/mountinfo)"
    expect_stderr_contains "Add --force"
    expect_unchanged
    run_pt bind 03:00 --include-group --force
    expect_exit 0
    expect_stdout_contains "note: --include-group: IOMMU group 7 also holds"
    expect_stdout_contains "note: --force: 0000:00:17.0"

    TEST "x570: the controller of the root file system is refused without --force"
    bind_x570_host
    run_pt bind 01:00
    expect_exit 1
    expect_stdout_empty
    expect_stderr_contains "refusing to bind 01:00: the host needs it:"
    expect_stderr_contains "0000:01:00.0 (storage controller [144d:a80a], nvme) holds the root file system (ext4 on /dev/nvme0n1p2, block device nvme0n1p2; from /proc/self/mountinfo)"
    expect_stderr_contains "Add --force to bind anyway"
    expect_unchanged
    run_pt bind 01:00 --force
    expect_exit 0
    expect_stdout_contains "note: --force: 0000:01:00.0"

    TEST "x570: ZFS root: every storage controller with a disk may hold the pool"
    bind_x570_host
    echo "22 1 0:25 / / rw,relatime shared:1 - zfs rpool/ROOT/pve-1 rw,xattr,noacl" >"$ROOT/proc/self/mountinfo"
    bind_snapshot
    run_pt bind 01:00
    expect_exit 1
    expect_stderr_contains "0000:01:00.0 (storage controller [144d:a80a], nvme) may hold the root file system (zfs rpool/ROOT/pve-1 in /proc/self/mountinfo)"
    expect_stderr_contains "disk nvme0n1 is under this controller"
    run_pt bind 0e:00
    expect_exit 0
    expect_unchanged

    TEST "x570: the default-route NIC is refused without --force"
    bind_x570_host
    run_pt bind 02:00.0
    expect_exit 1
    expect_stderr_contains "0000:02:00.0 (network controller [8086:1539], igb) carries the IPv4 default route (interface vmbr0 -> enp2s0; from /proc/net/route)"
    expect_stderr_contains "--force"
    expect_unchanged

    TEST "x570: the host's only display device is refused without --force"
    bind_x570_host
    run_pt bind 0c:00
    expect_exit 1
    expect_stderr_contains "0000:0c:00.0 (display controller [1002:73bf], amdgpu) is the host's only display device (0000:0b:00.0 already belongs to vfio-pci)"
    expect_stderr_contains "--force"
    expect_unchanged

    TEST "x570: --now shows the runtime writes in order, with the driver link check"
    bind_x570_host
    bind_x570_nouveau
    run_pt bind 0b:00 --now
    expect_exit 0
    grep -n -e "driver_override" -e "unbind" -e "drivers_probe" "$OUT" | cut -d: -f1 >"$TESTDIR/lines"
    check [ "$(sort -n "$TESTDIR/lines")" = "$(cat "$TESTDIR/lines")" ] || fail "writes out of order"
    expect_stdout_contains "/sys/bus/pci/devices/0000:0b:00.0/driver_override"
    expect_stdout_contains "/sys/bus/pci/devices/0000:0b:00.0/driver/unbind"
    expect_stdout_contains 'write "0000:0b:00.0" > /sys/bus/pci/drivers_probe   # probe it again: its driver link must then name vfio-pci'
    expect_unchanged
    run_pt bind 0b:00 --now --json
    expect_exit 0
    expect_jq '[.writes[].path] == ["/sys/bus/pci/devices/0000:0b:00.0/driver_override", "/sys/bus/pci/devices/0000:0b:00.0/driver/unbind", "/sys/bus/pci/drivers_probe", "/sys/bus/pci/devices/0000:0b:00.1/driver_override", "/sys/bus/pci/devices/0000:0b:00.1/driver/unbind", "/sys/bus/pci/drivers_probe"]'
    expect_jq '[.writes[].value] == ["vfio-pci", "0000:0b:00.0", "0000:0b:00.0", "vfio-pci", "0000:0b:00.1", "0000:0b:00.1"]'
    expect_jq '.writes[2].expect_link == {"path": "/sys/bus/pci/devices/0000:0b:00.0/driver", "name": "vfio-pci"}'
    expect_jq '.writes[0].expect_link == null'

    TEST "x570: --now refuses a device a running VM has reserved"
    bind_x570_host
    bind_x570_nouveau
    mkdir -p "$ROOT/run/qemu-server" "$ROOT/proc/4242"
    echo "0000:0b:00.0 100 pid:4242" >"$ROOT/run/qemu-server/pci-id-reservations"
    bind_snapshot
    run_pt bind 0b:00 --now
    expect_exit 1
    expect_stderr_contains "refusing to bind at runtime: a VM uses 0000:0b:00.0 (VM 100 runs as pid 4242)"
    expect_unchanged
    TEST "x570: a leftover reservation (pid gone) is only a note"
    bind_x570_host
    bind_x570_nouveau
    mkdir -p "$ROOT/run/qemu-server"
    echo "0000:0b:00.0 100 pid:4242" >"$ROOT/run/qemu-server/pci-id-reservations"
    run_pt bind 0b:00 --now
    expect_exit 0
    expect_stdout_contains "leftover reservation of VM 100: pid 4242 is not running"

    TEST "x570 (6.8): vfio_virqfd is removed, saying why"
    bind_x570_host
    printf 'vfio\nvfio_virqfd\n' >"$ROOT/etc/modules"
    run_pt bind 0b:00
    expect_exit 0
    expect_stdout_contains "-vfio_virqfd"
    expect_stdout_contains "note: removes vfio_virqfd from /etc/modules: Linux 6.2 folded it into vfio"
    run_pt bind 0b:00 --apply
    expect_exit 0
    check grep -q vfio_virqfd "$ROOT/etc/modules" && fail "vfio_virqfd is still in /etc/modules"

    TEST "x570: VFIO lines of /etc/modules move to pt's modules-load.d file; undo puts them back"
    bind_x570_host
    printf '# /etc/modules: kernel modules to load at boot time.\nvfio\nvfio_iommu_type1\nvfio_pci\nloop\n' >"$ROOT/etc/modules"
    cp "$ROOT/etc/modules" "$WORK/modules.before"
    run_pt bind 0b:00
    expect_exit 0
    expect_stdout_contains "# modify /etc/modules: its VFIO lines move to /etc/modules-load.d/pt-vfio.conf"
    expect_stdout_contains "# create /etc/modules-load.d/pt-vfio.conf (mode 0644)"
    run_pt bind 0b:00 --apply
    expect_exit 0
    check [ "$(cat "$ROOT/etc/modules")" = "$(printf '# /etc/modules: kernel modules to load at boot time.\nloop')" ] || fail "/etc/modules: $(cat "$ROOT/etc/modules")"
    check [ "$(grep -v '^#' "$ROOT/etc/modules-load.d/pt-vfio.conf")" = "$(printf 'vfio\nvfio_iommu_type1\nvfio_pci')" ] || fail "pt-vfio.conf: $(cat "$ROOT/etc/modules-load.d/pt-vfio.conf")"
    run_pt undo
    expect_exit 0
    check cmp -s "$ROOT/etc/modules" "$WORK/modules.before" || fail "undo did not restore /etc/modules"
    check [ ! -e "$ROOT/etc/modules-load.d/pt-vfio.conf" ] || fail "undo left /etc/modules-load.d/pt-vfio.conf"

    TEST "unbind after pt blacklist: the next boot leaves the card without a driver, and says how to undo the blacklist"
    use_root seed-rtx3090
    run_pt blacklist 81:00 --apply
    expect_exit 0
    run_pt bind 81:00 --apply
    expect_exit 0
    run_pt unbind 81:00
    expect_exit 0
    expect_stdout_contains "note: next boot: 0000:81:00.0 -> no driver (nothing gives it to vfio-pci; nouveau blacklisted in /etc/modprobe.d/pt-blacklist.conf:7"
    expect_stdout_contains "note: /etc/modprobe.d/pt-blacklist.conf keeps its host drivers off: pt blacklist 0000:81:00 --remove --apply gives it back to them"
    expect_stdout_contains "note: next boot: 0000:81:00.1 -> snd_hda_intel, its host driver"
    run_pt blacklist 0000:81:00 --remove --apply
    expect_exit 0
    run_pt unbind 81:00
    expect_stdout_contains "note: next boot: 0000:81:00.0 -> nouveau or nvidia, its host driver"
    expect_stdout_not_contains "--remove --apply gives it back"

    TEST "x570: unbind reverses bind; a second unbind has nothing to do"
    bind_x570_host
    run_pt bind 0b:00 --apply
    expect_exit 0
    run_pt unbind 0b:00
    expect_exit 0
    expect_stdout_contains "# remove /etc/modprobe.d/pt-vfio.conf"
    expect_stdout_contains "-vfio_pci"
    expect_stdout_contains "0000:0b:00.0, 0000:0b:00.1 will stay with the host at the next boot"
    expect_stdout_contains "note: next boot: 0000:0b:00.0 -> nouveau or nvidia, its host driver (nothing gives it to vfio-pci)"
    expect_stdout_contains "note: next boot: 0000:0b:00.1 -> snd_hda_intel, its host driver"
    run_pt unbind 0b:00 --apply
    expect_exit 0
    check [ ! -e "$ROOT/$BIND_CONF" ] || fail "$BIND_CONF is still there"
    check [ ! -e "$ROOT/etc/modules-load.d/pt-vfio.conf" ] || fail "/etc/modules-load.d/pt-vfio.conf is still there"
    check grep -q vfio "$ROOT/etc/modules" "$ROOT/etc/initramfs-tools/modules" && fail "vfio lines are left in the module lists"
    check [ "$(cat "$ROOT/etc/modules")" = "# /etc/modules: kernel modules to load at boot time." ] || fail "/etc/modules is not as before"
    run_pt unbind 0b:00 --apply
    expect_exit 0
    expect_stdout_contains "nothing to do"

    TEST "identical-gpus: unbind removes the hook"
    use_root identical-gpus
    run_pt bind 02:00 --apply
    run_pt unbind 02:00.1 --json
    expect_exit 0
    expect_jq '[.files[] | select(.path == "/etc/initramfs-tools/scripts/init-top/pt-vfio") | .action] == ["remove"]'
    run_pt unbind 02:00 --apply
    check [ ! -e "$ROOT/$BIND_HOOK" ] || fail "the hook is still installed"

    TEST "x570: unbind --now clears driver_override, unbinds from vfio-pci, reprobes"
    bind_x570_host
    run_pt unbind 0b:00 --now --json
    expect_exit 0
    expect_jq '[.writes[].path] == ["/sys/bus/pci/devices/0000:0b:00.0/driver_override", "/sys/bus/pci/devices/0000:0b:00.0/driver/unbind", "/sys/bus/pci/drivers_probe", "/sys/bus/pci/devices/0000:0b:00.1/driver_override", "/sys/bus/pci/devices/0000:0b:00.1/driver/unbind", "/sys/bus/pci/drivers_probe"]'
    expect_jq '.writes[0].value == "\n" and .writes[1].value == "0000:0b:00.0"'
    expect_jq '.files == []'
    expect_unchanged

    TEST "usage: SEL is required and must be a selector"
    use_root x570-two-gpus
    run_pt bind
    expect_exit 2
    run_pt bind 0b:00:zz
    expect_exit 2
    run_pt unbind
    expect_exit 2
    run_pt bind 05:00
    expect_exit 1
    expect_stderr_contains "no PCI device matches 05:00"

    TEST "an SR-IOV physical function with virtual functions (vGPU) is refused without --force"
    use_root pve9-vgpu
    run_pt bind 17:00 --apply
    expect_exit 1
    expect_stderr_contains "0000:17:00.0 is an SR-IOV physical function with 4 virtual functions (0000:17:00.4 to 0000:17:00.7)"
    expect_stderr_contains "pt vmconf VMID 0000:17:00.4 --function-only --apply"
    expect_unchanged
    run_pt bind 17:00 --force
    expect_exit 0
    expect_stdout_contains "note: --force: 0000:17:00.0 is an SR-IOV physical function"
    run_pt setup 17:00 --vm 100
    expect_exit 1
    expect_stderr_contains "SR-IOV physical function"
    expect_unchanged
}
