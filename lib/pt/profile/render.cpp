// SPDX-License-Identifier: MIT
#include "pt/profile/render.hpp"

#include "pt/pci/address.hpp"
#include "pt/profile/plan.hpp"
#include "pt/setup/render.hpp"

#include <fmt/format.h>

namespace pt::profile {
namespace {

bool display(const Planned& planned) {
    return planned.device->role == proxmox::GpuRole::display;
}

} // namespace

std::string render_plan(const Planned& planned, const std::string& file) {
    std::string out = fmt::format("pt profile {}: node {}\n", file, planned.node);
    for (const auto& item : planned.hardware) {
        out += fmt::format(
            "the card moved: the profile names {}, found {}\n", item.expected, item.found);
    }
    return out + setup::render_steps(planned.setup, planned.device->vmid, display(planned));
}

void add_to_json(out::Json& json, const Planned& planned) {
    json["node"] = planned.node;
    json["moved_from"] = planned.located.moved_from
                             ? out::Json(pci::format_slot(*planned.located.moved_from))
                             : out::Json(nullptr);
    setup::add_to_json(json, planned.setup, planned.device->vmid, display(planned));
}

std::string render_check(const CheckResult& result, const std::string& file) {
    std::string out = fmt::format("pt profile {} --check: node {}\n", file, result.node);
    if (result.converged) {
        return out
               + (result.reboot_pending
                      ? "converged: the files match the profile; a reboot makes the running "
                        "host match too\n"
                      : "converged: the host matches the profile\n");
    }
    out += fmt::format(
        "drift: {} difference{}\n", result.drift.size(), result.drift.size() == 1 ? "" : "s");
    for (const auto& item : result.drift) {
        out += fmt::format("  {}\n    expected: {}\n    found:    {}\n    fix:      {}\n",
                           item.what,
                           item.expected,
                           item.found,
                           item.fix);
    }
    return out;
}

out::Json to_json(const CheckResult& result) {
    out::Json drift = out::Json::array();
    for (const auto& item : result.drift) {
        drift.push_back(out::Json{{"what", item.what},
                                  {"expected", item.expected},
                                  {"found", item.found},
                                  {"fix", item.fix}});
    }
    return out::Json{{"node", result.node},
                     {"converged", result.converged},
                     {"reboot_pending", result.reboot_pending},
                     {"drift", std::move(drift)}};
}

} // namespace pt::profile
