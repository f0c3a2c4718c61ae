// SPDX-License-Identifier: MIT
#pragma once

#include "pt/pci/address.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::proxmox {

// Where Proxmox VE keeps VM configs, read through a Root (ground truth §1.1): the real files are
// /etc/pve/nodes/<node>/qemu-server/<vmid>.conf; /etc/pve/qemu-server is pmxcfs's link to the
// local node's folder.

// The local node's name, as pmxcfs names it (the short host name): the first label of
// /proc/sys/kernel/hostname, else of /etc/hostname, else the target of the /etc/pve/local link.
// nullopt when none of them exists.
std::optional<std::string> local_node(const host::Root& root);

struct VmFile {
    int vmid = 0;
    std::string node;   // "pve1"; the local node's name for /etc/pve/qemu-server when unknown
    std::string path;   // host path: "/etc/pve/nodes/pve1/qemu-server/100.conf"
    bool local = false; // on this node (its devices are this host's devices)
};

// Every VM config: each /etc/pve/nodes/*/qemu-server/<digits>.conf, plus the files of
// /etc/pve/qemu-server when that is a real folder rather than the link to a node's folder (a
// copied tree). Sorted by vmid, then node. Names that are not <digits>.conf are ignored.
std::vector<VmFile> find_vms(const host::Root& root);

// The one file of `vmid`. Throws pt::Error when no node has it, or when two nodes have it
// (naming both paths).
VmFile find_vm(const host::Root& root, int vmid);

// The same for containers: /etc/pve/nodes/*/lxc/<ctid>.conf and a real /etc/pve/lxc folder
// (pve-container src/PVE/LXC/Config.pm cfs_config_path). `vmid` holds the CTID.
std::vector<VmFile> find_cts(const host::Root& root);

// The one file of container `ctid`; throws pt::Error as find_vm does.
VmFile find_ct(const host::Root& root, int ctid);

// The VMs of this node whose config passes the slot of `card` (a hostpci entry with its address,
// or with mapping=ID whose entry for this node has it), each as "VMID hostpciN"; the main
// section with [PENDING] values applied. Unreadable configs are skipped.
std::vector<std::pair<int, std::string>> vms_passing(const host::Root& root,
                                                     const pci::Address& card);

// Lock file pve-container takes around every config change (PVE/LXC/Config.pm
// config_file_lock): "/run/lock/lxc/pve-config-<ctid>.lock".
std::string ct_lock_path(int ctid);

// Lock file qemu-server takes around every config change (QemuConfig.pm config_file_lock).
std::string vm_lock_path(int vmid);

// "/var/run/qemu-server/<vmid>.pid".
std::string vm_pid_path(int vmid);

// The pid of the VM's QEMU when it runs: its pid file names a process that exists under the
// root (/proc/<pid>). nullopt when the VM is stopped (no pid file, or a stale one).
std::optional<long> running_pid(const host::Root& root, int vmid);

// The files under /usr/share/kvm (romfile= names are relative to it).
inline constexpr std::string_view k_kvm_dir = "/usr/share/kvm";

} // namespace pt::proxmox
