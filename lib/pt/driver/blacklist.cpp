// SPDX-License-Identifier: MIT
#include "pt/driver/blacklist.hpp"

#include "pt/driver/bind.hpp"
#include "pt/driver/next_boot.hpp"
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/selector.hpp"
#include "pt/pci/topology.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace pt::driver {
namespace {

using conf::ModprobeCommand;
using conf::ModprobeFile;

const std::vector<GpuVendor>& gpu_vendors() {
    // nvidiafb and nouveau are in-tree (drivers/video/fbdev/nvidia, drivers/gpu/drm/nouveau);
    // nvidia, nvidia_drm and nvidia_modeset are the proprietary driver's modules, of which only
    // nvidia registers a PCI driver. radeon and amdgpu both claim some GCN cards
    // (radeon.si_support / amdgpu.si_support); xe claims some Intel GPUs i915 also knows.
    static const std::vector<GpuVendor> vendors = {
        {0x10de,
         "NVIDIA",
         {"nouveau", "nvidia", "nvidia_drm", "nvidia_modeset", "nvidiafb"},
         {"nouveau", "nvidia", "nvidiafb"}},
        {0x1002, "AMD", {"amdgpu", "radeon"}, {"amdgpu", "radeon"}},
        {0x8086, "Intel", {"i915", "xe"}, {"i915", "xe"}},
    };
    return vendors;
}

// (vendor index, module index) of a module; unknown modules sort after every vendor.
std::pair<std::size_t, std::size_t> module_rank(const std::string& module) {
    const auto& vendors = gpu_vendors();
    for (std::size_t v = 0; v < vendors.size(); ++v) {
        const auto& modules = vendors[v].modules;
        const auto it = std::find(modules.begin(), modules.end(), module);
        if (it != modules.end()) {
            return {v, static_cast<std::size_t>(it - modules.begin())};
        }
    }
    return {vendors.size(), 0};
}

int verb_rank(const std::string& verb) {
    if (verb == "blacklist") {
        return 0;
    }
    if (verb == "install") {
        return 1;
    }
    if (verb == "softdep") {
        return 2;
    }
    return 3;
}

bool is_vendor_module(const GpuVendor& vendor, const std::string& module) {
    return std::find(vendor.modules.begin(), vendor.modules.end(), module) != vendor.modules.end();
}

std::string describe(const pci::Device& dev) {
    std::string text =
        fmt::format("{} [{:04x}:{:04x}]", pci::format(dev.address), dev.vendor, dev.device);
    if (dev.names.device) {
        text += " " + *dev.names.device;
    }
    text += dev.driver ? fmt::format(", driver {}", *dev.driver) : std::string(", no driver");
    if (dev.boot_vga.value_or(false)) {
        text += ", boot VGA";
    }
    return text;
}

std::string describe_displays(const pci::Topology& topology) {
    std::string text;
    for (const auto& dev : topology.devices) {
        if (dev.is_display()) {
            text += "\n  " + describe(dev);
        }
    }
    return text.empty() ? std::string(" none") : text;
}

// "/etc/modprobe.d/blacklist.conf line 3" for the first command of `verb` on `module` that
// satisfies `pred`, or nullopt.
template <typename Pred>
std::optional<std::string> find_command(const std::vector<ModprobeFile>& files,
                                        std::string_view verb,
                                        const std::string& module,
                                        Pred&& pred) {
    for (const auto& file : files) {
        for (const auto& command : file.commands) {
            if (command.verb == verb && command.module == module && pred(command)) {
                return fmt::format("{} line {}", file.path, command.line);
            }
        }
    }
    return std::nullopt;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) {
            out += sep;
        }
        out += item;
    }
    return out;
}

ModprobeCommand make(std::string verb, std::string_view module, std::string rest) {
    ModprobeCommand command;
    command.verb = std::move(verb);
    command.module = std::string(module);
    command.rest = std::move(rest);
    return command;
}

enum class Mode { blacklist, hard, softdep };

// The same judgement as the conf queries, for one command (to say where it is).
std::vector<ModprobeFile> single(const ModprobeCommand& command) {
    ModprobeFile file;
    file.commands.push_back(command);
    return {file};
}

bool softdep_has_vfio(const ModprobeCommand& command) {
    const auto pre = conf::softdep_pre(single(command), command.module);
    return std::find(pre.begin(), pre.end(), "vfio_pci") != pre.end();
}

// The lines for one vendor, skipping what other files already say.
std::vector<ModprobeCommand> vendor_commands(const GpuVendor& vendor,
                                             Mode mode,
                                             const std::vector<ModprobeFile>& others,
                                             std::vector<std::string>& notes) {
    std::vector<ModprobeCommand> commands;
    std::vector<std::string> already;
    const auto any = [](const ModprobeCommand&) {
        return true;
    };
    if (mode == Mode::softdep) {
        for (const auto module_view : vendor.softdeps) {
            const std::string module(module_view);
            const auto where = find_command(others, "softdep", module, softdep_has_vfio);
            const auto pre = conf::softdep_pre(others, module);
            if (std::find(pre.begin(), pre.end(), "vfio_pci") != pre.end()) {
                already.push_back(fmt::format("softdep {} pre: vfio-pci ({})",
                                              module,
                                              where.value_or("another modprobe.d file")));
                continue;
            }
            commands.push_back(make("softdep", module, "pre: vfio-pci"));
        }
    } else {
        for (const auto module_view : vendor.modules) {
            const std::string module(module_view);
            if (const auto where = find_command(others, "blacklist", module, any)) {
                already.push_back(fmt::format("blacklist {} ({})", module, *where));
            } else {
                commands.push_back(make("blacklist", module, ""));
            }
            if (mode != Mode::hard) {
                continue;
            }
            if (conf::is_install_disabled(others, module)) {
                const auto where = find_command(others, "install", module, [&](const auto& c) {
                    return conf::is_install_disabled(single(c), module);
                });
                already.push_back(fmt::format(
                    "install {} ... ({})", module, where.value_or("another modprobe.d file")));
            } else {
                commands.push_back(make("install", module, "/bin/false"));
            }
        }
    }
    if (!already.empty()) {
        notes.push_back(
            fmt::format("already in modprobe.d, not repeated: {}", join(already, "; ")));
    }
    return commands;
}

} // namespace

const GpuVendor* find_gpu_vendor(std::uint16_t vendor) {
    for (const auto& known : gpu_vendors()) {
        if (known.id == vendor) {
            return &known;
        }
    }
    return nullptr;
}

std::vector<const pci::Device*> select_gpus(const pci::Topology& topology,
                                            const std::vector<std::string>& selectors) {
    std::vector<const pci::Device*> gpus;
    for (const auto& selector : selectors) {
        const pci::Selector sel = pci::parse_selector(selector);
        const auto first = gpus.size();
        bool any = false;
        for (const auto& dev : topology.devices) {
            if (sel.matches(dev)) {
                any = true;
                if (dev.is_display()) {
                    gpus.push_back(&dev);
                }
            }
        }
        if (!any) {
            throw Error(fmt::format(
                "no PCI device matches '{}' under /sys/bus/pci/devices; display devices on this "
                "host:{}",
                sel.text,
                describe_displays(topology)));
        }
        if (gpus.size() == first) {
            throw UsageError(fmt::format("'{}' matches no display device (class 03xx): pt "
                                         "blacklist keeps GPU drivers off a GPU; display devices "
                                         "on this host:{}",
                                         sel.text,
                                         describe_displays(topology)));
        }
    }
    if (!selectors.empty()) {
        // Pointers into topology.devices: their order is the topology's.
        std::sort(gpus.begin(), gpus.end());
        gpus.erase(std::unique(gpus.begin(), gpus.end()), gpus.end());
        return gpus;
    }
    for (const auto& dev : topology.devices) {
        if (dev.is_display() && dev.driver == "vfio-pci") {
            gpus.push_back(&dev);
        }
    }
    if (!gpus.empty()) {
        return gpus;
    }
    for (const auto& dev : topology.devices) {
        if (dev.is_display() && !dev.boot_vga.value_or(false)) {
            gpus.push_back(&dev);
        }
    }
    if (gpus.size() == 1) {
        return gpus;
    }
    throw UsageError(fmt::format(
        "cannot tell which GPU is passed through ({}): name it, e.g. pt blacklist 01:00; display "
        "devices on this host:{}",
        gpus.empty() ? "no display device is on vfio-pci or other than the boot VGA"
                     : "none is on vfio-pci and several are not the boot VGA",
        describe_displays(topology)));
}

std::string render_blacklist_conf(const std::vector<ModprobeCommand>& commands) {
    std::vector<ModprobeCommand> sorted = commands;
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
        return std::tuple(module_rank(a.module), verb_rank(a.verb))
               < std::tuple(module_rank(b.module), verb_rank(b.verb));
    });
    std::string text =
        "# Written by pt blacklist. pt owns this whole file and rewrites it; edit it "
        "only through pt.\n"
        "# Remove it with: pt blacklist --remove --apply\n"
        "# blacklist M: udev does not load M for a device (modprobe M still "
        "works).\n"
        "# install M /bin/false: M never loads. softdep M pre: vfio-pci: vfio-pci "
        "loads first.\n";
    const auto& vendors = gpu_vendors();
    std::optional<std::size_t> group;
    for (const auto& command : sorted) {
        const std::size_t v = module_rank(command.module).first;
        if (group != v) {
            group = v;
            text += v < vendors.size()
                        ? fmt::format("\n# {} ({:04x})\n", vendors[v].name, vendors[v].id)
                        : std::string("\n# Other modules\n");
        }
        text += command.verb + " " + command.module;
        if (!command.rest.empty()) {
            text += " " + command.rest;
        }
        text += "\n";
    }
    return text;
}

namespace {

std::vector<pci::Address> addresses_of(const std::vector<const pci::Device*>& devices) {
    std::vector<pci::Address> out;
    for (const auto* device : devices) {
        out.push_back(device->address);
    }
    return out;
}

} // namespace

edit::Plan plan_blacklist(const model::Host& model, const BlacklistRequest& request) {
    const host::Root& root = model.root();
    const pci::Topology& topology = model.topology();
    if (request.softdep && request.hard) {
        throw UsageError("--softdep and --hard do not go together: choose softdep (vfio-pci "
                         "loads first, the driver stays usable) or --hard (the driver never "
                         "loads)");
    }
    if (request.remove && (request.softdep || request.hard)) {
        throw UsageError("--remove takes pt's entries out; it does not go with --softdep or "
                         "--hard");
    }

    edit::Plan plan;
    plan.title = request.title;
    const std::string path(k_blacklist_conf);
    std::optional<std::string> before;
    if (root.exists(path)) {
        before = root.read_file(path);
    }
    const std::vector<ModprobeCommand> mine =
        before ? conf::parse_modprobe(*before) : std::vector<ModprobeCommand>{};

    const auto finish = [&](std::optional<std::string> after, std::string reason) {
        if (after == before) {
            return;
        }
        edit::add_file(plan, {path, before, std::move(after), 0644, std::move(reason)});
        // mkinitramfs copies /etc/modprobe.d into the initramfs, where the GPU drivers may load
        // before the root file system is mounted (ground truth §6; pve-docs).
        edit::add_follow_up(plan, edit::FollowUp::update_initramfs);
        plan.reboot_needed = true;
    };

    if (request.remove && request.selectors.empty()) {
        if (!before) {
            plan.notes.push_back(fmt::format("{} does not exist: pt has nothing to remove", path));
        }
        finish(std::nullopt, "remove pt's module blacklist");
        return plan;
    }

    const auto gpus = select_gpus(topology, request.selectors);
    std::vector<const GpuVendor*> vendors;
    for (const auto* gpu : gpus) {
        const GpuVendor* vendor = find_gpu_vendor(gpu->vendor);
        if (!vendor) {
            throw Error(fmt::format("pt knows no host drivers for vendor {:04x} ({}); it handles "
                                    "NVIDIA (10de), AMD (1002) and Intel (8086) GPUs",
                                    gpu->vendor,
                                    describe(*gpu)));
        }
        if (std::find(vendors.begin(), vendors.end(), vendor) == vendors.end()) {
            vendors.push_back(vendor);
        }
    }

    // pt's own entries for other vendors stay; this vendor's are recomputed.
    std::vector<ModprobeCommand> commands;
    for (const auto& command : mine) {
        const bool ours = std::any_of(vendors.begin(), vendors.end(), [&](const auto* v) {
            return is_vendor_module(*v, command.module);
        });
        if (!ours) {
            commands.push_back(command);
        }
    }

    if (request.remove) {
        std::vector<std::string> names;
        for (const auto* vendor : vendors) {
            names.emplace_back(vendor->name);
        }
        finish(commands.empty() ? std::nullopt
                                : std::optional<std::string>(render_blacklist_conf(commands)),
               fmt::format("remove pt's {} entries", join(names, " and ")));
        add_next_boot_notes(model, plan, addresses_of(gpus));
        return plan;
    }

    // pt bind's file does not count as "already said": pt unbind takes its softdep lines away
    // with the card, which must not lift the blacklist; and pt setup, which writes both files,
    // would otherwise drop the lines from this one the second time and never settle.
    std::vector<ModprobeFile> others = conf::read_modprobe_d(root);
    others.erase(std::remove_if(others.begin(),
                                others.end(),
                                [&](const ModprobeFile& f) {
                                    return f.path == path || f.path == k_vfio_conf;
                                }),
                 others.end());

    std::vector<std::string> targets;
    for (const auto* gpu : gpus) {
        targets.push_back(pci::format(gpu->address));
        if (gpu->driver && *gpu->driver != "vfio-pci") {
            plan.notes.push_back(fmt::format("{} is bound to {} now; the change takes effect at "
                                             "the next boot (pt bind --now moves it at once)",
                                             pci::format(gpu->address),
                                             *gpu->driver));
        }
    }

    std::vector<std::string> written;
    for (const auto* vendor : vendors) {
        // The host keeps a display device of this vendor when one is neither selected nor on
        // vfio-pci: blacklisting would take its driver away too.
        std::vector<const pci::Device*> host_gpus;
        for (const auto& dev : topology.devices) {
            const bool selected = std::find(gpus.begin(), gpus.end(), &dev) != gpus.end();
            if (dev.is_display() && dev.vendor == vendor->id && !selected
                && dev.driver != "vfio-pci") {
                host_gpus.push_back(&dev);
            }
        }

        Mode mode = request.softdep ? Mode::softdep : request.hard ? Mode::hard : Mode::blacklist;
        if (!host_gpus.empty()) {
            std::vector<std::string> held;
            for (const auto* dev : host_gpus) {
                held.push_back(describe(*dev));
            }
            plan.notes.push_back(fmt::format(
                "the host keeps {} GPU {}, which needs the same drivers: not blacklisting them; "
                "softdep M pre: vfio-pci loads vfio-pci first instead, so it can claim {} "
                "(vfio-pci still has to be told which device: vfio-pci.ids= cannot tell identical "
                "cards apart, pt bind can)",
                vendor->name,
                join(held, "; "),
                join(targets, ", ")));
            if (request.hard) {
                plan.notes.push_back(fmt::format("--hard ignored for {}: install M /bin/false "
                                                 "would leave the host's GPU without a driver",
                                                 vendor->name));
            }
            mode = Mode::softdep;
            for (const auto module_view : vendor->modules) {
                const std::string module(module_view);
                if (const auto where = find_command(
                        others, "blacklist", module, [](const auto&) { return true; })) {
                    plan.notes.push_back(fmt::format("{} is blacklisted in {}: udev will not load "
                                                     "it for the host's GPU either",
                                                     module,
                                                     *where));
                }
            }
        } else if (mode == Mode::hard) {
            plan.notes.push_back(
                "--hard: blacklist only stops loading by device alias (udev); modprobe by name "
                "and loading as another module's dependency still work, so install M /bin/false "
                "makes modprobe run /bin/false instead of loading M (modprobe.d(5))");
        }

        auto lines = vendor_commands(*vendor, mode, others, plan.notes);
        for (const auto& line : lines) {
            written.push_back(line.module);
        }
        commands.insert(commands.end(), lines.begin(), lines.end());
    }

    written.erase(std::unique(written.begin(), written.end()), written.end());
    std::optional<std::string> after;
    if (!commands.empty()) {
        after = render_blacklist_conf(commands);
    }
    finish(std::move(after),
           written.empty()
               ? std::string("pt's entries are no longer needed")
               : fmt::format("keep {} off {}", join(written, ", "), join(targets, ", ")));
    add_next_boot_notes(model, plan, addresses_of(gpus));
    return plan;
}

} // namespace pt::driver
