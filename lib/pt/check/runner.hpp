// SPDX-License-Identifier: MIT
#pragma once

// pt verify on a host (defined in runner.cpp): every host check, in order.

#include "pt/check/report.hpp"

#include <optional>
#include <string>

namespace pt::host {
class Root;
}

namespace pt::model {
class Host;
}

namespace pt::check {

struct HostRequest {
    std::optional<std::string> selector; // SEL: narrows the GPUs (pci::parse_selector forms)
    std::optional<int> vmid;             // --vm: only this VM (default: every VM with hostpci)
};

// The host checks. Throws pt::UsageError for a malformed selector, pt::Error when SEL matches
// no device or --vm names a VM that has no config.
Report verify_host(const host::Root& root, const HostRequest& request);

// The same on a model a command has already read (pt profile --check judges the staged and
// running layers with the checks of pt verify, on the model its plan was made from).
Report verify_host(const model::Host& model, const HostRequest& request);

} // namespace pt::check
