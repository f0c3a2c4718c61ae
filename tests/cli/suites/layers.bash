# The three boot layers of pt verify (configured, staged, running; man/pt-verify.1 LAYERS) end to
# end, over the layers-* roots: the seed RTX 3090 host (81:00) in one state each, with a real
# initramfs image (tests/fixtures/hosts/layers-*.yaml, pt-mkroot's initramfs: key); see tests/cli/run.
# shellcheck shell=bash disable=SC2154
# ($ROOT, $OUT, $ERR, $RC, $TESTDIR and $PT belong to tests/cli/run.)

# The walk-through's times (the roots' /proc/stat btime is 2024-11-22 07:00 or 08:15 UTC).
LY_EDITED="2024-11-22 08:00:00 UTC" # pt blacklist, pt bind: the files under /etc
LY_REBUILT="2024-11-22 08:05:00 UTC" # update-initramfs
LY_BEFORE="2024-11-20 10:00:00 UTC" # an image built before the edits

# ly_root NAME FILES_TIME IMAGE_TIME: a copy of fixture root NAME with these mtimes on the files
# the initramfs is built from (modprobe.d, initramfs-tools, module lists) and on the image. git
# keeps no mtimes, and pt-mkroot's initramfs mtime: holds only for a root built on the fly.
ly_root() {
    local f
    use_root "$1" || return 1
    for f in "$ROOT"/etc/modprobe.d/* "$ROOT"/etc/initramfs-tools/* "$ROOT"/etc/modules-load.d/* \
        "$ROOT"/etc/modules; do
        [ -e "$f" ] && touch -d "$2" "$f"
    done
    for f in "$ROOT"/boot/initrd.img-*; do
        [ -e "$f" ] && touch -d "$3" "$f"
    done
    (cd "$ROOT" && find . -printf '%p %y %l %s\n' | sort >"$TESTDIR/tree.before")
}

# ly_status ID STATUS: every check with this id has this status (and there is one).
ly_status() {
    expect_jq "[.checks[] | select(.id == \"$1\")] | length > 0 and all(.status == \"$2\")"
}

# ly_field ID FIELD TEXT: the check ID has TEXT in FIELD (summary, evidence, fix).
ly_field() {
    expect_jq "any(.checks[] | select(.id == \"$1\"); .$2 | contains($(jq -Rn --arg s "$3" '$s')))"
}

# ly_fix ID TEXT: the fix of the check ID is exactly TEXT.
ly_fix() {
    expect_jq "any(.checks[] | select(.id == \"$1\"); .fix == $(jq -Rn --arg s "$2" '$s'))"
}

# ly_layers ID CONFIGURED STAGED RUNNING: the layers object of the check ID (true, false, null).
ly_layers() {
    expect_jq "any(.checks[] | select(.id == \"$1\"); .layers == {configured: $2, staged: $3, running: $4})"
}

# ly_no_redo: no check tells the user to run pt blacklist or pt bind --apply again.
ly_no_redo() {
    expect_jq 'all(.checks[]; (.fix // "") | test("pt (blacklist|bind) [^ ]+ --apply") | not)'
}

# ly_fixes_run: every "pt bind SLOT --apply" that pt verify gives as a fix is one pt bind accepts
# (its dry run exits 0): a fix must not be a command pt then refuses.
ly_fixes_run() {
    local slot
    run_pt verify --json
    # The fixes come from a real report (none of them may be a pt bind at all: then nothing
    # below runs, and this is what the test checks).
    expect_jq '.checks | length > 0'
    for slot in $(jq -r '.checks[].fix // empty' "$OUT" | grep -oP 'pt bind \K[0-9a-f:.]+(?= --apply)' | sort -u); do
        run_pt bind "$slot"
        check [ "$RC" -eq 0 ] || fail "verify's fix 'pt bind $slot --apply' is refused by pt bind (exit $RC): $(head -c 300 "$ERR")"
    done
}

suite_layers() {
    # --- layers-pending: configured and staged, not running ---------------------------------
    TEST "pending: gpu.driver warns reboot pending, configured and staged from the image, not running"
    ly_root layers-pending "$LY_EDITED" "$LY_REBUILT"
    run_pt verify --json
    expect_exit 0
    ly_status gpu.driver warn
    ly_layers gpu.driver true true false
    ly_field gpu.driver summary "reboot pending"
    ly_field gpu.driver summary "nouveau still has the GPU"
    ly_field gpu.driver evidence "/sys/bus/pci/devices/0000:81:00.0/driver: nouveau"
    ly_field gpu.driver evidence "configured: /etc/modprobe.d/pt-vfio.conf:3: options vfio-pci ids=10de:1aef,10de:2204"
    ly_field gpu.driver evidence "staged: /boot/initrd.img-6.8.12-4-pve"
    ly_field gpu.driver evidence "none cpio + zstd cpio"
    ly_field gpu.driver evidence "read from the image"
    ly_fix gpu.driver "reboot; to switch now without a reboot: pt bind 0000:81:00 --now --apply"
    expect_jq '.reboot_pending == true'
    expect_jq '.summary == {pass: 17, warn: 3, fail: 0, skip: 0}'
    expect_unchanged

    TEST "pending: the vfio modules are reboot pending, the initramfs is fresh, nothing says to redo pt's steps"
    ly_root layers-pending "$LY_EDITED" "$LY_REBUILT"
    run_pt verify --json
    expect_exit 0
    ly_status modules.loaded warn
    ly_layers modules.loaded true true false
    ly_field modules.loaded evidence "/proc/stat: booted 2024-11-22 07:00:00 UTC"
    ly_fix modules.loaded "reboot; to load them now without a reboot: modprobe vfio-pci"
    ly_status initramfs.fresh pass
    ly_layers initramfs.fresh true true null
    ly_status gpu.host-driver pass
    ly_status modprobe.vfio-ids pass
    ly_no_redo
    expect_jq '[.checks[] | select(.status == "fail")] | length == 0'

    TEST "pending: the image's content decides staged, not its mtime (an image older than the files)"
    ly_root layers-pending "$LY_EDITED" "$LY_BEFORE"
    run_pt verify --json
    expect_exit 0
    ly_status initramfs.fresh pass
    ly_layers gpu.driver true true false
    expect_jq '.reboot_pending == true'

    TEST "pending: text output has the layers: line and the reboot pending line before the totals"
    ly_root layers-pending "$LY_EDITED" "$LY_REBUILT"
    run_pt verify --no-color
    expect_exit 0
    expect_stdout_contains "Checking 0000:81:00.0 driver in use                              : WARN"
    expect_stdout_contains "    layers:   configured yes, staged yes, running no"
    expect_stdout_contains "    fix:      reboot; to switch now without a reboot: pt bind 0000:81:00 --now --apply"
    check [ "$(tail -n 3 "$OUT" | head -n 1)" = "reboot pending: what is configured (and, where it matters, in the initramfs) is not running yet; a reboot finishes it" ] \
        || fail "the reboot pending line is not the one before the totals"
    check [ "$(tail -n 1 "$OUT")" = "17 passed, 3 warned, 0 failed, 0 skipped" ] || fail "wrong totals"
    check [ "$(grep -c '^    layers:   configured yes, staged yes, running no$' "$OUT")" -eq 2 ] \
        || fail "expected two layers: lines (modules.loaded and gpu.driver)"

    TEST "pending: an unreadable image falls back to mtimes and says so; staged is then unknown"
    ly_root layers-pending "$LY_EDITED" "$LY_REBUILT"
    : >"$ROOT/boot/initrd.img-6.8.12-4-pve"
    touch -d "$LY_REBUILT" "$ROOT/boot/initrd.img-6.8.12-4-pve"
    run_pt verify --json
    expect_exit 0
    ly_layers gpu.driver true null false
    ly_field gpu.driver evidence "compared by mtime"

    TEST "pending: snapshot round trip keeps the configured and running layers; staged becomes unknown"
    ly_root layers-pending "$LY_EDITED" "$LY_REBUILT"
    run_pt snapshot -o "$TESTDIR/snap.tar.gz" -q
    expect_exit 0
    mkdir -p "$TESTDIR/x"
    check tar -xzf "$TESTDIR/snap.tar.gz" -C "$TESTDIR/x" || fail "tar could not extract the snapshot"
    if [ ! -f "$TESTDIR/x/boot/initrd.img-6.8.12-4-pve" ] || [ -s "$TESTDIR/x/boot/initrd.img-6.8.12-4-pve" ]; then
        fail "the snapshot should keep the image as an empty file"
    fi
    check [ "$(stat -c %Y "$TESTDIR/x/boot/initrd.img-6.8.12-4-pve")" = "$(date -d "$LY_REBUILT" +%s)" ] \
        || fail "the snapshot did not keep the image's mtime"
    local f
    for f in etc/modprobe.d/pt-blacklist.conf etc/modprobe.d/pt-vfio.conf etc/modules-load.d/pt-vfio.conf \
        etc/initramfs-tools/modules proc/modules proc/stat; do
        check cmp -s "$ROOT/$f" "$TESTDIR/x/$f" || fail "/$f differs in the snapshot"
    done
    ROOT=$TESTDIR/x
    run_pt verify --json
    expect_exit 0
    ly_status gpu.driver warn
    ly_layers gpu.driver true null false
    ly_field gpu.driver summary "reboot pending"
    ly_field gpu.driver evidence "configured: /etc/modprobe.d/pt-vfio.conf:3: options vfio-pci ids=10de:1aef,10de:2204"
    ly_field gpu.driver evidence "staged: /boot/initrd.img-6.8.12-4-pve: 2024-11-22 08:05:00 UTC"
    ly_field gpu.driver evidence "compared by mtime"
    ly_fix gpu.driver "reboot; to switch now without a reboot: pt bind 0000:81:00 --now --apply"
    ly_layers modules.loaded true null false
    ly_layers initramfs.fresh true null null
    ly_status initramfs.fresh pass
    expect_jq '.reboot_pending == true'
    expect_jq '.summary == {pass: 17, warn: 3, fail: 0, skip: 0}'
    ly_no_redo

    # --- layers-stale: configured, not staged ------------------------------------------------
    TEST "stale: gpu.driver fails configured but not in the initramfs; fix update-initramfs"
    ly_root layers-stale "$LY_EDITED" "$LY_BEFORE"
    run_pt verify --json
    expect_exit 3
    ly_status gpu.driver fail
    ly_layers gpu.driver true false false
    ly_field gpu.driver summary "configured but not in the initramfs"
    ly_field gpu.driver evidence "staged: /boot/initrd.img-6.8.12-4-pve (the newest installed kernel, gzip cpio"
    ly_field gpu.driver fix "update-initramfs -u -k all"
    expect_jq '.reboot_pending == false'
    ly_no_redo

    TEST "stale: initramfs.fresh fails and names each pt file missing from the image"
    ly_root layers-stale "$LY_EDITED" "$LY_BEFORE"
    run_pt verify --json
    expect_exit 3
    ly_status initramfs.fresh fail
    ly_layers initramfs.fresh true false null
    ly_field initramfs.fresh summary "stale initramfs for 6.8.12-4-pve"
    ly_field initramfs.fresh evidence "/etc/modprobe.d/pt-blacklist.conf: not in the initramfs"
    ly_field initramfs.fresh evidence "/etc/modprobe.d/pt-vfio.conf: not in the initramfs"
    ly_field initramfs.fresh evidence "/etc/initramfs-tools/modules: differs from the initramfs's conf/modules"
    ly_fix initramfs.fresh "update-initramfs -u -k all, then reboot"
    ly_status modules.loaded fail
    ly_layers modules.loaded true false false
    ly_fix modules.loaded "update-initramfs -u -k all, then reboot"

    TEST "stale: an image newer than the files is still stale by its content"
    ly_root layers-stale "$LY_EDITED" "$LY_REBUILT"
    run_pt verify --json
    expect_exit 3
    ly_status initramfs.fresh fail
    ly_layers gpu.driver true false false

    # --- layers-running-only: running, not configured ----------------------------------------
    TEST "running-only: gpu.driver fails running but not configured; fix pt bind --apply"
    ly_root layers-running-only "$LY_EDITED" "$LY_REBUILT"
    run_pt verify --json
    expect_exit 3
    ly_status gpu.driver fail
    ly_layers gpu.driver false false true
    ly_field gpu.driver summary "running but not configured"
    ly_field gpu.driver summary "the host takes it back at the next boot"
    ly_field gpu.driver evidence "/sys/bus/pci/devices/0000:81:00.0/driver: vfio-pci"
    ly_field gpu.driver fix "pt bind 0000:81:00 --apply"
    expect_jq 'any(.checks[] | select(.id == "gpu.driver"); .fix | startswith("pt bind 0000:81:00 --apply"))'
    ly_status gpu.host-driver warn
    ly_status modules.early-load warn
    ly_status initramfs.fresh pass
    expect_jq '.reboot_pending == false'

    # --- layers-conflicting-ids: two ids= values ---------------------------------------------
    TEST "conflicting-ids: modprobe.vfio-ids names the winner and the ID that loses"
    ly_root layers-conflicting-ids "$LY_EDITED" "$LY_REBUILT"
    run_pt verify --json
    expect_exit 0
    ly_status modprobe.vfio-ids warn
    ly_field modprobe.vfio-ids summary "2 ids= values"
    ly_field modprobe.vfio-ids summary "vfio-pci gets only the last one, 10de:2204 (/etc/modprobe.d/vfio.conf:1)"
    ly_field modprobe.vfio-ids summary "/etc/modprobe.d/pt-vfio.conf:3 lose"
    ly_field modprobe.vfio-ids summary "10de:1aef is not claimed at boot"
    ly_field modprobe.vfio-ids evidence "/etc/modprobe.d/pt-vfio.conf:3: options vfio-pci ids=10de:1aef,10de:2204"
    ly_field modprobe.vfio-ids evidence "/etc/modprobe.d/vfio.conf:1: options vfio-pci ids=10de:2204"
    ly_status gpu.driver pass
    ly_layers gpu.driver true true true
    ly_status gpu.group-bound warn
    ly_field gpu.group-bound summary "0000:81:00.1 on snd_hda_intel"
    ly_status initramfs.fresh pass

    TEST "conflicting-ids: verify's fix agrees with pt bind: delete vfio.conf's line, not pt's own"
    ly_root layers-conflicting-ids "$LY_EDITED" "$LY_REBUILT"
    run_pt verify --json
    expect_exit 0
    # pt bind (below) says to delete /etc/modprobe.d/vfio.conf:1: pt's file already lists both
    # IDs and says "Do not edit: pt rewrites this file".
    ly_field modprobe.vfio-ids fix "sed -i '1d' /etc/modprobe.d/vfio.conf"
    expect_jq 'all(.checks[]; (.fix // "") | contains("/etc/modprobe.d/pt-vfio.conf") | not)'

    TEST "conflicting-ids: no check's fix is a pt bind that pt bind refuses"
    ly_root layers-conflicting-ids "$LY_EDITED" "$LY_REBUILT"
    ly_fixes_run

    TEST "conflicting-ids: pt bind 81:00 is refused and names the line to delete"
    ly_root layers-conflicting-ids "$LY_EDITED" "$LY_REBUILT"
    run_pt bind 81:00
    expect_exit 1
    expect_stderr_contains "refusing to bind 81:00: /etc/modprobe.d/vfio.conf:1 sets vfio-pci ids=10de:2204 after pt's /etc/modprobe.d/pt-vfio.conf"
    expect_stderr_contains "0000:81:00.1 (10de:1aef) would not go to vfio-pci at the next boot"
    expect_stderr_contains "sed -i '1d' /etc/modprobe.d/vfio.conf"
    expect_stderr_contains "add --force"
    expect_unchanged

    TEST "conflicting-ids: pt bind --force --apply writes pt's file and notes the override"
    ly_root layers-conflicting-ids "$LY_EDITED" "$LY_REBUILT"
    rm "$ROOT/etc/modprobe.d/pt-vfio.conf"
    run_pt bind 81:00 --force --apply --no-refresh
    expect_exit 0
    expect_stdout_contains "note: --force: /etc/modprobe.d/vfio.conf:1 sets vfio-pci ids=10de:2204 after pt's /etc/modprobe.d/pt-vfio.conf"
    expect_stdout_contains "created /etc/modprobe.d/pt-vfio.conf"
    check grep -qx "options vfio-pci ids=10de:1aef,10de:2204" "$ROOT/etc/modprobe.d/pt-vfio.conf" \
        || fail "pt-vfio.conf lacks pt's ids= line"
    check [ "$(cat "$ROOT/etc/modprobe.d/vfio.conf")" = "options vfio-pci ids=10de:2204" ] || fail "vfio.conf was changed"

    TEST "conflicting-ids: pt bind --force with pt's file already written has nothing to do, and notes it"
    ly_root layers-conflicting-ids "$LY_EDITED" "$LY_REBUILT"
    run_pt bind 81:00 --force --apply --no-refresh
    expect_exit 0
    expect_stdout_contains "nothing to do"
    expect_stdout_contains "note: --force: /etc/modprobe.d/vfio.conf:1"
    expect_unchanged

    # --- layers-ids-space: an ids= list split by a space -------------------------------------
    TEST "ids-space: modprobe.vfio-ids warns that the space splits the list and 10de:1aef is not claimed"
    ly_root layers-ids-space "$LY_EDITED" "$LY_REBUILT"
    run_pt verify --json
    expect_exit 0
    ly_status modprobe.vfio-ids warn
    ly_field modprobe.vfio-ids summary "a space splits the ids= list at /etc/modprobe.d/vfio.conf:1"
    ly_field modprobe.vfio-ids summary "\"ids=10de:2204, 10de:1aef\""
    ly_field modprobe.vfio-ids summary "vfio-pci ignores"
    ly_field modprobe.vfio-ids summary "not claimed"
    ly_field modprobe.vfio-ids evidence "/etc/modprobe.d/vfio.conf:1: options vfio-pci ids=10de:2204,"
    ly_field modprobe.vfio-ids fix "sed -i '1s/,[[:space:]]*/,/g' /etc/modprobe.d/vfio.conf"
    ly_status gpu.driver pass
    ly_status gpu.group-bound warn
    ly_field gpu.group-bound summary "0000:81:00.1 on snd_hda_intel"
    ly_field gpu.group-bound fix "sed -i '1s/,[[:space:]]*/,/g' /etc/modprobe.d/vfio.conf"
    expect_jq '.reboot_pending == false'
    # The fix, run for real, joins the list: nothing is split any more.
    sed -i '1s/,[[:space:]]*/,/g' "$ROOT/etc/modprobe.d/vfio.conf"
    check [ "$(head -n 1 "$ROOT/etc/modprobe.d/vfio.conf")" = "options vfio-pci ids=10de:2204,10de:1aef" ] \
        || fail "the fix left: $(cat "$ROOT/etc/modprobe.d/vfio.conf")"
    run_pt verify --json
    expect_jq '[.checks[] | select(.id == "modprobe.vfio-ids") | .summary] | all(contains("a space splits") | not)'

    TEST "ids-space: no check's fix is a pt bind that pt bind refuses"
    ly_root layers-ids-space "$LY_EDITED" "$LY_REBUILT"
    ly_fixes_run

    # --- layers-amd-iommu-off: amd_iommu=off -------------------------------------------------
    TEST "amd-iommu-off: cmdline.iommu fails for amd_iommu=off; fix pt grub --apply"
    ly_root layers-amd-iommu-off "$LY_EDITED" "$LY_REBUILT"
    run_pt verify --json
    expect_exit 3
    ly_status cmdline.iommu fail
    ly_field cmdline.iommu summary "amd_iommu=off switches the AMD IOMMU off"
    ly_field cmdline.iommu evidence "/proc/cmdline: BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve root=/dev/mapper/pve-root ro quiet amd_iommu=off"
    ly_fix cmdline.iommu "pt grub --apply (it runs update-grub), then reboot"
    ly_status iommu.enabled fail
    ly_field iommu.enabled summary "the kernel command line switches the IOMMU off (amd_iommu=off)"
    ly_field iommu.enabled fix "pt grub --apply (it takes amd_iommu=off out of the file the bootloader reads"
    ly_status gpu.driver pass
    ly_status gpu.group-isolated skip

    TEST "amd-iommu-off: pt grub plans the removal of amd_iommu=off"
    ly_root layers-amd-iommu-off "$LY_EDITED" "$LY_REBUILT"
    run_pt grub --no-color
    expect_exit 0
    expect_stdout_contains "Configured:  quiet amd_iommu=off"
    expect_stdout_contains "Needed:      remove amd_iommu=off (/etc/default/grub line 9): amd_iommu=off switches the AMD IOMMU off"
    expect_stdout_contains "pt grub --apply makes these changes"
    expect_unchanged
    run_pt grub --json
    expect_jq '.needed == [{action: "remove", name: "amd_iommu", old_value: "off", new_value: null, path: "/etc/default/grub", line: 9, reason: .needed[0].reason}]'

    TEST "amd-iommu-off: the dry run's diff removes amd_iommu=off from GRUB_CMDLINE_LINUX_DEFAULT"
    ly_root layers-amd-iommu-off "$LY_EDITED" "$LY_REBUILT"
    run_pt grub --remove amd_iommu=off --no-color
    expect_exit 0
    expect_stdout_contains '-GRUB_CMDLINE_LINUX_DEFAULT="quiet amd_iommu=off"'
    expect_stdout_contains '+GRUB_CMDLINE_LINUX_DEFAULT="quiet"'
    expect_stdout_contains "dry run: nothing was changed"
    expect_unchanged

    TEST "amd-iommu-off: pt grub --apply (verify's fix) removes it from /etc/default/grub"
    ly_root layers-amd-iommu-off "$LY_EDITED" "$LY_REBUILT"
    run_pt grub --apply --no-refresh
    expect_exit 0
    check grep -qx 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"' "$ROOT/etc/default/grub" || fail "amd_iommu=off is still configured"
    run_pt verify --json
    ly_field cmdline.configured summary "amd_iommu=off"

    # --- layers-hidden: a same-named file in an earlier folder hides the ids= ----------------
    TEST "hidden: modprobe.vfio-ids names the hidden file and the file that hides it"
    ly_root layers-hidden "$LY_EDITED" "$LY_REBUILT"
    run_pt verify 81:00 --json
    expect_exit 3
    ly_field modprobe.vfio-ids evidence "/usr/lib/modprobe.d/vfio.conf: hidden by /etc/modprobe.d/vfio.conf"

    TEST "hidden: the hidden ids= does not count: the GPU is not configured, staged or running"
    ly_root layers-hidden "$LY_EDITED" "$LY_REBUILT"
    run_pt verify 81:00 --json
    expect_exit 3
    ly_status gpu.driver fail
    ly_layers gpu.driver false false false
    ly_field gpu.driver summary "nothing configures vfio-pci for it at boot"
    ly_status gpu.host-driver fail
    expect_jq 'all(.checks[]; (.evidence // "") | contains("ids=10de:2204,10de:1aef") | not)'
    run_pt verify --json
    expect_exit 0
    ly_status gpu.select warn
    ly_field gpu.select evidence "0000:81:00.0 on nouveau"

    TEST "hidden: without /etc/modprobe.d/vfio.conf, the /usr/lib file's ids= configures the GPU"
    ly_root layers-hidden "$LY_EDITED" "$LY_REBUILT"
    rm "$ROOT/etc/modprobe.d/vfio.conf"
    run_pt verify 81:00 --json
    expect_exit 3
    # The image still holds etc/modprobe.d/vfio.conf, which hides the ids= there too.
    ly_layers gpu.driver true false false
    ly_field gpu.driver summary "configured but not in the initramfs"
    ly_field modprobe.vfio-ids summary "vfio-pci gets ids=10de:2204,10de:1aef (/usr/lib/modprobe.d/vfio.conf:1)"
}
