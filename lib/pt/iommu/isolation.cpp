// SPDX-License-Identifier: MIT
#include "pt/iommu/isolation.hpp"

#include "pt/pci/class_code.hpp"

#include <algorithm>

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

Verdict judge(const std::vector<pci::Device>& members, const pci::Address& subject) {
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
    return verdict;
}

} // namespace pt::iommu
