// SPDX-License-Identifier: MIT
#include "pt/lxc/plan.hpp"

#include "pt/driver/next_boot.hpp"
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/selector.hpp"
#include "pt/pci/topology.hpp"
#include "pt/proxmox/ct_root.hpp"
#include "pt/proxmox/platform.hpp"
#include "pt/proxmox/vm_config.hpp"
#include "pt/proxmox/vm_files.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>

namespace pt::lxc {
namespace {

// pve-container's $MAX_DEVICES (src/PVE/LXC/Config.pm): dev0 to dev255.
constexpr int k_max_devices = 256;

// A container shares the card through the host's driver, which must have it now and after the
// next boot; and no VM may take it away from the host.
void check_host_keeps_card(const model::Host& host, const pci::Device& card) {
    const std::string slot = pci::format_slot(card.address);
    // A VM first: it takes the card back to vfio-pci whenever it starts.
    const auto vms = proxmox::vms_passing(host.root(), card.address);
    if (!vms.empty()) {
        std::vector<std::string> where;
        for (const auto& [vmid, key] : vms) {
            where.push_back(fmt::format("VM {} ({})", vmid, key));
        }
        throw Error(fmt::format("{} is passed to {}: that VM takes it from the host (and from "
                                "every container) when it starts; take it out first: pt vmconf {} "
                                "--remove {} --apply",
                                slot,
                                fmt::join(where, ", "),
                                vms.front().first,
                                slot));
    }
    if (card.driver == "vfio-pci") {
        throw Error(fmt::format("{} is on vfio-pci, which keeps it away from the host's driver a "
                                "container needs; give it back to the host: pt unbind {} --apply",
                                pci::format(card.address),
                                slot));
    }
    const auto next = driver::predict_after(host, edit::Plan{}, {card.address});
    if (!next.empty() && next.front().driver == "vfio-pci") {
        throw Error(fmt::format("after the next boot {} goes to vfio-pci ({}), away from the "
                                "host's driver a container needs: pt unbind {} --apply",
                                pci::format(card.address),
                                next.front().reason,
                                slot));
    }
    if (!next.empty() && !next.front().driver) {
        throw Error(fmt::format("after the next boot no driver takes {} ({}); a container needs "
                                "the host's driver: pt blacklist --remove --apply",
                                pci::format(card.address),
                                next.front().reason));
    }
}

std::vector<Node> wanted_nodes(const host::Root& root, const pci::Device& card, bool remove) {
    auto found = card_nodes(root, card);
    if (found.problem) {
        const std::string fix = card.vendor == 0x10de
                                    ? "load the NVIDIA driver for it (modprobe nvidia), or take "
                                      "it from vfio-pci first"
                                    : "load its host driver (modprobe amdgpu, i915 or xe), or "
                                      "take it from vfio-pci first";
        throw Error(fmt::format("{}; {}{}",
                                *found.problem,
                                fix,
                                remove ? "; or delete its devN lines by hand: pct set CTID "
                                         "--delete devN"
                                       : ""));
    }
    std::vector<Node> nodes;
    for (auto& node : found.nodes) {
        const bool required =
            node.card_own || node.path == "/dev/nvidiactl" || node.path == "/dev/nvidia-uvm";
        if (!node.present && required && !remove) {
            throw Error(fmt::format(
                "{} does not exist on this host, and a container needs it; {}",
                root.map(node.path).string(),
                node.path.starts_with("/dev/nvidia-uvm")
                    ? "nvidia-modprobe -u -c=0 loads nvidia-uvm and creates it"
                    : "udev creates it when the host's driver binds the card (modprobe the "
                      "driver, or reboot)"));
        }
        if (node.present || remove) {
            nodes.push_back(std::move(node));
        }
    }
    return nodes;
}

// The container's group IDs by name, from its /etc/group (proxmox::container_root: mounted while
// it runs, or a subvolume); empty when unreadable.
std::map<std::string, std::string>
container_groups(const host::Root& root, int ctid, const std::optional<std::string>& rootfs) {
    std::map<std::string, std::string> groups;
    const auto where = proxmox::container_root(root, ctid, rootfs);
    const auto text = where ? root.read_file_if_exists(where->path + "/etc/group") : std::nullopt;
    if (!text) {
        return groups;
    }
    std::string_view rest = *text;
    while (!rest.empty()) {
        const auto end = rest.find('\n');
        const auto line = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        // name:password:gid:members
        const auto first = line.find(':');
        const auto second = first == std::string_view::npos ? first : line.find(':', first + 1);
        const auto third = second == std::string_view::npos ? second : line.find(':', second + 1);
        if (third != std::string_view::npos) {
            groups.emplace(std::string(line.substr(0, first)),
                           std::string(line.substr(second + 1, third - second - 1)));
        }
    }
    return groups;
}

Style style_of(const host::Root& root, std::vector<std::string>& notes) {
    const auto platform = proxmox::read_platform(root);
    if (platform && platform->pve_manager && !platform->at_least("pve-manager", "8.1")) {
        notes.push_back(fmt::format("Proxmox VE {} predates devN: (8.1): pt writes the "
                                    "lxc.cgroup2.devices.allow and lxc.mount.entry pair instead",
                                    *platform->pve_manager));
        return Style::raw;
    }
    return Style::dev;
}

std::string raw_allow(const Node& node) {
    return fmt::format("lxc.cgroup2.devices.allow: c {}:{} rwm", *node.major, *node.minor);
}

std::string raw_mount(const Node& node) {
    return fmt::format(
        "lxc.mount.entry: {} {} none bind,optional,create=file", node.path, node.path.substr(1));
}

// The lines of the main section (text, without the line ending) and where the section's last
// non-blank line ends.
struct MainSection {
    std::vector<std::pair<std::size_t, std::size_t>> lines; // offset, length with '\n'
    std::size_t end = 0;
};

MainSection main_section(const proxmox::VmConfig& config) {
    MainSection out;
    for (const auto& line : config.lines()) {
        if (line.section != 0) {
            break;
        }
        out.lines.emplace_back(line.offset, line.length);
        if (line.kind != proxmox::ConfigLine::Kind::blank) {
            out.end = line.offset + line.length;
        }
    }
    return out;
}

std::string line_text(const std::string& text, std::pair<std::size_t, std::size_t> line) {
    auto view = std::string_view(text).substr(line.first, line.second);
    while (!view.empty() && (view.back() == '\n' || view.back() == '\r')) {
        view.remove_suffix(1);
    }
    return std::string(view);
}

// Raw style: appends the missing lines at the end of the main section, or removes them.
std::string edit_raw(const std::string& text, const std::vector<Node>& nodes, bool remove) {
    const auto config = proxmox::VmConfig::parse(text);
    const auto main = main_section(config);
    std::set<std::string> present;
    for (const auto& line : main.lines) {
        present.insert(line_text(text, line));
    }
    std::vector<std::string> wanted;
    for (const auto& node : nodes) {
        wanted.push_back(raw_allow(node));
        wanted.push_back(raw_mount(node));
    }
    if (remove) {
        std::string out;
        std::size_t at = 0;
        for (const auto& line : main.lines) {
            if (std::find(wanted.begin(), wanted.end(), line_text(text, line)) != wanted.end()) {
                out += text.substr(at, line.first - at);
                at = line.first + line.second;
            }
        }
        return out + text.substr(at);
    }
    std::string added;
    for (const auto& line : wanted) {
        if (present.insert(line).second) {
            added += line + "\n";
        }
    }
    if (added.empty()) {
        return text;
    }
    std::string head = text.substr(0, main.end);
    if (!head.empty() && head.back() != '\n') {
        head += '\n';
    }
    return head + added + text.substr(main.end);
}

// Which of `nodes` --remove takes out: the card's own, and the shared ones only when no other
// card's own node of the same kind stays in `config`.
std::vector<Node> removable(const std::vector<Node>& nodes,
                            const std::vector<std::string>& configured) {
    const auto own_kind = [](const std::string& path) {
        if (path.starts_with("/dev/nvidia") && path.find_first_of("0123456789") == 11) {
            return std::string("nvidia");
        }
        if (path.starts_with("/dev/dri/renderD")) {
            return std::string("dri");
        }
        return std::string();
    };
    std::set<std::string> own_paths;
    std::string kind;
    for (const auto& node : nodes) {
        if (node.card_own) {
            own_paths.insert(node.path);
            if (kind.empty()) {
                kind = own_kind(node.path);
            }
        }
    }
    const bool others =
        std::any_of(configured.begin(), configured.end(), [&](const std::string& path) {
            return own_paths.count(path) == 0 && !kind.empty() && own_kind(path) == kind;
        });
    std::vector<Node> out;
    for (const auto& node : nodes) {
        if (node.card_own || !others) {
            out.push_back(node);
        }
    }
    return out;
}

} // namespace

Planned plan_lxc(const model::Host& host, const Request& request) {
    const auto& root = host.root();
    const auto ct = proxmox::find_ct(root, request.ctid);
    if (!ct.local) {
        throw Error(fmt::format("container {} lives on node {}, and the card is in this host: run "
                                "pt lxc on node {} with a card of that node",
                                request.ctid,
                                ct.node,
                                ct.node));
    }
    const pci::Device& card = find_card(host.topology(), request.selector);
    if (!request.remove) {
        check_host_keeps_card(host, card);
    }
    Planned out;
    out.ctid = request.ctid;
    out.config = ct.path;
    out.card = card.address;
    out.card.function = 0;
    auto& notes = out.plan.notes;
    out.style = style_of(root, notes);
    auto nodes = wanted_nodes(root, card, request.remove);

    const std::string before =
        request.planned_config ? *request.planned_config : root.read_file(ct.path);
    auto config = proxmox::VmConfig::parse(before);
    // devN entries already there, by path.
    std::map<std::string, std::string> dev_keys;
    std::set<std::string> mounted; // raw lxc.mount.entry lines
    std::vector<std::string> configured;
    for (const auto& line : configured_nodes(config)) {
        if (line.key != "lxc.mount.entry") {
            dev_keys[line.path] = line.key;
        } else {
            mounted.insert(line.path);
        }
        configured.push_back(line.path);
    }
    if (request.remove) {
        nodes = removable(nodes, configured);
    }
    if (out.style == Style::raw) {
        for (const auto& node : nodes) {
            if (!node.major || !node.minor) {
                throw Error(fmt::format("the major:minor of {} is unknown (/proc/devices has no "
                                        "entry for its driver), which the lxc.cgroup2 line needs; "
                                        "load the driver first (nvidia-modprobe -u -c=0 for "
                                        "nvidia-uvm)",
                                        node.path));
            }
        }
    }

    const auto groups = container_groups(root, request.ctid, config.get("rootfs"));
    std::string after = before;
    if (out.style == Style::raw) {
        after = edit_raw(before, nodes, request.remove);
        out.gids.assign(nodes.size(), "");
    } else {
        int next_index = 0;
        for (const auto& node : nodes) {
            const auto it = groups.find(node.group);
            const std::string gid = node.group.empty() || it == groups.end() ? "" : it->second;
            out.gids.push_back(gid);
            if (request.remove) {
                if (const auto key = dev_keys.find(node.path); key != dev_keys.end()) {
                    config.remove(key->second);
                }
                continue;
            }
            if (dev_keys.count(node.path) != 0) {
                continue; // already there: its options (gid, mode) are the user's
            }
            if (mounted.count(node.path) != 0) {
                // Passed by the raw pair: a devN line beside it would mount the node twice.
                notes.push_back(fmt::format("{} is already passed by a raw lxc.mount.entry line, "
                                            "which pt keeps; pt verify --ct {} checks that an "
                                            "lxc.cgroup2.devices.allow line still covers it",
                                            node.path,
                                            request.ctid));
                continue;
            }
            while (next_index < k_max_devices && config.get(fmt::format("dev{}", next_index))) {
                ++next_index;
            }
            if (next_index == k_max_devices) {
                throw Error(fmt::format("container {} already has dev0 to dev{}, the most "
                                        "pve-container allows",
                                        request.ctid,
                                        k_max_devices - 1));
            }
            config.set(fmt::format("dev{}", next_index),
                       gid.empty() ? node.path : fmt::format("{},gid={}", node.path, gid));
        }
        after = config.text();
        const bool needs_gid = std::any_of(
            nodes.begin(), nodes.end(), [&](const Node& n) { return !n.group.empty(); });
        if (!request.remove && needs_gid && groups.empty()) {
            notes.push_back(fmt::format("pt cannot read container {}'s /etc/group (it does not "
                                        "run, and its root file system is no subvolume the host "
                                        "has mounted), so pt adds no gid=: its users need the "
                                        "render group; add ,gid=GID to the /dev/dri lines "
                                        "(getent group render in the container)",
                                        request.ctid));
        }
    }
    const auto main_options = proxmox::VmConfig::parse(before).get("unprivileged");
    if (!request.remove && main_options != std::optional<std::string>("1")) {
        notes.push_back(fmt::format("container {} is privileged (no unprivileged: 1): its root is "
                                    "the host's root, so the card's nodes are as good as the "
                                    "host's; prefer an unprivileged container",
                                    request.ctid));
    }
    if (after != before) {
        edit::FileEdit file;
        file.path = ct.path;
        file.before = before;
        file.after = after;
        file.reason = request.remove ? fmt::format("container {}: take out the nodes of {}",
                                                   request.ctid,
                                                   pci::format_slot(out.card))
                                     : fmt::format("container {}: the device nodes of {}",
                                                   request.ctid,
                                                   pci::format_slot(out.card));
        out.plan.files.push_back(std::move(file));
        out.plan.locks.push_back(proxmox::ct_lock_path(request.ctid));
        notes.push_back(fmt::format(
            "the container sees the change at its next start: pct "
            "reboot {}{}",
            request.ctid,
            request.remove ? std::string()
                           : fmt::format("; then check it: pt verify --ct {}", request.ctid)));
        if (card.vendor == 0x10de && !request.remove) {
            notes.push_back("in the container, install the NVIDIA userspace of the host "
                            "module's exact version (/proc/driver/nvidia/version on the host) "
                            "without its kernel module, or nvidia-smi says \"Driver/library "
                            "version mismatch\"");
        }
    }
    out.nodes = std::move(nodes);
    out.plan.title = request.title;
    return out;
}

void add_to_json(out::Json& json, const Planned& planned) {
    json["ctid"] = planned.ctid;
    json["card"] = pci::format_slot(planned.card);
    json["style"] = planned.style == Style::dev ? "dev" : "raw";
    out::Json nodes = out::Json::array();
    for (std::size_t i = 0; i < planned.nodes.size(); ++i) {
        const auto& node = planned.nodes[i];
        const auto& gid = i < planned.gids.size() ? planned.gids[i] : std::string();
        nodes.push_back(
            out::Json{{"path", node.path},
                      {"major", node.major ? out::Json(*node.major) : out::Json(nullptr)},
                      {"minor", node.minor ? out::Json(*node.minor) : out::Json(nullptr)},
                      {"gid", gid.empty() ? out::Json(nullptr) : out::Json(gid)}});
    }
    json["nodes"] = std::move(nodes);
}

} // namespace pt::lxc
