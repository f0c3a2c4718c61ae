// SPDX-License-Identifier: MIT
// pt rom-dump: dump and validate option ROMs (being written).
#include "cmd/common.hpp"
#include "pt/error.hpp"

namespace pt::cmd {

Command register_rom_dump(CLI::App& parent, Globals& globals) {
    auto* sub = parent.add_subcommand(
        "rom-dump",
        "Dump a GPU's option ROM from sysfs and validate it, or check a ROM file (--check)");
    add_global_options(*sub, globals);
    return {sub, [](const Globals&) -> int {
                throw Error("pt rom-dump is not written yet");
            }};
}

} // namespace pt::cmd
