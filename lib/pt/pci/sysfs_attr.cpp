// SPDX-License-Identifier: MIT
#include "pt/pci/sysfs_attr.hpp"

#include "pt/pci/hex.hpp"
#include "pt/strings.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

namespace pt::pci {
namespace {} // namespace

std::optional<std::uint32_t> parse_hex_attr(std::string_view text) {
    text = trim(text);
    if (text.size() < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
        return std::nullopt;
    }
    return parse_hex_digits(text.substr(2));
}

std::optional<long> parse_decimal_attr(std::string_view text) {
    text = trim(text);
    long value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end || text.empty()) {
        return std::nullopt;
    }
    return value;
}

std::optional<bool> parse_bool_attr(std::string_view text) {
    text = trim(text);
    if (text == "1") {
        return true;
    }
    if (text == "0") {
        return false;
    }
    return std::nullopt;
}

std::vector<std::string> parse_reset_methods(std::string_view text) {
    std::vector<std::string> methods;
    text = trim(text);
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto next = std::min(text.find(' ', pos), text.size());
        if (next > pos) {
            methods.emplace_back(text.substr(pos, next - pos));
        }
        pos = next + 1;
    }
    return methods;
}

std::optional<std::string> parse_driver_override(std::string_view text) {
    text = trim(text);
    if (text.empty() || text == "(null)") {
        return std::nullopt;
    }
    return std::string(text);
}

namespace {

// "10DE:2204" -> {0x10de, 0x2204}
std::optional<std::pair<std::uint16_t, std::uint16_t>> parse_id_pair(std::string_view text) {
    const auto colon = text.find(':');
    if (colon != 4 || text.size() != 9) {
        return std::nullopt;
    }
    const auto first = parse_hex_digits(text.substr(0, 4));
    const auto second = parse_hex_digits(text.substr(5, 4));
    if (!first || !second) {
        return std::nullopt;
    }
    return std::pair{static_cast<std::uint16_t>(*first), static_cast<std::uint16_t>(*second)};
}

} // namespace

Uevent parse_uevent(std::string_view text) {
    Uevent out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto end = std::min(text.find('\n', pos), text.size());
        const std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        const auto eq = line.find('=');
        if (eq == std::string_view::npos) {
            continue;
        }
        const std::string_view key = line.substr(0, eq);
        const std::string_view value = line.substr(eq + 1);
        if (key == "DRIVER" && !value.empty()) {
            out.driver = std::string(value);
        } else if (key == "PCI_CLASS") {
            if (const auto cls = parse_hex_digits(value); cls && *cls <= 0xffffffU) {
                out.class_code = *cls;
            }
        } else if (key == "PCI_ID") {
            if (const auto ids = parse_id_pair(value)) {
                out.vendor = ids->first;
                out.device = ids->second;
            }
        } else if (key == "PCI_SUBSYS_ID") {
            if (const auto ids = parse_id_pair(value)) {
                out.subsystem_vendor = ids->first;
                out.subsystem_device = ids->second;
            }
        }
    }
    return out;
}

std::optional<std::string> parse_link_speed(std::string_view text) {
    text = trim(text);
    if (text.empty() || text.starts_with("Unknown")) {
        return std::nullopt;
    }
    // Since Linux 4.17 the kernel appends the bus name ("8.0 GT/s PCIe"); older ones do not.
    if (text.ends_with(" PCIe")) {
        text.remove_suffix(5);
    }
    return std::string(text);
}

} // namespace pt::pci
