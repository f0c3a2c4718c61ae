// SPDX-License-Identifier: MIT
// The pt binary: global options, the list of subcommands, parse, dispatch, and the one place
// where failures become exit codes.
#include "cmd/common.hpp"
#include "cmd/complete.hpp"
#include "pt/error.hpp"
#include "pt/exit_code.hpp"
#include "pt/version.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace {

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
        // CLI11's own codes (100-127) never leak: every parse failure is a usage error.
        fmt::print(stderr,
                   "pt: error: {}\nRun 'pt --help' or 'pt SUBCOMMAND --help' for usage.\n",
                   e.what());
        return to_int(ExitCode::usage);
    }

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
        fmt::print(stderr, "pt: error: a subcommand is required\n");
        return to_int(ExitCode::usage);
    } catch (const pt::UsageError& e) {
        fmt::print(stderr, "pt: error: {}\n", e.what());
        return to_int(ExitCode::usage);
    } catch (const pt::Error& e) {
        fmt::print(stderr, "pt: error: {}\n", e.what());
        return to_int(ExitCode::error);
    } catch (const std::exception& e) {
        fmt::print(stderr, "pt: internal error: {}\n", e.what());
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
