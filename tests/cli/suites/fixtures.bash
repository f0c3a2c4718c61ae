# The fixture roots are what tests/fixtures/generate makes, and real libpci (lspci's sysfs
# backend) reads them the same way pt does.

suite_fixtures_probe() {
    [ -n "${PT_MKROOT:-}" ] || echo "PT_MKROOT is not set"
}

suite_fixtures() {
    TEST "committed roots match tests/fixtures/generate"
    OUT=$TESTDIR/stdout
    PT_MKROOT=$PT_MKROOT bash "$top/tests/fixtures/generate" --check >"$OUT" 2>&1
    RC=$?
    expect_exit 0

    TEST "fixture roots use relative links only"
    OUT=$TESTDIR/stdout
    find "$top/tests/fixtures/roots" "$top/examples" -type l -lname '/*' >"$OUT"
    expect_stdout_empty

    for dir in "$top"/tests/fixtures/roots/*/; do
        name=$(basename "$dir")
        TEST "$name: pt and lspci agree on every device's IDs and class"
        if require_tool lspci pciutils; then
            use_root "$name"
            run_pt iommu-groups --json
            jq -r '[.groups[].devices[], .ungrouped[]] | .[] | "\(.address) \(.class[0:4]) \(.vendor):\(.device)"' \
                "$OUT" | sort >"$TESTDIR/pt.txt"
            lspci -D -n -A linux-sysfs -O "sysfs.path=$ROOT/sys/bus/pci" 2>/dev/null \
                | awk '{sub(":$", "", $2); print $1, $2, $3}' | sort >"$TESTDIR/lspci.txt"
            check [ -s "$TESTDIR/lspci.txt" ] || fail "lspci printed nothing"
            check diff -u "$TESTDIR/lspci.txt" "$TESTDIR/pt.txt" >"$TESTDIR/diff" \
                || fail "pt and lspci differ:" "$(head -n 20 "$TESTDIR/diff")"
        fi
    done
}
