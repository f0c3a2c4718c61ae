// SPDX-License-Identifier: MIT
#include "pt/rom/render.hpp"

#include "pt/out/text.hpp"
#include "pt/pci/address.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pt::rom {
namespace {

std::string hex4(std::uint16_t v) {
    return fmt::format("{:04x}", v);
}

std::string ids(std::uint16_t vendor, std::uint16_t device) {
    return fmt::format("{:04x}:{:04x}", vendor, device);
}

std::string card(const pci::Device& dev) {
    return fmt::format("{} ({})", pci::format(dev.address), ids(dev.vendor, dev.device));
}

std::string subsystem_name(std::uint16_t subsystem) {
    switch (subsystem) {
    case 0x0A:
        return "application";
    case 0x0B:
        return "boot-service driver";
    case 0x0C:
        return "runtime driver";
    default:
        return fmt::format("subsystem {:#x}", subsystem);
    }
}

std::string compression_name(std::uint16_t compression) {
    switch (compression) {
    case 0:
        return "uncompressed";
    case 1:
        return "compressed (UEFI)";
    default:
        return fmt::format("compression {} (unknown: firmware skips it)", compression);
    }
}

const Image* first_where(const RomReport& r, bool (Image::*pred)() const) {
    const auto it = std::find_if(
        r.images.begin(), r.images.end(), [pred](const Image& i) { return (i.*pred)(); });
    return it == r.images.end() ? nullptr : &*it;
}

// The problem that makes a ROM unusable, for the verdict line.
std::string main_problem(const RomReport& r) {
    for (const auto kind : {ProblemKind::empty,
                            ProblemKind::no_image,
                            ProblemKind::truncated,
                            ProblemKind::no_last_image,
                            ProblemKind::bad_pcir,
                            ProblemKind::bad_signature,
                            ProblemKind::zero_length,
                            ProblemKind::bad_checksum,
                            ProblemKind::bad_efi,
                            ProblemKind::not_firmware_image}) {
        for (const auto& p : r.problems) {
            if (p.kind == kind) {
                return p.message;
            }
        }
    }
    if (r.has_efi()) {
        return "its EFI images are not for x64: OVMF on x86 loads only x64 EFI images";
    }
    return "no image that firmware can run";
}

// Why OVMF gets nothing from a ROM that has EFI images.
std::string efi_problem(const RomReport& r) {
    for (const auto& img : r.images) {
        if (img.code_type != static_cast<std::uint8_t>(CodeType::efi)) {
            continue;
        }
        if (!img.firmware) {
            return fmt::format("the EFI image at {:#x} comes after the image the PCIR flags "
                               "last, so firmware never loads it (only NVIDIA's NPDE chain "
                               "reaches it)",
                               img.offset);
        }
        if (!img.firmware_reads()) {
            for (const auto& p : r.problems) {
                if (p.kind == ProblemKind::not_firmware_image && p.offset == img.offset) {
                    return p.message;
                }
            }
        }
    }
    return main_problem(r);
}

// What the complete ROM does for firmware, when it does anything: "OVMF (UEFI) and SeaBIOS".
std::string firmware_reach(const Verdict& v) {
    if (v.ovmf && v.seabios) {
        return "OVMF (UEFI) and SeaBIOS";
    }
    return v.ovmf ? "OVMF (UEFI) only" : "SeaBIOS only";
}

// The first image whose IDs are not the card's: what the ROM is for.
std::string other_card(const RomReport& report, const pci::Device& device) {
    const auto it = std::find_if(report.images.begin(), report.images.end(), [&](const Image& i) {
        return i.pcir_ok && !image_matches(i, device.vendor, device.device);
    });
    return it == report.images.end() ? "another card" : ids(it->vendor_id, it->device_id);
}

std::string incomplete_summary(const RomReport& report) {
    std::string cause;
    for (const auto& p : report.problems) {
        if (p.kind == ProblemKind::truncated || p.kind == ProblemKind::no_last_image) {
            cause = p.message;
            break;
        }
    }
    return fmt::format("not usable: {}; dump again: read it while no VM "
                       "uses the card (pt rom-dump SEL -o FILE; the boot GPU's copy is often "
                       "cut short, so dump it as a secondary card), or take the full image from "
                       "the card maker or nvflash/amdvbflash",
                       cause);
}

std::string firmware_summary(const RomReport& report, const Verdict& v) {
    if (v.ovmf && v.seabios) {
        return "usable with OVMF (UEFI) and SeaBIOS";
    }
    if (v.ovmf) {
        return "usable with OVMF (UEFI) only: no valid x86 image, so a SeaBIOS VM gets no VGA "
               "BIOS";
    }
    if (v.seabios) {
        return fmt::format("usable with SeaBIOS only: {}, so an OVMF (UEFI) VM gets no GOP driver "
                           "from it",
                           report.has_efi()
                               ? "no EFI image OVMF can load (" + efi_problem(report) + ")"
                               : "no EFI image");
    }
    if (v.fixable_by_strip) {
        return fmt::format("not usable as is: {} bytes of vendor header before the first image; "
                           "--strip-header -o FIXED writes the usable part",
                           report.start);
    }
    return "not usable: " + main_problem(report);
}

} // namespace

Verdict judge(const RomReport& report, const std::optional<pci::Device>& device) {
    Verdict v;
    v.ovmf = report.usable_with_ovmf();
    v.seabios = report.usable_with_seabios();
    v.fixable_by_strip = report.fixable_by_strip();
    v.complete = report.complete();
    if (device) {
        v.ids_match = ids_match(report, device->vendor, device->device);
    }
    // The line starts with "usable" exactly when the exit code is 0 (Verdict::usable).
    if (!v.complete) {
        v.summary = incomplete_summary(report);
    } else if ((v.ovmf || v.seabios) && v.ids_match == std::optional<bool>(false)) {
        v.summary = fmt::format("not usable for {}: the ROM is for {} (on that card it would "
                                "work with {})",
                                card(*device),
                                other_card(report, *device),
                                firmware_reach(v));
    } else {
        v.summary = firmware_summary(report, v);
        if (device && v.ids_match) {
            v.summary += *v.ids_match ? fmt::format("; IDs match {}", card(*device))
                                      : fmt::format("; IDs do not match {}: the ROM is for {}",
                                                    card(*device),
                                                    other_card(report, *device));
        }
    }
    return v;
}

out::Json to_json(const RomReport& r, const Verdict& v, const CheckContext& ctx) {
    using Json = out::Json;
    Json images = Json::array();
    for (const auto& img : r.images) {
        Json npde = nullptr;
        if (img.npde) {
            npde = Json{{"offset", img.npde->offset},
                        {"length_units", img.npde->length_units},
                        {"last", (img.npde->indicator & 0x80) != 0}};
        }
        Json efi = nullptr;
        if (img.efi) {
            efi = Json{{"signature", fmt::format("{:04x}", img.efi->signature)},
                       {"signature_ok", img.efi->signature_ok()},
                       {"init_size_units", img.efi->init_size},
                       {"subsystem", img.efi->subsystem},
                       {"machine", hex4(img.efi->machine)},
                       {"machine_name", machine_name(img.efi->machine)},
                       {"compression", img.efi->compression},
                       {"image_offset", img.efi->image_offset}};
        }
        Json match = nullptr;
        if (ctx.device && img.pcir_ok) {
            match = image_matches(img, ctx.device->vendor, ctx.device->device);
        }
        Json list = Json::array();
        for (const auto id : img.device_list) {
            list.push_back(hex4(id));
        }
        images.push_back(Json{
            {"offset", img.offset},
            {"signature", hex4(img.signature)},
            {"pcir_offset", img.pcir_offset},
            {"pcir_signature",
             img.pcir_signature.empty() ? Json(nullptr) : Json(img.pcir_signature)},
            {"vendor", img.pcir_ok ? Json(hex4(img.vendor_id)) : Json(nullptr)},
            {"device", img.pcir_ok ? Json(hex4(img.device_id)) : Json(nullptr)},
            {"device_list", list},
            {"ids_match", match},
            {"class", img.pcir_ok ? Json(fmt::format("{:06x}", img.class_code)) : Json(nullptr)},
            {"pcir_revision", img.pcir_revision},
            {"length", img.length},
            {"pcir_length_units", img.pcir_length_units},
            {"npde", npde},
            {"code_type", img.code_type},
            {"code_type_name", code_type_name(img.code_type)},
            {"indicator", fmt::format("{:02x}", img.indicator)},
            {"last", img.last},
            {"firmware", img.firmware},
            {"truncated", img.truncated},
            {"checksum_ok", img.checksum_ok ? Json(*img.checksum_ok) : Json(nullptr)},
            {"efi", efi},
        });
    }
    Json problems = Json::array();
    for (const auto& p : r.problems) {
        problems.push_back(
            Json{{"kind", to_string(p.kind)}, {"offset", p.offset}, {"message", p.message}});
    }
    Json device = nullptr;
    if (ctx.device) {
        device = Json{{"address", pci::format(ctx.device->address)},
                      {"vendor", hex4(ctx.device->vendor)},
                      {"device", hex4(ctx.device->device)}};
    }
    return Json{
        {"source", ctx.source},
        {"access", ctx.access ? Json(*ctx.access) : Json(nullptr)},
        {"device", device},
        {"size", r.size},
        {"start", r.start},
        {"end", r.end},
        {"expected_size", r.expected_size ? Json(*r.expected_size) : Json(nullptr)},
        {"trailing_bytes", r.trailing_bytes},
        {"trailing_padding", r.trailing_padding},
        {"images", images},
        {"problems", problems},
        {"verdict",
         Json{{"usable", v.usable()},
              {"ovmf", v.ovmf},
              {"seabios", v.seabios},
              {"ids_match", v.ids_match ? Json(*v.ids_match) : Json(nullptr)},
              {"fixable_by_strip", v.fixable_by_strip},
              {"complete", v.complete},
              {"summary", v.summary}}},
    };
}

std::string render_text(const RomReport& r,
                        const Verdict& v,
                        const CheckContext& ctx,
                        const out::TextStyle& style) {
    std::string out = fmt::format("{}: {} bytes{}\n",
                                  ctx.source,
                                  r.size,
                                  ctx.access == std::optional<std::string>("plain_file")
                                      ? " (a plain file under --root, read without the sysfs "
                                        "enable/disable writes)"
                                      : "");
    for (std::size_t n = 0; n < r.images.size(); ++n) {
        const auto& img = r.images[n];
        out += fmt::format("image {} at {:#x}: signature {:02x} {:02x}, PCI data at +{:#x}",
                           n + 1,
                           img.offset,
                           img.signature & 0xFF,
                           img.signature >> 8,
                           img.pcir_offset);
        if (!img.pcir_ok) {
            out += img.pcir_signature.empty() ? " (unreadable)\n" : " (cut off)\n";
            continue;
        }
        out += fmt::format(" \"{}\" rev {}\n", img.pcir_signature, img.pcir_revision);
        out += fmt::format("  ids {}", ids(img.vendor_id, img.device_id));
        if (!img.device_list.empty()) {
            std::string list;
            for (const auto id : img.device_list) {
                list += (list.empty() ? "" : " ") + hex4(id);
            }
            out += fmt::format(" (also {})", list);
        }
        if (ctx.device) {
            out += image_matches(img, ctx.device->vendor, ctx.device->device)
                       ? fmt::format(", matches {}", pci::format(ctx.device->address))
                       : fmt::format(", NOT {}", card(*ctx.device));
        }
        out += fmt::format(", class {:06x}\n", img.class_code);
        out += fmt::format("  {}, {} bytes ({} x 512), indicator {:#04x}: {}",
                           code_type_name(img.code_type),
                           img.length,
                           img.length / 512,
                           img.indicator,
                           !img.firmware ? "NVIDIA data past the last image, firmware skips it"
                           : img.last    ? "last image"
                                         : "more images follow");
        if (img.checksum_ok) {
            out += *img.checksum_ok ? ", checksum ok" : ", CHECKSUM BAD";
        }
        if (img.truncated) {
            out += ", TRUNCATED";
        }
        out += "\n";
        if (img.npde) {
            const bool npde_last = (img.npde->indicator & 0x80) != 0;
            const bool pcir_last = (img.indicator & 0x80) != 0;
            out += fmt::format(
                "  NVIDIA NPDE at +{:#x}: {} x 512, {} (the PCIR says {} x 512, {}{})\n",
                img.npde->offset,
                img.npde->length_units,
                npde_last ? "last" : "not last",
                img.pcir_length_units,
                pcir_last ? "last" : "not last",
                npde_last != pcir_last || img.npde->length_units != img.pcir_length_units
                    ? "; firmware follows the PCIR"
                    : "");
        }
        if (img.efi) {
            out += fmt::format("  EFI signature {:#06x} ({}), {}, {}, {}\n",
                               img.efi->signature,
                               img.efi->signature_ok() ? "ok" : "BAD",
                               machine_name(img.efi->machine),
                               subsystem_name(img.efi->subsystem),
                               compression_name(img.efi->compression));
        }
    }
    for (const auto& p : r.problems) {
        if (style.quiet && p.kind == ProblemKind::trailing_data && r.trailing_padding) {
            continue;
        }
        out += fmt::format("{}: {}\n", is_note(p.kind) ? "note" : "problem", p.message);
    }
    out += fmt::format("verdict: {}\n", v.summary);
    if (!style.quiet && v.ovmf) {
        if (const auto* efi = first_where(r, &Image::loadable_efi_x64)) {
            out += fmt::format("  OVMF loads the x64 EFI image at {:#x}\n", efi->offset);
        }
    }
    return out;
}

} // namespace pt::rom
