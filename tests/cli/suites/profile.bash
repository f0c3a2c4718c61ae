# pt setup --save and pt profile (plan, --apply, --check) end to end; see tests/cli/run.
# shellcheck shell=bash disable=SC2154
# ($ROOT, $OUT, $ERR, $RC and $TESTDIR belong to tests/cli/run.)
#
# Roots: seed-rtx3090 (an RTX 3090 at 81:00, VM 100, nothing set up), seed-rtx3090-after (the
# same host after pt blacklist, pt bind, update-initramfs and a reboot), and a copy of the latter
# built with pt-mkroot where the card sits at 82:00 (a BIOS update renumbered the buses).

# pf_profile FILE: the profile of the seed scenario, written as pt setup --save writes it.
pf_profile() {
    cat >"$1" <<'EOF'
version: 1
nodes:
  pve:
    devices:
      - address: "0000:81:00"
        id: "10de:2204"
        subsystem: "1458:403b"
        name: "GA102 [GeForce RTX 3090]"
        vm: 100
        use: compute
EOF
}

# pf_sums: a checksum of every regular file of the root, to compare before and after.
pf_sums() {
    (cd "$ROOT" && find . -path ./var/lib/pt -prune -o -path ./var/lock -prune -o -type f -print0 \
        | sort -z | xargs -0 sha256sum)
}

# pf_moved_root: seed-rtx3090-after with the card at 0000:82:00 and VM 100 set up for 81:00.
pf_moved_root() {
    ROOT=$TESTDIR/root
    rm -rf "$ROOT"
    sed 's/0000:81:00/0000:82:00/g' "$top/tests/fixtures/hosts/seed-rtx3090-after.yaml" >"$TESTDIR/moved.yaml"
    "$PT_MKROOT" --ids "$top/tests/fixtures/pci.ids" "$TESTDIR/moved.yaml" "$ROOT" >"$TESTDIR/mkroot" 2>&1 \
        || fail "pt-mkroot could not build the moved root: $(cat "$TESTDIR/mkroot")"
    sed -i '/^hostpci0:/d; /^machine:/d' "$ROOT/etc/pve/nodes/pve/qemu-server/100.conf"
    printf '%s\n' "hostpci0: 0000:81:00,pcie=1" "machine: q35" >>"$ROOT/etc/pve/nodes/pve/qemu-server/100.conf"
}

# pf_swapped_root: pf_moved_root where the card's physical slot "2" is at 82:00 and an identical
# card from physical slot "1" took 81:00 (identical cards whose buses a BIOS update swapped).
pf_swapped_root() {
    ROOT=$TESTDIR/root
    rm -rf "$ROOT"
    sed 's/0000:81:00/0000:82:00/g' "$top/tests/fixtures/hosts/seed-rtx3090-after.yaml" \
        | awk '/^files:/ {
                   print "  - group: 32"
                   print "    devices:"
                   print "      - {address: 0000:81:00.0, class_code: \"030000\", vendor_device: 10de:2204, subsystem: 1458:403b, rev: a1, driver: nvidia, boot_vga: false, physical_slot: \"1\"}"
               }
               { print }
               /^      - address: 0000:82:00.0$/ { print "        physical_slot: \"2\"" }' >"$TESTDIR/swapped.yaml"
    "$PT_MKROOT" --ids "$top/tests/fixtures/pci.ids" "$TESTDIR/swapped.yaml" "$ROOT" >"$TESTDIR/mkroot" 2>&1 \
        || fail "pt-mkroot could not build the swapped root: $(cat "$TESTDIR/mkroot")"
    sed -i '/^hostpci0:/d; /^machine:/d' "$ROOT/etc/pve/nodes/pve/qemu-server/100.conf"
    printf '%s\n' "hostpci0: 0000:81:00,pcie=1" "machine: q35" >>"$ROOT/etc/pve/nodes/pve/qemu-server/100.conf"
}

# pf_two_cards_root: seed-rtx3090 with a second RTX 3090 at 82:00 (its own group) and VM 101.
pf_two_cards_root() {
    ROOT=$TESTDIR/root
    rm -rf "$ROOT"
    awk '/^files:/ {
             print "  - group: 32"
             print "    devices:"
             print "      - {address: 0000:82:00.0, class_code: \"030000\", vendor_device: 10de:2204, subsystem: 1458:403b, rev: a1, driver: nouveau, boot_vga: false}"
             print "      - {address: 0000:82:00.1, class_code: \"040300\", vendor_device: 10de:1aef, subsystem: 1458:403b, rev: a1, driver: snd_hda_intel}"
             print
             print "  /etc/pve/nodes/pve/qemu-server/101.conf: |"
             print "    cores: 8"
             print "    memory: 32768"
             print "    name: comfy"
             print "    ostype: l26"
             next
         }
         { print }' "$top/tests/fixtures/hosts/seed-rtx3090.yaml" >"$TESTDIR/two.yaml"
    "$PT_MKROOT" --ids "$top/tests/fixtures/pci.ids" "$TESTDIR/two.yaml" "$ROOT" >"$TESTDIR/mkroot" 2>&1 \
        || fail "pt-mkroot could not build the two-card root: $(cat "$TESTDIR/mkroot")"
    # As use_root: one old modification time, so the files pt writes are newer than the initramfs.
    find "$ROOT" -exec touch -h -d @1731000000 {} +
    (cd "$ROOT" && find . -printf '%p %y %l %s\n' | sort >"$TESTDIR/tree.before")
}

suite_profile_probe() {
    [ -n "${PT_MKROOT:-}" ] || echo "PT_MKROOT is not set (ctest sets it)"
}

suite_profile() {
    TEST "setup --save writes this node's section: the card, its IDs, the VM and the use"
    use_root seed-rtx3090
    run_pt setup 81:00 --vm 100 --save "$TESTDIR/p.yaml"
    expect_exit 0
    expect_stderr_contains "wrote the profile $TESTDIR/p.yaml"
    pf_profile "$TESTDIR/want.yaml"
    check grep -qxF 'version: 1' "$TESTDIR/p.yaml" || fail "no version: 1"
    # The file without its header comments is exactly the seed profile.
    grep -v '^#' "$TESTDIR/p.yaml" >"$TESTDIR/p.body"
    check cmp -s "$TESTDIR/p.body" "$TESTDIR/want.yaml" \
        || fail "the saved profile differs:" "$(diff "$TESTDIR/want.yaml" "$TESTDIR/p.body")"
    # Saving is not applying: the host is as it was (the profile is outside the root).
    expect_unchanged

    TEST "setup --save keeps the other nodes' sections and replaces this node's card"
    use_root seed-rtx3090
    printf '%s\n' 'version: 1' 'nodes:' '  pve2:' '    devices:' '      - {address: "0000:01:00", id: "1002:744c", vm: 200, use: display}' \
        '  pve:' '    kernel:' '      iommu-pt: true' '    devices:' '      - {address: "0000:05:00", id: "10de:1b80", vm: 101}' >"$TESTDIR/p.yaml"
    run_pt setup 81:00 --vm 100 --save "$TESTDIR/p.yaml"
    expect_exit 0
    check grep -qF '  pve2:' "$TESTDIR/p.yaml" || fail "node pve2 was lost"
    check grep -qF 'address: "0000:01:00"' "$TESTDIR/p.yaml" || fail "pve2's card was lost"
    check grep -qF 'use: display' "$TESTDIR/p.yaml" || fail "pve2's use was lost"
    check grep -qF 'iommu-pt: true' "$TESTDIR/p.yaml" || fail "this node's kernel options were lost"
    check grep -qF 'address: "0000:81:00"' "$TESTDIR/p.yaml" || fail "this node's card is not 81:00"
    check test "$(grep -c '0000:05:00' "$TESTDIR/p.yaml")" -eq 0 || fail "the old card of this node is still there"
    expect_stderr_contains "dropped the entry of 0000:05:00 (10de:1b80) for VM 101: not on this host"

    TEST "setup --save refuses a broken profile before planning or writing"
    use_root seed-rtx3090
    printf '%s\n' 'version: 1' 'nodes:' '  pve:' '    devices:' '      - address: "0000:81:00"' '        vmid: 100' >"$TESTDIR/p.yaml"
    cp "$TESTDIR/p.yaml" "$TESTDIR/p.before"
    run_pt setup 81:00 --vm 100 --save "$TESTDIR/p.yaml" --apply
    expect_exit 2
    expect_stderr_contains "$TESTDIR/p.yaml:6: unknown key \"vmid\" in a device"
    check cmp -s "$TESTDIR/p.yaml" "$TESTDIR/p.before" || fail "the broken profile was changed"
    expect_unchanged

    TEST "profile FILE shows the same chain as pt setup, as a dry run"
    use_root seed-rtx3090
    pf_profile "$TESTDIR/p.yaml"
    run_pt setup 81:00 --vm 100 --json
    jq -S 'del(.title, .notes)' "$OUT" >"$TESTDIR/setup.json"
    run_pt profile "$TESTDIR/p.yaml" --json
    expect_exit 0
    expect_jq '.node == "pve" and .moved_from == null and .card == "0000:81:00" and .vmid == 100 and .applied == false'
    jq -S 'del(.title, .notes, .node, .moved_from, .cards[].moved_from)' "$OUT" >"$TESTDIR/profile.json"
    check cmp -s "$TESTDIR/setup.json" "$TESTDIR/profile.json" \
        || fail "pt profile plans otherwise than pt setup:" "$(diff "$TESTDIR/setup.json" "$TESTDIR/profile.json" | head -n 20)"
    run_pt profile "$TESTDIR/p.yaml"
    expect_exit 0
    expect_stdout_contains "pt profile $TESTDIR/p.yaml: node pve"
    expect_stdout_contains "pt setup: 0000:81:00 into VM 100 (compute)"
    expect_stdout_contains "+options vfio-pci ids=10de:1aef,10de:2204"
    expect_stdout_contains "dry run: nothing was changed"
    expect_unchanged

    TEST "profile --check on a fresh host: drift per file, each with the command that fixes it; exit 3"
    use_root seed-rtx3090
    pf_profile "$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml" --check --json
    expect_exit 3
    expect_jq '.node == "pve" and .converged == false and .reboot_pending == false'
    expect_jq '[.drift[].what] | index("vfio-pci: /etc/modprobe.d/pt-vfio.conf") != null'
    expect_jq 'any(.drift[]; .what == "vfio-pci: /etc/modprobe.d/pt-vfio.conf" and .found == "no such file" and (.expected | contains("options vfio-pci ids=10de:1aef,10de:2204")) and .fix == "pt bind 0000:81:00 --apply")'
    expect_jq 'any(.drift[]; .what == "host drivers: /etc/modprobe.d/pt-blacklist.conf" and (.expected | contains("blacklist nouveau")))'
    expect_jq 'all(.drift[]; (.what | length) > 0 and (.expected | length) > 0 and (.found | length) > 0 and (.fix | startswith("pt ") or startswith("update-")))'
    run_pt profile "$TESTDIR/p.yaml" --check
    expect_exit 3
    expect_stdout_contains "drift: "
    expect_stdout_contains "    fix:      pt blacklist 0000:81:00 --apply"
    expect_unchanged

    TEST "profile --apply: one journal entry; files written but not staged are drift until update-initramfs"
    use_root seed-rtx3090
    pf_profile "$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml" --apply
    expect_exit 0
    expect_stdout_contains "journal: "
    check test "$(find "$ROOT/var/lib/pt/journal" -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq 1 \
        || fail "expected exactly one journal entry"
    run_pt profile "$TESTDIR/p.yaml"
    expect_exit 0
    expect_stdout_contains "nothing to do"
    # Under --root pt runs no update-initramfs: the image is older than the files now.
    run_pt profile "$TESTDIR/p.yaml" --check --json
    expect_exit 3
    expect_jq 'any(.drift[]; .what == "staged: initramfs.fresh" and .fix == "update-initramfs -u -k all, then reboot")'
    expect_jq 'all(.drift[]; .what | startswith("staged: "))'

    TEST "profile --apply then pt undo restores every file byte for byte"
    use_root seed-rtx3090
    pf_profile "$TESTDIR/p.yaml"
    pf_sums >"$TESTDIR/sums.before"
    run_pt profile "$TESTDIR/p.yaml" --apply
    expect_exit 0
    run_pt undo
    expect_exit 0
    expect_stdout_contains "pt profile $TESTDIR/p.yaml"
    pf_sums >"$TESTDIR/sums.after"
    check cmp -s "$TESTDIR/sums.before" "$TESTDIR/sums.after" \
        || fail "files differ after undo:" "$(diff "$TESTDIR/sums.before" "$TESTDIR/sums.after" | head -n 20)"

    TEST "profile --check on a converged host: exit 0, no drift; --apply plans nothing"
    use_root seed-rtx3090-after
    pf_profile "$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml" --check
    expect_exit 3
    run_pt profile "$TESTDIR/p.yaml" --apply
    expect_exit 0
    # The VM entry is the only change left on this host; its file is not a boot file.
    expect_stdout_contains "wrote /etc/pve/nodes/pve/qemu-server/100.conf"
    run_pt profile "$TESTDIR/p.yaml" --check --json
    expect_exit 0
    expect_jq '. == {"node": "pve", "converged": true, "reboot_pending": false, "drift": []}'
    run_pt profile "$TESTDIR/p.yaml" --check
    expect_exit 0
    expect_stdout_contains "converged: the host matches the profile"
    run_pt profile "$TESTDIR/p.yaml"
    expect_exit 0
    expect_stdout_contains "nothing to do"

    TEST "profile --check: configured and staged but the card not on vfio-pci yet is converged with a reboot pending"
    use_root seed-rtx3090-after
    pf_profile "$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml" --apply
    expect_exit 0
    # The running layer before the reboot: nouveau still drives the card.
    ln -sfn ../../../../bus/pci/drivers/nouveau "$ROOT/sys/bus/pci/devices/0000:81:00.0/driver"
    sed -i 's/^DRIVER=.*/DRIVER=nouveau/' "$ROOT/sys/bus/pci/devices/0000:81:00.0/uevent"
    run_pt profile "$TESTDIR/p.yaml" --check --json
    expect_exit 0
    expect_jq '.converged == true and .reboot_pending == true and .drift == []'
    run_pt profile "$TESTDIR/p.yaml" --check
    expect_stdout_contains "converged: the files match the profile; a reboot makes the running host match too"

    TEST "the card moved to 82:00: --check names it and the VM's stale entry; the plan re-targets the entry"
    pf_moved_root
    pf_profile "$TESTDIR/p.yaml"
    (cd "$ROOT" && find . -printf '%p %y %l %s\n' | sort >"$TESTDIR/tree.before")
    run_pt profile "$TESTDIR/p.yaml" --check --json
    expect_exit 3
    expect_jq '.drift[0].what == "hardware"'
    expect_jq '.drift[0].expected == "the GA102 [GeForce RTX 3090] (10de:2204 subsystem 1458:403b) at 0000:81:00"'
    expect_jq '.drift[0].found == "at 0000:82:00; VM 100 still points at 0000:81:00 (hostpci0)"'
    expect_jq 'any(.drift[]; .what == "VM 100: /etc/pve/nodes/pve/qemu-server/100.conf" and .expected == "hostpci0: 0000:82:00,pcie=1" and .found == "hostpci0: 0000:81:00,pcie=1")'
    run_pt profile "$TESTDIR/p.yaml" --json
    expect_exit 0
    expect_jq '.moved_from == "0000:81:00" and .card == "0000:82:00"'
    run_pt profile "$TESTDIR/p.yaml"
    expect_stdout_contains "the card moved: the profile names the GA102 [GeForce RTX 3090] (10de:2204 subsystem 1458:403b) at 0000:81:00, found at 0000:82:00"
    # Alone, pt vmconf would add a second entry: the step names the command that re-targets.
    expect_stdout_contains "alone: pt profile $TESTDIR/p.yaml --apply"
    expect_stdout_contains "-hostpci0: 0000:81:00,pcie=1"
    expect_stdout_contains "+hostpci0: 0000:82:00,pcie=1"
    expect_stdout_not_contains "hostpci1"
    expect_unchanged
    run_pt profile "$TESTDIR/p.yaml" --apply
    expect_exit 0
    check grep -qxF "hostpci0: 0000:82:00,pcie=1" "$ROOT/etc/pve/nodes/pve/qemu-server/100.conf" \
        || fail "VM 100 does not point at 82:00"
    # Only the profile is left naming 81:00, and the fix is the command that records 82:00.
    run_pt profile "$TESTDIR/p.yaml" --check --json
    expect_exit 3
    expect_jq '(.drift | length) == 1 and .drift[0].fix == "record the new address in the profile: pt setup 0000:82:00 --vm 100 --save '"$TESTDIR"'/p.yaml"'
    run_pt setup 0000:82:00 --vm 100 --save "$TESTDIR/p.yaml"
    expect_exit 0
    run_pt profile "$TESTDIR/p.yaml" --check
    expect_exit 0

    TEST "identical cards swapped buses: the profile's physical-slot finds its card at 82:00"
    pf_swapped_root
    check [ "$(cat "$ROOT/sys/bus/pci/slots/2/address")" = "0000:82:00" ] || fail "pt-mkroot wrote no slot 2"
    pf_profile "$TESTDIR/p.yaml"
    # By address alone, the card from slot 1 now at 81:00 has the IDs: nothing looks moved.
    run_pt profile "$TESTDIR/p.yaml" --check --json
    expect_jq 'all(.drift[]; .what != "hardware")'
    printf '        physical-slot: "2"\n' >>"$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml" --check --json
    expect_exit 3
    expect_jq '.drift[0].what == "hardware" and .drift[0].found == "at 0000:82:00 (physical slot 2); VM 100 still points at 0000:81:00 (hostpci0)"'
    run_pt profile "$TESTDIR/p.yaml" --json
    expect_exit 0
    expect_jq '.moved_from == "0000:81:00" and .card == "0000:82:00"'
    # pt setup --save records the physical slot where the platform names one.
    run_pt setup 0000:82:00 --vm 100 --save "$TESTDIR/q.yaml"
    expect_exit 0
    check grep -qxF '        physical-slot: "2"' "$TESTDIR/q.yaml" || fail "no physical-slot in the saved profile: $(cat "$TESTDIR/q.yaml")"

    TEST "two nodes, one profile: each node plans its own section; the mapping gets only this node's entry"
    use_root pve-cluster
    mkdir -p "$ROOT/etc/default"
    printf '%s\n' 'GRUB_DEFAULT=0' 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"' 'GRUB_CMDLINE_LINUX=""' >"$ROOT/etc/default/grub"
    # The fixture is one machine: as pve2 it stands for pve2's hardware, the same card at 0b:00.
    printf '%s\n' 'version: 1' 'nodes:' \
        '  pve1:' '    devices:' '      - {address: "0000:0b:00", id: "10de:2204", vm: 100, use: display, ovmf: true, mapping: gpu0}' \
        '  pve2:' '    devices:' '      - {address: "0000:0b:00", id: "10de:2204", vm: 200, use: display, ovmf: true, mapping: gpu0}' \
        >"$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml" --json
    expect_exit 0
    expect_jq '.node == "pve1" and .vmid == 100'
    expect_jq 'any(.files[]; .path == "/etc/pve/nodes/pve1/qemu-server/100.conf")'
    expect_jq 'all(.files[]; (.path | startswith("/etc/pve/nodes/pve2/")) | not)'
    # gpu0 already maps pve1's card: the mapping step plans nothing on pve1.
    expect_jq 'all(.files[]; .path != "/etc/pve/mapping/pci.cfg")'
    printf 'pve2\n' >"$ROOT/etc/hostname"
    printf 'pve2\n' >"$ROOT/proc/sys/kernel/hostname"
    run_pt profile "$TESTDIR/p.yaml" --apply
    expect_exit 0
    expect_stdout_contains "pt profile $TESTDIR/p.yaml: node pve2"
    check grep -qF 'node=pve2,path=0000:0b:00' "$ROOT/etc/pve/mapping/pci.cfg" || fail "pve2's entry was not written"
    check grep -qF 'node=pve1,path=0000:0b:00' "$ROOT/etc/pve/mapping/pci.cfg" || fail "pve1's entry was lost"
    check grep -qxF 'hostpci0: 0000:0b:00,pcie=1' "$ROOT/etc/pve/nodes/pve1/qemu-server/100.conf" \
        || fail "pve1's VM 100 was changed from pve2"
    run_pt profile "$TESTDIR/p.yaml"
    expect_exit 0
    expect_stdout_contains "nothing to do"

    TEST "a hand edit that makes the chain refuse is drift for --check (exit 3), an error for the plan"
    use_root seed-rtx3090
    pf_profile "$TESTDIR/p.yaml"
    # The VM is locked (a backup runs): pt vmconf refuses, so the profile cannot be planned.
    printf 'lock: backup\n' >>"$ROOT/etc/pve/nodes/pve/qemu-server/100.conf"
    run_pt profile "$TESTDIR/p.yaml" --check --json
    expect_exit 3
    expect_jq '(.drift | length) == 1 and .drift[0].what == "plan" and (.drift[0].found | contains("lock"))'
    run_pt profile "$TESTDIR/p.yaml"
    expect_exit 1

    TEST "a card that is nowhere on the host is drift for --check and an error for the plan"
    use_root seed-rtx3090
    pf_profile "$TESTDIR/p.yaml"
    sed -i 's/10de:2204/10de:2684/' "$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml" --check --json
    expect_exit 3
    expect_jq '.drift[0].what == "hardware" and (.drift[0].found | contains("is not on this host (0000:81:00 holds 10de:2204 now, and no other slot has those IDs)"))'
    run_pt profile "$TESTDIR/p.yaml" --apply
    expect_exit 1
    expect_stderr_contains "put the card back, or edit $TESTDIR/p.yaml"
    expect_unchanged

    TEST "bad profiles are usage errors naming the file and line; no section for this node is an error"
    use_root seed-rtx3090
    printf '%s\n' 'version: 1' 'nodes:' '  pve:' '    devices:' '      - address: "0000:81:00.0"' '        id: "10de:2204"' '        vm: 100' >"$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml"
    expect_exit 2
    expect_stderr_contains "$TESTDIR/p.yaml:5: address must be the card's slot"
    printf '%s\n' 'version: 2' 'nodes: {}' >"$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml" --check
    expect_exit 2
    expect_stderr_contains "version 2 is newer than this pt reads (1)"
    printf '%s\n' 'version: 1' 'nodes:' '  pve:' '    devices:' '      - {address: "81:00", id: "10de:2204", vm: 100, use: gaming}' >"$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml"
    expect_exit 2
    expect_stderr_contains "use must be compute or display, not \"gaming\""
    printf '%s\n' 'version: 1' 'nodes:' '  other:' '    devices: []' >"$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml" --check
    expect_exit 1
    expect_stderr_contains "has no section for this node, pve (it has: other)"
    printf 'nodes: [\n' >"$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml"
    expect_exit 2
    expect_stderr_contains "not valid YAML"
    run_pt profile "$TESTDIR/missing.yaml"
    expect_exit 1
    expect_stderr_contains "cannot read the profile $TESTDIR/missing.yaml: no such file"
    run_pt profile "$TESTDIR/p.yaml" --check --apply
    expect_exit 2
    expect_unchanged

    TEST "two cards for two VMs: one chain, one binding; --apply, --check and undo"
    pf_two_cards_root
    pf_sums >"$TESTDIR/sums.before"
    printf '%s\n' 'version: 1' 'nodes:' '  pve:' '    devices:' '      - {address: "0000:81:00", id: "10de:2204", vm: 100}' \
        '      - {address: "0000:82:00", id: "10de:2204", vm: 101}' >"$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml" --json
    expect_exit 0
    expect_jq '[.cards[].card] == ["0000:81:00", "0000:82:00"] and [.cards[].vmid] == [100, 101] and all(.cards[]; .moved_from == null)'
    expect_jq '[.steps[].name] == ["kernel command line", "host drivers", "vfio-pci", "VM 100", "VM 101"]'
    expect_jq '.steps[2].command == "pt bind 0000:81:00 0000:82:00 --apply" and .steps[1].command == "pt blacklist 0000:81:00 0000:82:00 --apply"'
    expect_jq '.remaining[-1] == "pt verify --vm 101"'
    # The binding is the one pt bind plans for both slots.
    run_pt bind 0000:81:00 0000:82:00 --json
    expect_exit 0
    jq -S '[.files[] | select(.path == "/etc/modprobe.d/pt-vfio.conf")]' "$OUT" >"$TESTDIR/bind.json"
    run_pt profile "$TESTDIR/p.yaml" --json
    jq -S '[.files[] | select(.path == "/etc/modprobe.d/pt-vfio.conf")]' "$OUT" >"$TESTDIR/profile.json"
    check cmp -s "$TESTDIR/bind.json" "$TESTDIR/profile.json" \
        || fail "the profile binds otherwise than pt bind:" "$(diff "$TESTDIR/bind.json" "$TESTDIR/profile.json" | head -n 20)"
    run_pt profile "$TESTDIR/p.yaml" --apply
    expect_exit 0
    check grep -qxF 'hostpci0: 0000:81:00,pcie=1' "$ROOT/etc/pve/nodes/pve/qemu-server/100.conf" || fail "VM 100 does not pass 81:00"
    check grep -qxF 'hostpci0: 0000:82:00,pcie=1' "$ROOT/etc/pve/nodes/pve/qemu-server/101.conf" || fail "VM 101 does not pass 82:00"
    run_pt profile "$TESTDIR/p.yaml"
    expect_exit 0
    expect_stdout_contains "nothing to do"
    # Only the staged layer is left (no update-initramfs under --root).
    run_pt profile "$TESTDIR/p.yaml" --check --json
    expect_exit 3
    expect_jq '(.drift | length) > 0 and all(.drift[]; .what | startswith("staged: "))'
    # A hand edit of the second VM is drift naming its file.
    cp -p "$ROOT/etc/pve/nodes/pve/qemu-server/101.conf" "$TESTDIR/101.applied"
    sed -i '/^hostpci0:/d' "$ROOT/etc/pve/nodes/pve/qemu-server/101.conf"
    run_pt profile "$TESTDIR/p.yaml" --check --json
    expect_exit 3
    expect_jq 'any(.drift[]; .what == "VM 101: /etc/pve/nodes/pve/qemu-server/101.conf" and .fix == "pt vmconf 101 0000:82:00 --compute --apply")'
    # One journal entry for both cards: pt undo restores every file.
    cp -p "$TESTDIR/101.applied" "$ROOT/etc/pve/nodes/pve/qemu-server/101.conf"
    check test "$(find "$ROOT/var/lib/pt/journal" -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq 1 \
        || fail "expected exactly one journal entry"
    run_pt undo
    expect_exit 0
    pf_sums >"$TESTDIR/sums.after"
    check cmp -s "$TESTDIR/sums.before" "$TESTDIR/sums.after" \
        || fail "files differ after undo:" "$(diff "$TESTDIR/sums.before" "$TESTDIR/sums.after" | head -n 20)"

    TEST "two cards for one VM: hostpci0 and hostpci1 in one edit; setup --save twice describes both"
    pf_two_cards_root
    rm -f "$TESTDIR/p.yaml"
    run_pt setup 81:00 --vm 100 --save "$TESTDIR/p.yaml"
    expect_exit 0
    run_pt setup 82:00 --vm 100 --save "$TESTDIR/p.yaml"
    expect_exit 0
    check test "$(grep -c 'address: "0000:8[12]:00"' "$TESTDIR/p.yaml")" -eq 2 || fail "the profile does not name both cards"
    run_pt profile "$TESTDIR/p.yaml" --json
    expect_exit 0
    expect_jq '[.steps[].name] == ["kernel command line", "host drivers", "vfio-pci", "VM 100", "VM 100"]'
    expect_jq '[.files[] | select(.path == "/etc/pve/nodes/pve/qemu-server/100.conf")] | length == 1'
    expect_jq '.steps[4].command == "pt vmconf 100 0000:82:00 --compute --apply"'
    run_pt profile "$TESTDIR/p.yaml" --apply
    expect_exit 0
    check grep -qxF 'hostpci1: 0000:82:00,pcie=1' "$ROOT/etc/pve/nodes/pve/qemu-server/100.conf" || fail "VM 100 has no hostpci1 for 82:00"

    TEST "a card named twice, or a card not on this host, is an error; setup --save drops the latter"
    pf_two_cards_root
    printf '%s\n' 'version: 1' 'nodes:' '  pve:' '    devices:' '      - {address: "81:00", id: "10de:2204", vm: 100}' \
        '      - {address: "81:00", id: "10de:2204", vm: 101}' >"$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml"
    expect_exit 1
    expect_stderr_contains "names the card at 0000:81:00 twice (for VM 100 and VM 101)"
    printf '%s\n' 'version: 1' 'nodes:' '  pve:' '    devices:' '      - {address: "81:00", id: "10de:2204", vm: 100}' \
        '      - {address: "05:00", id: "10de:1b80", vm: 101}' >"$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml"
    expect_exit 1
    expect_stderr_contains "the 10de:1b80 that the profile names at 0000:05:00 is not on this host"
    run_pt setup 82:00 --vm 101 --save "$TESTDIR/p.yaml"
    expect_exit 0
    expect_stderr_contains "dropped the entry of 0000:05:00 (10de:1b80) for VM 101: not on this host"
    check test "$(grep -c 'address: "0000:8[12]:00"' "$TESTDIR/p.yaml")" -eq 2 || fail "the profile does not name both cards"
    expect_unchanged

    TEST "containers: a card the host's driver keeps, shared as pt lxc shares it; --check, --apply, converged"
    use_root lxc-nvidia
    printf '%s\n' 'version: 1' 'nodes:' '  pve:' '    containers:' '      - {address: "0000:81:00", id: "10de:2204", ct: 200}' >"$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml" --json
    expect_exit 0
    expect_jq '[.steps[].name] == ["container 200"] and .steps[0].command == "pt lxc 200 0000:81:00 --apply"'
    expect_jq '.containers == [{"card": "0000:81:00", "ctid": 200, "moved_from": null}] and .cards == []'
    expect_jq '.remaining == ["pt verify --ct 200"]'
    # The plan is pt lxc's.
    jq -S '.files' "$OUT" >"$TESTDIR/profile.json"
    run_pt lxc 200 0000:81:00 --json
    jq -S '.files' "$OUT" >"$TESTDIR/lxc.json"
    check cmp -s "$TESTDIR/lxc.json" "$TESTDIR/profile.json" \
        || fail "the profile shares otherwise than pt lxc:" "$(diff "$TESTDIR/lxc.json" "$TESTDIR/profile.json" | head -n 20)"
    run_pt profile "$TESTDIR/p.yaml" --check --json
    expect_exit 3
    expect_jq '.drift == [.drift[] | select(.what == "container 200: /etc/pve/nodes/pve/lxc/200.conf" and .fix == "pt lxc 200 0000:81:00 --apply" and (.expected | contains("dev0: /dev/nvidia0")))] and (.drift | length) == 1'
    run_pt profile "$TESTDIR/p.yaml" --apply
    expect_exit 0
    run_pt profile "$TESTDIR/p.yaml" --check --json
    expect_exit 0
    expect_jq '.converged == true and .reboot_pending == false and .drift == []'

    TEST "containers: a card that moved is shared where it is now, and drift until the profile names it"
    use_root lxc-nvidia
    printf '%s\n' 'version: 1' 'nodes:' '  pve:' '    containers:' '      - {address: "0000:82:00", id: "10de:2204", ct: 200}' >"$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml" --json
    expect_exit 0
    expect_jq '.containers == [{"card": "0000:81:00", "ctid": 200, "moved_from": "0000:82:00"}]'
    expect_jq '.steps[0].command == "pt lxc 200 0000:81:00 --apply"'
    run_pt profile "$TESTDIR/p.yaml" --apply
    expect_exit 0
    run_pt profile "$TESTDIR/p.yaml" --check --json
    expect_exit 3
    expect_jq '(.drift | length) == 1 and .drift[0].what == "hardware" and .drift[0].found == "at 0000:81:00"'
    expect_jq '.drift[0].fix == "record the new address in the profile: set the address of container 200'"'"'s card in '"$TESTDIR"'/p.yaml to \"0000:81:00\""'

    TEST "containers: a card both passed to a VM and shared into a container is refused, naming both"
    use_root lxc-nvidia
    printf '%s\n' 'version: 1' 'nodes:' '  pve:' '    devices:' '      - {address: "0000:81:00", id: "10de:2204", vm: 100}' \
        '    containers:' '      - {address: "0000:81:00", id: "10de:2204", ct: 200}' >"$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml"
    expect_exit 1
    expect_stderr_contains "the card 0000:81:00 goes to VM 100 and to container 200"
    expect_unchanged

    TEST "kernel options of the profile go through pt grub's planner and its refusals"
    use_root seed-rtx3090
    pf_profile "$TESTDIR/p.yaml"
    sed -i 's/^    devices:/    kernel:\n      iommu-pt: true\n    devices:/' "$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml" --json
    expect_exit 0
    expect_jq '.steps[0].command == "pt grub --iommu-pt --apply" and (.steps[0].files | length) == 1'
    pf_profile "$TESTDIR/p.yaml"
    sed -i 's/^    devices:/    kernel:\n      add: [root=\/dev\/sda1]\n    devices:/' "$TESTDIR/p.yaml"
    run_pt profile "$TESTDIR/p.yaml"
    expect_exit 2
    expect_stderr_contains "root"
    expect_unchanged
}
