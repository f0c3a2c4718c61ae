// SPDX-License-Identifier: MIT
#include "pt/pci/topology.hpp"

#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/pci/names.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <string>
#include <thread>
#include <vector>

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

namespace {

// What reading one entry of /sys/bus/pci/devices gave: a device, or why it was skipped.
struct EntryResult {
    std::optional<Device> device;
    std::string warning;
};

EntryResult read_entry(const host::Root& root,
                       const host::Dir& bus_devices,
                       const std::string& entry,
                       const DeviceDetail& detail) {
    EntryResult result;
    const auto address = parse_address(entry);
    if (!address) {
        result.warning =
            fmt::format("skipped /sys/bus/pci/devices/{}: not a PCI address (DDDD:BB:DD.F)", entry);
        return result;
    }
    try {
        result.device = read_device(root, bus_devices, *address, detail);
        if (!result.device) {
            result.warning =
                fmt::format("skipped /sys/bus/pci/devices/{}: the link leads nowhere inside {}",
                            entry,
                            root.prefix().string());
        }
    } catch (const UsageError&) {
        throw;
    } catch (const Error& e) {
        result.warning = fmt::format("skipped {}: {}", entry, e.what());
    }
    return result;
}

// From this many entries on, two threads read the devices, one half each. Each device costs
// about 20 system calls in folders of its own, so a host with SR-IOV (hundreds or thousands of
// functions) is read in about half the time; a small host is not worth a thread.
constexpr std::size_t k_two_threads_from = 128;

std::vector<EntryResult> read_entries(const host::Root& root,
                                      const host::Dir& bus_devices,
                                      const std::vector<std::string>& entries,
                                      const DeviceDetail& detail) {
    std::vector<EntryResult> results(entries.size());
    const auto read_range = [&](std::size_t from, std::size_t to) {
        for (std::size_t i = from; i < to; ++i) {
            results[i] = read_entry(root, bus_devices, entries[i], detail);
        }
    };
    if (entries.size() < k_two_threads_from) {
        read_range(0, entries.size());
        return results;
    }
    const std::size_t half = entries.size() / 2;
    std::exception_ptr failure;
    std::thread second([&] {
        try {
            read_range(half, entries.size());
        } catch (...) {
            failure = std::current_exception();
        }
    });
    try {
        read_range(0, half);
    } catch (...) {
        second.join();
        throw;
    }
    second.join();
    if (failure) {
        std::rethrow_exception(failure);
    }
    return results;
}

} // namespace

Topology scan(const host::Root& root, NameDb* names, const DeviceDetail& detail) {
    Topology topology;
    const auto bus_devices = root.open_dir("/sys/bus/pci/devices");
    if (!bus_devices) {
        return topology;
    }
    const auto entries = bus_devices->list();
    // The results are taken in the listing's order, so the warnings and devices do not depend
    // on which thread read what.
    for (auto& result : read_entries(root, *bus_devices, entries, detail)) {
        if (result.device) {
            topology.devices.push_back(std::move(*result.device));
        } else {
            topology.warnings.push_back(std::move(result.warning));
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
