// SPDX-License-Identifier: MIT
// pt verify --ct: ct.config, ct.host-driver, ct.device-nodes, ct.config-nodes,
// ct.nvidia-userspace.
#include "pt/check/container.hpp"

#include "pt/check/host_context.hpp"
#include "pt/driver/next_boot.hpp"
#include "pt/error.hpp"
#include "pt/lxc/nodes.hpp"
#include "pt/model/host.hpp"
#include "pt/proxmox/ct_root.hpp"
#include "pt/proxmox/platform.hpp"
#include "pt/proxmox/vm_config.hpp"
#include "pt/proxmox/vm_files.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace pt::check {
namespace {

bool gpu_node_path(std::string_view path) {
    return path.starts_with("/dev/nvidia") || path.starts_with("/dev/dri/") || path == "/dev/kfd";
}

// A node one of the host's cards needs, and the card whose own node it is (null for the shared
// ones: nvidiactl, nvidia-uvm, kfd).
struct KnownNode {
    lxc::Node node;
    const pci::Device* card = nullptr;
};

// What verify knows of the container and of the nodes of every card the host's drivers run.
struct Scope {
    int ctid = 0;
    std::string config_path;
    bool unprivileged = false;
    std::optional<std::string> rootfs;      // the config's rootfs: value
    std::vector<lxc::ConfiguredNode> lines; // the GPU nodes the config passes
    std::vector<std::string> allows;        // lxc.cgroup2.devices.allow values
    bool cgroup_v1_allows = false;          // lxc.cgroup.devices.allow lines (ignored)
    std::map<std::string, KnownNode> known; // by path
    std::vector<const pci::Device*> cards;  // the cards checked, by address
    int free_dev = 0;                       // the lowest devN index the config leaves free
    bool dev_lines = true;                  // devN: exists (pve-manager 8.1 and later, or unknown)
};

// "dev0: /dev/dri/renderD128,gid=993", as the config says it (other options left out).
std::string line_text(const lxc::ConfiguredNode& line) {
    return fmt::format("{}: {}{}", line.key, line.path, line.gid ? ",gid=" + *line.gid : "");
}

// The nodes the container's users need of a card: its own compute node and, for NVIDIA, the
// control and unified-memory nodes (nvidia-smi opens nvidiactl, CUDA nvidia-uvm).
bool required(const lxc::Node& node) {
    return node.path == "/dev/nvidiactl" || node.path == "/dev/nvidia-uvm"
           || (node.card_own && !node.path.starts_with("/dev/dri/card"));
}

Scope read_scope(const model::Host& host, const ContainerRequest& request) {
    const auto& root = host.root();
    const auto ct = proxmox::find_ct(root, request.ctid);
    if (!ct.local) {
        throw Error(fmt::format("container {} lives on node {}: its devices are that node's; run "
                                "pt verify --ct {} on node {}",
                                request.ctid,
                                ct.node,
                                request.ctid,
                                ct.node));
    }
    Scope scope;
    scope.ctid = request.ctid;
    scope.config_path = ct.path;
    const auto config = proxmox::VmConfig::parse(root.read_file(ct.path));
    scope.unprivileged = config.get("unprivileged") == std::optional<std::string>("1");
    scope.rootfs = config.get("rootfs");
    for (auto& line : lxc::configured_nodes(config)) {
        if (gpu_node_path(line.path)) {
            scope.lines.push_back(std::move(line));
        }
    }
    // As pt lxc decides its style: devN: lines came with pve-container 5.0.7 (Proxmox VE 8.1).
    const auto platform = proxmox::read_platform(root);
    scope.dev_lines =
        !(platform && platform->pve_manager && !platform->at_least("pve-manager", "8.1"));
    while (config.get(fmt::format("dev{}", scope.free_dev))) {
        ++scope.free_dev;
    }
    for (const auto& option : lxc::ct_options(config)) {
        if (option.key == "lxc.cgroup2.devices.allow") {
            scope.allows.push_back(option.value);
        } else if (option.key == "lxc.cgroup.devices.allow") {
            scope.cgroup_v1_allows = true;
        }
    }
    for (const auto& dev : host.topology().devices) {
        if (!dev.is_display()) {
            continue;
        }
        for (auto& node : lxc::card_nodes(root, dev).nodes) {
            const pci::Device* owner = node.card_own ? &dev : nullptr;
            std::string path = node.path;
            scope.known.try_emplace(std::move(path), KnownNode{std::move(node), owner});
        }
    }
    if (request.selector) {
        scope.cards.push_back(&lxc::find_card(host.topology(), *request.selector));
        return scope;
    }
    std::set<const pci::Device*> used;
    for (const auto& line : scope.lines) {
        const auto it = scope.known.find(line.path);
        if (it != scope.known.end() && it->second.card != nullptr) {
            used.insert(it->second.card);
        }
    }
    scope.cards.assign(used.begin(), used.end());
    std::sort(scope.cards.begin(), scope.cards.end(), [](const auto* a, const auto* b) {
        return a->address < b->address;
    });
    return scope;
}

std::string what_ct(const Scope& scope, std::string_view what) {
    return fmt::format("container {} {}", scope.ctid, what);
}

// The first card with a host driver: what `pt lxc` could share.
std::string suggested_card(const model::Host& host) {
    for (const auto& dev : host.topology().devices) {
        if (dev.is_display() && dev.driver && *dev.driver != "vfio-pci") {
            return pci::format_slot(dev.address);
        }
    }
    return "SEL";
}

void check_config(const model::Host& host,
                  const Scope& scope,
                  const ContainerRequest& request,
                  std::vector<Check>& out) {
    std::vector<std::string> evidence;
    for (const auto& line : scope.lines) {
        evidence.push_back(line_text(line));
    }
    const std::string shown = fmt::format(
        "{}: {}",
        scope.config_path,
        evidence.empty() ? "no GPU lines" : fmt::format("{}", fmt::join(evidence, "; ")));
    std::vector<const pci::Device*> passed;
    for (const auto* card : scope.cards) {
        const bool own = std::any_of(scope.lines.begin(), scope.lines.end(), [&](const auto& line) {
            const auto it = scope.known.find(line.path);
            return it != scope.known.end() && it->second.card == card;
        });
        if (own) {
            passed.push_back(card);
        }
    }
    if (!passed.empty() && passed.size() == scope.cards.size()) {
        std::vector<std::string> slots;
        for (const auto* card : passed) {
            slots.push_back(pci::format_slot(card->address));
        }
        out.push_back(make(what_ct(scope, "GPU lines"),
                           "ct.config",
                           Status::pass,
                           fmt::format("the config passes the nodes of {}", fmt::join(slots, ", ")),
                           shown));
        return;
    }
    const std::string card = request.selector && !scope.cards.empty()
                                 ? pci::format_slot(scope.cards.front()->address)
                                 : suggested_card(host);
    out.push_back(make(
        what_ct(scope, "GPU lines"),
        "ct.config",
        Status::fail,
        request.selector
            ? fmt::format("the config passes no node of {}", card)
            : "the config passes no card's own node (/dev/nvidiaN, /dev/dri/renderDN) of a card "
              "the host's driver runs: the container sees no GPU",
        shown,
        fmt::format("pt lxc {} {} --apply, then pct reboot {}", scope.ctid, card, scope.ctid)));
}

void check_host_driver(const model::Host& host,
                       const Scope& scope,
                       const pci::Device& card,
                       std::vector<Check>& out) {
    const std::string address = pci::format(card.address);
    const std::string slot = pci::format_slot(card.address);
    const std::string what = address + " host driver";
    const std::string evidence =
        fmt::format("/sys/bus/pci/devices/{}/driver: {}", address, card.driver.value_or("(none)"));
    if (!card.driver || *card.driver == "vfio-pci") {
        out.push_back(make(what,
                           "ct.host-driver",
                           Status::fail,
                           card.driver ? "vfio-pci holds the card for a VM: a container can use "
                                         "it only through the host's own driver"
                                       : "no driver has the card: a container uses it through the "
                                         "host's driver",
                           evidence,
                           card.driver ? fmt::format("pt unbind {} --apply", slot)
                           : card.vendor == 0x10de
                               ? std::string("modprobe nvidia (install the NVIDIA driver first)")
                               : std::string("modprobe amdgpu, i915 or xe")));
        return;
    }
    const auto vms = proxmox::vms_passing(host.root(), card.address);
    if (!vms.empty()) {
        std::vector<std::string> where;
        for (const auto& [vmid, key] : vms) {
            where.push_back(fmt::format("VM {} ({})", vmid, key));
        }
        out.push_back(
            make(what,
                 "ct.host-driver",
                 Status::fail,
                 fmt::format("{} passes the card: when it starts it takes the card "
                             "from the host and from container {}",
                             fmt::join(where, ", "),
                             scope.ctid),
                 evidence,
                 fmt::format("pt vmconf {} --remove {} --apply", vms.front().first, slot)));
        return;
    }
    const auto next = driver::predict_after(host, edit::Plan{}, {card.address});
    if (!next.empty() && next.front().driver != card.driver) {
        const bool to_vfio = next.front().driver == "vfio-pci";
        out.push_back(make(
            what,
            "ct.host-driver",
            Status::warn,
            fmt::format("bound to {} now, but after the next boot {} ({}): the container loses "
                        "the card",
                        *card.driver,
                        to_vfio               ? std::string("vfio-pci takes it")
                        : next.front().driver ? "it goes to " + *next.front().driver
                                              : std::string("no driver takes it"),
                        next.front().reason),
            evidence,
            to_vfio ? fmt::format("pt unbind {} --apply", slot)
                    : std::string("pt blacklist --remove --apply")));
        return;
    }
    out.push_back(make(what,
                       "ct.host-driver",
                       Status::pass,
                       fmt::format("bound to {}, now and after the next boot", *card.driver),
                       evidence));
}

void check_host_nodes(const host::Root& root, const pci::Device& card, std::vector<Check>& out) {
    const std::string what = pci::format(card.address) + " device nodes on the host";
    const auto found = lxc::card_nodes(root, card);
    if (found.problem) {
        out.push_back(
            make(what, "ct.device-nodes", Status::skip, *found.problem + " (see ct.host-driver)"));
        return;
    }
    std::vector<std::string> present;
    for (const auto& node : found.nodes) {
        if (node.path == "/dev/nvidia-uvm" && !node.major) {
            out.push_back(make(what,
                               "ct.device-nodes",
                               Status::fail,
                               "nvidia-uvm is not loaded: CUDA in the container fails "
                               "(\"no CUDA-capable device is detected\")",
                               root.map("/proc/devices").string() + ": no nvidia-uvm",
                               "nvidia-modprobe -u -c=0 (loads nvidia-uvm and creates its "
                               "nodes); to load it at every boot: echo nvidia-uvm >> "
                               "/etc/modules-load.d/nvidia.conf"));
            return;
        }
        if (!node.present && required(node)) {
            out.push_back(make(what,
                               "ct.device-nodes",
                               Status::fail,
                               fmt::format("{} does not exist on the host", node.path),
                               root.map(node.path).string() + ": missing",
                               node.path.starts_with("/dev/nvidia")
                                   ? "nvidia-modprobe -u -c=0 creates the NVIDIA nodes"
                                   : "udev creates it when the host's driver binds the card "
                                     "(udevadm trigger, or reboot)"));
            return;
        }
        if (node.present) {
            present.push_back(node.path);
        }
    }
    out.push_back(make(what,
                       "ct.device-nodes",
                       Status::pass,
                       fmt::format("{} present", fmt::join(present, " ")),
                       fmt::format("{}", fmt::join(present, " "))));
}

// Does one lxc.cgroup2.devices.allow value ("c 195:* rwm", "a") let the container read and
// write the character device major:minor?
bool allows(std::string_view value, unsigned major, unsigned minor) {
    const auto first = value.find(' ');
    const auto type = value.substr(0, first);
    if (type == "a") {
        return true;
    }
    if (type != "c" || first == std::string_view::npos) {
        return false;
    }
    auto rest = value.substr(first + 1);
    const auto space = rest.find(' ');
    const auto numbers = rest.substr(0, space);
    const auto access =
        space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    const auto colon = numbers.find(':');
    if (colon == std::string_view::npos || access.find('r') == std::string_view::npos
        || access.find('w') == std::string_view::npos) {
        return false;
    }
    const auto matches = [](std::string_view field, unsigned number) {
        return field == "*" || field == std::to_string(number);
    };
    return matches(numbers.substr(0, colon), major) && matches(numbers.substr(colon + 1), minor);
}

// One GPU line of the config: the node it names exists on the host as the card's device.
void check_line(const host::Root& root,
                const Scope& scope,
                const lxc::ConfiguredNode& line,
                std::vector<Check>& out) {
    const std::string what = what_ct(scope, fmt::format("{} {}", line.key, line.path));
    const bool raw = line.key == "lxc.mount.entry";
    const auto known = scope.known.find(line.path);
    const std::optional<lxc::Node> expected =
        known == scope.known.end() ? std::nullopt : std::optional<lxc::Node>(known->second.node);
    const auto info = root.node(line.path);
    const std::string where = fmt::format("{}:{}", scope.config_path, line.line);
    if (!info) {
        out.push_back(make(what,
                           "ct.config-nodes",
                           raw ? Status::warn : Status::fail,
                           raw ? fmt::format("{} does not exist on the host: the bind mount is "
                                             "skipped (optional), the container has no {}",
                                             line.path,
                                             line.path)
                               : fmt::format("{} does not exist on the host: the container does "
                                             "not start (pve-container: \"Device {} does not "
                                             "exist\")",
                                             line.path,
                                             line.path),
                           fmt::format("{}; {}: missing", where, root.map(line.path).string()),
                           raw ? fmt::format("delete line {} of {}", line.line, scope.config_path)
                               : fmt::format("pct set {} --delete {}", scope.ctid, line.key)));
        return;
    }
    std::optional<std::pair<unsigned, unsigned>> numbers;
    std::string seen;
    if (info->kind == host::NodeInfo::Kind::character) {
        numbers = std::pair{info->major, info->minor};
        seen = fmt::format("character device {}:{}", info->major, info->minor);
    } else if (info->kind == host::NodeInfo::Kind::regular && !root.is_live()) {
        // A snapshot or fixture root holds plain files where the host has device nodes.
        if (expected && expected->major && expected->minor) {
            numbers = std::pair{static_cast<unsigned>(*expected->major),
                                static_cast<unsigned>(*expected->minor)};
        }
        seen = "a plain file standing in for the node (not a live root: its major:minor is "
               "the driver's)";
    } else {
        out.push_back(
            make(what,
                 "ct.config-nodes",
                 Status::fail,
                 fmt::format("{} is not a character device: {}",
                             line.path,
                             raw ? "the container gets no usable node"
                                 : "the container does not start (pve-container: "
                                   "\"is not a device\")"),
                 fmt::format("{}; {}: {}",
                             where,
                             root.map(line.path).string(),
                             info->kind == host::NodeInfo::Kind::directory ? "a directory"
                                                                           : "not a device"),
                 fmt::format("remove {} and let the driver create it again (reboot, or "
                             "nvidia-modprobe -u -c=0 for NVIDIA)",
                             line.path)));
        return;
    }
    const std::string evidence = fmt::format("{}; {}: {}", where, line.path, seen);
    if (expected && expected->major && expected->minor && numbers
        && (numbers->first != static_cast<unsigned>(*expected->major)
            || numbers->second != static_cast<unsigned>(*expected->minor))) {
        out.push_back(
            make(what,
                 "ct.config-nodes",
                 Status::fail,
                 fmt::format("{} is {}:{}, but the driver's node is {}:{}",
                             line.path,
                             numbers->first,
                             numbers->second,
                             *expected->major,
                             *expected->minor),
                 evidence,
                 fmt::format("remove {} and let the driver create it again (reboot)", line.path)));
        return;
    }
    if (raw && numbers
        && std::none_of(scope.allows.begin(), scope.allows.end(), [&](const std::string& allow) {
               return allows(allow, numbers->first, numbers->second);
           })) {
        out.push_back(
            make(what,
                 "ct.config-nodes",
                 Status::fail,
                 fmt::format("no lxc.cgroup2.devices.allow line allows c {}:{}: in the "
                             "container, opening {} fails (Operation not permitted){}",
                             numbers->first,
                             numbers->second,
                             line.path,
                             scope.cgroup_v1_allows
                                 ? "; the lxc.cgroup.devices.allow lines are cgroup v1, "
                                   "which Proxmox VE 7 and later ignore"
                                 : ""),
                 evidence
                     + (scope.allows.empty()
                            ? "; no lxc.cgroup2.devices.allow lines"
                            : fmt::format("; allowed: {}", fmt::join(scope.allows, "; "))),
                 scope.dev_lines
                     ? fmt::format("replace the pair by a devN line, which allows the node's "
                                   "own numbers at every start: pct set {} --dev{} {}, then "
                                   "delete line {} of {}",
                                   scope.ctid,
                                   scope.free_dev,
                                   line.path,
                                   line.line,
                                   scope.config_path)
                     : fmt::format("add the line \"lxc.cgroup2.devices.allow: c {}:{} rwm\" to "
                                   "{} (Proxmox VE before 8.1 has no devN lines)",
                                   numbers->first,
                                   numbers->second,
                                   scope.config_path)));
        return;
    }
    if (!raw && scope.unprivileged && line.path.starts_with("/dev/dri/") && !line.gid) {
        out.push_back(
            make(what,
                 "ct.config-nodes",
                 Status::warn,
                 fmt::format("{} has no gid=: in the unprivileged container the node "
                             "belongs to root (uid 0, gid 0), so only root can open it",
                             line.path),
                 evidence,
                 fmt::format("pct set {} --{} {},gid=GID with GID from getent group {} "
                             "in the container",
                             scope.ctid,
                             line.key,
                             line.path,
                             line.path.starts_with("/dev/dri/render") ? "render" : "video")));
        return;
    }
    out.push_back(make(what,
                       "ct.config-nodes",
                       Status::pass,
                       fmt::format("{} present ({})", line.path, seen),
                       evidence));
}

// The nodes a card's users need that the config does not pass.
void check_missing_lines(const Scope& scope, const pci::Device& card, std::vector<Check>& out) {
    std::vector<std::string> missing;
    // (No structured binding: clang 14, which builds the fuzz targets, cannot capture one in
    // the lambda below.)
    for (const auto& entry : scope.known) {
        const std::string& path = entry.first;
        const auto& known = entry.second;
        const bool belongs = known.card == &card
                             || (known.card == nullptr
                                 && (card.vendor == 0x10de) == path.starts_with("/dev/nvidia"));
        const bool passed = std::any_of(scope.lines.begin(),
                                        scope.lines.end(),
                                        [&](const auto& line) { return line.path == path; });
        if (belongs && required(known.node) && !passed) {
            missing.push_back(path);
        }
    }
    if (missing.empty()) {
        return;
    }
    out.push_back(make(what_ct(scope, "lines for " + pci::format_slot(card.address)),
                       "ct.config-nodes",
                       Status::fail,
                       fmt::format("the config does not pass {}: {}",
                                   fmt::join(missing, ", "),
                                   card.vendor == 0x10de ? "nvidia-smi needs nvidiactl and CUDA "
                                                           "nvidia-uvm"
                                                         : "compute needs the render node"),
                       scope.config_path,
                       fmt::format("pt lxc {} {} --apply, then pct reboot {}",
                                   scope.ctid,
                                   pci::format_slot(card.address),
                                   scope.ctid)));
}

// "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.127.05  Tue Oct ..." (or "... Open Kernel
// Module for x86_64  560.35.03  Release Build ...") -> "550.127.05".
std::optional<std::string> module_version(const std::string& text) {
    std::string_view line = std::string_view(text).substr(0, text.find('\n'));
    while (!line.empty()) {
        const auto start = line.find_first_not_of(' ');
        if (start == std::string_view::npos) {
            break;
        }
        line.remove_prefix(start);
        const auto end = line.find(' ');
        const auto token = line.substr(0, end);
        if (token.find('.') != std::string_view::npos
            && token.find_first_not_of("0123456789.") == std::string_view::npos
            && std::isdigit(static_cast<unsigned char>(token.front()))) {
            return std::string(token);
        }
        line = end == std::string_view::npos ? std::string_view() : line.substr(end);
    }
    return std::nullopt;
}

// The versions of libnvidia-ml.so in the container's library folders: what libnvidia-ml.so.1
// links to where it exists (what the loader opens), else every versioned file.
std::set<std::string> container_nvml_versions(const host::Root& root, const std::string& rootfs) {
    constexpr std::string_view prefix = "libnvidia-ml.so.";
    std::set<std::string> versions;
    for (const char* dir : {"/usr/lib/x86_64-linux-gnu",
                            "/usr/lib/aarch64-linux-gnu",
                            "/usr/lib64",
                            "/usr/lib",
                            "/usr/local/lib"}) {
        const std::string folder = rootfs + dir;
        const auto linked = root.link_name(folder + "/libnvidia-ml.so.1");
        if (linked && linked->starts_with(prefix) && linked->size() > prefix.size()) {
            versions.insert(linked->substr(prefix.size()));
            continue;
        }
        for (const auto& name : root.list(folder)) {
            if (name.starts_with(prefix) && name.find('.', prefix.size()) != std::string::npos) {
                versions.insert(name.substr(prefix.size()));
            }
        }
    }
    return versions;
}

void check_userspace(const host::Root& root, const Scope& scope, std::vector<Check>& out) {
    const std::string what = what_ct(scope, "NVIDIA userspace");
    const auto text = root.read_attr("/proc/driver/nvidia/version");
    const auto host_version = text ? module_version(*text) : std::nullopt;
    if (!host_version) {
        out.push_back(
            make(what,
                 "ct.nvidia-userspace",
                 Status::skip,
                 "the host's NVIDIA module is not loaded (no /proc/driver/nvidia/version)"));
        return;
    }
    const std::string install =
        fmt::format("in the container, install NVIDIA's userspace {} without its kernel module: "
                    "sh NVIDIA-Linux-x86_64-{}.run --no-kernel-module",
                    *host_version,
                    *host_version);
    const auto where = proxmox::container_root(root, scope.ctid, scope.rootfs);
    if (!where) {
        out.push_back(make(what,
                           "ct.nvidia-userspace",
                           Status::skip,
                           fmt::format("container {} does not run, and its root file system is "
                                       "no subvolume the host has mounted: start it (pct start "
                                       "{}) and run again, or in the container run nvidia-smi "
                                       "(the host module is {})",
                                       scope.ctid,
                                       scope.ctid,
                                       *host_version)));
        return;
    }
    const auto versions = container_nvml_versions(root, where->path);
    const std::string evidence = fmt::format(
        "/proc/driver/nvidia/version: {}; {} ({}): libnvidia-ml.so.{}",
        *host_version,
        where->path,
        where->how,
        versions.empty() ? std::string("(none)") : fmt::format("{}", fmt::join(versions, ", ")));
    if (versions.empty()) {
        out.push_back(make(what,
                           "ct.nvidia-userspace",
                           Status::warn,
                           "no NVIDIA userspace in the container (no libnvidia-ml.so): "
                           "nvidia-smi and CUDA need it",
                           evidence,
                           install));
    } else if (versions.count(*host_version) != 0 && versions.size() > 1) {
        out.push_back(make(what,
                           "ct.nvidia-userspace",
                           Status::warn,
                           fmt::format("the container has libnvidia-ml {} as well as the host's "
                                       "{}: the folder the loader searches first decides",
                                       fmt::join(versions, ", "),
                                       *host_version),
                           evidence,
                           "in the container, remove the other versions (ldconfig -p | grep "
                           "libnvidia-ml shows them)"));
    } else if (versions.count(*host_version) == 0) {
        out.push_back(make(what,
                           "ct.nvidia-userspace",
                           Status::fail,
                           fmt::format("the container's libnvidia-ml is {}, the host's module {}: "
                                       "nvidia-smi says \"Failed to initialize NVML: "
                                       "Driver/library version mismatch\"",
                                       fmt::join(versions, ", "),
                                       *host_version),
                           evidence,
                           install));
    } else {
        out.push_back(make(what,
                           "ct.nvidia-userspace",
                           Status::pass,
                           fmt::format("libnvidia-ml {} matches the host's module", *host_version),
                           evidence));
    }
}

} // namespace

Report verify_container(const model::Host& model, const ContainerRequest& request) {
    const host::Root& root = model.root();
    const Scope scope = read_scope(model, request);
    Report report;
    // The platform line only: the host's own checks are pt verify's without --ct.
    report.on_host = true;
    report.platform = proxmox::read_platform(root);
    auto& out = report.checks;
    check_config(model, scope, request, out);
    for (const auto* card : scope.cards) {
        check_host_driver(model, scope, *card, out);
        check_host_nodes(root, *card, out);
    }
    for (const auto& line : scope.lines) {
        check_line(root, scope, line, out);
    }
    for (const auto* card : scope.cards) {
        check_missing_lines(scope, *card, out);
    }
    const bool nvidia =
        std::any_of(scope.cards.begin(),
                    scope.cards.end(),
                    [](const auto* card) { return card->vendor == 0x10de; })
        || std::any_of(scope.lines.begin(), scope.lines.end(), [](const auto& line) {
               return line.path.starts_with("/dev/nvidia");
           });
    if (nvidia) {
        check_userspace(root, scope, out);
    }
    return report;
}

} // namespace pt::check
