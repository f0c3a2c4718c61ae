// SPDX-License-Identifier: MIT
#include "pt/model/next_boot.hpp"

#include "pt/kernel/param_values.hpp"
#include "pt/pci/device.hpp"
#include "pt/strings.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace pt::model {
namespace {

// Why `module` will not load for the device at the next boot, or nullopt when nothing stops it.
std::optional<std::string> kept_from_loading(const conf::ModuleConfig& config,
                                             std::string_view module) {
    if (const auto source = config.kernel_blacklisted(module)) {
        return fmt::format("module_blacklist= in {}", source->describe());
    }
    if (const auto source = config.install_disabled(module)) {
        return fmt::format("`install {}` in {}", module, source->describe());
    }
    if (const auto source = config.blacklisted(module)) {
        return fmt::format("blacklisted in {}", source->describe());
    }
    return std::nullopt;
}

} // namespace

bool ids_cover(std::string_view ids, const pci::Device& device) {
    const std::string id = fmt::format("{:04x}:{:04x}", device.vendor, device.device);
    for (const auto& item : kernel::comma_options(ids)) {
        const std::string lowered = to_lower(item);
        if (lowered == id || lowered.starts_with(id + ":")) {
            return true;
        }
    }
    return false;
}

NextBoot predict_next_boot(const pci::Device& device,
                           const conf::ModuleConfig& config,
                           const NextBootInputs& inputs) {
    NextBoot next;
    next.address = device.address;
    if (std::find(inputs.by_override.begin(), inputs.by_override.end(), device.address)
        != inputs.by_override.end()) {
        next.driver = "vfio-pci";
        next.reason = fmt::format("by driver_override in {}", inputs.override_source);
        return next;
    }
    if (const auto ids = config.option("vfio_pci", "ids"); ids && ids_cover(ids->value, device)) {
        next.driver = "vfio-pci";
        next.reason = fmt::format("by vfio-pci ids= in {}", ids->source.describe());
        return next;
    }
    std::vector<std::string> kept;
    for (const auto& module : inputs.host_modules) {
        if (module == "vfio_pci" || module == "vfio-pci") {
            continue;
        }
        if (const auto why = kept_from_loading(config, module)) {
            kept.push_back(fmt::format("{} {}", module, *why));
        } else if (!next.driver) {
            next.driver = module;
        } else {
            next.alternatives.push_back(module);
        }
    }
    const std::string kept_text = fmt::format("{}", fmt::join(kept, "; "));
    if (next.driver) {
        next.reason =
            kept.empty()
                ? "its host driver (nothing gives it to vfio-pci)"
                : fmt::format("its host driver (nothing gives it to vfio-pci; {})", kept_text);
    } else {
        next.reason = kept.empty() ? "(no vfio-pci ids= or driver_override names it, and pt "
                                     "knows no host driver for it)"
                                   : fmt::format("(nothing gives it to vfio-pci; {})", kept_text);
    }
    return next;
}

std::string describe(const NextBoot& next) {
    if (!next.driver) {
        return fmt::format("next boot: {} -> no driver {}", pci::format(next.address), next.reason);
    }
    std::string drivers = *next.driver;
    for (const auto& other : next.alternatives) {
        drivers += " or " + other;
    }
    return fmt::format("next boot: {} -> {}, {}", pci::format(next.address), drivers, next.reason);
}

} // namespace pt::model
