// SPDX-License-Identifier: MIT
#include "pt/out/json.hpp"

#include "pt/iommu/listing.hpp"
#include "pt/out/json_writer.hpp"
#include "pt/pci/class_code.hpp"

#include <fmt/format.h>

#include <algorithm>

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

const char* danger_name(iommu::Danger danger) {
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

std::string hex4(std::uint16_t value) {
    return fmt::format("{:04x}", value);
}

void write_hex4_or_null(JsonWriter& out, const std::optional<std::uint16_t>& value) {
    if (value) {
        out.value(hex4(*value));
    } else {
        out.null();
    }
}

void write_address_or_null(JsonWriter& out, const std::optional<pci::Address>& address) {
    if (address) {
        out.value(pci::format(*address));
    } else {
        out.null();
    }
}

void write_addresses(JsonWriter& out, const std::vector<pci::Address>& list) {
    out.begin_array();
    for (const auto& address : list) {
        out.value(pci::format(address));
    }
    out.end_array();
}

void write_link(JsonWriter& out, const pci::Link& link) {
    if (!link.current_speed && !link.current_width && !link.max_speed && !link.max_width) {
        out.null();
        return;
    }
    out.begin_object();
    out.member("current_speed", link.current_speed);
    out.member("current_width", link.current_width);
    out.member("max_speed", link.max_speed);
    out.member("max_width", link.max_width);
    out.end_object();
}

// The verdict's members of a group object; all null when the group has no verdict.
void write_verdict(JsonWriter& out, const std::optional<iommu::Verdict>& verdict) {
    if (!verdict) {
        for (const char* name : {"subject",
                                 "isolated",
                                 "viable",
                                 "sharing",
                                 "root_port",
                                 "other_root_ports",
                                 "bmc_display",
                                 "foreign",
                                 "foreign_devices",
                                 "blockers"}) {
            out.key(name);
            out.null();
        }
        return;
    }
    out.member("subject", pci::format(verdict->subject));
    out.member("isolated", verdict->isolated);
    out.member("viable", verdict->viable);
    out.key("sharing");
    if (verdict->sharing != iommu::Sharing::none) {
        out.value(std::string(iommu::to_string(verdict->sharing)));
    } else {
        out.null();
    }
    out.key("root_port");
    if (verdict->root_port) {
        out.value(pci::format(*verdict->root_port));
    } else {
        out.null();
    }
    out.key("other_root_ports");
    out.begin_array();
    for (const auto& a : verdict->other_root_ports) {
        out.value(pci::format(a));
    }
    out.end_array();
    out.member("bmc_display", verdict->bmc_display);
    out.key("foreign");
    out.begin_array();
    for (const auto& f : verdict->foreign) {
        out.value(pci::format(f.address));
    }
    out.end_array();
    out.key("foreign_devices");
    out.begin_array();
    for (const auto& f : verdict->foreign) {
        out.begin_object();
        out.member("address", pci::format(f.address));
        out.member("class", pci::format_class(f.class_code));
        out.member("driver", f.driver);
        out.key("danger");
        if (const char* danger = danger_name(f.danger)) {
            out.value(danger);
        } else {
            out.null();
        }
        out.end_object();
    }
    out.end_array();
    out.key("blockers");
    out.begin_array();
    for (const auto& b : verdict->blockers) {
        out.begin_object();
        out.member("address", pci::format(b.address));
        out.member("driver", b.driver);
        out.member("bridge", b.bridge);
        out.end_object();
    }
    out.end_array();
}

} // namespace

void write_json(JsonWriter& out, const pci::Device& dev) {
    out.begin_object();
    out.member("address", pci::format(dev.address));
    out.member("vendor", hex4(dev.vendor));
    out.member("device", hex4(dev.device));
    out.key("subsystem_vendor");
    write_hex4_or_null(out, dev.subsystem_vendor);
    out.key("subsystem_device");
    write_hex4_or_null(out, dev.subsystem_device);
    out.member("class", pci::format_class(dev.class_code));
    out.key("revision");
    if (dev.revision) {
        out.value(fmt::format("{:02x}", *dev.revision));
    } else {
        out.null();
    }
    out.member("vendor_name", dev.names.vendor);
    out.member("device_name", dev.names.device);
    out.member("subsystem_name", dev.names.subsystem);
    out.member("class_name", dev.names.class_name);
    out.member("driver", dev.driver);
    out.member("driver_override", dev.driver_override);
    out.member("iommu_group", dev.iommu_group);
    out.member("bridge", dev.is_bridge());
    out.member("display", dev.is_display());
    out.member("boot_vga", dev.boot_vga);
    out.member("reset_methods", dev.reset_methods);
    out.key("link");
    write_link(out, dev.link);
    out.member("numa_node", dev.numa_node);
    out.key("parent");
    write_address_or_null(out, dev.parent);
    out.key("physfn");
    write_address_or_null(out, dev.physfn);
    out.key("virtfns");
    write_addresses(out, dev.virtfns);
    out.member("sysfs_path", dev.sysfs_path);
    out.end_object();
}

std::string dump_json(const iommu::Listing& listing) {
    std::string text;
    // About 1.2 KB a device: one allocation instead of a few dozen doublings.
    std::size_t devices = listing.ungrouped.size();
    for (const auto& group : listing.groups) {
        devices += group.devices.size();
    }
    text.reserve(4096 + devices * 1280);
    JsonWriter out(text);
    out.begin_object();
    out.member("iommu_enabled", listing.iommu_enabled);
    out.member("iommu_units", listing.units);
    out.key("groups");
    out.begin_array();
    for (const auto& group : listing.groups) {
        out.begin_object();
        out.member("group", group.number);
        out.member("type", group.type);
        write_verdict(out, group.verdict);
        out.key("devices");
        out.begin_array();
        for (const auto& dev : group.devices) {
            write_json(out, dev);
        }
        out.end_array();
        out.end_object();
    }
    out.end_array();
    out.key("ungrouped");
    out.begin_array();
    for (const auto& dev : listing.ungrouped) {
        write_json(out, dev);
    }
    out.end_array();
    out.key("diagnosis");
    if (listing.diagnosis) {
        out.begin_object();
        out.member("cause", listing.diagnosis->cause);
        out.member("fix", listing.diagnosis->fix);
        out.member("evidence", listing.diagnosis->evidence);
        out.end_object();
    } else {
        out.null();
    }
    out.member("warnings", listing.warnings);
    out.end_object();
    return text;
}

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

ErrorParts split_error_message(std::string_view message) {
    const auto line_end = message.find('\n');
    const std::string_view first = message.substr(0, line_end);
    std::string_view rest;
    if (line_end != std::string_view::npos) {
        rest = message.substr(line_end + 1);
    }
    // The further lines are indented under the first on stderr; in JSON they stand alone.
    std::string more;
    while (!rest.empty()) {
        const auto end = rest.find('\n');
        auto line = rest.substr(0, end);
        line.remove_prefix(std::min(line.find_first_not_of(' '), line.size()));
        if (!line.empty()) {
            more += more.empty() ? "" : "\n";
            more += line;
        }
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    }

    const auto fix_start = first.rfind("; ");
    std::string_view cause = first.substr(0, fix_start);
    if (const auto colon = cause.find(": "); colon != std::string_view::npos) {
        cause.remove_prefix(colon + 2);
    }
    ErrorParts parts{std::string(cause), std::nullopt};
    if (fix_start != std::string_view::npos) {
        parts.fix = std::string(first.substr(fix_start + 2));
    }
    if (!more.empty()) {
        parts.fix = parts.fix ? *parts.fix + "\n" + more : more;
    }
    return parts;
}

Json error_json(int exit_code,
                std::string_view message,
                std::string_view cause,
                std::string_view fix) {
    auto parts = split_error_message(message);
    if (!cause.empty()) {
        parts.cause = cause;
    }
    if (!fix.empty()) {
        parts.fix = std::string(fix);
    }
    return Json{{"error",
                 Json{{"code", exit_code},
                      {"message", message},
                      {"cause", parts.cause},
                      {"fix", parts.fix ? Json(*parts.fix) : Json(nullptr)}}}};
}

} // namespace pt::out
