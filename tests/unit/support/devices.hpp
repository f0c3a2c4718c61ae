// SPDX-License-Identifier: MIT
#pragma once

#include "pt/pci/address.hpp"
#include "pt/pci/device.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pt::test {

// An address from its full text; a typo throws, which fails the test.
inline pci::Address addr(const char* text) {
    const auto address = pci::parse_address(text);
    if (!address) {
        throw std::invalid_argument(std::string("not a PCI address: ") + text);
    }
    return *address;
}

// An in-memory device, for tests of the logic above sysfs.
inline pci::Device make_device(const char* address,
                               std::uint32_t class_code,
                               std::optional<std::string> driver = std::nullopt,
                               std::uint16_t vendor = 0x10de,
                               std::uint16_t device = 0x2204) {
    pci::Device dev;
    dev.address = addr(address);
    dev.class_code = class_code;
    dev.driver = std::move(driver);
    dev.vendor = vendor;
    dev.device = device;
    return dev;
}

inline std::vector<std::string> formatted(const std::vector<pci::Address>& list) {
    std::vector<std::string> out;
    for (const auto& address : list) {
        out.push_back(pci::format(address));
    }
    return out;
}

} // namespace pt::test
