// SPDX-License-Identifier: MIT
#pragma once

#include "pt/edit/plan.hpp"
#include "pt/grub/plan.hpp"
#include "pt/pci/address.hpp"
#include "pt/proxmox/vmconf_plan.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pt::model {
class Host;
}

namespace pt::setup {

// pt setup SEL --vm VMID: the whole chain from a fresh host to the card in a VM, planned as one.
// Each link is the plan its single command would make on the same host model (pt grub,
// pt blacklist, pt bind, pt mapping, pt vmconf), so setup refuses exactly what they refuse, for
// the same reasons, and a refusal anywhere means nothing is planned at all.

// The VM a card goes to and how the VM uses it: what pt setup's flags say, and a profile's
// device entry (profile::Device) records.
struct VmUse {
    int vmid = 0; // --vm
    // --compute (the default: headless inference, no x-vga, cpu: host) or --display (the card
    // is the VM's screen: x-vga=1 on SeaBIOS).
    proxmox::GpuRole role = proxmox::GpuRole::compute;
    bool keep_cpu = false;              // --keep-cpu: leave the VM's CPU type alone
    bool ovmf = false;                  // --ovmf: bios: ovmf
    bool set_machine = false;           // --set-machine: switch an explicit i440fx to q35
    std::optional<std::string> mapping; // --mapping NAME: a cluster mapping, and mapping=NAME
};

// One card and the VM it goes to.
struct Card : VmUse {
    std::string selector; // SEL: any pci::parse_selector form that names one card (slot)
    // Where the card was before it moved (pt profile): the VM entry passing that slot is
    // re-pointed at the card's slot now.
    std::optional<pci::Address> moved_from;
};

// One card that the host's driver keeps, shared into one container through its device nodes
// (pt lxc CTID SEL).
struct Share {
    std::string selector; // SEL: one card
    int ctid = 0;
};

struct Request {
    // pt setup passes one card; a profile may name several (two cards for two VMs, or both for
    // one), planned as one chain: each file is written once, with every card in it.
    std::vector<Card> cards;
    // The containers of a profile: planned after the VMs, as pt lxc plans each.
    std::vector<Share> containers;
    bool include_group = false; // --include-group: as pt bind
    bool force = false;         // --force: as pt bind (and a template for pt vmconf)
    std::int64_t time = 0;      // seconds since the epoch (qemu-server reservations)
    // Kernel options beyond what this CPU and kernel need (a profile's kernel: section; pt setup
    // itself asks for none): --iommu-pt, --sysfb-off and --add of pt grub.
    grub::Request kernel;
    std::string title; // the command line, journalled
};

// One link of the chain: the single command that plans the same, and its plan.
struct Step {
    std::string name;    // "kernel command line", "host drivers", "vfio-pci", "mapping", "VM"
    std::string command; // "pt blacklist 0000:81:00": run alone, it plans exactly `plan`
    edit::Plan plan;
    std::string skipped; // why the step plans nothing by design ("no display device ..."), or ""
};

struct Planned {
    std::vector<pci::Address> slots;   // the cards (function 0 of each slot), as Request::cards
    std::vector<Step> steps;           // in the order the story goes
    std::vector<std::size_t> vm_steps; // per card: the index of its VM step in `steps`
    edit::Plan plan; // every step's plan as one: what --apply writes, one journal entry
    // What is left to do once the plan is applied, in order: "reboot the host",
    // "pt verify --vm 100".
    std::vector<std::string> remaining;
};

// Plans the chain on `host`:
//   1. kernel command line: what this CPU and kernel need (pt grub without options);
//   2. host drivers: the GPU vendors' drivers kept off the cards (pt blacklist SLOT..., which
//      picks softdep when the host keeps another GPU of that vendor); skipped when no card has
//      a display function;
//   3. vfio-pci: the slots handed to vfio-pci at boot, by IDs or by address for identical cards
//      (pt bind SLOT...);
//   4. mapping (per card with --mapping): this node's entry of the cluster mapping (pt mapping
//      NAME SLOT);
//   5. the VM (per card): hostpci with every function of the slot, pcie=1 with q35, the use's
//      x-vga and CPU type (pt vmconf VMID SLOT);
//   6. a container (per share): the card's device nodes in its config (pt lxc CTID SLOT).
// Steps 1 to 5 are planned only when there are cards; a card cannot be both passed to a VM and
// shared into a container (vfio-pci takes it from the host's driver).
// A later step may change a file an earlier one changed (two cards' mappings, or two cards for
// one VM) only when it was planned on that step's text: the steps then read as one edit.
// Throws pt::UsageError when a SEL is malformed or names no single card (or two cards are one),
// and whatever the single planners throw (pt::Error with their reasons); two steps that would
// change the same file otherwise are an internal pt::Error rather than a silently lost edit.
Planned plan_setup(const model::Host& host, const Request& request);

} // namespace pt::setup
