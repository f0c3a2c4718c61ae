// SPDX-License-Identifier: MIT
// pt verify: check the whole passthrough chain (being written).
#include "cmd/common.hpp"
#include "pt/error.hpp"

namespace pt::cmd {

Command register_verify(CLI::App& parent, Globals& globals) {
    auto* sub = parent.add_subcommand("verify",
                                      "Check the whole passthrough chain, on the host or in the "
                                      "guest, with cause and fix for every failure");
    add_global_options(*sub, globals);
    return {sub, [](const Globals&) -> int {
                throw Error("pt verify is not written yet");
            }};
}

} // namespace pt::cmd
