// SPDX-License-Identifier: MIT
#include "pt/out/json.hpp"

#include "pt/iommu/listing.hpp"
#include "pt/pci/class_code.hpp"

#include <fmt/format.h>

namespace pt::out {
namespace {

template <typename T>
Json or_null(const std::optional<T>& value) {
    return value ? Json(*value) : Json(nullptr);
}

Json hex4_or_null(const std::optional<std::uint16_t>& value) {
    return value ? Json(fmt::format("{:04x}", *value)) : Json(nullptr);
}

Json address_or_null(const std::optional<pci::Address>& address) {
    return address ? Json(pci::format(*address)) : Json(nullptr);
}

Json addresses(const std::vector<pci::Address>& list) {
    Json out = Json::array();
    for (const auto& address : list) {
        out.push_back(pci::format(address));
    }
    return out;
}

Json danger_json(iommu::Danger danger) {
    switch (danger) {
    case iommu::Danger::storage:
        return "storage";
    case iommu::Danger::network:
        return "network";
    case iommu::Danger::usb:
        return "usb";
    case iommu::Danger::display:
        return "display";
    case iommu::Danger::none:
        break;
    }
    return nullptr;
}

} // namespace

Json to_json(const pci::Device& dev) {
    Json j;
    j["address"] = pci::format(dev.address);
    j["vendor"] = fmt::format("{:04x}", dev.vendor);
    j["device"] = fmt::format("{:04x}", dev.device);
    j["subsystem_vendor"] = hex4_or_null(dev.subsystem_vendor);
    j["subsystem_device"] = hex4_or_null(dev.subsystem_device);
    j["class"] = pci::format_class(dev.class_code);
    j["revision"] = dev.revision ? Json(fmt::format("{:02x}", *dev.revision)) : Json(nullptr);
    j["vendor_name"] = or_null(dev.names.vendor);
    j["device_name"] = or_null(dev.names.device);
    j["subsystem_name"] = or_null(dev.names.subsystem);
    j["class_name"] = or_null(dev.names.class_name);
    j["driver"] = or_null(dev.driver);
    j["driver_override"] = or_null(dev.driver_override);
    j["iommu_group"] = or_null(dev.iommu_group);
    j["bridge"] = dev.is_bridge();
    j["display"] = dev.is_display();
    j["boot_vga"] = or_null(dev.boot_vga);
    j["reset_methods"] = or_null(dev.reset_methods);
    const auto& link = dev.link;
    if (link.current_speed || link.current_width || link.max_speed || link.max_width) {
        j["link"] = Json{{"current_speed", or_null(link.current_speed)},
                         {"current_width", or_null(link.current_width)},
                         {"max_speed", or_null(link.max_speed)},
                         {"max_width", or_null(link.max_width)}};
    } else {
        j["link"] = nullptr;
    }
    j["numa_node"] = or_null(dev.numa_node);
    j["parent"] = address_or_null(dev.parent);
    j["physfn"] = address_or_null(dev.physfn);
    j["virtfns"] = addresses(dev.virtfns);
    j["sysfs_path"] = dev.sysfs_path;
    return j;
}

Json to_json(const iommu::Listing& listing) {
    Json j;
    j["iommu_enabled"] = listing.iommu_enabled;
    j["iommu_units"] = listing.units;
    Json groups = Json::array();
    for (const auto& group : listing.groups) {
        Json g;
        g["group"] = group.number;
        g["type"] = or_null(group.type);
        const auto& verdict = group.verdict;
        g["subject"] = verdict ? Json(pci::format(verdict->subject)) : Json(nullptr);
        g["isolated"] = verdict ? Json(verdict->isolated) : Json(nullptr);
        g["viable"] = verdict ? Json(verdict->viable) : Json(nullptr);
        g["sharing"] = verdict && verdict->sharing != iommu::Sharing::none
                           ? Json(iommu::to_string(verdict->sharing))
                           : Json(nullptr);
        g["root_port"] = verdict ? address_or_null(verdict->root_port) : Json(nullptr);
        g["other_root_ports"] = verdict ? addresses(verdict->other_root_ports) : Json(nullptr);
        g["bmc_display"] = verdict ? Json(verdict->bmc_display) : Json(nullptr);
        Json foreign = verdict ? Json::array() : Json(nullptr);
        Json foreign_devices = verdict ? Json::array() : Json(nullptr);
        Json blockers = verdict ? Json::array() : Json(nullptr);
        if (verdict) {
            for (const auto& f : verdict->foreign) {
                foreign.push_back(pci::format(f.address));
                foreign_devices.push_back(Json{{"address", pci::format(f.address)},
                                               {"class", pci::format_class(f.class_code)},
                                               {"driver", or_null(f.driver)},
                                               {"danger", danger_json(f.danger)}});
            }
            for (const auto& b : verdict->blockers) {
                blockers.push_back(Json{{"address", pci::format(b.address)},
                                        {"driver", b.driver},
                                        {"bridge", b.bridge}});
            }
        }
        g["foreign"] = std::move(foreign);
        g["foreign_devices"] = std::move(foreign_devices);
        g["blockers"] = std::move(blockers);
        Json devices = Json::array();
        for (const auto& dev : group.devices) {
            devices.push_back(to_json(dev));
        }
        g["devices"] = std::move(devices);
        groups.push_back(std::move(g));
    }
    j["groups"] = std::move(groups);
    Json ungrouped = Json::array();
    for (const auto& dev : listing.ungrouped) {
        ungrouped.push_back(to_json(dev));
    }
    j["ungrouped"] = std::move(ungrouped);
    if (listing.diagnosis) {
        j["diagnosis"] = Json{{"cause", listing.diagnosis->cause},
                              {"fix", listing.diagnosis->fix},
                              {"evidence", listing.diagnosis->evidence}};
    } else {
        j["diagnosis"] = nullptr;
    }
    j["warnings"] = listing.warnings;
    return j;
}

Json to_json(const iommu::VfioIds& ids) {
    std::string joined;
    for (const auto& id : ids.ids) {
        joined += (joined.empty() ? "" : ",") + id;
    }
    Json j;
    j["vfio_ids"] = joined;
    j["ids"] = ids.ids;
    j["devices"] = addresses(ids.endpoints);
    j["also_match"] = addresses(ids.also_match);
    return j;
}

} // namespace pt::out
