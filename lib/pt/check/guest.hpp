// SPDX-License-Identifier: MIT
#pragma once

// pt verify --guest (defined in guest.cpp).

#include "pt/check/report.hpp"

namespace pt::host {
class Root;
}

namespace pt::check {

// The guest checks (pt verify --guest): the GPU seen from inside the VM. nvidia-smi is run at
// most once, and only on the live root.
Report verify_guest(const host::Root& root);

} // namespace pt::check
