// SPDX-License-Identifier: MIT
// libFuzzer target for modprobe.d files (pt/conf/modprobe): parse_modprobe and the queries over
// it. Input: `MODULE KEY VALUE PRE\nFILE` (words of [A-Za-z0-9_.:/-], which make a valid
// command; missing ones get defaults). There is no editor, so the properties are the parser's
// own and metamorphic ones:
//   - commands come in line order, with a verb that is no comment, a normalised module without
//     blanks, and a trimmed rest;
//   - appending (after a blank line) `blacklist MODULE`, `options MODULE KEY=VALUE`,
//     `install MODULE /bin/false` or `softdep MODULE pre: PRE` to the file keeps every earlier
//     command (the last may lose a trailing backslash), adds exactly that one, and makes
//     is_blacklisted / module_option / is_install_disabled / softdep_pre say so.
#include "pt/conf/modprobe.hpp"

#include <algorithm>

#include "fuzz_support.hpp"

using namespace pt;       // NOLINT(google-build-using-namespace): a fuzz target
using namespace pt::fuzz; // NOLINT(google-build-using-namespace)

namespace {

bool plain(std::string_view word) {
    return !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
               || c == '_' || c == '-' || c == '.' || c == ':' || c == '/';
    });
}

bool same(const conf::ModprobeCommand& a, const conf::ModprobeCommand& b) {
    return a.line == b.line && a.verb == b.verb && a.module == b.module && a.rest == b.rest;
}

void check_commands(std::string_view text, const std::vector<conf::ModprobeCommand>& commands) {
    const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    std::size_t prev = 0;
    for (const auto& c : commands) {
        require(c.line > prev && c.line <= lines, "command lines out of order or range");
        prev = c.line;
        require(!c.verb.empty() && c.verb.front() != '#'
                    && c.verb.find_first_of(" \t\r\f\v\n") == std::string::npos,
                "a bad verb",
                show(c.verb));
        require(c.module.find_first_of(" \t\r\f\v\n") == std::string::npos,
                "a module with a blank",
                show(c.module));
        require(conf::normalise_module(c.module) == c.module, "a module not normalised");
        require(c.rest.empty()
                    || (std::string_view(" \t\r\f\v").find(c.rest.front()) == std::string::npos
                        && std::string_view(" \t\r\f\v").find(c.rest.back()) == std::string::npos),
                "an untrimmed rest",
                show(c.rest));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto [control, file] = split_input(data, size);
    const auto w = words(control, 4);
    const auto pick = [&](std::size_t i, std::string_view fallback) {
        return i < w.size() && plain(w[i]) ? std::string(w[i]) : std::string(fallback);
    };
    // A module name may hold '.' or '/' in a file, but a query names a loadable module.
    std::string module = pick(0, "vfio-pci");
    if (module.find_first_of(".:/") != std::string::npos) {
        module = "vfio-pci";
    }
    std::string key = pick(1, "ids");
    if (key.find_first_of("=") != std::string::npos) {
        key = "ids";
    }
    const std::string value = pick(2, "10de:2204,10de:1aef");
    std::string pre = pick(3, "vfio-pci");
    if (pre == "pre:" || pre == "post:") {
        pre = "vfio_pci";
    }

    const std::string text(file);
    const auto commands = conf::parse_modprobe(text);
    check_commands(text, commands);
    const std::vector<conf::ModprobeFile> files = {{"/etc/modprobe.d/fuzz.conf", commands}};
    (void)conf::is_blacklisted(files, module);
    (void)conf::is_install_disabled(files, module);
    (void)conf::softdep_pre(files, module);
    (void)conf::module_option(files, module, key);

    const auto normal = conf::normalise_module(module);
    const std::string lines[] = {
        "blacklist " + module,
        "options " + module + " " + key + "=" + value,
        "install " + module + " /bin/false",
        "softdep " + module + " pre: " + pre,
    };
    for (std::size_t kind = 0; kind < 4; ++kind) {
        const std::string more = text + "\n\n" + lines[kind] + "\n";
        const auto grown = conf::parse_modprobe(more);
        check_commands(more, grown);
        const auto detail = show(more);
        // A last line ending in '\\' without a newline continues into the appended blank line:
        // its command may change (kmod drops the backslash) or vanish ("\\" alone).
        const bool open_end = !text.empty() && text.back() == '\\';
        require(open_end ? grown.size() + 1 >= commands.size() + 1
                         : grown.size() == commands.size() + 1,
                "appending one command did not add one",
                detail);
        for (std::size_t i = 0; i + 1 < commands.size(); ++i) {
            require(
                same(grown[i], commands[i]), "appending a command changed an earlier one", detail);
        }
        if (!commands.empty() && !open_end) {
            const auto& a = grown[commands.size() - 1];
            const auto& b = commands.back();
            require(a.line == b.line && a.verb == b.verb,
                    "appending a command changed the last one",
                    detail);
        }
        const auto& added = grown.back();
        require(added.module == normal, "the appended command's module", detail);
        const std::vector<conf::ModprobeFile> with = {{"/etc/modprobe.d/fuzz.conf", grown}};
        switch (kind) {
        case 0:
            require(conf::is_blacklisted(with, module), "blacklist line not seen", detail);
            break;
        case 1: {
            const auto got = conf::module_option(with, module, key);
            require(got == value, "the last options line's value not seen", detail);
            break;
        }
        case 2:
            require(conf::is_install_disabled(with, module), "install /bin/false not seen", detail);
            break;
        default: {
            const auto pres = conf::softdep_pre(with, module);
            require(!pres.empty() && pres.back() == conf::normalise_module(pre),
                    "softdep pre: not seen",
                    detail);
        }
        }
    }
    return 0;
}
