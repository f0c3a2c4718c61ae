// SPDX-License-Identifier: MIT
// modules.loaded, modules.early-load, modules.vfio-virqfd.
#include "pt/check/host_context.hpp"
#include "pt/conf/modules_file.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <ctime>

namespace pt::check {
namespace {

constexpr std::array<std::string_view, 3> k_vfio_modules = {"vfio", "vfio_iommu_type1", "vfio_pci"};

bool listed(const conf::ModuleList& list, std::string_view module) {
    return std::find(list.modules.begin(), list.modules.end(), module) != list.modules.end();
}

// Where the vfio modules are listed for loading at boot, by every list the next boot reads.
struct EarlyLoad {
    std::vector<std::string> missing;          // listed nowhere
    std::vector<std::string> where;            // "vfio: /etc/modules-load.d/pt-vfio.conf"
    std::vector<const conf::ModuleList*> used; // the lists that name at least one
    std::string lists_text;                    // "read: /etc/modules, ..."

    bool any() const { return missing.size() < k_vfio_modules.size(); }
};

EarlyLoad find_early_load(const std::vector<conf::ModuleList>& lists) {
    EarlyLoad early;
    for (const auto module : k_vfio_modules) {
        std::vector<std::string> in;
        for (const auto& list : lists) {
            if (listed(list, module)) {
                in.push_back(list.path);
                if (std::find(early.used.begin(), early.used.end(), &list) == early.used.end()) {
                    early.used.push_back(&list);
                }
            }
        }
        if (in.empty()) {
            early.missing.emplace_back(module);
        } else {
            early.where.push_back(fmt::format("{}: {}", module, fmt::join(in, ", ")));
        }
    }
    std::vector<std::string> names;
    for (const auto& list : lists) {
        names.push_back(list.path);
    }
    early.lists_text = names.empty() ? std::string("no module list: /etc/modules-load.d/*.conf, "
                                                   "/etc/modules and /etc/initramfs-tools/modules "
                                                   "are missing")
                                     : fmt::format("read: {}", fmt::join(names, ", "));
    return early;
}

// The staged layer of the early load: the vfio modules /etc/initramfs-tools/modules lists are in
// the next boot's initramfs (its conf/modules, and the modules themselves). When no initramfs
// list names them, what is configured is what the next boot reads: systemd-modules-load reads
// modules-load.d and /etc/modules from the root file system, so nothing waits to be staged.
std::optional<bool> staged_early_load(const HostContext& ctx, const EarlyLoad& early) {
    std::vector<std::string_view> wanted;
    for (const auto* list : early.used) {
        if (!list->initramfs) {
            continue;
        }
        for (const auto module : k_vfio_modules) {
            if (listed(*list, module)) {
                wanted.push_back(module);
            }
        }
    }
    if (wanted.empty()) {
        return true;
    }
    const auto& staged = ctx.host.staged();
    std::optional<bool> in_image;
    if (staged && staged->readable()) {
        in_image = std::all_of(wanted.begin(), wanted.end(), [&](std::string_view m) {
            const bool in_list = std::find(staged->modules.begin(), staged->modules.end(), m)
                                 != staged->modules.end();
            return in_list && staged->has_module(m);
        });
    }
    return staged_layer(ctx, in_image);
}

std::string show_time(std::int64_t seconds) {
    const auto t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::array<char, 32> buf{};
    std::strftime(buf.data(), buf.size(), "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf.data();
}

// Whether the lists that name the vfio modules changed after the running kernel booted (so
// this boot never read them): true, false, or nullopt when either time is unknown. `evidence`
// gets the times compared.
std::optional<bool>
listed_after_boot(const HostContext& ctx, const EarlyLoad& early, std::string& evidence) {
    const auto booted = ctx.host.booted_at();
    if (!booted) {
        return std::nullopt;
    }
    std::optional<std::int64_t> newest;
    std::string newest_path;
    for (const auto* list : early.used) {
        const auto at = modified_at(ctx.root, list->path);
        if (!at) {
            return std::nullopt;
        }
        if (!newest || *at > *newest) {
            newest = at;
            newest_path = list->path;
        }
    }
    if (!newest) {
        return std::nullopt;
    }
    evidence = fmt::format("/proc/stat: booted {}; {} changed {}",
                           show_time(*booted),
                           newest_path,
                           show_time(*newest));
    return *newest > *booted;
}

void check_loaded(const HostContext& ctx, const EarlyLoad& early, std::vector<Check>& out) {
    std::vector<std::string> not_loaded;
    bool unknown = false;
    for (const auto module : k_vfio_modules) {
        const auto loaded = ctx.module_loaded(module);
        if (!loaded) {
            unknown = true;
        } else if (!*loaded) {
            not_loaded.emplace_back(module);
        }
    }
    const std::string what = "vfio modules loaded (vfio, vfio_iommu_type1, vfio_pci)";
    if (unknown && not_loaded.empty()) {
        out.push_back(
            make(what, "modules.loaded", Status::skip, "/proc/modules is missing from this root"));
        return;
    }
    Layers layers;
    layers.configured = early.any();
    layers.staged = early.any() ? staged_early_load(ctx, early) : std::nullopt;
    layers.running = not_loaded.empty();
    const auto push =
        [&](Status status, std::string summary, std::string evidence, std::string fix = {}) {
            auto check = make(what,
                              "modules.loaded",
                              status,
                              std::move(summary),
                              std::move(evidence),
                              std::move(fix));
            check.layers = layers;
            out.push_back(std::move(check));
        };
    if (not_loaded.empty()) {
        push(Status::pass,
             "vfio, vfio_iommu_type1 and vfio_pci are loaded",
             "/proc/modules, /sys/module");
        return;
    }
    const std::string absent = fmt::format("{}", fmt::join(not_loaded, ", "));
    std::string evidence = fmt::format("/proc/modules: no {}", absent);
    if (!early.any()) {
        push(Status::warn,
             fmt::format("not loaded: {}; Proxmox loads vfio-pci when a VM starts, but the host "
                         "driver can take the GPU first",
                         absent),
             evidence,
             "modprobe vfio-pci now, and list the modules for early load (see "
             "modules.early-load)");
        return;
    }
    evidence += "\nconfigured: " + fmt::format("{}", fmt::join(early.where, "\n"));
    if (layers.staged == false) {
        push(Status::fail,
             fmt::format("not loaded: {}; /etc/initramfs-tools/modules lists them, but the next "
                         "boot's initramfs does not, so the next boot does not load them early "
                         "either",
                         absent),
             evidence + "\nstaged: " + staged_state(ctx).evidence,
             "update-initramfs -u -k all, then reboot");
        return;
    }
    std::string times;
    const auto after_boot = listed_after_boot(ctx, early, times);
    if (!times.empty()) {
        evidence += "\n" + times;
    }
    if (after_boot == true) {
        push(Status::warn,
             fmt::format("reboot pending: {} listed for early load since this boot, which has "
                         "not read the lists yet",
                         absent),
             evidence,
             "reboot; to load them now without a reboot: modprobe vfio-pci");
    } else if (after_boot == false) {
        push(Status::fail,
             fmt::format("not loaded: {}, although listed for early load before this boot: "
                         "loading them failed at boot",
                         absent),
             evidence,
             "journalctl -b -u systemd-modules-load and journalctl -k -b | grep -i vfio say why; "
             "modprobe -v vfio-pci tries again now");
    } else {
        push(Status::warn,
             fmt::format("not loaded: {}, although listed for early load: a reboot is pending if "
                         "they were listed since this boot, else loading them failed at boot",
                         absent),
             evidence,
             "reboot if you listed them since the last boot (to load them now: modprobe "
             "vfio-pci); if they are still missing after a reboot: journalctl -b -u "
             "systemd-modules-load");
    }
}

void check_early_load(const EarlyLoad& early, std::vector<Check>& out) {
    const std::string what = "vfio modules configured for early load";
    if (early.missing.empty()) {
        out.push_back(make(what,
                           "modules.early-load",
                           Status::pass,
                           "vfio, vfio_iommu_type1 and vfio_pci are listed",
                           fmt::format("{}", fmt::join(early.where, "\n"))));
        return;
    }
    // modules-load.d rather than /etc/modules: trixie's kmod calls /etc/modules obsolete, and
    // systemd-modules-load reads modules-load.d on both releases (modules-load.d(5)).
    out.push_back(make(what,
                       "modules.early-load",
                       Status::warn,
                       fmt::format("not listed for early load: {}", fmt::join(early.missing, ", ")),
                       early.lists_text,
                       fmt::format("pt bind SLOT --apply lists them for the GPU it binds; by hand: "
                                   "printf '{}\\n' >> /etc/modules-load.d/vfio.conf && "
                                   "update-initramfs -u -k all",
                                   fmt::join(early.missing, "\\n"))));
}

void check_virqfd(const HostContext& ctx,
                  const std::vector<conf::ModuleList>& lists,
                  const EarlyLoad& early,
                  std::vector<Check>& out) {
    const std::string what = "module lists for vfio_virqfd";
    const bool new_kernel = ctx.facts.release && ctx.facts.release->at_least(6, 2);
    std::vector<std::string> virqfd;
    for (const auto& list : lists) {
        if (listed(list, "vfio_virqfd")) {
            virqfd.push_back(list.path);
        }
    }
    if (!virqfd.empty() && new_kernel) {
        out.push_back(
            make(what,
                 "modules.vfio-virqfd",
                 Status::warn,
                 fmt::format("vfio_virqfd is listed but kernel {} has no such module (folded into "
                             "vfio in 6.2); systemd-modules-load logs \"Failed to find module "
                             "'vfio_virqfd'\"",
                             ctx.facts.release->text),
                 fmt::format("vfio_virqfd in {}", fmt::join(virqfd, ", ")),
                 fmt::format("remove the vfio_virqfd line from {}, then update-initramfs -u -k all",
                             fmt::join(virqfd, " and "))));
        return;
    }
    out.push_back(make(what,
                       "modules.vfio-virqfd",
                       Status::pass,
                       virqfd.empty() ? "vfio_virqfd is not listed"
                                      : "vfio_virqfd is listed and this kernel (before 6.2) has it",
                       early.lists_text));
}

} // namespace

void check_modules(const HostContext& ctx, std::vector<Check>& out) {
    const auto& lists = ctx.host.module_lists();
    const EarlyLoad early = find_early_load(lists);
    check_loaded(ctx, early, out);
    check_early_load(early, out);
    check_virqfd(ctx, lists, early, out);
}

} // namespace pt::check
