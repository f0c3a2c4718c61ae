# --root can never be escaped: for every writer and every path pt creates, locks or reads, a
# root whose link at that path points outside it, at a canary. After the run nothing outside the
# root exists or changed, and pt failed naming the path. See tests/cli/run.
# shellcheck shell=bash disable=SC2154
# ($ROOT, $TESTDIR, $OUT and $ERR belong to tests/cli/run.)

# plant LINK_PATH KIND: makes the root's LINK_PATH a symbolic link out of the root, at the
# canary folder $TESTDIR/outside (which holds one file, keep). KIND:
#   absolute  an absolute target outside (pt reads it as inside the root, where it is missing)
#   relative  a relative target that climbs out of the root with ".."
#   existing  a relative target at the existing file outside/keep
plant() {
    local link=$1 kind=$2 up="" dir real_root
    canary=$TESTDIR/outside
    mkdir -p "$canary"
    printf 'canary\n' >"$canary/keep"
    rm -rf "${ROOT:?}/$link"
    mkdir -p "$(dirname "$ROOT/$link")"
    # The folder the link really lands in (/sys/bus/pci/devices/X is itself a link), relative to
    # the root; one ".." per component of it, and one more to leave the root.
    real_root=$(realpath "$ROOT")
    dir=$(realpath "$(dirname "$ROOT/$link")")
    dir=${dir#"$real_root"/}
    while [ "$dir" != "." ] && [ "$dir" != "/" ]; do
        up="../$up"
        dir=$(dirname "$dir")
    done
    case $kind in
    absolute) ln -s "$canary/target" "$ROOT/$link" ;;
    relative) ln -s "${up}../outside/target" "$ROOT/$link" ;;
    existing) ln -s "${up}../outside/keep" "$ROOT/$link" ;;
    esac
    (cd "$canary" && find . -printf '%p %y %s %T@\n' | sort) >"$TESTDIR/canary.before"
}

# expect_contained LINK_PATH: pt failed (exit 1), named the path, and left the canary alone.
expect_contained() {
    (cd "$canary" && find . -printf '%p %y %s %T@\n' | sort) >"$TESTDIR/canary.after"
    check cmp -s "$TESTDIR/canary.before" "$TESTDIR/canary.after" \
        || fail "something outside the root was created or changed:" "$(diff "$TESTDIR/canary.before" "$TESTDIR/canary.after")"
    check [ "$(cat "$canary/keep")" = canary ] || fail "the canary file outside the root was written"
    expect_exit 1
    expect_stderr_contains "/$1"
}

# Each writer with the paths it writes, as "FIXTURE|PATH|SETUP|ARGS": SETUP runs pt first (an
# earlier apply whose state the writer needs), ARGS is the writer itself.
writer_cases() {
    cat <<'CASES'
seed-rtx3090|var/lib/pt/lock||blacklist 81:00 --apply
seed-rtx3090|var/lib/pt/journal||blacklist 81:00 --apply
seed-rtx3090|etc/modprobe.d/pt-blacklist.conf||blacklist 81:00 --apply
seed-rtx3090|etc/modprobe.d||blacklist 81:00 --apply
seed-rtx3090|var/lib/pt/lock||bind 81:00 --apply
seed-rtx3090|etc/modprobe.d/pt-vfio.conf||bind 81:00 --apply
seed-rtx3090|etc/modules-load.d/pt-vfio.conf||bind 81:00 --apply
seed-rtx3090|etc/modules-load.d||bind 81:00 --apply
seed-rtx3090|var/lib/pt/lock||grub --iommu-pt --apply
seed-rtx3090|etc/default/grub||grub --iommu-pt --apply
seed-rtx3090|var/lib/pt/lock||vmconf 100 81:00 --apply
seed-rtx3090|var/lock/qemu-server/lock-100.conf||vmconf 100 81:00 --apply
seed-rtx3090|etc/pve/nodes/pve/qemu-server/100.conf||vmconf 100 81:00 --apply
lxc-nvidia|var/lib/pt/lock||lxc 200 81:00 --apply
lxc-nvidia|run/lock/lxc/pve-config-200.lock||lxc 200 81:00 --apply
lxc-nvidia|etc/pve/nodes/pve/lxc/200.conf||lxc 200 81:00 --apply
pve-cluster|var/lib/pt/lock||mapping newgpu 0b:00 --apply
pve-cluster|etc/pve/mapping/pci.cfg||mapping newgpu 0b:00 --apply
rom-lab|var/lib/pt/lock||rom-dump 01:00.0 -q --install rtx3070 --apply
rom-lab|usr/share/kvm/rtx3070.rom||rom-dump 01:00.0 -q --install rtx3070 --apply
identical-gpus|sys/bus/pci/devices/0000:02:00.0/driver_override||bind 02:00 --now --apply
identical-gpus|var/lib/pt/lock|bind 02:00 --apply|unbind 02:00 --apply
seed-rtx3090|var/lib/pt/lock|grub --iommu-pt --apply|undo
seed-rtx3090|etc/default/grub|grub --iommu-pt --apply|undo
CASES
}

suite_containment() {
    local fixture link setup args kind
    while IFS='|' read -r fixture link setup args; do
        for kind in absolute relative existing; do
            TEST "$args: /$link as a link out of the root ($kind) is refused, nothing outside changes"
            use_root "$fixture" || continue
            if [ -n "$setup" ]; then
                # shellcheck disable=SC2086
                run_pt $setup
                expect_exit 0
            fi
            plant "$link" "$kind"
            # shellcheck disable=SC2086
            run_pt $args
            expect_contained "$link"
        done
    done < <(writer_cases)

    TEST "a writer's refusal names the link and its target, and says how to fix it"
    use_root seed-rtx3090
    plant var/lib/pt/lock relative
    run_pt blacklist 81:00 --apply
    expect_exit 1
    expect_stderr_contains "var/lib/pt/lock: it is a symbolic link to \"../../../../outside/target\""
    expect_stderr_contains "Fix: remove the link"

    TEST "a dangling /etc/modules link out of the root is never read outside it"
    use_root seed-rtx3090
    plant etc/modules relative
    # Read outside, these VFIO lines would make pt plan to move them out of /etc/modules.
    printf 'outside-module\nvfio\nvfio_pci\n' >"$canary/target"
    (cd "$canary" && find . -printf '%p %y %s %T@\n' | sort) >"$TESTDIR/canary.before"
    run_pt bind 81:00
    expect_exit 0
    expect_stdout_not_contains "outside-module"
    expect_stdout_not_contains "/etc/modules:"
    run_pt bind 81:00 --apply
    expect_exit 0
    expect_stderr_not_contains "changed since the plan was made"
    (cd "$canary" && find . -printf '%p %y %s %T@\n' | sort) >"$TESTDIR/canary.after"
    check cmp -s "$TESTDIR/canary.before" "$TESTDIR/canary.after" \
        || fail "something outside the root was created or changed:" "$(diff "$TESTDIR/canary.before" "$TESTDIR/canary.after")"
    check [ -L "$ROOT/etc/modules" ] || fail "the /etc/modules link was replaced"

    TEST "a link inside the root is still written at its target, and stays a link"
    use_root seed-rtx3090
    mv "$ROOT/etc/default/grub" "$ROOT/etc/default/grub.real"
    ln -s grub.real "$ROOT/etc/default/grub"
    run_pt grub --iommu-pt --apply
    expect_exit 0
    check [ -L "$ROOT/etc/default/grub" ] || fail "/etc/default/grub is no longer a link"
    check grep -q "iommu=pt" "$ROOT/etc/default/grub.real" || fail "the link's target was not edited"

    TEST "a FIFO where a VM config belongs is refused at once, never waited on"
    use_root seed-rtx3090
    rm "$ROOT/etc/pve/nodes/pve/qemu-server/100.conf"
    mkfifo "$ROOT/etc/pve/nodes/pve/qemu-server/100.conf"
    OUT=$TESTDIR/stdout ERR=$TESTDIR/stderr
    timeout 20 "$PT" --root "$ROOT" vmconf 100 81:00 >"$OUT" 2>"$ERR"
    RC=$?
    check [ "$RC" -ne 124 ] || fail "pt blocked on the FIFO"
    expect_exit 1
    expect_stderr_contains "100.conf: it is a FIFO, where pt expects a regular file"

    TEST "a FIFO where pt writes a file is refused, never written through"
    use_root seed-rtx3090
    mkdir -p "$ROOT/etc/modprobe.d"
    mkfifo "$ROOT/etc/modprobe.d/pt-blacklist.conf"
    OUT=$TESTDIR/stdout ERR=$TESTDIR/stderr
    timeout 20 "$PT" --root "$ROOT" blacklist 81:00 --apply >"$OUT" 2>"$ERR"
    RC=$?
    check [ "$RC" -ne 124 ] || fail "pt blocked on the FIFO"
    expect_exit 1
    expect_stderr_contains "pt-blacklist.conf: it is a FIFO"
    check [ -p "$ROOT/etc/modprobe.d/pt-blacklist.conf" ] || fail "the FIFO was replaced"

    TEST "a directory where a config file belongs is refused with the reason"
    use_root seed-rtx3090
    rm "$ROOT/etc/default/grub"
    mkdir "$ROOT/etc/default/grub"
    run_pt grub --iommu-pt
    expect_exit 1
    expect_stderr_contains "etc/default/grub: it is a directory, where pt expects a regular file"

    TEST "a file over the read limit is refused with its size, and nothing is planned"
    use_root seed-rtx3090
    {
        cat "$ROOT/etc/default/grub"
        head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' '#'
        printf '\n'
    } >"$TESTDIR/grub.big"
    mv "$TESTDIR/grub.big" "$ROOT/etc/default/grub"
    run_pt grub --iommu-pt --apply
    expect_exit 1
    expect_stderr_contains "etc/default/grub is $(stat -c %s "$ROOT/etc/default/grub") bytes and pt reads at most 16777216 bytes"
    check [ ! -d "$ROOT/var/lib/pt/journal" ] || fail "a journal entry was written for a refused plan"

    TEST "temporary files an interrupted pt left are removed by the next apply, and it says so"
    use_root seed-rtx3090
    mkdir -p "$ROOT/etc/modprobe.d"
    printf 'half\n' >"$ROOT/etc/modprobe.d/.pt-blacklist.conf.pt-a1b2c3"
    printf 'not ours\n' >"$ROOT/etc/modprobe.d/.pt-blacklist.conf.pt-A1B2C3"
    printf 'not ours\n' >"$ROOT/etc/modprobe.d/.keep.pt-a1b2c"
    run_pt blacklist 81:00 --apply
    expect_exit 0
    expect_stdout_contains "recovered: removed /etc/modprobe.d/.pt-blacklist.conf.pt-a1b2c3, a temporary file left by an interrupted pt"
    check [ ! -e "$ROOT/etc/modprobe.d/.pt-blacklist.conf.pt-a1b2c3" ] || fail "the leftover is still there"
    check [ -e "$ROOT/etc/modprobe.d/.pt-blacklist.conf.pt-A1B2C3" ] || fail "a file outside pt's pattern was removed"
    check [ -e "$ROOT/etc/modprobe.d/.keep.pt-a1b2c" ] || fail "a file outside pt's pattern was removed"

    TEST "leftovers in a folder an earlier apply wrote are removed by pt undo too (JSON)"
    use_root seed-rtx3090
    run_pt blacklist 81:00 --apply
    expect_exit 0
    printf 'half\n' >"$ROOT/etc/modprobe.d/.pt-blacklist.conf.pt-zz9zz9"
    run_pt undo --json
    expect_exit 0
    expect_jq '.recovered == ["removed /etc/modprobe.d/.pt-blacklist.conf.pt-zz9zz9, a temporary file left by an interrupted pt"]'
    check [ ! -e "$ROOT/etc/modprobe.d/.pt-blacklist.conf.pt-zz9zz9" ] || fail "the leftover is still there"
    check [ ! -e "$ROOT/etc/modprobe.d/pt-blacklist.conf" ] || fail "undo did not remove the created file"

    TEST "a journal entry left \"applying\" is reported by the next apply, marked, and undo still works"
    use_root seed-rtx3090
    run_pt blacklist 81:00 --apply
    expect_exit 0
    manifest=$(find "$ROOT/var/lib/pt/journal" -name manifest.json | head -n 1)
    id=$(basename "$(dirname "$manifest")")
    sed -i 's/"status": "applied"/"status": "applying"/' "$manifest"
    run_pt vmconf 100 81:00 --apply
    expect_exit 0
    expect_stdout_contains "recovered: journal entry $id (pt blacklist 81:00)"
    expect_stdout_contains "was interrupted before it finished"
    check jq -e '.status == "failed" and (.error | startswith("interrupted"))' "$manifest" >/dev/null \
        || fail "the interrupted entry was not marked failed"
    run_pt undo
    expect_exit 0
    run_pt undo
    expect_exit 0
    expect_stdout_contains "undid $id"
    check [ ! -e "$ROOT/etc/modprobe.d/pt-blacklist.conf" ] || fail "undo of the interrupted entry did not remove its file"
}
