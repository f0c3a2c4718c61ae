// SPDX-License-Identifier: MIT
#include "pt/pci/address.hpp"

#include "pt/pci/hex.hpp"

#include <fmt/format.h>

namespace pt::pci {

std::optional<Address> parse_address(std::string_view text) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos || colon < 4 || colon > 8) {
        return std::nullopt;
    }
    const auto domain = parse_hex_digits(text.substr(0, colon));
    const std::string_view rest = text.substr(colon + 1);
    // rest is "BB:DD.F"
    if (!domain || rest.size() != 7 || rest[2] != ':' || rest[5] != '.') {
        return std::nullopt;
    }
    const auto bus = parse_hex_digits(rest.substr(0, 2));
    const auto device = parse_hex_digits(rest.substr(3, 2));
    const auto function = parse_hex_digits(rest.substr(6, 1));
    if (!bus || !device || !function || *device > 0x1f || *function > 7) {
        return std::nullopt;
    }
    return Address{*domain,
                   static_cast<std::uint8_t>(*bus),
                   static_cast<std::uint8_t>(*device),
                   static_cast<std::uint8_t>(*function)};
}

std::string format(const Address& address) {
    return fmt::format(
        "{:04x}:{:02x}:{:02x}.{:x}", address.domain, address.bus, address.device, address.function);
}

std::string format_slot(const Address& address) {
    return fmt::format("{:04x}:{:02x}:{:02x}", address.domain, address.bus, address.device);
}

} // namespace pt::pci
