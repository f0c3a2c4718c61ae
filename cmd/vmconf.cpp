// SPDX-License-Identifier: MIT
// pt vmconf: edit and lint Proxmox VM configs (being written).
#include "cmd/common.hpp"
#include "pt/error.hpp"

namespace pt::cmd {

Command register_vmconf(CLI::App& parent, Globals& globals) {
    auto* sub = parent.add_subcommand(
        "vmconf",
        "Add a PCI device to a Proxmox VM config with GPU defaults, or lint VM configs (--check)");
    add_global_options(*sub, globals);
    return {sub, [](const Globals&) -> int {
                throw Error("pt vmconf is not written yet");
            }};
}

} // namespace pt::cmd
