# pt snapshot end to end; see tests/cli/run.
# shellcheck shell=bash disable=SC2154
# ($ROOT, $OUT, $ERR, $RC, $TESTDIR, $FIXTURES and $top belong to tests/cli/run.)

# snap_take ARGS...: pt --root $ROOT snapshot -o $TESTDIR/snap.tar.gz ARGS...
snap_take() {
    run_pt snapshot -o "$TESTDIR/snap.tar.gz" "$@"
}

# snap_extract: extracts $TESTDIR/snap.tar.gz into $TESTDIR/x (as a user would: plain tar).
snap_extract() {
    rm -rf "$TESTDIR/x"
    mkdir -p "$TESTDIR/x"
    check tar -xzf "$TESTDIR/snap.tar.gz" -C "$TESTDIR/x" 2>"$TESTDIR/tar.err" \
        || fail "tar could not extract the snapshot: $(cat "$TESTDIR/tar.err")"
}

# snap_same NAME ARGS...: pt ARGS gives the same exit status, stdout and stderr (root paths
# aside) on the original root and on the extracted snapshot.
snap_same() {
    local name=$1 side
    shift
    for side in a b; do
        local dir=$ROOT
        [ "$side" = b ] && dir=$TESTDIR/x
        "$PT" --root "$dir" "$@" >"$TESTDIR/$name.$side.out" 2>"$TESTDIR/$name.$side.err"
        echo "exit $?" >>"$TESTDIR/$name.$side.out"
        sed -i "s|$dir|ROOT|g" "$TESTDIR/$name.$side.out" "$TESTDIR/$name.$side.err"
    done
    check diff -u "$TESTDIR/$name.a.out" "$TESTDIR/$name.b.out" >"$TESTDIR/$name.diff" \
        || fail "pt $* differs on the extracted snapshot:" "$(head -n 30 "$TESTDIR/$name.diff")"
    check diff -u "$TESTDIR/$name.a.err" "$TESTDIR/$name.b.err" >"$TESTDIR/$name.diff" \
        || fail "pt $* warns differently on the extracted snapshot:" "$(head -n 30 "$TESTDIR/$name.diff")"
}

# snap_round_trip: snapshot $ROOT, extract it, and compare what pt's reading commands say.
snap_round_trip() {
    snap_take --json
    expect_exit 0
    expect_jq '.format == 1 and .archive.members > 0'
    snap_extract
    snap_same groups iommu-groups --json
    snap_same groups-text iommu-groups --no-color
    snap_same gpu iommu-groups --gpu --json
    snap_same verify verify --json
    snap_same vmconf vmconf --check --all --json
    snap_same advise advise --json
    # Each container of this node: pt verify --ct reads its config, the nodes, the driver's
    # version and, while it runs, its libraries.
    local ct
    for ct in "$ROOT"/etc/pve/nodes/*/lxc/*.conf; do
        [ -e "$ct" ] || continue
        ct=$(basename "$ct" .conf)
        snap_same "verify-ct-$ct" verify --ct "$ct" --json
    done
}

# snap_empty_images: empties the copy's initramfs images, keeping their mtimes, as a snapshot
# stores them (by design: an image is large and not what pt reads of the host). pt verify reads a
# real image's content (the staged layer); from an empty one it can only compare mtimes, so a
# round trip compares the rest. The layers suite checks what a round trip makes of the staged layer.
snap_empty_images() {
    local f
    for f in "$ROOT"/boot/initrd.img-*; do
        if [ -L "$f" ] || [ ! -s "$f" ]; then
            continue
        fi
        touch -r "$f" "$TESTDIR/image-time"
        : >"$f"
        touch -r "$TESTDIR/image-time" "$f"
    done
    return 0
}

# snap_pve_root NAME: a copy of fixture NAME with a Proxmox VE layer: a VM config with secrets
# and a ROM file, pmxcfs links, /etc/pve/priv, an initrd, a kernel log copy.
snap_pve_root() {
    use_root "$1" || return 1
    rm -rf "$ROOT/etc/pve/qemu-server" # pmxcfs makes it a link to this node's folder
    mkdir -p "$ROOT/etc/pve/nodes/pve/qemu-server" "$ROOT/etc/pve/priv" "$ROOT/etc/pve/mapping" \
        "$ROOT/usr/share/kvm" "$ROOT/boot" "$ROOT/lib/modules/6.8.12-4-pve" "$ROOT/var/lib/pt/snapshot" \
        "$ROOT/etc/modprobe.d"
    cat >"$ROOT/etc/pve/nodes/pve/qemu-server/100.conf" <<'EOF'
#Windows 11 gaming VM, admin password is hunter2
bios: ovmf
cipassword: $5$rounds$SECRETHASH
hostpci0: 0000:0b:00,pcie=1,x-vga=1,romfile=rtx3090.rom
machine: q35
sshkeys: ssh-ed25519%20AAAAC3NzaSECRETKEY
EOF
    ln -s nodes/pve "$ROOT/etc/pve/local"
    ln -s nodes/pve/qemu-server "$ROOT/etc/pve/qemu-server"
    echo "PRIVATE AUTHKEY" >"$ROOT/etc/pve/priv/authkey.key"
    printf 'gpu\n\tmap node=pve,path=0000:0b:00.0,id=10de:2204\n' >"$ROOT/etc/pve/mapping/pci.cfg"
    echo "ROMFILE CONTENT" >"$ROOT/usr/share/kvm/rtx3090.rom"
    echo "UNRELATED ROM" >"$ROOT/usr/share/kvm/other.rom"
    echo "INITRD CONTENT" >"$ROOT/boot/initrd.img-6.8.12-4-pve"
    touch -d '2026-01-02 03:04:05 UTC' "$ROOT/boot/initrd.img-6.8.12-4-pve"
    echo "options vfio-pci ids=10de:2204,10de:1aef" >"$ROOT/etc/modprobe.d/vfio.conf"
    touch -d '2026-02-03 04:05:06 UTC' "$ROOT/etc/modprobe.d/vfio.conf"
    echo "[    0.019700] AMD-Vi: Interrupt remapping enabled" >"$ROOT/var/lib/pt/snapshot/dmesg"
    (cd "$ROOT" && find . -printf '%p %y %l %s\n' | sort >"$TESTDIR/tree.before")
}

suite_snapshot() {
    TEST "no -o is a usage error"
    use_root x570-two-gpus
    run_pt snapshot
    expect_exit 2
    expect_stderr_contains "--output"

    TEST "x570: the text says what was collected and where the archive went"
    use_root x570-two-gpus
    snap_take
    expect_exit 0
    expect_stdout_contains "wrote $TESTDIR/snap.tar.gz: "
    expect_stdout_contains "from $ROOT"
    expect_stdout_contains "collected:"
    local devices groups
    devices=$(find "$ROOT/sys/bus/pci/devices" -mindepth 1 -maxdepth 1 | wc -l)
    groups=$(find "$ROOT/sys/kernel/iommu_groups" -mindepth 1 -maxdepth 1 | wc -l)
    if [ "$devices" -le 10 ] || [ "$groups" -le 10 ]; then
        fail "the fixture changed: $devices devices, $groups groups"
    fi
    check grep -qE "^  pci devices +$devices  sysfs attributes and links" "$OUT" || fail "no 'pci devices $devices' line"
    check grep -qE "^  iommu groups +$groups  " "$OUT" || fail "no 'iommu groups $groups' line"
    expect_stdout_contains "pci.ids"
    expect_stdout_contains "not collected ("
    expect_stdout_contains "  /etc/default/grub: absent"
    expect_stdout_contains "never collected: /etc/pve/priv"
    expect_stdout_contains "tar xzf $TESTDIR/snap.tar.gz -C DIR && pt --root DIR verify"
    expect_stderr_empty
    expect_unchanged
    check [ -f "$TESTDIR/snap.tar.gz" ] || fail "no archive written"

    TEST "-q prints only the first line"
    use_root x570-two-gpus
    snap_take -q
    expect_exit 0
    check [ "$(wc -l <"$OUT")" -eq 1 ] || fail "expected one line"
    expect_stdout_contains "wrote $TESTDIR/snap.tar.gz"

    TEST "--json prints the manifest, which the archive holds too"
    use_root x570-two-gpus
    snap_take --json
    expect_exit 0
    expect_jq '.format == 1 and .live == false and (.pt_version | length > 0)'
    expect_jq ".source_root == \"$ROOT\""
    expect_jq '.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")'
    expect_jq "(.collected[] | select(.what == \"pci devices\") | .count) == $(find "$ROOT/sys/bus/pci/devices" -mindepth 1 -maxdepth 1 | wc -l)"
    expect_jq '(.collected[] | select(.what == "iommu groups") | .paths) | index("/sys/kernel/iommu_groups/16") != null'
    expect_jq '.counts.files > 0 and .counts.links > 0 and .counts.folders > 0'
    expect_jq '[.missing[].path] | index("/etc/kernel/cmdline") != null'
    expect_jq '.redacted == [] and (.never_collected | length) > 0'
    expect_jq ".archive.path == \"$TESTDIR/snap.tar.gz\" and .archive.bytes > 0"
    snap_extract
    jq 'del(.archive)' "$OUT" >"$TESTDIR/printed.json"
    jq . "$TESTDIR/x/var/lib/pt/snapshot/manifest.json" >"$TESTDIR/stored.json"
    check diff -u "$TESTDIR/printed.json" "$TESTDIR/stored.json" >"$TESTDIR/diff" \
        || fail "the stored manifest differs from the printed one:" "$(head -n 20 "$TESTDIR/diff")"
    check jq -e ".archive.members == $(tar -tzf "$TESTDIR/snap.tar.gz" | wc -l)" "$OUT" >/dev/null \
        || fail "archive.members is not the number of members"

    TEST "members are relative paths in byte order; links stay links with the kernel's targets"
    use_root x570-two-gpus
    snap_take
    expect_exit 0
    tar -tzf "$TESTDIR/snap.tar.gz" >"$TESTDIR/members"
    ! check grep -q '^/' "$TESTDIR/members" || fail "an absolute member path"
    ! check grep -q '\.\./' "$TESTDIR/members" || fail "a member path with .."
    check env LC_ALL=C sort -c "$TESTDIR/members" 2>/dev/null || fail "members are not in byte order"
    check grep -qx 'sys/bus/pci/devices/0000:0b:00.0' "$TESTDIR/members" || fail "no device link member"
    snap_extract
    check [ -L "$TESTDIR/x/sys/bus/pci/devices/0000:0b:00.0" ] || fail "the device link is not a link"
    check [ "$(readlink "$TESTDIR/x/sys/bus/pci/devices/0000:0b:00.0")" = "$(readlink "$ROOT/sys/bus/pci/devices/0000:0b:00.0")" ] \
        || fail "the device link's target changed"
    check [ "$(readlink "$TESTDIR/x/sys/bus/pci/devices/0000:0b:00.0/driver")" = "$(readlink "$ROOT/sys/bus/pci/devices/0000:0b:00.0/driver")" ] \
        || fail "the driver link's target changed"
    check [ -f "$TESTDIR/x/usr/share/misc/pci.ids" ] || fail "no pci.ids"
    check [ "$(wc -c <"$TESTDIR/x/usr/share/misc/pci.ids")" -le "$(wc -c <"$ROOT/usr/share/misc/pci.ids")" ] \
        || fail "pci.ids grew"

    TEST "same tree and SOURCE_DATE_EPOCH: the same bytes"
    use_root x570-two-gpus
    check env SOURCE_DATE_EPOCH=1767225600 "$PT" --root "$ROOT" snapshot -q -o "$TESTDIR/a.tar.gz" >/dev/null || fail "first run failed"
    check env SOURCE_DATE_EPOCH=1767225600 "$PT" --root "$ROOT" snapshot -q -o "$TESTDIR/b.tar.gz" >/dev/null || fail "second run failed"
    check cmp -s "$TESTDIR/a.tar.gz" "$TESTDIR/b.tar.gz" || fail "two snapshots of the same tree differ"
    mkdir -p "$TESTDIR/a"
    tar -xzf "$TESTDIR/a.tar.gz" -C "$TESTDIR/a"
    check [ "$(jq -r .created "$TESTDIR/a/var/lib/pt/snapshot/manifest.json")" = "2026-01-01T00:00:00Z" ] \
        || fail "SOURCE_DATE_EPOCH was not the creation time"

    TEST "secrets are redacted line for line; /etc/pve/priv, ROM and initrd contents never leave"
    snap_pve_root x570-two-gpus
    snap_take
    expect_exit 0
    expect_stdout_contains "redacted (3):"
    expect_stdout_contains "/etc/pve/nodes/pve/qemu-server/100.conf line 1: a comment (VM notes)"
    expect_stdout_contains "/etc/pve/nodes/pve/qemu-server/100.conf line 3: cipassword"
    expect_stdout_contains "/etc/pve/nodes/pve/qemu-server/100.conf line 6: sshkeys"
    check grep -qE '^  vm configs +1  ' "$OUT" || fail "no 'vm configs 1' line"
    check grep -qE '^  rom files +1  ' "$OUT" || fail "no 'rom files 1' line"
    expect_unchanged
    gzip -dc "$TESTDIR/snap.tar.gz" >"$TESTDIR/snap.tar"
    for secret in hunter2 SECRETHASH SECRETKEY "PRIVATE AUTHKEY" "INITRD CONTENT" "UNRELATED ROM"; do
        ! check grep -qF "$secret" "$TESTDIR/snap.tar" || fail "the archive holds '$secret'"
    done
    snap_extract
    cat >"$TESTDIR/want" <<'EOF'
# [redacted by pt snapshot]
bios: ovmf
cipassword: [redacted by pt snapshot]
hostpci0: 0000:0b:00,pcie=1,x-vga=1,romfile=rtx3090.rom
machine: q35
sshkeys: [redacted by pt snapshot]
EOF
    check diff -u "$TESTDIR/want" "$TESTDIR/x/etc/pve/nodes/pve/qemu-server/100.conf" >"$TESTDIR/diff" \
        || fail "the VM config differs:" "$(cat "$TESTDIR/diff")"
    check [ ! -e "$TESTDIR/x/etc/pve/priv" ] || fail "/etc/pve/priv was taken"
    check [ "$(readlink "$TESTDIR/x/etc/pve/local")" = nodes/pve ] || fail "/etc/pve/local is not the link"
    check [ "$(cat "$TESTDIR/x/usr/share/kvm/rtx3090.rom")" = "ROMFILE CONTENT" ] || fail "the VM's romfile was not taken"
    check [ ! -e "$TESTDIR/x/usr/share/kvm/other.rom" ] || fail "a ROM no VM names was taken"
    if [ ! -f "$TESTDIR/x/boot/initrd.img-6.8.12-4-pve" ] || [ -s "$TESTDIR/x/boot/initrd.img-6.8.12-4-pve" ]; then
        fail "the initrd is not an empty file"
    fi
    check [ "$(stat -c %Y "$TESTDIR/x/boot/initrd.img-6.8.12-4-pve")" = "$(stat -c %Y "$ROOT/boot/initrd.img-6.8.12-4-pve")" ] \
        || fail "the initrd's mtime changed"
    check [ "$(stat -c %Y "$TESTDIR/x/etc/modprobe.d/vfio.conf")" = "$(stat -c %Y "$ROOT/etc/modprobe.d/vfio.conf")" ] \
        || fail "a config file's mtime changed"
    check [ -d "$TESTDIR/x/lib/modules/6.8.12-4-pve" ] || fail "no /lib/modules folder"
    check diff -u "$ROOT/var/lib/pt/snapshot/dmesg" "$TESTDIR/x/var/lib/pt/snapshot/dmesg" >/dev/null \
        || fail "the kernel log copy differs"

    TEST "the pve layer survives the round trip"
    snap_pve_root x570-two-gpus
    snap_round_trip

    TEST "links to /etc/pve/priv and other private files stay links; their targets never leave"
    snap_pve_root x570-two-gpus
    mkdir -p "$ROOT/root/.ssh"
    echo "SSH PRIVATE KEY" >"$ROOT/root/.ssh/id_rsa"
    echo "user:root@pam:1:0:::SECRETUSER" >"$ROOT/etc/pve/user.cfg"
    rm "$ROOT/etc/modprobe.d/vfio.conf"
    ln -s /etc/pve/priv/authkey.key "$ROOT/etc/modprobe.d/vfio.conf"
    ln -s ../../root/.ssh/id_rsa "$ROOT/etc/modprobe.d/key.conf"
    ln -s /etc/pve/user.cfg "$ROOT/etc/modprobe.d/users.conf"
    ln -s /etc/pve/priv "$ROOT/etc/modprobe.d/priv"
    snap_take
    expect_exit 0
    expect_stdout_contains "refused ("
    expect_stdout_contains "/etc/pve/priv/authkey.key: Proxmox's private keys"
    expect_stdout_contains "/root/.ssh/id_rsa: "
    expect_stdout_contains "/etc/pve/user.cfg: the target of /etc/modprobe.d/users.conf"
    tar -tzf "$TESTDIR/snap.tar.gz" >"$TESTDIR/members"
    ! check grep -qE '^(\./)?(etc/pve/priv|root|etc/pve/user\.cfg)(/|$)' "$TESTDIR/members" \
        || fail "the archive holds a refused path:" "$(grep -E 'priv|root|user.cfg' "$TESTDIR/members")"
    gzip -dc "$TESTDIR/snap.tar.gz" >"$TESTDIR/snap.tar"
    for secret in "PRIVATE AUTHKEY" "SSH PRIVATE KEY" SECRETUSER; do
        ! check grep -qF "$secret" "$TESTDIR/snap.tar" || fail "the archive holds '$secret'"
    done
    snap_extract
    check [ "$(readlink "$TESTDIR/x/etc/modprobe.d/vfio.conf")" = /etc/pve/priv/authkey.key ] \
        || fail "the modprobe.d link was not kept as a link"
    check jq -e '[.refused[].path] | contains(["/etc/pve/priv/authkey.key", "/root/.ssh/id_rsa", "/etc/pve/user.cfg"])' \
        "$TESTDIR/x/var/lib/pt/snapshot/manifest.json" >/dev/null || fail "the manifest does not list the refusals"

    TEST "args: keeps only option names and -cpu; vmconf --check finds the same offline"
    snap_pve_root x570-two-gpus
    echo "args: -spice port=5901,password=hunter2 -object secret,id=s0,data=TOPSECRET -cpu host,kvm=off" \
        >>"$ROOT/etc/pve/nodes/pve/qemu-server/100.conf"
    snap_take
    expect_exit 0
    expect_stdout_contains "/etc/pve/nodes/pve/qemu-server/100.conf line 7: args"
    gzip -dc "$TESTDIR/snap.tar.gz" >"$TESTDIR/snap.tar"
    for secret in hunter2 TOPSECRET port=5901; do
        ! check grep -qF "$secret" "$TESTDIR/snap.tar" || fail "the archive holds '$secret'"
    done
    snap_extract
    check [ "$(sed -n 7p "$TESTDIR/x/etc/pve/nodes/pve/qemu-server/100.conf")" \
        = "args: -spice [redacted by pt snapshot] -object [redacted by pt snapshot] -cpu host,kvm=off" ] \
        || fail "args: was not redacted as expected:" "$(sed -n 7p "$TESTDIR/x/etc/pve/nodes/pve/qemu-server/100.conf")"
    local side
    for side in "$ROOT" "$TESTDIR/x"; do
        "$PT" --root "$side" vmconf --check --all --json | jq -c '[.vms[] | .vmid as $v | .findings[] | [$v, .id, .status]]'
    done >"$TESTDIR/ids"
    { check [ "$(sed -n 1p "$TESTDIR/ids")" = "$(sed -n 2p "$TESTDIR/ids")" ] && grep -q vm.args-cpu "$TESTDIR/ids"; } \
        || fail "vmconf --check differs offline (or finds no vm.args-cpu):" "$(cat "$TESTDIR/ids")"

    TEST "a snapshot of an extracted snapshot holds the same tree"
    use_root intel-shared-group
    check env SOURCE_DATE_EPOCH=1767225600 "$PT" --root "$ROOT" snapshot -q -o "$TESTDIR/snap.tar.gz" >/dev/null || fail "first run failed"
    snap_extract
    check env SOURCE_DATE_EPOCH=1767225600 "$PT" --root "$TESTDIR/x" snapshot -q -o "$TESTDIR/again.tar.gz" >/dev/null || fail "second run failed"
    check diff <(tar -tzvf "$TESTDIR/snap.tar.gz" | grep -v manifest.json) <(tar -tzvf "$TESTDIR/again.tar.gz" | grep -v manifest.json) \
        >"$TESTDIR/diff" || fail "the second snapshot differs:" "$(head -n 20 "$TESTDIR/diff")"

    TEST "a missing output folder is an error that names it; nothing is written"
    use_root x570-two-gpus
    run_pt snapshot -o "$TESTDIR/no/such/dir/snap.tar.gz"
    expect_exit 1
    expect_stderr_contains "$TESTDIR/no/such/dir does not exist"
    check [ ! -e "$TESTDIR/no" ] || fail "something was created"

    TEST "an existing output file is replaced whole"
    use_root x570-two-gpus
    head -c 100000 /dev/zero >"$TESTDIR/snap.tar.gz"
    snap_take -q
    expect_exit 0
    check gzip -t "$TESTDIR/snap.tar.gz" 2>/dev/null || fail "the replaced file is not a gzip stream"
    check [ "$(find "$TESTDIR" -maxdepth 1 -name '.snap.tar.gz.*' | wc -l)" -eq 0 ] || fail "a temporary file was left"

    local dir name
    for dir in "$FIXTURES"/*/; do
        name=$(basename "$dir")
        TEST "round trip: $name gives the same results offline"
        use_root "$name"
        snap_empty_images
        snap_round_trip
    done

    local file=$top/../shared/realworld/iommu-groups.yaml
    if [ -f "$file" ] && [ -n "${PT_MKROOT:-}" ]; then
        local id
        # shellcheck disable=SC2013 # ids are single words
        for id in $(grep -E '^- id:' "$file" | awk '{print $3}'); do
            TEST "round trip: realworld $id"
            ROOT=$TESTDIR/root
            check "$PT_MKROOT" --ids "$top/tests/fixtures/pci.ids" --case "$id" "$file" "$ROOT" >/dev/null 2>&1 \
                || { fail "pt-mkroot could not build it"; continue; }
            snap_take -q
            expect_exit 0
            snap_extract
            snap_same groups iommu-groups --json
            snap_same verify verify --json
        done
    fi
}
