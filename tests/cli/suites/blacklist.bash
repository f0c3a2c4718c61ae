# pt blacklist end to end; see tests/cli/run.
# shellcheck shell=bash disable=SC2154
# ($ROOT, $OUT, $ERR and $TESTDIR belong to tests/cli/run.)

BL_CONF=etc/modprobe.d/pt-blacklist.conf

# bl_root NAME: a copy of fixture root NAME with an /etc/modprobe.d folder (fixture roots keep no
# empty folders, a Debian host always has one).
bl_root() {
    use_root "$1" || return 1
    mkdir -p "$ROOT/etc/modprobe.d"
    (cd "$ROOT" && find . -printf '%p %y %l %s\n' | sort >"$TESTDIR/tree.before")
}

# bl_expect_conf LINE...: pt's file holds exactly these commands (comments and blanks aside).
bl_expect_conf() {
    check [ -f "$ROOT/$BL_CONF" ] || { fail "$BL_CONF was not written"; return 1; }
    printf '%s\n' "$@" >"$TESTDIR/want"
    grep -vE '^(#|$)' "$ROOT/$BL_CONF" >"$TESTDIR/got"
    check diff -u "$TESTDIR/want" "$TESTDIR/got" >"$TESTDIR/diff" || fail "$BL_CONF differs:" "$(cat "$TESTDIR/diff")"
}

# bl_snapshot: remember every file under /etc/modprobe.d except pt's, to prove they stay as they are.
bl_snapshot() {
    (cd "$ROOT/etc/modprobe.d" && find . -type f ! -name pt-blacklist.conf -exec sha256sum {} + | sort) >"$TESTDIR/others.before"
}

bl_expect_others_unchanged() {
    (cd "$ROOT/etc/modprobe.d" && find . -type f ! -name pt-blacklist.conf -exec sha256sum {} + | sort) >"$TESTDIR/others.after"
    check cmp -s "$TESTDIR/others.before" "$TESTDIR/others.after" || fail "a modprobe.d file pt does not own changed"
}

suite_blacklist() {
    TEST "x570: dry run shows the diff of pt's file and changes nothing"
    bl_root x570-two-gpus
    run_pt blacklist
    expect_exit 0
    expect_stdout_contains "# create /etc/modprobe.d/pt-blacklist.conf (mode 0644): keep nouveau, nvidia, nvidia_drm, nvidia_modeset, nvidiafb off 0000:0b:00.0"
    expect_stdout_contains "+++ b/etc/modprobe.d/pt-blacklist.conf"
    expect_stdout_contains "+blacklist nouveau"
    expect_stdout_contains "+blacklist nvidiafb"
    expect_stdout_not_contains "amdgpu"
    expect_stdout_contains "then run: update-initramfs -u -k all"
    expect_stdout_contains "note: next boot: 0000:0b:00.0 -> no driver (nothing gives it to vfio-pci; nouveau blacklisted in /etc/modprobe.d/pt-blacklist.conf:7; nvidia blacklisted in /etc/modprobe.d/pt-blacklist.conf:8)"
    expect_stdout_contains "dry run: nothing was changed"
    expect_stderr_empty
    expect_unchanged

    TEST "x570: --apply writes exactly pt's file"
    bl_root x570-two-gpus
    run_pt blacklist --apply
    expect_exit 0
    expect_stdout_contains "created /etc/modprobe.d/pt-blacklist.conf"
    cat >"$TESTDIR/want" <<'EOF'
# Written by pt blacklist. pt owns this whole file and rewrites it; edit it only through pt.
# Remove it with: pt blacklist --remove --apply
# blacklist M: udev does not load M for a device (modprobe M still works).
# install M /bin/false: M never loads. softdep M pre: vfio-pci: vfio-pci loads first.

# NVIDIA (10de)
blacklist nouveau
blacklist nvidia
blacklist nvidia_drm
blacklist nvidia_modeset
blacklist nvidiafb
EOF
    check cmp -s "$TESTDIR/want" "$ROOT/$BL_CONF" || fail "pt's file differs:" "$(diff -u "$TESTDIR/want" "$ROOT/$BL_CONF")"
    check [ "$(stat -c %a "$ROOT/$BL_CONF")" = 644 ] || fail "pt's file is not mode 0644"

    TEST "x570: the follow-up is printed, not run, under --root"
    bl_root x570-two-gpus
    run_pt blacklist --apply
    expect_exit 0
    expect_stdout_contains "not run under --root"
    expect_stdout_contains "run: update-initramfs -u -k all"
    expect_stdout_not_contains "ran: "
    expect_stdout_contains "reboot needed"

    TEST "x570: a second --apply has nothing to do"
    bl_root x570-two-gpus
    run_pt blacklist --apply
    cp "$ROOT/$BL_CONF" "$TESTDIR/first"
    run_pt blacklist --apply
    expect_exit 0
    expect_stdout_contains "nothing to do"
    expect_stdout_not_contains "update-initramfs"
    check cmp -s "$TESTDIR/first" "$ROOT/$BL_CONF" || fail "the second run changed pt's file"
    run_pt blacklist --json
    expect_exit 0
    expect_jq '.changes == false and .files == [] and .follow_ups == [] and .reboot_needed == false'

    TEST "x570: --remove takes pt's file out; again, nothing to do"
    bl_root x570-two-gpus
    printf 'options vfio-pci ids=10de:2204,10de:1aef\n' >"$ROOT/etc/modprobe.d/vfio.conf"
    bl_snapshot
    run_pt blacklist --apply
    run_pt blacklist --remove
    expect_exit 0
    expect_stdout_contains "# remove /etc/modprobe.d/pt-blacklist.conf"
    expect_stdout_contains "-blacklist nouveau"
    check [ -f "$ROOT/$BL_CONF" ] || fail "the dry run removed pt's file"
    run_pt blacklist --remove --apply
    expect_exit 0
    expect_stdout_contains "removed /etc/modprobe.d/pt-blacklist.conf"
    check [ ! -e "$ROOT/$BL_CONF" ] || fail "pt's file is still there"
    bl_expect_others_unchanged
    run_pt blacklist --remove --apply
    expect_exit 0
    expect_stdout_contains "nothing to do"

    TEST "x570: --hard adds install /bin/false and says why"
    bl_root x570-two-gpus
    run_pt blacklist --hard --apply
    expect_exit 0
    expect_stdout_contains "blacklist only stops loading by device alias"
    bl_expect_conf "blacklist nouveau" "install nouveau /bin/false" \
        "blacklist nvidia" "install nvidia /bin/false" \
        "blacklist nvidia_drm" "install nvidia_drm /bin/false" \
        "blacklist nvidia_modeset" "install nvidia_modeset /bin/false" \
        "blacklist nvidiafb" "install nvidiafb /bin/false"
    run_pt blacklist --hard --apply
    expect_stdout_contains "nothing to do"

    TEST "x570: --softdep writes softdep lines"
    bl_root x570-two-gpus
    run_pt blacklist --softdep --apply
    expect_exit 0
    bl_expect_conf "softdep nouveau pre: vfio-pci" "softdep nvidia pre: vfio-pci" "softdep nvidiafb pre: vfio-pci"

    TEST "identical-gpus: the host needs nvidia, so softdep instead of blacklist"
    bl_root identical-gpus
    run_pt blacklist --apply
    expect_exit 0
    expect_stdout_contains "the host keeps NVIDIA GPU 0000:01:00.0 [10de:2504], driver nvidia, boot VGA"
    expect_stdout_contains "not blacklisting them"
    bl_expect_conf "softdep nouveau pre: vfio-pci" "softdep nvidia pre: vfio-pci" "softdep nvidiafb pre: vfio-pci"
    expect_stdout_contains "note: next boot: 0000:02:00.0 -> nouveau or nvidia, its host driver (nothing gives it to vfio-pci)"
    check grep -q '^blacklist' "$ROOT/$BL_CONF" && fail "pt blacklisted a driver the host needs"

    TEST "identical-gpus: --hard is ignored for a driver the host needs"
    bl_root identical-gpus
    run_pt blacklist --hard
    expect_exit 0
    expect_stdout_contains "--hard ignored for NVIDIA"
    expect_stdout_not_contains "+install"

    TEST "x570: a module blacklisted elsewhere is reported, not repeated"
    bl_root x570-two-gpus
    printf 'blacklist radeon\nblacklist nouveau\nblacklist nvidia' >"$ROOT/etc/modprobe.d/blacklist.conf"
    bl_snapshot
    run_pt blacklist --apply
    expect_exit 0
    expect_stdout_contains "already in modprobe.d, not repeated: blacklist nouveau (/etc/modprobe.d/blacklist.conf line 2); blacklist nvidia (/etc/modprobe.d/blacklist.conf line 3)"
    bl_expect_conf "blacklist nvidia_drm" "blacklist nvidia_modeset" "blacklist nvidiafb"
    bl_expect_others_unchanged

    TEST "x570: everything already blacklisted elsewhere: nothing to do"
    bl_root x570-two-gpus
    printf 'blacklist nouveau\nblacklist nvidia\nblacklist nvidia-drm\nblacklist nvidia-modeset\nblacklist nvidiafb\n' >"$ROOT/etc/modprobe.d/nvidia.conf"
    run_pt blacklist --apply
    expect_exit 0
    expect_stdout_contains "nothing to do"
    check [ ! -e "$ROOT/$BL_CONF" ] || fail "pt wrote its file anyway"

    TEST "x570: JSON of the plan"
    bl_root x570-two-gpus
    run_pt blacklist --json
    expect_exit 0
    expect_jq '.title == "pt blacklist" and .changes == true and .applied == false and .journal == null'
    expect_jq '.files | length == 1'
    expect_jq '.files[0] | .path == "/etc/modprobe.d/pt-blacklist.conf" and .action == "create" and .mode == "0644"'
    expect_jq '.files[0].diff | contains("+blacklist nvidia_modeset\n")'
    expect_jq '.writes == [] and .follow_ups == ["update-initramfs -u -k all"] and .reboot_needed == true'
    expect_stderr_empty
    expect_unchanged

    TEST "x570: JSON with --apply reports the follow-up as not run"
    bl_root x570-two-gpus
    run_pt blacklist 0b:00 --apply --json
    expect_exit 0
    expect_jq '.title == "pt blacklist 0b:00" and .applied == true and (.journal | type) == "string"'
    expect_jq '.follow_up_results[0] | .command == "update-initramfs -u -k all" and .ran == false and .not_run_reason == "offline root"'

    TEST "intel-shared-group: the non-boot-VGA GPU on nouveau is the default, with a note"
    bl_root intel-shared-group
    run_pt blacklist
    expect_exit 0
    expect_stdout_contains "off 0000:03:00.0"
    expect_stdout_contains "0000:03:00.0 is bound to nouveau now"
    expect_stdout_not_contains "i915"

    TEST "igpu-dgpu: the NVIDIA card is blacklisted, the Intel iGPU keeps i915"
    bl_root igpu-dgpu
    run_pt blacklist --apply
    expect_exit 0
    bl_expect_conf "blacklist nouveau" "blacklist nvidia" "blacklist nvidia_drm" "blacklist nvidia_modeset" "blacklist nvidiafb"

    TEST "x570: a second vendor is added beside the first; --remove SEL takes one out"
    bl_root x570-two-gpus
    run_pt blacklist --apply
    run_pt blacklist 0c:00 --softdep --apply
    expect_exit 0
    bl_expect_conf "blacklist nouveau" "blacklist nvidia" "blacklist nvidia_drm" "blacklist nvidia_modeset" "blacklist nvidiafb" \
        "softdep amdgpu pre: vfio-pci" "softdep radeon pre: vfio-pci"
    run_pt blacklist 0c:00.0 --remove --apply
    expect_exit 0
    bl_expect_conf "blacklist nouveau" "blacklist nvidia" "blacklist nvidia_drm" "blacklist nvidia_modeset" "blacklist nvidiafb"

    TEST "malformed selector: usage error, exit 2"
    bl_root x570-two-gpus
    run_pt blacklist 0b:00.0.0
    expect_exit 2
    expect_stderr_contains "is not a device selector"
    expect_stdout_empty
    expect_unchanged

    TEST "a selector that matches no display device: usage error listing the GPUs"
    bl_root x570-two-gpus
    run_pt blacklist 0b:00.1
    expect_exit 2
    expect_stderr_contains "matches no display device"
    expect_stderr_contains "0000:0c:00.0 [1002:73bf], driver amdgpu, boot VGA"

    TEST "a selector that matches no device: exit 1"
    bl_root x570-two-gpus
    run_pt blacklist 0000:42:00.0
    expect_exit 1
    expect_stderr_contains "no PCI device matches '0000:42:00.0'"

    TEST "--softdep with --hard, --remove with --hard: usage errors"
    bl_root x570-two-gpus
    run_pt blacklist --softdep --hard
    expect_exit 2
    expect_stderr_contains "--softdep and --hard do not go together"
    run_pt blacklist --remove --hard
    expect_exit 2
    expect_unchanged
}
