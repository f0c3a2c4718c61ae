# pt advise on every fixture root, each with the recommendation its facts lead to; see tests/cli/run.
# shellcheck shell=bash disable=SC2154
# ($ROOT, $OUT, $ERR, $RC and $TESTDIR belong to tests/cli/run.)

# ROOT RECOMMENDATION CARD: what pt advise (no SEL, compute) says on each fixture root, and why
# in a word. "error" rows: the root has no single card to advise on, or is a guest.
ad_expected() {
    cat <<'EOF2'
amd-reset               lxc        0000:26:00  Polaris reset bug
cpu-root-ports-shared   lxc        0000:02:00  group shared across CPU root ports
datacenter-3d           vm         0000:18:00  isolated 3D controller
identical-gpus          vm         0000:02:00  the card that is not the boot display
igpu-dgpu               vm         0000:01:00  the dGPU; the iGPU stays the host's
initramfs-formats       vm         0000:0b:00  isolated
intel-shared-group      lxc        0000:03:00  group shared with chipset devices
iommu-off-amd           lxc        0000:26:00  Polaris reset bug (IOMMU off too)
iommu-off               lxc        0000:01:00  no reset method, the host's only display
layers-amd-iommu-off    vm         0000:81:00  the fix first: amd_iommu=off comes out
layers-conflicting-ids  vm         0000:81:00  isolated
layers-hidden           vm         0000:81:00  isolated
layers-ids-space        vm         0000:81:00  isolated
layers-pending          vm         0000:81:00  isolated
layers-running-only     vm         0000:81:00  isolated
layers-stale            vm         0000:81:00  isolated
lxc-nvidia              lxc        0000:81:00  container 201 already shares it
pve-cluster             error      -           two cards it could give away
pve9-grub-6.14          vm         0000:01:00  VM 100 passes it
pve9-keep-7.0           error      -           two cards it could give away
pve9-pbt-6.17           vm         0000:03:00  VM 101 passes it
pve9-vgpu               vm         0000:17:00  VM 100 passes it
rom-apu                 lxc        0000:05:00  an APU's iGPU, the host's only display
rom-lab                 error      -           six cards
seed-rtx3090-after      vm         0000:81:00  the seed scenario, set up
seed-rtx3090            vm         0000:81:00  the seed scenario
sriov-server            error      -           no GPU besides the BMC's
verify-amd-reset        lxc        0000:0a:00  reset bug
verify-amd-zfs          vm         0000:0b:00  isolated
verify-boot-vga         vm         0000:00:02  isolated
verify-driver-bound     vm         0000:01:00  VM 100 passes it
verify-folklore         vm         0000:0b:00  isolated
verify-guest-no-driver  error      -           a VM guest
verify-guest-no-gpu     error      -           a VM guest
verify-guest            error      -           a VM guest
verify-identical-gpus   vm         0000:02:00  VM 100 passes it
verify-intel-grub       vm         0000:01:00  VM 100 passes it
verify-iommu-off        vm         0000:01:00  the IOMMU fix first
verify-no-remap         vm         0000:01:00  isolated
verify-shared-group     lxc        0000:01:00  group shared
verify-stale-initramfs  vm         0000:01:00  isolated
verify-wrong-file       lxc        0000:01:00  group shared
vmconf-rules            error      -           two cards
vmd-domain              vm         0000:01:00  isolated
x570-two-gpus           vm         0000:0b:00  VM 100 passes it
EOF2
}

suite_advise() {
    TEST "every fixture root gets the recommendation its facts lead to (and the table lists every root)"
    local name want card why listed=""
    while read -r name want card why; do
        listed+="$name"$'\n'
        use_root "$name" || continue
        run_pt advise --json
        if [ "$want" = error ]; then
            check [ "$RC" -eq 1 ] || fail "$name: exit $RC, expected 1 ($why)"
            check [ -s "$ERR" ] || fail "$name: no message on stderr"
        else
            check [ "$RC" -eq 0 ] || fail "$name: exit $RC ($why)" "$(cat "$ERR")"
            check jq -e --arg r "$want" --arg c "$card" '.recommendation == $r and .card == $c' "$OUT" >/dev/null \
                || fail "$name: expected $want for $card ($why), got $(jq -c '[.recommendation, .card]' "$OUT" 2>/dev/null)"
            check jq -e '(.reasons | length) > 0 and (.next | length) > 0 and (.risks | type) == "array" and (.name | length) > 0' "$OUT" >/dev/null \
                || fail "$name: the document lacks reasons, next, risks or name"
        fi
        expect_unchanged
    done < <(ad_expected)
    local root
    for root in "$FIXTURES"/*/; do
        root=$(basename "$root")
        check grep -qxF "$root" <<<"$listed" || fail "fixture root $root has no row in ad_expected"
    done

    TEST "text: the card, the recommendation, why, the risks and the next command"
    use_root amd-reset
    run_pt advise
    expect_exit 0
    expect_stdout_contains "pt advise: 0000:26:00 1002:67df"
    expect_stdout_contains "recommendation: lxc (share it into containers through the host's driver)"
    expect_stdout_contains "  - it cannot be reset reliably: AMD Polaris 10 cannot be reset without vendor-reset"
    expect_stdout_contains "risks:"
    expect_stdout_contains "next: "
    expect_unchanged

    TEST "--display: a card with the reset bug is kept on the host; an isolated one goes to a VM"
    use_root amd-reset
    run_pt advise --display --json
    expect_exit 0
    expect_jq '.recommendation == "bare-metal" and .next == "none: keep the card on the host'"'"'s own driver"'
    expect_jq 'any(.risks[]; contains("a VM is still possible once install gnif/vendor-reset"))'
    use_root seed-rtx3090
    run_pt advise --display --json
    expect_exit 0
    expect_jq '.recommendation == "vm" and .next == "pt setup 0000:81:00 --vm VMID --display"'

    TEST "--share: containers, whatever the card; the VM that passes it gives it up first"
    use_root x570-two-gpus
    run_pt advise --share --json
    expect_exit 0
    expect_jq '.recommendation == "lxc"'
    expect_jq '.next == "pt vmconf 100 --remove 0000:0b:00 --apply (VM 100 takes the card from the host whenever it starts), then pt lxc CTID 0000:0b:00"'
    expect_jq 'any(.risks[]; contains("Driver/library version mismatch"))'

    TEST "a container already on the card keeps the advice on LXC; other cards' nodes and snapshots do not count"
    use_root seed-rtx3090
    # The host's NVIDIA driver has the card as minor 0.
    sed -i 's/^DRIVER=.*/DRIVER=nvidia/' "$ROOT/sys/bus/pci/devices/0000:81:00.0/uevent"
    ln -sfn ../../../../bus/pci/drivers/nvidia "$ROOT/sys/bus/pci/devices/0000:81:00.0/driver"
    mkdir -p "$ROOT/proc/driver/nvidia/gpus/0000:81:00.0" "$ROOT/etc/pve/nodes/pve/lxc"
    printf 'Model: \t\t NVIDIA GeForce RTX 3090\nDevice Minor: \t 0\n' >"$ROOT/proc/driver/nvidia/gpus/0000:81:00.0/information"
    printf '%s\n' 'arch: amd64' 'dev0: /dev/nvidia1' 'dev1: /dev/nvidiactl' >"$ROOT/etc/pve/nodes/pve/lxc/300.conf"
    printf '%s\n' 'arch: amd64' '[snap1]' 'dev0: /dev/nvidia0' >"$ROOT/etc/pve/nodes/pve/lxc/301.conf"
    run_pt advise --json
    expect_exit 0
    expect_jq '.recommendation == "vm"'
    printf '%s\n' 'arch: amd64' 'dev0: /dev/nvidia0,gid=44' >"$ROOT/etc/pve/nodes/pve/lxc/302.conf"
    run_pt advise --json
    expect_exit 0
    expect_jq '.recommendation == "lxc" and .reasons[0] == "container 302 already uses the card through the host'"'"'s driver"'
    expect_jq '.next == "pt lxc CTID 0000:81:00"'

    TEST "an SR-IOV card (vGPU) stays split: a VM gets a virtual function, never the whole card"
    use_root pve9-vgpu
    run_pt advise --json
    expect_exit 0
    expect_jq '.recommendation == "vm" and (.next | startswith("pt vmconf VMID VF --function-only --apply"))'
    expect_jq 'any(.risks[]; startswith("do not pass the card itself (pt setup 0000:17:00)"))'
    expect_jq '[.reasons[], .next] | all(contains("pt setup 0000:17:00 --vm") | not)'

    TEST "SEL picks the card; the choice is a usage error when it names two, an error when none"
    use_root pve-cluster
    run_pt advise
    expect_exit 1
    expect_stderr_contains "this host has 2 GPUs it could give away; name one: pt advise 0000:0b:00, pt advise 0000:0e:00"
    run_pt advise 0e:00 --json
    expect_exit 0
    expect_jq '.card == "0000:0e:00"'
    use_root seed-rtx3090
    run_pt advise 05:00
    expect_exit 1
    expect_stderr_contains "05:00 names no GPU of this host"
    run_pt advise --display --share
    expect_exit 2
    run_pt advise zz:zz
    expect_exit 2
    use_root verify-guest
    run_pt advise
    expect_exit 1
    expect_stderr_contains "this is a VM guest"
    expect_stderr_contains "pt verify --guest"
}
