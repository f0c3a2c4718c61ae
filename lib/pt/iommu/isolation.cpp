// SPDX-License-Identifier: MIT
#include "pt/iommu/isolation.hpp"

#include "pt/pci/class_code.hpp"
#include "pt/pci/topology.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

namespace pt::iommu {

bool is_vfio_safe_endpoint_driver(std::string_view driver) {
    // Variant drivers are named <vendor>[_-]vfio[_-]pci and register through
    // vfio_pci_core, which sets driver_managed_dma like vfio-pci itself.
    return driver == "vfio-pci" || driver == "pci-stub" || driver.ends_with("vfio-pci")
           || driver.ends_with("vfio_pci");
}

bool is_vfio_safe_bridge_driver(std::string_view driver) {
    return driver == "pcieport";
}

Danger danger_of(std::uint32_t class_code) {
    if (pci::is_storage(class_code)) {
        return Danger::storage;
    }
    if (pci::is_network(class_code)) {
        return Danger::network;
    }
    if (pci::is_usb(class_code)) {
        return Danger::usb;
    }
    if (pci::is_display(class_code)) {
        return Danger::display;
    }
    return Danger::none;
}

namespace {

// Finds a device by address in the group, then in the topology.
class Lookup {
public:
    Lookup(const std::vector<pci::Device>& members, const pci::Topology* topology)
        : members_(members)
        , topology_(topology) {}

    const pci::Device* find(const pci::Address& address) const {
        for (const auto& dev : members_) {
            if (dev.address == address) {
                return &dev;
            }
        }
        return topology_ != nullptr ? topology_->find(address) : nullptr;
    }

    // The bridge on the root bus above `dev`: the last parent of the chain. nullopt when `dev`
    // is on the root bus. A parent that cannot be found ends the walk there.
    std::optional<pci::Address> root_port(const pci::Device& dev) const {
        std::optional<pci::Address> port = dev.parent;
        for (int depth = 0; port && depth < 64; ++depth) {
            const pci::Device* up = find(*port);
            if (up == nullptr || !up->parent) {
                break;
            }
            port = up->parent;
        }
        return port;
    }

private:
    const std::vector<pci::Device>& members_;
    const pci::Topology* topology_;
};

// Intel's PCH root ports are devices 27, 28 and 29 (0x1b-0x1d) on bus 0; the CPU's own are 1
// and 6 (Intel 200/300/400/500/600-series PCH datasheets, "PCI Express Root Port" D27/D28/D29).
bool is_intel_pch_port(const pci::Device& port) {
    return port.vendor == 0x8086 && port.address.bus == 0 && port.address.device >= 0x1b
           && port.address.device <= 0x1d;
}

Sharing
classify(const Verdict& verdict, const Lookup& lookup, std::vector<pci::Address>& other_ports) {
    if (verdict.foreign.empty()) {
        return Sharing::none;
    }
    const pci::Device* subject = lookup.find(verdict.subject);
    if (subject == nullptr || !verdict.root_port) {
        return Sharing::root_complex;
    }
    const pci::Device* port = lookup.find(*verdict.root_port);
    if (port != nullptr && is_intel_pch_port(*port)) {
        return Sharing::chipset_port;
    }
    bool same_port = false;
    bool on_root_bus = false;
    bool sibling_ports = true;
    std::set<pci::Address> others;
    for (const auto& f : verdict.foreign) {
        const pci::Device* dev = lookup.find(f.address);
        const auto their_port = dev != nullptr ? lookup.root_port(*dev) : std::nullopt;
        if (!their_port) {
            on_root_bus = true;
            sibling_ports = false;
            continue;
        }
        if (*their_port == *verdict.root_port) {
            same_port = true;
            sibling_ports = false;
            continue;
        }
        others.insert(*their_port);
        sibling_ports = sibling_ports && their_port->same_slot(*verdict.root_port);
    }
    other_ports.assign(others.begin(), others.end());
    if (sibling_ports) {
        return Sharing::cpu_root_ports;
    }
    if (same_port && !on_root_bus && others.empty()) {
        return Sharing::switch_ports;
    }
    if (on_root_bus) {
        return Sharing::root_complex;
    }
    return Sharing::other;
}

bool is_hp_ilo(const pci::Device& dev) {
    return dev.vendor == 0x103c
           && (dev.device == 0x3306 || dev.device == 0x3307 || dev.device == 0x3300);
}

} // namespace

std::string to_string(Sharing sharing) {
    switch (sharing) {
    case Sharing::none:
        return "none";
    case Sharing::chipset_port:
        return "chipset_port";
    case Sharing::cpu_root_ports:
        return "cpu_root_ports";
    case Sharing::switch_ports:
        return "switch_ports";
    case Sharing::root_complex:
        return "root_complex";
    case Sharing::other:
        return "other";
    }
    return "other";
}

bool is_bmc_display(const pci::Device& dev, const std::vector<pci::Device>& slot_mates) {
    if (!dev.is_display()) {
        return false;
    }
    if (dev.vendor == 0x1a03) {
        return true;
    }
    if (dev.vendor == 0x102b) {
        for (const std::uint16_t g200e : {0x0522, 0x0530, 0x0532, 0x0533, 0x0534, 0x0536, 0x0538}) {
            if (dev.device == g200e) {
                return true;
            }
        }
    }
    return std::any_of(slot_mates.begin(), slot_mates.end(), [&](const pci::Device& other) {
        return other.address.same_slot(dev.address) && is_hp_ilo(other);
    });
}

namespace {

std::string join_addresses(const std::vector<pci::Address>& addresses) {
    std::vector<std::string> parts;
    for (const auto& a : addresses) {
        parts.push_back(pci::format(a));
    }
    return fmt::format("{}", fmt::join(parts, ", "));
}

} // namespace

std::string sharing_cause(const Verdict& v) {
    const std::string slot = pci::format_slot(v.subject);
    const std::string port = v.root_port ? pci::format(*v.root_port) : std::string("?");
    switch (v.sharing) {
    case Sharing::chipset_port:
        return fmt::format("{} is a chipset (PCH) root port: the chipset's ports do not isolate "
                           "the devices behind them (no ACS), so they share one group.",
                           port);
    case Sharing::cpu_root_ports:
        return fmt::format("{} is already in a slot wired to the CPU: its root port {} and {} "
                           "are functions of one CPU PCIe controller without ACS between its "
                           "functions (an x16 link split into x8/x8), so the cards behind them "
                           "share one group. Another slot on that controller does not help.",
                           slot,
                           port,
                           join_addresses(v.other_root_ports));
    case Sharing::switch_ports:
        return fmt::format("{} sits behind a switch below root port {} whose downstream ports "
                           "do not isolate each other (no ACS; on AMD boards this is the "
                           "chipset).",
                           slot,
                           port);
    case Sharing::root_complex:
        return fmt::format("{} or the devices it shares with sit on the root bus itself, with no "
                           "port between them and the root complex, which does not isolate "
                           "them (integrated functions cannot move to another slot).",
                           slot);
    case Sharing::other:
    case Sharing::none:
        break;
    }
    return "the ports between these devices and the root complex do not isolate them (no ACS).";
}

// The honest options for a shared group, the first one depending on why it is shared.
std::vector<std::string> sharing_options(const Verdict& v) {
    std::vector<std::string> options;
    switch (v.sharing) {
    case Sharing::cpu_root_ports:
        options.push_back("pass both cards to the same VM (a group goes to one VM as a whole);");
        options.push_back("or pass through only one of them: move the other card to a chipset "
                          "slot (where it shares the chipset's group, which is fine for the "
                          "host's own card) or take it out;");
        break;
    case Sharing::root_complex:
        options.push_back("pass every device of the group to the same VM, if the host can do "
                          "without them (the list above);");
        break;
    case Sharing::chipset_port:
    case Sharing::switch_ports:
    case Sharing::other:
    case Sharing::none:
        options.push_back("move the card to a slot on a CPU root port of its own (the board "
                          "manual's block diagram shows which slots are wired to the CPU);");
        options.push_back("or pass every device of the group to the same VM, if the host can "
                          "do without them (the list above);");
        break;
    }
    options.push_back("or the ACS override, pcie_acs_override=downstream,multifunction (Proxmox "
                      "kernels carry the patch): it splits the group but only pretends "
                      "isolation: the devices can still reach each other by peer-to-peer DMA "
                      "past the IOMMU, so a guest can reach the memory of the devices the host "
                      "keeps;");
    options.push_back("or run the workload on the host itself (bare metal), where groups do not "
                      "matter.");
    return options;
}

Verdict judge(const std::vector<pci::Device>& members,
              const pci::Address& subject,
              const pci::Topology* topology) {
    Verdict verdict;
    verdict.subject = subject;
    for (const auto& dev : members) {
        if (dev.is_bridge()) {
            if (dev.driver && !is_vfio_safe_bridge_driver(*dev.driver)) {
                verdict.blockers.push_back({dev.address, *dev.driver, true});
            }
            continue;
        }
        if (dev.driver && !is_vfio_safe_endpoint_driver(*dev.driver)) {
            verdict.blockers.push_back({dev.address, *dev.driver, false});
        }
        if (!dev.address.same_slot(subject)) {
            // A USB or audio function of a second graphics card goes wherever that card goes;
            // it is not the host's chipset USB.
            const bool of_other_gpu =
                std::any_of(members.begin(), members.end(), [&](const pci::Device& other) {
                    return other.is_display() && other.address.same_slot(dev.address);
                });
            verdict.foreign.push_back({dev.address,
                                       dev.class_code,
                                       dev.driver,
                                       of_other_gpu ? Danger::display : danger_of(dev.class_code)});
        }
    }
    verdict.isolated = verdict.foreign.empty();
    verdict.viable = verdict.blockers.empty();
    const Lookup lookup(members, topology);
    if (const pci::Device* dev = lookup.find(subject)) {
        verdict.root_port = lookup.root_port(*dev);
        verdict.bmc_display = is_bmc_display(*dev, members);
    }
    verdict.sharing = classify(verdict, lookup, verdict.other_root_ports);
    return verdict;
}

} // namespace pt::iommu
