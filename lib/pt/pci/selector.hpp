// SPDX-License-Identifier: MIT
#pragma once

#include "pt/pci/address.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace pt::pci {

struct Device;

// One way to name devices, shared by every subcommand:
//   0000:81:00.0  one function            81:00.0  the same, domain 0000
//   0000:81:00    every function of a slot  81:00    the same, domain 0000
//   10de:2204     every device with that vendor:device ID
struct Selector {
    enum class Kind { function, slot, ids };
    Kind kind = Kind::function;
    Address address;          // function and slot (function ignored for slot)
    std::uint16_t vendor = 0; // ids
    std::uint16_t device = 0; // ids
    std::string text;         // as the user typed it, for messages

    bool matches(const Device& dev) const;
};

// The accepted forms, one per line, for usage messages.
extern const char* const k_selector_forms;

// Parses a selector. Throws pt::UsageError naming `text` and listing the accepted forms.
Selector parse_selector(std::string_view text);

} // namespace pt::pci
