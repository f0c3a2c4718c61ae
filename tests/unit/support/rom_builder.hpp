// SPDX-License-Identifier: MIT
#pragma once

// Synthetic PCI option ROMs for tests, the fuzzer's seed corpus and pt-mkroot's fixture `rom`
// files (ground-truth §9). Header-only and standard-library-only so that all three can include
// it. The images carry no real code: only the headers, structures and checksums that firmware
// and pt look at.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pt::test {

// One image of a ROM. The defaults make a one-block x86 image for 10de:2204 with a PCI 3.0 PCIR.
struct RomImageSpec {
    std::uint16_t signature = 0xAA55;
    std::uint8_t code_type = 0x00; // 0 x86, 3 EFI, 0x70 NVIDIA data
    std::uint16_t vendor = 0x10de;
    std::uint16_t device = 0x2204;
    std::uint32_t class_code = 0x030000;
    std::size_t units = 1;                   // image length in 512-byte units (what is built)
    std::optional<std::uint16_t> pcir_units; // length written in the PCIR (default: units)
    bool last = false;                       // bit 7 of the indicator
    std::uint8_t indicator_extra = 0;        // other indicator bits (must not count as "last")
    std::uint16_t pcir_offset = 0x40;
    std::string pcir_signature = "PCIR";
    std::uint8_t pcir_revision = 3;
    std::uint16_t pcir_length = 0x1C;
    std::vector<std::uint16_t> device_list; // PCI 3.0 device list (placed after the PCIR)
    bool good_checksum = true;              // x86: make the bytes sum to 0
    // EFI header (code type 3).
    std::uint32_t efi_signature = 0x0EF1;
    std::uint16_t efi_subsystem = 0x0B;
    std::uint16_t efi_machine = 0x8664;
    std::uint16_t efi_compression = 0;
    // NVIDIA NPDE (written after the PCIR, aligned to 16) overriding length and last flag.
    std::optional<std::uint16_t> npde_units;
    std::optional<bool> npde_last;
};

inline void rom_put16(std::vector<std::uint8_t>& b, std::size_t off, std::uint16_t v) {
    b.at(off) = static_cast<std::uint8_t>(v & 0xFF);
    b.at(off + 1) = static_cast<std::uint8_t>(v >> 8);
}

inline void rom_put32(std::vector<std::uint8_t>& b, std::size_t off, std::uint32_t v) {
    rom_put16(b, off, static_cast<std::uint16_t>(v & 0xFFFF));
    rom_put16(b, off + 2, static_cast<std::uint16_t>(v >> 16));
}

// The bytes of one image (units * 512 bytes).
inline std::vector<std::uint8_t> build_rom_image(const RomImageSpec& s) {
    std::vector<std::uint8_t> b(s.units * 512, 0x00);
    rom_put16(b, 0x00, s.signature);
    if (s.code_type == 0x03) {
        rom_put16(b, 0x02, static_cast<std::uint16_t>(s.units));
        rom_put32(b, 0x04, s.efi_signature);
        rom_put16(b, 0x08, s.efi_subsystem);
        rom_put16(b, 0x0A, s.efi_machine);
        rom_put16(b, 0x0C, s.efi_compression);
        rom_put16(b, 0x16, 0x60); // offset of the (absent) PE image
    } else {
        b.at(0x02) = static_cast<std::uint8_t>(s.units); // init size
        b.at(0x03) = 0xEB;                               // jmp short, as real VGA BIOSes start
        b.at(0x04) = 0x4B;
        const std::string video = "IBM VGA Compatible VIDEO";
        for (std::size_t i = 0; i < video.size() && 0x1E + i < b.size(); ++i) {
            b.at(0x1E + i) = static_cast<std::uint8_t>(video[i]);
        }
    }
    rom_put16(b, 0x18, s.pcir_offset);
    const std::size_t q = s.pcir_offset;
    for (std::size_t i = 0; i < 4 && i < s.pcir_signature.size(); ++i) {
        b.at(q + i) = static_cast<std::uint8_t>(s.pcir_signature[i]);
    }
    rom_put16(b, q + 0x04, s.vendor);
    rom_put16(b, q + 0x06, s.device);
    rom_put16(b, q + 0x0A, s.pcir_length);
    b.at(q + 0x0C) = s.pcir_revision;
    b.at(q + 0x0D) = static_cast<std::uint8_t>(s.class_code & 0xFF);
    b.at(q + 0x0E) = static_cast<std::uint8_t>((s.class_code >> 8) & 0xFF);
    b.at(q + 0x0F) = static_cast<std::uint8_t>((s.class_code >> 16) & 0xFF);
    rom_put16(b, q + 0x10, s.pcir_units.value_or(static_cast<std::uint16_t>(s.units)));
    b.at(q + 0x14) = s.code_type;
    b.at(q + 0x15) = static_cast<std::uint8_t>((s.last ? 0x80 : 0x00) | (s.indicator_extra & 0x7F));
    std::size_t after = q + s.pcir_length;
    if (s.npde_units || s.npde_last) {
        const std::size_t n = (after + 0x0F) & ~std::size_t{0x0F};
        rom_put32(b, n, 0x4544504E); // "NPDE"
        rom_put16(b, n + 0x04, 0x0100);
        rom_put16(b, n + 0x06, 0x0010);
        rom_put16(b, n + 0x08, s.npde_units.value_or(static_cast<std::uint16_t>(s.units)));
        b.at(n + 0x0A) = s.npde_last.value_or(s.last) ? 0x80 : 0x00;
        after = n + 0x10;
    }
    if (!s.device_list.empty()) {
        const std::size_t list = after;
        rom_put16(b, q + 0x08, static_cast<std::uint16_t>(list - q));
        for (std::size_t i = 0; i < s.device_list.size(); ++i) {
            rom_put16(b, list + 2 * i, s.device_list[i]);
        }
    }
    if (s.code_type == 0x00) {
        unsigned sum = 0;
        for (std::size_t i = 0; i + 1 < b.size(); ++i) {
            sum += b[i];
        }
        b.back() = static_cast<std::uint8_t>((0x100 - (sum & 0xFF)) & 0xFF);
        if (!s.good_checksum) {
            b.back() = static_cast<std::uint8_t>(b.back() + 1);
        }
    }
    return b;
}

// The images one after another. The caller sets `last` where it wants it.
inline std::vector<std::uint8_t> build_rom(const std::vector<RomImageSpec>& images) {
    std::vector<std::uint8_t> out;
    for (const auto& spec : images) {
        const auto bytes = build_rom_image(spec);
        out.insert(out.end(), bytes.begin(), bytes.end());
    }
    return out;
}

// A legacy x86 image of `units` blocks.
inline RomImageSpec rom_legacy(std::uint16_t vendor, std::uint16_t device, std::size_t units = 2) {
    RomImageSpec s;
    s.vendor = vendor;
    s.device = device;
    s.units = units;
    return s;
}

// An EFI x64 image (GOP driver) of `units` blocks.
inline RomImageSpec rom_efi(std::uint16_t vendor, std::uint16_t device, std::size_t units = 2) {
    RomImageSpec s;
    s.vendor = vendor;
    s.device = device;
    s.units = units;
    s.code_type = 0x03;
    s.pcir_offset = 0x1C; // as in real EFI images: right after the EFI header
    s.efi_compression = 1;
    return s;
}

// The common shapes, for `vendor`:`device`.
//   "legacy": one x86 image, last.
//   "legacy+efi": x86 then EFI x64 (last).
//   "nvidia": NVIDIA layout: x86 then EFI x64 (last), each with an NPDE; the EFI image's NPDE
//     says "not last" (NVIDIA data images follow in the card's flash; a sysfs read ends at the
//     image the PCIR flags last, so they are not in the bytes).
//   "efi": one EFI x64 image.
// Returns an empty vector for an unknown kind.
inline std::vector<std::uint8_t>
build_rom_kind(const std::string& kind, std::uint16_t vendor, std::uint16_t device) {
    if (kind == "legacy") {
        auto a = rom_legacy(vendor, device);
        a.last = true;
        return build_rom({a});
    }
    if (kind == "legacy+efi") {
        auto a = rom_legacy(vendor, device);
        auto b = rom_efi(vendor, device);
        b.last = true;
        return build_rom({a, b});
    }
    if (kind == "nvidia") {
        auto a = rom_legacy(vendor, device, 3);
        a.npde_units = 3;
        a.npde_last = false;
        a.pcir_revision = 0;
        a.pcir_length = 0x18;
        auto b = rom_efi(vendor, device);
        b.last = true;
        b.npde_units = 2;
        b.npde_last = false;
        return build_rom({a, b});
    }
    if (kind == "efi") {
        auto b = rom_efi(vendor, device);
        b.last = true;
        return build_rom({b});
    }
    return {};
}

} // namespace pt::test
