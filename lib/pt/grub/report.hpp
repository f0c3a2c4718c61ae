// SPDX-License-Identifier: MIT
#pragma once

#include "pt/boot/config.hpp"
#include "pt/edit/plan.hpp"
#include "pt/grub/plan.hpp"
#include "pt/out/finding.hpp"
#include "pt/proxmox/platform.hpp"

#include <optional>
#include <vector>

namespace pt::model {
class Host;
}

namespace pt::grub {

// What `pt grub` shows when no change is asked for: the model's command line in its layers, the
// platform, and what the defaults would change.
struct Report {
    std::optional<proxmox::Platform> platform; // nullopt: nothing says which release this is
    // The model's status; its `problems` also say why the defaults cannot be planned.
    boot::Status status;
    std::vector<PlannedChange> needed;      // what `pt grub --apply` would change by default
    std::vector<edit::FollowUp> follow_ups; // what would run after those changes
    std::vector<out::Finding> warnings;     // about the boot packages (boot.systemd-boot-meta)
};

// Never throws pt::Error for a configuration pt cannot follow; it lands in status.problems.
Report read_report(const model::Host& host);

} // namespace pt::grub
