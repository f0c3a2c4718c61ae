// SPDX-License-Identifier: MIT
#include "pt/rom/parse.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pt::rom {
namespace {

using Bytes = std::span<const std::uint8_t>;

// Every read goes through these: `off + n` is compared with the size without overflowing.
bool fits(Bytes b, std::size_t off, std::size_t n) {
    return off <= b.size() && n <= b.size() - off;
}

std::optional<std::uint8_t> u8(Bytes b, std::size_t off) {
    if (!fits(b, off, 1)) {
        return std::nullopt;
    }
    return b[off];
}

std::optional<std::uint16_t> u16(Bytes b, std::size_t off) {
    if (!fits(b, off, 2)) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(b[off] | (b[off + 1] << 8));
}

std::optional<std::uint32_t> u32(Bytes b, std::size_t off) {
    if (!fits(b, off, 4)) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(b[off]) | (static_cast<std::uint32_t>(b[off + 1]) << 8)
           | (static_cast<std::uint32_t>(b[off + 2]) << 16)
           | (static_cast<std::uint32_t>(b[off + 3]) << 24);
}

// Image signatures: 55 AA everywhere; nouveau also accepts 0xBB77 and 0x4E56 ("NV").
bool image_signature(std::uint16_t sig) {
    return sig == 0xAA55 || sig == 0xBB77 || sig == 0x4E56;
}

// PCI Data Structure signatures: "PCIR"; NVIDIA's "NPDS" and "RGIS" (nouveau nvbios_pcirTp).
std::string pcir_signature(Bytes b, std::size_t off) {
    if (!fits(b, off, 4)) {
        return {};
    }
    std::string sig(reinterpret_cast<const char*>(b.data() + off), 4);
    if (sig == "PCIR" || sig == "NPDS" || sig == "RGIS") {
        return sig;
    }
    return {};
}

constexpr std::uint32_t k_npde = 0x4544504E; // "NPDE"
constexpr std::size_t k_unit = 512;
constexpr std::size_t k_max_images = 256;
constexpr std::size_t k_max_device_list = 64;

// True when an image could start at `off`: a signature (only 55 AA after offset 0, where the
// search skips a vendor header) and a +0x18 offset that leads to a known PCIR signature.
bool image_at(Bytes b, std::size_t off, bool any_signature) {
    const auto sig = u16(b, off);
    if (!sig || !(any_signature ? image_signature(*sig) : *sig == 0xAA55)) {
        return false;
    }
    const auto pcir = u16(b, off + 0x18);
    return pcir && !pcir_signature(b, off + *pcir).empty();
}

std::optional<std::size_t> find_image(Bytes b, std::size_t from) {
    for (std::size_t off = from; fits(b, off, 2); ++off) {
        if (b[off] == 0x55 && b[off + 1] == 0xAA && image_at(b, off, false)) {
            return off;
        }
    }
    return std::nullopt;
}

std::string hex(std::size_t value) {
    return fmt::format("{:#x}", value);
}

void add(RomReport& r, ProblemKind kind, std::size_t offset, std::string message) {
    r.problems.push_back({kind, offset, std::move(message)});
}

// Which rules decide an image's length and last flag.
enum class Walk {
    firmware, // the PCIR's length and bit 7: what EDK2, SeaBIOS and the kernel follow
    nouveau,  // NVIDIA's NPDE overrides both, code type 0x70 is last (nvbios_imagen)
};

// Reads the PCIR (and NPDE, EFI header, checksum) of the image at `img.offset`. Returns false
// when the walk cannot go on past this image.
bool read_image(Bytes b, RomReport& r, Image& img, Walk walk = Walk::firmware) {
    const std::size_t o = img.offset;
    const auto pcir_off = u16(b, o + 0x18);
    if (!pcir_off) {
        img.truncated = true;
        r.expected_size = o + k_unit;
        add(r,
            ProblemKind::truncated,
            o,
            fmt::format("the image at {} is cut off inside its header: the file ends at {}",
                        hex(o),
                        hex(b.size())));
        return false;
    }
    img.pcir_offset = *pcir_off;
    const std::size_t q = o + *pcir_off;
    img.pcir_signature = pcir_signature(b, q);
    if (img.pcir_signature.empty()) {
        add(r,
            ProblemKind::bad_pcir,
            o,
            fmt::format("the image at {} points to a PCI data structure at {} that {}",
                        hex(o),
                        hex(q),
                        fits(b, q, 4) ? "has no PCIR signature" : "is past the end of the file"));
        return false;
    }
    if (!fits(b, q, 0x18)) {
        img.truncated = true;
        r.expected_size = q + 0x18;
        add(r,
            ProblemKind::truncated,
            q,
            fmt::format("the PCI data structure at {} is cut off: the file ends at {}",
                        hex(q),
                        hex(b.size())));
        return false;
    }
    img.pcir_ok = true;
    img.vendor_id = *u16(b, q + 0x04);
    img.device_id = *u16(b, q + 0x06);
    const std::uint16_t list_ptr = *u16(b, q + 0x08);
    img.pcir_length = *u16(b, q + 0x0A);
    img.pcir_revision = *u8(b, q + 0x0C);
    img.class_code = static_cast<std::uint32_t>(b[q + 0x0F]) << 16
                     | static_cast<std::uint32_t>(b[q + 0x0E]) << 8 | b[q + 0x0D];
    img.pcir_length_units = *u16(b, q + 0x10);
    img.code_type = *u8(b, q + 0x14);
    img.indicator = *u8(b, q + 0x15);

    // PCI Firmware 3.0: the device list (offset from the PCIR start) of other device IDs the
    // image supports, zero-terminated.
    if (img.pcir_revision >= 3 && list_ptr != 0) {
        for (std::size_t i = 0; i < k_max_device_list; ++i) {
            const auto id = u16(b, q + list_ptr + 2 * i);
            if (!id || *id == 0) {
                break;
            }
            img.device_list.push_back(*id);
        }
    }

    // NVIDIA: an NPDE after the PCIR, aligned up to 16 bytes (nouveau nvbios_npdeTp), aligned
    // relative to the image start, as the card sees it. Only nouveau's walk lets it override
    // length and last flag; firmware reads the PCIR alone (EDK2 PciBusDxe: ImageLength * 512,
    // Indicator bit 7).
    const std::size_t npde_rel =
        (std::size_t{*pcir_off} + img.pcir_length + 0x0F) & ~std::size_t{0x0F};
    std::size_t units = img.pcir_length_units;
    bool last = (img.indicator & 0x80) != 0;
    if (u32(b, o + npde_rel) == k_npde && fits(b, o + npde_rel, 0x0B)) {
        Npde npde;
        npde.offset = npde_rel;
        npde.length_units = *u16(b, o + npde_rel + 0x08);
        npde.indicator = *u8(b, o + npde_rel + 0x0A);
        img.npde = npde;
    }
    if (walk == Walk::nouveau) {
        if (img.npde) {
            units = img.npde->length_units;
            last = (img.npde->indicator & 0x80) != 0;
        }
        last = last || img.code_type == 0x70;
    }
    img.last = last;
    img.length = units * k_unit;

    if (img.code_type == static_cast<std::uint8_t>(CodeType::efi)) {
        EfiHeader efi;
        efi.init_size = *u16(b, o + 0x02);
        efi.signature = u32(b, o + 0x04).value_or(0);
        efi.subsystem = u16(b, o + 0x08).value_or(0);
        efi.machine = u16(b, o + 0x0A).value_or(0);
        efi.compression = u16(b, o + 0x0C).value_or(0);
        efi.image_offset = u16(b, o + 0x16).value_or(0);
        img.efi = efi;
        if (!efi.signature_ok()) {
            add(r,
                ProblemKind::bad_efi,
                o,
                fmt::format("the EFI image at {} has signature {:#x}, not 0xef1: firmware skips it",
                            hex(o),
                            efi.signature));
        } else if (!efi.compression_ok()) {
            add(r,
                ProblemKind::bad_efi,
                o,
                fmt::format("the EFI image at {} uses compression type {}: firmware only loads "
                            "0 (none) and 1 (UEFI compression)",
                            hex(o),
                            efi.compression));
        }
    }

    if (img.length == 0) {
        add(r,
            ProblemKind::zero_length,
            o,
            fmt::format("the image at {} declares a length of 0: the chain cannot go on", hex(o)));
        return false;
    }
    if (!fits(b, o, img.length)) {
        img.truncated = true;
        r.expected_size = o + img.length;
        add(r,
            ProblemKind::truncated,
            o,
            fmt::format("the image at {} is {} bytes but the file ends {} bytes into it: the "
                        "file should be at least {} bytes, it is {} (an incomplete dump)",
                        hex(o),
                        img.length,
                        b.size() - o,
                        o + img.length,
                        b.size()));
        return false;
    }
    if (img.code_type == static_cast<std::uint8_t>(CodeType::x86)) {
        // SeaBIOS (optionroms.c is_valid_rom) sums the header's init size, byte 2 x 512, not
        // the PCIR or NPDE image length (they differ on NVIDIA ROMs); size 0 is refused.
        const std::size_t init_len = std::size_t{b[o + 0x02]} * k_unit;
        if (init_len == 0) {
            img.checksum_ok = false;
            add(r,
                ProblemKind::bad_checksum,
                o,
                fmt::format("the x86 image at {} declares an init size of 0 (byte 2): SeaBIOS "
                            "refuses to run it",
                            hex(o)));
            return true;
        }
        if (!fits(b, o, init_len)) {
            img.truncated = true;
            r.expected_size = o + init_len;
            add(r,
                ProblemKind::truncated,
                o,
                fmt::format("the x86 image at {} has an init size of {} bytes but the file ends "
                            "{} bytes into it: the file should be at least {} bytes, it is {} "
                            "(an incomplete dump)",
                            hex(o),
                            init_len,
                            b.size() - o,
                            o + init_len,
                            b.size()));
            return false;
        }
        unsigned sum = 0;
        for (const std::uint8_t byte : b.subspan(o, init_len)) {
            sum += byte;
        }
        img.checksum_ok = (sum & 0xFF) == 0;
        if (!*img.checksum_ok) {
            add(r,
                ProblemKind::bad_checksum,
                o,
                fmt::format("the x86 image at {} does not sum to 0 over its init size of {} "
                            "bytes (it sums to {:#04x}): SeaBIOS refuses to run it",
                            hex(o),
                            init_len,
                            sum & 0xFF));
        }
    }
    return true;
}

// Notes an image in the firmware's chain that firmware passes over although nouveau reads it.
void note_not_firmware_image(RomReport& r, const Image& img) {
    if (img.signature != 0xAA55) {
        add(r,
            ProblemKind::not_firmware_image,
            img.offset,
            fmt::format("the image at {} has NVIDIA's signature {:02x} {:02x}, not 55 aa: "
                        "firmware does not load it (EDK2 and SeaBIOS need 55 aa)",
                        hex(img.offset),
                        img.signature & 0xFF,
                        img.signature >> 8));
    } else if (img.pcir_ok && img.pcir_signature != "PCIR") {
        add(r,
            ProblemKind::not_firmware_image,
            img.offset,
            fmt::format("the image at {} has an NVIDIA \"{}\" structure, not \"PCIR\": "
                        "firmware does not load it",
                        hex(img.offset),
                        img.pcir_signature));
    }
}

// Follows NVIDIA's NPDE chain on from `fw_last`, the image firmware stops at, as nouveau does.
// The images it reaches are listed with `firmware` false and one nvidia_data note; nothing in
// them counts for the verdict. Returns where that chain ends in the bytes.
std::size_t walk_nvidia_data(Bytes b, RomReport& r, const Image& fw_last) {
    const std::size_t from = fw_last.offset + std::size_t{fw_last.npde->length_units} * k_unit;
    std::size_t off = from;
    std::size_t count = 0;
    std::string broke;
    for (std::size_t n = 0; n < k_max_images && fits(b, off, 2); ++n) {
        const auto sig = u16(b, off);
        if (!image_signature(*sig)) {
            broke = fmt::format("no image signature at {}", hex(off));
            break;
        }
        RomReport scratch; // a data image's faults are not the ROM's
        Image img;
        img.offset = off;
        img.signature = *sig;
        img.firmware = false;
        const bool ok = read_image(b, scratch, img, Walk::nouveau);
        r.images.push_back(img);
        ++count;
        if (!ok) {
            broke = scratch.problems.empty() ? std::string("unreadable")
                                             : scratch.problems.back().message;
            off = img.truncated ? b.size() : off;
            break;
        }
        off += img.length;
        if (img.last) {
            break;
        }
    }
    const std::string stop = fmt::format("firmware stops at the image at {}, whose PCIR flags it "
                                         "last, and never loads them",
                                         hex(fw_last.offset));
    if (count == 0) {
        add(r,
            ProblemKind::nvidia_data,
            fw_last.offset,
            fmt::format("NVIDIA's NPDE of the image at {} says more images follow at {}: they "
                        "are NVIDIA data, not in these bytes; {}",
                        hex(fw_last.offset),
                        hex(from),
                        stop));
        return fw_last.offset + fw_last.length;
    }
    add(r,
        ProblemKind::nvidia_data,
        from,
        fmt::format("{} NVIDIA data image{} from {} on, reached through the NPDE of the image at "
                    "{}: {}{}",
                    count,
                    count == 1 ? "" : "s",
                    hex(from),
                    hex(fw_last.offset),
                    stop,
                    broke.empty() ? std::string() : " (the NPDE chain breaks: " + broke + ")"));
    return std::max(off, from);
}

} // namespace

std::string code_type_name(std::uint8_t code_type) {
    switch (code_type) {
    case 0x00:
        return "x86 BIOS";
    case 0x01:
        return "Open Firmware";
    case 0x02:
        return "PA-RISC";
    case 0x03:
        return "EFI";
    default:
        return fmt::format("unknown ({:#04x})", code_type);
    }
}

std::string machine_name(std::uint16_t machine) {
    switch (machine) {
    case 0x8664:
        return "x64";
    case 0x014C:
        return "IA-32";
    case 0x0200:
        return "Itanium";
    case 0x0EBC:
        return "EBC";
    case 0x01C2:
        return "ARM";
    case 0xAA64:
        return "AArch64";
    default:
        return fmt::format("unknown ({:#06x})", machine);
    }
}

std::string to_string(ProblemKind kind) {
    switch (kind) {
    case ProblemKind::empty:
        return "empty";
    case ProblemKind::no_image:
        return "no_image";
    case ProblemKind::vendor_header:
        return "vendor_header";
    case ProblemKind::bad_signature:
        return "bad_signature";
    case ProblemKind::bad_pcir:
        return "bad_pcir";
    case ProblemKind::zero_length:
        return "zero_length";
    case ProblemKind::truncated:
        return "truncated";
    case ProblemKind::no_last_image:
        return "no_last_image";
    case ProblemKind::bad_checksum:
        return "bad_checksum";
    case ProblemKind::bad_efi:
        return "bad_efi";
    case ProblemKind::trailing_data:
        return "trailing_data";
    case ProblemKind::not_firmware_image:
        return "not_firmware_image";
    case ProblemKind::nvidia_data:
        return "nvidia_data";
    }
    return "unknown";
}

bool Image::firmware_reads() const {
    return firmware && signature == 0xAA55 && pcir_signature == "PCIR";
}

bool Image::loadable_efi_x64() const {
    return firmware_reads() && !truncated && efi && efi->signature_ok() && efi->compression_ok()
           && efi->machine == k_machine_x64;
}

bool Image::runnable_x86() const {
    return firmware_reads() && code_type == static_cast<std::uint8_t>(CodeType::x86) && !truncated
           && checksum_ok.value_or(false);
}

bool is_note(ProblemKind kind) {
    return kind == ProblemKind::trailing_data || kind == ProblemKind::not_firmware_image
           || kind == ProblemKind::nvidia_data;
}

bool RomReport::has_x86() const {
    return std::any_of(images.begin(), images.end(), [](const Image& i) {
        return i.pcir_ok && i.code_type == static_cast<std::uint8_t>(CodeType::x86);
    });
}

bool RomReport::has_efi() const {
    return std::any_of(images.begin(), images.end(), [](const Image& i) {
        return i.pcir_ok && i.code_type == static_cast<std::uint8_t>(CodeType::efi);
    });
}

bool RomReport::usable_with_ovmf() const {
    return start == 0 && std::any_of(images.begin(), images.end(), [](const Image& i) {
               return i.loadable_efi_x64();
           });
}

bool RomReport::usable_with_seabios() const {
    return start == 0 && std::any_of(images.begin(), images.end(), [](const Image& i) {
               return i.runnable_x86();
           });
}

bool RomReport::fixable_by_strip() const {
    return start > 0 && std::any_of(images.begin(), images.end(), [](const Image& i) {
               return i.loadable_efi_x64() || i.runnable_x86();
           });
}

bool RomReport::has(ProblemKind kind) const {
    return std::any_of(
        problems.begin(), problems.end(), [kind](const Problem& p) { return p.kind == kind; });
}

RomReport analyze_rom(std::span<const std::uint8_t> bytes) {
    RomReport r;
    r.size = bytes.size();
    if (bytes.empty()) {
        add(r, ProblemKind::empty, 0, "the file is empty");
        return r;
    }
    // The first image: at 0 (any signature nouveau accepts), else the first 55 AA with a PCIR.
    std::optional<std::size_t> first;
    if (image_at(bytes, 0, true)) {
        first = 0;
    } else {
        first = find_image(bytes, 1);
    }
    if (!first) {
        if (const auto sig = u16(bytes, 0); sig && image_signature(*sig)) {
            // A header at 0 whose PCIR cannot be read: report that image as far as it goes.
            Image img;
            img.signature = *sig;
            read_image(bytes, r, img);
            r.images.push_back(img);
            return r;
        }
        add(r,
            ProblemKind::no_image,
            0,
            fmt::format("no option ROM image (55 AA with a PCI data structure) in {} bytes{}",
                        bytes.size(),
                        bytes.size() >= 2 && bytes[0] == 0xFF && bytes[1] == 0xFF
                            ? ": it starts with ff ff, what a disabled or hidden ROM reads as"
                            : ""));
        return r;
    }
    r.start = *first;
    if (r.start > 0) {
        add(r,
            ProblemKind::vendor_header,
            0,
            fmt::format("{} bytes before the first image at {} (an nvflash or GPU-Z header): "
                        "firmware reads the ROM from offset 0, so cut them off "
                        "(--strip-header -o FIXED)",
                        r.start,
                        hex(r.start)));
    }

    std::size_t off = r.start;
    bool ended = false;
    std::size_t walked_end = 0; // the end of NVIDIA's data images, when the NPDE chain goes on
    for (std::size_t n = 0; n < k_max_images; ++n) {
        Image img;
        img.offset = off;
        const auto sig = u16(bytes, off);
        if (!sig || !image_signature(*sig)) {
            add(r,
                ProblemKind::bad_signature,
                off,
                fmt::format("the chain continues at {} but there is no image signature (55 AA) "
                            "there",
                            hex(off)));
            r.end = off;
            ended = true;
            break;
        }
        img.signature = *sig;
        const bool ok = read_image(bytes, r, img);
        r.images.push_back(img);
        note_not_firmware_image(r, img);
        if (!ok) {
            r.end = img.truncated ? bytes.size() : off;
            ended = true;
            break;
        }
        off += img.length;
        if (img.last) {
            r.end = off;
            ended = true;
            if (img.npde && (img.npde->indicator & 0x80) == 0 && img.npde->length_units != 0
                && img.code_type != 0x70) {
                walked_end = walk_nvidia_data(bytes, r, img);
            }
            break;
        }
        if (off >= bytes.size()) {
            r.end = off;
            ended = true;
            add(r,
                ProblemKind::no_last_image,
                img.offset,
                fmt::format("the image at {} is not flagged last but the file ends after it: "
                            "images are missing (a dump cut at {} bytes?)",
                            hex(img.offset),
                            bytes.size()));
            break;
        }
    }
    if (!ended) {
        r.end = off;
    }

    const std::size_t tail_start = std::min(std::max(r.end, walked_end), bytes.size());
    if (tail_start < bytes.size() && !r.expected_size) {
        r.trailing_bytes = bytes.size() - tail_start;
        const auto tail = bytes.subspan(tail_start);
        r.trailing_padding =
            std::all_of(tail.begin(), tail.end(), [](std::uint8_t c) { return c == 0xFF; })
            || std::all_of(tail.begin(), tail.end(), [](std::uint8_t c) { return c == 0x00; });
        if (!r.trailing_padding && !r.images.empty() && r.images.back().last) {
            r.trailing_image = find_image(bytes, tail_start);
        }
        add(r,
            ProblemKind::trailing_data,
            tail_start,
            fmt::format("{} bytes after the last image at {}{}",
                        r.trailing_bytes,
                        hex(tail_start),
                        r.trailing_padding ? " (padding)"
                        : r.trailing_image
                            ? fmt::format(", with another image header at {} that firmware never "
                                          "reaches: the image before it is flagged last",
                                          hex(*r.trailing_image))
                            : ""));
    }
    return r;
}

bool image_matches(const Image& image, std::uint16_t vendor, std::uint16_t device) {
    return image.pcir_ok && image.vendor_id == vendor
           && (image.device_id == device
               || std::find(image.device_list.begin(), image.device_list.end(), device)
                      != image.device_list.end());
}

std::optional<bool> ids_match(const RomReport& report, std::uint16_t vendor, std::uint16_t device) {
    std::optional<bool> result;
    for (const auto& img : report.images) {
        if (!img.pcir_ok
            || (img.code_type != static_cast<std::uint8_t>(CodeType::x86)
                && img.code_type != static_cast<std::uint8_t>(CodeType::efi))) {
            continue;
        }
        result = result.value_or(true) && image_matches(img, vendor, device);
    }
    return result;
}

std::span<const std::uint8_t> strip_header(std::span<const std::uint8_t> bytes,
                                           const RomReport& report) {
    if (report.images.empty() || report.start >= bytes.size()) {
        return {};
    }
    return bytes.subspan(report.start);
}

} // namespace pt::rom
