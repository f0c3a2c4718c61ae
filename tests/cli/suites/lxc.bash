# pt lxc end to end; see tests/cli/run.
# shellcheck shell=bash disable=SC2154
# ($ROOT, $OUT, $ERR, $RC and $TESTDIR belong to tests/cli/run.)
#
# Roots: lxc-nvidia (the seed's RTX 3090 on the NVIDIA driver as minor 0, nvidia-uvm loaded,
# container 200 without GPU lines, container 201 with them), seed-rtx3090-after (the card on
# vfio-pci), x570-two-gpus (VM 100 passes its card).

lx_config=etc/pve/nodes/pve/lxc/200.conf

suite_lxc() {
    TEST "the card's own node, the shared NVIDIA nodes that exist, as devN: lines; a dry run changes nothing"
    use_root lxc-nvidia
    run_pt lxc 200 81:00
    expect_exit 0
    expect_stdout_contains "--- a/$lx_config"
    expect_stdout_contains "+dev0: /dev/nvidia0"
    expect_stdout_contains "+dev1: /dev/nvidiactl"
    expect_stdout_contains "+dev2: /dev/nvidia-uvm"
    expect_stdout_contains "+dev3: /dev/nvidia-uvm-tools"
    expect_stdout_contains "+dev4: /dev/nvidia-modeset"
    expect_stdout_not_contains "nvidia-caps" # not on this host
    expect_stdout_contains "Driver/library version mismatch"
    expect_stdout_contains "pct reboot 200"
    expect_stdout_not_contains "privileged"
    expect_unchanged

    TEST "JSON: the container, the card, the style and each node with its major:minor"
    use_root lxc-nvidia
    run_pt lxc 200 81:00 --json
    expect_exit 0
    expect_jq '.ctid == 200 and .card == "0000:81:00" and .style == "dev" and .applied == false'
    expect_jq '[.nodes[] | "\(.path) \(.major):\(.minor)"] == ["/dev/nvidia0 195:0", "/dev/nvidiactl 195:255", "/dev/nvidia-uvm 507:0", "/dev/nvidia-uvm-tools 507:1", "/dev/nvidia-modeset 195:254"]'

    TEST "--apply writes one journal entry; a second run plans nothing; pt undo restores the config byte for byte"
    use_root lxc-nvidia
    cp "$ROOT/$lx_config" "$TESTDIR/before.conf"
    run_pt lxc 200 81:00 --apply
    expect_exit 0
    expect_stdout_contains "journal: "
    check grep -qxF "dev0: /dev/nvidia0" "$ROOT/$lx_config" || fail "dev0 is not in the config"
    run_pt lxc 200 81:00
    expect_exit 0
    expect_stdout_contains "nothing to do"
    run_pt undo
    expect_exit 0
    check cmp -s "$TESTDIR/before.conf" "$ROOT/$lx_config" || fail "undo did not restore the config"

    TEST "--remove takes the card's nodes out again, and keeps the container's other lines"
    use_root lxc-nvidia
    cp "$ROOT/etc/pve/nodes/pve/lxc/201.conf" "$TESTDIR/201.conf"
    run_pt lxc 201 81:00 --remove --apply
    expect_exit 0
    check test "$(grep -c '^dev' "$ROOT/etc/pve/nodes/pve/lxc/201.conf")" -eq 0 || fail "devN lines are left"
    check test "$(grep -vc '^dev' "$TESTDIR/201.conf")" -eq "$(wc -l <"$ROOT/etc/pve/nodes/pve/lxc/201.conf")" \
        || fail "other lines changed"

    TEST "NVIDIA's nodes get no gid= even when the running container's groups are readable (the unit tests cover render/video for DRM nodes)"
    use_root lxc-nvidia
    mkdir -p "$ROOT/var/lib/lxc/200/rootfs/etc"
    printf '%s\n' 'root:x:0:' 'video:x:44:' 'render:x:993:' >"$ROOT/var/lib/lxc/200/rootfs/etc/group"
    run_pt lxc 200 81:00 --json
    expect_exit 0
    # NVIDIA's nodes are the driver's own (mode 0666): no group needed.
    expect_jq 'all(.nodes[]; .gid == null)'

    TEST "Proxmox VE before 8.1: the raw lxc.cgroup2 and lxc.mount.entry pair, with majors from /proc/devices"
    use_root lxc-nvidia
    sed -i 's/^Version: 8\..*/Version: 8.0.4/' "$ROOT/var/lib/dpkg/status"
    grep -q '^Version: 8.0.4' "$ROOT/var/lib/dpkg/status" || fail "the fixture's dpkg status has no pve-manager 8 version to change"
    (cd "$ROOT" && find . -printf '%p %y %l %s\n' | sort >"$TESTDIR/tree.before")
    run_pt lxc 200 81:00
    expect_exit 0
    expect_stdout_contains "+lxc.cgroup2.devices.allow: c 195:0 rwm"
    expect_stdout_contains "+lxc.mount.entry: /dev/nvidia0 dev/nvidia0 none bind,optional,create=file"
    expect_stdout_contains "+lxc.cgroup2.devices.allow: c 507:0 rwm"
    expect_stdout_not_contains "+dev0:"
    expect_unchanged

    TEST "refusals: the card on vfio-pci, passed to a VM, a missing container, a missing node"
    use_root seed-rtx3090-after
    mkdir -p "$ROOT/etc/pve/nodes/pve/lxc"
    printf 'arch: amd64\nunprivileged: 1\n' >"$ROOT/etc/pve/nodes/pve/lxc/200.conf"
    (cd "$ROOT" && find . -printf '%p %y %l %s\n' | sort >"$TESTDIR/tree.before")
    run_pt lxc 200 81:00 --apply
    expect_exit 1
    expect_stderr_contains "0000:81:00.0 is on vfio-pci"
    expect_stderr_contains "pt unbind 0000:81:00 --apply"
    expect_unchanged
    use_root x570-two-gpus
    mkdir -p "$ROOT/etc/pve/qemu-server/../lxc"
    printf 'arch: amd64\nunprivileged: 1\n' >"$ROOT/etc/pve/lxc/200.conf"
    run_pt lxc 200 0b:00
    expect_exit 1
    expect_stderr_contains "pt vmconf 100 --remove 0000:0b:00 --apply"
    use_root lxc-nvidia
    run_pt lxc 299 81:00
    expect_exit 1
    expect_stderr_contains "container 299 does not exist"
    rm "$ROOT/dev/nvidia-uvm"
    run_pt lxc 200 81:00
    expect_exit 1
    expect_stderr_contains "/dev/nvidia-uvm does not exist"
    expect_stderr_contains "nvidia-modprobe -u -c=0"
    run_pt lxc 200 zz
    expect_exit 2
    run_pt lxc 200 41:00
    expect_exit 1
    expect_stderr_contains "41:00 names no GPU of this host"

    TEST "a privileged container is planned with a warning note"
    use_root lxc-nvidia
    sed -i '/^unprivileged:/d' "$ROOT/$lx_config"
    run_pt lxc 200 81:00
    expect_exit 0
    expect_stdout_contains "container 200 is privileged"

    lxc_verify_ct
}

# pt verify --ct over the same roots (pt-verify(1), Container).
lxc_verify_ct() {
    local lib
    TEST "pt verify --ct: a share that works but for the running container's older NVIDIA userspace"
    use_root lxc-nvidia
    run_pt verify --ct 201 --json
    expect_exit 3
    expect_jq '.platform.pve_manager == "8.3.0"'
    expect_jq '[.checks[].id] == ["ct.config", "ct.host-driver", "ct.device-nodes", "ct.config-nodes", "ct.config-nodes", "ct.config-nodes", "ct.config-nodes", "ct.nvidia-userspace"]'
    expect_jq '[.checks[] | select(.status == "fail") | .id] == ["ct.nvidia-userspace"]'
    expect_jq '.checks[-1].fix | contains("NVIDIA-Linux-x86_64-550.127.05.run --no-kernel-module")'
    expect_jq '.checks[-1].summary | contains("Driver/library version mismatch")'
    # Plain files stand in for the nodes in a fixture root: the evidence says so.
    expect_jq '.checks[3].evidence | contains("standing in")'

    TEST "pt verify --ct: the matching userspace passes; a stopped container skips the check and says how to check it"
    use_root lxc-nvidia
    lib=$ROOT/var/lib/lxc/201/rootfs/usr/lib/x86_64-linux-gnu
    rm "$lib/libnvidia-ml.so.550.120"
    : >"$lib/libnvidia-ml.so.550.127.05"
    ln -s libnvidia-ml.so.550.127.05 "$lib/libnvidia-ml.so.1"
    run_pt verify --ct 201 --json
    expect_exit 0
    expect_jq '.checks[-1].status == "pass" and .checks[-1].summary == "libnvidia-ml 550.127.05 matches the host'"'"'s module"'
    expect_jq '.summary == {"pass": 8, "warn": 0, "fail": 0, "skip": 0}'
    rm -r "$ROOT/var/lib/lxc/201"
    run_pt verify --ct 201 --json
    expect_exit 0
    expect_jq '.checks[-1].status == "skip" and (.checks[-1].summary | contains("pct start 201"))'

    TEST "pt verify --ct: no GPU lines fails with pt lxc as the fix; after pt lxc --apply the check passes"
    use_root lxc-nvidia
    run_pt verify --ct 200 --json
    expect_exit 3
    expect_jq '.checks[0].id == "ct.config" and .checks[0].status == "fail"'
    expect_jq '.checks[0].fix == "pt lxc 200 0000:81:00 --apply, then pct reboot 200"'
    run_pt lxc 200 81:00 --apply
    expect_exit 0
    expect_stdout_contains "pt verify --ct 200"
    run_pt verify --ct 200 --json
    expect_exit 0
    expect_jq '[.checks[] | select(.status == "fail" or .status == "warn")] == []'

    TEST "pt verify --ct: real character devices are compared by major:minor (mknod)"
    use_root lxc-nvidia
    if ! mknod "$TESTDIR/probe" c 195 0 2>/dev/null; then
        skip "mknod is not permitted here (it needs root or CAP_MKNOD)"
    else
        rm "$ROOT/dev/nvidia0" "$ROOT/dev/nvidiactl"
        mknod "$ROOT/dev/nvidia0" c 195 0
        mknod "$ROOT/dev/nvidiactl" c 195 255
        run_pt verify --ct 201 --json
        expect_jq '.checks[3].status == "pass" and (.checks[3].evidence | contains("character device 195:0"))'
        expect_jq '.checks[4].status == "pass" and (.checks[4].evidence | contains("character device 195:255"))'
        rm "$ROOT/dev/nvidia0"
        mknod "$ROOT/dev/nvidia0" c 195 1
        run_pt verify --ct 201 --json
        expect_exit 3
        expect_jq '.checks[3].status == "fail" and (.checks[3].summary | contains("is 195:1, but the driver'"'"'s node is 195:0"))'
    fi

    TEST "pt verify --ct: a stale line stops the container; the card on vfio-pci; usage errors"
    use_root lxc-nvidia
    printf 'dev4: /dev/nvidia1\n' >>"$ROOT/etc/pve/nodes/pve/lxc/201.conf"
    run_pt verify --ct 201 --json
    expect_exit 3
    expect_jq 'any(.checks[]; .id == "ct.config-nodes" and .status == "fail" and .fix == "pct set 201 --delete dev4" and (.summary | contains("Device /dev/nvidia1 does not exist")))'
    run_pt verify --ct 299
    expect_exit 1
    expect_stderr_contains "container 299 does not exist"
    run_pt verify --ct 201 --vm 100
    expect_exit 2
    run_pt verify --ct 201 --guest
    expect_exit 2
    use_root seed-rtx3090-after
    mkdir -p "$ROOT/etc/pve/nodes/pve/lxc"
    printf 'arch: amd64\ndev0: /dev/nvidia0\nunprivileged: 1\n' >"$ROOT/etc/pve/nodes/pve/lxc/200.conf"
    run_pt verify --ct 200 81:00 --json
    expect_exit 3
    expect_jq 'any(.checks[]; .id == "ct.host-driver" and .status == "fail" and .fix == "pt unbind 0000:81:00 --apply")'
}
