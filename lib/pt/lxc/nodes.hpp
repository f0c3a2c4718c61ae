// SPDX-License-Identifier: MIT
#pragma once

#include "pt/pci/address.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::pci {
struct Device;
struct Topology;
} // namespace pt::pci

namespace pt::proxmox {
class VmConfig;
}

namespace pt::lxc {

// One device node a container needs to use a card through the host's driver.
struct Node {
    std::string path;         // "/dev/nvidia0", "/dev/dri/renderD128"
    std::optional<int> major; // from sysfs or /proc/devices; nullopt when unknown
    std::optional<int> minor;
    std::string group;     // the container group that should own it: "render", "video", ""
    bool card_own = false; // belongs to this card alone (not nvidiactl, nvidia-uvm, kfd)
    bool present = false;  // exists under the root's /dev
};

// The nodes of `card` (function 0 of a display device), in the order they are written:
// - NVIDIA (10de): /dev/nvidiaN, N the "Device Minor" of /proc/driver/nvidia/gpus/ADDR/information
//   (the minor the driver gave this card, not a guess); /dev/nvidiactl; /dev/nvidia-uvm and
//   /dev/nvidia-uvm-tools (their major is dynamic: "nvidia-uvm" in /proc/devices);
//   /dev/nvidia-modeset and /dev/nvidia-caps/* where present;
// - others: the card's own /dev/dri/renderDN and /dev/dri/cardN (its drm folder in sysfs, with
//   major:minor from each node's `dev`), and /dev/kfd (ROCm) for AMD where present.
// `problem` is set when the card's own node cannot be found (no host driver has the card).
struct CardNodes {
    std::vector<Node> nodes;
    std::optional<std::string> problem;
};

CardNodes card_nodes(const host::Root& root, const pci::Device& card);

// The card SEL names: the display function of the slot of what it matches. Throws pt::Error
// when it names no display device, UsageError when malformed or naming several cards.
const pci::Device& find_card(const pci::Topology& topology, const std::string& selector);

// One line of a container's config that passes a device node in: `devN: PATH[,gid=N][,...]`
// (pve-container's dev option, "path=" optional) or a raw `lxc.mount.entry: /dev/X dev/X ...`.
struct ConfiguredNode {
    std::string key;                // "dev0" or "lxc.mount.entry"
    std::string path;               // "/dev/nvidia0"
    std::optional<std::string> gid; // devN's gid=
    int line = 0;                   // 1-based
};

// Every such line of the main section, in file order.
std::vector<ConfiguredNode> configured_nodes(const proxmox::VmConfig& config);

// One option of a container's main section as pve-container reads it: the VM-style `key:
// value` lines, and the raw LXC keys, written `lxc.KEY: value` or `lxc.KEY = value`
// (src/PVE/LXC/Config.pm parse_pct_config), which the VM config grammar does not have.
struct CtOption {
    std::string key;
    std::string value;
    int line = 0; // 1-based
};

std::vector<CtOption> ct_options(const proxmox::VmConfig& config);

} // namespace pt::lxc
