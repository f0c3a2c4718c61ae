# Runs pt over every published IOMMU listing in ../shared/realworld (when the shared folder is
# beside the checkout): each listing becomes a root through pt-mkroot, and pt must list it
# without crashing, with valid JSON, and with the same group membership as the listing.

realworld_file() {
    local f=$top/../shared/realworld/iommu-groups.yaml
    [ -f "$f" ] && echo "$f"
}

suite_realworld_probe() {
    [ -n "$(realworld_file)" ] || { echo "../shared/realworld is not beside the checkout"; return; }
    [ -n "${PT_MKROOT:-}" ] || echo "PT_MKROOT is not set"
}

suite_realworld() {
    local file ids id
    file=$(realworld_file)
    ids=$(grep -E '^- id:' "$file" | awk '{print $3}')
    for id in $ids; do
        TEST "realworld $id"
        ROOT=$TESTDIR/root
        if ! "$PT_MKROOT" --ids "$top/tests/fixtures/pci.ids" --case "$id" "$file" "$ROOT" >"$TESTDIR/mkroot" 2>&1; then
            fail "pt-mkroot could not build it: $(cat "$TESTDIR/mkroot")"
            continue
        fi
        run_pt iommu-groups --json
        check [ "$RC" -eq 0 ] || [ "$RC" -eq 3 ] || fail "exit status $RC"
        expect_jq '.groups | type == "array"'
        # Same groups and members as the listing (group "*" means no IOMMU).
        sed -n "/^- id: $id\$/,/^- id: /p" "$file" \
            | awk '/^  - group:/ {g=$3} /^    - address:/ {a=$3; gsub("\047", "", a); if (g != "\047*\047") print g, a}' \
            | sed -E 's/ ([0-9a-f]{2}:)/ 0000:\1/' | sort >"$TESTDIR/want"
        jq -r '.groups[] | .group as $g | .devices[] | "\($g) \(.address)"' "$OUT" | sort >"$TESTDIR/got"
        check diff -u "$TESTDIR/want" "$TESTDIR/got" >"$TESTDIR/diff" \
            || fail "groups differ from the listing:" "$(head -n 20 "$TESTDIR/diff")"
        run_pt iommu-groups --gpu
        check [ "$RC" -le 3 ] || fail "--gpu exit status $RC"
    done
}
