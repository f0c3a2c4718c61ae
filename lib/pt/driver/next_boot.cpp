// SPDX-License-Identifier: MIT
#include "pt/driver/next_boot.hpp"

#include "pt/conf/modprobe.hpp"
#include "pt/conf/module_config.hpp"
#include "pt/driver/bind.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/topology.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string>

namespace pt::driver {
namespace {

bool in_modprobe_dir(const std::string& path) {
    return std::any_of(conf::k_modprobe_dirs.begin(), conf::k_modprobe_dirs.end(), [&](auto dir) {
        return path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/';
    });
}

// The addresses pt's hook will hold: the plan's text for it, else the file as it is.
std::vector<pci::Address> hook_addresses(const host::Root& root, const edit::Plan& plan) {
    std::optional<std::string> text;
    const auto planned = std::find_if(
        plan.files.begin(), plan.files.end(), [](const auto& f) { return f.path == k_hook; });
    if (planned != plan.files.end()) {
        text = planned->after;
    } else if (root.exists(k_hook)) {
        text = root.read_file(k_hook);
    }
    if (!text) {
        return {};
    }
    return parse_hook(*text).value_or(std::vector<pci::Address>{});
}

} // namespace

std::vector<model::NextBoot>
predict_after(const model::Host& model,
              const edit::Plan& plan,
              const std::vector<pci::Address>& devices,
              const std::optional<std::vector<kernel::Param>>& cmdline) {
    std::map<std::string, std::string> planned;
    for (const auto& file : plan.files) {
        if (in_modprobe_dir(file.path)) {
            planned[file.path] = file.after.value_or("");
        }
    }
    const host::Root& root = model.root();
    const auto config = conf::read_module_config(root,
                                                 cmdline ? *cmdline : model.next_cmdline(),
                                                 cmdline ? "the planned command line"
                                                         : "the configured command line",
                                                 planned);
    model::NextBootInputs inputs;
    inputs.by_override = hook_addresses(root, plan);
    inputs.override_source = fmt::format("{} (in the initramfs after update-initramfs)", k_hook);
    std::vector<model::NextBoot> out;
    for (const auto& address : devices) {
        const pci::Device* device = model.topology().find(address);
        if (device == nullptr) {
            continue;
        }
        inputs.host_modules = competing_modules(root, *device);
        // The module bound now goes first: it is the one the device has been using.
        if (device->driver) {
            const auto bound = std::find(inputs.host_modules.begin(),
                                         inputs.host_modules.end(),
                                         conf::normalise_module(*device->driver));
            if (bound != inputs.host_modules.end()) {
                std::rotate(inputs.host_modules.begin(), bound, bound + 1);
            }
        }
        out.push_back(model::predict_next_boot(*device, config, inputs));
    }
    return out;
}

void add_next_boot_notes(const model::Host& model,
                         edit::Plan& plan,
                         const std::vector<pci::Address>& devices,
                         const std::optional<std::vector<kernel::Param>>& cmdline) {
    if (plan.files.empty()) {
        return;
    }
    for (const auto& next : predict_after(model, plan, devices, cmdline)) {
        plan.notes.push_back(model::describe(next));
    }
}

} // namespace pt::driver
