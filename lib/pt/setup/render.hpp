// SPDX-License-Identifier: MIT
#pragma once

#include "pt/out/json.hpp"
#include "pt/out/text.hpp"

#include <string>

namespace pt::setup {

struct Planned;
struct Request;

// The chain, one line per step: what it changes (or why it plans nothing) and the single
// command that plans the same, e.g.
//   pt setup: 0000:81:00 into VM 100 (compute)     (a line per card)
//     1. kernel command line  nothing to change               pt grub --apply
//     2. host drivers         /etc/modprobe.d/pt-blacklist.conf  pt blacklist 0000:81:00 --apply
std::string render_steps(const Request& request, const Planned& planned);

// "after --apply: reboot the host, then pt verify --vm 100" while the plan is still to be
// applied, else the numbered list of what remains.
std::string render_remaining(const Planned& planned, bool nothing_to_apply);

// The members pt setup adds to the plan's JSON document (pt-setup(1), JSON OUTPUT):
// "card", "vmid", "use" (of the first card), "cards" [{"card", "vmid", "use"}], "containers"
// [{"card", "ctid"}], "steps" [{"name", "command", "files", "skipped"}], "remaining".
void add_to_json(out::Json& json, const Request& request, const Planned& planned);

} // namespace pt::setup
