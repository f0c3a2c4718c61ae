// SPDX-License-Identifier: MIT
// The pt binary: global options, the list of subcommands, parse, dispatch, and the one place
// where failures become exit codes.
#include "cmd/common.hpp"
#include "cmd/complete.hpp"
#include "pt/error.hpp"
#include "pt/exit_code.hpp"
#include "pt/out/json.hpp"
#include "pt/version.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace {

// --json anywhere among the options (before a "--"): a parse error cannot rely on CLI11 having
// set Globals::json, and a script that asked for JSON must get its failure as JSON too.
bool json_requested(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg =
            argv[i]; // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
        if (arg == "--") {
            return false;
        }
        if (arg == "--json") {
            return true;
        }
    }
    return false;
}

// Reports a failure: the text on stderr always; with --json also one JSON document on stdout
// (pt(1), JSON ERRORS), so that a script reading stdout gets a document whatever happened.
int report_failure(bool json,
                   pt::ExitCode code,
                   std::string_view message,
                   std::string_view stderr_tail = {},
                   std::string_view cause = {},
                   std::string_view fix = {}) {
    fmt::print(stderr, "pt: error: {}\n{}", message, stderr_tail);
    if (json) {
        pt::cmd::print_json(pt::out::error_json(pt::to_int(code), message, cause, fix));
    }
    return pt::to_int(code);
}

int run(int argc, char** argv) {
    using pt::ExitCode;
    using pt::to_int;
    CLI::App app("pt: take a Proxmox VE host from \"GPU sitting idle\" to \"GPU working inside a "
                 "VM\", every step checked and explained",
                 "pt");
    app.set_version_flag("--version", fmt::format("pt {}", pt::k_version));
    app.footer("Exit status: 0 success, 1 error, 2 usage error, 3 checks failed or nothing "
               "usable found.\nSee pt(1) and pt-SUBCOMMAND(1).");

    pt::cmd::Globals globals;
    pt::cmd::add_global_options(app, globals);

    const std::vector<pt::cmd::Command> commands = {
        pt::cmd::register_iommu_groups(app, globals),
        pt::cmd::register_advise(app, globals),
        pt::cmd::register_setup(app, globals),
        pt::cmd::register_profile(app, globals),
        pt::cmd::register_lxc(app, globals),
        pt::cmd::register_grub(app, globals),
        pt::cmd::register_blacklist(app, globals),
        pt::cmd::register_bind(app, globals),
        pt::cmd::register_unbind(app, globals),
        pt::cmd::register_undo(app, globals),
        pt::cmd::register_vmconf(app, globals),
        pt::cmd::register_mapping(app, globals),
        pt::cmd::register_rom_dump(app, globals),
        pt::cmd::register_verify(app, globals),
        pt::cmd::register_snapshot(app, globals),
    };

    // The shells' completion functions; not a subcommand, so --help never lists it.
    if (argc >= 2 && argv[1] == pt::cmd::k_complete_command) {
        return pt::cmd::run_complete(app, std::vector<std::string>(argv + 2, argv + argc));
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // CLI11's own codes (100-127) never leak: every parse failure is a usage error. A
        // validator's message (a selector's) carries its own fix; CLI11's own ones point to --help.
        constexpr std::string_view usage_hint =
            "Run 'pt --help' or 'pt SUBCOMMAND --help' for usage.";
        const bool has_fix = pt::out::split_error_message(e.what()).fix.has_value();
        return report_failure(json_requested(argc, argv),
                              ExitCode::usage,
                              e.what(),
                              fmt::format("{}\n", usage_hint),
                              {},
                              has_fix ? std::string_view{} : usage_hint);
    }
    const bool json = globals.json || json_requested(argc, argv);

    if (const char* env_root = std::getenv("PT_ROOT");
        !globals.root_given && env_root != nullptr && *env_root != '\0') {
        globals.root = env_root;
    }

    try {
        for (const auto& command : commands) {
            if (command.app->parsed()) {
                return command.run(globals);
            }
        }
        fmt::print(stderr, "{}", app.help());
        return report_failure(json,
                              ExitCode::usage,
                              "a subcommand is required",
                              {},
                              "no subcommand was given",
                              "name one, e.g. pt iommu-groups; pt --help lists them");
    } catch (const pt::UsageError& e) {
        return report_failure(json, ExitCode::usage, e.what(), {}, e.cause(), e.fix());
    } catch (const pt::Error& e) {
        return report_failure(json, ExitCode::error, e.what(), {}, e.cause(), e.fix());
    } catch (const std::exception& e) {
        fmt::print(stderr, "pt: internal error: {}\n", e.what());
        if (json) {
            pt::cmd::print_json(
                pt::out::error_json(to_int(ExitCode::error),
                                    fmt::format("internal error: {}", e.what()),
                                    e.what(),
                                    "this is a bug in pt; please report it with the command line"));
        }
        return to_int(ExitCode::error);
    }
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (...) {
        // Only an allocation failure while building the CLI can get here.
        static_cast<void>(std::fputs("pt: internal error while starting\n", stderr));
        return pt::to_int(pt::ExitCode::error);
    }
}
