// SPDX-License-Identifier: MIT
#include "pt/out/text.hpp"
#include "pt/rom/render.hpp"
#include "support/catch.hpp"
#include "support/rom_builder.hpp"

namespace {

pt::pci::Device card(std::uint16_t vendor, std::uint16_t device) {
    pt::pci::Device dev;
    dev.address = *pt::pci::parse_address("0000:01:00.0");
    dev.vendor = vendor;
    dev.device = device;
    dev.class_code = 0x030000;
    return dev;
}

} // namespace

TEST_CASE("rom::judge", "[rom][render]") {
    const auto both = pt::rom::analyze_rom(pt::test::build_rom_kind("legacy+efi", 0x1002, 0x67ef));
    SECTION("usable, IDs match") {
        const auto v = pt::rom::judge(both, card(0x1002, 0x67ef));
        CHECK(v.usable());
        CHECK(v.summary
              == "usable with OVMF (UEFI) and SeaBIOS; IDs match 0000:01:00.0 (1002:67ef)");
    }
    SECTION("usable firmware-wise but for another card: not usable") {
        const auto v = pt::rom::judge(both, card(0x1002, 0x699f));
        CHECK(v.ovmf);
        CHECK(v.ids_match == std::optional<bool>(false));
        CHECK_FALSE(v.usable());
        CHECK(v.summary
              == "not usable for 0000:01:00.0 (1002:699f): the ROM is for 1002:67ef (on that "
                 "card it would work with OVMF (UEFI) and SeaBIOS)");
    }
    SECTION("no card: IDs unknown") {
        const auto v = pt::rom::judge(both, std::nullopt);
        CHECK_FALSE(v.ids_match);
        CHECK(v.usable());
    }
    SECTION("truncated EFI: an incomplete dump is never usable, though its x86 image runs") {
        auto bytes = pt::test::build_rom_kind("legacy+efi", 0x1002, 0x67ef);
        bytes.resize(1500);
        const auto v = pt::rom::judge(pt::rom::analyze_rom(bytes), card(0x1002, 0x67ef));
        CHECK(v.seabios);
        CHECK_FALSE(v.complete);
        CHECK_FALSE(v.usable());
        CHECK_THAT(v.summary,
                   Catch::StartsWith("not usable: the image at 0x400 is 1024 bytes but the file "
                                     "ends 476 bytes into it")
                       && Catch::Contains("; dump again: "));
    }
    SECTION("no last image: incomplete") {
        auto a = pt::test::rom_legacy(0x1002, 0x67ef);
        const auto v = pt::rom::judge(pt::rom::analyze_rom(pt::test::build_rom({a})), std::nullopt);
        CHECK_FALSE(v.usable());
        CHECK_THAT(v.summary,
                   Catch::StartsWith("not usable: the image at 0x0 is not flagged last")
                       && Catch::Contains("dump again"));
    }
    SECTION("EFI past the PCIR-last image: SeaBIOS only, and why") {
        auto a = pt::test::rom_legacy(0x10de, 0x1180, 3);
        a.last = true;
        a.npde_units = 3;
        a.npde_last = false;
        auto b = pt::test::rom_efi(0x10de, 0x1180);
        b.last = true;
        const auto v =
            pt::rom::judge(pt::rom::analyze_rom(pt::test::build_rom({a, b})), std::nullopt);
        CHECK(v.usable());
        CHECK_FALSE(v.ovmf);
        CHECK_THAT(v.summary,
                   Catch::StartsWith("usable with SeaBIOS only: no EFI image OVMF can load (the "
                                     "EFI image at 0x600 comes after the image the PCIR flags "
                                     "last, so firmware never loads it"));
    }
    SECTION("vendor header: fixable") {
        auto bytes = pt::test::build_rom_kind("legacy", 0x10de, 0x1180);
        bytes.insert(bytes.begin(), 100, 0x20);
        const auto v = pt::rom::judge(pt::rom::analyze_rom(bytes), std::nullopt);
        CHECK_FALSE(v.usable());
        CHECK(v.fixable_by_strip);
        CHECK_THAT(v.summary, Catch::Contains("100 bytes of vendor header"));
    }
}

TEST_CASE("rom::to_json and render_text", "[rom][render]") {
    const auto report = pt::rom::analyze_rom(pt::test::build_rom_kind("nvidia", 0x10de, 0x2484));
    pt::rom::CheckContext ctx;
    ctx.source = "gpu.rom";
    ctx.device = card(0x10de, 0x2484);
    const auto v = pt::rom::judge(report, ctx.device);
    const auto json = pt::rom::to_json(report, v, ctx);
    CHECK(json["source"] == "gpu.rom");
    CHECK(json["access"].is_null());
    CHECK(json["images"].size() == 2);
    CHECK(json["images"][0]["signature"] == "aa55");
    CHECK(json["images"][0]["npde"]["length_units"] == 3);
    CHECK(json["images"][0]["ids_match"] == true);
    CHECK(json["images"][1]["efi"]["machine"] == "8664");
    CHECK(json["images"][1]["efi"]["signature"] == "0ef1");
    CHECK(json["images"][1]["checksum_ok"].is_null());
    CHECK(json["verdict"]["usable"] == true);

    CHECK(json["images"][1]["firmware"] == true);
    CHECK(json["problems"][0]["kind"] == "nvidia_data");
    CHECK(json["verdict"]["complete"] == true);

    const auto text = pt::rom::render_text(report, v, ctx, pt::out::TextStyle{});
    CHECK_THAT(text,
               Catch::StartsWith("gpu.rom: 2560 bytes\nimage 1 at 0x0: signature 55 aa, PCI data "
                                 "at +0x40 \"PCIR\" rev 0\n")
                   && Catch::Contains("NVIDIA NPDE at +0x60: 3 x 512, not last (the PCIR says 3 x "
                                      "512, not last)\n")
                   && Catch::Contains("indicator 0x80: last image\n  NVIDIA NPDE at +0x40: 2 x "
                                      "512, not last (the PCIR says 2 x 512, last; firmware "
                                      "follows the PCIR)\n")
                   && Catch::Contains("note: NVIDIA's NPDE of the image at 0x600 says more "
                                      "images follow")
                   && Catch::Contains("EFI signature 0x0ef1 (ok), x64, boot-service driver, "
                                      "compressed (UEFI)")
                   && Catch::Contains("verdict: usable with OVMF (UEFI) and SeaBIOS"));
}

TEST_CASE("rom::judge the verdict line and usable() always agree", "[rom][render]") {
    using pt::test::build_rom_kind;
    std::vector<std::vector<std::uint8_t>> roms;
    for (const char* kind : {"legacy", "legacy+efi", "nvidia", "efi"}) {
        const auto whole = build_rom_kind(kind, 0x10de, 0x2484);
        roms.push_back(whole);
        for (const std::size_t cut : {std::size_t{100}, std::size_t{700}, std::size_t{1500}}) {
            if (cut < whole.size()) {
                roms.emplace_back(whole.begin(), whole.begin() + static_cast<long>(cut));
            }
        }
    }
    for (const auto& bytes : roms) {
        const auto report = pt::rom::analyze_rom(bytes);
        for (const auto& device : {std::optional<pt::pci::Device>(),
                                   std::optional<pt::pci::Device>(card(0x10de, 0x2484)),
                                   std::optional<pt::pci::Device>(card(0x1002, 0x67ef))}) {
            const auto v = pt::rom::judge(report, device);
            INFO(bytes.size() << " bytes: " << v.summary);
            CHECK(v.summary.starts_with("usable") == v.usable());
            if (!report.complete()) {
                CHECK_THAT(v.summary, Catch::Contains("dump again"));
            }
        }
    }
}
