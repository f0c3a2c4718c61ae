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

// What to keep: reduce_ids's two forms in one walk over the file.
struct Keep {
    const std::set<std::uint16_t>* vendors = nullptr; // null: every vendor
    const IdsWanted* lines = nullptr;                 // null: whole vendor blocks
    bool header = false;
};

// Which line of a kept vendor block to keep, by IdsWanted. A subsystem line goes with the device
// line above it: libpci files it under the last device line it read.
class LineFilter {
public:
    explicit LineFilter(const IdsWanted& wanted)
        : m_wanted(wanted) {}

    // A new vendor block starts.
    void start(std::uint16_t vendor) {
        m_vendor = vendor;
        m_has_device = false;
    }

    bool keep(std::string_view line) {
        if (line.starts_with("\t\t")) {
            if (!m_has_device) {
                return false;
            }
            const auto subvendor = hex4(line.substr(2));
            const auto subdevice =
                line.size() > 6 && line[6] == ' ' ? hex4(line.substr(7)) : std::nullopt;
            if (!subvendor || !subdevice) {
                return true;
            }
            const std::uint64_t key =
                (std::uint64_t{m_device} << 32U) | (std::uint64_t{*subvendor} << 16U) | *subdevice;
            return m_wanted.subsystems.contains(key);
        }
        const auto device = hex4(line.substr(1));
        m_has_device = false;
        if (!device) {
            return true; // not a device line: kept for libpci to report
        }
        m_device = (std::uint32_t{m_vendor} << 16U) | *device;
        m_has_device = m_wanted.devices.contains(m_device);
        return m_has_device;
    }

private:
    const IdsWanted& m_wanted;
    std::uint16_t m_vendor = 0;
    std::uint32_t m_device = 0; // vendor << 16 | device of the last device line
    bool m_has_device = false;  // that line was kept
};

IdsSubset reduce(std::string_view ids, const Keep& keep) {
    IdsSubset subset;
    subset.text.reserve(keep.vendors != nullptr ? ids.size() / 16 : ids.size());
    bool header = keep.header;
    bool keep_block = true;
    // Within a kept vendor block, with keep.lines: which of its lines to keep.
    const IdsWanted no_lines;
    LineFilter lines(keep.lines != nullptr ? *keep.lines : no_lines);
    bool filter_lines = false;
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
                keep_block = !vendor || keep.vendors == nullptr || keep.vendors->contains(*vendor);
                filter_lines =
                    keep_block && vendor && keep.lines != nullptr && !line.starts_with("S ");
                if (filter_lines) {
                    lines.start(*vendor);
                }
            } else if (keep_block && filter_lines && !lines.keep(line)) {
                continue;
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

} // namespace

IdsSubset
reduce_ids(std::string_view ids, const std::set<std::uint16_t>* vendors, bool keep_header) {
    return reduce(ids, Keep{vendors, nullptr, keep_header});
}

IdsSubset reduce_ids(std::string_view ids, const IdsWanted& wanted) {
    return reduce(ids, Keep{&wanted.vendors, &wanted, false});
}

} // namespace pt::pci
