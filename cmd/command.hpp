// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <string>

namespace CLI { // NOLINT(readability-identifier-naming): CLI11's namespace
class App;
} // namespace CLI

namespace pt::cmd {

// Options every subcommand shares, parsed once in main.
struct Globals {
    std::string root = "/";  // --root, else PT_ROOT, else /
    bool root_given = false; // --root appeared on the command line
    bool json = false;       // --json
    bool no_color = false;   // --no-color (NO_COLOR is honoured too)
    bool quiet = false;      // -q
};

// A registered subcommand: its CLI11 node, and what to run once parsing has succeeded.
// `run` returns the process exit code (pt::ExitCode values).
struct Command {
    CLI::App* app = nullptr;
    std::function<int(const Globals&)> run;
};

// One registration function per file in cmd/; main lists them. Each adds the global options to
// its subcommand (add_global_options), bound to main's `globals`.
Command register_iommu_groups(CLI::App& parent, Globals& globals);
Command register_grub(CLI::App& parent, Globals& globals);
Command register_blacklist(CLI::App& parent, Globals& globals);
Command register_bind(CLI::App& parent, Globals& globals);   // cmd/bind.cpp
Command register_unbind(CLI::App& parent, Globals& globals); // cmd/bind.cpp
Command register_undo(CLI::App& parent, Globals& globals);
Command register_vmconf(CLI::App& parent, Globals& globals);
Command register_mapping(CLI::App& parent, Globals& globals);
Command register_rom_dump(CLI::App& parent, Globals& globals);
Command register_verify(CLI::App& parent, Globals& globals);
Command register_snapshot(CLI::App& parent, Globals& globals);
Command register_setup(CLI::App& parent, Globals& globals);
Command register_profile(CLI::App& parent, Globals& globals);
Command register_advise(CLI::App& parent, Globals& globals);
Command register_lxc(CLI::App& parent, Globals& globals);

} // namespace pt::cmd
