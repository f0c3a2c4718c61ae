// SPDX-License-Identifier: MIT
#include "pt/proxmox/vm_files.hpp"

#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/proxmox/mapping.hpp"
#include "pt/proxmox/vm_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace pt::proxmox {
namespace {

std::optional<int> vmid_of(std::string_view name) {
    if (!name.ends_with(".conf")) {
        return std::nullopt;
    }
    name.remove_suffix(5);
    if (name.empty() || name.size() > 9 || name[0] == '0'
        || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    int n = 0;
    for (const char c : name) {
        n = n * 10 + (c - '0');
    }
    return n;
}

std::optional<std::string> first_label(const std::optional<std::string>& text) {
    if (!text) {
        return std::nullopt;
    }
    std::string name = text->substr(0, text->find('\n'));
    name = name.substr(0, name.find('.'));
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back())) != 0) {
        name.pop_back();
    }
    if (name.empty()) {
        return std::nullopt;
    }
    return name;
}

} // namespace

std::optional<std::string> local_node(const host::Root& root) {
    if (auto name = first_label(root.read_attr("/proc/sys/kernel/hostname"))) {
        return name;
    }
    if (auto name = first_label(root.read_attr("/etc/hostname"))) {
        return name;
    }
    return root.link_name("/etc/pve/local");
}

namespace {

// The guest configs of one kind: "qemu-server" (VMs) or "lxc" (containers); see find_vms.
std::vector<VmFile> find_guests(const host::Root& root, const std::string& kind) {
    std::vector<VmFile> out;
    const auto local = local_node(root);
    const std::string local_dir = "/etc/pve/" + kind;
    for (const auto& node : root.list("/etc/pve/nodes")) {
        const auto dir = "/etc/pve/nodes/" + node + "/" + kind;
        for (const auto& name : root.list(dir)) {
            if (const auto vmid = vmid_of(name)) {
                out.push_back(VmFile{*vmid, node, host::join(dir, name), local && *local == node});
            }
        }
    }
    // /etc/pve/qemu-server (lxc): pmxcfs's link to nodes/<local>/qemu-server, already listed; a
    // real folder in a copied tree holds the local node's guests.
    if (!root.link_name(local_dir)) {
        for (const auto& name : root.list(local_dir)) {
            if (const auto vmid = vmid_of(name)) {
                out.push_back(
                    VmFile{*vmid, local.value_or("localhost"), host::join(local_dir, name), true});
            }
        }
    }
    // By vmid, then node (as documented), then path: a node's nodes/ file and its copy in a real
    // qemu-server folder end up side by side, so the nodes/ one (the smaller path) is kept below.
    std::sort(out.begin(), out.end(), [](const VmFile& a, const VmFile& b) {
        if (a.vmid != b.vmid) {
            return a.vmid < b.vmid;
        }
        return a.node != b.node ? a.node < b.node : a.path < b.path;
    });
    // The same file seen twice (a node folder and a real qemu-server folder for the same node
    // name cannot both exist on pmxcfs; keep the nodes/ one).
    out.erase(std::unique(out.begin(),
                          out.end(),
                          [](const VmFile& a, const VmFile& b) {
                              return a.vmid == b.vmid && a.node == b.node;
                          }),
              out.end());
    return out;
}

} // namespace

std::vector<VmFile> find_vms(const host::Root& root) {
    return find_guests(root, "qemu-server");
}

std::vector<VmFile> find_cts(const host::Root& root) {
    return find_guests(root, "lxc");
}

VmFile find_ct(const host::Root& root, int ctid) {
    std::vector<VmFile> hits;
    for (auto& ct : find_cts(root)) {
        if (ct.vmid == ctid) {
            hits.push_back(std::move(ct));
        }
    }
    if (hits.empty()) {
        throw Error(fmt::format("container {} does not exist: no node has lxc/{}.conf (looked in "
                                "{} and {}); `pct list` lists the containers of this node",
                                ctid,
                                ctid,
                                root.map("/etc/pve/nodes").string() + "/*/lxc",
                                root.map("/etc/pve/lxc").string()));
    }
    if (hits.size() > 1) {
        std::string paths;
        for (const auto& ct : hits) {
            paths += fmt::format("\n  {}", root.map(ct.path).string());
        }
        throw Error(fmt::format("container {} is configured on {} nodes, which pmxcfs should "
                                "never allow; remove the stale copy first:{}",
                                ctid,
                                hits.size(),
                                paths));
    }
    return hits.front();
}

std::vector<std::pair<int, std::string>> vms_passing(const host::Root& root,
                                                     const pci::Address& card) {
    std::vector<std::pair<int, std::string>> out;
    const auto mapping_text = root.read_file_if_exists(k_mapping_file);
    const auto mappings = parse_mapping_file(mapping_text.value_or(""));
    const auto local = local_node(root);
    const auto covers = [&](const std::vector<HostId>& ids) {
        return std::any_of(
            ids.begin(), ids.end(), [&](const HostId& id) { return id.address.same_slot(card); });
    };
    for (const auto& vm : find_vms(root)) {
        if (!vm.local) {
            continue;
        }
        const auto text = root.read_file_if_exists(vm.path);
        if (!text) {
            continue;
        }
        for (const auto& option : VmConfig::parse(*text).effective_options()) {
            if (!hostpci_index(option.key)) {
                continue;
            }
            const auto hostpci = parse_hostpci(option.value);
            bool hit = covers(hostpci.hosts);
            if (!hit && hostpci.mapping) {
                if (const auto* mapping = mappings.find(*hostpci.mapping)) {
                    hit = std::any_of(
                        mapping->maps.begin(), mapping->maps.end(), [&](const MapEntry& m) {
                            return local && m.node == *local && covers(m.paths);
                        });
                }
            }
            if (hit) {
                out.emplace_back(vm.vmid, option.key);
            }
        }
    }
    return out;
}

std::string ct_lock_path(int ctid) {
    return fmt::format("/run/lock/lxc/pve-config-{}.lock", ctid);
}

VmFile find_vm(const host::Root& root, int vmid) {
    std::vector<VmFile> hits;
    for (auto& vm : find_vms(root)) {
        if (vm.vmid == vmid) {
            hits.push_back(std::move(vm));
        }
    }
    if (hits.empty()) {
        throw Error(fmt::format("VM {} does not exist: no node has {} (looked in {} and {}); "
                                "`qm list` lists the VMs of this node",
                                vmid,
                                fmt::format("qemu-server/{}.conf", vmid),
                                root.map("/etc/pve/nodes").string() + "/*/qemu-server",
                                root.map("/etc/pve/qemu-server").string()));
    }
    if (hits.size() > 1) {
        std::string paths;
        for (const auto& vm : hits) {
            paths += fmt::format("\n  {}", root.map(vm.path).string());
        }
        throw Error(fmt::format("VM {} is configured on {} nodes, which pmxcfs should never "
                                "allow; remove the stale copy first:{}",
                                vmid,
                                hits.size(),
                                paths));
    }
    return hits.front();
}

std::string vm_lock_path(int vmid) {
    return fmt::format("/var/lock/qemu-server/lock-{}.conf", vmid);
}

std::string vm_pid_path(int vmid) {
    return fmt::format("/var/run/qemu-server/{}.pid", vmid);
}

std::optional<long> running_pid(const host::Root& root, int vmid) {
    const auto text = root.read_attr(vm_pid_path(vmid));
    if (!text) {
        return std::nullopt;
    }
    const auto first = text->substr(0, text->find_first_of(" \n"));
    if (first.empty() || first.size() > 9
        || !std::all_of(first.begin(), first.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    const long pid = std::stol(first);
    // qemu-server's check_running also compares /proc/PID/cmdline; a live /proc entry is what a
    // root copy can show.
    if (pid <= 0 || !root.exists(fmt::format("/proc/{}", pid))) {
        return std::nullopt;
    }
    return pid;
}

} // namespace pt::proxmox
