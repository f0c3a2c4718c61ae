// SPDX-License-Identifier: MIT
// modules.loaded, modules.early-load, modules.vfio-virqfd.
#include "pt/check/host_context.hpp"
#include "pt/conf/modules_file.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace pt::check {
namespace {

constexpr std::array<std::string_view, 3> k_vfio_modules = {"vfio", "vfio_iommu_type1", "vfio_pci"};

struct ModuleList {
    std::string path;
    std::vector<std::string> modules;
};

// /etc/modules, /etc/modules-load.d/*.conf and /etc/initramfs-tools/modules, those that exist.
std::vector<ModuleList> read_lists(const host::Root& root) {
    std::vector<std::string> paths = {"/etc/modules"};
    for (const auto& name : root.list("/etc/modules-load.d")) {
        if (name.ends_with(".conf")) {
            paths.push_back(host::join("/etc/modules-load.d", name));
        }
    }
    paths.emplace_back("/etc/initramfs-tools/modules");
    std::vector<ModuleList> lists;
    for (const auto& path : paths) {
        if (const auto text = root.read_attr(path)) {
            lists.push_back({path, conf::parse_modules(*text)});
        }
    }
    return lists;
}

bool listed(const ModuleList& list, std::string_view module) {
    return std::find(list.modules.begin(), list.modules.end(), module) != list.modules.end();
}

} // namespace

void check_modules(const HostContext& ctx, std::vector<Check>& out) {
    const auto lists = read_lists(ctx.root);
    std::vector<std::string> missing;
    std::vector<std::string> where;
    for (const auto module : k_vfio_modules) {
        std::vector<std::string> in;
        for (const auto& list : lists) {
            if (listed(list, module)) {
                in.push_back(list.path);
            }
        }
        if (in.empty()) {
            missing.emplace_back(module);
        } else {
            where.push_back(fmt::format("{}: {}", module, fmt::join(in, ", ")));
        }
    }
    std::vector<std::string> list_names;
    for (const auto& list : lists) {
        list_names.push_back(list.path);
    }
    const std::string lists_text = list_names.empty()
                                       ? std::string("/etc/modules: missing")
                                       : fmt::format("read: {}", fmt::join(list_names, ", "));

    // modules.loaded
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
    const std::string what_loaded = "vfio modules loaded (vfio, vfio_iommu_type1, vfio_pci)";
    if (unknown && not_loaded.empty()) {
        out.push_back(make(what_loaded,
                           "modules.loaded",
                           Status::skip,
                           "/proc/modules is missing from this root"));
    } else if (not_loaded.empty()) {
        out.push_back(make(what_loaded,
                           "modules.loaded",
                           Status::pass,
                           "vfio, vfio_iommu_type1 and vfio_pci are loaded",
                           "/proc/modules, /sys/module"));
    } else if (missing.size() < k_vfio_modules.size()) {
        out.push_back(make(
            what_loaded,
            "modules.loaded",
            Status::fail,
            fmt::format("module not loaded after reboot: {} (listed for early load, so the "
                        "initramfs is stale or the load order is wrong)",
                        fmt::join(not_loaded, ", ")),
            fmt::format(
                "/proc/modules: no {}\n{}", fmt::join(not_loaded, ", "), fmt::join(where, "\n")),
            "update-initramfs -u -k all, then reboot; if it persists: journalctl -b -u "
            "systemd-modules-load"));
    } else {
        out.push_back(make(what_loaded,
                           "modules.loaded",
                           Status::warn,
                           fmt::format("not loaded: {}; Proxmox loads vfio-pci when a VM starts, "
                                       "but the host driver can take the GPU first",
                                       fmt::join(not_loaded, ", ")),
                           fmt::format("/proc/modules: no {}", fmt::join(not_loaded, ", ")),
                           "modprobe vfio-pci now, and list the modules for early load (see "
                           "modules.early-load)"));
    }

    // modules.early-load
    const std::string what_early = "vfio modules configured for early load";
    if (missing.empty()) {
        out.push_back(make(what_early,
                           "modules.early-load",
                           Status::pass,
                           "vfio, vfio_iommu_type1 and vfio_pci are listed",
                           fmt::format("{}", fmt::join(where, "\n"))));
    } else {
        out.push_back(
            make(what_early,
                 "modules.early-load",
                 Status::warn,
                 fmt::format("not listed for early load: {}", fmt::join(missing, ", ")),
                 lists_text,
                 fmt::format("printf '{}\\n' >> /etc/modules && update-initramfs -u -k all",
                             fmt::join(missing, "\\n"))));
    }

    // modules.vfio-virqfd
    const std::string what_virqfd = "module lists for vfio_virqfd";
    const bool new_kernel = ctx.facts.release && ctx.facts.release->at_least(6, 2);
    std::vector<std::string> virqfd;
    for (const auto& list : lists) {
        if (listed(list, "vfio_virqfd")) {
            virqfd.push_back(list.path);
        }
    }
    if (!virqfd.empty() && new_kernel) {
        out.push_back(
            make(what_virqfd,
                 "modules.vfio-virqfd",
                 Status::warn,
                 fmt::format("vfio_virqfd is listed but kernel {} has no such module (folded into "
                             "vfio in 6.2); systemd-modules-load logs \"Failed to find module "
                             "'vfio_virqfd'\"",
                             ctx.facts.release->text),
                 fmt::format("vfio_virqfd in {}", fmt::join(virqfd, ", ")),
                 fmt::format("remove the vfio_virqfd line from {}, then update-initramfs -u -k all",
                             fmt::join(virqfd, " and "))));
    } else {
        out.push_back(make(what_virqfd,
                           "modules.vfio-virqfd",
                           Status::pass,
                           virqfd.empty() ? "vfio_virqfd is not listed"
                                          : "vfio_virqfd is listed and this kernel (before 6.2) "
                                            "has it",
                           lists_text));
    }
}

} // namespace pt::check
