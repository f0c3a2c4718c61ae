// SPDX-License-Identifier: MIT
#pragma once

#include "pt/out/json.hpp"

#include <string>

namespace pt::profile {

struct CheckResult;
struct Planned;

// "pt profile FILE: node pve, the card 0000:81:00 into VM 100 (compute)" and, for a card that
// moved, where the profile had it; then pt setup's chain (setup::render_steps).
std::string render_plan(const Planned& planned, const std::string& file);

// The members pt profile adds to the plan's JSON document (pt-profile(5), JSON OUTPUT): "node",
// "moved_from" (null unless the card moved), and pt setup's "card", "vmid", "use", "steps",
// "remaining".
void add_to_json(out::Json& json, const Planned& planned);

// pt profile FILE --check in text: "converged" (with what a pending reboot finishes), or one
// block per drift with what the profile expects, what the host has and the fix.
std::string render_check(const CheckResult& result, const std::string& file);

// {"node", "converged", "reboot_pending", "drift": [{"what", "expected", "found", "fix"}]}.
out::Json to_json(const CheckResult& result);

} // namespace pt::profile
