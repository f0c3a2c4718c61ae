// SPDX-License-Identifier: MIT
#pragma once

#include "pt/pci/address.hpp"
#include "pt/pci/device.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pt::iommu {

// Why losing a foreign device hurts the host, when it does. `display` marks a display device or
// any function of its slot: a second graphics card that would go to the same VM.
enum class Danger { none, storage, network, usb, display };

// An endpoint that shares the subject's group but is not a function of the subject's slot.
// Proxmox binds every non-bridge member of a group to vfio-pci when a VM using any of them
// starts (PVE::SysFSTools::pci_dev_group_bind_to_vfio), so the host loses it.
struct Foreign {
    pci::Address address;
    std::uint32_t class_code = 0;
    std::optional<std::string> driver;
    Danger danger = Danger::none;
};

// A member whose driver stops the group from being claimed by VFIO.
struct Blocker {
    pci::Address address;
    std::string driver;
    bool bridge = false;
};

// The judgement of one IOMMU group for passing `subject` (and its slot) to a VM.
struct Verdict {
    pci::Address subject;
    // Every endpoint of the group is a function of the subject's slot.
    bool isolated = false;
    // VFIO can claim the group now: every endpoint is unbound or on vfio-pci / pci-stub, every
    // bridge unbound or on pcieport (DMA ownership rules, Linux 5.19+).
    bool viable = false;
    std::vector<Foreign> foreign;
    std::vector<Blocker> blockers;
};

// True for drivers that declare driver_managed_dma, which may hold a device of a group that is
// handed to VFIO: vfio-pci, its vendor variants (mlx5_vfio_pci, nvgrace-gpu-vfio-pci, ...)
// and pci-stub.
bool is_vfio_safe_endpoint_driver(std::string_view driver);

// The rule for bridges: unbound or pcieport (portdrv sets driver_managed_dma).
bool is_vfio_safe_bridge_driver(std::string_view driver);

// Danger class of an endpoint by its class code.
Danger danger_of(std::uint32_t class_code);

// Judges `members` (the devices of one group) for passing through `subject`, which must be one
// of them.
Verdict judge(const std::vector<pci::Device>& members, const pci::Address& subject);

} // namespace pt::iommu
