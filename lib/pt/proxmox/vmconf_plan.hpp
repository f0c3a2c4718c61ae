// SPDX-License-Identifier: MIT
#pragma once

#include "pt/edit/plan.hpp"
#include "pt/pci/address.hpp"
#include "pt/proxmox/vm_files.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::pci {
struct Topology;
}

namespace pt::proxmox {

// pt vmconf VMID SEL: the VM config edit that passes a device with the defaults the Proxmox docs
// lead to (ground truth §1.4 to §1.6, §12b-d). Planning reads through Root and writes nothing.
// What the passed GPU is for in the VM. compute (and unspecified, the default for a new entry):
// no x-vga, the Proxmox console stays the VM's screen (a headless inference or transcoding VM);
// display: x-vga=1 on SeaBIOS, the GPU is the VM's primary display (--display). unspecified
// keeps an existing entry's x-vga as it is; compute removes it. `pt setup` carries the same
// --display/--compute flags.
enum class GpuRole { unspecified, compute, display };

struct VmconfRequest {
    int vmid = 0;
    std::optional<std::string> selector; // the device to add (pci::parse_selector forms)
    std::optional<std::string> remove;   // --remove SEL: drop the entries that pass it
    std::optional<std::string> mapping;  // --mapping ID: mapping=ID instead of host=
    bool function_only = false;          // host=0000:BB:DD.F instead of the whole slot
    GpuRole role = GpuRole::unspecified; // --display, --compute (--no-x-vga)
    bool set_machine = false;            // --set-machine: switch an explicit i440fx to q35
    bool ovmf = false;                   // --ovmf: bios: ovmf
    std::optional<bool> rombar;          // --rombar 0|1
    std::optional<std::string> romfile;  // --romfile NAME (under /usr/share/kvm)
    bool hide_hypervisor = false;        // --hide-hypervisor: cpu: ...,hidden=1
    std::optional<std::string> cpu;      // --cpu TYPE: the cpu: line's CPU type ("host")
    // `cpu` only for a VM that names no CPU type yet (pt setup --compute): a type the user chose
    // stays.
    bool cpu_only_when_unset = false;
    // /etc/pve/mapping/pci.cfg as a plan of the same run leaves it (pt setup --mapping writes the
    // mapping and the VM's entry in one journal entry); nullopt: the file as it is.
    std::optional<std::string> planned_mapping_cfg;
    // The VM's config as an earlier plan of the same run leaves it (pt setup passing two cards
    // to one VM): planned on that text, so the second entry joins the first; nullopt: the file.
    std::optional<std::string> planned_config;
    // The slot the device was passed from before it moved (pt profile re-targets a card whose
    // address changed): an entry that passes that slot is the one updated, so the VM stops
    // pointing at the old address instead of gaining a second entry.
    std::optional<pci::Address> moved_from;
    bool force = false; // --force: edit a template (clones inherit it)
    bool qm = false;    // --qm: only the qm set command is wanted
    std::string title;  // the command line, journalled
};

struct VmconfPlan {
    edit::Plan plan; // one FileEdit of the VM's file (none when nothing changes), its lock
    VmFile vm;       // the VM's file
    bool running = false;
    std::optional<long> pid;
    std::string hostpci_key; // "hostpci0": the entry written (empty for --remove)
    // What is set ("hostpci0" -> "0000:0b:00,pcie=1,x-vga=1", "machine" -> "q35") and deleted,
    // for --qm: `qm set VMID --KEY VALUE ... --delete KEY,...`.
    std::vector<std::pair<std::string, std::string>> sets;
    std::vector<std::string> deletes;
};

// Plans the edit:
// - the entry: the one that already passes the device (any overlap with the selected slot or
//   function; with --mapping also an entry with mapping=ID) is updated in place, else the lowest
//   free hostpci index (0 to 15) is used; host IDs already written with the same meaning keep
//   their spelling, others are written 0000:bb:dd[.f] in lower case;
// - pcie=1, and machine: q35 when absent; an explicit non-q35 machine is switched only with
//   set_machine, else pt::Error; x-vga=1 only with role display, for a VGA-class device and
//   unless the VM uses OVMF (where Proxmox ignores it); role compute removes it; rombar/romfile
//   when given;
// - bios: ovmf with `ovmf`, with a note giving `qm set VMID --efidisk0 STORAGE:1,efitype=4m`
//   when the VM has no efidisk0; the CPU type with `cpu`; cpu hidden=1 with hide_hypervisor,
//   which also switches a CPU type that names itself QEMU/KVM to the guest (kvm64, the default,
//   qemu64, x86-64-v*) to host, and refuses such a type given with `cpu`;
// - a VM is judged with its [PENDING] values applied (Proxmox applies them at start);
// - a running VM (running_pid) gets the changes in [PENDING] (deletions as `delete:`), as
//   qm set does, with a note that they apply at the next full stop and start; a stopped VM gets
//   them in the main section, and stale [PENDING] values of the same keys are dropped;
// - plan.locks holds vm_lock_path(vmid), taken by edit::apply while writing.
// A VM of another node is planned only for `qm` (the command, which Proxmox forwards to that
// node): pt cannot see whether it runs there (its pid file is that node's) nor take its lock.
// Throws pt::UsageError for a bad selector, romfile, CPU type or flag combination; pt::Error for a
// locked VM (lock:, as qm set's check_lock), a template without `force`, a VM that is missing or
// on two nodes, a VM on another node without `qm`, a device missing on this host (for
// a VM of this node), a missing romfile or mapping, no free hostpci index, and an i440fx machine
// without set_machine.
VmconfPlan
plan_vmconf(const host::Root& root, const pci::Topology& topology, const VmconfRequest& request);

// The `qm set` command line equivalent to `plan` (with shell quoting where needed), or nullopt
// when nothing changes.
std::optional<std::string> qm_command(const VmconfPlan& plan);

} // namespace pt::proxmox
