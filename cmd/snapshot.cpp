// SPDX-License-Identifier: MIT
// pt snapshot: capture what pt reads (being written).
#include "cmd/common.hpp"
#include "pt/error.hpp"

namespace pt::cmd {

Command register_snapshot(CLI::App& parent, Globals& globals) {
    auto* sub = parent.add_subcommand(
        "snapshot",
        "Capture what pt reads from this host into a .tar.gz, for offline verify and bug reports");
    add_global_options(*sub, globals);
    return {sub, [](const Globals&) -> int {
                throw Error("pt snapshot is not written yet");
            }};
}

} // namespace pt::cmd
