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

} // namespace pt::lxc
