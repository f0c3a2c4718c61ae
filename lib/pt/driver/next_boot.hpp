// SPDX-License-Identifier: MIT
#pragma once

#include "pt/edit/plan.hpp"
#include "pt/kernel/cmdline.hpp"
#include "pt/model/next_boot.hpp"
#include "pt/pci/address.hpp"

#include <optional>
#include <vector>

namespace pt::model {
class Host;
}

namespace pt::driver {

// What the next boot does with `devices` once `plan` is written: the modprobe.d files and pt's
// init-top hook as the plan leaves them, every other file as it is, and `cmdline` (by default
// the command line the bootloader is configured with). Devices not on the host are left out.
std::vector<model::NextBoot>
predict_after(const model::Host& model,
              const edit::Plan& plan,
              const std::vector<pci::Address>& devices,
              const std::optional<std::vector<kernel::Param>>& cmdline = std::nullopt);

// Ends the plan's notes with one "next boot: ..." line per device (model::describe). Only
// when the plan changes something: "nothing to do" needs no prediction.
void add_next_boot_notes(const model::Host& model,
                         edit::Plan& plan,
                         const std::vector<pci::Address>& devices,
                         const std::optional<std::vector<kernel::Param>>& cmdline = std::nullopt);

} // namespace pt::driver
