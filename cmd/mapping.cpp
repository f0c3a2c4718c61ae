// SPDX-License-Identifier: MIT
// pt mapping: Proxmox cluster PCI mappings (being written).
#include "cmd/common.hpp"
#include "pt/error.hpp"

namespace pt::cmd {

Command register_mapping(CLI::App& parent, Globals& globals) {
    auto* sub = parent.add_subcommand(
        "mapping",
        "Add or check this node's entry of a cluster-wide PCI mapping (/etc/pve/mapping/pci.cfg)");
    add_global_options(*sub, globals);
    return {sub, [](const Globals&) -> int {
                throw Error("pt mapping is not written yet");
            }};
}

} // namespace pt::cmd
