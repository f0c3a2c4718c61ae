// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace pt::pci {

// Parses 1 to 8 hex digits, nothing else (no "0x", no sign, no spaces).
std::optional<std::uint32_t> parse_hex_digits(std::string_view text);

} // namespace pt::pci
