// SPDX-License-Identifier: MIT
#pragma once

// pt verify --ct (defined in container.cpp).

#include "pt/check/report.hpp"

#include <optional>
#include <string>

namespace pt::model {
class Host;
}

namespace pt::check {

struct ContainerRequest {
    int ctid = 0;
    std::optional<std::string> selector; // SEL: only this card (default: every card it uses)
};

// The checks of a container that shares a card through the host's driver (pt lxc), in order:
//   ct.config            the container's config passes some card's own node (devN: or the raw
//                        lxc.mount.entry lines); with SEL, that card's
//   ct.host-driver       per card: a host driver (not vfio-pci) has it now and after the next
//                        boot, and no VM of this node passes it (a VM takes it when it starts)
//   ct.device-nodes      per card: the nodes it needs exist on the host (nvidia-uvm loaded)
//   ct.config-nodes      per GPU line of the config: the node exists on the host as a character
//                        device with the card's major:minor; in raw style a cgroup2 allow line
//                        covers it; the card's required nodes are all passed; a /dev/dri node of
//                        an unprivileged container has gid=
//   ct.nvidia-userspace  NVIDIA: the container's libnvidia-ml.so.VERSION (read through
//                        /var/lib/lxc/CTID/rootfs while it runs) is the host module's version
//                        (/proc/driver/nvidia/version); skip when the container does not run
// Throws pt::Error when the container does not exist or lives on another node, UsageError for
// a malformed SEL and pt::Error when SEL names no display device.
Report verify_container(const model::Host& model, const ContainerRequest& request);

} // namespace pt::check
