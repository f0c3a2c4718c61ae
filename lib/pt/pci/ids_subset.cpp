// SPDX-License-Identifier: MIT
#include "pt/pci/ids_subset.hpp"

#include <charconv>
#include <optional>

namespace pt::pci {
namespace {

// Four hex digits at the start of `text`, as pci.ids writes a vendor ID.
std::optional<std::uint16_t> hex4(std::string_view text) {
    std::uint16_t id = 0;
    if (text.size() < 4) {
        return std::nullopt;
    }
    const auto [end, ec] = std::from_chars(text.data(), text.data() + 4, id, 16);
    if (ec != std::errc() || end != text.data() + 4) {
        return std::nullopt;
    }
    return id;
}

// The vendor a top-level line opens a block for: "vvvv  vendor_name" (four hex digits, then
// white space, as libpci's parser requires: lib/names-parse.c) or a generic subsystem block
// "S vvvv", which libpci refuses unless its vendor is loaded. nullopt for every other line.
std::optional<std::uint16_t> block_vendor(std::string_view line) {
    if (line.starts_with("S ")) {
        return hex4(line.substr(2));
    }
    if (line.size() < 5 || (line[4] != ' ' && line[4] != '\t')) {
        return std::nullopt;
    }
    return hex4(line);
}

bool blank(std::string_view line) {
    return line.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

} // namespace

IdsSubset
reduce_ids(std::string_view ids, const std::set<std::uint16_t>* vendors, bool keep_header) {
    IdsSubset subset;
    subset.text.reserve(vendors != nullptr ? ids.size() / 16 : ids.size());
    bool header = keep_header;
    bool keep_block = true;
    unsigned number = 0;
    while (!ids.empty()) {
        const auto eol = ids.find('\n');
        const auto line = ids.substr(0, eol == std::string_view::npos ? ids.size() : eol + 1);
        ids.remove_prefix(line.size());
        ++number;
        const bool comment = line[0] == '#' || blank(line);
        if (comment && !header) {
            continue;
        }
        if (!comment) {
            header = false;
            if (line[0] != '\t') {
                const auto vendor = block_vendor(line);
                keep_block = !vendor || vendors == nullptr || vendors->contains(*vendor);
            }
            if (!keep_block) {
                continue;
            }
        }
        subset.text.append(line);
        if (!line.ends_with('\n')) {
            subset.text += '\n';
        }
        subset.line_numbers.push_back(number);
    }
    return subset;
}

} // namespace pt::pci
