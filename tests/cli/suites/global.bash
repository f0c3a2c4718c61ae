# Global options, exit codes and error messages shared by every subcommand.

suite_global() {
    TEST "--version prints the version"
    run_raw --version
    expect_exit 0
    expect_stdout_contains "pt 0."

    TEST "--help lists the subcommands and exit codes"
    run_raw --help
    expect_exit 0
    expect_stdout_contains "iommu-groups"
    expect_stdout_contains "3 checks failed"

    TEST "no subcommand is a usage error"
    run_raw
    expect_exit 2
    expect_stderr_contains "a subcommand is required"

    TEST "an unknown flag is a usage error with pt's prefix, never a CLI11 code"
    run_raw iommu-groups --bogus
    expect_exit 2
    expect_stderr_contains "pt: error:"

    TEST "an unknown subcommand is a usage error"
    run_raw frobnicate
    expect_exit 2

    TEST "--root that is not a directory is a usage error naming it"
    run_raw --root /nonexistent/pt-root iommu-groups
    expect_exit 2
    expect_stderr_contains "--root /nonexistent/pt-root: not a directory"

    TEST "PT_ROOT works like --root"
    use_root x570-two-gpus
    OUT=$TESTDIR/stdout
    PT_ROOT=$ROOT "$PT" iommu-groups --gpu --json >"$OUT" 2>"$TESTDIR/stderr"
    RC=$?
    expect_exit 0
    expect_jq '[.groups[].group] == [16, 17]'

    TEST "--root beats PT_ROOT"
    use_root iommu-off
    OUT=$TESTDIR/stdout
    PT_ROOT=/nonexistent "$PT" --root "$ROOT" iommu-groups --json >"$OUT" 2>"$TESTDIR/stderr"
    RC=$?
    expect_exit 3

    TEST "--root after the subcommand also beats PT_ROOT"
    use_root iommu-off
    OUT=$TESTDIR/stdout
    PT_ROOT=/nonexistent "$PT" iommu-groups --root "$ROOT" --json >"$OUT" 2>"$TESTDIR/stderr"
    RC=$?
    expect_exit 3
    expect_jq '.iommu_enabled == false'

    TEST "global options work after the subcommand too"
    use_root x570-two-gpus
    run_raw iommu-groups --root "$ROOT" --json --gpu
    expect_exit 0
    expect_jq '.groups | length == 2'

    TEST "no colour when stdout is not a terminal; -q drops explanations"
    use_root intel-shared-group
    run_pt iommu-groups --gpu
    ! grep -q $'\033' "$OUT" || fail "escape codes in piped output"
    expect_stdout_contains "Proxmox binds every non-bridge device"
    run_pt -q iommu-groups --gpu
    expect_stdout_not_contains "Proxmox binds every non-bridge device"
    expect_stdout_contains "isolated: no"

    TEST "colour on a terminal unless NO_COLOR or --no-color"
    use_root intel-shared-group
    if command -v script >/dev/null; then
        script -qec "$PT --root $ROOT iommu-groups --gpu" /dev/null >"$TESTDIR/tty" 2>&1
        grep -q $'\033\[31mno' "$TESTDIR/tty" || fail "no colour on a terminal"
        NO_COLOR=1 script -qec "$PT --root $ROOT iommu-groups --gpu" /dev/null >"$TESTDIR/tty" 2>&1
        ! grep -q $'\033' "$TESTDIR/tty" || fail "colour despite NO_COLOR"
        script -qec "$PT --root $ROOT iommu-groups --gpu --no-color" /dev/null >"$TESTDIR/tty" 2>&1
        ! grep -q $'\033' "$TESTDIR/tty" || fail "colour despite --no-color"
    fi

    TEST "JSON errors go to stderr and stdout stays empty"
    use_root x570-two-gpus
    run_pt iommu-groups --json --device 42:00.0
    expect_exit 1
    expect_stdout_empty
}
