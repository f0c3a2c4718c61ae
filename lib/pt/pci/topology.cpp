// SPDX-License-Identifier: MIT
#include "pt/pci/topology.hpp"

#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/pci/names.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pt::pci {

const Device* Topology::find(const Address& address) const {
    const auto it = std::lower_bound(
        devices.begin(), devices.end(), address, [](const Device& dev, const Address& wanted) {
            return dev.address < wanted;
        });
    return it != devices.end() && it->address == address ? &*it : nullptr;
}

namespace {

// /sys/bus/pci/slots/NAME/address names the slot's bus and device number, "DDDD:BB:DD" (or
// "DDDD:BB" for a slot without one, which says nothing of which device is in it), and every
// function of that device sits in the slot (drivers/pci/slot.c, address_read_file).
void assign_physical_slots(const host::Root& root, Topology& topology) {
    const auto slots = root.open_dir("/sys/bus/pci/slots");
    if (!slots) {
        return;
    }
    for (const auto& name : slots->list()) {
        std::optional<std::string> text;
        try {
            text = slots->read_attr(name + "/address");
        } catch (const Error& e) {
            topology.warnings.push_back(
                fmt::format("skipped the physical slot /sys/bus/pci/slots/{}: {}", name, e.what()));
            continue;
        }
        const auto address = text ? parse_address(*text + ".0") : std::nullopt;
        if (!address) {
            continue;
        }
        for (auto& dev : topology.devices) {
            if (dev.address.same_slot(*address)) {
                dev.physical_slot = name;
            }
        }
    }
}

} // namespace

Topology scan(const host::Root& root, NameDb* names, const DeviceDetail& detail) {
    Topology topology;
    const auto bus_devices = root.open_dir("/sys/bus/pci/devices");
    if (!bus_devices) {
        return topology;
    }
    for (const auto& entry : bus_devices->list()) {
        const auto address = parse_address(entry);
        if (!address) {
            topology.warnings.push_back(fmt::format(
                "skipped /sys/bus/pci/devices/{}: not a PCI address (DDDD:BB:DD.F)", entry));
            continue;
        }
        try {
            auto dev = read_device(root, *bus_devices, *address, detail);
            if (!dev) {
                topology.warnings.push_back(
                    fmt::format("skipped /sys/bus/pci/devices/{}: the link leads nowhere inside {}",
                                entry,
                                root.prefix().string()));
                continue;
            }
            topology.devices.push_back(std::move(*dev));
        } catch (const UsageError&) {
            throw;
        } catch (const Error& e) {
            topology.warnings.push_back(fmt::format("skipped {}: {}", entry, e.what()));
        }
    }
    std::sort(topology.devices.begin(), topology.devices.end(), [](const auto& a, const auto& b) {
        return a.address < b.address;
    });
    assign_physical_slots(root, topology);
    if (names != nullptr) {
        names->name_all(topology.devices);
    }
    return topology;
}

} // namespace pt::pci
