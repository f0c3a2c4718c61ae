// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>

namespace pt {

// The small string helpers every parser of config files, sysfs attributes and kernel logs needs,
// in the C locale whatever the user's locale is: a German or Turkish LC_CTYPE must not change how
// "I" lower-cases or what counts as a blank in /etc/pve or /sys.

// Space, tab, newline, carriage return, form feed, vertical tab (isspace in the C locale).
constexpr bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// `text` without leading and trailing blanks.
constexpr std::string_view trim(std::string_view text) {
    while (!text.empty() && is_blank(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_blank(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

// `text` with ASCII A-Z lower-cased; other bytes (UTF-8 included) unchanged.
inline std::string to_lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

} // namespace pt
