// SPDX-License-Identifier: MIT
#include "pt/rom/parse.hpp"
#include "support/catch.hpp"
#include "support/rom_builder.hpp"

#include <string>
#include <vector>

using pt::rom::analyze_rom;
using pt::rom::ProblemKind;
using pt::test::build_rom;
using pt::test::build_rom_kind;
using pt::test::rom_efi;
using pt::test::rom_legacy;
using pt::test::RomImageSpec;

namespace {

std::vector<std::uint8_t> with_prefix(std::vector<std::uint8_t> rom, std::size_t n) {
    std::vector<std::uint8_t> out;
    const std::string nvgi = "NVGI";
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(i < nvgi.size() ? static_cast<std::uint8_t>(nvgi[i])
                                      : static_cast<std::uint8_t>(i * 7));
    }
    out.insert(out.end(), rom.begin(), rom.end());
    return out;
}

} // namespace

TEST_CASE("rom::analyze_rom legacy only", "[rom][parse]") {
    const auto bytes = build_rom_kind("legacy", 0x10de, 0x1180);
    const auto r = analyze_rom(bytes);
    REQUIRE(r.images.size() == 1);
    const auto& img = r.images[0];
    CHECK(img.offset == 0);
    CHECK(img.signature == 0xAA55);
    CHECK(img.pcir_offset == 0x40);
    CHECK(img.pcir_signature == "PCIR");
    CHECK(img.vendor_id == 0x10de);
    CHECK(img.device_id == 0x1180);
    CHECK(img.class_code == 0x030000);
    CHECK(img.length == 1024);
    CHECK(img.pcir_length_units == 2);
    CHECK(img.code_type == 0);
    CHECK(img.last);
    CHECK(img.checksum_ok == std::optional<bool>(true));
    CHECK_FALSE(img.efi);
    CHECK(r.problems.empty());
    CHECK(r.start == 0);
    CHECK(r.end == bytes.size());
    CHECK(r.usable_with_seabios());
    CHECK_FALSE(r.usable_with_ovmf());
    CHECK(r.usable());
    CHECK(pt::rom::code_type_name(img.code_type) == "x86 BIOS");
}

TEST_CASE("rom::analyze_rom legacy plus EFI", "[rom][parse]") {
    const auto bytes = build_rom_kind("legacy+efi", 0x1002, 0x67ef);
    const auto r = analyze_rom(bytes);
    REQUIRE(r.images.size() == 2);
    CHECK_FALSE(r.images[0].last);
    const auto& efi = r.images[1];
    CHECK(efi.offset == 1024);
    CHECK(efi.code_type == 3);
    CHECK(efi.last);
    CHECK_FALSE(efi.checksum_ok); // only x86 images carry a checksum
    REQUIRE(efi.efi);
    CHECK(efi.efi->signature == 0x0EF1);
    CHECK(efi.efi->signature_ok());
    CHECK(efi.efi->subsystem == 0x0B);
    CHECK(efi.efi->machine == pt::rom::k_machine_x64);
    CHECK(efi.efi->compression == 1);
    CHECK(pt::rom::machine_name(efi.efi->machine) == "x64");
    CHECK(r.problems.empty());
    CHECK(r.usable_with_ovmf());
    CHECK(r.usable_with_seabios());
    CHECK(r.has_efi());
    CHECK(r.has_x86());
}

TEST_CASE("rom::analyze_rom NVIDIA layout: the NPDE is read, firmware's PCIR chain decides",
          "[rom][parse]") {
    const auto bytes = build_rom_kind("nvidia", 0x10de, 0x2484);
    const auto r = analyze_rom(bytes);
    REQUIRE(r.images.size() == 2);
    const auto& a = r.images[0];
    CHECK(a.pcir_length_units == 3);
    REQUIRE(a.npde);
    CHECK(a.npde->length_units == 3);
    CHECK(a.npde->offset == 0x60); // 0x40 + 0x18, aligned up to 16
    CHECK(a.length == 3 * 512);
    CHECK_FALSE(a.last);
    CHECK(a.firmware);
    CHECK(a.checksum_ok == std::optional<bool>(true));
    const auto& efi = r.images[1];
    CHECK(efi.offset == 3 * 512);
    CHECK(efi.last); // the PCIR says last; its NPDE says more NVIDIA data follows
    REQUIRE(efi.npde);
    CHECK((efi.npde->indicator & 0x80) == 0);
    CHECK(efi.firmware);
    // The data images are not in the bytes (a sysfs read ends at the PCIR-last image): a note.
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].kind == ProblemKind::nvidia_data);
    CHECK(pt::rom::is_note(r.problems[0].kind));
    CHECK(r.complete());
    CHECK(r.end == bytes.size());
    CHECK(r.trailing_bytes == 0);
    CHECK(r.usable_with_ovmf());
    CHECK(r.usable_with_seabios());
}

TEST_CASE("rom::analyze_rom the PCIR last-image bit ends the chain whatever the NPDE says",
          "[rom][parse]") {
    // 10de:1180 (GTX 680) as dumped: one x86 image, indicator 0x80, an NPDE saying "not last".
    auto x86 = rom_legacy(0x10de, 0x1180, 3);
    x86.last = true;
    x86.npde_units = 3;
    x86.npde_last = false;
    SECTION("a complete one-image ROM is complete, not missing images") {
        const auto bytes = build_rom({x86});
        const auto r = analyze_rom(bytes);
        REQUIRE(r.images.size() == 1);
        CHECK(r.images[0].last);
        CHECK(r.images[0].indicator == 0x80);
        CHECK_FALSE(r.has(ProblemKind::no_last_image));
        CHECK(r.complete());
        CHECK(r.has(ProblemKind::nvidia_data));
        CHECK(r.usable_with_seabios());
        CHECK(r.end == bytes.size());
    }
    SECTION("an EFI image past the PCIR-last image is NVIDIA data: OVMF never loads it") {
        auto efi = rom_efi(0x10de, 0x1180);
        efi.last = true;
        const auto bytes = build_rom({x86, efi});
        const auto r = analyze_rom(bytes);
        REQUIRE(r.images.size() == 2);
        CHECK(r.images[0].firmware);
        CHECK_FALSE(r.images[1].firmware);
        CHECK(r.images[1].offset == 3 * 512);
        CHECK(r.images[1].efi);
        CHECK_FALSE(r.images[1].loadable_efi_x64());
        CHECK(r.end == 3 * 512); // the firmware's chain
        CHECK(r.trailing_bytes == 0);
        CHECK(r.has(ProblemKind::nvidia_data));
        CHECK_FALSE(r.usable_with_ovmf());
        CHECK(r.usable_with_seabios());
        CHECK(r.complete());
    }
    SECTION("the same without an NPDE: trailing data with an image firmware never reaches") {
        auto plain = rom_legacy(0x10de, 0x1180, 3);
        plain.last = true;
        auto efi = rom_efi(0x10de, 0x1180);
        efi.last = true;
        const auto r = analyze_rom(build_rom({plain, efi}));
        REQUIRE(r.images.size() == 1);
        CHECK(r.trailing_image == std::optional<std::size_t>(3 * 512));
        CHECK(r.has(ProblemKind::trailing_data));
        CHECK_FALSE(r.usable_with_ovmf());
    }
    SECTION("NVIDIA data images in the bytes are listed, not counted") {
        auto efi = rom_efi(0x10de, 0x1180);
        efi.last = true;
        efi.npde_units = 2;
        efi.npde_last = false;
        RomImageSpec data;
        data.code_type = 0xE0;
        data.device = 0x0ff0;
        data.class_code = 0;
        data.npde_units = 1;
        data.npde_last = true;
        auto first = x86;
        first.last = false;
        const auto bytes = build_rom({first, efi, data});
        const auto r = analyze_rom(bytes);
        REQUIRE(r.images.size() == 3);
        CHECK(r.images[1].firmware);
        CHECK(r.images[1].loadable_efi_x64());
        CHECK_FALSE(r.images[2].firmware);
        CHECK(r.images[2].last);
        CHECK(r.images[2].code_type == 0xE0);
        CHECK(r.end == 5 * 512);
        CHECK_FALSE(r.has(ProblemKind::trailing_data));
        CHECK(r.has(ProblemKind::nvidia_data));
        CHECK(r.usable_with_ovmf());
        CHECK(r.usable_with_seabios());
    }
}

TEST_CASE("rom::analyze_rom images firmware does not load: NVIDIA signatures and structures",
          "[rom][parse]") {
    auto x86 = rom_legacy(0x10de, 0x2484);
    auto efi = rom_efi(0x10de, 0x2484);
    efi.last = true;
    SECTION("EFI image with signature 77 bb or 56 4e instead of 55 aa") {
        for (const std::uint16_t sig : {std::uint16_t{0xBB77}, std::uint16_t{0x4E56}}) {
            efi.signature = sig;
            const auto r = analyze_rom(build_rom({x86, efi}));
            REQUIRE(r.images.size() == 2);
            CHECK(r.images[1].signature == sig);
            CHECK(r.images[1].efi);
            CHECK(r.images[1].efi->signature_ok());
            CHECK_FALSE(r.images[1].firmware_reads());
            CHECK(r.has(ProblemKind::not_firmware_image));
            CHECK_FALSE(r.usable_with_ovmf());
            CHECK(r.usable_with_seabios());
        }
    }
    SECTION("EFI image with an NPDS structure instead of PCIR") {
        efi.pcir_signature = "NPDS";
        const auto r = analyze_rom(build_rom({x86, efi}));
        REQUIRE(r.images.size() == 2);
        CHECK(r.images[1].pcir_signature == "NPDS");
        CHECK(r.has(ProblemKind::not_firmware_image));
        CHECK_FALSE(r.usable_with_ovmf());
    }
}

TEST_CASE("rom::analyze_rom vendor header before the first image", "[rom][parse]") {
    const auto rom = build_rom_kind("legacy+efi", 0x10de, 0x2484);
    // 0x123: not a multiple of 512, which rom-parser cannot handle.
    const auto bytes = with_prefix(rom, 0x123);
    const auto r = analyze_rom(bytes);
    CHECK(r.start == 0x123);
    REQUIRE(r.images.size() == 2);
    CHECK(r.images[0].offset == 0x123);
    CHECK(r.images[1].offset == 0x123 + 1024);
    CHECK(r.has(ProblemKind::vendor_header));
    CHECK_FALSE(r.usable_with_ovmf());
    CHECK_FALSE(r.usable_with_seabios());
    CHECK(r.fixable_by_strip());
    const auto fixed = pt::rom::strip_header(bytes, r);
    CHECK(std::vector<std::uint8_t>(fixed.begin(), fixed.end()) == rom);
    const auto again = analyze_rom(fixed);
    CHECK(again.problems.empty());
    CHECK(again.usable_with_ovmf());
}

TEST_CASE("rom::analyze_rom truncated dumps", "[rom][parse]") {
    const auto rom = build_rom_kind("legacy+efi", 0x1002, 0x6798);

    SECTION("cut inside the EFI image: the size the file should have") {
        const std::vector<std::uint8_t> cut(rom.begin(), rom.begin() + 1024 + 300);
        const auto r = analyze_rom(cut);
        REQUIRE(r.images.size() == 2);
        CHECK(r.images[1].truncated);
        CHECK(r.has(ProblemKind::truncated));
        CHECK(r.expected_size == std::optional<std::size_t>(2048));
        CHECK_FALSE(r.usable_with_ovmf());
        CHECK(r.usable_with_seabios()); // the x86 image is complete
        CHECK(r.trailing_bytes == 0);
    }
    SECTION("cut at an image boundary (a 64 KiB dump without its EFI image)") {
        const std::vector<std::uint8_t> cut(rom.begin(), rom.begin() + 1024);
        const auto r = analyze_rom(cut);
        REQUIRE(r.images.size() == 1);
        CHECK(r.has(ProblemKind::no_last_image));
        CHECK_FALSE(r.has(ProblemKind::truncated));
        CHECK_FALSE(r.usable_with_ovmf());
    }
    SECTION("cut inside the first header") {
        const std::vector<std::uint8_t> cut(rom.begin(), rom.begin() + 0x10);
        const auto r = analyze_rom(cut);
        REQUIRE(r.images.size() == 1);
        CHECK(r.has(ProblemKind::truncated));
        CHECK_FALSE(r.usable());
    }
    SECTION("cut inside the PCIR") {
        const std::vector<std::uint8_t> cut(rom.begin(), rom.begin() + 0x48);
        const auto r = analyze_rom(cut);
        CHECK(r.has(ProblemKind::truncated));
        CHECK(r.expected_size == std::optional<std::size_t>(0x40 + 0x18));
    }
    SECTION("every prefix is analysed without reading past it") {
        for (std::size_t n = 0; n <= rom.size(); n += 7) {
            const std::vector<std::uint8_t> cut(rom.begin(), rom.begin() + n);
            const auto r = analyze_rom(cut);
            CHECK(r.end <= std::max(n, r.end));
            CHECK(r.size == n);
        }
    }
}

TEST_CASE("rom::analyze_rom bad checksum", "[rom][parse]") {
    auto a = rom_legacy(0x10de, 0x1180);
    a.last = true;
    a.good_checksum = false;
    const auto r = analyze_rom(build_rom({a}));
    REQUIRE(r.images.size() == 1);
    CHECK(r.images[0].checksum_ok == std::optional<bool>(false));
    CHECK(r.has(ProblemKind::bad_checksum));
    CHECK_FALSE(r.usable_with_seabios());
    CHECK_FALSE(r.usable());
}

namespace {

// The sum of bytes [from, from + n), modulo 256.
unsigned sum8(const std::vector<std::uint8_t>& b, std::size_t from, std::size_t n) {
    unsigned sum = 0;
    for (std::size_t i = from; i < from + n; ++i) {
        sum += b.at(i);
    }
    return sum & 0xFF;
}

// An NVIDIA-style x86 image with an NPDE: 3 blocks long, the last one.
RomImageSpec nvidia_x86() {
    auto a = rom_legacy(0x10de, 0x2484, 3);
    a.last = true;
    a.npde_units = 3;
    a.npde_last = true;
    return a;
}

} // namespace

TEST_CASE("rom::analyze_rom x86 checksum covers the init size (byte 2), as SeaBIOS checks it",
          "[rom][parse]") {
    SECTION("init size 1 block, image 3 blocks: only the first 512 bytes must sum to 0") {
        auto bytes = build_rom({nvidia_x86()});
        bytes[0x02] = 1;
        bytes[0x300] = 0x11; // past the init size: not summed by SeaBIOS
        bytes[0x1FF] = 0;
        bytes[0x1FF] = static_cast<std::uint8_t>((0x100 - sum8(bytes, 0, 512)) & 0xFF);
        REQUIRE(sum8(bytes, 0, 512) == 0);
        REQUIRE(sum8(bytes, 0, bytes.size()) != 0); // the image length would fail
        const auto r = analyze_rom(bytes);
        REQUIRE(r.images.size() == 1);
        CHECK(r.images[0].length == 3 * 512); // the image length, not the init size
        CHECK(r.images[0].checksum_ok == std::optional<bool>(true));
        CHECK_FALSE(r.has(ProblemKind::bad_checksum));
        CHECK(r.usable_with_seabios());
    }
    SECTION("the whole image sums to 0 but the init size does not: bad") {
        auto bytes = build_rom({nvidia_x86()});
        bytes[0x02] = 1;
        bytes.back() = static_cast<std::uint8_t>(bytes.back() + 2); // 3 -> 1 took 2 off
        REQUIRE(sum8(bytes, 0, bytes.size()) == 0);
        REQUIRE(sum8(bytes, 0, 512) != 0);
        const auto r = analyze_rom(bytes);
        REQUIRE(r.images.size() == 1);
        CHECK(r.images[0].checksum_ok == std::optional<bool>(false));
        CHECK(r.has(ProblemKind::bad_checksum));
        CHECK_FALSE(r.usable_with_seabios());
    }
    SECTION("an init size past the end of the file is truncation") {
        auto bytes = build_rom({nvidia_x86()});
        bytes[0x02] = 4;
        const auto r = analyze_rom(bytes);
        REQUIRE(r.images.size() == 1);
        CHECK(r.images[0].truncated);
        CHECK(r.has(ProblemKind::truncated));
        CHECK(r.expected_size == std::optional<std::size_t>(4 * 512));
        CHECK_FALSE(r.usable_with_seabios());
    }
    SECTION("an init size of 0 is refused") {
        auto bytes = build_rom({nvidia_x86()});
        bytes[0x02] = 0;
        const auto r = analyze_rom(bytes);
        REQUIRE(r.images.size() == 1);
        CHECK(r.images[0].checksum_ok == std::optional<bool>(false));
        CHECK(r.has(ProblemKind::bad_checksum));
    }
}

TEST_CASE("rom::ids_match", "[rom][parse]") {
    const auto r = analyze_rom(build_rom_kind("legacy+efi", 0x1002, 0x67ef));
    CHECK(pt::rom::ids_match(r, 0x1002, 0x67ef) == std::optional<bool>(true));
    CHECK(pt::rom::ids_match(r, 0x1002, 0x699f) == std::optional<bool>(false));
    CHECK(pt::rom::ids_match(r, 0x10de, 0x67ef) == std::optional<bool>(false));

    SECTION("the PCI 3.0 device list") {
        auto a = rom_legacy(0x1002, 0x6798);
        a.device_list = {0x6799, 0x679a};
        a.last = true;
        const auto l = analyze_rom(build_rom({a}));
        REQUIRE(l.images.size() == 1);
        CHECK(l.images[0].device_list == std::vector<std::uint16_t>{0x6799, 0x679a});
        CHECK(pt::rom::ids_match(l, 0x1002, 0x679a) == std::optional<bool>(true));
        CHECK(pt::rom::ids_match(l, 0x1002, 0x6800) == std::optional<bool>(false));
        CHECK(l.images[0].checksum_ok == std::optional<bool>(true));
    }
    SECTION("one image of the pair for another card") {
        auto a = rom_legacy(0x1002, 0x67ef);
        auto b = rom_efi(0x1002, 0x67df);
        b.last = true;
        const auto m = analyze_rom(build_rom({a, b}));
        CHECK(pt::rom::ids_match(m, 0x1002, 0x67ef) == std::optional<bool>(false));
    }
    SECTION("nothing to compare") {
        CHECK_FALSE(pt::rom::ids_match(analyze_rom(std::vector<std::uint8_t>{}), 1, 2));
    }
}

TEST_CASE("rom::analyze_rom last-image flag is bit 7 only", "[rom][parse]") {
    auto a = rom_legacy(0x10de, 0x1180);
    a.indicator_extra = 0x7F; // every other bit set: not last
    auto b = rom_efi(0x10de, 0x1180);
    b.last = true;
    b.indicator_extra = 0x01;
    auto c = rom_legacy(0x10de, 0x1180); // after the last image: trailing data
    const auto r = analyze_rom(build_rom({a, b, c}));
    REQUIRE(r.images.size() == 2);
    CHECK(r.images[0].indicator == 0x7F);
    CHECK_FALSE(r.images[0].last);
    CHECK(r.images[1].indicator == 0x81);
    CHECK(r.images[1].last);
    CHECK(r.has(ProblemKind::trailing_data));
    CHECK(r.trailing_bytes == 1024);
    CHECK_FALSE(r.trailing_padding);
    CHECK(r.trailing_image == std::optional<std::size_t>(2048));
}

TEST_CASE("rom::analyze_rom trailing padding", "[rom][parse]") {
    auto bytes = build_rom_kind("legacy+efi", 0x1002, 0x67ef);
    const std::size_t end = bytes.size();
    bytes.resize(256 * 1024, 0xFF);
    const auto r = analyze_rom(bytes);
    CHECK(r.end == end);
    CHECK(r.trailing_bytes == 256 * 1024 - end);
    CHECK(r.trailing_padding);
    CHECK(r.has(ProblemKind::trailing_data));
    CHECK(r.usable_with_ovmf()); // padding does not stop firmware
}

TEST_CASE("rom::analyze_rom EFI images firmware skips", "[rom][parse]") {
    auto a = rom_legacy(0x1002, 0x73ef);
    auto b = rom_efi(0x1002, 0x73ef);
    SECTION("AArch64 only") {
        b.efi_machine = pt::rom::k_machine_aarch64;
        b.last = true;
        const auto r = analyze_rom(build_rom({a, b}));
        CHECK(r.has_efi());
        CHECK_FALSE(r.usable_with_ovmf());
        CHECK(r.usable_with_seabios());
        CHECK(pt::rom::machine_name(r.images[1].efi->machine) == "AArch64");
    }
    SECTION("x64 then AArch64 (RX 6650 XT layout)") {
        auto c = rom_efi(0x1002, 0x73ef);
        c.efi_machine = pt::rom::k_machine_aarch64;
        c.last = true;
        const auto r = analyze_rom(build_rom({a, b, c}));
        REQUIRE(r.images.size() == 3);
        CHECK(r.usable_with_ovmf());
    }
    SECTION("wrong EFI signature") {
        b.efi_signature = 0x0EF0;
        b.last = true;
        const auto r = analyze_rom(build_rom({a, b}));
        CHECK(r.has(ProblemKind::bad_efi));
        CHECK_FALSE(r.usable_with_ovmf());
    }
    SECTION("unknown compression") {
        b.efi_compression = 2;
        b.last = true;
        const auto r = analyze_rom(build_rom({a, b}));
        CHECK(r.has(ProblemKind::bad_efi));
        CHECK_FALSE(r.usable_with_ovmf());
    }
}

TEST_CASE("rom::analyze_rom inputs that are not ROMs", "[rom][parse]") {
    SECTION("empty") {
        const auto r = analyze_rom(std::vector<std::uint8_t>{});
        CHECK(r.has(ProblemKind::empty));
        CHECK_FALSE(r.usable());
    }
    SECTION("a text placeholder named .rom") {
        const std::string text = "Place your GPU vbios files in this directory";
        const std::vector<std::uint8_t> bytes(text.begin(), text.end());
        const auto r = analyze_rom(bytes);
        CHECK(r.has(ProblemKind::no_image));
        CHECK(r.images.empty());
        CHECK_FALSE(r.usable());
    }
    SECTION("ff ff: a hidden ROM") {
        const std::vector<std::uint8_t> bytes(4096, 0xFF);
        const auto r = analyze_rom(bytes);
        REQUIRE(r.problems.size() == 1);
        CHECK(r.problems[0].message.find("ff ff") != std::string::npos);
    }
    SECTION("55 AA with a PCIR offset past the end") {
        std::vector<std::uint8_t> bytes(512, 0);
        bytes[0] = 0x55;
        bytes[1] = 0xAA;
        bytes[0x18] = 0xF0;
        bytes[0x19] = 0xFF;
        const auto r = analyze_rom(bytes);
        REQUIRE(r.images.size() == 1);
        CHECK_FALSE(r.images[0].pcir_ok);
        CHECK(r.has(ProblemKind::bad_pcir));
        CHECK_FALSE(r.usable());
    }
    SECTION("a zero-length image") {
        auto a = rom_legacy(0x10de, 0x1180);
        a.pcir_units = 0;
        const auto r = analyze_rom(build_rom({a}));
        CHECK(r.has(ProblemKind::zero_length));
        CHECK_FALSE(r.usable());
    }
    SECTION("the chain continues into bytes without a signature") {
        auto a = rom_legacy(0x10de, 0x1180);
        auto bytes = build_rom({a});
        bytes.resize(bytes.size() + 512, 0x00);
        const auto r = analyze_rom(bytes);
        CHECK(r.has(ProblemKind::bad_signature));
        CHECK(r.end == 1024);
    }
}
