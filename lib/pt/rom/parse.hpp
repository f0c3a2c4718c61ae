// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace pt::rom {

// A PCI option ROM parser (ground-truth §9: PCI Firmware 3.0 / EDK2 Pci22.h, Pci30.h, nouveau's
// pcir/npde/image). It takes bytes, never a path, and never reads outside `bytes` whatever they
// hold: every field is read through a bounds check, and a field that is not there is a problem
// in the report, not an exception. fuzz/rom_fuzz.cpp holds it to that.

// The code types of the PCI Data Structure (offset 0x14).
enum class CodeType : std::uint8_t {
    x86 = 0x00,           // PC-AT compatible (legacy BIOS: what SeaBIOS runs)
    open_firmware = 0x01, // Open Firmware (FCode)
    pa_risc = 0x02,       // HP PA-RISC
    efi = 0x03,           // EFI (what OVMF loads)
};

// "x86 BIOS", "Open Firmware", "PA-RISC", "EFI", or "unknown (0xNN)".
std::string code_type_name(std::uint8_t code_type);

// EFI machine types (the EFI image header, offset 0x0A).
inline constexpr std::uint16_t k_machine_ia32 = 0x014C;
inline constexpr std::uint16_t k_machine_x64 = 0x8664;
inline constexpr std::uint16_t k_machine_ebc = 0x0EBC;
inline constexpr std::uint16_t k_machine_aarch64 = 0xAA64;

// "x64", "IA-32", "Itanium", "EBC", "ARM", "AArch64", or "unknown (0xNNNN)".
std::string machine_name(std::uint16_t machine);

// The EFI image header fields of a code type 3 image.
struct EfiHeader {
    std::uint16_t init_size = 0;    // 512-byte units
    std::uint32_t signature = 0;    // 0x0EF1 when valid
    std::uint16_t subsystem = 0;    // 0x0B boot-service driver, 0x0C runtime driver
    std::uint16_t machine = 0;      // k_machine_*
    std::uint16_t compression = 0;  // 0 none, 1 UEFI-compressed, other: firmware skips it
    std::uint16_t image_offset = 0; // offset of the PE image from the image start

    bool signature_ok() const { return signature == 0x0EF1; }

    bool compression_ok() const { return compression <= 1; }
};

// NVIDIA's NPDE extension (after the PCIR, aligned up to 16 bytes). nouveau lets its length and
// last-image flag override the PCIR's to reach NVIDIA's data images; firmware never reads it.
struct Npde {
    std::size_t offset = 0;         // from the image start
    std::uint16_t length_units = 0; // 512-byte units
    std::uint8_t indicator = 0;     // bit 7: last image
};

// One image of the chain.
struct Image {
    std::size_t offset = 0;        // from the start of the bytes (not of the first image)
    std::uint16_t signature = 0;   // 0xAA55 ("55 AA"); NVIDIA also uses 0xBB77 and 0x4E56
    std::uint16_t pcir_offset = 0; // the u16 at +0x18: PCIR offset from the image start
    std::string pcir_signature;    // "PCIR", NVIDIA's "NPDS" or "RGIS"; empty when unreadable
    bool pcir_ok = false;          // the structure is inside the bytes with a known signature
    std::uint16_t vendor_id = 0;
    std::uint16_t device_id = 0;
    std::vector<std::uint16_t> device_list; // PCI 3.0 device-list (revision >= 3), if any
    std::uint16_t pcir_length = 0;          // structure length (0x18 for 2.x, 0x1C for 3.0)
    std::uint8_t pcir_revision = 0;
    std::uint32_t class_code = 0;        // 0xBBSSPP (0x030000: VGA)
    std::uint16_t pcir_length_units = 0; // image length from the PCIR, 512-byte units
    std::optional<Npde> npde;            // NVIDIA's extension, when present
    // Length in bytes and last-image flag as the walk that reached the image reads them: in the
    // firmware's chain the PCIR's (bit 7 of the indicator); past it, nouveau's (NPDE wins, code
    // type 0x70 is last).
    std::size_t length = 0;
    std::uint8_t code_type = 0; // CodeType values, or another byte
    std::uint8_t indicator = 0; // the PCIR indicator byte as stored
    bool last = false;
    // In the chain firmware walks: from the first image by PCIR length until bit 7 (EDK2
    // PciBusDxe LoadOpRomImage/ProcessOpRomImage, the kernel's pci_get_rom_size, rom-parser).
    // False for the NVIDIA data images that only the NPDE chain reaches: no firmware loads them.
    bool firmware = true;
    bool truncated = false;          // the image runs past the end of the bytes
    std::optional<bool> checksum_ok; // x86 images: the init size (byte 2 x 512) sums to 0
    std::optional<EfiHeader> efi;    // code type 3 images with a readable header

    // Firmware looks at the image at all: in its chain, signature 55 AA (EDK2 skips any other,
    // SeaBIOS and the kernel stop there) and a "PCIR" structure (EDK2 stops at NPDS/RGIS).
    bool firmware_reads() const;
    // The EFI image an x64 OVMF guest can load: read by firmware, complete, 0x0EF1, x64,
    // compression 0 or 1.
    bool loadable_efi_x64() const;
    // An x86 image SeaBIOS can run: read by firmware, complete and the checksum holds.
    bool runnable_x86() const;
};

// What is wrong or notable about the bytes, in the order found.
enum class ProblemKind {
    empty,         // no bytes at all
    no_image,      // no "55 AA" header with a readable PCI Data Structure anywhere
    vendor_header, // data before the first image (nvflash / GPU-Z header): see `start`
    bad_signature, // where the chain continues there is no image signature
    bad_pcir,      // an image's PCIR offset leads outside the bytes or to an unknown signature
    zero_length,   // an image declares length 0 (the walk stops there)
    truncated,     // an image runs past the end: see `expected_size`
    no_last_image, // the chain ends at the end of the bytes without a last-image flag
    bad_checksum,  // an x86 image whose init size (byte 2 x 512) does not sum to 0, or is 0
    bad_efi,       // an EFI image with a wrong signature, or a compression firmware skips
    trailing_data, // bytes after the last image (see `trailing_padding`)
    // Notes, not problems: they explain why an image does not count.
    not_firmware_image, // an image in the chain with NVIDIA's BB77/4E56 signature or NPDS/RGIS
    nvidia_data,        // NVIDIA data images past the last image firmware reads (NPDE chain)
};

// The kinds that explain rather than fault the ROM: trailing_data, not_firmware_image,
// nvidia_data. Text output prints them as "note:".
bool is_note(ProblemKind kind);

// "empty", "no_image", "vendor_header", ... (the JSON words).
std::string to_string(ProblemKind kind);

struct Problem {
    ProblemKind kind;
    std::size_t offset = 0; // where in the bytes it is
    std::string message;    // one lower-case sentence fragment
};

// The whole result of analyze_rom.
struct RomReport {
    std::size_t size = 0;                      // bytes given
    std::size_t start = 0;                     // offset of the first image (> 0: vendor header)
    std::size_t end = 0;                       // one past the last byte of the walked chain
    std::vector<Image> images;                 // in chain order
    std::vector<Problem> problems;             // in the order found
    std::optional<std::size_t> expected_size;  // truncated: the size the bytes should have
    std::size_t trailing_bytes = 0;            // size - end, when the chain ended early
    bool trailing_padding = false;             // trailing bytes are all 0xFF or all 0x00
    std::optional<std::size_t> trailing_image; // offset of another image header in them

    // The verdicts apply to the bytes as given: a ROM with a vendor header is not usable by
    // any firmware (the guest reads the image chain from offset 0), but strip_header() fixes it.
    bool has_x86() const;             // some image is an x86 BIOS image (complete or not)
    bool has_efi() const;             // some image is an EFI image
    bool usable_with_ovmf() const;    // start == 0 and an image passes loadable_efi_x64()
    bool usable_with_seabios() const; // start == 0 and an image passes runnable_x86()

    bool usable() const { return usable_with_ovmf() || usable_with_seabios(); }

    // True when the bytes from `start` to `end` would be usable (vendor header cut off).
    bool fixable_by_strip() const;

    bool has(ProblemKind kind) const;

    // The firmware's chain is all there: no image is cut off and the last one is flagged last.
    // A dump that fails this is incomplete whatever its images would do.
    bool complete() const {
        return !has(ProblemKind::truncated) && !has(ProblemKind::no_last_image);
    }
};

// Walks the option ROM in `bytes`: finds the first image (at 0, or after a vendor header: the
// first "55 AA" whose +0x18 offset leads to a PCIR/NPDS/RGIS structure), then follows the chain
// as firmware does, by PCIR image length until an image has bit 7 of its indicator set, the
// bytes end, or the chain breaks. When NVIDIA's NPDE of that last image says more follow, the
// images it chains to (nouveau's walk: NPDE length and flag, code type 0x70 last) are listed
// with `firmware` false and a nvidia_data note; they never make a ROM usable or incomplete.
// Never throws, never reads outside `bytes`.
RomReport analyze_rom(std::span<const std::uint8_t> bytes);

// Whether the ROM is for the card `vendor`:`device`: every image the firmware runs (x86 and EFI
// code types) names that vendor and that device (or lists it in its PCI 3.0 device list).
// nullopt when the ROM has no such image to compare.
std::optional<bool> ids_match(const RomReport& report, std::uint16_t vendor, std::uint16_t device);

// Per image: vendor matches and device equals `device` or is in the device list.
bool image_matches(const Image& image, std::uint16_t vendor, std::uint16_t device);

// The bytes from the first image on, `bytes[report.start..]`: what --strip-header keeps. Data
// after the last image is kept (as the NVIDIA vBIOS patchers do; a cut there is never needed
// for firmware). Empty when the report found no image.
std::span<const std::uint8_t> strip_header(std::span<const std::uint8_t> bytes,
                                           const RomReport& report);

} // namespace pt::rom
