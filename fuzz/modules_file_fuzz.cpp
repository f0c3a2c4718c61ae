// SPDX-License-Identifier: MIT
// libFuzzer target for module list files (pt/conf/modules_file): parse_modules, with_modules.
// Input: `OPS\nFILE`; OPS is up to 6 words `+MODULE` (add) or `-MODULE` (remove), MODULE made of
// [A-Za-z0-9_-] as driver names are (driver/bind.cpp passes driver names). Properties:
//   - with_modules(text, {}, {}) is the text;
//   - parse_modules gives normalised names (no blanks, none empty);
//   - the edit keeps the other modules in order, lists every added module, lists no removed one
//     that is not added again, keeps a final newline, and a second
//     edit changes nothing. (A request that adds and removes one module is not checked: the
//     module moves to the end at every run.)
#include "pt/conf/modprobe.hpp"
#include "pt/conf/modules_file.hpp"

#include <algorithm>

#include "fuzz_support.hpp"

using namespace pt;       // NOLINT(google-build-using-namespace): a fuzz target
using namespace pt::fuzz; // NOLINT(google-build-using-namespace)

namespace {

bool module_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
               || c == '_' || c == '-';
    });
}

bool has(const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto [control, file] = split_input(data, size);
    const std::string text(file);
    std::vector<std::string> add;
    std::vector<std::string> remove;
    for (const auto word : words(control, 6)) {
        if (word.size() >= 2 && module_name(word.substr(1))) {
            (word.front() == '+' ? add : remove).emplace_back(word.substr(1));
        }
    }

    require(conf::with_modules(text, {}, {}) == text, "an empty edit changed the text");
    const auto before = conf::parse_modules(text);
    for (const auto& m : before) {
        require(!m.empty() && m.find_first_of(" \t\r\n\f\v") == std::string::npos
                    && conf::normalise_module(m) == m,
                "a parsed module name is empty, not normalised or has a blank",
                show(m));
    }

    const auto out = conf::with_modules(text, add, remove);
    const auto after = conf::parse_modules(out);
    const auto detail = show(text) + " -> " + show(out);
    std::vector<std::string> removed;
    for (const auto& m : remove) {
        removed.push_back(conf::normalise_module(m));
    }
    std::vector<std::string> added;
    for (const auto& m : add) {
        added.push_back(conf::normalise_module(m));
    }
    // The modules kept, in order, then the new ones.
    std::vector<std::string> expected;
    for (const auto& m : before) {
        if (!has(removed, m)) {
            expected.push_back(m);
        }
    }
    for (const auto& m : added) {
        if (!has(expected, m)) {
            expected.push_back(m);
        }
    }
    for (const auto& m : added) {
        if (has(removed, m)) {
            return 0; // both added and removed: no caller asks that, and no result is stable
        }
    }
    require(after == expected, "the edited file does not list the expected modules", detail);
    const bool appended = after.size() > 0 && before.size() + added.size() > 0
                          && std::any_of(added.begin(), added.end(), [&](const auto& m) {
                                 return !has(before, m) || has(removed, m);
                             });
    // (Without a final newline, removing the last line may leave the file ending in the newline
    // of a blank line before it, which then reads as a last, empty, unterminated line.)
    if (!appended && !text.empty() && !out.empty() && text.back() == '\n') {
        require(out.back() == '\n', "the final newline went without an append", detail);
    }
    require(conf::with_modules(out, add, remove) == out, "the edit is not idempotent", detail);
    return 0;
}
