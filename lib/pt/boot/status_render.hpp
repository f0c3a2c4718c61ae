// SPDX-License-Identifier: MIT
#pragma once

#include "pt/out/json.hpp"

#include <string>

namespace pt::out {
struct TextStyle;
}

namespace pt::boot {

struct Status;

// What `pt grub` prints without options: the platform, the bootloader and why, the configured
// and the running command line, their differences, the warnings and what the defaults would
// change. See pt-grub(1), STATUS.
std::string render_text(const Status& status, const out::TextStyle& style);

// The same as one JSON object; the schema is documented in pt-grub(1), JSON.
out::Json to_json(const Status& status);

} // namespace pt::boot
