// SPDX-License-Identifier: MIT
// Writes the fuzzer's seed corpus: the synthetic ROM shapes of the unit tests (built with
// tests/unit/support/rom_builder.hpp), one file each, into the directory given as argument.
#include "support/rom_builder.hpp"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

void save(const std::string& dir, const std::string& name, const std::vector<std::uint8_t>& b) {
    std::ofstream out(dir + "/" + name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    const std::string dir = argv[1];
    using namespace pt::test; // NOLINT(google-build-using-namespace): a tiny tool
    for (const char* kind : {"legacy", "legacy+efi", "nvidia", "efi"}) {
        std::string name = kind;
        for (auto& c : name) {
            c = c == '+' ? '_' : c;
        }
        save(dir, name + ".rom", build_rom_kind(kind, 0x10de, 0x2204));
    }
    auto rom = build_rom_kind("legacy+efi", 0x10de, 0x2484);
    std::vector<std::uint8_t> header = {'N', 'V', 'G', 'I', 0x20, 0x01, 0x00, 0x00};
    header.resize(0x123, 0x5A);
    header.insert(header.end(), rom.begin(), rom.end());
    save(dir, "vendor_header.rom", header);
    save(dir, "truncated.rom", std::vector<std::uint8_t>(rom.begin(), rom.begin() + 1300));
    auto padded = rom;
    padded.resize(8192, 0xFF);
    save(dir, "padded.rom", padded);
    auto bad = rom_legacy(0x10de, 0x1180);
    bad.last = true;
    bad.good_checksum = false;
    save(dir, "bad_checksum.rom", build_rom({bad}));
    auto listed = rom_legacy(0x1002, 0x6798);
    listed.device_list = {0x6799, 0x679a};
    listed.indicator_extra = 0x7F;
    auto arm = rom_efi(0x1002, 0x6798);
    arm.efi_machine = 0xAA64;
    arm.last = true;
    save(dir, "device_list_aarch64.rom", build_rom({listed, arm}));
    return 0;
}
