// SPDX-License-Identifier: MIT
#pragma once

#include "pt/out/json.hpp"
#include "pt/pci/device.hpp"
#include "pt/rom/parse.hpp"

#include <optional>
#include <string>

namespace pt::out {
struct TextStyle;
}

namespace pt::rom {

// What was checked and against which card.
struct CheckContext {
    std::string source;                // the file ("vbios.rom") or "0000:01:00.0 rom"
    std::optional<pci::Device> device; // the card to compare IDs with (--device, or dumped from)
    std::optional<std::string> access; // dumps: "sysfs" or "plain_file"
};

// The conclusion the user acts on.
struct Verdict {
    bool ovmf = false;             // RomReport::usable_with_ovmf
    bool seabios = false;          // RomReport::usable_with_seabios
    bool fixable_by_strip = false; // RomReport::fixable_by_strip
    bool complete = true;          // RomReport::complete: an incomplete dump is never usable
    std::optional<bool> ids_match; // nullopt: no card to compare with, or no image to compare
    std::string summary;           // one line, lower-case; starts with "usable" iff usable()

    // Complete, usable with some firmware, and not for another card. Exit 3 otherwise.
    bool usable() const {
        return complete && (ovmf || seabios) && ids_match != std::optional<bool>(false);
    }
};

// Judges `report` against `device` (when given).
Verdict judge(const RomReport& report, const std::optional<pci::Device>& device);

// The JSON of `pt rom-dump --check` and of a dump; schema in pt-rom-dump(1), JSON OUTPUT.
out::Json to_json(const RomReport& report, const Verdict& verdict, const CheckContext& context);

// The text rendering: one block per image, the problems, the verdict line.
std::string render_text(const RomReport& report,
                        const Verdict& verdict,
                        const CheckContext& context,
                        const out::TextStyle& style);

} // namespace pt::rom
