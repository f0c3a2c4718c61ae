// SPDX-License-Identifier: MIT
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pt::pci {

// A PCI function address, DDDD:BB:DD.F. The domain is 32 bits because Intel VMD puts its child
// devices in domains 10000 and above, which the kernel prints with five or more hex digits.
struct Address {
    std::uint32_t domain = 0;
    std::uint8_t bus = 0;
    std::uint8_t device = 0;   // 0..31
    std::uint8_t function = 0; // 0..7

    // Ordered by (domain, bus, device, function), the order lspci and the kernel use.
    auto operator<=>(const Address&) const = default; // NOLINT(modernize-use-nullptr): tidy 14 bug

    // True when both are functions of the same slot (domain, bus and device equal).
    bool same_slot(const Address& other) const {
        return domain == other.domain && bus == other.bus && device == other.device;
    }
};

// Parses the kernel's full form "0000:01:00.0" (domain of 4 to 8 hex digits, any case).
// Returns nullopt for anything else; used for sysfs directory names, where nothing else occurs.
std::optional<Address> parse_address(std::string_view text);

// "0000:01:00.0", lower-case hex, the domain padded to at least four digits.
std::string format(const Address& address);

// "0000:01:00", the slot part of an address (what Proxmox's hostpci "All Functions" uses).
std::string format_slot(const Address& address);

} // namespace pt::pci
