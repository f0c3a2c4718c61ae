# pt setup end to end; see tests/cli/run.
# shellcheck shell=bash disable=SC2154
# ($ROOT, $OUT, $ERR and $TESTDIR belong to tests/cli/run.)
#
# Roots: seed-rtx3090 (the seed scenario: an RTX 3090 at 81:00 for VM 100), identical-gpus (two
# RTX 3060), intel-shared-group (a GPU in a group with chipset devices), pve-cluster (two nodes,
# mappings). A case adds what its copy lacks (a VM config, /etc/default/grub) in Proxmox's shapes.

# setup_vm VMID [LINES...]: a VM config of the local node (/etc/pve/qemu-server is pve's link to
# it; the fixtures without /etc/pve get the plain directory).
setup_vm() {
    local vmid=$1
    shift
    mkdir -p "$ROOT/etc/pve/qemu-server"
    {
        printf '%s\n' "boot: order=scsi0" "cores: 4" "memory: 8192" "name: vm$vmid" "ostype: l26" \
            "scsi0: local-lvm:vm-$vmid-disk-0,size=32G"
        [ $# -eq 0 ] || printf '%s\n' "$@"
    } | sort >"$ROOT/etc/pve/qemu-server/$vmid.conf"
    setup_listing
}

# setup_listing: take the tree listing again after a case added to its copy of the root, so that
# expect_unchanged judges only what pt does.
setup_listing() {
    (cd "$ROOT" && find . -printf '%p %y %l %s\n' | sort >"$TESTDIR/tree.before")
}

# setup_grub: Debian's /etc/default/grub where a fixture has none.
setup_grub() {
    [ -f "$ROOT/etc/default/grub" ] && return 0
    mkdir -p "$ROOT/etc/default"
    printf '%s\n' 'GRUB_DEFAULT=0' 'GRUB_TIMEOUT=5' 'GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`' \
        'GRUB_CMDLINE_LINUX_DEFAULT="quiet"' 'GRUB_CMDLINE_LINUX=""' >"$ROOT/etc/default/grub"
    setup_listing
}

# setup_sums: a checksum of every regular file of the root, to compare before and after.
setup_sums() {
    (cd "$ROOT" && find . -path ./var/lib/pt -prune -o -path ./var/lock -prune -o -type f -print0 \
        | sort -z | xargs -0 sha256sum)
}

# setup_step_files JSON: the files of the plan printed by one command, as "PATH<TAB>DIFF" lines.
setup_files_of() {
    # pt grub without --apply prints its report, which has no files: it plans none.
    jq -r '(.files // [])[] | [.path, .action, (.diff // "")] | @json' "$1"
}

suite_setup() {
    TEST "seed: the dry run lists the chain, one diff and what remains, and changes nothing"
    use_root seed-rtx3090
    run_pt setup 81:00 --vm 100
    expect_exit 0
    expect_stdout_contains "pt setup: 0000:81:00 into VM 100 (compute)"
    expect_stdout_contains "1. kernel command line  already in place"
    expect_stdout_contains "2. host drivers         /etc/modprobe.d/pt-blacklist.conf"
    expect_stdout_contains "3. vfio-pci             /etc/modprobe.d/pt-vfio.conf, /etc/initramfs-tools/modules, /etc/modules-load.d/pt-vfio.conf"
    expect_stdout_contains "4. VM 100               /etc/pve/nodes/pve/qemu-server/100.conf"
    expect_stdout_contains "alone: pt bind 0000:81:00 --apply"
    expect_stdout_contains "+hostpci0: 0000:81:00,pcie=1"
    expect_stdout_contains "+machine: q35"
    expect_stdout_contains "+options vfio-pci ids=10de:1aef,10de:2204"
    expect_stdout_contains "+blacklist nouveau"
    # One prediction for the whole plan, not one per step that sees only its own files.
    expect_stdout_contains "note: next boot: 0000:81:00.0 -> vfio-pci, by vfio-pci ids= in /etc/modprobe.d/pt-vfio.conf:3"
    expect_stdout_not_contains "-> no driver"
    expect_stdout_contains "then run: update-initramfs -u -k all"
    expect_stdout_contains "after --apply: reboot the host, then pt verify --vm 100"
    expect_unchanged

    TEST "seed: the plan is exactly the sum of the single commands' plans"
    use_root seed-rtx3090
    run_pt setup 81:00 --vm 100 --json
    expect_exit 0
    cp "$OUT" "$TESTDIR/setup.json"
    setup_files_of "$TESTDIR/setup.json" >"$TESTDIR/setup.files"
    : >"$TESTDIR/sum.files"
    local command
    while IFS= read -r command; do
        # "pt blacklist 0000:81:00 --apply" -> blacklist 0000:81:00 --json (the dry run)
        read -ra words <<<"${command% --apply}"
        run_pt "${words[@]:1}" --json
        check [ "$RC" -eq 0 ] || fail "$command (dry run) exits $RC" "$(cat "$ERR")"
        setup_files_of "$OUT" >>"$TESTDIR/sum.files"
    done < <(jq -r '.steps[].command' "$TESTDIR/setup.json")
    check cmp -s "$TESTDIR/setup.files" "$TESTDIR/sum.files" \
        || fail "setup's files differ from the single commands':" "$(diff "$TESTDIR/setup.files" "$TESTDIR/sum.files" | head -n 20)"
    check test "$(wc -l <"$TESTDIR/setup.files")" -eq 5 || fail "expected 5 files in the plan"
    expect_unchanged

    TEST "seed: --apply writes one journal entry; a second run plans nothing but the reboot remains"
    use_root seed-rtx3090
    run_pt setup 81:00 --vm 100 --apply
    expect_exit 0
    expect_stdout_contains "journal: "
    expect_stdout_contains "what remains:"
    expect_stdout_contains "  1. reboot the host"
    expect_stdout_contains "  2. pt verify --vm 100"
    check test "$(find "$ROOT/var/lib/pt/journal" -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq 1 \
        || fail "expected exactly one journal entry"
    run_pt setup 81:00 --vm 100
    expect_exit 0
    expect_stdout_contains "nothing to do"
    expect_stdout_contains "4. VM 100               already in place"
    expect_stdout_contains "  1. reboot the host"
    run_pt verify --vm 100
    expect_stdout_contains "reboot"

    TEST "seed: pt undo after setup --apply restores every file byte for byte"
    use_root seed-rtx3090
    setup_sums >"$TESTDIR/sums.before"
    run_pt setup 81:00 --vm 100 --apply
    expect_exit 0
    run_pt undo
    expect_exit 0
    expect_stdout_contains "pt setup 81:00 --vm 100"
    setup_sums >"$TESTDIR/sums.after"
    check cmp -s "$TESTDIR/sums.before" "$TESTDIR/sums.after" \
        || fail "files differ after undo:" "$(diff "$TESTDIR/sums.before" "$TESTDIR/sums.after" | head -n 20)"
    for f in etc/modprobe.d/pt-blacklist.conf etc/modprobe.d/pt-vfio.conf etc/modules-load.d/pt-vfio.conf; do
        check test ! -e "$ROOT/$f" || fail "$f is still there after undo"
    done

    TEST "seed: JSON carries the card, the use, every step with its command, and what remains"
    use_root seed-rtx3090
    run_pt setup 81:00 --vm 100 --json
    expect_exit 0
    expect_jq '.card == "0000:81:00" and .vmid == 100 and .use == "compute" and .applied == false'
    expect_jq '[.steps[].name] == ["kernel command line", "host drivers", "vfio-pci", "VM 100"]'
    expect_jq '.steps[0].files == [] and .steps[0].skipped == null'
    expect_jq '.steps[1].command == "pt blacklist 0000:81:00 --apply"'
    expect_jq '.remaining == ["reboot the host", "pt verify --vm 100"]'
    expect_jq '.reboot_needed == true and .follow_ups == ["update-initramfs -u -k all"]'

    TEST "compute: a VM without a CPU type gets cpu: host; --keep-cpu and --display leave it alone"
    use_root seed-rtx3090
    sed -i '/^cpu:/d' "$ROOT/etc/pve/nodes/pve/qemu-server/100.conf"
    run_pt setup 81:00 --vm 100
    expect_exit 0
    expect_stdout_contains "+cpu: host"
    expect_stdout_contains "alone: pt vmconf 100 0000:81:00 --compute --cpu host --apply"
    expect_stdout_not_contains "x-vga"
    run_pt setup 81:00 --vm 100 --keep-cpu
    expect_exit 0
    expect_stdout_not_contains "+cpu:"
    run_pt setup 81:00 --vm 100 --display
    expect_exit 0
    expect_stdout_contains "+hostpci0: 0000:81:00,pcie=1,x-vga=1"
    expect_stdout_not_contains "+cpu:"
    expect_stdout_contains "pt setup: 0000:81:00 into VM 100 (display)"
    expect_stdout_contains "pt rom-dump 0000:81:00"

    TEST "compute: a VM that names its CPU type keeps it, with a note naming the command"
    use_root seed-rtx3090
    run_pt setup 81:00 --vm 100
    expect_exit 0
    expect_stdout_not_contains "+cpu:"
    expect_stdout_contains "VM 100 names its CPU type (x86-64-v2-AES), so pt keeps it"
    expect_stdout_contains "alone: pt vmconf 100 0000:81:00 --compute --apply"

    TEST "identical cards: vendor:device matching both is a usage error naming the slots"
    use_root identical-gpus
    setup_grub
    setup_vm 100
    run_pt setup 10de:2504 --vm 100
    expect_exit 2
    expect_stderr_contains "10de:2504 matches 2 cards (0000:01:00, 0000:02:00)"
    expect_stderr_contains "pt setup 0000:01:00 --vm VMID"

    TEST "identical cards: the slot binds by address, so the host keeps its twin"
    use_root identical-gpus
    setup_grub
    setup_vm 100
    run_pt setup 02:00 --vm 100 --force
    expect_exit 0
    expect_stdout_contains "etc/initramfs-tools/scripts/init-top/pt-vfio"
    expect_stdout_contains "+hostpci0: 0000:02:00,pcie=1"
    expect_stdout_not_contains "+options vfio-pci ids="

    TEST "a shared group is refused with pt bind's reason, and nothing is planned or written"
    use_root intel-shared-group
    setup_grub
    setup_vm 100
    bind_msg=$("$PT" --root "$ROOT" bind 0000:03:00 2>&1 >/dev/null)
    run_pt setup 03:00 --vm 100 --apply
    expect_exit 1
    check test -n "$bind_msg" || fail "pt bind 03:00 did not refuse"
    check grep -qF -- "$bind_msg" "$ERR" || fail "setup's refusal differs from pt bind's:" "bind: $bind_msg" "setup: $(cat "$ERR")"
    expect_stdout_empty
    check test ! -e "$ROOT/var/lib/pt/journal" || fail "a journal entry was written"
    check test ! -e "$ROOT/etc/modprobe.d/pt-blacklist.conf" || fail "the blacklist was written"

    TEST "cluster: --mapping writes this node's entry and mapping= in the same plan"
    use_root pve-cluster
    setup_grub
    run_pt setup 0b:00 --vm 101 --mapping rtx3090
    expect_exit 0
    expect_stdout_contains "4. mapping"
    expect_stdout_contains "alone: pt mapping rtx3090 0000:0b:00 --apply"
    expect_stdout_contains "+rtx3090"
    expect_stdout_contains "mapping=rtx3090"
    run_pt setup 0b:00 --vm 101 --mapping rtx3090 --apply
    expect_exit 0
    check grep -q "^rtx3090" "$ROOT/etc/pve/mapping/pci.cfg" || fail "pci.cfg has no rtx3090 section"
    check grep -q "mapping=rtx3090" "$ROOT/etc/pve/nodes/pve1/qemu-server/101.conf" || fail "VM 101 does not pass mapping=rtx3090"
    run_pt mapping --check rtx3090
    expect_exit 0

    TEST "cluster: a VM of another node is refused before anything is planned, naming the node"
    use_root pve-cluster
    setup_grub
    run_pt setup 0b:00 --vm 200
    expect_exit 1
    expect_stderr_contains "VM 200 lives on node pve2, and the card is in this host: run pt setup on node pve2"
    expect_stdout_empty
    expect_unchanged

    TEST "usage: --compute with --display, no --vm, a selector that matches nothing"
    use_root seed-rtx3090
    run_pt setup 81:00 --vm 100 --compute --display
    expect_exit 2
    expect_stderr_contains "--compute"
    run_pt setup 81:00
    expect_exit 2
    expect_stderr_contains "--vm"
    run_pt setup 99:00 --vm 100
    expect_exit 1
    expect_stderr_contains "no PCI device on this host matches 99:00"
    run_pt setup 81:00 --vm 999
    expect_exit 1
    expect_unchanged
}
