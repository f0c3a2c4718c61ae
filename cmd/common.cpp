// SPDX-License-Identifier: MIT
#include "cmd/common.hpp"

#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/pci/selector.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace pt::cmd {

void add_global_options(CLI::App& app, Globals& globals) {
    // Not CLI11's envname: with --root on both levels, CLI11 would let PT_ROOT override a --root
    // given on the other level. main applies PT_ROOT once, only when no --root was given.
    app.add_option_function<std::string>(
           "--root",
           [&globals](const std::string& dir) {
               globals.root = dir;
               globals.root_given = true;
           },
           "Treat DIR as the host's / for every read and write (default: $PT_ROOT, else /)")
        ->type_name("DIR");
    app.add_flag("--json", globals.json, "Print one JSON document instead of text");
    app.add_flag("--no-color", globals.no_color, "Never colour the output (NO_COLOR also works)");
    app.add_flag("-q,--quiet", globals.quiet, "Leave out explanations; keep the facts");
}

CLI::Validator selector_validator() {
    return {[](std::string& value) -> std::string {
                try {
                    pci::parse_selector(value);
                    return {};
                } catch (const UsageError& e) {
                    return e.what();
                }
            },
            "",
            "device selector"};
}

host::Root open_root(const Globals& globals) {
    return host::Root(globals.root);
}

out::TextStyle text_style(const Globals& globals) {
    const char* no_color = std::getenv("NO_COLOR");
    const bool color = !globals.no_color && (no_color == nullptr || *no_color == '\0')
                       && ::isatty(STDOUT_FILENO) == 1;
    return out::TextStyle{color, globals.quiet};
}

void print_json(const out::Json& json) {
    fmt::print("{}\n", json.dump(2));
}

void warn(std::string_view text) {
    fmt::print(stderr, "pt: warning: {}\n", text);
}

} // namespace pt::cmd
