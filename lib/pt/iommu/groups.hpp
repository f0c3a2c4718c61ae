// SPDX-License-Identifier: MIT
#pragma once

#include "pt/pci/address.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::pci {
struct Topology;
}

namespace pt::iommu {

// One IOMMU group as the kernel lists it under /sys/kernel/iommu_groups/<number>.
struct Group {
    int number = 0;
    std::optional<std::string> type; // default domain: "DMA", "DMA-FQ", "identity", ...
    std::vector<pci::Address> members;
};

// The IOMMU as sysfs shows it.
struct IommuState {
    std::vector<std::string> units; // /sys/class/iommu entries: dmar0, ivhd0, ...
    std::vector<Group> groups;      // sorted by number

    // Groups exist, so devices can be assigned to VMs. Proxmox itself tests that
    // /sys/class/iommu is non-empty (PVE::SysFSTools::check_iommu_support); without groups
    // there is nothing to pass through either way.
    bool enabled() const { return !groups.empty(); }
};

// Reads /sys/class/iommu and /sys/kernel/iommu_groups. Group directories whose names are not
// numbers and member names that are not PCI addresses are ignored.
//
// Members come from each group's devices/ directory, unless `topology` is given: then they come
// from the devices' own iommu_group links, which the scan has already read (the kernel keeps
// both views in step). That saves listing thousands of directories on SR-IOV hosts.
IommuState read_iommu(const host::Root& root, const pci::Topology* topology = nullptr);

} // namespace pt::iommu
