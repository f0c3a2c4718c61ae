# An --apply killed with SIGKILL at a random point: every file pt touches is byte for byte its
# version before or after, never torn; the next run removes pt's temporary files and finishes
# the job; pt undo, repeated, brings back every file as it was. See tests/cli/run.
#   PT_CRASH_RUNS=N   number of kills (default 30; fuzz/README.md-style longer run: 500)
# shellcheck shell=bash disable=SC2154
# ($ROOT, $TESTDIR, $OUT and $ERR belong to tests/cli/run.)

crash_writer=(bind 81:00 --apply --no-refresh)

# state DIR: "path checksum size" for every regular file under DIR/etc, where the writer works;
# pt's temporary files are left out (they are checked on their own).
state() {
    (cd "$1" && find etc -type f ! -name '.*.pt-??????' -printf '%p\n' | sort | while read -r f; do
        printf '%s %s\n' "$f" "$(cksum <"$f" | cut -d' ' -f1,2)"
    done)
}

temp_files() {
    find "$1" -name '.*.pt-??????' -printf '%P\n'
}

# expect_each_file_old_or_new NOW BEFORE AFTER: every path of the three states holds its content
# before, or after, or is absent in the one of them where it is absent.
expect_each_file_old_or_new() {
    local path sum_now sum_before sum_after
    while read -r path; do
        sum_now=$(awk -v p="$path" '$1 == p { print $2, $3 }' "$1")
        sum_before=$(awk -v p="$path" '$1 == p { print $2, $3 }' "$2")
        sum_after=$(awk -v p="$path" '$1 == p { print $2, $3 }' "$3")
        check [ "$sum_now" = "$sum_before" ] || [ "$sum_now" = "$sum_after" ] \
            || fail "/$path is neither as before nor as planned (torn?)"
    done < <(cat "$1" "$2" "$3" | cut -d' ' -f1 | sort -u)
}

suite_crash() {
    local runs=${PT_CRASH_RUNS:-30} i delay start end duration_ms killed=0

    TEST "the writer the kills interrupt changes several files when it runs to the end"
    use_root seed-rtx3090 || return
    state "$ROOT" >"$WORK/state.before"
    start=$(date +%s%N)
    run_pt "${crash_writer[@]}"
    end=$(date +%s%N)
    expect_exit 0
    state "$ROOT" >"$WORK/state.after"
    duration_ms=$(((end - start) / 1000000 + 1))
    changed=$(diff "$WORK/state.before" "$WORK/state.after" | grep -c '^[<>]')
    check [ "$changed" -ge 2 ] || fail "the writer changed only $changed file lines; the kill test needs more"
    # The shortest of three runs: one slowed by other tests on the same cores (ctest runs suites
    # in parallel) would spread the kill points far past the end of every later run.
    for _ in 1 2; do
        use_root seed-rtx3090 || return
        start=$(date +%s%N)
        run_pt "${crash_writer[@]}"
        end=$(date +%s%N)
        ((duration_ms > (end - start) / 1000000 + 1)) && duration_ms=$(((end - start) / 1000000 + 1))
    done

    for ((i = 1; i <= runs; i++)); do
        TEST "kill $i of $runs: SIGKILL during --apply leaves every file old or new, and pt recovers"
        use_root seed-rtx3090 || return
        # A random point in the run: 0 to 1.5 times its full duration (some runs finish first).
        delay=$((RANDOM % (duration_ms * 3 / 2 + 1)))
        "$PT" --root "$ROOT" "${crash_writer[@]}" >"$TESTDIR/killed.out" 2>&1 &
        pid=$!
        sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        [ $? -eq 137 ] && killed=$((killed + 1))
        state "$ROOT" >"$TESTDIR/state.killed"
        expect_each_file_old_or_new "$TESTDIR/state.killed" "$WORK/state.before" "$WORK/state.after"

        # The next apply that has work to do, or the next undo (a run with nothing to do takes
        # no lock and touches nothing), removes pt's leftovers.
        run_pt "${crash_writer[@]}"
        expect_exit 0
        leftovers=$(temp_files "$ROOT")
        if ! grep -q "^nothing to do" "$OUT"; then
            check [ -z "$leftovers" ] || fail "temporary files survived the next apply: $leftovers"
        fi
        state "$ROOT" >"$TESTDIR/state.rerun"
        check cmp -s "$TESTDIR/state.rerun" "$WORK/state.after" \
            || fail "the re-run did not finish the job:" "$(diff "$WORK/state.after" "$TESTDIR/state.rerun")"

        # Every entry (the interrupted one too) is undone in turn, newest first.
        run_pt undo
        expect_exit 0
        leftovers=$(temp_files "$ROOT")
        check [ -z "$leftovers" ] || fail "temporary files survived pt undo: $leftovers"
        for _ in 1 2; do
            grep -q "nothing to undo" "$OUT" && break
            run_pt undo
            expect_exit 0
        done
        state "$ROOT" >"$TESTDIR/state.undone"
        check cmp -s "$TESTDIR/state.undone" "$WORK/state.before" \
            || fail "pt undo did not restore every file:" "$(diff "$WORK/state.before" "$TESTDIR/state.undone")"
    done

    TEST "the kills really interrupted runs"
    check [ "$killed" -gt 0 ] || fail "no run was killed before it finished ($runs tries)"
    printf 'crash: %d of %d runs were killed before they finished\n' "$killed" "$runs"
}
