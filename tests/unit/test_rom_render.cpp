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
        CHECK_THAT(v.summary, Catch::EndsWith("the ROM is for 1002:67ef"));
    }
    SECTION("no card: IDs unknown") {
        const auto v = pt::rom::judge(both, std::nullopt);
        CHECK_FALSE(v.ids_match);
        CHECK(v.usable());
    }
    SECTION("truncated EFI: SeaBIOS only, and why") {
        auto bytes = pt::test::build_rom_kind("legacy+efi", 0x1002, 0x67ef);
        bytes.resize(1500);
        const auto v = pt::rom::judge(pt::rom::analyze_rom(bytes), std::nullopt);
        CHECK_THAT(v.summary,
                   Catch::StartsWith("usable with SeaBIOS only: no EFI image OVMF can load (the "
                                     "image at 0x400 is 1024 bytes"));
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

    const auto text = pt::rom::render_text(report, v, ctx, pt::out::TextStyle{});
    CHECK_THAT(text,
               Catch::StartsWith("gpu.rom: 2560 bytes\nimage 1 at 0x0: signature 55 aa, PCI data "
                                 "at +0x40 \"PCIR\" rev 0\n")
                   && Catch::Contains("NVIDIA NPDE at +0x60: 3 x 512, not last (the PCIR says 1 x "
                                      "512, last)")
                   && Catch::Contains("EFI signature 0x0ef1 (ok), x64, boot-service driver, "
                                      "compressed (UEFI)")
                   && Catch::Contains("verdict: usable with OVMF (UEFI) and SeaBIOS"));
}
