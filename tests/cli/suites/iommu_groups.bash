# pt iommu-groups over every fixture root: text, JSON (checked with jq) and exit codes.

suite_iommu_groups() {
    local dir name want
    for dir in "$FIXTURES"/*/; do
        name=$(basename "$dir")
        TEST "$name: text and JSON list the same groups"
        use_root "$name"
        # Exit 3 exactly when the fixture has no IOMMU groups (IOMMU off, or a guest).
        want=0
        [ -n "$(ls -A "$dir/sys/kernel/iommu_groups" 2>/dev/null)" ] || want=3
        run_pt iommu-groups
        expect_exit "$want"
        grep -oE '^IOMMU group [0-9]+' "$OUT" | awk '{print $3}' >"$TESTDIR/text-groups"
        run_pt iommu-groups --json
        expect_exit "$want"
        expect_jq '.iommu_enabled == (.groups | length > 0)'
        jq -r '.groups[].group' "$OUT" >"$TESTDIR/json-groups"
        check cmp -s "$TESTDIR/text-groups" "$TESTDIR/json-groups" || fail "text and JSON groups differ"
        expect_stderr_empty
        expect_unchanged
    done

    TEST "x570: full text listing matches the expected file"
    use_root x570-two-gpus
    run_pt iommu-groups
    expect_exit 0
    expect_stdout_file x570-two-gpus.txt
    expect_stderr_empty
    expect_unchanged

    TEST "x570: JSON has the documented keys and both GPUs isolated"
    use_root x570-two-gpus
    run_pt iommu-groups --json
    expect_exit 0
    expect_jq '.iommu_enabled == true and .iommu_units == ["ivhd0"] and .diagnosis == null'
    expect_jq '[.groups[].group] == ([.groups[].group] | sort)'
    expect_jq '.groups | length == 14'
    expect_jq '.groups[] | select(.group == 16) | .isolated == true and .viable == true and .foreign == [] and .subject == "0000:0b:00.0"'
    expect_jq '.groups[] | select(.group == 17) | .isolated == true and .viable == false and (.blockers | map(.driver)) == ["amdgpu", "snd_hda_intel"]'
    expect_jq '.groups[] | select(.group == 14) | .isolated == null and .viable == null and .foreign == null'
    expect_jq '.groups[] | select(.group == 16) | .devices[0] | .address == "0000:0b:00.0" and .vendor == "10de" and .device == "2204" and .subsystem_vendor == "1458" and .subsystem_device == "403b" and .class == "030000" and .revision == "a1" and .vendor_name == "NVIDIA Corporation" and .device_name == "GA102 [GeForce RTX 3090]" and .class_name == "VGA compatible controller" and .driver == "vfio-pci" and .bridge == false and .boot_vga == false and .reset_methods == ["flr", "bus"]'
    expect_jq '.groups[] | select(.group == 17) | .devices[0].boot_vga == true and .devices[0].reset_methods == ["bus"]'
    expect_jq '.groups[] | select(.group == 1) | .devices[0].bridge == true and .devices[0].driver == "pcieport"'
    expect_jq '[.groups[].devices[]] | length == 20'

    TEST "x570: --gpu shows only the two GPU groups, numeric sort"
    use_root x570-two-gpus
    run_pt iommu-groups --gpu --json
    expect_exit 0
    expect_jq '[.groups[].group] == [16, 17]'

    TEST "x570: --numeric leaves names out and reads no pci.ids"
    use_root x570-two-gpus
    rm -f "$ROOT/usr/share/misc/pci.ids"
    run_pt iommu-groups --gpu --numeric
    expect_exit 0
    expect_stdout_contains "0000:0b:00.0  class 0300 [10de:2204] (rev a1)"
    expect_stderr_empty

    TEST "x570: a root without pci.ids takes this machine's, with a note"
    use_root x570-two-gpus
    rm -f "$ROOT/usr/share/misc/pci.ids"
    if [ -f /usr/share/misc/pci.ids ]; then
        run_pt iommu-groups --gpu --json
        expect_exit 0
        expect_stderr_contains "pt: note: $ROOT/usr/share/misc/pci.ids does not exist; names come from this machine's /usr/share/misc/pci.ids"
        expect_jq '.groups[0].devices[0].vendor_name == "NVIDIA Corporation"'
        run_pt iommu-groups --gpu -q
        expect_stderr_empty
    elif [ "${PT_CLI_NO_SKIP:-0}" = 1 ]; then
        fail "/usr/share/misc/pci.ids is missing (apt-get install pci.ids)"
    else
        skip "/usr/share/misc/pci.ids is missing on this machine (apt-get install pci.ids)"
    fi

    TEST "x570: a malformed pci.ids is a warning, names fall back to IDs"
    use_root x570-two-gpus
    printf 'bogus line here\n' >"$ROOT/usr/share/misc/pci.ids"
    run_pt iommu-groups --gpu
    expect_exit 0
    expect_stderr_contains "cannot be parsed"
    expect_stdout_contains "[10de:2204]"

    TEST "x570: --group filters, repeatable"
    use_root x570-two-gpus
    run_pt iommu-groups --group 17 --group 2 --json
    expect_exit 0
    expect_jq '[.groups[].group] == [2, 17]'

    TEST "x570: --class prefix keeps groups holding a matching device"
    use_root x570-two-gpus
    run_pt iommu-groups --class 0108 --json
    expect_exit 0
    expect_jq '[.groups[].group] == [14]'

    TEST "x570: --class rejects non-hex"
    use_root x570-two-gpus
    run_pt iommu-groups --class 03zz
    expect_exit 2
    expect_stderr_contains "not a class prefix"

    TEST "x570: every --device selector form finds the RTX 3090's group"
    use_root x570-two-gpus
    for sel in 0000:0b:00.0 0b:00.0 0000:0b:00 0b:00 10de:2204 0B:00.0; do
        run_pt iommu-groups --device "$sel" --json
        expect_exit 0
        expect_jq '[.groups[].group] == [16]'
    done

    TEST "x570: --device on the audio function makes it the subject"
    use_root x570-two-gpus
    run_pt iommu-groups --device 0b:00.1 --json
    expect_jq '.groups[0].subject == "0000:0b:00.1" and .groups[0].isolated == true'

    TEST "x570: a malformed selector is a usage error listing the forms"
    use_root x570-two-gpus
    run_pt iommu-groups --device 0b:0
    expect_exit 2
    expect_stderr_contains "'0b:0' is not a device selector"
    expect_stderr_contains "10de:2204     every device with this vendor:device ID"
    expect_stdout_empty

    TEST "x570: a selector matching nothing is an error listing the display devices"
    use_root x570-two-gpus
    run_pt iommu-groups --device 42:00
    expect_exit 1
    expect_stderr_contains "no PCI device matches '42:00'"
    expect_stderr_contains "0000:0b:00.0 VGA compatible controller [10de:2204]"
    expect_stderr_contains "0000:0c:00.0 VGA compatible controller [1002:73bf]"

    TEST "x570: an unknown group number is an error"
    use_root x570-two-gpus
    run_pt iommu-groups --group 99
    expect_exit 1
    expect_stderr_contains "IOMMU group 99 does not exist"

    TEST "x570: --vfio-ids prints the group's endpoint IDs"
    use_root x570-two-gpus
    run_pt iommu-groups --device 0b:00 --vfio-ids
    expect_exit 0
    expect_stdout_file x570-vfio-ids.txt
    expect_stderr_empty

    TEST "x570: --vfio-ids --json"
    use_root x570-two-gpus
    run_pt iommu-groups --device 0b:00 --vfio-ids --json
    expect_exit 0
    expect_jq '.vfio_ids == "10de:2204,10de:1aef" and .devices == ["0000:0b:00.0", "0000:0b:00.1"] and .also_match == []'

    TEST "x570: --vfio-ids without a selection is a usage error"
    use_root x570-two-gpus
    run_pt iommu-groups --vfio-ids
    expect_exit 2
    expect_stderr_contains "--vfio-ids needs"

    TEST "intel: GPU shares its group with chipset USB, SATA and NIC"
    use_root intel-shared-group
    run_pt iommu-groups --gpu
    expect_exit 0
    expect_stdout_file intel-shared-group-gpu.txt

    TEST "intel: JSON names the foreign devices and their dangers"
    use_root intel-shared-group
    run_pt iommu-groups --device 03:00.0 --json
    expect_exit 0
    expect_jq '.groups[0] | .isolated == false and .viable == false'
    expect_jq '.groups[0].foreign == ["0000:00:14.0", "0000:00:17.0", "0000:00:1f.0", "0000:00:1f.4", "0000:00:1f.6"]'
    expect_jq '[.groups[0].foreign_devices[] | .danger] == ["usb", "storage", null, null, "network"]'
    expect_jq '[.groups[0].foreign[]] | index("0000:00:1c.4") == null'
    expect_jq '.groups[0] | .sharing == "chipset_port" and .root_port == "0000:00:1c.4" and .bmc_display == false'

    TEST "cpu root ports without ACS: both cards are on CPU slots, so no 'move it to the CPU'"
    use_root cpu-root-ports-shared
    run_pt iommu-groups --device 02:00
    expect_exit 0
    expect_stdout_contains "isolated: no   2 endpoints outside 0000:02:00 share the group:"
    expect_stdout_contains "Why: 0000:02:00 is already in a slot wired to the CPU: its root port 0000:00:01.1 and"
    expect_stdout_contains "- pass both cards to the same VM"
    expect_stdout_contains "- or the ACS override, pcie_acs_override=downstream,multifunction"
    expect_stdout_contains "peer-to-peer DMA"
    expect_stdout_contains "- or run the workload on the host itself (bare metal)"
    expect_stdout_not_contains "move the card to a slot on a CPU root port"
    expect_stdout_not_contains "chipset (PCH) root port"
    run_pt iommu-groups --device 02:00 --json
    expect_exit 0
    expect_jq '.groups[0] | .group == 1 and .isolated == false and .sharing == "cpu_root_ports"'
    expect_jq '.groups[0] | .root_port == "0000:00:01.1" and .other_root_ports == ["0000:00:01.0"]'
    expect_jq '.groups[0].foreign == ["0000:01:00.0", "0000:01:00.1"]'

    TEST "a BMC's VGA function is named as the management controller's display"
    use_root seed-rtx3090
    run_pt iommu-groups --device c2:00.0
    expect_exit 0
    expect_stdout_contains "this is the display of the server's management controller (BMC, iLO):"
    expect_stdout_contains "0000:c2:00.0 isolated, not viable (the management controller's display)."
    expect_stdout_not_contains "Fix: bind the endpoints to vfio-pci"
    run_pt iommu-groups --device c2:00.0 --json
    expect_jq '.groups[0] | .bmc_display == true and .sharing == null'
    run_pt iommu-groups --device 81:00.0 --json
    expect_jq '.groups[0].bmc_display == false'

    TEST "intel: --vfio-ids warns that the group is not isolated"
    use_root intel-shared-group
    run_pt iommu-groups --device 03:00 --vfio-ids
    expect_exit 0
    expect_stderr_contains "IOMMU group 7 is not isolated"
    expect_stdout_contains "8086:a2af"

    TEST "iommu-off: cause and fix, exit 3"
    use_root iommu-off
    run_pt iommu-groups
    expect_exit 3
    expect_stdout_file iommu-off.txt

    TEST "iommu-off: JSON says iommu_enabled false, lists devices ungrouped"
    use_root iommu-off
    run_pt iommu-groups --json
    expect_exit 3
    expect_jq '.iommu_enabled == false and .groups == [] and (.ungrouped | length) == 7'
    expect_jq '.diagnosis.fix | contains("intel_iommu=on")'

    TEST "iommu-off-amd: no parameter needed, amd_iommu=on called out"
    use_root iommu-off-amd
    run_pt iommu-groups --json
    expect_exit 3
    expect_jq '.diagnosis.fix | contains("no kernel parameter is needed") and contains("amd_iommu=on, which is not a valid value")'
    expect_jq '.diagnosis.fix | contains("add intel_iommu") | not'
    run_pt iommu-groups
    expect_exit 3
    expect_stdout_contains '0 groups, 4 devices in no group: the IOMMU is off. Fix: enable "IOMMU" (sometimes "AMD-Vi") and SVM in the firmware setup'
    sed -i 's/amd_iommu=on/intel_iommu=on/' "$ROOT/proc/cmdline"
    run_pt iommu-groups --json
    expect_exit 3
    expect_jq '.diagnosis.fix | contains("intel_iommu=on does nothing on an AMD CPU")'

    TEST "iommu-off: --gpu lists the display device without a group"
    use_root iommu-off
    run_pt iommu-groups --gpu --json
    expect_exit 3
    expect_jq '[.ungrouped[].address] == ["0000:01:00.0"]'

    TEST "identical GPUs: --vfio-ids warns the ID also matches the host's card"
    use_root identical-gpus
    run_pt iommu-groups --device 02:00 --vfio-ids --json
    expect_exit 0
    expect_jq '.vfio_ids == "10de:2504,10de:228e" and .also_match == ["0000:01:00.0", "0000:01:00.1"]'
    expect_stderr_contains "0000:01:00.0 has the ID 10de:2504 too but is not selected"

    TEST "identical GPUs: the vendor:device selector matches both cards"
    use_root identical-gpus
    run_pt iommu-groups --device 10de:2504 --json
    expect_exit 0
    expect_jq '[.groups[].group] == [1, 2] and [.groups[].subject] == ["0000:01:00.0", "0000:02:00.0"]'

    TEST "amd-reset: bus-only reset method is reported"
    use_root amd-reset
    run_pt iommu-groups --gpu --json
    expect_jq '.groups[0].devices[0].reset_methods == ["bus"]'
    run_pt iommu-groups --gpu
    expect_stdout_contains "Reset: bus"

    TEST "datacenter: a 3D controller counts as a GPU and has no boot_vga"
    use_root datacenter-3d
    run_pt iommu-groups --gpu --json
    expect_exit 0
    expect_jq '[.groups[].group] == [21, 41]'
    expect_jq '.groups[] | select(.group == 41) | .devices[0] | .class == "030200" and .boot_vga == null and .numa_node == 0 and .link.current_speed == "16.0 GT/s" and .link.current_width == 16'
    expect_jq '.groups[] | select(.group == 21) | .isolated == true and [.devices[].bridge] == [true, false]'

    TEST "igpu-dgpu: the iGPU is the boot display, the dGPU is viable"
    use_root igpu-dgpu
    run_pt iommu-groups --gpu --json
    expect_jq '.groups[] | select(.group == 2) | .devices[0].boot_vga == true and .viable == false'
    expect_jq '.groups[] | select(.group == 12) | .isolated == true and .viable == true'
    run_pt iommu-groups --group 0
    expect_stdout_contains "Host bridge [0600]: Intel Corporation Device a700 [8086:a700]"

    TEST "sriov: VFs and PFs are linked both ways, VFs have their own groups"
    use_root sriov-server
    run_pt iommu-groups --json
    expect_exit 0
    expect_jq '[.groups[].devices[] | select(.address == "0000:3b:00.0")][0].virtfns == ["0000:3b:02.0", "0000:3b:02.1", "0000:3b:02.2", "0000:3b:02.3"]'
    expect_jq '[.groups[].devices[] | select(.physfn == "0000:3b:00.0")] | length == 4'
    expect_jq '[.groups[].devices[] | select(.address == "0000:5e:00.2")][0].driver == "mlx5_vfio_pci"'

    TEST "sriov: a VF on a vfio-pci variant driver is viable"
    use_root sriov-server
    run_pt iommu-groups --device 5e:00.2 --json
    expect_jq '.groups[0] | .group == 52 and .viable == true and .isolated == true'
    run_pt iommu-groups --device 5e:00.3 --json
    expect_jq '.groups[0] | .viable == false and .blockers[0].driver == "mlx5_core"'

    TEST "vmd: domain 10000 addresses, parents through the VMD controller"
    use_root vmd-domain
    run_pt iommu-groups --device 10000:e1:00.0 --json
    expect_exit 0
    expect_jq '.groups[0].group == 5 and .groups[0].subject == "10000:e1:00.0"'
    expect_jq '[.groups[0].devices[].address] == ["0000:00:0e.0", "10000:e0:06.0", "10000:e1:00.0"]'
    expect_jq '.groups[0].devices[1].parent == "0000:00:0e.0" and .groups[0].devices[2].parent == "10000:e0:06.0"'

    TEST "vmd: text shows the wide domain"
    use_root vmd-domain
    run_pt iommu-groups --group 5
    expect_stdout_contains "10000:e1:00.0 Non-Volatile memory controller [0108]"

    TEST "a device whose vendor file is damaged is skipped with a warning"
    use_root x570-two-gpus
    rm "$ROOT/sys/devices/pci0000:00/0000:00:08.2/0000:0e:00.0/uevent"
    echo garbage >"$ROOT/sys/devices/pci0000:00/0000:00:08.2/0000:0e:00.0/vendor"
    run_pt iommu-groups --json
    expect_exit 0
    expect_stderr_contains "0000:0e:00.0"
    expect_stderr_contains "expected a hex value"
    expect_jq '[.groups[].devices[].address] | index("0000:0e:00.0") == null'

    TEST "without uevent the separate attributes give the same devices"
    use_root x570-two-gpus
    run_pt iommu-groups --json
    cp "$OUT" "$TESTDIR/with-uevent.json"
    find "$ROOT/sys/devices" -name uevent -delete
    run_pt iommu-groups --json
    expect_exit 0
    check diff -u "$TESTDIR/with-uevent.json" "$OUT" >"$TESTDIR/diff" || fail "JSON differs:" "$(head -n 20 "$TESTDIR/diff")"

    TEST "an absolute symlink in the root does not escape it"
    use_root x570-two-gpus
    rm "$ROOT/sys/bus/pci/devices/0000:0b:00.0"
    ln -s "/sys/devices/pci0000:00/0000:00:03.1/0000:0b:00.0" "$ROOT/sys/bus/pci/devices/0000:0b:00.0"
    run_pt iommu-groups --device 0b:00.0 --json
    expect_exit 0
    expect_jq '.groups[0].devices[0].device_name == "GA102 [GeForce RTX 3090]"'
}
