// SPDX-License-Identifier: MIT
#include "pt/grub/plan.hpp"

#include "pt/conf/grub_default.hpp"
#include "pt/error.hpp"
#include "pt/iommu/groups.hpp"
#include "pt/iommu/listing.hpp"
#include "pt/kernel/param_values.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/address.hpp"
#include "pt/pci/topology.hpp"
#include "pt/strings.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <utility>

namespace pt::grub {

using boot::Bootloader;
using boot::is_grub;

namespace {

std::string format_param(const kernel::Param& param) {
    return param.value ? fmt::format("{}={}", param.name, *param.value) : param.name;
}

conf::ParamOp set_op(std::string name, std::optional<std::string> value, std::string reason) {
    return {conf::ParamOp::Kind::set, {std::move(name), std::move(value)}, std::move(reason)};
}

edit::FollowUp follow_up_for(Bootloader kind) {
    // proxmox-boot-tool refresh copies the kernels to every ESP and, on GRUB hosts, runs
    // update-grub with each ESP mounted on /boot (proxmox-kernel-helper).
    return kind == Bootloader::grub ? edit::FollowUp::update_grub
                                    : edit::FollowUp::proxmox_boot_refresh;
}

std::string join(const std::vector<std::string>& items, std::string_view sep = " ") {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        out += i == 0 ? "" : std::string(sep);
        out += items[i];
    }
    return out;
}

struct VfioSelection {
    std::vector<std::string> ids;
    std::vector<std::string> warnings;
    std::vector<pci::Address> devices; // every device with one of the IDs
};

// The IDs of the endpoints of the selected devices' IOMMU groups, as `pt iommu-groups --vfio-ids`
// prints them, with its warnings. When the IOMMU is off there are no groups: the selected
// devices' own IDs are taken, with a warning that their groups are unknown.
VfioSelection select_vfio_ids(const model::Host& host,
                              const std::vector<pci::Selector>& selectors) {
    VfioSelection out;
    const kernel::HostFacts& facts = host.facts();
    const pci::Topology& topology = host.topology();
    const iommu::IommuState& state = host.iommu();
    iommu::Filter filter;
    filter.devices = selectors;
    const iommu::Listing listing = iommu::build_listing(topology, state, facts, filter);
    std::vector<pci::Address> endpoints;
    std::vector<pci::Address> also_match;
    if (listing.iommu_enabled) {
        const iommu::VfioIds ids = iommu::vfio_ids(listing, topology);
        out.ids = ids.ids;
        endpoints = ids.endpoints;
        also_match = ids.also_match;
        for (const auto& group : listing.groups) {
            if (group.verdict && !group.verdict->isolated) {
                out.warnings.push_back(fmt::format(
                    "IOMMU group {} is not isolated: vfio-pci.ids= takes devices outside {} from "
                    "the host too (see pt iommu-groups --group {})",
                    group.number,
                    pci::format_slot(group.verdict->subject),
                    group.number));
            }
        }
    } else {
        for (const auto& dev : topology.devices) {
            const bool selected =
                std::any_of(selectors.begin(), selectors.end(), [&](const pci::Selector& s) {
                    return s.matches(dev);
                });
            if (!selected || dev.is_bridge()) {
                continue;
            }
            endpoints.push_back(dev.address);
            const auto id = fmt::format("{:04x}:{:04x}", dev.vendor, dev.device);
            if (std::find(out.ids.begin(), out.ids.end(), id) == out.ids.end()) {
                out.ids.push_back(id);
            }
        }
        for (const auto& dev : topology.devices) {
            const auto id = fmt::format("{:04x}:{:04x}", dev.vendor, dev.device);
            if (std::find(endpoints.begin(), endpoints.end(), dev.address) == endpoints.end()
                && std::find(out.ids.begin(), out.ids.end(), id) != out.ids.end()) {
                also_match.push_back(dev.address);
            }
        }
        out.warnings.emplace_back(
            "the IOMMU is off, so pt cannot tell which devices share an IOMMU group with the "
            "selection; after the reboot check pt iommu-groups --vfio-ids with the same devices");
    }
    for (const auto& address : also_match) {
        const pci::Device* dev = topology.find(address);
        out.warnings.push_back(fmt::format(
            "{} has the ID {:04x}:{:04x} too but is not selected: vfio-pci.ids= would take it "
            "from the host as well; bind by address instead (driver_override), which pt bind does",
            pci::format(address),
            dev->vendor,
            dev->device));
    }
    out.devices = endpoints;
    out.devices.insert(out.devices.end(), also_match.begin(), also_match.end());
    std::sort(out.devices.begin(), out.devices.end());
    if (out.ids.empty()) {
        throw UsageError("--vfio-ids selected no device that vfio-pci can take (bridges are "
                         "never bound); see pt iommu-groups");
    }
    return out;
}

struct Source {
    Bootloader kind = Bootloader::unknown;
    std::vector<kernel::Param> configured;
};

std::vector<conf::ParamOp> all_ops(const model::Host& host,
                                   const std::vector<kernel::Param>& configured,
                                   const Request& request,
                                   Planned& out) {
    std::vector<conf::ParamOp> ops = default_ops(host.facts(), configured);
    if (!request.vfio_devices.empty()) {
        auto selection = select_vfio_ids(host, request.vfio_devices);
        out.warnings.insert(
            out.warnings.end(), selection.warnings.begin(), selection.warnings.end());
        out.vfio_devices = selection.devices;
        ops.push_back(
            set_op("vfio-pci.ids",
                   join(selection.ids, ","),
                   "vfio-pci claims these devices as it loads, before their own drivers "
                   "(vfio_pci ids= module parameter, vendor:device; every device with one of "
                   "these IDs, not only the selected ones)"));
    }
    const auto options = option_ops(request);
    ops.insert(ops.end(), options.begin(), options.end());
    for (const auto& param : request.add) {
        // --add of folklore (kernel::cmdline_folklore) is obeyed, but not silently.
        if (const kernel::Folklore* item = kernel::find_folklore(param)) {
            out.warnings.push_back(
                fmt::format("--add {}: {}", kernel::folklore_text(*item), item->why));
        }
    }
    if (request.acs_override) {
        out.warnings.emplace_back(
            "SECURITY: pcie_acs_override makes the kernel treat devices as isolated when the "
            "hardware does not say so; peer-to-peer DMA between devices that share a real group "
            "can then bypass the IOMMU, so a VM may read or write memory of devices (and through "
            "them the host) that it was not given. Use it only on a machine whose guests you "
            "trust");
    }
    return ops;
}

std::string change_note(const PlannedChange& c) {
    return fmt::format("{} line {}: {}: {}", c.path, c.line, c.change.describe(), c.change.reason);
}

} // namespace

bool Request::any_option() const {
    return iommu_pt || sysfb_off || !vfio_devices.empty() || acs_override || !add.empty()
           || !remove.empty();
}

namespace {

// A module parameter list that a stray space splits ("vfio-pci.ids=10de:2204, 10de:1aef", in
// one argument or in two): the second part would be a separate word the module never sees.
void refuse_split_list(const std::vector<kernel::Param>& params, std::string_view flag) {
    for (const auto& problem : kernel::invalid_values(params)) {
        if (problem.param.find(' ') != std::string::npos) {
            throw UsageError(fmt::format("{} {}: {}", flag, problem.param, problem.problem));
        }
    }
}

} // namespace

kernel::Param parse_request_param(std::string_view text, std::string_view flag) {
    const auto params = kernel::parse_cmdline(text);
    refuse_split_list(params, flag);
    if (params.size() != 1 || params.front().name.empty()
        || text.find_first_of("\"'\\$` \t\n") != std::string_view::npos) {
        throw UsageError(fmt::format(
            "{} '{}': give one kernel parameter such as iommu=pt or quiet, without spaces, quotes, "
            "backslashes, '$' or backticks",
            flag,
            text));
    }
    // The value travels unquoted into grub.cfg (GRUB's 10_linux writes "linux ... ${args}"),
    // where GRUB's script reads ';', '&', '|', '<' and '>' as the end of the command or a
    // redirection, as /bin/sh does when grub-mkconfig sources /etc/default/grub: a parameter
    // holding one is a typo or an injected command far more often than a real parameter.
    if (const auto at = text.find_first_of(";&|<>"); at != std::string_view::npos) {
        throw UsageError(fmt::format(
            "{} '{}': '{}' ends a command or redirects in /bin/sh and in GRUB's grub.cfg, so "
            "grub-mkconfig or GRUB would run what follows it; give one kernel parameter such as "
            "iommu=pt (a parameter that really holds '{}' has to be written by hand, escaped for "
            "both)",
            flag,
            text,
            text[at],
            text[at]));
    }
    const auto control = std::find_if(text.begin(), text.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    if (control != text.end()) {
        throw UsageError(fmt::format("{} '{}': holds the control character 0x{:02x}; give one "
                                     "kernel parameter such as iommu=pt",
                                     flag,
                                     text,
                                     static_cast<unsigned char>(*control)));
    }
    if (text.front() == '#') {
        throw UsageError(fmt::format("{} '{}': a word starting with '#' begins a comment in "
                                     "grub.cfg, which would drop it and every later parameter",
                                     flag,
                                     text));
    }
    return params.front();
}

std::optional<std::string> reserved_param_reason(std::string_view name) {
    // One rule for every bootloader path: these are written by the boot loader or its tooling,
    // never by the user's parameter list (GRUB's 10_linux: linux ${rel_dirname}/${basename}
    // root=${linux_root_device_thisversion} ro; proxmox-boot-tool's systemd-boot entries: the
    // initrd line, root= from the first line of /etc/kernel/cmdline).
    if (name == "root") {
        return std::string(
            "root= names the root file system: GRUB's 10_linux writes it into every entry itself, "
            "and under systemd-boot proxmox-boot-tool refresh needs the one on the first line of "
            "/etc/kernel/cmdline; a second, changed or missing root= boots another file system "
            "or none");
    }
    if (name == "BOOT_IMAGE") {
        return std::string("BOOT_IMAGE= is set by GRUB to the kernel it loads; a second one "
                           "changes what the kernel and tools report as the booted image");
    }
    if (name == "initrd") {
        return std::string(
            "initrd= is written by the boot entry (GRUB's initrd command, proxmox-boot-tool's "
            "systemd-boot entries, the EFI stub); a second one loads another initramfs or stops "
            "the boot");
    }
    return std::nullopt;
}

// --add of a value the kernel's own parser rejects (kernel::invalid_values) or of a module name
// is refused: pt never writes a parameter that the next boot ignores. The folklore values the
// guides ask for (kernel::cmdline_folklore: amd_iommu=on, video=efifb:off) are obeyed with a
// warning (all_ops).
void refuse_invalid(const kernel::Param& add) {
    const kernel::Folklore* folklore = kernel::find_folklore(add);
    if (folklore != nullptr && folklore->kind != kernel::FolkloreKind::module_name) {
        return;
    }
    const auto problems = kernel::invalid_values(add);
    if (!problems.empty()) {
        throw UsageError(fmt::format("--add {}: {}; pt grub does not write a value the kernel "
                                     "rejects",
                                     format_param(add),
                                     problems.front().problem));
    }
    if (folklore != nullptr) {
        throw UsageError(fmt::format("--add {}: {} {}; modules to load at boot belong in "
                                     "/etc/modules-load.d/, which pt bind SLOT --apply writes",
                                     add.name,
                                     add.name,
                                     folklore->why));
    }
}

void check_request(const Request& request) {
    const auto refuse_reserved = [](std::string_view flag, const kernel::Param& param) {
        if (const auto reason = reserved_param_reason(param.name)) {
            throw UsageError(fmt::format("{} {}: pt does not add, change or remove {}=: {}; if it "
                                         "really has to change, edit the file pt grub shows by "
                                         "hand",
                                         flag,
                                         format_param(param),
                                         param.name,
                                         *reason));
        }
    };
    for (const auto& add : request.add) {
        refuse_reserved("--add", add);
        refuse_invalid(add);
    }
    refuse_split_list(request.add, "--add");
    for (const auto& remove : request.remove) {
        refuse_reserved("--remove", remove);
    }
    for (const auto& add : request.add) {
        for (const auto& remove : request.remove) {
            if (kernel::same_param_name(add.name, remove.name)
                && (!remove.value || remove.value == add.value)) {
                throw UsageError(fmt::format("--add {} and --remove {} contradict each other",
                                             format_param(add),
                                             format_param(remove)));
            }
        }
        if (!request.vfio_devices.empty() && kernel::same_param_name(add.name, "vfio-pci.ids")) {
            throw UsageError("--add vfio-pci.ids= and --vfio-ids both set vfio-pci.ids: give one");
        }
    }
}

// The ops that take the option `off` out of every configured `name`: the token goes, and its
// other options come back as one parameter ("iommu=off,nopanic" -> "iommu=nopanic").
std::vector<conf::ParamOp> drop_off(const std::vector<kernel::Param>& configured,
                                    std::string_view name,
                                    const std::string& reason) {
    std::vector<conf::ParamOp> ops;
    for (const auto& p : configured) {
        if (!kernel::same_param_name(p.name, name) || !p.value) {
            continue;
        }
        auto options = kernel::comma_options(*p.value);
        if (std::find(options.begin(), options.end(), "off") == options.end()) {
            continue;
        }
        options.erase(std::remove(options.begin(), options.end(), "off"), options.end());
        ops.push_back({conf::ParamOp::Kind::remove, p, reason});
        if (!options.empty()) {
            ops.push_back(set_op(p.name, fmt::format("{}", fmt::join(options, ",")), reason));
        }
    }
    return ops;
}

std::vector<conf::ParamOp> default_ops(const kernel::HostFacts& facts,
                                       const std::vector<kernel::Param>& configured) {
    std::vector<conf::ParamOp> ops;
    // Passthrough needs the IOMMU: iommu=off switches it off on every x86 host (iommu_setup,
    // arch/x86/kernel/pci-dma.c sets no_iommu).
    ops = drop_off(configured, "iommu", "iommu=off switches the IOMMU off");
    switch (facts.cpu) {
    case kernel::CpuVendor::intel: {
        if (!facts.release) {
            ops.push_back(
                set_op("intel_iommu",
                       "on",
                       "the kernel release is unknown: the Intel IOMMU is off by "
                       "default before kernel 6.8, and intel_iommu=on is harmless after"));
        } else if (!facts.release->at_least(6, 8)) {
            ops.push_back(set_op("intel_iommu",
                                 "on",
                                 fmt::format("the Intel IOMMU is off by default before kernel 6.8 "
                                             "(this host runs {}; pve-docs)",
                                             facts.release->text)));
        } else {
            // 6.8+: on by default; only an explicit off needs turning around.
            bool off = false;
            for (const auto& p : configured) {
                if (kernel::same_param_name(p.name, "intel_iommu") && p.value) {
                    const auto& v = *p.value;
                    if (v == "off" || v.starts_with("off,") || v.ends_with(",off")
                        || v.find(",off,") != std::string::npos) {
                        off = true;
                    }
                }
            }
            if (off) {
                ops.push_back(set_op("intel_iommu",
                                     "on",
                                     "intel_iommu=off disables the Intel IOMMU that kernel 6.8+ "
                                     "enables by default"));
            }
        }
        break;
    }
    case kernel::CpuVendor::amd:
        // amd_iommu=off sets amd_iommu_disabled (parse_amd_iommu_options,
        // drivers/iommu/amd/init.c); without it the IOMMU is on when the firmware enables it.
        for (auto& op : drop_off(configured,
                                 "amd_iommu",
                                 "amd_iommu=off switches the AMD IOMMU off; it is on by default "
                                 "whenever the firmware enables it")) {
            ops.push_back(std::move(op));
        }
        ops.push_back({conf::ParamOp::Kind::remove,
                       {"amd_iommu", "on"},
                       "amd_iommu=on is not a value the kernel knows (it logs \"AMD-Vi: Unknown "
                       "option - 'on'\"); the AMD IOMMU is on whenever the firmware enables it"});
        break;
    case kernel::CpuVendor::other:
    case kernel::CpuVendor::unknown:
        break;
    }
    return ops;
}

std::vector<conf::ParamOp> option_ops(const Request& request) {
    std::vector<conf::ParamOp> ops;
    if (request.iommu_pt) {
        ops.push_back(set_op("iommu",
                             "pt",
                             "host-owned devices use identity (untranslated) DMA; it changes no "
                             "IOMMU group and is not needed for passthrough"));
    }
    if (request.sysfb_off) {
        ops.push_back(set_op("initcall_blacklist",
                             "sysfb_init",
                             "no firmware framebuffer device is registered, so nothing holds the "
                             "boot GPU's memory (and the host has no console after boot)"));
    }
    if (request.acs_override) {
        ops.push_back(set_op("pcie_acs_override",
                             "downstream,multifunction",
                             "Proxmox's ACS override patch splits IOMMU groups the hardware does "
                             "not isolate (asked with --acs-override; see the warning)"));
    }
    for (const auto& param : request.add) {
        ops.push_back(set_op(param.name, param.value, "asked with --add"));
    }
    for (const auto& param : request.remove) {
        ops.push_back({conf::ParamOp::Kind::remove, param, "asked with --remove"});
    }
    return ops;
}

Planned plan_cmdline_changes(const model::Host& host, const Request& request) {
    check_request(request);
    Planned out;
    out.detection = host.boot().detection;
    const boot::BootFiles& files = host.boot_files();
    const Bootloader kind = out.detection.kind;
    if (kind == Bootloader::unknown) {
        throw Error(fmt::format(
            "cannot tell whether proxmox-boot-tool boots this host with GRUB or systemd-boot, so "
            "pt does not know which file holds the kernel command line; run proxmox-boot-tool "
            "status: \"grub\" means edit /etc/default/grub, \"uefi\" (systemd-boot) means edit "
            "the first line of /etc/kernel/cmdline; then run proxmox-boot-tool refresh ({})",
            join(out.detection.evidence, "; ")));
    }
    const std::string reason_prefix = "kernel command line";

    if (is_grub(kind)) {
        if (files.grub_error) {
            throw Error(*files.grub_error);
        }
        const auto& config = files.grub;
        if (!config) {
            throw Error(fmt::format("{} does not exist on this {} host; restore it (Debian's "
                                    "grub2-common ships it) and run pt grub again",
                                    boot::k_grub_main,
                                    boot::describe(kind)));
        }
        if (const auto problem = config->first_problem()) {
            throw Error(*problem);
        }
        const auto configured = kernel::parse_cmdline(config->cmdline());
        const auto ops = all_ops(host, configured, request, out);
        const conf::GrubEdit edited = conf::edit_grub_cmdline(*config, ops);
        for (const auto& change : edited.changes) {
            out.changes.push_back({change.change, change.path, change.line});
        }
        out.next_cmdline = apply_changes(configured, out.changes);
        for (std::size_t i = 0; i < config->files.size(); ++i) {
            std::vector<std::string> what;
            for (const auto& change : edited.changes) {
                if (change.path == config->files[i].path) {
                    what.push_back(change.change.describe());
                }
            }
            edit::add_file(out.plan,
                           {config->files[i].path,
                            config->files[i].text,
                            edited.texts[i],
                            0644,
                            fmt::format("{}: {}", reason_prefix, join(what, ", "))});
        }
    } else {
        const std::optional<std::string>& before = files.kernel_cmdline;
        std::string base;
        if (before) {
            base = *before;
        } else {
            const auto& proc = host.facts().cmdline_text;
            if (!proc) {
                throw Error(fmt::format("{} does not exist and neither does /proc/cmdline to start "
                                        "it from; write the first line by hand (root=... and "
                                        "the parameters), then run pt grub again",
                                        boot::k_kernel_cmdline));
            }
            base = boot::cmdline_from_proc(*proc) + "\n";
        }
        const auto configured = kernel::parse_cmdline(conf::split_kernel_cmdline(base).first_line);
        const auto ops = all_ops(host, configured, request, out);
        const conf::KernelCmdlineEdit edited =
            conf::edit_kernel_cmdline(base, ops, boot::k_kernel_cmdline);
        for (const auto& change : edited.changes) {
            out.changes.push_back({change, std::string(boot::k_kernel_cmdline), 1});
        }
        out.next_cmdline = apply_changes(configured, out.changes);
        if (!edited.changes.empty()) {
            std::vector<std::string> what;
            for (const auto& change : edited.changes) {
                what.push_back(change.describe());
            }
            edit::add_file(out.plan,
                           {std::string(boot::k_kernel_cmdline),
                            before,
                            edited.text,
                            0644,
                            fmt::format("{}: {}", reason_prefix, join(what, ", "))});
            if (!before) {
                out.plan.notes.push_back(
                    fmt::format("{} does not exist: proxmox-boot-tool uses /proc/cmdline without "
                                "initrd= then, so pt starts the file from that line",
                                boot::k_kernel_cmdline));
            }
        }
    }
    for (const auto& change : out.changes) {
        out.plan.notes.push_back(change_note(change));
    }
    if (!out.plan.empty()) {
        edit::add_follow_up(out.plan, follow_up_for(kind));
        out.plan.reboot_needed = true;
        out.plan.notes.push_back(fmt::format(
            "the kernel reads its command line only at boot: reboot after {} ({} boots this "
            "host: {})",
            edit::command_line(follow_up_for(kind)),
            boot::describe(kind),
            out.detection.evidence.back()));
    }
    return out;
}

edit::Plan plan_cmdline(const model::Host& host, const Request& request) {
    return plan_cmdline_changes(host, request).plan;
}

std::vector<kernel::Param> apply_changes(std::vector<kernel::Param> before,
                                         const std::vector<PlannedChange>& changes) {
    for (const auto& planned : changes) {
        const auto& change = planned.change;
        const auto matches = [&](const kernel::Param& p) {
            return kernel::same_param_name(p.name, change.name)
                   && (!change.old_value || p.value == change.old_value);
        };
        switch (change.kind) {
        case conf::ParamChange::Kind::add:
            before.push_back({change.name, change.new_value});
            break;
        case conf::ParamChange::Kind::replace:
            for (auto& p : before) {
                if (matches(p)) {
                    p.value = change.new_value;
                }
            }
            break;
        case conf::ParamChange::Kind::remove:
            before.erase(std::remove_if(before.begin(), before.end(), matches), before.end());
            break;
        }
    }
    return before;
}

} // namespace pt::grub
