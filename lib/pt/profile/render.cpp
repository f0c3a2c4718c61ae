// SPDX-License-Identifier: MIT
#include "pt/profile/render.hpp"

#include "pt/pci/address.hpp"
#include "pt/profile/plan.hpp"
#include "pt/setup/render.hpp"

#include <fmt/format.h>

namespace pt::profile {

std::string render_plan(const Planned& planned, const std::string& file) {
    std::string out = fmt::format("pt profile {}: node {}\n", file, planned.node);
    for (const auto& item : planned.hardware) {
        out += fmt::format(
            "the card moved: the profile names {}, found {}\n", item.expected, item.found);
    }
    return out + setup::render_steps(planned.request, planned.setup);
}

void add_to_json(out::Json& json, const Planned& planned) {
    json["node"] = planned.node;
    setup::add_to_json(json, planned.request, planned.setup);
    // Where each card was in the profile when it moved; the first card's also at the top, as
    // when a profile named one card.
    json["moved_from"] = nullptr;
    for (std::size_t i = 0; i < planned.located.size(); ++i) {
        const auto& from = planned.located[i].moved_from;
        const out::Json value = from ? out::Json(pci::format_slot(*from)) : out::Json(nullptr);
        json["cards"][i]["moved_from"] = value;
        if (i == 0) {
            json["moved_from"] = value;
        }
    }
    for (std::size_t i = 0; i < planned.container_located.size(); ++i) {
        const auto& from = planned.container_located[i].moved_from;
        json["containers"][i]["moved_from"] =
            from ? out::Json(pci::format_slot(*from)) : out::Json(nullptr);
    }
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
