// SPDX-License-Identifier: MIT
#pragma once

// The values shell completion offers (pt __complete, cmd/complete.cpp), read through a Root the
// way the subcommands read them, so completion offers what pt accepts and nothing it warns
// against. Every function returns its candidates in the order a shell should show them; none
// throws for a missing or damaged file (completion offers less instead).

#include <string>
#include <string_view>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::complete {

struct Candidate {
    std::string value;       // what the shell inserts: "81:00", "iommu=pt"
    std::string description; // shown by zsh and fish: "0300 10de:2204 vfio-pci"; may be empty
};

enum class Devices {
    any,       // every PCI function (iommu-groups --device)
    endpoints, // no bridges or root ports (PCI class 06): what bind, vmconf, rom-dump... take
};

// The device selectors that start with `prefix`: the short forms pt accepts ("81:00", the whole
// slot, and "81:00.0") for domain 0000; the full forms ("0000:81:00", "0000:81:00.0") for other
// domains, and for domain 0000 once `prefix` has started one ("000"). With Devices::endpoints a
// slot is offered when one of its functions is an endpoint.
std::vector<Candidate>
device_selectors(const host::Root& root, std::string_view prefix, Devices which);

// The vendor:device IDs of the endpoints (for vfio-pci.ids=), once each.
std::vector<Candidate> endpoint_ids(const host::Root& root);

// The IOMMU group numbers, in numeric order.
std::vector<Candidate> iommu_groups(const host::Root& root);

// The VMIDs of every node's VM configs (proxmox::find_vms), once each, with the node.
std::vector<Candidate> vmids(const host::Root& root);

// The CTIDs of every node's container configs (proxmox::find_cts), once each, with the node.
std::vector<Candidate> ctids(const host::Root& root);

// The mapping IDs of /etc/pve/mapping/pci.cfg.
std::vector<Candidate> mapping_ids(const host::Root& root);

// The journal entries pt undo can take (not undone yet), newest first, with their titles.
std::vector<Candidate> journal_entries(const host::Root& root);

// The kernel parameters pt grub --add offers: the ones pt knows a use for, never an item of
// kernel::cmdline_folklore() or a value the kernel rejects. `prefix` "vfio-pci.ids=..." gives
// vfio-pci.ids= with each endpoint ID.
std::vector<Candidate> params_to_add(const host::Root& root, std::string_view prefix);

// The parameters of the configured command line (what pt grub --remove can take).
std::vector<Candidate> params_to_remove(const host::Root& root);

// The files under /usr/share/kvm (vmconf --romfile takes a name relative to it).
std::vector<Candidate> rom_files(const host::Root& root);

// Common PCI class prefixes for iommu-groups --class.
std::vector<Candidate> class_prefixes();

// The candidates whose value starts with `prefix`, in their order.
std::vector<Candidate> starting_with(std::vector<Candidate> candidates, std::string_view prefix);

} // namespace pt::complete
