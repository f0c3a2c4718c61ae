# pt grub end to end; see tests/cli/run.
# shellcheck shell=bash disable=SC2154
# ($ROOT, $OUT, $ERR and $TESTDIR belong to tests/cli/run.)
# The fixture roots carry no /etc: each test writes the files its host needs into its copy.

GRUB_DEBIAN='# If you change this file, run '"'"'update-grub'"'"' afterwards to update
# /boot/grub/grub.cfg.

GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX=""

# Uncomment to disable graphical terminal (grub-pc only)
#GRUB_TERMINAL=console'

# grub_root NAME [CONTENT]: a copy of fixture root NAME with /etc/default/grub holding CONTENT
# (default: a Debian file), with its trailing newline.
grub_root() {
    use_root "$1" || return 1
    mkdir -p "$ROOT/etc/default"
    printf '%s\n' "${2:-$GRUB_DEBIAN}" >"$ROOT/etc/default/grub"
    grub_snapshot
}

# grub_snapshot: remember the tree, for expect_unchanged after the test changed the copy.
grub_snapshot() {
    (cd "$ROOT" && find . -printf '%p %y %l %s\n' | sort >"$TESTDIR/tree.before")
}

# expect_file PATH CONTENT: the file under the root holds exactly CONTENT and a newline.
expect_file() {
    printf '%s\n' "$2" >"$TESTDIR/want"
    check diff -u "$TESTDIR/want" "$ROOT$1" >"$TESTDIR/diff" || fail "$1 differs:" "$(cat "$TESTDIR/diff")"
}

suite_grub() {
    TEST "plain GRUB: status text names the bootloader, lines and what is needed"
    grub_root iommu-off
    run_pt grub
    expect_exit 0
    expect_stdout_contains "Bootloader:  GRUB"
    expect_stdout_contains "because /etc/kernel/proxmox-boot-uuids is absent"
    expect_stdout_contains "Configured:  quiet"
    expect_stdout_contains "from /etc/default/grub line 7: GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\""
    expect_stdout_contains "Running:     BOOT_IMAGE=/boot/vmlinuz-6.5.13-6-pve"
    expect_stdout_contains "Differences: none"
    expect_stdout_contains "add intel_iommu=on (/etc/default/grub line 7): the Intel IOMMU is off by default before kernel 6.8"
    expect_stdout_contains "then runs update-grub"
    expect_stderr_empty
    expect_unchanged

    TEST "plain GRUB: status JSON"
    grub_root iommu-off
    run_pt grub --json
    expect_exit 0
    expect_jq '.bootloader == "grub" and .cpu == "intel" and .kernel == "6.5.13-6-pve"'
    expect_jq '.configured == "quiet" and (.running | startswith("BOOT_IMAGE="))'
    expect_jq '.sources[1] == {"path": "/etc/default/grub", "line": 7, "variable": "GRUB_CMDLINE_LINUX_DEFAULT", "value": "quiet"}'
    expect_jq '.needed == [{"action": "add", "name": "intel_iommu", "old_value": null, "new_value": "on", "path": "/etc/default/grub", "line": 7, "reason": .needed[0].reason}]'
    expect_jq '.follow_ups == ["update-grub"] and .problems == [] and .pending_reboot == []'
    expect_jq '.platform == {"pve_major": null, "pve_manager": null, "qemu_server": null, "kernel_running": "6.5.13-6-pve"} and .warnings == []'
    expect_unchanged

    TEST "PVE 9 with the systemd-boot meta package: platform line and a warning with the fix"
    grub_root iommu-off
    mkdir -p "$ROOT/var/lib/dpkg"
    printf 'Package: pve-manager\nStatus: install ok installed\nVersion: 9.1.4\n\nPackage: systemd-boot\nStatus: install ok installed\nVersion: 257.9-1~deb13u1\n\nPackage: systemd-boot-tools\nStatus: install ok installed\nVersion: 257.9-1~deb13u1\n\nPackage: systemd-boot-efi\nStatus: install ok installed\nVersion: 257.9-1~deb13u1\n' >"$ROOT/var/lib/dpkg/status"
    grub_snapshot
    run_pt grub
    expect_exit 0
    expect_stdout_contains "Platform:    Proxmox VE 9 (pve-manager 9.1.4), running kernel 6.5.13-6-pve"
    expect_stdout_contains "Warning:     the systemd-boot meta package is installed; on Proxmox VE 9 it breaks upgrades"
    expect_stdout_contains "fix: apt remove systemd-boot (systemd-boot-tools and systemd-boot-efi stay"
    run_pt grub --json
    expect_exit 0
    expect_jq '.platform.pve_major == 9 and .platform.pve_manager == "9.1.4"'
    expect_jq '[.warnings[].id] == ["boot.systemd-boot-meta"] and (.warnings[0].fix | startswith("apt remove systemd-boot "))'
    run_pt verify --json
    expect_jq '[.checks[] | select(.id == "boot.systemd-boot-meta") | .status] == ["warn"]'
    printf 'Package: pve-manager\nStatus: install ok installed\nVersion: 9.1.4\n' >"$ROOT/var/lib/dpkg/status"
    grub_snapshot
    run_pt grub --json
    expect_exit 0
    expect_jq '.warnings == []'
    run_pt verify --json
    expect_jq '[.checks[] | select(.id == "boot.systemd-boot-meta") | .status] == ["pass"]'
    expect_unchanged

    TEST "intel 6.5 with intel_iommu=on running but not configured: the difference is shown"
    grub_root intel-shared-group
    run_pt grub
    expect_exit 0
    expect_stdout_contains "in the running kernel but not configured: intel_iommu=on"
    run_pt grub --json
    expect_jq '.not_configured == ["intel_iommu=on"]'

    TEST "proxmox-boot-tool + GRUB: BOOT_IMAGE= decides, refresh is the follow-up"
    grub_root iommu-off
    mkdir -p "$ROOT/etc/kernel"
    echo 1234-ABCD >"$ROOT/etc/kernel/proxmox-boot-uuids"
    run_pt grub --json
    expect_exit 0
    expect_jq '.bootloader == "proxmox-boot-tool+grub" and (.evidence[-1] | contains("BOOT_IMAGE="))'
    expect_jq '.follow_ups == ["proxmox-boot-tool refresh"]'
    run_pt grub
    expect_stdout_contains "Bootloader:  proxmox-boot-tool + GRUB"

    TEST "proxmox-boot-tool + systemd-boot: /etc/kernel/cmdline, status text and JSON"
    use_root x570-two-gpus
    mkdir -p "$ROOT/etc/kernel" "$ROOT/etc/default"
    echo 1234-ABCD >"$ROOT/etc/kernel/proxmox-boot-uuids"
    echo "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet iommu=pt" >"$ROOT/etc/kernel/cmdline"
    echo 'GRUB_CMDLINE_LINUX_DEFAULT="quiet amd_iommu=on"' >"$ROOT/etc/default/grub"
    run_pt grub
    expect_exit 0
    expect_stdout_contains "Bootloader:  proxmox-boot-tool + systemd-boot"
    expect_stdout_contains "initrd=\\EFI\\proxmox\\..."
    expect_stdout_contains "Configured:  root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet iommu=pt"
    expect_stdout_contains "from /etc/kernel/cmdline line 1"
    expect_stdout_contains "configured but not in the running kernel: iommu=pt; a reboot is pending"
    expect_stdout_contains "the wrong file was edited"
    expect_stdout_contains "Needed:      nothing by default"
    run_pt grub --json
    expect_exit 0
    expect_jq '.bootloader == "proxmox-boot-tool+systemd-boot" and .cpu == "amd"'
    expect_jq '.pending_reboot == ["iommu=pt"] and .needed == [] and .follow_ups == []'
    expect_jq '.sources == [{"path": "/etc/kernel/cmdline", "line": 1, "variable": null, "value": "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet iommu=pt"}]'

    TEST "systemd-boot: --apply edits only the first line, keeps root="
    use_root x570-two-gpus
    mkdir -p "$ROOT/etc/kernel"
    echo 1234-ABCD >"$ROOT/etc/kernel/proxmox-boot-uuids"
    printf 'root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet\n# second line is not read\n' >"$ROOT/etc/kernel/cmdline"
    run_pt grub --sysfb-off --apply
    expect_exit 0
    expect_file /etc/kernel/cmdline "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet initcall_blacklist=sysfb_init
# second line is not read"
    expect_stdout_contains "run: proxmox-boot-tool refresh"
    run_pt grub --sysfb-off --apply
    expect_exit 0
    expect_stdout_contains "nothing to do"
    run_pt grub --remove root --apply
    expect_exit 2
    expect_stderr_contains "--remove root: pt does not add, change or remove root="

    TEST "systemd-boot: an unclosed double quote on the first line is refused, the file untouched"
    use_root x570-two-gpus
    mkdir -p "$ROOT/etc/kernel"
    echo 1234-ABCD >"$ROOT/etc/kernel/proxmox-boot-uuids"
    printf 'root=ZFS=rpool/ROOT/pve-1 boot=zfs dyndbg="file x.c +p quiet\n' >"$ROOT/etc/kernel/cmdline"
    grub_snapshot
    run_pt grub --iommu-pt --apply
    expect_exit 1
    expect_stderr_contains '/etc/kernel/cmdline line 1: the double quote (") at column 43 is never closed'
    expect_stderr_contains "close the quote opened at column 43 of line 1 of /etc/kernel/cmdline (or remove it), then run pt grub again"
    expect_file /etc/kernel/cmdline 'root=ZFS=rpool/ROOT/pve-1 boot=zfs dyndbg="file x.c +p quiet'

    TEST "unknown bootloader: status says how to tell, writes are refused"
    use_root x570-two-gpus
    mkdir -p "$ROOT/etc/kernel"
    echo 1234-ABCD >"$ROOT/etc/kernel/proxmox-boot-uuids"
    echo "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet" >"$ROOT/proc/cmdline"
    grub_snapshot
    run_pt grub --json
    expect_exit 0
    expect_jq '.bootloader == "unknown" and (.evidence[-1] | contains("proxmox-boot-tool status"))'
    run_pt grub --iommu-pt --apply
    expect_exit 1
    expect_stderr_contains "proxmox-boot-tool status"
    expect_unchanged

    TEST "dry run shows the diff and changes nothing"
    grub_root iommu-off
    run_pt grub --iommu-pt
    expect_exit 0
    expect_stdout_contains "# modify /etc/default/grub: kernel command line: add intel_iommu=on, add iommu=pt"
    expect_stdout_contains '-GRUB_CMDLINE_LINUX_DEFAULT="quiet"'
    expect_stdout_contains '+GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"'
    expect_stdout_contains "note: /etc/default/grub line 7: add iommu=pt: host-owned devices use identity"
    expect_stdout_contains "then run: update-grub"
    expect_stdout_contains "dry run: nothing was changed"
    expect_unchanged

    TEST "dry run JSON is the plan"
    grub_root iommu-off
    run_pt grub --iommu-pt --json
    expect_exit 0
    expect_jq '.title == "pt grub --iommu-pt" and .files[0].path == "/etc/default/grub" and .follow_ups == ["update-grub"] and .reboot_needed == true and .applied == false'
    expect_unchanged

    TEST "--apply writes exactly the value, prints the follow-up under --root; again: nothing to do"
    grub_root iommu-off
    run_pt grub --apply
    expect_exit 0
    expect_stdout_contains "wrote /etc/default/grub"
    expect_stdout_contains "run: update-grub"
    expect_stdout_contains "reboot needed"
    expect_file /etc/default/grub "${GRUB_DEBIAN/=\"quiet\"/=\"quiet intel_iommu=on\"}"
    run_pt grub --apply
    expect_exit 0
    expect_stdout_contains "nothing to do"
    run_pt grub
    expect_stdout_contains "configured but not in the running kernel: intel_iommu=on; a reboot is pending"
    expect_stdout_contains "Needed:      nothing by default"

    TEST "intel_iommu=off is replaced with on, saying so"
    grub_root iommu-off 'GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=off"'
    run_pt grub --apply
    expect_exit 0
    expect_stdout_contains "replace intel_iommu=off with intel_iommu=on"
    expect_file /etc/default/grub 'GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on"'

    TEST "amd_iommu=off is removed, and iommu=off keeps its other options"
    grub_root iommu-off-amd 'GRUB_CMDLINE_LINUX_DEFAULT="quiet amd_iommu=off iommu=off,nopanic"'
    run_pt grub --apply
    expect_exit 0
    expect_stdout_contains "amd_iommu=off switches the AMD IOMMU off"
    expect_stdout_contains "iommu=off switches the IOMMU off"
    expect_file /etc/default/grub 'GRUB_CMDLINE_LINUX_DEFAULT="quiet iommu=nopanic"'
    run_pt grub --apply
    expect_exit 0
    expect_stdout_contains "nothing to do"

    TEST "--add of a value the kernel rejects, or of a module name, is refused (exit 2)"
    grub_root iommu-off-amd
    run_pt grub --add amd_iommu=1 --apply
    expect_exit 2
    expect_stderr_contains "amd_iommu=1 is not a valid value"
    expect_stderr_contains "AMD-Vi: Unknown option - '1'"
    run_pt grub --add vfio_virqfd --apply
    expect_exit 2
    expect_stderr_contains "vfio_virqfd is a module name, not a kernel parameter"
    run_pt grub --add vfio-pci.ids=10de:2204,10de:1aeg --apply
    expect_exit 2
    expect_stderr_contains '"10de:1aeg" is not a vendor:device ID'
    run_pt grub --add iommu.passthrough=maybe --apply
    expect_exit 2
    expect_unchanged

    TEST "a drop-in that reassigns the variable is the file edited; --add and --remove"
    grub_root iommu-off
    mkdir -p "$ROOT/etc/default/grub.d"
    printf '%s' 'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT intel_iommu=on video=efifb:off"' >"$ROOT/etc/default/grub.d/passthrough.cfg"
    run_pt grub --add kvm.ignore_msrs=1 --remove video --apply
    expect_exit 0
    printf '%s' 'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT intel_iommu=on kvm.ignore_msrs=1"' >"$TESTDIR/want"
    check cmp -s "$TESTDIR/want" "$ROOT/etc/default/grub.d/passthrough.cfg" || fail "the drop-in differs: $(cat "$ROOT/etc/default/grub.d/passthrough.cfg")"
    expect_file /etc/default/grub "$GRUB_DEBIAN"

    TEST "an unclosed quote anywhere in the file: exit 1 with the exact fix; nothing written, every run"
    grub_root iommu-off 'GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_CMDLINE_LINUX_DEFAULT="quiet"


# pt must not append below: sh would read it inside the quote
GRUB_DISTRIBUTOR="Debian'
    run_pt grub --iommu-pt --apply
    expect_exit 1
    expect_stderr_contains '/etc/default/grub line 7: the double quote (") opened on line 7 is never closed'
    expect_stderr_contains 'close the double quote (") opened on line 7 of /etc/default/grub, then run pt grub again'
    expect_unchanged
    run_pt grub --iommu-pt --apply
    expect_exit 1
    expect_unchanged
    run_pt grub --add iommu=pt --json
    expect_exit 1
    expect_unchanged

    TEST "unclosed backtick, \$( and ( in a drop-in are refused too; quotes in comments are not"
    grub_root iommu-off
    mkdir -p "$ROOT/etc/default/grub.d"
    printf '%s\n' 'GRUB_DISTRIBUTOR=`lsb_release -i -s' >"$ROOT/etc/default/grub.d/a.cfg"
    grub_snapshot
    run_pt grub --iommu-pt --apply
    expect_exit 1
    expect_stderr_contains '/etc/default/grub.d/a.cfg line 1: the backtick (`) opened on line 1 is never closed'
    expect_unchanged
    printf '%s\n' 'GRUB_DISTRIBUTOR=$(lsb_release -i -s' >"$ROOT/etc/default/grub.d/a.cfg"
    grub_snapshot
    run_pt grub --iommu-pt --apply
    expect_exit 1
    expect_stderr_contains 'the command substitution $( opened on line 1 is never closed'
    printf '%s\n' '(' 'GRUB_TIMEOUT=3' >"$ROOT/etc/default/grub.d/a.cfg"
    grub_snapshot
    run_pt grub --iommu-pt --apply
    expect_exit 1
    expect_stderr_contains "the '(' opened on line 1 is never closed"
    expect_unchanged
    printf '%s\n' "# don't \"worry\" (about \`this" 'GRUB_TIMEOUT=3 # it'"'"'s fine' >"$ROOT/etc/default/grub.d/a.cfg"
    run_pt grub --iommu-pt --apply
    expect_exit 0
    run_pt grub --iommu-pt --apply
    expect_exit 0
    expect_stdout_contains "nothing to do"

    TEST "--add/--remove root, BOOT_IMAGE, initrd: usage error on GRUB too; empty values name the flag"
    grub_root iommu-off
    for param in root= root root=/dev/sdb1 BOOT_IMAGE=/x initrd=/initrd.img; do
        run_pt grub --add "$param" --apply
        expect_exit 2
        expect_stderr_contains "--add $param: pt does not add, change or remove"
    done
    run_pt grub --remove BOOT_IMAGE --apply
    expect_exit 2
    expect_stderr_contains "BOOT_IMAGE= is set by GRUB"
    run_pt grub --remove initrd --apply
    expect_exit 2
    expect_stderr_contains "initrd= is written by the boot entry"
    for flag in --add --remove --vfio-ids; do
        run_pt grub "$flag" '' --apply
        expect_exit 2
        expect_stderr_contains "$flag: the value is empty"
    done
    expect_unchanged

    TEST "unparsable file: exit 1 naming the line, the file untouched"
    grub_root iommu-off 'GRUB_DEFAULT=0
if [ -e /etc/pve ]; then
  GRUB_CMDLINE_LINUX_DEFAULT="quiet"
fi'
    run_pt grub --iommu-pt --apply
    expect_exit 1
    expect_stderr_contains "/etc/default/grub line 3: GRUB_CMDLINE_LINUX_DEFAULT is set inside an if"
    expect_stderr_contains "by hand"
    expect_unchanged
    run_pt grub
    expect_exit 0
    expect_stdout_contains "Problem:"
    expect_stdout_contains "Configured:  unknown"

    TEST "command substitution is refused too"
    grub_root iommu-off 'GRUB_CMDLINE_LINUX_DEFAULT="$(cat /etc/cmdline.txt)"'
    run_pt grub --apply
    expect_exit 1
    expect_stderr_contains "/etc/default/grub line 1:"
    expect_unchanged

    TEST "AMD: amd_iommu=on is offered for removal, never added"
    grub_root iommu-off-amd 'GRUB_CMDLINE_LINUX_DEFAULT="quiet amd_iommu=on iommu=pt"'
    run_pt grub
    expect_exit 0
    expect_stdout_contains "remove amd_iommu=on (/etc/default/grub line 1): amd_iommu=on is not a value the kernel knows"
    run_pt grub --apply
    expect_exit 0
    expect_file /etc/default/grub 'GRUB_CMDLINE_LINUX_DEFAULT="quiet iommu=pt"'
    run_pt grub --apply
    expect_stdout_contains "nothing to do"

    TEST "--add amd_iommu=on is obeyed but warned about"
    grub_root iommu-off-amd 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"'
    run_pt grub --add amd_iommu=on
    expect_exit 0
    expect_stderr_contains "pt: warning: --add amd_iommu=on: \"on\" is not a value the kernel knows"
    expect_stdout_contains '+GRUB_CMDLINE_LINUX_DEFAULT="quiet amd_iommu=on"'

    TEST "--add of every other folklore item is obeyed with the same kind of warning"
    grub_root iommu-off-amd 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"'
    run_pt grub --add video=efifb:off --add video=vesafb:off
    expect_exit 0
    expect_stderr_contains "pt: warning: --add video=efifb:off: does nothing on Proxmox kernels"
    expect_stderr_contains "pt: warning: --add video=vesafb:off: does nothing on Proxmox kernels"
    expect_stdout_contains '+GRUB_CMDLINE_LINUX_DEFAULT="quiet video=efifb:off video=vesafb:off"'
    run_pt grub --add vfio_virqfd
    expect_exit 2
    expect_stderr_contains "it is part of vfio since Linux 6.2"
    run_pt grub --add iommu=pt
    expect_exit 0
    expect_stderr_not_contains "warning"
    expect_unchanged

    TEST "--add of a vfio-pci.ids list split by a stray space is refused with the joined list"
    grub_root iommu-off-amd 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"'
    # Unquoted, the shell hands over two values; quoted, one with a space.
    run_pt grub --add vfio-pci.ids=10de:2204, 10de:1aef --apply
    expect_exit 2
    expect_stderr_contains "a space splits vfio-pci.ids"
    expect_stderr_contains "write vfio-pci.ids=10de:2204,10de:1aef without the space"
    run_pt grub --add "vfio-pci.ids=10de:2204, 10de:1aef" --apply
    expect_exit 2
    expect_stderr_contains "write vfio-pci.ids=10de:2204,10de:1aef without the space"
    expect_unchanged

    TEST "--acs-override prints the security warning"
    grub_root x570-two-gpus
    run_pt grub --acs-override
    expect_exit 0
    expect_stderr_contains "pt: warning: SECURITY: pcie_acs_override"
    expect_stdout_contains '+GRUB_CMDLINE_LINUX_DEFAULT="quiet pcie_acs_override=downstream,multifunction"'
    expect_unchanged

    TEST "--vfio-ids on identical GPUs warns that the IDs match the host's GPU too"
    grub_root identical-gpus
    run_pt grub --vfio-ids 02:00
    expect_exit 0
    expect_stderr_contains "0000:01:00.0 has the ID 10de:2504 too but is not selected"
    expect_stdout_contains "vfio-pci.ids=10de:2504,10de:228e"
    expect_stdout_contains "note: next boot: 0000:01:00.0 -> vfio-pci, by vfio-pci ids= in the planned command line"
    expect_stdout_contains "note: next boot: 0000:02:00.1 -> vfio-pci, by vfio-pci ids= in the planned command line"

    TEST "bad --add is a usage error"
    grub_root iommu-off
    run_pt grub --add 'a b'
    expect_exit 2
    run_pt grub --add iommu=pt --remove iommu
    expect_exit 2
    expect_unchanged
}
