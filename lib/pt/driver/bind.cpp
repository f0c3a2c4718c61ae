// SPDX-License-Identifier: MIT
#include "pt/driver/bind.hpp"

#include "pt/conf/modprobe.hpp"
#include "pt/conf/modules_file.hpp"
#include "pt/driver/blacklist.hpp"
#include "pt/driver/next_boot.hpp"
#include "pt/driver/safety.hpp"
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/iommu/isolation.hpp"
#include "pt/iommu/listing.hpp"
#include "pt/kernel/host_facts.hpp"
#include "pt/kernel/param_values.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/class_code.hpp"
#include "pt/pci/device.hpp"
#include "pt/pci/topology.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace pt::driver {

const std::vector<std::string> k_vfio_modules = {"vfio", "vfio_iommu_type1", "vfio_pci"};

namespace {

constexpr std::string_view k_vfio_pci = "vfio-pci";

template <typename T>
bool contains(const std::vector<T>& list, const T& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

template <typename T>
void sort_unique(std::vector<T>& list) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
}

std::string join_addresses(const std::vector<pci::Address>& list, std::string_view sep = " ") {
    std::string out;
    for (const auto& a : list) {
        if (!out.empty()) {
            out += sep;
        }
        out += pci::format(a);
    }
    return out;
}

std::string join_strings(const std::vector<std::string>& list, std::string_view sep) {
    std::string out;
    for (const auto& s : list) {
        if (!out.empty()) {
            out += sep;
        }
        out += s;
    }
    return out;
}

std::string_view kind_of(std::uint32_t class_code) {
    if (pci::is_display(class_code)) {
        return "display controller";
    }
    if (pci::is_storage(class_code)) {
        return "storage controller";
    }
    if (pci::is_network(class_code)) {
        return "network controller";
    }
    if (pci::is_usb(class_code)) {
        return "USB controller";
    }
    if (pci::class_and_subclass(class_code) == 0x0403) {
        return "audio device";
    }
    return "device";
}

// "0000:01:00.0 (storage controller [144d:a80a], nvme)"
std::string describe(const pci::Device& dev) {
    return fmt::format("{} ({} [{}], {})",
                       pci::format(dev.address),
                       kind_of(dev.class_code),
                       id_of(dev),
                       dev.driver ? *dev.driver : std::string("no driver"));
}

bool is_vfio_driver(const std::optional<std::string>& driver) {
    return driver && *driver == k_vfio_pci;
}

// What plan_bind and plan_unbind read beyond the host model: pt's own files, once.
struct BindState {
    const pci::Topology& topology; // the model's
    Persisted persisted;
    std::optional<std::string> conf_text;
    std::optional<std::string> hook_text;
    std::vector<pci::Address> bound; // what pt's files bind now
};

std::optional<std::string> read_optional_file(const host::Root& root, std::string_view path) {
    if (!root.exists(path)) {
        return std::nullopt;
    }
    return root.read_file(path);
}

BindState read_state(const model::Host& model) {
    const host::Root& root = model.root();
    BindState host{model.topology(), {}, {}, {}, {}};
    host.conf_text = read_optional_file(root, k_vfio_conf);
    host.hook_text = read_optional_file(root, k_hook);
    if (host.conf_text) {
        host.persisted = parse_vfio_conf(*host.conf_text, k_vfio_conf);
    }
    if (host.hook_text) {
        const auto addresses = parse_hook(*host.hook_text);
        if (!addresses) {
            throw Error(fmt::format("{} was not written by pt bind (no `for dev in ...` line as pt "
                                    "writes it): pt owns this file name; move the script elsewhere "
                                    "or remove it",
                                    k_hook));
        }
        host.persisted.addresses = *addresses;
    }
    host.bound = persisted_devices(host.topology, host.persisted);
    return host;
}

std::vector<const pci::Device*> matched_devices(const pci::Topology& topology,
                                                const pci::Selector& selector) {
    std::vector<const pci::Device*> out;
    for (const auto& dev : topology.devices) {
        if (selector.matches(dev)) {
            out.push_back(&dev);
        }
    }
    if (out.empty()) {
        const std::string displays = iommu::describe_display_devices(topology);
        throw Error(fmt::format("no PCI device matches {}{}{}",
                                selector.text,
                                displays.empty() ? "" : "; the display devices are:\n",
                                displays));
    }
    return out;
}

// The selected devices and every function of their slots, bridges left out.
std::vector<pci::Address> expand_slots(const pci::Topology& topology,
                                       const std::vector<const pci::Device*>& matched) {
    std::vector<pci::Address> out;
    for (const auto* m : matched) {
        if (m->is_bridge()) {
            continue;
        }
        for (const auto& dev : topology.devices) {
            if (!dev.is_bridge() && dev.address.same_slot(m->address)) {
                out.push_back(dev.address);
            }
        }
    }
    sort_unique(out);
    return out;
}

// The endpoints that share an IOMMU group with `set` but are not in it: Proxmox binds every
// non-bridge member of the group to vfio-pci when the VM starts
// (PVE::SysFSTools::pci_dev_group_bind_to_vfio), and VFIO can only claim a whole group.
std::map<int, std::vector<pci::Address>> foreign_endpoints(const pci::Topology& topology,
                                                           const std::vector<pci::Address>& set) {
    std::set<int> groups;
    for (const auto& a : set) {
        if (const auto group = topology.find(a)->iommu_group) {
            groups.insert(*group);
        }
    }
    std::map<int, std::vector<pci::Address>> out;
    for (const auto& dev : topology.devices) {
        if (dev.iommu_group && groups.count(*dev.iommu_group) != 0 && !dev.is_bridge()
            && !contains(set, dev.address)) {
            out[*dev.iommu_group].push_back(dev.address);
        }
    }
    return out;
}

bool path_hits(const std::vector<pci::Address>& path, const std::vector<pci::Address>& set) {
    return std::any_of(
        path.begin(), path.end(), [&](const pci::Address& a) { return contains(set, a); });
}

// Why the host needs devices of `set`, one sentence each, naming the device, the evidence and
// what overrides it; `notes` gets what could not be checked.
std::vector<std::string> host_needs(const host::Root& root,
                                    const BindState& host,
                                    const std::vector<pci::Address>& set,
                                    std::vector<std::string>& notes) {
    std::vector<std::string> reasons;
    const auto dev_of = [&](const pci::Address& a) {
        return describe(*host.topology.find(a));
    };

    const MountScan mounts = scan_mounts(root, host.topology);
    notes.insert(notes.end(), mounts.notes.begin(), mounts.notes.end());
    std::set<std::pair<pci::Address, std::string>> said;
    bool assumed = false;
    for (const auto& hold : mounts.holds) {
        if (!path_hits(hold.path, set)) {
            continue;
        }
        pci::Address hit = hold.controller;
        for (const auto& a : hold.path) {
            if (contains(set, a)) {
                hit = a;
            }
        }
        if (!said.insert({hit, hold.mount_point}).second) {
            continue;
        }
        const std::string what = hold.mount_point == "/"        ? "the root file system"
                                 : hold.mount_point == "[swap]" ? "swap"
                                                                : "the file system mounted at";
        const std::string where =
            hold.mount_point == "/" || hold.mount_point == "[swap]" ? "" : " " + hold.mount_point;
        if (hold.assumed) {
            assumed = true;
            reasons.push_back(fmt::format(
                "{} may hold {}{} ({} {} in {}): the pool's disks cannot be traced through sysfs, "
                "and disk {} is under this controller",
                dev_of(hit),
                what,
                where,
                hold.fstype,
                hold.source,
                mounts.file,
                hold.via.empty() ? std::string("?") : hold.via.back()));
        } else {
            reasons.push_back(fmt::format("{} holds {}{} ({} on {}, block device {}; from {})",
                                          dev_of(hit),
                                          what,
                                          where,
                                          hold.fstype,
                                          hold.source,
                                          join_strings(hold.via, " -> "),
                                          mounts.file));
        }
    }
    if (assumed) {
        notes.emplace_back("ZFS and btrfs pools are not traced to their disks: pt treats every "
                           "storage controller with a disk as possibly holding them");
    }

    const RouteScan routes = scan_default_route(root);
    notes.insert(notes.end(), routes.notes.begin(), routes.notes.end());
    std::set<pci::Address> said_nic;
    for (const auto& nic : routes.nics) {
        if (!path_hits(nic.path, set) || !said_nic.insert(nic.device).second) {
            continue;
        }
        reasons.push_back(fmt::format("{} carries the {} default route (interface {}; from "
                                      "/proc/net/{})",
                                      dev_of(nic.device),
                                      nic.family,
                                      join_strings(nic.via, " -> "),
                                      nic.family == "IPv4" ? "route" : "ipv6_route"));
    }

    const DisplayCheck displays = check_displays(host.topology, set, host.bound);
    if (displays.only_display()) {
        std::string others;
        if (!displays.given_away.empty()) {
            others = fmt::format(" ({} already belongs to vfio-pci)",
                                 join_addresses(displays.given_away, ", "));
        }
        for (const auto& a : displays.leaving) {
            reasons.push_back(fmt::format("{} is the host's only display device{}: the console "
                                          "and any local screen would go dark",
                                          dev_of(a),
                                          others));
        }
    }
    return reasons;
}

// Refuses when a running (or starting) VM has reserved one of `set`.
void check_reservations(const host::Root& root,
                        const std::vector<pci::Address>& set,
                        std::int64_t time,
                        std::string_view verb,
                        std::vector<std::string>& notes) {
    std::vector<std::string> busy;
    for (const auto& r : read_reservations(root, time)) {
        for (const auto& a : set) {
            if (!r.covers(a)) {
                continue;
            }
            if (r.active) {
                busy.push_back(fmt::format("{} ({})", pci::format(a), r.why));
            } else {
                notes.push_back(fmt::format(
                    "/run/qemu-server/pci-id-reservations names {}: {}", pci::format(a), r.why));
            }
        }
    }
    if (!busy.empty()) {
        throw Error(fmt::format("refusing to {} at runtime: a VM uses {} (from "
                                "/run/qemu-server/pci-id-reservations); stop the VM first",
                                verb,
                                join_strings(busy, ", ")));
    }
}

std::string modules_text(const host::Root& root, std::string_view path) {
    return read_optional_file(root, path).value_or(std::string());
}

// Adds the edit of one module list file.
void plan_modules(const host::Root& root,
                  edit::Plan& plan,
                  std::string_view path,
                  const std::vector<std::string>& add,
                  const std::vector<std::string>& remove,
                  const std::string& reason) {
    const auto before = read_optional_file(root, path);
    const std::string after = conf::with_modules(before.value_or(std::string()), add, remove);
    if (!before && after.empty()) {
        return;
    }
    edit::FileEdit file;
    file.path = std::string(path);
    file.before = before;
    file.after = after;
    file.mode = 0644;
    file.reason = reason;
    edit::add_file(plan, std::move(file));
}

// pt's modules-load.d file: the header and one module per line.
constexpr std::string_view k_modules_load_header = "# Written by pt bind;";

std::string render_modules_load_conf(const std::vector<std::string>& modules) {
    std::string out = std::string(k_modules_load_header)
                      + " pt unbind removes it. See pt-bind(1).\n"
                        "# The VFIO modules, loaded by systemd-modules-load (modules-load.d(5)).\n";
    for (const auto& module : modules) {
        out += module + "\n";
    }
    return out;
}

// The VFIO modules at boot: line edits in /etc/initramfs-tools/modules, pt's own modules-load.d
// file (written whole: `modules`, or removed when empty), and the VFIO lines of /etc/modules
// taken out (they move to pt's file; see bind.hpp).
void plan_module_lists(const host::Root& root,
                       edit::Plan& plan,
                       const std::vector<std::string>& modules,
                       const std::vector<std::string>& remove,
                       const std::string& why) {
    plan_modules(root, plan, k_initramfs_modules, modules, remove, why + " (in the initramfs)");

    edit::FileEdit own;
    own.path = std::string(k_modules_load_conf);
    own.before = read_optional_file(root, k_modules_load_conf);
    if (own.before && !own.before->starts_with(k_modules_load_header)) {
        throw Error(fmt::format("{} was not written by pt bind (it does not start with \"{}\"): "
                                "pt owns this file name; rename your file (for example to "
                                "/etc/modules-load.d/vfio.conf) and run pt again",
                                k_modules_load_conf,
                                k_modules_load_header));
    }
    if (!modules.empty()) {
        own.after = render_modules_load_conf(modules);
    }
    own.mode = 0644;
    own.reason = modules.empty() ? why : why + " (systemd-modules-load)";
    edit::add_file(plan, std::move(own));

    std::vector<std::string> vfio_lines = k_vfio_modules;
    vfio_lines.emplace_back("vfio_virqfd");
    const auto etc_modules = conf::parse_modules(modules_text(root, k_modules));
    const bool listed = std::any_of(vfio_lines.begin(), vfio_lines.end(), [&](const auto& m) {
        return contains(etc_modules, m);
    });
    if (listed) {
        plan_modules(root,
                     plan,
                     k_modules,
                     {},
                     vfio_lines,
                     modules.empty() ? why
                                     : fmt::format("its VFIO lines move to {} (Debian 13's kmod "
                                                   "calls /etc/modules obsolete)",
                                                   k_modules_load_conf));
    }
}

// IDs that other modprobe.d files pass to vfio-pci: kmod hands every `options` line of a module
// to it, and the kernel keeps only the last ids= (vfio-pci's ids is a module_param_string), so
// two files that both set it silently drop one list.
std::vector<std::string> other_ids_files(const host::Root& root) {
    std::vector<std::string> out;
    for (const auto& file : conf::read_modprobe_d(root)) {
        if (file.path == k_vfio_conf) {
            continue;
        }
        for (const auto& command : file.commands) {
            if (command.verb == "options" && command.module == "vfio_pci"
                && (command.rest.starts_with("ids=")
                    || command.rest.find(" ids=") != std::string::npos)) {
                out.push_back(fmt::format("{} line {}", file.path, command.line));
            }
        }
    }
    return out;
}

// "02:00 01:00": the selectors as the user gave them.
std::string selected_text(const BindRequest& request) {
    std::vector<std::string> texts;
    for (const auto& selector : request.selectors) {
        texts.push_back(selector.text);
    }
    return join_strings(texts, " ");
}

// " --device 02:00 --device 01:00": pt iommu-groups' options for the same selection.
std::string device_options(const BindRequest& request) {
    std::string options;
    for (const auto& selector : request.selectors) {
        options += " --device " + selector.text;
    }
    return options;
}

// What the next boot does with each device of `set`, judged on the module configuration as kmod
// will compute it once the plan is written (pt's file with its planned text, every other
// modprobe.d file as it is, the configured command line last): a note per device. When another
// file's (or the command line's) vfio-pci ids= comes after pt's and leaves a device out, pt's
// line would lose (the kernel keeps the last ids=): refused without --force, naming that line.
void predict_next_boot(const model::Host& model,
                       const BindRequest& request,
                       const std::vector<pci::Address>& set,
                       edit::Plan& plan) {
    std::vector<std::string> lost;
    for (const auto& next : predict_after(model, plan, set)) {
        plan.notes.push_back(model::describe(next));
        if (next.driver != std::string(k_vfio_pci)) {
            lost.push_back(fmt::format(
                "{} ({})", pci::format(next.address), id_of(*model.topology().find(next.address))));
        }
    }
    if (lost.empty()) {
        return;
    }
    // Whose ids= wins: the same configuration predict_after judged by.
    std::map<std::string, std::string> planned;
    for (const auto& file : plan.files) {
        if (file.path == k_vfio_conf) {
            planned[file.path] = file.after.value_or("");
        }
    }
    const auto config = conf::read_module_config(
        model.root(), model.next_cmdline(), "the configured command line", planned);
    const auto ids = config.option("vfio_pci", "ids");
    if (lost.empty() || !ids) {
        return;
    }
    const std::string fix =
        ids->source.line == 0 ? fmt::format("pt grub --remove vfio-pci.ids={} --apply", ids->value)
                              : fmt::format("sed -i '{}d' {}", ids->source.line, ids->source.path);
    const std::string why = fmt::format(
        "{} sets vfio-pci ids={} after pt's {}, and the kernel keeps only the last ids=, so pt's "
        "line would lose and {} would not go to vfio-pci at the next boot",
        ids->source.describe(),
        ids->value,
        k_vfio_conf,
        join_strings(lost, ", "));
    if (!request.force) {
        throw Error(fmt::format("refusing to bind {}: {}. Remove that line ({}; pt's file then "
                                "lists every device pt binds) and run pt bind again, or add "
                                "--force to write pt's file anyway",
                                selected_text(request),
                                why,
                                fix));
    }
    plan.notes.push_back("--force: " + why);
}

// Plans pt's two files for the complete set `bound` and the softdep modules.
void plan_persistence(const BindState& host,
                      const std::vector<pci::Address>& bound,
                      std::vector<std::string> softdeps,
                      edit::Plan& plan) {
    const Persistence persist = decide_persistence(host.topology, bound, host.persisted);
    sort_unique(softdeps);
    const bool nothing = persist.ids.empty() && persist.addresses.empty();

    edit::FileEdit conf;
    conf.path = std::string(k_vfio_conf);
    conf.before = host.conf_text;
    if (!nothing) {
        conf.after = render_vfio_conf(persist.ids, softdeps, !persist.addresses.empty());
    }
    conf.mode = 0644;
    conf.reason = nothing ? "pt binds no device any more"
                          : "vfio-pci ids= and softdep lines for the devices pt binds";
    edit::add_file(plan, std::move(conf));

    edit::FileEdit hook;
    hook.path = std::string(k_hook);
    hook.before = host.hook_text;
    if (!persist.addresses.empty()) {
        hook.after = render_hook(persist.addresses);
    }
    hook.mode = 0755;
    hook.reason = persist.addresses.empty()
                      ? "no device is bound by address any more"
                      : "sets driver_override for devices bound by address, before udev loads "
                        "drivers";
    edit::add_file(plan, std::move(hook));
}

void finish(edit::Plan& plan) {
    if (!plan.files.empty()) {
        // mkinitramfs copies /etc/modprobe.d and the init-top scripts into the initramfs, and
        // reads /etc/initramfs-tools/modules; on Proxmox its post-update hook also refreshes the
        // ESPs that proxmox-boot-tool manages.
        edit::add_follow_up(plan, edit::FollowUp::update_initramfs);
        plan.reboot_needed = true;
    }
}

std::string flags_title(
    std::string_view verb, const std::string& selector, bool include_group, bool force, bool now) {
    std::string title = fmt::format("pt {} {}", verb, selector);
    if (include_group) {
        title += " --include-group";
    }
    if (force) {
        title += " --force";
    }
    if (now) {
        title += " --now";
    }
    return title;
}

std::string dev_path(const pci::Address& a, std::string_view attr) {
    return fmt::format("/sys/bus/pci/devices/{}/{}", pci::format(a), attr);
}

} // namespace

std::string id_of(const pci::Device& dev) {
    return fmt::format("{:04x}:{:04x}", dev.vendor, dev.device);
}

Persisted parse_vfio_conf(std::string_view text, std::string_view path) {
    Persisted out;
    for (const auto& command : conf::parse_modprobe(text)) {
        const auto foreign = [&] {
            return Error(fmt::format("{} line {}: `{} {} {}` is not a line pt writes; pt owns this "
                                     "file and rewrites it, so move that setting to another file "
                                     "under /etc/modprobe.d",
                                     path,
                                     command.line,
                                     command.verb,
                                     command.module,
                                     command.rest));
        };
        if (command.verb == "options" && command.module == "vfio_pci") {
            const std::string_view rest = command.rest;
            if (!rest.starts_with("ids=") || rest.find_first_of(" \t") != std::string_view::npos) {
                throw foreign();
            }
            std::string_view list = rest.substr(4);
            while (!list.empty()) {
                const auto comma = list.find(',');
                const auto id = list.substr(0, comma);
                if (!id.empty()) {
                    out.ids.emplace_back(id);
                }
                if (comma == std::string_view::npos) {
                    break;
                }
                list.remove_prefix(comma + 1);
            }
        } else if (command.verb == "softdep") {
            const std::string_view rest = command.rest;
            if (rest != "pre: vfio-pci" && rest != "pre: vfio_pci") {
                throw foreign();
            }
            out.softdeps.push_back(command.module);
        } else {
            throw foreign();
        }
    }
    for (auto& id : out.ids) {
        std::transform(id.begin(), id.end(), id.begin(), [](unsigned char c) {
            return static_cast<char>(std::tolower(c));
        });
    }
    sort_unique(out.ids);
    sort_unique(out.softdeps);
    return out;
}

std::string render_vfio_conf(const std::vector<std::string>& ids,
                             const std::vector<std::string>& softdeps,
                             bool hook) {
    auto sorted_ids = ids;
    sort_unique(sorted_ids);
    auto sorted_softdeps = softdeps;
    sort_unique(sorted_softdeps);
    std::string out = "# Written by pt bind; pt unbind removes what it no longer needs. See "
                      "pt-bind(1).\n"
                      "# Do not edit: pt rewrites this file. Put other settings in another file.\n";
    if (hook) {
        out += fmt::format("# Devices whose IDs a host device shares are bound by address in\n"
                           "# {}.\n",
                           k_hook);
    }
    if (!sorted_ids.empty()) {
        out += fmt::format("options vfio-pci ids={}\n", join_strings(sorted_ids, ","));
    }
    for (const auto& module : sorted_softdeps) {
        out += fmt::format("softdep {} pre: vfio-pci\n", module);
    }
    return out;
}

// initramfs-tools(7), BOOT SCRIPTS: a script is sourced with "prereqs" first and must print its
// prerequisites. init-top scripts run before the initramfs loads any module: udev is started by
// init-top/udev (ordered after this one, which has no prerequisites and sorts before it), and the
// modules of /etc/initramfs-tools/modules load after init-top. With driver_override set, only
// vfio-pci may bind the device (Documentation/ABI/testing/sysfs-bus-pci), whatever loads first.
std::string render_hook(const std::vector<pci::Address>& addresses) {
    auto sorted = addresses;
    sort_unique(sorted);
    std::string out = "#!/bin/sh\n"
                      "# Written by pt bind; pt unbind edits or removes it. See pt-bind(1).\n"
                      "# Hands these PCI devices to vfio-pci by address: their vendor:device IDs\n"
                      "# are shared with devices that stay with the host, so vfio-pci ids= would\n"
                      "# take those too. driver_override lets only vfio-pci bind a device.\n"
                      "PREREQ=\"\"\n"
                      "prereqs()\n"
                      "{\n"
                      "\techo \"$PREREQ\"\n"
                      "}\n"
                      "case \"$1\" in\n"
                      "prereqs)\n"
                      "\tprereqs\n"
                      "\texit 0\n"
                      "\t;;\n"
                      "esac\n"
                      "\n";
    out += fmt::format("for dev in {}; do\n", join_addresses(sorted));
    out += "\tif [ -e \"/sys/bus/pci/devices/$dev/driver_override\" ]; then\n"
           "\t\techo vfio-pci > \"/sys/bus/pci/devices/$dev/driver_override\"\n"
           "\tfi\n"
           "done\n";
    return out;
}

std::optional<std::vector<pci::Address>> parse_hook(std::string_view text) {
    constexpr std::string_view prefix = "for dev in ";
    constexpr std::string_view suffix = "; do";
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto nl = text.find('\n', pos);
        if (nl == std::string_view::npos) {
            nl = text.size();
        }
        const std::string_view line = text.substr(pos, nl - pos);
        pos = nl + 1;
        if (!line.starts_with(prefix) || !line.ends_with(suffix)) {
            continue;
        }
        std::string_view list =
            line.substr(prefix.size(), line.size() - prefix.size() - suffix.size());
        std::vector<pci::Address> out;
        while (!list.empty()) {
            const auto space = list.find(' ');
            const auto word = list.substr(0, space);
            if (!word.empty()) {
                const auto address = pci::parse_address(word);
                if (!address) {
                    return std::nullopt;
                }
                out.push_back(*address);
            }
            if (space == std::string_view::npos) {
                break;
            }
            list.remove_prefix(space + 1);
        }
        sort_unique(out);
        return out;
    }
    return std::nullopt;
}

std::vector<pci::Address> persisted_devices(const pci::Topology& topology,
                                            const Persisted& persisted) {
    std::vector<pci::Address> out = persisted.addresses;
    for (const auto& dev : topology.devices) {
        if (contains(persisted.ids, id_of(dev))) {
            out.push_back(dev.address);
        }
    }
    sort_unique(out);
    return out;
}

Persistence decide_persistence(const pci::Topology& topology,
                               const std::vector<pci::Address>& bound,
                               const Persisted& previous) {
    Persistence out;
    std::map<std::string, bool> id_whole; // every device with the ID is bound
    for (const auto& dev : topology.devices) {
        const auto id = id_of(dev);
        const bool in = contains(bound, dev.address);
        auto [it, fresh] = id_whole.try_emplace(id, in);
        if (!fresh) {
            it->second = it->second && in;
        }
    }
    for (const auto& a : bound) {
        const pci::Device* dev = topology.find(a);
        if (dev == nullptr) {
            out.addresses.push_back(a);
            continue;
        }
        const auto id = id_of(*dev);
        if (id_whole[id]) {
            out.ids.push_back(id);
        } else {
            out.addresses.push_back(a);
        }
    }
    // Entries for hardware this snapshot does not show stay as they were: pt cannot tell what
    // they bind, and dropping them would change the host behind the user's back.
    for (const auto& id : previous.ids) {
        if (id_whole.count(id) == 0) {
            out.ids.push_back(id);
        }
    }
    for (const auto& a : previous.addresses) {
        if (topology.find(a) == nullptr) {
            out.addresses.push_back(a);
        }
    }
    sort_unique(out.ids);
    sort_unique(out.addresses);
    return out;
}

std::vector<std::string> competing_modules(const host::Root& root, const pci::Device& dev) {
    std::vector<std::string> out;
    if (dev.driver && *dev.driver != k_vfio_pci && *dev.driver != "pci-stub"
        && *dev.driver != "pcieport" && !iommu::is_vfio_safe_endpoint_driver(*dev.driver)) {
        // A driver's module is the target of /sys/bus/pci/drivers/DRV/module (absent for built-in
        // drivers); the names differ (driver xhci_hcd lives in module xhci_pci).
        const auto module =
            root.link_name(fmt::format("/sys/bus/pci/drivers/{}/module", *dev.driver));
        out.push_back(conf::normalise_module(module ? *module : *dev.driver));
    }
    if (dev.is_display()) {
        switch (dev.vendor) {
        case 0x10de:
            out.insert(out.end(), {"nouveau", "nvidia"});
            break;
        case 0x1002:
            out.insert(out.end(), {"amdgpu", "radeon"});
            break;
        case 0x8086:
            out.insert(out.end(), {"i915", "xe"});
            break;
        default:
            break;
        }
    } else if (pci::class_and_subclass(dev.class_code) == 0x0403) {
        out.emplace_back("snd_hda_intel");
    }
    sort_unique(out);
    return out;
}

edit::Plan plan_bind(const model::Host& model, const BindRequest& request) {
    const host::Root& root = model.root();
    const BindState host = read_state(model);
    edit::Plan plan;
    std::vector<const pci::Device*> matched;
    for (const auto& selector : request.selectors) {
        const auto devices = matched_devices(host.topology, selector);
        matched.insert(matched.end(), devices.begin(), devices.end());
    }
    if (matched.empty()) {
        throw UsageError("pt bind needs a device: SEL");
    }
    const std::string selected = selected_text(request);
    plan.title = flags_title("bind", selected, request.include_group, request.force, request.now);

    std::vector<pci::Address> set = expand_slots(host.topology, matched);
    if (set.empty()) {
        throw Error(fmt::format("{} matches only PCI bridges ({}); pt binds endpoints: name the "
                                "device behind the bridge",
                                selected,
                                pci::format(matched.front()->address)));
    }
    for (const auto& a : set) {
        if (!host.topology.find(a)->iommu_group) {
            throw Error(fmt::format("{} is in no IOMMU group, so vfio-pci cannot use it: the "
                                    "IOMMU is off (see pt iommu-groups)",
                                    pci::format(a)));
        }
    }

    // SR-IOV: vfio-pci on a physical function takes every virtual function with it, from the
    // host's driver (vGPU, MxGPU, NIC VFs) and from every VM that uses one.
    for (const auto& a : set) {
        const auto* dev = host.topology.find(a);
        if (dev->virtfns.empty()) {
            continue;
        }
        const std::string why = fmt::format(
            "{} is an SR-IOV physical function with {} virtual function{} ({} to {}): vfio-pci on "
            "it takes them all from the host's driver (vGPU, MxGPU, NIC VFs) and from every VM "
            "that uses one",
            pci::format(a),
            dev->virtfns.size(),
            dev->virtfns.size() == 1 ? "" : "s",
            pci::format(dev->virtfns.front()),
            pci::format(dev->virtfns.back()));
        if (!request.force) {
            throw Error(fmt::format("refusing to bind {}: {}. Give a VM one virtual function "
                                    "instead (pt vmconf VMID {} --function-only --apply), or add "
                                    "--force to bind the whole card",
                                    selected,
                                    why,
                                    pci::format(dev->virtfns.front())));
        }
        plan.notes.push_back("--force: " + why);
    }

    const auto foreign = foreign_endpoints(host.topology, set);
    if (!foreign.empty()) {
        std::vector<std::string> lines;
        for (const auto& [group, members] : foreign) {
            std::vector<std::string> described;
            for (const auto& a : members) {
                described.push_back(describe(*host.topology.find(a)));
            }
            lines.push_back(
                fmt::format("IOMMU group {} also holds {}", group, join_strings(described, ", ")));
        }
        if (!request.include_group) {
            throw Error(fmt::format(
                "refusing to bind {}: {}. VFIO can only take a whole group, and Proxmox hands "
                "every endpoint of it to vfio-pci when the VM starts, so these would leave the "
                "host too. Add --include-group to bind them as well (see pt iommu-groups{})",
                selected,
                join_strings(lines, "; "),
                device_options(request)));
        }
        for (const auto& [group, members] : foreign) {
            set.insert(set.end(), members.begin(), members.end());
        }
        sort_unique(set);
        plan.notes.push_back(
            fmt::format("--include-group: {}; they are bound too", join_strings(lines, "; ")));
    }

    std::vector<std::string> scan_notes;
    const auto needs = host_needs(root, host, set, scan_notes);
    if (!needs.empty()) {
        if (!request.force) {
            throw Error(fmt::format("refusing to bind {}: the host needs it:\n  {}\nAdd --force "
                                    "to bind anyway",
                                    selected,
                                    join_strings(needs, "\n  ")));
        }
        for (const auto& reason : needs) {
            plan.notes.push_back("--force: " + reason);
        }
    }
    plan.notes.insert(plan.notes.end(), scan_notes.begin(), scan_notes.end());

    // Persistence.
    std::vector<pci::Address> bound = host.bound;
    bound.insert(bound.end(), set.begin(), set.end());
    sort_unique(bound);
    std::vector<std::string> softdeps = host.persisted.softdeps;
    for (const auto& a : set) {
        const auto modules = competing_modules(root, *host.topology.find(a));
        softdeps.insert(softdeps.end(), modules.begin(), modules.end());
    }
    plan_persistence(host, bound, softdeps, plan);
    const bool persistence_changed = !plan.files.empty();

    const Persistence persist = decide_persistence(host.topology, bound, host.persisted);
    std::vector<pci::Address> by_address;
    for (const auto& a : set) {
        if (contains(persist.addresses, a)) {
            by_address.push_back(a);
        }
    }
    if (persistence_changed && !by_address.empty()) {
        std::vector<pci::Address> sharing;
        for (const auto& dev : host.topology.devices) {
            if (contains(bound, dev.address)) {
                continue;
            }
            for (const auto& a : by_address) {
                if (id_of(dev) == id_of(*host.topology.find(a))) {
                    sharing.push_back(dev.address);
                }
            }
        }
        sort_unique(sharing);
        plan.notes.push_back(fmt::format(
            "bound by address: {} share their vendor:device IDs with {}, which stay with the "
            "host, so vfio-pci ids= would take those too; {} sets driver_override in the "
            "initramfs instead",
            join_addresses(by_address, ", "),
            join_addresses(sharing, ", "),
            k_hook));
    }
    predict_next_boot(model, request, set, plan);

    // Modules.
    const kernel::HostFacts& facts = model.facts();
    std::vector<std::string> add = k_vfio_modules;
    std::vector<std::string> remove;
    std::string why = "load the VFIO modules early, before the devices' own drivers";
    if (facts.release && facts.release->at_least(6, 2)) {
        remove.emplace_back("vfio_virqfd");
        for (const auto path : {k_initramfs_modules, k_modules_load_conf, k_modules}) {
            if (contains(conf::parse_modules(modules_text(root, path)),
                         std::string("vfio_virqfd"))) {
                plan.notes.push_back(fmt::format(
                    "removes vfio_virqfd from {}: Linux 6.2 folded it into vfio (e2d55709398e) "
                    "and this host runs {}, so systemd-modules-load would fail to find it",
                    path,
                    facts.release->text));
            }
        }
    } else if (facts.release) {
        add.emplace_back("vfio_virqfd"); // a module of its own before Linux 6.2
    } else {
        plan.notes.emplace_back("the kernel release is unknown (no /proc/sys/kernel/osrelease): "
                                "vfio_virqfd is neither added nor removed");
    }
    plan_module_lists(root, plan, add, remove, why);

    if (persistence_changed) {
        std::vector<std::string> ids;
        for (const auto& a : set) {
            if (!contains(by_address, a)) {
                ids.push_back(id_of(*host.topology.find(a)));
            }
        }
        sort_unique(ids);
        if (!ids.empty()) {
            plan.notes.insert(plan.notes.begin(),
                              fmt::format("binds {} to vfio-pci at boot by ID ({})",
                                          join_addresses(set, ", "),
                                          join_strings(ids, ", ")));
        } else {
            plan.notes.insert(
                plan.notes.begin(),
                fmt::format("binds {} to vfio-pci at boot by address", join_addresses(set, ", ")));
        }
    }

    if (request.now) {
        check_reservations(root, set, request.time, "bind", plan.notes);
        if (!root.exists("/sys/bus/pci/drivers/vfio-pci")) {
            throw Error("--now: vfio-pci is not loaded (no /sys/bus/pci/drivers/vfio-pci): run "
                        "`modprobe vfio-pci` and try again");
        }
        // Documentation/ABI/testing/sysfs-bus-pci: driver_override first (it neither unbinds nor
        // loads anything), then unbind the current driver, then drivers_probe, which honours the
        // override; a probe can fail quietly, so the driver link is checked afterwards.
        for (const auto& a : set) {
            const pci::Device& dev = *host.topology.find(a);
            const std::string address = pci::format(a);
            if (dev.driver_override != std::string(k_vfio_pci)) {
                plan.writes.push_back({dev_path(a, "driver_override"),
                                       std::string(k_vfio_pci),
                                       "only vfio-pci may bind it from now on",
                                       std::nullopt});
            }
            if (is_vfio_driver(dev.driver)) {
                continue;
            }
            if (dev.driver) {
                plan.writes.push_back({dev_path(a, "driver/unbind"),
                                       address,
                                       fmt::format("release it from {}", *dev.driver),
                                       std::nullopt});
            }
            plan.writes.push_back({"/sys/bus/pci/drivers_probe",
                                   address,
                                   "probe it again: its driver link must then name vfio-pci",
                                   std::make_pair(dev_path(a, "driver"), std::string(k_vfio_pci))});
        }
    }
    finish(plan);
    return plan;
}

edit::Plan plan_unbind(const model::Host& model, const UnbindRequest& request) {
    const host::Root& root = model.root();
    const BindState host = read_state(model);
    edit::Plan plan;
    plan.title = flags_title("unbind", request.selector.text, false, false, request.now);

    const auto matched = matched_devices(host.topology, request.selector);
    std::vector<pci::Address> set = expand_slots(host.topology, matched);
    if (set.empty()) {
        throw Error(fmt::format("{} matches only PCI bridges ({}): name the device behind it",
                                request.selector.text,
                                pci::format(matched.front()->address)));
    }
    // Group members that pt (or an earlier pt bind --now) gave to vfio-pci with the selection.
    for (const auto& [group, members] : foreign_endpoints(host.topology, set)) {
        for (const auto& a : members) {
            const pci::Device& dev = *host.topology.find(a);
            if (contains(host.bound, a) || dev.driver_override == std::string(k_vfio_pci)) {
                set.push_back(a);
            }
        }
    }
    sort_unique(set);

    std::vector<pci::Address> bound;
    for (const auto& a : host.bound) {
        if (!contains(set, a)) {
            bound.push_back(a);
        }
    }
    if (bound.size() != host.bound.size()) {
        plan_persistence(host, bound, host.persisted.softdeps, plan);
        std::vector<pci::Address> released;
        for (const auto& a : host.bound) {
            if (contains(set, a)) {
                released.push_back(a);
            }
        }
        plan.notes.push_back(fmt::format("{} will stay with the host at the next boot",
                                         join_addresses(released, ", ")));
        const bool others = !other_ids_files(root).empty();
        if (bound.empty() && !others) {
            std::vector<std::string> remove = k_vfio_modules;
            remove.emplace_back("vfio_virqfd");
            const std::string why = "pt binds no device any more: the VFIO modules need not load "
                                    "early";
            plan_module_lists(root, plan, {}, remove, why);
        } else if (bound.empty()) {
            plan.notes.emplace_back("the VFIO module lines stay: another file under "
                                    "/etc/modprobe.d still sets vfio-pci ids=");
        }
    }

    if (request.now) {
        check_reservations(root, set, request.time, "unbind", plan.notes);
        // The reverse of pt bind --now: clear the override ("\n" empties it), release the device
        // from vfio-pci, and let drivers_probe find its host driver (if that driver is loaded).
        for (const auto& a : set) {
            const pci::Device& dev = *host.topology.find(a);
            const bool override_vfio = dev.driver_override == std::string(k_vfio_pci);
            if (!override_vfio && !is_vfio_driver(dev.driver)) {
                continue;
            }
            const std::string address = pci::format(a);
            if (override_vfio) {
                plan.writes.push_back({dev_path(a, "driver_override"),
                                       "\n",
                                       "clear driver_override so host drivers may bind it",
                                       std::nullopt});
            }
            if (is_vfio_driver(dev.driver)) {
                plan.writes.push_back({dev_path(a, "driver/unbind"),
                                       address,
                                       "release it from vfio-pci",
                                       std::nullopt});
            }
            plan.writes.push_back({"/sys/bus/pci/drivers_probe",
                                   address,
                                   "probe it again: its host driver takes it if loaded",
                                   std::nullopt});
        }
    }
    if (!plan.files.empty()) {
        for (const auto& next : predict_after(model, plan, set)) {
            plan.notes.push_back(model::describe(next));
            if (!next.driver && next.reason.find(k_blacklist_conf) != std::string::npos) {
                plan.notes.push_back(fmt::format(
                    "{} keeps its host drivers off: pt blacklist {} --remove --apply gives it "
                    "back to them",
                    k_blacklist_conf,
                    pci::format_slot(next.address)));
            }
        }
    }
    finish(plan);
    return plan;
}

} // namespace pt::driver
