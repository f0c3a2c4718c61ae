// SPDX-License-Identifier: MIT
// What the text targets share. Their input is a control line and a file:
//   CONTROL '\n' FILE
// CONTROL says which edit to make (its grammar is in each target's header comment), FILE is the
// text the parser reads. libFuzzer mutates both, and the seeds (fuzz/make_seeds.cpp) start from
// real-shaped files with realistic edits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace pt::fuzz {

// A violated property: print it and abort, which libFuzzer reports as a crash with the input.
[[noreturn]] inline void fail(const char* what, const std::string& detail = {}) {
    std::fprintf(stderr, "\nPROPERTY VIOLATED: %s\n", what);
    if (!detail.empty()) {
        std::fprintf(stderr, "%s\n", detail.c_str());
    }
    std::abort();
}

inline void require(bool ok, const char* what, const std::string& detail = {}) {
    if (!ok) {
        fail(what, detail);
    }
}

struct Input {
    std::string_view control;
    std::string_view file;
};

inline Input split_input(const std::uint8_t* data, std::size_t size) {
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    const auto nl = all.find('\n');
    if (nl == std::string_view::npos) {
        return {all, {}};
    }
    return {all.substr(0, nl), all.substr(nl + 1)};
}

// The words of the control line, split at spaces; at most `max` of them.
inline std::vector<std::string_view> words(std::string_view text, std::size_t max = 8) {
    std::vector<std::string_view> out;
    std::size_t pos = 0;
    while (pos < text.size() && out.size() < max) {
        const auto space = text.find(' ', pos);
        const auto end = space == std::string_view::npos ? text.size() : space;
        if (end > pos) {
            out.push_back(text.substr(pos, end - pos));
        }
        pos = end + 1;
    }
    return out;
}

// A printable rendering of bytes for the failure messages.
inline std::string show(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

} // namespace pt::fuzz
