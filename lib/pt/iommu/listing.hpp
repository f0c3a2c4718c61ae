// SPDX-License-Identifier: MIT
#pragma once

#include "pt/iommu/diagnosis.hpp"
#include "pt/iommu/isolation.hpp"
#include "pt/pci/device.hpp"
#include "pt/pci/selector.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pt::kernel {
struct HostFacts;
}

namespace pt::pci {
struct Topology;
}

namespace pt::iommu {

struct IommuState;

// Which groups `pt iommu-groups` shows. Criteria combine with AND; an empty filter shows all.
struct Filter {
    bool gpu_only = false;                   // groups that hold a display device (class 03xx)
    std::vector<int> groups;                 // --group N
    std::vector<pci::Selector> devices;      // --device SEL: groups holding a matching device
    std::optional<std::string> class_prefix; // --class HEX: groups holding a device whose
                                             // six-digit class starts with this
};

struct GroupReport {
    int number = 0;
    std::optional<std::string> type;
    std::vector<pci::Device> devices;
    // Present when the group holds a display device or a device selected with --device; the
    // subject is the first selected device, else the first display device.
    std::optional<Verdict> verdict;
};

struct Listing {
    bool iommu_enabled = false;
    std::vector<std::string> units;
    std::vector<GroupReport> groups;
    // Devices that match the filter but sit in no group (all of them when the IOMMU is off).
    std::vector<pci::Device> ungrouped;
    std::optional<Diagnosis> diagnosis; // when the IOMMU is off
    std::vector<pci::Address> selected; // devices matched by --device
    std::vector<std::string> warnings;
};

// Builds what `pt iommu-groups` shows. Throws pt::Error when a --device selector matches no
// device (the message lists the display devices that exist) or a --group number does not exist.
Listing build_listing(const pci::Topology& topology,
                      const IommuState& state,
                      const kernel::HostFacts& facts,
                      const Filter& filter);

// The vendor:device IDs of the endpoints of the listed groups, for vfio-pci.ids=.
struct VfioIds {
    std::vector<std::string> ids;         // "10de:2204", unique, in address order
    std::vector<pci::Address> endpoints;  // the devices they come from
    std::vector<pci::Address> also_match; // devices outside the selection with one of the IDs
};

VfioIds vfio_ids(const Listing& listing, const pci::Topology& topology);

// "0000:01:00.0 VGA compatible controller [10de:2204] NVIDIA ..." one per line, for messages that
// point the user at the display devices that do exist.
std::string describe_display_devices(const pci::Topology& topology);

} // namespace pt::iommu
