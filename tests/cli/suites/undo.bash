# pt undo end to end, and the plan/apply engine that every writer shares; see tests/cli/run.
# The apply cases drive `pt blacklist` (the simplest writer: one file it owns).
# shellcheck shell=bash disable=SC2154
# ($ROOT, $OUT and $ERR belong to tests/cli/run.)

undo_conf=etc/modprobe.d/pt-blacklist.conf

suite_undo() {
    TEST "undo with an empty journal says so and exits 0"
    use_root x570-two-gpus
    run_pt undo
    expect_exit 0
    expect_stdout_contains "nothing to undo"
    expect_stderr_empty
    expect_unchanged

    TEST "undo --json with an empty journal"
    use_root x570-two-gpus
    run_pt undo --json
    expect_exit 0
    expect_jq '.undone == null'

    TEST "undo --list with an empty journal"
    use_root x570-two-gpus
    run_pt undo --list
    expect_exit 0
    expect_stdout_contains "the journal is empty"
    run_pt undo --list --json
    expect_exit 0
    expect_jq '.journal == "/var/lib/pt/journal" and .entries == []'
    expect_unchanged

    TEST "undo takes one entry id, and not with --list"
    use_root x570-two-gpus
    run_pt undo 20261204T101530Z-001 20261204T101530Z-002
    expect_exit 2
    run_pt undo --list 20261204T101530Z-001
    expect_exit 2
    expect_stderr_contains "--list lists every entry and takes no ID"
    run_pt undo --list --no-refresh
    expect_exit 2
    expect_unchanged

    TEST "a dry run prints a diff from /dev/null, the follow-up, and changes nothing"
    use_root x570-two-gpus
    run_pt blacklist 0b:00
    expect_exit 0
    expect_stdout_contains "--- /dev/null"
    expect_stdout_contains "+++ b/$undo_conf"
    expect_stdout_contains "@@ -0,0 +1,"
    expect_stdout_contains "then run: update-initramfs -u -k all"
    expect_stdout_contains "dry run: nothing was changed"
    expect_unchanged

    TEST "a dry run in JSON"
    use_root x570-two-gpus
    run_pt blacklist 0b:00 --json
    expect_exit 0
    expect_jq '.changes == true and .applied == false and .journal == null'
    expect_jq '.files[0].path == "/'"$undo_conf"'" and .files[0].action == "create"'
    expect_jq '.files[0].diff | startswith("--- /dev/null\n+++ b/'"$undo_conf"'\n@@ -0,0 +1,")'
    expect_jq '.follow_ups == ["update-initramfs -u -k all"] and (.reboot_needed | type) == "boolean"'
    expect_unchanged

    TEST "--apply under --root writes, journals, and prints the follow-ups instead of running them"
    use_root x570-two-gpus
    run_pt blacklist 0b:00 --apply
    expect_exit 0
    expect_stdout_contains "created /$undo_conf"
    expect_stdout_contains "journal: "
    expect_stdout_contains "run: update-initramfs -u -k all"
    expect_stdout_not_contains "ran: "
    check [ -f "$ROOT/$undo_conf" ] || fail "$undo_conf was not written"
    check [ "$(ls "$ROOT/var/lib/pt/journal" | wc -l)" -eq 1 ] || fail "expected one journal entry"
    check ls -a "$ROOT/etc/modprobe.d" | grep -q '\.pt-' && fail "a temporary file was left behind"

    TEST "--apply --json reports the journal and the follow-ups not run"
    use_root x570-two-gpus
    run_pt blacklist 0b:00 --apply --json
    expect_exit 0
    expect_jq '.applied == true and (.journal | test("^[0-9]{8}T[0-9]{6}Z-[0-9]{3}$"))'
    expect_jq '.follow_up_results == [{"command": "update-initramfs -u -k all", "ran": false, "exit_status": null, "not_run_reason": "offline root"}]'

    TEST "applying twice: the second plan is empty and journals nothing"
    use_root x570-two-gpus
    run_pt blacklist 0b:00 --apply
    expect_exit 0
    run_pt blacklist 0b:00 --apply
    expect_exit 0
    expect_stdout_contains "nothing to do"
    check [ "$(ls "$ROOT/var/lib/pt/journal" | wc -l)" -eq 1 ] || fail "expected one journal entry"
    run_pt blacklist 0b:00 --json
    expect_jq '.changes == false and .files == []'

    TEST "undo --list shows the entry; undo removes the created file; a second undo finds nothing"
    use_root x570-two-gpus
    run_pt blacklist 0b:00 --apply
    run_pt undo --list
    expect_exit 0
    expect_stdout_contains "applied  pt blacklist 0b:00"
    expect_stdout_contains "    create /$undo_conf"
    run_pt undo
    expect_exit 0
    expect_stdout_contains "undid "
    expect_stdout_contains "removed /$undo_conf"
    expect_stdout_contains "run: update-initramfs -u -k all"
    check [ ! -e "$ROOT/$undo_conf" ] || fail "$undo_conf is still there"
    run_pt undo
    expect_exit 0
    expect_stdout_contains "nothing to undo"
    run_pt undo --list --json
    expect_jq '.entries | length == 1'
    expect_jq '.entries[0].status == "undone" and .entries[0].undone == true'
    expect_jq '.entries[0].files == [{"path": "/'"$undo_conf"'", "action": "create"}]'

    TEST "undo restores a modified file byte for byte, with its mode"
    use_root x570-two-gpus
    mkdir -p "$ROOT/etc/modprobe.d"
    printf '# mine, no newline at end' >"$ROOT/$undo_conf"
    chmod 0640 "$ROOT/$undo_conf"
    cp -p "$ROOT/$undo_conf" "$TESTDIR/original"
    run_pt blacklist 0b:00 --apply
    expect_exit 0
    check cmp -s "$ROOT/$undo_conf" "$TESTDIR/original" && fail "the file was not changed"
    check [ "$(stat -c %a "$ROOT/$undo_conf")" = 640 ] || fail "apply changed the mode"
    run_pt undo --json
    expect_exit 0
    expect_jq '.undone.files == [{"path": "/'"$undo_conf"'", "result": "restored"}]'
    check cmp -s "$ROOT/$undo_conf" "$TESTDIR/original" || fail "not restored byte for byte"
    check [ "$(stat -c %a "$ROOT/$undo_conf")" = 640 ] || fail "undo changed the mode"

    TEST "undo refuses a file changed since pt wrote it"
    use_root x570-two-gpus
    run_pt blacklist 0b:00 --apply
    echo "# edited by hand" >>"$ROOT/$undo_conf"
    cp "$ROOT/$undo_conf" "$TESTDIR/edited"
    run_pt undo
    expect_exit 1
    expect_stderr_contains "was changed since pt wrote it"
    expect_stderr_contains "nothing was restored"
    check cmp -s "$ROOT/$undo_conf" "$TESTDIR/edited" || fail "undo touched the edited file"
    run_pt undo --list --json
    expect_jq '.entries[0].status == "applied"'

    TEST "no .bak or temporary file is left in /etc/modprobe.d after apply and undo"
    use_root x570-two-gpus
    run_pt blacklist 0b:00 --apply
    run_pt undo
    run_pt blacklist 0b:00 --apply
    check [ "$(ls -A "$ROOT/etc/modprobe.d")" = pt-blacklist.conf ] || fail "stray files: $(ls -A "$ROOT/etc/modprobe.d")"

    TEST "journal ids under SOURCE_DATE_EPOCH: the time given, then -001, -002 in order"
    use_root x570-two-gpus
    export SOURCE_DATE_EPOCH=1732262400
    run_pt blacklist 0b:00 --apply --json
    expect_jq '.journal == "20241122T080000Z-001"'
    run_pt bind 0b:00 --apply --json
    expect_jq '.journal == "20241122T080000Z-002"'
    unset SOURCE_DATE_EPOCH

    TEST "undo ID of an entry that a newer one overlaps is refused, naming the newer and its undo"
    use_root x570-two-gpus
    export SOURCE_DATE_EPOCH=1732262400
    run_pt blacklist 0b:00 --apply
    run_pt blacklist 0c:00 --apply
    unset SOURCE_DATE_EPOCH
    cp "$ROOT/$undo_conf" "$TESTDIR/second"
    run_pt undo --list --json
    expect_jq '[.entries[].id] == ["20241122T080000Z-001", "20241122T080000Z-002"]'
    run_pt undo 20241122T080000Z-001
    expect_exit 1
    expect_stderr_contains "cannot undo 20241122T080000Z-001 (pt blacklist 0b:00): the newer entry 20241122T080000Z-002 (pt blacklist 0c:00) also changed /$undo_conf"
    expect_stderr_contains "nothing was restored; undo it first: pt undo 20241122T080000Z-002, then pt undo 20241122T080000Z-001"
    check cmp -s "$ROOT/$undo_conf" "$TESTDIR/second" || fail "the refused undo changed $undo_conf"
    run_pt undo 20241122T080000Z-001 --json
    expect_exit 1
    expect_jq '.error.fix == "undo it first: pt undo 20241122T080000Z-002, then pt undo 20241122T080000Z-001"'
    run_pt undo 20241122T080000Z-002
    expect_exit 0
    expect_stdout_contains "undid 20241122T080000Z-002"
    run_pt undo 20241122T080000Z-001
    expect_exit 0
    expect_stdout_contains "removed /$undo_conf"
    check [ ! -e "$ROOT/$undo_conf" ] || fail "$undo_conf is still there"

    TEST "undo ID of an older entry that shares no file with newer ones is allowed"
    use_root x570-two-gpus
    export SOURCE_DATE_EPOCH=1732262400
    run_pt blacklist 0b:00 --apply
    run_pt bind 0b:00 --apply
    unset SOURCE_DATE_EPOCH
    cp "$ROOT/etc/modprobe.d/pt-vfio.conf" "$TESTDIR/vfio"
    run_pt undo 20241122T080000Z-001 --json
    expect_exit 0
    expect_jq '.undone.id == "20241122T080000Z-001"'
    expect_jq '.follow_up_results == [{"command": "update-initramfs -u -k all", "ran": false, "exit_status": null, "not_run_reason": "offline root"}]'
    check [ ! -e "$ROOT/$undo_conf" ] || fail "$undo_conf is still there"
    check cmp -s "$ROOT/etc/modprobe.d/pt-vfio.conf" "$TESTDIR/vfio" || fail "the bind entry's file changed"
    run_pt undo --list --json
    expect_jq '[.entries[].status] == ["undone", "applied"]'

    TEST "undo ID: an unknown id and an entry undone already are refused"
    use_root x570-two-gpus
    export SOURCE_DATE_EPOCH=1732262400
    run_pt blacklist 0b:00 --apply
    unset SOURCE_DATE_EPOCH
    run_pt undo 20990101T000000Z-001
    expect_exit 1
    expect_stderr_contains "has no entry 20990101T000000Z-001; pt undo --list shows the entries"
    run_pt undo 20241122T080000Z-001
    expect_exit 0
    run_pt undo 20241122T080000Z-001
    expect_exit 1
    expect_stderr_contains "20241122T080000Z-001 (pt blacklist 0b:00) was undone already"

    TEST "undo under --root lists the entry's follow-ups to run on that host; --no-refresh says so"
    use_root x570-two-gpus
    run_pt blacklist 0b:00 --apply
    run_pt undo
    expect_exit 0
    expect_stdout_contains "not run under --root $ROOT; the restored files take effect after these commands; on that host, run:"
    expect_stdout_contains "run: update-initramfs -u -k all"
    expect_stdout_not_contains "running: "
    run_pt blacklist 0b:00 --apply
    run_pt undo --no-refresh --json
    expect_exit 0
    expect_jq '.follow_up_results[0].command == "update-initramfs -u -k all" and .follow_up_results[0].ran == false'
}
