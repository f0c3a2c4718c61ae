# pt vmconf end to end; see tests/cli/run.
# shellcheck shell=bash disable=SC2154
# ($ROOT, $OUT, $ERR, $TESTDIR and $top belong to tests/cli/run.)

VM_DIR=etc/pve/nodes/pve1/qemu-server
RULES_DIR=etc/pve/nodes/pve/qemu-server

# vm_expect_only_changed FILE.orig FILE KEY...: FILE differs from FILE.orig only in lines whose
# key is one of KEY (or in a [PENDING] header, blank line or delete: line): every other line
# stays byte for byte and in order.
vm_expect_only_changed() {
    local orig=$1 new=$2 keys
    shift 2
    keys=$(printf '%s|' "$@")
    keys=${keys%|}
    diff "$orig" "$new" | grep -E '^[<>] ' | cut -c3- \
        | grep -vE "^(${keys}|delete): |^\[PENDING\]$|^$" >"$TESTDIR/extra" || true
    check [ ! -s "$TESTDIR/extra" ] || fail "lines pt does not own changed:" "$(head -n 10 "$TESTDIR/extra")"
}

suite_vmconf() {
    TEST "--check: a correct VM passes (exit 0), text and JSON"
    use_root x570-two-gpus
    run_pt vmconf 100 --check
    expect_exit 0
    expect_stdout_contains "pass  vm.ok  VM 100: 1 hostpci entry, no problem found"
    run_pt vmconf 100 --check --json
    expect_exit 0
    expect_jq '.vms[0].vmid == 100 and .vms[0].path == "/etc/pve/qemu-server/100.conf"'
    expect_jq '.vms[0].findings == [{"id":"vm.ok","status":"pass","summary":"VM 100: 1 hostpci entry, no problem found","evidence":"/etc/pve/qemu-server/100.conf","fix":""}]'
    expect_jq '.summary == {"vms":1,"pass":1,"warn":0,"fail":0,"skip":0,"vms_by_status":{"pass":1,"warn":0,"fail":0,"skip":0}} and .ok == true'
    expect_jq '.vms[0].status == "pass"'
    expect_unchanged

    TEST "--check: every guide mistake is found, exit 3"
    use_root pve-cluster
    run_pt vmconf 101 --check
    expect_exit 3
    expect_stdout_file check-101.txt
    run_pt vmconf 101 --check --json
    expect_exit 3
    expect_jq '[.vms[0].findings[].id] | contains(["vm.uppercase-hex","vm.pcie-without-q35","vm.romfile-absolute","vm.xvga-with-ovmf","vm.hostpci-missing-device","vm.romfile-missing","vm.hostpci-not-vfio","vm.duplicate-slot","vm.device-in-two-vms","vm.args-cpu"])'
    expect_jq '.vms[0].findings[] | select(.id == "vm.romfile-absolute") | .status == "fail" and (.evidence | startswith("/etc/pve/nodes/pve1/qemu-server/101.conf:6: hostpci0: "))'
    expect_jq '.vms[0].findings[] | select(.id == "vm.args-cpu") | .status == "warn"'
    expect_jq '.ok == false'
    expect_unchanged

    TEST "--check --all: every VM of every node; not-isolated, mappings, split slot"
    use_root pve-cluster
    run_pt vmconf --check --all --json
    expect_exit 3
    expect_stdout_file check-all.json
    expect_jq '[.vms[] | "\(.vmid)@\(.node)"] == ["100@pve1","101@pve1","102@pve1","103@pve1","104@pve1","105@pve1","106@pve1","200@pve2","201@pve2","300@pve1","300@pve2"]'
    expect_jq '.vms[] | select(.vmid == 106) | [.findings[].id] == ["vm.hostpci-not-isolated","vm.hostpci-not-vfio"]'
    expect_jq '.vms[] | select(.vmid == 104) | [.findings[].id] == ["vm.mapping-no-node-entry","vm.mapping-unknown"]'
    expect_jq '.vms[] | select(.vmid == 103) | [.findings[].id] | index("vm.split-slot") != null'
    expect_jq '.vms[] | select(.vmid == 201) | .local == false and .findings[0].id == "vm.ok"'
    run_pt vmconf --check --all -q
    expect_exit 3
    expect_stdout_not_contains "fix:"
    expect_unchanged

    TEST "a VMID on no node, or on two, is an error that says so"
    use_root pve-cluster
    run_pt vmconf 999 --check
    expect_exit 1
    expect_stderr_contains "VM 999 does not exist"
    run_pt vmconf 300 0b:00
    expect_exit 1
    expect_stderr_contains "VM 300 is configured on 2 nodes"
    expect_stderr_contains "nodes/pve2/qemu-server/300.conf"
    expect_unchanged

    TEST "a VM of another node is refused (its pid file and lock are that node's); --qm works"
    use_root pve-cluster
    run_pt vmconf 200 0b:00 --apply
    expect_exit 1
    expect_stderr_contains "VM 200 is on node pve2; run pt there, or use --qm"
    expect_unchanged
    run_pt vmconf 200 0b:00
    expect_exit 1
    expect_unchanged
    run_pt vmconf 200 0b:00 --qm
    expect_exit 0
    expect_stdout_contains "qm set 200 --hostpci1 0000:0b:00,pcie=1"
    expect_stdout_contains "note: run it on node pve2"
    expect_unchanged
    run_pt vmconf 201 --check
    expect_exit 0

    TEST "add a GPU: dry run shows the diff; sections, comments and no final newline kept"
    use_root pve-cluster
    run_pt vmconf 105 0b:00.0 --ovmf
    expect_exit 0
    expect_stdout_file add-105.txt
    expect_unchanged

    TEST "add a GPU: --apply, apply again is nothing to do, undo restores every byte"
    use_root pve-cluster
    cp "$ROOT/$VM_DIR/105.conf" "$TESTDIR/105.orig"
    run_pt vmconf 105 0b:00.0 --ovmf --apply
    expect_exit 0
    expect_stdout_contains "wrote /etc/pve/nodes/pve1/qemu-server/105.conf"
    check grep -qx 'hostpci0: 0000:0b:00,pcie=1' "$ROOT/$VM_DIR/105.conf" || fail "no hostpci0 line"
    check grep -qx 'machine: q35' "$ROOT/$VM_DIR/105.conf" || fail "no machine line"
    check grep -qx 'bios: ovmf' "$ROOT/$VM_DIR/105.conf" || fail "no bios line"
    check [ -z "$(tail -c1 "$ROOT/$VM_DIR/105.conf")" ] && fail "a final newline appeared"
    vm_expect_only_changed "$TESTDIR/105.orig" "$ROOT/$VM_DIR/105.conf" hostpci0 machine bios
    check [ -f "$ROOT/var/lock/qemu-server/lock-105.conf" ] || fail "the VM lock was not taken"
    run_pt vmconf 105 0b:00.0 --ovmf --apply
    expect_exit 0
    expect_stdout_contains "nothing to do"
    run_pt undo
    expect_exit 0
    check cmp -s "$TESTDIR/105.orig" "$ROOT/$VM_DIR/105.conf" || fail "undo did not restore the file"

    TEST "a running VM gets the change in [PENDING], JSON"
    use_root pve-cluster
    run_pt vmconf 102 0b:00 --apply --json
    expect_exit 0
    expect_jq '.applied == true and .files[0].path == "/etc/pve/nodes/pve1/qemu-server/102.conf"'
    expect_jq '.notes | any(contains("VM 102 is running (pid 4242)"))'
    tail -n 3 "$ROOT/$VM_DIR/102.conf" >"$TESTDIR/got"
    printf '%s\n' '' '[PENDING]' 'hostpci0: 0000:0b:00,pcie=1' >"$TESTDIR/want"
    check diff -u "$TESTDIR/want" "$TESTDIR/got" >"$TESTDIR/diff" || fail "no [PENDING] entry:" "$(cat "$TESTDIR/diff")"
    run_pt vmconf 102 --remove 0b:00.0 --apply
    expect_exit 0
    check grep -q '^hostpci0' "$ROOT/$VM_DIR/102.conf" && fail "the pending entry was not removed"

    TEST "a stale pid file: the VM is stopped, the main section is edited"
    use_root pve-cluster
    run_pt vmconf 103 0c:00 --set-machine
    expect_exit 0
    expect_stdout_not_contains "[PENDING]"
    grep -qx '+hostpci0: 0000:0c:00,pcie=1' "$OUT" || fail "no compute-only hostpci0 line"
    expect_stdout_contains "compute-only entry (no x-vga)"
    expect_stdout_contains "-hostpci1: 0c:00.1"
    expect_stdout_contains "+machine: q35"
    expect_stdout_contains "hostpci1 is removed: hostpci0 now passes every function of 0000:0c:00"

    TEST "an explicit i440fx machine is refused without --set-machine"
    use_root pve-cluster
    run_pt vmconf 103 0c:00
    expect_exit 1
    expect_stderr_contains "VM 103 has machine: pc-i440fx-8.1"
    expect_stderr_contains "--set-machine"
    expect_unchanged

    TEST "--qm prints the qm set command instead"
    use_root pve-cluster
    run_pt vmconf 106 0b:00 --no-x-vga --romfile rtx3090.rom --rombar 0 --hide-hypervisor --qm
    expect_exit 0
    expect_stdout_contains "qm set 106 --cpu host,hidden=1 --hostpci1 0000:0b:00,pcie=1,rombar=0,romfile=rtx3090.rom"
    run_pt vmconf 104 --mapping gpu0 --qm --json
    expect_exit 0
    expect_jq '.command == null and .vmid == 104'
    expect_unchanged

    TEST "--mapping writes mapping=ID; a missing mapping is an error"
    use_root pve-cluster
    run_pt vmconf 100 0b:00 --mapping gpu0
    expect_exit 0
    expect_stdout_contains "+hostpci0: mapping=gpu0,pcie=1"
    run_pt vmconf 100 0b:00 --mapping nosuch
    expect_exit 1
    expect_stderr_contains 'no PCI mapping "nosuch"'

    TEST "usage errors exit 2"
    use_root pve-cluster
    run_pt vmconf 100 0b:00 --romfile /var/lib/vz/gpu.rom
    expect_exit 2
    expect_stderr_contains "always puts /usr/share/kvm/ in front"
    run_pt vmconf 100 0b:00 --romfile nosuch.rom
    expect_exit 1
    run_pt vmconf 100 zz:00
    expect_exit 2
    run_pt vmconf 100
    expect_exit 2
    run_pt vmconf --check
    expect_exit 2
    run_pt vmconf 100 0b:00 --check
    expect_exit 2
    run_pt vmconf 100 0b:00 --remove 0b:00
    expect_exit 2
    run_pt vmconf 100 0b:00 --qm --apply
    expect_exit 2
    run_pt vmconf 100 --rombar 2 0b:00
    expect_exit 2
    expect_unchanged

    TEST "an empty value is a usage error naming the flag, never a dropped option"
    use_root pve-cluster
    for flag in --romfile --rombar --mapping --remove; do
        run_pt vmconf 100 0b:00 "$flag" '' --apply
        expect_exit 2
        expect_stderr_contains "$flag: the value is empty"
    done
    run_pt vmconf 100 '' --apply
    expect_exit 2
    expect_stderr_contains "SEL: the value is empty"
    run_pt vmconf '' 0b:00 --apply
    expect_exit 2
    expect_stderr_contains "VMID: the value is empty"
    expect_unchanged

    TEST "--check judges each rule as qemu-server does (vmconf-rules), quoting Proxmox"
    use_root vmconf-rules
    run_pt vmconf --check --all --json
    expect_exit 3
    local igd
    for igd in "110:not compatible with q35" "111:requires VGA mode to be 'none'" \
        "112:requires rombar to be enabled" "113:not compatible with x-vga" \
        "114:only works for devices on host bus 00:02.0" "115:only one device can be assigned in legacy-igd mode"; do
        expect_jq ".vms[] | select(.vmid == ${igd%%:*}) | .status == \"fail\" and any(.findings[]; .id == \"vm.legacy-igd\" and .status == \"fail\" and (.summary | contains(\"${igd#*:}\")))"
    done
    expect_jq '.vms[] | select(.vmid == 116) | [.findings[] | select(.status == "fail" or .id == "vm.legacy-igd")] == []'
    expect_jq '.vms[] | select(.vmid == 120) | any(.findings[]; .id == "vm.mdev-multifunction" and (.summary | contains("cannot use mediated device with multifunction device")))'
    expect_jq '.vms[] | select(.vmid == 121) | [.findings[] | select(.id == "vm.hostpci-invalid") | .evidence | capture(": (?<k>hostpci[0-9]+): ").k] == ["hostpci0","hostpci1","hostpci2","hostpci3"]'
    expect_jq '.vms[] | select(.vmid == 121) | [.findings[] | select(.id == "vm.romfile-missing")] == []'
    expect_jq '.vms[] | select(.vmid == 130) | [.findings[] | select(.id == "vm.mapping-exhausted") | .summary | contains("could not find a free device for '"'"'hostpci3'"'"'")] == [true]'
    expect_jq '.vms[] | select(.vmid == 131) | any(.findings[]; .id == "vm.mapping-exhausted" and (.summary | contains("device '"'"'0000:01:00.0'"'"' assigned more than once")))'
    expect_jq '.vms[] | select(.vmid == 140) | any(.findings[]; .id == "vm.locked" and .status == "warn" and (.fix | contains("qm unlock 140")))'
    expect_jq '.vms[] | select(.vmid == 141) | any(.findings[]; .id == "vm.xvga-with-ovmf" and (.summary | startswith("VM 141 (stopped; judged as it starts")) and (.evidence | contains("[PENDING] bios: ovmf")))'
    expect_jq '.vms[] | select(.vmid == 142) | [.findings[] | select(.status == "fail") | .id] == ["vm.pcie-without-q35"] and any(.findings[]; .summary | contains("from its next full stop and start"))'
    expect_jq '.vms[] | select(.vmid == 150) | .status == "skip" and [.findings[].id] == ["vm.template"]'
    expect_jq '.vms[] | select(.vmid == 160) | [.findings[] | select(.id == "vm.split-slot")] == []'
    expect_jq '.vms[] | select(.vmid == 161) | any(.findings[]; .id == "vm.split-slot")'
    expect_jq '.vms[] | select(.vmid == 170) | [.findings[] | {id, status}] == [{"id":"vm.args-cpu","status":"pass"}] and (.findings[0].summary | contains("remove") | not)'
    expect_jq '.summary.vms == 19 and .summary.vms_by_status == {"pass":2,"warn":5,"fail":11,"skip":1}'
    expect_jq '.summary.fail == ([.vms[].findings[] | select(.status == "fail")] | length) and .summary.warn == ([.vms[].findings[] | select(.status == "warn")] | length)'
    run_pt vmconf --check --all
    expect_exit 3
    expect_stdout_contains "19 VMs: 11 fail, 5 warn, 2 pass, 1 skip; findings: 15 fail, "
    expect_unchanged

    TEST "a locked VM and a template are not edited (a template only with --force)"
    use_root vmconf-rules
    run_pt vmconf 140 01:00 --compute --apply
    expect_exit 1
    expect_stderr_contains 'VM 140 is locked (backup)'
    expect_stderr_contains 'qm unlock 140'
    run_pt vmconf 140 --cpu host --qm
    expect_exit 1
    expect_stderr_contains 'VM 140 is locked (backup)'
    run_pt vmconf 150 --remove 01:00 --apply
    expect_exit 1
    expect_stderr_contains 'VM 150 is a template'
    expect_stderr_contains '--force'
    expect_unchanged
    run_pt vmconf 150 --remove 01:00 --force
    expect_exit 0
    expect_stdout_contains '-hostpci0: 0000:01:00,pcie=1,x-vga=1'
    expect_stdout_contains 'clones made from now on inherit the change'

    TEST "a compute-only entry by default; --display, --cpu, --hide-hypervisor"
    use_root vmconf-rules
    run_pt vmconf 180 01:00 --qm
    expect_exit 0
    grep -qx 'qm set 180 --hostpci0 0000:01:00,pcie=1' "$OUT" || fail "no compute-only qm set line"
    run_pt vmconf 180 01:00 --display --qm
    expect_exit 0
    expect_stdout_contains 'qm set 180 --hostpci0 0000:01:00,pcie=1,x-vga=1'
    run_pt vmconf 180 01:00 --display --compute
    expect_exit 2
    run_pt vmconf 180 --hide-hypervisor --qm
    expect_exit 0
    expect_stdout_contains 'qm set 180 --cpu host,hidden=1'
    expect_stdout_contains 'kvm64 (no cpu: line) names itself a QEMU CPU'
    run_pt vmconf 180 --cpu x86-64-v2-AES --hide-hypervisor
    expect_exit 2
    expect_stderr_contains 'reports itself to the guest as a QEMU CPU'
    run_pt vmconf 180 --cpu host --apply
    expect_exit 0
    grep -qx 'cpu: host' "$ROOT/$RULES_DIR/180.conf" || fail "no cpu: host line"
    # A legacy-igd entry keeps i440fx, no pcie=1 and no x-vga (PCI.pm refuses them).
    run_pt vmconf 116 00:02.0 --function-only --display --qm
    expect_exit 0
    expect_stdout_contains 'nothing to do'

    TEST "[PENDING] values decide: a running VM's edit goes there, judged with them"
    use_root vmconf-rules
    run_pt vmconf 142 --cpu host --apply
    expect_exit 0
    expect_stdout_contains 'VM 142 has [PENDING] changes (machine: pc)'
    tail -n 3 "$ROOT/$RULES_DIR/142.conf" >"$TESTDIR/got"
    printf '%s\n' '[PENDING]' 'cpu: host' 'machine: pc' >"$TESTDIR/want"
    diff -u "$TESTDIR/want" "$TESTDIR/got" >"$TESTDIR/diff" || fail "no [PENDING] cpu:" "$(cat "$TESTDIR/diff")"

    vm_realworld
}

# Every published VM config of ../shared/realworld/vmconfs.yaml (when it is beside the checkout
# and python3-yaml is there): --check parses it; an edit changes only the lines pt owns; a second
# run has nothing to do; pt undo gives back every byte.
vm_realworld() {
    local file=$top/../shared/realworld/vmconfs.yaml id vmid rw conf
    if [ ! -f "$file" ] || ! command -v python3 >/dev/null || ! python3 -c 'import yaml' 2>/dev/null; then
        echo "SKIP: vmconf: realworld VM configs (../shared/realworld or python3-yaml missing)"
        return 0
    fi
    rw=$TESTDIR/rw
    mkdir -p "$rw"
    python3 - "$file" "$rw" <<'PY' >"$rw/cases"
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
for case in doc["cases"]:
    with open(f"{sys.argv[2]}/{case['id']}.conf", "w", encoding="utf-8", newline="") as out:
        out.write(case["content"])
    print(case["id"], case.get("vmid") or 100)
PY
    while read -r id vmid; do
        TEST "realworld $id"
        use_root pve-cluster
        # On this node (pt refuses to edit another node's VM), which has 0000:0b:00.
        rm -f "$ROOT"/etc/pve/nodes/*/qemu-server/*.conf "$ROOT"/var/run/qemu-server/*.pid
        conf=$ROOT/etc/pve/nodes/pve1/qemu-server/$vmid.conf
        cp "$rw/$id.conf" "$conf"
        run_pt vmconf "$vmid" --check --json
        check [ "$RC" -eq 0 ] || [ "$RC" -eq 3 ] || fail "--check exit status $RC"
        expect_jq ".vms[0].vmid == $vmid"
        check cmp -s "$rw/$id.conf" "$conf" || fail "--check changed the file"
        # A template is edited only with --force (clones inherit it).
        run_pt vmconf "$vmid" 0000:0b:00 --set-machine --force --apply
        expect_exit 0
        vm_expect_only_changed "$rw/$id.conf" "$conf" 'hostpci[0-9]+' machine
        check grep -qE '^hostpci[0-9]+: 0000:0b:00,pcie=1' "$conf" || fail "no hostpci entry for 0000:0b:00"
        run_pt vmconf "$vmid" 0000:0b:00 --set-machine --force
        expect_exit 0
        expect_stdout_contains "nothing to do"
        run_pt undo
        expect_exit 0
        check cmp -s "$rw/$id.conf" "$conf" || fail "undo did not give back every byte"
    done <"$rw/cases"
}
