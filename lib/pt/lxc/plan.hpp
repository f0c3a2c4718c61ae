// SPDX-License-Identifier: MIT
#pragma once

#include "pt/edit/plan.hpp"
#include "pt/lxc/nodes.hpp"
#include "pt/out/json.hpp"
#include "pt/pci/address.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pt::model {
class Host;
}

namespace pt::lxc {

// pt lxc CTID SEL: a container shares a card that the host's own driver runs, through the
// card's device nodes in the container's config. An LXC container cannot own a PCI device (there
// is no guest kernel for vfio-pci to hand it to); it can use the nodes of the host's driver.

struct Request {
    int ctid = 0;
    std::string selector; // SEL: one card (any pci::parse_selector form)
    bool remove = false;  // --remove: take the card's nodes out again
    std::string title;    // the command line, journalled
    // The container's config as an earlier plan of the same run leaves it (a profile sharing two
    // cards into one container): planned on that text; nullopt: the file.
    std::optional<std::string> planned_config;
};

// How the nodes are written: `devN: PATH[,gid=N]` (pve-container 5.0.7, Proxmox VE 8.1 and
// later, src/PVE/LXC/Config.pm), or before 8.1 the raw pair `lxc.cgroup2.devices.allow: c
// MAJOR:MINOR rwm` + `lxc.mount.entry: /dev/X dev/X none bind,optional,create=file`.
enum class Style { dev, raw };

struct Planned {
    edit::Plan plan; // one edit of the container's config (none when nothing changes), its lock
    int ctid = 0;
    std::string config; // host path of the container's config
    pci::Address card;  // function 0 of the card
    Style style = Style::dev;
    std::vector<Node> nodes;       // the nodes written (or, with --remove, taken out)
    std::vector<std::string> gids; // per node: "104" or "" (same order as nodes)
};

// Plans the edit. Refuses (pt::Error, with the cause and the command that fixes it): a container
// that does not exist or lives on another node; a SEL that names no display device (UsageError
// when malformed or naming several cards); a card that is on vfio-pci now or will be after the
// next boot, or that no driver takes at the next boot (blacklisted); a card a VM of this node
// passes (hostpci or mapping); a card whose nodes the host's driver has not created (with
// nvidia-modprobe or modprobe as the fix); nodes whose major:minor is unknown in raw style.
// A privileged container is planned with a note. Existing lines for the same nodes are kept;
// new devN entries take the lowest free indices (0 to 255). gid= is the container's render or
// video group when its /etc/group is readable through /var/lib/lxc/CTID/rootfs (a running
// container), else left out with a note.
// With `remove`: the card's own nodes are taken out, and the shared ones (nvidiactl,
// nvidia-uvm, kfd) when no other card's nodes of that kind stay.
Planned plan_lxc(const model::Host& host, const Request& request);

// The members pt lxc adds to the plan's JSON (pt-lxc(1)): "ctid", "card", "style" ("dev" or
// "raw"), "nodes": [{"path", "major", "minor", "gid"}] (null where unknown or none).
void add_to_json(out::Json& json, const Planned& planned);

} // namespace pt::lxc
