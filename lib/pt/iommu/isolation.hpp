// SPDX-License-Identifier: MIT
#pragma once

#include "pt/pci/address.hpp"
#include "pt/pci/device.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pt::pci {
struct Topology;
}

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

// Why a group holds endpoints outside the subject's slot, read from the PCI topology. Groups
// follow the ports between a device and the root complex: a port without ACS (Access Control
// Services) cannot stop peer-to-peer DMA, so the kernel puts everything it cannot separate into
// one group (drivers/iommu/iommu.c pci_device_group, kernel docs vfio.rst).
enum class Sharing {
    none,           // isolated
    chipset_port,   // the subject sits behind a chipset (PCH) root port: Intel PCH ports D27-D29
    cpu_root_ports, // the subject's root port is one function of a multifunction root port device
                    // (a CPU's x16 split into x8/x8: 00:01.0, 00:01.1) without ACS between its
                    // functions; the others sit behind its sibling functions
    switch_ports,   // the others sit behind the same root port: a switch whose downstream ports
                    // lack ACS (AMD chipsets hang off a CPU port this way)
    root_complex,   // the subject or the others sit on the root bus itself, no port between
                    // them and the root complex: integrated functions the root complex does not
                    // isolate (a multifunction root complex device)
    other,          // none of these shapes
};

// "chipset_port", "cpu_root_ports", "switch_ports", "root_complex", "other"; null for none.
std::string to_string(Sharing sharing);

// The judgement of one IOMMU group for passing `subject` (and its slot) to a VM.
struct Verdict {
    pci::Address subject;
    // Every endpoint of the group is a function of the subject's slot.
    bool isolated = false;
    // Why it is not isolated, and the subject's root port (the bridge on the root bus above it;
    // nullopt for a device on the root bus).
    Sharing sharing = Sharing::none;
    std::optional<pci::Address> root_port;
    // The root ports of the other endpoints that are not the subject's (cpu_root_ports: the
    // sibling functions), sorted.
    std::vector<pci::Address> other_root_ports;
    // The subject is the display of a server's management controller (BMC: ASPEED, Matrox G200e
    // on HP iLO and others): it shows the host on the remote console, it is no GPU to pass on.
    bool bmc_display = false;
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

// True for the VGA functions of management controllers: ASPEED (1a03), Matrox G200e variants
// (102b:0522/0530/0532/0533/0534/0536/0538, on HP iLO, Dell iDRAC, ...), and any display
// function of a slot that holds an HP iLO function (103c:3306/3307/3300). `slot_mates` are the
// devices to look for the iLO in.
bool is_bmc_display(const pci::Device& dev, const std::vector<pci::Device>& slot_mates);

// Why a group that is not isolated is shared, in one or more sentences (from `sharing`).
std::string sharing_cause(const Verdict& verdict);

// The honest options for a shared group, best first, each a clause ending in ';' or '.':
// another slot where one can help, passing the whole group (both cards) to one VM, the ACS
// override with its security cost, bare metal.
std::vector<std::string> sharing_options(const Verdict& verdict);

// Judges `members` (the devices of one group) for passing through `subject`, which must be one
// of them. `topology`, when given, resolves parents outside the group (root ports in groups of
// their own) for the sharing cause; without it only the members are walked.
Verdict judge(const std::vector<pci::Device>& members,
              const pci::Address& subject,
              const pci::Topology* topology = nullptr);

} // namespace pt::iommu
