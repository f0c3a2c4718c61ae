# pt mapping end to end; see tests/cli/run.
# shellcheck shell=bash disable=SC2154
# ($ROOT, $OUT, $ERR and $TESTDIR belong to tests/cli/run.)

MAP_CFG=etc/pve/mapping/pci.cfg

suite_mapping() {
    TEST "--check: a renumbered IOMMU group fails (exit 3); text"
    use_root pve-cluster
    run_pt mapping --check
    expect_exit 3
    expect_stdout_file check.txt
    expect_unchanged

    TEST "--check --json: one finding per entry of this node"
    use_root pve-cluster
    run_pt mapping --check --json
    expect_exit 3
    expect_jq '.node == "pve1" and .file == "/etc/pve/mapping/pci.cfg" and .ok == false'
    expect_jq '[.findings[] | "\(.id) \(.status)"] == ["mapping.valid pass","mapping.iommugroup-mismatch fail","mapping.no-node-entry warn"]'
    expect_jq '.findings[1].evidence | startswith("/etc/pve/mapping/pci.cfg:6: oldgpu map ")'
    expect_jq '.findings[1].fix == "pt mapping oldgpu 0000:0b:00 --apply"'
    expect_jq '.summary == {"pass":1,"warn":1,"fail":1,"skip":0}'

    TEST "--check NAME: only that mapping; exit 0 when it matches"
    use_root pve-cluster
    run_pt mapping gpu0 --check
    expect_exit 0
    expect_stdout_contains "pass  mapping.valid  mapping gpu0 matches the hardware of pve1 (0000:0b:00)"
    run_pt mapping nosuch --check
    expect_exit 1
    expect_stderr_contains 'has no mapping "nosuch"'

    TEST "--check without pci.cfg: nothing to check, exit 0"
    use_root x570-two-gpus
    run_pt mapping --check --json
    expect_exit 0
    expect_jq '.findings == [{"id":"mapping.file","status":"skip","summary":"no PCI resource mappings on this cluster","evidence":"/etc/pve/mapping/pci.cfg does not exist","fix":""}]'

    TEST "NAME SEL: dry run replaces only this node's line"
    use_root pve-cluster
    run_pt mapping oldgpu 0b:00
    expect_exit 0
    expect_stdout_file fix-oldgpu.txt
    expect_unchanged

    TEST "NAME SEL --apply: other nodes and mappings byte for byte; again nothing to do; --check passes"
    use_root pve-cluster
    cp "$ROOT/$MAP_CFG" "$TESTDIR/orig"
    run_pt mapping oldgpu 0b:00 --apply
    expect_exit 0
    expect_stdout_contains "wrote /etc/pve/mapping/pci.cfg"
    diff "$TESTDIR/orig" "$ROOT/$MAP_CFG" | grep -E '^[<>]' >"$TESTDIR/changed"
    printf '%s\n' '< 	map id=10de:2204,iommugroup=12,node=pve1,path=0000:0b:00,subsystem-id=1458:403b' \
        '> 	map id=10de:2204,iommugroup=16,node=pve1,path=0000:0b:00,subsystem-id=1458:403b' >"$TESTDIR/want"
    check diff -u "$TESTDIR/want" "$TESTDIR/changed" >"$TESTDIR/diff" || fail "unexpected change:" "$(cat "$TESTDIR/diff")"
    run_pt mapping oldgpu 0b:00 --apply
    expect_exit 0
    expect_stdout_contains "nothing to do"
    run_pt mapping oldgpu --check
    expect_exit 0
    run_pt undo
    expect_exit 0
    check cmp -s "$TESTDIR/orig" "$ROOT/$MAP_CFG" || fail "undo did not restore pci.cfg"

    TEST "a node without an entry gets one; a new mapping becomes a section (JSON)"
    use_root pve-cluster
    run_pt mapping nic 0000:0b:00.1 --apply
    expect_exit 0
    tail -n 2 "$ROOT/$MAP_CFG" >"$TESTDIR/got"
    printf '%s\n' '	map id=8086:1539,node=pve2,path=0000:05:00.0' \
        '	map id=10de:1aef,iommugroup=16,node=pve1,path=0000:0b:00.1,subsystem-id=1458:403b' >"$TESTDIR/want"
    check diff -u "$TESTDIR/want" "$TESTDIR/got" >"$TESTDIR/diff" || fail "nic entry:" "$(cat "$TESTDIR/diff")"
    run_pt mapping amdgpu 0c:00 --json
    expect_exit 0
    expect_jq '.applied == false and .files[0].path == "/etc/pve/mapping/pci.cfg"'
    expect_jq '.files[0].diff | contains("+amdgpu\n+\tmap id=1002:73bf,iommugroup=17,node=pve1,path=0000:0c:00,subsystem-id=1da2:e438")'

    TEST "a cluster without pci.cfg: the file is created"
    use_root x570-two-gpus
    mkdir -p "$ROOT/proc/sys/kernel" && echo x570 >"$ROOT/proc/sys/kernel/hostname"
    run_pt mapping gpu0 0b:00 --apply
    expect_exit 0
    printf '%s\n' gpu0 '	map id=10de:2204,iommugroup=16,node=x570,path=0000:0b:00,subsystem-id=1458:403b' >"$TESTDIR/want"
    check diff -u "$TESTDIR/want" "$ROOT/$MAP_CFG" >"$TESTDIR/diff" || fail "new pci.cfg:" "$(cat "$TESTDIR/diff")"

    TEST "errors: bad NAME or ID selector (2), missing device (1), no NAME (2)"
    use_root pve-cluster
    run_pt mapping 9bad 0b:00
    expect_exit 2
    expect_stderr_contains "is not a mapping ID"
    run_pt mapping gpu0 10de:2204
    expect_exit 2
    expect_stderr_contains "a mapping names one address"
    run_pt mapping gpu0 0000:44:00
    expect_exit 1
    expect_stderr_contains "no PCI device 0000:44:00.0"
    run_pt mapping gpu0
    expect_exit 2
    run_pt mapping gpu0 0b:00 --check
    expect_exit 2
    run_pt mapping '' 0b:00
    expect_exit 2
    expect_stderr_contains "NAME: the value is empty"
    run_pt mapping gpu0 ''
    expect_exit 2
    expect_stderr_contains "SEL: the value is empty"
    expect_unchanged

    TEST "a stray unindented line stays inside its section (SectionConfig): --apply, --check, again"
    use_root pve-cluster
    printf '%s\n' '' amdgpu \
        '	map id=1002:73bf,node=pve2,path=0000:41:00' \
        'stray line, ignored by Proxmox' \
        '# a comment' \
        '	map id=1002:73bf,node=pve3,path=0000:42:00' >>"$ROOT/$MAP_CFG"
    cp "$ROOT/$MAP_CFG" "$TESTDIR/orig"
    run_pt mapping amdgpu 0c:00
    expect_exit 0
    expect_stdout_contains 'note: /etc/pve/mapping/pci.cfg line 13 ("stray line, ignored by Proxmox") is ignored by Proxmox: not a property line of section amdgpu'
    run_pt mapping amdgpu 0c:00 --apply
    expect_exit 0
    diff "$TESTDIR/orig" "$ROOT/$MAP_CFG" >"$TESTDIR/changed"
    printf '%s\n' '15a16' '> 	map id=1002:73bf,iommugroup=17,node=pve1,path=0000:0c:00,subsystem-id=1da2:e438' >"$TESTDIR/want"
    check diff -u "$TESTDIR/want" "$TESTDIR/changed" >"$TESTDIR/diff" || fail "unexpected change:" "$(cat "$TESTDIR/diff")"
    run_pt mapping amdgpu --check --json
    expect_exit 0
    expect_jq '[.findings[] | .id] == ["mapping.valid"]'
    run_pt mapping amdgpu 0c:00 --apply
    expect_exit 0
    expect_stdout_contains "nothing to do"

    TEST "CRLF pci.cfg: values read without the \\r, the new line keeps CRLF"
    use_root pve-cluster
    printf 'gpu9\r\n\tmap id=10de:2204,node=pve2,path=0000:41:00\r\n' >"$ROOT/$MAP_CFG"
    run_pt mapping gpu9 0b:00 --apply
    expect_exit 0
    printf 'gpu9\r\n\tmap id=10de:2204,node=pve2,path=0000:41:00\r\n\tmap id=10de:2204,iommugroup=16,node=pve1,path=0000:0b:00,subsystem-id=1458:403b\r\n' >"$TESTDIR/want"
    check cmp -s "$TESTDIR/want" "$ROOT/$MAP_CFG" || fail "CRLF pci.cfg differs: $(od -c "$ROOT/$MAP_CFG" | head -20)"
    run_pt mapping gpu9 --check
    expect_exit 0
    run_pt mapping gpu9 0b:00 --apply
    expect_stdout_contains "nothing to do"
}
