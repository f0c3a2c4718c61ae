// SPDX-License-Identifier: MIT
#pragma once

#include "pt/iommu/groups.hpp"
#include "pt/kernel/host_facts.hpp"
#include "pt/pci/topology.hpp"
#include "support/devices.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pt::test {

// An Intel workstation with two identical RTX 3090s, in memory:
//   group 0  0000:00:00.0 host bridge (060000, an endpoint)
//   group 1  0000:00:01.0 root port, 0000:01:00.0 RTX 3090 (nvidia), 0000:01:00.1 its audio
//   group 2  0000:00:02.0 Intel iGPU 8086:3e92 (i915)
//   group 3  0000:00:14.0 chipset xHCI, 0000:00:14.2 RAM controller
//   group 4  0000:00:17.0 SATA (ahci)
//   group 5  0000:00:1c.0 root port, 0000:02:00.0 second RTX 3090 (vfio-pci), 0000:02:00.1 audio
//   group 6  0000:03:00.0 NIC 8086:1533 (igb)
//   no group 0000:05:00.0 system peripheral 8086:1911
struct SampleHost {
    pci::Topology topology;
    iommu::IommuState iommu;
    kernel::HostFacts facts;
};

inline SampleHost sample_host() {
    SampleHost host;
    auto& devices = host.topology.devices;
    devices.push_back(make_device("0000:00:00.0", 0x060000, std::nullopt, 0x8086, 0x3e30));
    devices.push_back(make_device("0000:00:01.0", 0x060400, "pcieport", 0x8086, 0x1901));
    devices.push_back(make_device("0000:00:02.0", 0x030000, "i915", 0x8086, 0x3e92));
    devices.push_back(make_device("0000:00:14.0", 0x0c0330, "xhci_hcd", 0x8086, 0xa36d));
    devices.push_back(make_device("0000:00:14.2", 0x050000, std::nullopt, 0x8086, 0xa36f));
    devices.push_back(make_device("0000:00:17.0", 0x010601, "ahci", 0x8086, 0xa352));
    devices.push_back(make_device("0000:00:1c.0", 0x060400, "pcieport", 0x8086, 0xa338));
    devices.push_back(make_device("0000:01:00.0", 0x030000, "nvidia", 0x10de, 0x2204));
    devices.push_back(make_device("0000:01:00.1", 0x040300, "snd_hda_intel", 0x10de, 0x1aef));
    devices.push_back(make_device("0000:02:00.0", 0x030000, "vfio-pci", 0x10de, 0x2204));
    devices.push_back(make_device("0000:02:00.1", 0x040300, "vfio-pci", 0x10de, 0x1aef));
    devices.push_back(make_device("0000:03:00.0", 0x020000, "igb", 0x8086, 0x1533));
    devices.push_back(make_device("0000:05:00.0", 0x088000, std::nullopt, 0x8086, 0x1911));

    const std::map<int, std::vector<const char*>> groups = {
        {0, {"0000:00:00.0"}},
        {1, {"0000:00:01.0", "0000:01:00.0", "0000:01:00.1"}},
        {2, {"0000:00:02.0"}},
        {3, {"0000:00:14.0", "0000:00:14.2"}},
        {4, {"0000:00:17.0"}},
        {5, {"0000:00:1c.0", "0000:02:00.0", "0000:02:00.1"}},
        {6, {"0000:03:00.0"}},
    };
    for (const auto& [number, members] : groups) {
        iommu::Group group;
        group.number = number;
        group.type = "DMA-FQ";
        for (const char* member : members) {
            group.members.push_back(addr(member));
            for (auto& dev : devices) {
                if (dev.address == addr(member)) {
                    dev.iommu_group = number;
                }
            }
        }
        host.iommu.groups.push_back(std::move(group));
    }
    host.iommu.units = {"dmar0", "dmar1"};

    for (auto& dev : devices) {
        if (dev.vendor == 0x10de && dev.device == 0x2204) {
            dev.names.vendor = "NVIDIA Corporation";
            dev.names.device = "GA102 [GeForce RTX 3090]";
            dev.names.class_name = "VGA compatible controller";
            dev.subsystem_vendor = 0x1458;
            dev.subsystem_device = 0x403b;
            dev.revision = 0xa1;
            dev.boot_vga = dev.address == addr("0000:01:00.0");
            dev.reset_methods = std::vector<std::string>{"flr", "bus"};
        }
    }

    host.facts.cpu = kernel::CpuVendor::intel;
    host.facts.release = kernel::parse_release("6.5.13-6-pve");
    host.facts.cmdline_text = "BOOT_IMAGE=/boot/vmlinuz-6.5.13-6-pve root=/dev/sda1 quiet";
    host.facts.cmdline = kernel::parse_cmdline(*host.facts.cmdline_text);
    return host;
}

// The same host with the IOMMU off: no groups, no units, no iommu_group on any device.
inline SampleHost sample_host_without_iommu() {
    SampleHost host = sample_host();
    host.iommu = iommu::IommuState{};
    for (auto& dev : host.topology.devices) {
        dev.iommu_group.reset();
    }
    return host;
}

} // namespace pt::test
