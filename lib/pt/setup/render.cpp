// SPDX-License-Identifier: MIT
#include "pt/setup/render.hpp"

#include "pt/pci/address.hpp"
#include "pt/setup/plan.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <vector>

namespace pt::setup {
namespace {

std::vector<std::string> files_of(const Step& step) {
    std::vector<std::string> files;
    for (const auto& file : step.plan.files) {
        files.push_back(file.path);
    }
    return files;
}

std::string what_step_does(const Step& step) {
    if (!step.skipped.empty()) {
        return "not needed";
    }
    const auto files = files_of(step);
    if (files.empty()) {
        return "already in place";
    }
    return fmt::format("{}", fmt::join(files, ", "));
}

const char* use_name(proxmox::GpuRole role) {
    return role == proxmox::GpuRole::display ? "display" : "compute";
}

} // namespace

std::string render_steps(const Request& request, const Planned& planned) {
    std::string out;
    for (std::size_t i = 0; i < planned.slots.size() && i < request.cards.size(); ++i) {
        out += fmt::format("pt setup: {} into VM {} ({})\n",
                           pci::format_slot(planned.slots[i]),
                           request.cards[i].vmid,
                           use_name(request.cards[i].role));
    }
    for (const auto& share : request.containers) {
        out += fmt::format("pt setup: {} shared into container {} (the host's driver keeps it)\n",
                           share.selector,
                           share.ctid);
    }
    std::size_t width = 0;
    for (const auto& step : planned.steps) {
        width = std::max(width, step.name.size());
    }
    int number = 1;
    for (const auto& step : planned.steps) {
        out += fmt::format("  {}. {:<{}}  {}\n", number++, step.name, width, what_step_does(step));
        out += fmt::format("     {:<{}}  alone: {}\n", "", width, step.command);
    }
    return out + "\n";
}

std::string render_remaining(const Planned& planned, bool nothing_to_apply) {
    if (!nothing_to_apply) {
        return fmt::format("after --apply: {}\n", fmt::join(planned.remaining, ", then "));
    }
    std::string out = "what remains:\n";
    int number = 1;
    for (const auto& item : planned.remaining) {
        out += fmt::format("  {}. {}\n", number++, item);
    }
    return out;
}

void add_to_json(out::Json& json, const Request& request, const Planned& planned) {
    out::Json cards = out::Json::array();
    for (std::size_t i = 0; i < planned.slots.size() && i < request.cards.size(); ++i) {
        cards.push_back(out::Json{{"card", pci::format_slot(planned.slots[i])},
                                  {"vmid", request.cards[i].vmid},
                                  {"use", use_name(request.cards[i].role)}});
    }
    if (!cards.empty()) {
        json["card"] = cards[0]["card"];
        json["vmid"] = cards[0]["vmid"];
        json["use"] = cards[0]["use"];
    }
    json["cards"] = std::move(cards);
    out::Json containers = out::Json::array();
    for (const auto& share : request.containers) {
        containers.push_back(out::Json{{"card", share.selector}, {"ctid", share.ctid}});
    }
    json["containers"] = std::move(containers);
    out::Json steps = out::Json::array();
    for (const auto& step : planned.steps) {
        steps.push_back(out::Json{
            {"name", step.name},
            {"command", step.command},
            {"files", files_of(step)},
            {"skipped", step.skipped.empty() ? out::Json(nullptr) : out::Json(step.skipped)},
        });
    }
    json["steps"] = std::move(steps);
    json["remaining"] = planned.remaining;
}

} // namespace pt::setup
