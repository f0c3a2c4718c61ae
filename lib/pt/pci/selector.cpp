// SPDX-License-Identifier: MIT
#include "pt/pci/selector.hpp"

#include "pt/error.hpp"
#include "pt/pci/device.hpp"
#include "pt/pci/hex.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace pt::pci {

const char* const k_selector_forms = "  0000:81:00.0  one function (domain:bus:device.function)\n"
                                     "  81:00.0       one function in domain 0000\n"
                                     "  0000:81:00    every function of a slot\n"
                                     "  81:00         every function of a slot in domain 0000\n"
                                     "  10de:2204     every device with this vendor:device ID";

namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> parts;
    std::size_t pos = 0;
    while (true) {
        const auto next = text.find(sep, pos);
        parts.push_back(text.substr(pos, next - pos));
        if (next == std::string_view::npos) {
            return parts;
        }
        pos = next + 1;
    }
}

std::optional<std::uint32_t> hex_of_width(std::string_view text, std::size_t min, std::size_t max) {
    if (text.size() < min || text.size() > max) {
        return std::nullopt;
    }
    return parse_hex_digits(text);
}

std::optional<Selector> try_parse(std::string_view text) {
    Selector sel;
    sel.text = std::string(text);
    // "DD.F" may end the text; split it off first.
    std::string_view head = text;
    std::optional<std::uint32_t> function;
    if (const auto dot = text.rfind('.'); dot != std::string_view::npos) {
        function = hex_of_width(text.substr(dot + 1), 1, 1);
        if (!function || *function > 7) {
            return std::nullopt;
        }
        head = text.substr(0, dot);
    }
    const auto parts = split(head, ':');
    if (parts.size() == 2 && !function && parts[0].size() == 4 && parts[1].size() == 4) {
        const auto vendor = hex_of_width(parts[0], 4, 4);
        const auto device = hex_of_width(parts[1], 4, 4);
        if (!vendor || !device) {
            return std::nullopt;
        }
        sel.kind = Selector::Kind::ids;
        sel.vendor = static_cast<std::uint16_t>(*vendor);
        sel.device = static_cast<std::uint16_t>(*device);
        return sel;
    }
    std::optional<std::uint32_t> domain = 0;
    std::size_t first = 0;
    if (parts.size() == 3) {
        domain = hex_of_width(parts[0], 4, 8);
        first = 1;
    } else if (parts.size() != 2) {
        return std::nullopt;
    }
    const auto bus = hex_of_width(parts[first], 2, 2);
    const auto device = hex_of_width(parts[first + 1], 2, 2);
    if (!domain || !bus || !device || *device > 0x1f) {
        return std::nullopt;
    }
    sel.address = Address{*domain,
                          static_cast<std::uint8_t>(*bus),
                          static_cast<std::uint8_t>(*device),
                          static_cast<std::uint8_t>(function.value_or(0))};
    sel.kind = function ? Selector::Kind::function : Selector::Kind::slot;
    return sel;
}

} // namespace

Selector parse_selector(std::string_view text) {
    if (auto sel = try_parse(text)) {
        return *sel;
    }
    throw UsageError(
        fmt::format("'{}' is not a device selector; use one of:\n{}", text, k_selector_forms));
}

bool Selector::matches(const Device& dev) const {
    switch (kind) {
    case Kind::function:
        return dev.address == address;
    case Kind::slot:
        return dev.address.same_slot(address);
    case Kind::ids:
        return dev.vendor == vendor && dev.device == device;
    }
    return false;
}

} // namespace pt::pci
