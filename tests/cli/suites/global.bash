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
    ! check grep -q $'\033' "$OUT" || fail "escape codes in piped output"
    expect_stdout_contains "Proxmox binds every non-bridge device"
    run_pt -q iommu-groups --gpu
    expect_stdout_not_contains "Proxmox binds every non-bridge device"
    expect_stdout_contains "isolated: no"

    TEST "colour on a terminal unless NO_COLOR or --no-color"
    use_root intel-shared-group
    if require_tool script bsdutils; then
        script -qec "$PT --root $ROOT iommu-groups --gpu" /dev/null >"$TESTDIR/tty" 2>&1
        check grep -q $'\033\[31mno' "$TESTDIR/tty" || fail "no colour on a terminal"
        NO_COLOR=1 script -qec "$PT --root $ROOT iommu-groups --gpu" /dev/null >"$TESTDIR/tty" 2>&1
        ! check grep -q $'\033' "$TESTDIR/tty" || fail "colour despite NO_COLOR"
        script -qec "$PT --root $ROOT iommu-groups --gpu --no-color" /dev/null >"$TESTDIR/tty" 2>&1
        ! check grep -q $'\033' "$TESTDIR/tty" || fail "colour despite --no-color"
    fi

    TEST "--json: a missing device is one error document on stdout, the text on stderr"
    use_root x570-two-gpus
    run_pt iommu-groups --json --device 42:00.0
    expect_exit 1
    expect_stderr_contains "pt: error: no PCI device matches '42:00.0'"
    expect_jq '.error | keys_unsorted == ["code", "message", "cause", "fix"]'
    expect_jq '.error.code == 1 and (.error.message | startswith("no PCI device matches '"'"'42:00.0'"'"'"))'
    expect_jq '.error.cause == "no PCI device matches '"'"'42:00.0'"'"' under /sys/bus/pci/devices"'
    expect_jq '.error.fix | startswith("display devices on this host:\n0000:0b:00.0 ")'

    TEST "without --json a failure prints nothing on stdout"
    use_root x570-two-gpus
    run_pt iommu-groups --device 42:00.0
    expect_exit 1
    expect_stdout_empty
    expect_stderr_contains "pt: error: no PCI device matches '42:00.0'"

    TEST "--json: a malformed selector is a usage error document (exit 2)"
    use_root x570-two-gpus
    run_pt blacklist zz --json
    expect_exit 2
    expect_stderr_contains "is not a device selector"
    expect_jq '.error.code == 2 and (.error.message | contains("'"'"'zz'"'"' is not a device selector"))'
    expect_jq '.error.fix | contains("81:00.0       one function in domain 0000")'

    TEST "--json: a --root that is not a directory, before or after the subcommand"
    run_raw --root "$TESTDIR/nowhere" --json verify
    expect_exit 2
    expect_jq '.error.code == 2 and .error.cause == "not a directory"'
    expect_jq '.error.fix | startswith("give the top of a host tree")'
    run_raw --root "$TESTDIR/nowhere" undo --list --json
    expect_exit 2
    expect_jq '.error.code == 2'

    TEST "--json: CLI11's parse errors (an unknown flag) are documents too"
    use_root x570-two-gpus
    run_pt vmconf --bogus --json
    expect_exit 2
    expect_stderr_contains "pt: error: The following argument was not expected: --bogus"
    expect_jq '.error.code == 2 and (.error.message | contains("--bogus"))'
    expect_jq '.error.fix == "Run '"'"'pt --help'"'"' or '"'"'pt SUBCOMMAND --help'"'"' for usage."'
    run_pt vmconf --bogus
    expect_exit 2
    expect_stdout_empty

    TEST "--json: a refusal (undo of a file changed since pt wrote it) names cause and fix"
    use_root x570-two-gpus
    run_pt blacklist 0b:00 --apply
    expect_exit 0
    echo "# edited by hand" >>"$ROOT/etc/modprobe.d/pt-blacklist.conf"
    run_pt undo --json
    expect_exit 1
    expect_stderr_contains "was changed since pt wrote it"
    expect_jq '.error.code == 1 and (.error.cause | contains("was changed since pt wrote it"))'
    expect_jq '.error.fix | contains("restore it by hand")'
}
