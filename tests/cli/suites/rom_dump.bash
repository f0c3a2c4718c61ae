# pt rom-dump end to end; see tests/cli/run. The fixture roots rom-lab and rom-apu carry `rom`
# files with synthetic ROMs (pt-mkroot rom: {kind: ...}); on a fixture `rom` is a plain file, so
# pt reads it without the sysfs writes (the sequence itself is unit-tested: test_rom_dump.cpp).
# shellcheck shell=bash disable=SC2154
# ($ROOT, $OUT, $ERR, $RC and $TESTDIR belong to tests/cli/run.)

RD_DEV=sys/bus/pci/devices

# rom_set_last_x86 FILE: sets the last-image bit in the PCIR of the x86 image at 0 (PCIR at
# 0x40, indicator at 0x55) of rom-lab's NVIDIA ROM and keeps the image's checksum: its last byte
# (0x5ff, inside the 3 x 512 init size) gives back the 0x80 added.
rom_set_last_x86() {
    local file=$1 last
    last=$(od -An -tu1 -j $((0x5ff)) -N1 "$file" | tr -d ' ')
    printf '\x80' | dd of="$file" bs=1 seek=$((0x55)) conv=notrunc status=none
    printf "\\x$(printf %02x $(((last + 0x80) % 256)))" |
        dd of="$file" bs=1 seek=$((0x5ff)) conv=notrunc status=none
}

suite_rom_dump() {
    TEST "NVIDIA layout: every image with its NPDE, usable with both firmwares, nothing written"
    use_root rom-lab
    run_pt rom-dump 01:00.0
    expect_exit 0
    expect_stdout_file nvidia.txt
    expect_stderr_empty
    expect_unchanged

    TEST "NVIDIA layout, JSON"
    use_root rom-lab
    run_pt rom-dump 01:00 --json
    expect_exit 0
    expect_jq '.source == "0000:01:00.0 rom" and .access == "plain_file" and .size == 2560'
    expect_jq '.device == {"address": "0000:01:00.0", "vendor": "10de", "device": "2484"}'
    expect_jq '[.images[].offset] == [0, 1536] and [.images[].code_type_name] == ["x86 BIOS", "EFI"]'
    expect_jq '.images[0].npde == {"offset": 96, "length_units": 3, "last": false} and .images[0].pcir_length_units == 3'
    expect_jq '.images[0].indicator == "00" and .images[0].last == false and .images[0].checksum_ok == true'
    expect_jq '.images[1].pcir_signature == "PCIR" and .images[1].efi.machine_name == "x64" and .images[1].efi.signature_ok'
    expect_jq '.images[1].indicator == "80" and .images[1].last and .images[1].npde.last == false'
    expect_jq '.images | all(.ids_match == true and .firmware == true)'
    expect_jq '.verdict == {"usable": true, "ovmf": true, "seabios": true, "ids_match": true, "fixable_by_strip": false, "complete": true, "summary": .verdict.summary}'
    expect_jq '[.problems[].kind] == ["nvidia_data"] and .output == null and .written == false'

    TEST "-o FILE: the bytes of rom, written atomically"
    use_root rom-lab
    run_pt rom-dump 0000:01:00.0 -o "$TESTDIR/gpu.rom"
    expect_exit 0
    expect_stdout_contains "wrote $TESTDIR/gpu.rom (2560 bytes)"
    check cmp -s "$ROOT/$RD_DEV/0000:01:00.0/rom" "$TESTDIR/gpu.rom" || fail "gpu.rom differs from the card's rom"
    check [ -z "$(find "$TESTDIR" -maxdepth 1 -name '.gpu.rom.pt-*')" ] || fail "a temporary file was left"
    expect_unchanged

    TEST "-o over an existing file replaces it"
    use_root rom-lab
    echo old >"$TESTDIR/gpu.rom"
    run_pt rom-dump 01:00.0 -q -o "$TESTDIR/gpu.rom"
    expect_exit 0
    check cmp -s "$ROOT/$RD_DEV/0000:01:00.0/rom" "$TESTDIR/gpu.rom" || fail "gpu.rom was not replaced"

    TEST "legacy only: usable with SeaBIOS only"
    use_root rom-lab
    run_pt rom-dump 02:00.0 --json
    expect_exit 0
    expect_jq '.verdict.ovmf == false and .verdict.seabios == true and .verdict.usable == true'
    expect_jq '.verdict.summary | startswith("usable with SeaBIOS only: no EFI image")'

    TEST "a ROM that reads as ff ff: exit 3, -o not written"
    use_root rom-lab
    run_pt rom-dump 03:00.0 -o "$TESTDIR/x.rom"
    expect_exit 3
    expect_stdout_contains "problem: no option ROM image (55 AA with a PCI data structure) in 65536 bytes: it starts with ff ff"
    expect_stderr_contains "the ROM is not usable, so $TESTDIR/x.rom was not written; --force writes it anyway"
    check [ ! -e "$TESTDIR/x.rom" ] || fail "x.rom was written"

    TEST "--force keeps an unusable dump, still exit 3"
    use_root rom-lab
    run_pt rom-dump 03:00.0 -o "$TESTDIR/x.rom" --force --json
    expect_exit 3
    expect_jq '.written == true and .verdict.usable == false and .problems[0].kind == "no_image"'
    check [ "$(stat -c %s "$TESTDIR/x.rom")" = 65536 ] || fail "x.rom was not written whole"

    TEST "a short dump: the size it should have; incomplete, so not written"
    use_root rom-lab
    run_pt rom-dump 04:00.0 -o "$TESTDIR/short.rom"
    expect_exit 3
    expect_stdout_contains "the file should be at least 2048 bytes, it is 1300 (an incomplete dump)"
    expect_stdout_contains "TRUNCATED"
    expect_stdout_contains "verdict: not usable: the image at 0x400 is 1024 bytes but the file ends 276 bytes into it"
    expect_stdout_contains "; dump again: "
    check [ ! -e "$TESTDIR/short.rom" ] || fail "short.rom was written"

    TEST "a ROM for another card: exit 3, the IDs named"
    use_root rom-lab
    run_pt rom-dump 05:00.0 --json
    expect_exit 3
    expect_jq '.verdict.ids_match == false and .verdict.usable == false and .verdict.ovmf == true'
    expect_jq '.images | all(.ids_match == false)'
    expect_jq '.verdict.summary == "not usable for 0000:05:00.0 (10de:1b80): the ROM is for 1002:67ef (on that card it would work with OVMF (UEFI) and SeaBIOS)"'

    TEST "rom cannot be read: exit 1 with the reason"
    use_root rom-lab
    run_pt rom-dump 06:00.0 -o "$TESTDIR/x.rom"
    expect_exit 1
    expect_stderr_contains "pt: error: cannot read $ROOT/$RD_DEV/0000:06:00.0/rom: Is a directory"
    expect_stdout_empty
    check [ ! -e "$TESTDIR/x.rom" ] || fail "x.rom was written"

    TEST "Intel iGPU: no rom attribute, explained"
    use_root rom-lab
    run_pt rom-dump 00:02.0
    expect_exit 1
    expect_stderr_contains "0000:00:02.0 has no rom attribute, so it has no ROM BAR and there is nothing to dump: an integrated GPU keeps its video BIOS in the system firmware"

    TEST "AMD APU: no rom attribute, the VFCT table named"
    use_root rom-apu
    run_pt rom-dump 05:00
    expect_exit 1
    expect_stderr_contains "(AMD APUs: the ACPI VFCT table, which this host has at /sys/firmware/acpi/tables/VFCT)"

    TEST "SEL that names no device, or several"
    use_root rom-lab
    run_pt rom-dump 09:00.0
    expect_exit 2
    expect_stderr_contains "09:00.0 matches no PCI device"

    TEST "--check a good file, with and without --device"
    use_root rom-lab
    cp "$ROOT/$RD_DEV/0000:01:00.0/rom" "$TESTDIR/gpu.rom"
    run_pt rom-dump --check "$TESTDIR/gpu.rom" --json
    expect_exit 0
    expect_jq '.source == "'"$TESTDIR"'/gpu.rom" and .access == null and .device == null and .verdict.ids_match == null'
    expect_jq '.images | all(.ids_match == null)'
    run_pt rom-dump --check "$TESTDIR/gpu.rom" --device 01:00.0
    expect_exit 0
    expect_stdout_contains "IDs match 0000:01:00.0 (10de:2484)"
    run_pt rom-dump --check "$TESTDIR/gpu.rom" --device 02:00.0
    expect_exit 3
    expect_stdout_contains "ids 10de:2484, NOT 0000:02:00.0 (1002:67df)"

    TEST "--check a file with an nvflash header, then --strip-header -o FIXED"
    use_root rom-lab
    rom=$ROOT/$RD_DEV/0000:01:00.0/rom
    { printf 'NVGI'; head -c 287 /dev/zero | tr '\0' 'Z'; cat "$rom"; } >"$TESTDIR/nvflash.rom"
    run_pt rom-dump --check "$TESTDIR/nvflash.rom" --json
    expect_exit 3
    expect_jq '.start == 291 and .images[0].offset == 291 and .problems[0].kind == "vendor_header"'
    expect_jq '.verdict.usable == false and .verdict.fixable_by_strip == true'
    run_pt rom-dump --check "$TESTDIR/nvflash.rom" --strip-header -o "$TESTDIR/fixed.rom"
    expect_exit 0
    expect_stdout_contains "$TESTDIR/nvflash.rom without its first 291 bytes: 2560 bytes"
    expect_stdout_contains "wrote $TESTDIR/fixed.rom (2560 bytes)"
    check cmp -s "$rom" "$TESTDIR/fixed.rom" || fail "fixed.rom is not the ROM without its header"
    run_pt rom-dump --check "$TESTDIR/nvflash.rom" --strip-header -o "$TESTDIR/fixed2.rom" --json
    expect_exit 0
    expect_jq '.stripped_bytes == 291 and .start == 0 and .original.start == 291 and .verdict.usable'

    TEST "--check a truncated file: the size it should have"
    use_root rom-lab
    head -c 2000 "$ROOT/$RD_DEV/0000:01:00.0/rom" >"$TESTDIR/cut.rom"
    run_pt rom-dump --check "$TESTDIR/cut.rom" --json
    expect_exit 3
    expect_jq '.expected_size == 2560 and .images[1].truncated and .verdict.ovmf == false and .verdict.seabios'
    expect_jq '.verdict.complete == false and .verdict.usable == false'
    expect_jq '.verdict.summary | startswith("not usable: the image at 0x600 is 1024 bytes") and contains("; dump again: ")'
    head -c 1536 "$ROOT/$RD_DEV/0000:01:00.0/rom" >"$TESTDIR/cut.rom"
    run_pt rom-dump --check "$TESTDIR/cut.rom"
    expect_exit 3
    expect_stdout_contains "verdict: not usable: the image at 0x0 is not flagged last but the file ends after it"
    run_pt rom-dump --check "$TESTDIR/cut.rom" --json
    expect_jq '[.problems[].kind] == ["no_last_image"] and .verdict.usable == false'

    TEST "--check NVIDIA layouts the firmware walks differently from the NPDE"
    use_root rom-lab
    local base="$ROOT/$RD_DEV/0000:01:00.0/rom"
    # One x86 image, PCIR indicator 0x80, its NPDE "not last" (10de:1180 as dumped): complete.
    head -c 1536 "$base" >"$TESTDIR/one.rom"
    rom_set_last_x86 "$TESTDIR/one.rom"
    run_pt rom-dump --check "$TESTDIR/one.rom"
    expect_exit 0
    expect_stdout_contains "indicator 0x80: last image, checksum ok"
    expect_stdout_contains "(the PCIR says 3 x 512, last; firmware follows the PCIR)"
    expect_stdout_not_contains "images are missing"
    expect_stdout_contains "verdict: usable with SeaBIOS only: no EFI image"
    # The same x86 image with the EFI image after it: only the NPDE chain reaches the EFI image.
    cp "$base" "$TESTDIR/past.rom"
    rom_set_last_x86 "$TESTDIR/past.rom"
    run_pt rom-dump --check "$TESTDIR/past.rom" --json
    expect_exit 0
    expect_jq '[.images[].firmware] == [true, false] and .verdict.ovmf == false and .verdict.seabios and .verdict.usable'
    expect_jq '.verdict.summary | contains("the EFI image at 0x600 comes after the image the PCIR flags last, so firmware never loads it")'
    expect_jq '.problems | any(.kind == "nvidia_data")'
    # The EFI image with NVIDIA's signatures instead of 55 aa: firmware does not load it.
    for sig in '\x77\xbb' '\x56\x4e'; do
        cp "$base" "$TESTDIR/sig.rom"
        printf "$sig" | dd of="$TESTDIR/sig.rom" bs=1 seek=$((0x600)) conv=notrunc status=none
        run_pt rom-dump --check "$TESTDIR/sig.rom" --json
        expect_exit 0
        expect_jq '.verdict.ovmf == false and .verdict.seabios and (.problems | any(.kind == "not_firmware_image"))'
        expect_jq '.verdict.summary | startswith("usable with SeaBIOS only: no EFI image OVMF can load (the image at 0x600 has NVIDIA'"'"'s signature")'
    done

    TEST "--check a text file named .rom"
    use_root rom-lab
    echo "Place your GPU vbios files in this directory" >"$TESTDIR/YourGPU.rom"
    run_pt rom-dump --check "$TESTDIR/YourGPU.rom"
    expect_exit 3
    expect_stdout_contains "verdict: not usable: no option ROM image"

    TEST "--check a missing file"
    use_root rom-lab
    run_pt rom-dump --check "$TESTDIR/none.rom"
    expect_exit 1
    expect_stderr_contains "cannot read $TESTDIR/none.rom"

    TEST "--install: a plan with a binary diff and the romfile= fragment; nothing written"
    use_root rom-lab
    run_pt rom-dump 01:00.0 -q --install rtx3070
    expect_exit 0
    expect_stdout_contains "# create /usr/share/kvm/rtx3070.rom (mode 0644)"
    expect_stdout_contains "Binary files /dev/null and b/usr/share/kvm/rtx3070.rom differ"
    expect_stdout_contains "romfile=rtx3070.rom"
    expect_stdout_contains "dry run: nothing was changed"
    expect_unchanged

    TEST "--install --apply writes the ROM, journalled; again: nothing to do; pt undo removes it"
    use_root rom-lab
    run_pt rom-dump 01:00.0 -q --install rtx3070.rom --apply
    expect_exit 0
    expect_stdout_contains "created /usr/share/kvm/rtx3070.rom"
    check cmp -s "$ROOT/$RD_DEV/0000:01:00.0/rom" "$ROOT/usr/share/kvm/rtx3070.rom" || fail "the installed ROM differs"
    check [ "$(stat -c %a "$ROOT/usr/share/kvm/rtx3070.rom")" = 644 ] || fail "mode is not 0644"
    run_pt rom-dump 01:00.0 -q --install rtx3070 --apply
    expect_exit 0
    expect_stdout_contains "nothing to do"
    run_pt undo
    expect_exit 0
    check [ ! -e "$ROOT/usr/share/kvm/rtx3070.rom" ] || fail "pt undo left the ROM"
    check [ -f "$ROOT/usr/share/kvm/old.rom" ] || fail "another ROM file went away"

    TEST "--install --json prints the plan document"
    use_root rom-lab
    run_pt rom-dump --check "$ROOT/$RD_DEV/0000:02:00.0/rom" --install rx580 --json
    expect_exit 0
    expect_jq '.files[0].path == "/usr/share/kvm/rx580.rom" and .files[0].action == "create" and .applied == false'
    expect_jq '.notes | any(contains("romfile=rx580.rom"))'

    TEST "--install refuses an unusable ROM without --force"
    use_root rom-lab
    run_pt rom-dump 05:00.0 --install wrong --apply
    expect_exit 3
    expect_stderr_contains "the ROM is not usable, so --install wrong was not written"
    expect_unchanged
    run_pt rom-dump 05:00.0 --install wrong --apply --json
    expect_exit 3
    expect_jq '.verdict.usable == false and .written == false'
    expect_unchanged

    TEST "usage errors"
    use_root rom-lab
    run_pt rom-dump
    expect_exit 2
    expect_stderr_contains "give the GPU to dump"
    run_pt rom-dump 01:00.0 --check x.rom
    expect_exit 2
    run_pt rom-dump 01:00.0 --strip-header -o x.rom
    expect_exit 2
    expect_stderr_contains "--strip-header goes with --check FILE"
    run_pt rom-dump --check x.rom --strip-header
    expect_exit 2
    run_pt rom-dump 01:00.0 --device 02:00.0
    expect_exit 2
    run_pt rom-dump 01:00.0 --install ../etc/passwd
    expect_exit 2
    expect_stderr_contains "use a plain file name"
    run_pt rom-dump 01:00.0 --apply
    expect_exit 2
    run_pt rom-dump 01:00.0.9
    expect_exit 2
    expect_unchanged
}
