// SPDX-License-Identifier: MIT
#include "pt/iommu/groups.hpp"

#include "pt/host/root.hpp"
#include "pt/pci/sysfs_attr.hpp"
#include "pt/pci/topology.hpp"

#include <algorithm>
#include <map>

namespace pt::iommu {

IommuState read_iommu(const host::Root& root, const pci::Topology* topology) {
    IommuState state;
    state.units = root.list("/sys/class/iommu");
    std::map<int, std::vector<pci::Address>> linked;
    if (topology != nullptr) {
        for (const auto& dev : topology->devices) {
            if (dev.iommu_group) {
                linked[*dev.iommu_group].push_back(dev.address);
            }
        }
    }
    const auto groups_dir = root.open_dir("/sys/kernel/iommu_groups");
    if (!groups_dir) {
        return state;
    }
    for (const auto& entry : groups_dir->list()) {
        const auto number = pci::parse_decimal_attr(entry);
        if (!number || *number < 0) {
            continue;
        }
        Group group;
        group.number = static_cast<int>(*number);
        const std::string dir = host::join("/sys/kernel/iommu_groups", entry);
        // One openat2 relative to the open groups directory, not a walk from the root: thousands
        // of groups on SR-IOV hosts.
        group.type = groups_dir->read_attr(host::join(entry, "type"));
        if (topology != nullptr) {
            group.members = std::move(linked[group.number]);
        } else {
            for (const auto& member : root.list(host::join(dir, "devices"))) {
                if (const auto address = pci::parse_address(member)) {
                    group.members.push_back(*address);
                }
            }
        }
        std::sort(group.members.begin(), group.members.end());
        state.groups.push_back(std::move(group));
    }
    std::sort(state.groups.begin(), state.groups.end(), [](const Group& a, const Group& b) {
        return a.number < b.number;
    });
    return state;
}

} // namespace pt::iommu
