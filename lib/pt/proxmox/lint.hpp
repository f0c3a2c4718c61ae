// SPDX-License-Identifier: MIT
#pragma once

#include "pt/out/finding.hpp"
#include "pt/pci/address.hpp"
#include "pt/proxmox/mapping.hpp"
#include "pt/proxmox/platform.hpp"
#include "pt/proxmox/vm_config.hpp"
#include "pt/proxmox/vm_files.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::pci {
struct Topology;
}

namespace pt::proxmox {

// pt vmconf --check: what is wrong with a VM's passthrough configuration, each finding with the
// cause and the exact fix (ground truth §1, §2, §12). Finding ids, all prefixed "vm.":
//   fail (exit 3 in pt vmconf --check):
//     vm.pcie-without-q35       pcie=1 on a machine that is not q35 (qemu-server dies)
//     vm.romfile-absolute       romfile=/... (qemu-server always prefixes /usr/share/kvm/)
//     vm.romfile-missing        romfile=NAME with no /usr/share/kvm/NAME (local VMs only)
//     vm.hostpci-invalid        a value qemu-server rejects (and drops); driver= before
//                               qemu-server 9.0.25
//     vm.hostpci-index          hostpci16 and above (only hostpci0..15 exist)
//     vm.uppercase-hex          A-F in a host ID (qemu-server's pattern is lower case only)
//     vm.duplicate-slot         the same function twice ("assigned more than once")
//     vm.hostpci-missing-device no such device on this host (local VMs only)
//     vm.hostpci-not-isolated   the group holds other endpoints, or there is no IOMMU group
//     vm.mapping-unknown        mapping=ID with no such mapping in /etc/pve/mapping/pci.cfg
//     vm.mapping-no-node-entry  the mapping has no entry for the VM's node
//     vm.mapping-exhausted      more entries of a mapping than it has devices on the node
//     vm.legacy-igd             a rule of legacy-igd=1 broken (PCI.pm parse_hostpci_devices)
//     vm.mdev-multifunction     mdev= on an entry of several functions
//   warn:
//     vm.args-cpu               args: with -cpu replaces Proxmox's whole generated -cpu
//     vm.xvga-with-ovmf         x-vga=1 with bios: ovmf (not passed to vfio-pci; still kvm=off)
//     vm.hostpci-not-vfio       group endpoints on a host driver (Proxmox rebinds them at start)
//     vm.device-in-two-vms      another VM of the node passes the same device
//     vm.split-slot             a GPU's functions (display, its audio/USB) in separate entries
//     vm.machine-version-old    a pinned machine version older than 6.0, PVE 9's baseline
//     vm.phys-bits-40           64-bit BARs larger than OVMF's window with a qemu64/kvm64-based
//                               CPU type without pdpe1gb (OVMF limits itself to 40 bits)
//     vm.locked                 lock: set (check_lock refuses starts and changes)
//   pass: vm.ok (no problem found); vm.args-cpu for a macOS guest (its -cpu is needed).
//   skip: vm.template (a template never starts; nothing else is judged).
// A VM with [PENDING] changes is judged with them applied (as vm_start applies them); a running
// one also as it runs, each finding labelled with the state it is about.
// Evidence is "PATH:LINE: key: value"; fix is the exact line to write or command to run.

// What a VM is checked against.
struct LintContext {
    // This node's hardware; nullptr (or a VM of another node) skips the hardware checks.
    const pci::Topology* topology = nullptr;
    // The mapping file; nullopt when it does not exist.
    std::optional<MappingFile> mappings;
    // The files under /usr/share/kvm, as paths relative to it ("gpu.rom", "sub/x.rom";
    // kvm_rom_files); local VMs' romfile= are looked up there.
    std::vector<std::string> kvm_files;
    // Every VM of the cluster with its parsed config, for vm.device-in-two-vms.
    std::vector<std::pair<VmFile, VmConfig>> others;
    // The root's Proxmox VE (read_platform): whether qemu-server knows hostpci driver=.
    // nullopt when unknown (driver= is then taken as valid).
    std::optional<Platform> platform;
    // This node's devices: the bytes of their 64-bit memory BARs (sysfs `resource`), for
    // vm.phys-bits-40. A device that is not listed is not judged.
    std::map<pci::Address, std::uint64_t> bar64_bytes;
    // The paths of this node's VMs that run (running_pid): a running VM with [PENDING] changes
    // is judged as it runs and as it starts next; any other VM as it starts next.
    std::set<std::string> running_vms;
};

// Fills context.platform and, for every function of context.topology that a hostpci entry of
// context.others names, context.bar64_bytes, through `root`: what lint_vms and pt verify read
// besides the configs. Call it once context.others is filled.
void read_host_facts(LintContext& context, const host::Root& root);

// The bytes of a device's 64-bit memory BARs from the text of its sysfs `resource` file (one
// "start end flags" line per resource, BARs 0 to 5 first; IORESOURCE_MEM_64 in flags).
std::uint64_t bar64_bytes(std::string_view resource);

// The qemu-server version that introduced hostpci driver= (debian/changelog 9.0.25: "pci: add
// 'driver' option").
inline constexpr std::string_view k_qemu_server_driver_option = "9.0.25";

// The regular files under /usr/share/kvm and its subfolders (four levels at most), as paths
// relative to it, sorted: what romfile= may name.
std::vector<std::string> kvm_rom_files(const host::Root& root);

// True when `name` is a romfile= value that stays under /usr/share/kvm: relative, not empty,
// and without a ".." component.
bool romfile_stays_in_kvm_dir(std::string_view name);

// The CPU type of a `cpu:` value (nullopt: no cpu: line, kvm64) when it is one of the built-in
// models that report themselves to the guest as QEMU's (kvm64, qemu64, x86-64-v*;
// CPUConfig.pm: "default models will always report themselves to the guest OS"); nullopt for
// host and named CPU models.
std::optional<std::string> qemu64_based_type(const std::optional<std::string>& cpu);

// Lints one config: a template is only named (vm.template); a config with [PENDING] changes is
// judged with them applied, and, for a VM of context.running_vms, also as it runs. Pure:
// everything comes from `config` and `context`.
std::vector<check::Finding>
lint_config(const VmFile& vm, const VmConfig& config, const LintContext& context);

struct VmLint {
    VmFile vm;
    std::vector<check::Finding> findings;
};

// Reads every VM config (find_vms), the topology, /etc/pve/mapping/pci.cfg and /usr/share/kvm
// through `root`, and lints `vmid` (pt::Error when it does not exist or exists twice, as
// find_vm) or, with nullopt, every VM.
std::vector<VmLint> lint_vms(const host::Root& root, std::optional<int> vmid);

// lint_vms(root, vmid).front().findings.
std::vector<check::Finding> lint_vm(const host::Root& root, int vmid);

// True when a finding of `findings` has status fail.
bool any_failed(const std::vector<check::Finding>& findings);

} // namespace pt::proxmox
