# The README cannot drift from pt: its walk-through blocks are exactly what examples/walkthrough
# prints, the "after reboot" fixture holds the files pt really writes in the walk-through's steps,
# and every jq recipe runs against real output.
# shellcheck shell=bash disable=SC2016,SC2030,SC2031,SC2034,SC2154,SC2317
# ($top, $PT, $ROOT, $OUT and $ERR belong to tests/cli/run; single quotes hold code for jq; the
# pt function of the recipe test is called only from the eval'd recipes.)

# readme_markers FILE: the block names of FILE's `<!-- walkthrough: NAME -->` lines, in order.
readme_markers() {
    sed -n 's/^<!-- walkthrough: \([a-z0-9-]*\) -->$/\1/p' "$1"
}

# readme_recipes: the command lines of the README's jq recipe block (the ```sh fence after the
# "JSON and jq recipes" heading), comments and blank lines left out, continuations joined.
readme_recipes() {
    awk '
        /^## JSON and jq recipes/ { section = 1; next }
        /^## / { section = 0 }
        section && /^```sh$/ { fence = 1; next }
        section && fence && /^```$/ { exit }
        section && fence && !/^#/ && NF {
            if (sub(/\\$/, "")) { held = held $0; next }
            print held $0
            held = ""
        }' "$top/README.md"
}

# readme_prose_after_blocks: for each walk-through block, "NAME<TAB>WARNED<TAB>PROSE": the block's
# "N warned" count (empty when it has none) and the prose that follows it up to the next block,
# joined on one line.
readme_prose_after_blocks() {
    awk '
        function flush() { if (name != "") print name "\t" warned "\t" prose; name = "" }
        /^<!-- walkthrough: / { flush(); name = $3; warned = ""; prose = ""; inblock = 0; seen = 0; next }
        name != "" && /^```/ { if (!seen) { inblock = 1; seen = 1 } else if (inblock) inblock = 0; next }
        name != "" && inblock && / passed, [0-9]+ warned, / { w = $0; sub(/.* passed, /, "", w); sub(/ warned.*/, "", w); warned = w; next }
        name != "" && !inblock && seen { prose = prose " " $0 }
        /^## / && name != "" && seen && !inblock { flush() }
        END { flush() }' "$top/README.md"
}

# readme_count WORD: the number a word of prose names ("no" 0, "one" 1, ... or digits).
readme_count() {
    case $1 in
    no) echo 0 ;; one | a) echo 1 ;; two) echo 2 ;; three) echo 3 ;; four) echo 4 ;; five) echo 5 ;;
    *) echo "$1" ;;
    esac
}

suite_readme() {
    local name

    TEST "README walk-through blocks equal what examples/walkthrough prints"
    cp "$top/README.md" "$TESTDIR/README.md"
    OUT=$TESTDIR/stdout
    ERR=$TESTDIR/stderr
    PT=$PT PT_FIXTURES=$FIXTURES bash "$top/examples/walkthrough" --update "$TESTDIR/README.md" \
        >"$OUT" 2>"$ERR"
    RC=$?
    expect_exit 0
    check diff -u "$top/README.md" "$TESTDIR/README.md" >"$TESTDIR/diff" \
        || fail "README.md differs from examples/walkthrough (run: PT=build/cmd/pt examples/walkthrough --update README.md, review the diff):" \
            "$(head -n 60 "$TESTDIR/diff")"

    # Prose that contradicts the block above it ("The one warning is about..." under "0 warned").
    TEST "README prose after a verify block names as many warnings as the block shows"
    OUT=$TESTDIR/stdout
    readme_prose_after_blocks >"$TESTDIR/prose"
    check grep -qP '\t[0-9]+\t' "$TESTDIR/prose" || fail "found no walk-through block with an 'N warned' line"
    local warned prose said
    while IFS=$'\t' read -r name warned prose; do
        [ -n "$warned" ] || continue
        for said in $(printf '%s\n' "$prose" | grep -oiP '\b(the )?\K(no|one|two|three|four|five|[0-9]+) warnings?\b' | awk '{print tolower($1)}'); do
            check [ "$(readme_count "$said")" = "$warned" ] \
                || fail "the prose after block $name speaks of '$said' warning(s), the block shows $warned warned"
        done
    done <"$TESTDIR/prose"

    TEST "README names the bootloader that the walk-through's pt grub shows"
    OUT=$TESTDIR/stdout
    local shown described
    shown=$(awk '/^<!-- walkthrough: grub -->/ { on = 1 } on && /^Bootloader:/ { sub(/^Bootloader: */, ""); print; exit }' "$top/README.md")
    described=$(awk '/^## Walk-through/ { on = 1; next } on && /^<!-- walkthrough:/ { exit } on' "$top/README.md" \
        | tr '\n' ' ' | grep -oP 'booted\s+by\s+\K(GRUB|systemd-boot|proxmox-boot-tool)' | head -n 1)
    check [ -n "$shown" ] || fail "the grub block has no Bootloader: line"
    check [ -n "$described" ] || fail "the walk-through's host description does not say 'booted by BOOTLOADER'"
    check grep -qF -- "$described" <<<"$shown" \
        || fail "the walk-through says the host is booted by $described; pt grub shows: $shown"

    TEST "README shows every walk-through block once, in the script's order"
    OUT=$TESTDIR/stdout
    readme_markers "$top/README.md" >"$TESTDIR/readme.names"
    PT=$PT bash "$top/examples/walkthrough" --list >"$TESTDIR/script.names" 2>"$TESTDIR/stderr"
    check diff -u "$TESTDIR/script.names" "$TESTDIR/readme.names" >"$TESTDIR/diff" \
        || fail "walk-through markers differ from examples/walkthrough --list:" "$(cat "$TESTDIR/diff")"

    TEST "a single block prints alone, an unknown one is refused"
    OUT=$TESTDIR/stdout
    ERR=$TESTDIR/stderr
    PT=$PT PT_FIXTURES=$FIXTURES bash "$top/examples/walkthrough" vfio-ids >"$OUT" 2>"$ERR"
    RC=$?
    expect_exit 0
    check [ "$(cat "$OUT")" = "$(printf '$ pt --root copy iommu-groups --device 81:00 --vfio-ids\n10de:2204,10de:1aef')" ] \
        || fail "vfio-ids block is not the command and the IDs"
    PT=$PT bash "$top/examples/walkthrough" no-such-block >"$OUT" 2>"$ERR"
    RC=$?
    expect_exit 2
    expect_stderr_contains "no block named no-such-block"

    # The "after reboot" host must be the "before" host plus exactly what pt wrote: the same
    # steps as the walk-through, on a copy, then every file pt touched compared byte for byte.
    TEST "seed-rtx3090-after holds the files pt writes on seed-rtx3090"
    use_root seed-rtx3090 || return
    run_pt blacklist 81:00 --apply
    expect_exit 0
    run_pt bind 81:00 --apply
    expect_exit 0
    for name in etc/modprobe.d/pt-blacklist.conf etc/modprobe.d/pt-vfio.conf \
        etc/initramfs-tools/modules etc/modules; do
        check cmp -s "$ROOT/$name" "$FIXTURES/seed-rtx3090-after/$name" \
            || fail "/$name differs between the applied steps and seed-rtx3090-after"
    done
    (cd "$ROOT/etc" && find . -type f | sort) >"$TESTDIR/applied.etc"
    (cd "$FIXTURES/seed-rtx3090-after/etc" && find . -type f | sort) >"$TESTDIR/after.etc"
    check diff -u "$TESTDIR/applied.etc" "$TESTDIR/after.etc" >"$TESTDIR/diff" \
        || fail "the files under /etc differ:" "$(cat "$TESTDIR/diff")"

    TEST "before: the 3090 is isolated but held by nouveau; after: viable on vfio-pci"
    use_root seed-rtx3090 || return
    run_pt iommu-groups --device 81:00 --json
    expect_exit 0
    expect_jq '.groups[0].isolated == true and .groups[0].viable == false'
    expect_jq '[.groups[0].devices[].driver] == ["nouveau", "snd_hda_intel"]'
    use_root seed-rtx3090-after || return
    run_pt iommu-groups --device 81:00 --json
    expect_exit 0
    expect_jq '.groups[0].isolated == true and .groups[0].viable == true'
    expect_jq '[.groups[0].devices[].driver] == ["vfio-pci", "vfio-pci"]'

    # Every recipe line runs with `pt` meaning the binary over a root where all of them have
    # something to read: the after host with VM 100 configured and a dumped ROM as gpu.rom.
    TEST "README jq recipes run against real output"
    use_root seed-rtx3090-after || return
    touch -d @1732263000 "$ROOT"/boot/initrd.img-*
    run_pt vmconf 100 81:00 --apply
    expect_exit 0
    run_pt rom-dump 81:00 -o "$TESTDIR/gpu.rom"
    expect_exit 0
    readme_recipes >"$TESTDIR/recipes"
    check [ "$(grep -c '| jq' "$TESTDIR/recipes")" -ge 10 ] || fail "found fewer than 10 jq recipes in README.md"
    local line n=0
    while IFS= read -r line; do
        n=$((n + 1))
        OUT=$TESTDIR/recipe$n.out
        ERR=$TESTDIR/recipe$n.err
        (
            cd "$TESTDIR" || exit 1
            pt() {
                case " $* " in
                *" --root "*) "$PT" "$@" ;;
                *) "$PT" --root "$ROOT" "$@" ;;
                esac
            }
            set -o pipefail
            eval "$line"
        ) >"$OUT" 2>"$ERR"
        RC=$?
        check [ "$RC" -eq 0 ] || fail "recipe exits $RC: $line"
        check [ ! -s "$ERR" ] || fail "recipe writes to stderr: $line"
    done <"$TESTDIR/recipes"
    OUT=$TESTDIR/recipe2.out
    expect_stdout_contains '{"group":31,"subject":"0000:81:00.0","isolated":true,"viable":true,"foreign":[]}'
}
