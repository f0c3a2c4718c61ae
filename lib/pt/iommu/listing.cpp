// SPDX-License-Identifier: MIT
#include "pt/iommu/listing.hpp"

#include "pt/error.hpp"
#include "pt/iommu/groups.hpp"
#include "pt/kernel/host_facts.hpp"
#include "pt/pci/class_code.hpp"
#include "pt/pci/topology.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

namespace pt::iommu {
namespace {

bool class_matches(const pci::Device& dev, const std::optional<std::string>& prefix) {
    if (!prefix) {
        return true;
    }
    return pci::format_class(dev.class_code).starts_with(*prefix);
}

bool selected_by(const pci::Device& dev, const std::vector<pci::Selector>& selectors) {
    return std::any_of(
        selectors.begin(), selectors.end(), [&](const auto& sel) { return sel.matches(dev); });
}

// The per-device part of the filter: does this device make its group (or itself, when it has no
// group) worth showing?
bool device_wanted(const pci::Device& dev, const Filter& filter) {
    if (filter.gpu_only && !dev.is_display()) {
        return false;
    }
    if (!filter.devices.empty() && !selected_by(dev, filter.devices)) {
        return false;
    }
    return class_matches(dev, filter.class_prefix);
}

bool has_device_criteria(const Filter& filter) {
    return filter.gpu_only || !filter.devices.empty() || filter.class_prefix.has_value();
}

std::string describe(const pci::Device& dev) {
    return fmt::format(
        "{} {} [{:04x}:{:04x}]{}",
        pci::format(dev.address),
        dev.names.class_name.value_or("class " + pci::format_class_short(dev.class_code)),
        dev.vendor,
        dev.device,
        dev.names.device ? " " + *dev.names.device : std::string());
}

} // namespace

std::string describe_display_devices(const pci::Topology& topology) {
    std::string out;
    for (const auto& dev : topology.devices) {
        if (dev.is_display()) {
            out += "\n  " + describe(dev);
        }
    }
    return out.empty() ? "\n  (none: this host has no display-class device)" : out;
}

Listing build_listing(const pci::Topology& topology,
                      const IommuState& state,
                      const kernel::HostFacts& facts,
                      const Filter& filter) {
    Listing listing;
    listing.iommu_enabled = state.enabled();
    listing.units = state.units;
    listing.warnings = topology.warnings;

    for (const auto& sel : filter.devices) {
        bool any = false;
        for (const auto& dev : topology.devices) {
            if (sel.matches(dev)) {
                any = true;
                listing.selected.push_back(dev.address);
            }
        }
        if (!any) {
            throw Error(fmt::format("no PCI device matches '{}' under {}; display devices on this "
                                    "host:{}",
                                    sel.text,
                                    "/sys/bus/pci/devices",
                                    describe_display_devices(topology)));
        }
    }
    std::sort(listing.selected.begin(), listing.selected.end());
    listing.selected.erase(std::unique(listing.selected.begin(), listing.selected.end()),
                           listing.selected.end());

    for (const int number : filter.groups) {
        const bool exists = std::any_of(state.groups.begin(),
                                        state.groups.end(),
                                        [&](const Group& g) { return g.number == number; });
        if (!exists) {
            throw Error(fmt::format(
                "IOMMU group {} does not exist under /sys/kernel/iommu_groups{}",
                number,
                state.groups.empty() ? std::string(" (there are no groups: the IOMMU is off)")
                                     : fmt::format(" (groups here: {} to {})",
                                                   state.groups.front().number,
                                                   state.groups.back().number)));
        }
    }

    if (!listing.iommu_enabled) {
        listing.diagnosis = diagnose_no_groups(state, facts);
    }

    std::set<pci::Address> grouped;
    for (const auto& group : state.groups) {
        if (!filter.groups.empty()
            && std::find(filter.groups.begin(), filter.groups.end(), group.number)
                   == filter.groups.end()) {
            continue;
        }
        GroupReport report;
        report.number = group.number;
        report.type = group.type;
        bool wanted = false;
        for (const auto& address : group.members) {
            grouped.insert(address);
            if (const auto* dev = topology.find(address)) {
                report.devices.push_back(*dev);
                wanted = wanted || device_wanted(*dev, filter);
            } else {
                listing.warnings.push_back(
                    fmt::format("IOMMU group {} lists {}, which is not in /sys/bus/pci/devices",
                                group.number,
                                pci::format(address)));
            }
        }
        if (has_device_criteria(filter) && !wanted) {
            continue;
        }
        // The subject: a selected device, else a display device.
        const pci::Device* subject = nullptr;
        for (const auto& dev : report.devices) {
            if (std::binary_search(listing.selected.begin(), listing.selected.end(), dev.address)) {
                subject = &dev;
                break;
            }
        }
        if (subject == nullptr) {
            for (const auto& dev : report.devices) {
                if (dev.is_display()) {
                    subject = &dev;
                    break;
                }
            }
        }
        if (subject != nullptr) {
            report.verdict = judge(report.devices, subject->address, &topology);
        }
        listing.groups.push_back(std::move(report));
    }

    for (const auto& dev : topology.devices) {
        if (grouped.count(dev.address) == 0 && filter.groups.empty()
            && device_wanted(dev, filter)) {
            listing.ungrouped.push_back(dev);
        }
    }
    return listing;
}

VfioIds vfio_ids(const Listing& listing, const pci::Topology& topology) {
    VfioIds out;
    std::set<pci::Address> endpoints;
    for (const auto& group : listing.groups) {
        for (const auto& dev : group.devices) {
            if (dev.is_bridge()) {
                continue;
            }
            endpoints.insert(dev.address);
        }
    }
    out.endpoints.assign(endpoints.begin(), endpoints.end());
    for (const auto& address : out.endpoints) {
        const pci::Device* dev = topology.find(address);
        const auto id = fmt::format("{:04x}:{:04x}", dev->vendor, dev->device);
        if (std::find(out.ids.begin(), out.ids.end(), id) == out.ids.end()) {
            out.ids.push_back(id);
        }
    }
    for (const auto& dev : topology.devices) {
        if (endpoints.count(dev.address) != 0) {
            continue;
        }
        const auto id = fmt::format("{:04x}:{:04x}", dev.vendor, dev.device);
        if (std::find(out.ids.begin(), out.ids.end(), id) != out.ids.end()) {
            out.also_match.push_back(dev.address);
        }
    }
    return out;
}

} // namespace pt::iommu
