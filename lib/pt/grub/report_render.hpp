// SPDX-License-Identifier: MIT
#pragma once

#include "pt/out/json.hpp"

#include <string>

namespace pt::out {
struct TextStyle;
}

namespace pt::grub {

struct Report;

// What `pt grub` prints without options: the platform, the bootloader and why, the configured
// and the running command line, their differences, the warnings and what the defaults would
// change. See pt-grub(1), STATUS.
std::string render_text(const Report& report, const out::TextStyle& style);

// The same as one JSON object; the schema is documented in pt-grub(1), JSON.
out::Json to_json(const Report& report);

} // namespace pt::grub
