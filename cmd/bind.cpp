// SPDX-License-Identifier: MIT
// pt bind / pt unbind: hand PCI devices to vfio-pci persistently (and with --now at once), or give
// them back.
#include "pt/driver/bind.hpp"

#include "cmd/common.hpp"
#include "pt/edit/plan.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/selector.hpp"

#include <ctime>
#include <memory>
#include <string>
#include <vector>

namespace pt::cmd {
namespace {

struct BindOptions {
    std::vector<std::string> selectors;
    bool include_group = false;
    bool force = false;
    bool now = false;
    WriterOptions writer;
};

struct UnbindOptions {
    std::string selector;
    bool now = false;
    WriterOptions writer;
};

std::int64_t now_seconds() {
    return static_cast<std::int64_t>(std::time(nullptr));
}

int run_bind(const Globals& globals, const BindOptions& opt) {
    driver::BindRequest request;
    for (const auto& selector : opt.selectors) {
        request.selectors.push_back(pci::parse_selector(selector));
    }
    request.include_group = opt.include_group;
    request.force = opt.force;
    request.now = opt.now;
    request.time = now_seconds();
    const model::Host model(open_root(globals));
    const edit::Plan plan = driver::plan_bind(model, request);
    return run_plan(globals, model.root(), plan, opt.writer);
}

int run_unbind(const Globals& globals, const UnbindOptions& opt) {
    driver::UnbindRequest request;
    request.selector = pci::parse_selector(opt.selector);
    request.now = opt.now;
    request.time = now_seconds();
    const model::Host model(open_root(globals));
    const edit::Plan plan = driver::plan_unbind(model, request);
    return run_plan(globals, model.root(), plan, opt.writer);
}

constexpr const char* k_selector_help =
    "SEL is 0000:01:00.0, 01:00.0, 01:00 (every function of the slot) or 10de:2204 "
    "(vendor:device).";

} // namespace

Command register_bind(CLI::App& parent, Globals& globals) {
    auto opt = std::make_shared<BindOptions>();
    auto* sub = parent.add_subcommand(
        "bind", "Hand a device (its slot and IOMMU group) to vfio-pci, at boot and with --now");
    add_global_options(*sub, globals);
    sub->add_option(
           "SEL", opt->selectors, "The device (or several): every function of its slot is bound")
        ->required()
        ->check(selector_validator());
    sub->add_flag("--include-group",
                  opt->include_group,
                  "Also bind the endpoints of other slots in the same IOMMU group");
    sub->add_flag("--force",
                  opt->force,
                  "Bind even a device the host needs (root or mounted disk, default-route NIC, "
                  "only display), or when another file's later vfio-pci ids= overrides pt's");
    sub->add_flag(
        "--now", opt->now, "Also bind at runtime (driver_override, unbind, drivers_probe)");
    add_writer_options(*sub, opt->writer);
    sub->footer(std::string(k_selector_help)
                + "\nWithout --apply pt only shows the plan. See pt-bind(1).");
    return {sub, [opt](const Globals& parsed) {
                return run_bind(parsed, *opt);
            }};
}

Command register_unbind(CLI::App& parent, Globals& globals) {
    auto opt = std::make_shared<UnbindOptions>();
    auto* sub = parent.add_subcommand(
        "unbind", "Give a device bound with pt bind back to the host, at boot and with --now");
    add_global_options(*sub, globals);
    sub->add_option("SEL", opt->selector, "The device: every function of its slot is released")
        ->required()
        ->check(selector_validator());
    sub->add_flag(
        "--now", opt->now, "Also unbind at runtime (clear driver_override, unbind, drivers_probe)");
    add_writer_options(*sub, opt->writer);
    sub->footer(std::string(k_selector_help)
                + "\nWithout --apply pt only shows the plan. See pt-unbind(1).");
    return {sub, [opt](const Globals& parsed) {
                return run_unbind(parsed, *opt);
            }};
}

} // namespace pt::cmd
