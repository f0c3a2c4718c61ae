// SPDX-License-Identifier: MIT
// gpu.select, gpu.driver, gpu.host-driver, gpu.group-bound, gpu.group-isolated, gpu.boot-vga,
// gpu.reset, gpu.rom.
#include "pt/check/host_context.hpp"
#include "pt/driver/bind.hpp"
#include "pt/driver/blacklist.hpp"
#include "pt/error.hpp"
#include "pt/iommu/isolation.hpp"
#include "pt/model/next_boot.hpp"
#include "pt/pci/selector.hpp"
#include "pt/proxmox/vm_config.hpp"
#include "pt/proxmox/vm_files.hpp"
#include "pt/rom/parse.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace pt::check {
namespace {

bool is_vfio(const std::optional<std::string>& driver) {
    return driver && (*driver == "vfio-pci" || iommu::is_vfio_safe_endpoint_driver(*driver))
           && *driver != "pci-stub";
}

// Where vfio-pci is told to claim `dev` by ID at boot ("/etc/modprobe.d/pt-vfio.conf:3: options
// vfio-pci ids=10de:2204,10de:1aef"), or empty. The value that counts is the last one, from the
// files and then the command line (conf::ModuleConfig::option).
std::string ids_source(const conf::ModuleConfig& config, const pci::Device& dev) {
    const auto ids = config.option("vfio_pci", "ids");
    if (!ids || !model::ids_cover(ids->value, dev)) {
        return {};
    }
    if (ids->source.line == 0) {
        return fmt::format("{}: vfio-pci.ids={}", ids->source.path, ids->value);
    }
    return fmt::format("{}: options vfio-pci ids={}", ids->source.describe(), ids->value);
}

std::string ids_source(const HostContext& ctx, const pci::Device& dev) {
    return ids_source(ctx.modprobe(), dev);
}

// How module `m` is kept off devices by a module configuration, or empty.
std::string module_kept_off(const conf::ModuleConfig& config, const std::string& m) {
    if (const auto where = config.kernel_blacklisted(m)) {
        return fmt::format("module_blacklist={} ({})", m, where->describe());
    }
    if (config.install_disabled(m)) {
        return fmt::format("install {} /bin/false", m);
    }
    if (config.blacklisted(m)) {
        return fmt::format("blacklist {}", m);
    }
    for (const auto& p : config.softdep_pre(m)) {
        if (conf::normalise_module(p.value) == "vfio_pci") {
            return fmt::format("softdep {} pre: vfio-pci", m);
        }
    }
    return {};
}

std::string module_kept_off(const HostContext& ctx, const std::string& m) {
    return module_kept_off(ctx.modprobe(), m);
}

// Whether the next boot keeps `gpu` from the host's drivers, judged on one module configuration
// and the text of pt's init-top hook: vfio-pci claims it by ID or by address (driver_override),
// or no host driver of its vendor can load.
bool claimed_at_boot(const conf::ModuleConfig& config,
                     const std::optional<std::string>& hook,
                     const pci::Device& gpu) {
    if (!ids_source(config, gpu).empty()) {
        return true;
    }
    if (hook && hook->find(pci::format(gpu.address)) != std::string::npos) {
        return true;
    }
    const auto* vendor = driver::find_gpu_vendor(gpu.vendor);
    if (vendor == nullptr) {
        return false;
    }
    // A softdep only orders the loads: without ids= vfio-pci, loaded first, claims nothing and the
    // host driver still binds. Only a module that cannot load at all leaves the GPU unclaimed.
    return std::all_of(vendor->softdeps.begin(), vendor->softdeps.end(), [&](auto m) {
        const std::string module(m);
        return config.kernel_blacklisted(module) || config.install_disabled(module)
               || config.blacklisted(module);
    });
}

// Whether the configuration names `dev` for vfio-pci at boot: by ID or in pt's init-top hook.
bool named_for_vfio(const HostContext& ctx, const pci::Device& dev) {
    if (!ids_source(ctx, dev).empty()) {
        return true;
    }
    const auto hook = ctx.root.read_file_if_exists(std::string(driver::k_hook));
    return hook && hook->find(pci::format(dev.address)) != std::string::npos;
}

// AMD GPUs whose reset does not work without gnif/vendor-reset (its README: Polaris 10/11/12,
// Vega 10/20, Navi 10/12/14), by device ID range as in vendor-reset's device table.
std::optional<std::string_view> amd_reset_family(std::uint16_t device) {
    struct Range {
        std::uint16_t first;
        std::uint16_t last;
        std::string_view family;
    };

    static constexpr std::array<Range, 9> ranges = {{
        {0x67c0, 0x67df, "Polaris 10"},
        {0x6fdf, 0x6fdf, "Polaris 10"},
        {0x67e0, 0x67ff, "Polaris 11"},
        {0x6980, 0x699f, "Polaris 12"},
        {0x6860, 0x687f, "Vega 10"},
        {0x66a0, 0x66af, "Vega 20"},
        {0x7310, 0x731f, "Navi 10"},
        {0x7360, 0x736f, "Navi 12"},
        {0x7340, 0x734f, "Navi 14"},
    }};
    for (const auto& r : ranges) {
        if (device >= r.first && device <= r.last) {
            return r.family;
        }
    }
    return std::nullopt;
}

std::string addr(const pci::Device& dev) {
    return pci::format(dev.address);
}

std::string driver_text(const std::optional<std::string>& driver) {
    return driver ? *driver : std::string("(none)");
}

// How the configured files keep the GPU from the host's drivers, in words, or empty.
std::string boot_claim_text(const HostContext& ctx, const pci::Device& gpu) {
    if (auto ids = ids_source(ctx, gpu); !ids.empty()) {
        return ids;
    }
    const auto hook = ctx.root.read_file_if_exists(std::string(driver::k_hook));
    if (hook && hook->find(pci::format(gpu.address)) != std::string::npos) {
        return fmt::format("{}: driver_override for {}", driver::k_hook, addr(gpu));
    }
    return {};
}

// The three layers of "the GPU is kept from the host's drivers at boot": the configured files,
// the next boot's initramfs, and the driver bound now (vfio-pci or none counts as held).
Layers driver_layers(const HostContext& ctx, const pci::Device& gpu) {
    Layers layers;
    layers.configured = claimed_at_boot(
        ctx.modprobe(), ctx.root.read_file_if_exists(std::string(driver::k_hook)), gpu);
    const auto& staged = ctx.host.staged();
    std::optional<bool> in_image;
    if (staged && staged->readable() && staged->modprobe) {
        in_image = claimed_at_boot(
            *staged->modprobe, staged->member_text("scripts/init-top/pt-vfio"), gpu);
    }
    layers.staged = staged_layer(ctx, in_image);
    layers.running = !gpu.driver || is_vfio(gpu.driver);
    return layers;
}

// Why a GPU is meant to stay on its host driver while passed through, with the evidence.
// A GPU a VM config passes without Proxmox binding it to vfio-pci (qemu-server PCI.pm
// prepare_pci_device): hostpci driver=keep ("neither reset nor bound to vfio-pci", for devices
// already on a VFIO variant driver), or an NVIDIA vGPU, whose card and VFs stay on nvidia.
struct StaysOnHost {
    enum class Kind { keep, vgpu };
    Kind kind = Kind::keep;
    std::string why;
    std::string evidence;
};

// The nvidia vGPU sysfs API on the device itself (a VF, or a pre-6.8 PF with mdev types) or on
// one of its VFs (virtfnN): on kernels from 6.8 the VFs carry the vGPU types (qemu-server
// PCI/Mdev.pm). Returns the path seen.
std::optional<std::string> nvidia_vgpu_api(const HostContext& ctx, const pci::Device& gpu) {
    if (gpu.vendor != 0x10de || gpu.driver != std::optional<std::string>("nvidia")) {
        return std::nullopt;
    }
    const std::string base = fmt::format("/sys/bus/pci/devices/{}", addr(gpu));
    for (const std::string_view api : {"mdev_supported_types", "nvidia/creatable_vgpu_types"}) {
        if (const auto path = fmt::format("{}/{}", base, api); ctx.root.exists(path)) {
            return path;
        }
    }
    // The kernel numbers the virtfnN links from 0 without gaps (pci_iov_sysfs_link).
    for (int vf = 0; ctx.root.exists(fmt::format("{}/virtfn{}", base, vf)); ++vf) {
        if (const auto path = fmt::format("{}/virtfn{}/nvidia/creatable_vgpu_types", base, vf);
            ctx.root.exists(path)) {
            return path;
        }
    }
    return std::nullopt;
}

// A hostpci entry with driver=keep (Proxmox neither resets the device nor binds it to vfio-pci:
// qemu-server PCI.pm prepare_pci_device) or mdev= (the host driver creates the mediated device),
// or an NVIDIA card whose driver offers vGPU types (PCI/Mdev.pm: mdev_supported_types, or
// nvidia/creatable_vgpu_types on kernels from 6.8). nullopt for an ordinary passthrough.
std::optional<StaysOnHost> stays_on_host(const HostContext& ctx, const pci::Device& gpu) {
    // ctx.vm_devices keeps no hostpci options besides romfile, so the entry is read again.
    for (const auto& vm_device : ctx.vm_devices) {
        if (vm_device.address != gpu.address) {
            continue;
        }
        for (const auto& file : proxmox::find_vms(ctx.root)) {
            if (file.vmid != vm_device.vmid || !file.local) {
                continue;
            }
            const auto text = ctx.root.read_file_if_exists(file.path);
            const auto option =
                text ? proxmox::VmConfig::parse(*text).find(vm_device.key) : std::nullopt;
            if (!option) {
                continue;
            }
            const auto hostpci = proxmox::parse_hostpci(option->value);
            const auto evidence =
                fmt::format("{}:{}: {}: {}", file.path, option->line, option->key, option->value);
            if (hostpci.driver == std::optional<std::string>("keep")) {
                return StaysOnHost{StaysOnHost::Kind::keep,
                                   fmt::format("VM {} passes it with driver=keep: Proxmox "
                                               "neither resets it nor binds it to vfio-pci",
                                               file.vmid),
                                   evidence};
            }
            if (hostpci.mdev) {
                return StaysOnHost{StaysOnHost::Kind::vgpu,
                                   fmt::format("VM {} gets a mediated device (mdev={}) of it: "
                                               "the host driver creates the vGPU, so the card "
                                               "stays on that driver",
                                               file.vmid,
                                               *hostpci.mdev),
                                   evidence};
            }
        }
    }
    if (const auto api = nvidia_vgpu_api(ctx, gpu)) {
        return StaysOnHost{StaysOnHost::Kind::vgpu,
                           "an NVIDIA vGPU card: it stays on the nvidia driver, which creates "
                           "the vGPUs",
                           *api + " exists"};
    }
    return std::nullopt;
}

void check_driver(const HostContext& ctx,
                  const pci::Device& gpu,
                  const std::optional<StaysOnHost>& host_owned,
                  std::vector<Check>& out) {
    const std::string what = addr(gpu) + " driver in use";
    const std::string slot = pci::format_slot(gpu.address);
    const Layers layers = driver_layers(ctx, gpu);
    std::string evidence =
        fmt::format("/sys/bus/pci/devices/{}/driver: {}", addr(gpu), driver_text(gpu.driver));
    if (const auto how = boot_claim_text(ctx, gpu); !how.empty()) {
        evidence += "\nconfigured: " + how;
    }
    if (layers.configured == true && layers.running == false) {
        evidence += "\nstaged: " + staged_state(ctx).evidence;
    }
    const auto push = [&](Status status, std::string summary, std::string fix = {}) {
        auto check = make(what, "gpu.driver", status, std::move(summary), evidence, std::move(fix));
        check.layers = layers;
        out.push_back(std::move(check));
    };
    if (host_owned && host_owned->kind == StaysOnHost::Kind::vgpu && gpu.driver
        && !is_vfio(gpu.driver)) {
        out.push_back(make(what,
                           "gpu.driver",
                           Status::pass,
                           fmt::format("on {}, as meant: {}", *gpu.driver, host_owned->why),
                           evidence + "\n" + host_owned->evidence));
        return;
    }
    if (host_owned && host_owned->kind == StaysOnHost::Kind::keep && !is_vfio(gpu.driver)) {
        // QEMU still opens it as -device vfio-pci, which needs a VFIO driver; with keep
        // Proxmox will not bind one at VM start.
        out.push_back(
            make(what,
                 "gpu.driver",
                 Status::fail,
                 fmt::format("{}, but it is on {}: QEMU opens it through VFIO, so the VM does not "
                             "start; driver=keep is for devices already on a VFIO driver (vfio-pci "
                             "or a variant such as mlx5_vfio_pci)",
                             host_owned->why,
                             driver_text(gpu.driver)),
                 evidence + "\n" + host_owned->evidence,
                 fmt::format("pt bind {} --apply, then reboot; or remove driver=keep from the VM's "
                             "hostpci entry so Proxmox binds vfio-pci when the VM starts",
                             slot)));
        return;
    }
    if (layers.configured == true && layers.staged == false) {
        push(Status::fail,
             "configured but not in the initramfs: the next boot still uses the old module "
             "configuration, so the host driver can take the GPU again",
             "update-initramfs -u -k all, then reboot");
        return;
    }
    if (layers.running == true) {
        const auto* vendor = driver::find_gpu_vendor(gpu.vendor);
        if (layers.configured == false && gpu.driver && vendor != nullptr) {
            // A failure although it works now: the next boot hands the GPU back to the host.
            push(Status::fail,
                 fmt::format("running but not configured: bound to {} now, but nothing keeps the "
                             "{} drivers off it at boot, so the host takes it back at the next "
                             "boot",
                             *gpu.driver,
                             vendor->name),
                 fmt::format("pt bind {} --apply (vfio-pci claims it at every boot), then reboot "
                             "when convenient",
                             slot));
            return;
        }
        push(Status::pass,
             gpu.driver ? "bound to " + *gpu.driver
                        : std::string("no driver bound; Proxmox binds vfio-pci when the VM "
                                      "starts"));
        return;
    }
    if (layers.configured == true) {
        push(Status::warn,
             fmt::format("reboot pending: vfio-pci is configured{} but {} still has the GPU from "
                         "this boot",
                         layers.staged == true ? " and in the initramfs" : "",
                         *gpu.driver),
             fmt::format("reboot; to switch now without a reboot: pt bind {} --now --apply", slot));
        return;
    }
    push(Status::fail,
         fmt::format("the host driver {} still has the GPU instead of vfio-pci (Proxmox shows it "
                     "as unassigned and cannot hand it over cleanly), and nothing configures "
                     "vfio-pci for it at boot",
                     *gpu.driver),
         fmt::format("pt bind {} --apply (it writes the vfio-pci ids= and softdep lines and runs "
                     "update-initramfs), then reboot; to switch now without a reboot: pt bind {} "
                     "--now --apply",
                     slot,
                     slot));
}

void check_host_driver(const HostContext& ctx,
                       const pci::Device& gpu,
                       const std::vector<const pci::Device*>& selected,
                       std::vector<Check>& out) {
    const std::string what = addr(gpu) + " host driver kept off";
    const auto* vendor = driver::find_gpu_vendor(gpu.vendor);
    const std::string ids = ids_source(ctx, gpu);
    std::vector<std::string> kept;
    std::vector<std::string> open;
    if (vendor != nullptr) {
        for (const auto m : vendor->softdeps) {
            const std::string how = module_kept_off(ctx, std::string(m));
            (how.empty() ? open : kept).push_back(how.empty() ? std::string(m) : how);
        }
    }
    // Identical or same-vendor display devices the host keeps: what the rules also hit.
    std::vector<std::string> collateral;
    for (const auto& other : ctx.topology.devices) {
        if (!other.is_display() || is_vfio(other.driver)
            || std::find(selected.begin(), selected.end(), &other) != selected.end()) {
            continue;
        }
        if (!ids.empty() && model::ids_cover(ids.substr(ids.rfind('=') + 1), other)) {
            collateral.push_back(
                fmt::format("vfio-pci ids= also claims {} (the same {:04x}:{:04x}, on {}) at boot",
                            addr(other),
                            other.vendor,
                            other.device,
                            driver_text(other.driver)));
        }
        if (other.driver && other.vendor == gpu.vendor) {
            const std::string how = module_kept_off(ctx, conf::normalise_module(*other.driver));
            if (how.starts_with("blacklist") || how.starts_with("install")) {
                collateral.push_back(fmt::format("{} also keeps {} off {}, which the host uses",
                                                 how,
                                                 *other.driver,
                                                 addr(other)));
            }
        }
    }
    std::vector<std::string> evidence;
    if (!ids.empty()) {
        evidence.push_back(ids);
    }
    for (const auto& k : kept) {
        evidence.push_back("modprobe.d: " + k);
    }
    if (!open.empty()) {
        evidence.push_back(fmt::format("modprobe.d: nothing keeps {} off", fmt::join(open, ", ")));
    }
    evidence.insert(evidence.end(), collateral.begin(), collateral.end());
    const std::string ev = fmt::format("{}", fmt::join(evidence, "\n"));
    if (!collateral.empty()) {
        out.push_back(make(what,
                           "gpu.host-driver",
                           Status::warn,
                           "the rules that keep the host driver off this GPU also hit a display "
                           "device the host keeps (identical or same-vendor GPUs)",
                           ev,
                           fmt::format("keep the host driver usable: pt blacklist {} --softdep "
                                       "--apply, and bind this GPU alone with pt bind {} --apply "
                                       "(driver_override) instead of vfio-pci ids=",
                                       pci::format_slot(gpu.address),
                                       pci::format_slot(gpu.address))));
        return;
    }
    if (vendor == nullptr || !ids.empty() || open.empty()) {
        out.push_back(make(what,
                           "gpu.host-driver",
                           Status::pass,
                           vendor == nullptr ? fmt::format("pt knows no host driver of vendor "
                                                           "{:04x}",
                                                           gpu.vendor)
                           : !ids.empty()    ? std::string("vfio-pci claims it by ID at boot")
                                             : "every host driver of " + std::string(vendor->name)
                                                + " is blacklisted or loads after vfio-pci",
                           ev));
        return;
    }
    const bool bound_to_host = gpu.driver && !is_vfio(gpu.driver);
    out.push_back(make(what,
                       "gpu.host-driver",
                       bound_to_host ? Status::fail : Status::warn,
                       fmt::format("nothing keeps {} off the GPU at boot: {}",
                                   fmt::join(open, ", "),
                                   bound_to_host ? "that is why the host driver has it"
                                                 : "after a reboot the host driver may take it "
                                                   "before vfio-pci"),
                       ev,
                       fmt::format("pt blacklist {} --apply (or --softdep when the host keeps "
                                   "another {} GPU), then update-initramfs -u -k all and reboot",
                                   pci::format_slot(gpu.address),
                                   vendor->name)));
}

// When the ids= vfio-pci gets (the last one) leaves `dev` out and comes after pt's own file
// (a file whose name sorts after pt-vfio.conf, or the command line), pt bind is refused for it:
// the exact edit of that line instead (remove it when pt's file already claims the device; join
// a list a space split; else add the device's ID to it).
std::optional<std::string> later_ids_fix(const HostContext& ctx, const pci::Device& dev) {
    const auto values = ctx.modprobe().option_values("vfio_pci", "ids");
    if (values.empty() || model::ids_cover(values.back().value, dev)) {
        return std::nullopt;
    }
    const auto& winner = values.back();
    const std::string_view pt_name = "pt-vfio.conf";
    const auto name = winner.source.path.substr(winner.source.path.rfind('/') + 1);
    if (winner.source.path == driver::k_vfio_conf
        || (winner.source.line != 0 && std::string_view(name) <= pt_name)) {
        return std::nullopt;
    }
    const bool pt_claims = std::any_of(values.begin(), values.end(), [&](const auto& v) {
        return v.source.path == driver::k_vfio_conf && model::ids_cover(v.value, dev);
    });
    const std::string id = fmt::format("{:04x}:{:04x}", dev.vendor, dev.device);
    std::string edit;
    if (winner.source.line == 0) {
        edit = pt_claims
                   ? fmt::format("pt grub --remove vfio-pci.ids={} --apply", winner.value)
                   : fmt::format("pt grub --add vfio-pci.ids={},{} --apply", winner.value, id);
    } else if (pt_claims) {
        edit = fmt::format("sed -i '{}d' {}", winner.source.line, winner.source.path);
    } else if (winner.value.ends_with(',')) {
        edit = fmt::format(
            "sed -i '{}s/,[[:space:]]*/,/g' {}", winner.source.line, winner.source.path);
    } else {
        edit = fmt::format(
            "sed -i '{}s/ids=/ids={},/' {}", winner.source.line, winner.source.path, id);
    }
    return fmt::format("{} ({} wins over pt's file; see modprobe.vfio-ids), then "
                       "update-initramfs -u -k all and reboot",
                       edit,
                       winner.source.describe());
}

void check_group(const HostContext& ctx, const pci::Device& gpu, std::vector<Check>& out) {
    const std::string what_bound = addr(gpu) + " IOMMU group bound to vfio-pci";
    const std::string what_iso = addr(gpu) + " IOMMU group isolated";
    if (!gpu.iommu_group) {
        out.push_back(make(what_bound,
                           "gpu.group-bound",
                           Status::skip,
                           "the device is in no IOMMU group (see iommu.enabled)"));
        out.push_back(make(what_iso,
                           "gpu.group-isolated",
                           Status::skip,
                           "the device is in no IOMMU group (see iommu.enabled)"));
        return;
    }
    std::vector<pci::Device> members;
    for (const auto& d : ctx.topology.devices) {
        if (d.iommu_group == gpu.iommu_group) {
            members.push_back(d);
        }
    }
    const auto verdict = iommu::judge(members, gpu.address, &ctx.topology);
    const std::string group = fmt::format("/sys/kernel/iommu_groups/{}", *gpu.iommu_group);
    std::vector<std::string> member_lines;
    for (const auto& m : members) {
        member_lines.push_back(fmt::format("{}/devices/{}: class {:06x}, driver {}",
                                           group,
                                           addr(m),
                                           m.class_code,
                                           driver_text(m.driver)));
    }
    const std::string ev = fmt::format("{}", fmt::join(member_lines, "\n"));
    if (verdict.blockers.empty()) {
        out.push_back(make(what_bound,
                           "gpu.group-bound",
                           Status::pass,
                           "every endpoint of the group is on vfio-pci or unbound",
                           ev));
    } else {
        std::vector<std::string> names;
        bool next_boot_claims = true; // every blocker is named for vfio-pci at boot
        for (const auto& b : verdict.blockers) {
            names.push_back(fmt::format("{} on {}", pci::format(b.address), b.driver));
            const auto* dev = ctx.topology.find(b.address);
            next_boot_claims = next_boot_claims && dev != nullptr && named_for_vfio(ctx, *dev);
        }
        const std::string slot = pci::format_slot(gpu.address);
        std::string summary = fmt::format(
            "VFIO cannot claim group {} while {} (Proxmox unbinds them when the VM starts)",
            *gpu.iommu_group,
            fmt::join(names, ", "));
        std::string fix = fmt::format("pt bind {} --apply", slot);
        bool all_staged = true;
        std::optional<std::string> overridden;
        for (const auto& b : verdict.blockers) {
            if (const auto* dev = ctx.topology.find(b.address)) {
                all_staged = all_staged && driver_layers(ctx, *dev).staged != false;
                if (!overridden) {
                    overridden = later_ids_fix(ctx, *dev);
                }
            }
        }
        if (next_boot_claims && !all_staged) {
            summary += "; the configuration hands them to vfio-pci, but the initramfs does not "
                       "have it yet";
            fix = "update-initramfs -u -k all, then reboot";
        } else if (next_boot_claims) {
            summary += "; the configuration hands them to vfio-pci at the next boot";
            fix = fmt::format("reboot; to switch now without a reboot: pt bind {} --now --apply",
                              slot);
        } else if (overridden) {
            // pt bind refuses while another ids= overrides pt's file: name what it names.
            summary += "; a vfio-pci ids= later than pt's file leaves them out, so pt bind would "
                       "be refused";
            fix = *overridden;
        }
        out.push_back(make(what_bound, "gpu.group-bound", Status::warn, summary, ev, fix));
    }
    if (verdict.isolated) {
        out.push_back(make(
            what_iso,
            "gpu.group-isolated",
            Status::pass,
            fmt::format("group {} holds only this GPU's functions (and bridges)", *gpu.iommu_group),
            ev));
    } else {
        std::vector<std::string> names;
        for (const auto& f : verdict.foreign) {
            names.push_back(fmt::format("{} (class {:06x}, {})",
                                        pci::format(f.address),
                                        f.class_code,
                                        driver_text(f.driver)));
        }
        out.push_back(
            make(what_iso,
                 "gpu.group-isolated",
                 Status::fail,
                 fmt::format("the GPU is grouped with other devices: {}; Proxmox takes all of them "
                             "from the host when the VM starts. {}",
                             fmt::join(names, ", "),
                             iommu::sharing_cause(verdict)),
                 ev,
                 fmt::format("{}", fmt::join(iommu::sharing_options(verdict), " "))));
    }
}

void check_boot_vga(const HostContext& ctx, const pci::Device& gpu, std::vector<Check>& out) {
    const std::string what = addr(gpu) + " boot display and host framebuffer";
    std::vector<std::string> bar;
    for (const auto& line : ctx.log_facts.bar_problems) {
        if (line.find(addr(gpu)) != std::string::npos) {
            bar.push_back(ctx.log.source + ": " + line);
        }
    }
    const std::string attr = fmt::format("/sys/bus/pci/devices/{}/boot_vga: ", addr(gpu));
    if (!bar.empty()) {
        out.push_back(make(what,
                           "gpu.boot-vga",
                           Status::fail,
                           "the kernel could not reserve the GPU's memory (BAR): the host "
                           "framebuffer still holds it",
                           fmt::format("{}", fmt::join(bar, "\n")),
                           "pt grub --sysfb-off --apply (initcall_blacklist=sysfb_init), then "
                           "reboot; or make another display the primary one in the firmware"));
    } else if (gpu.boot_vga == true) {
        out.push_back(make(what,
                           "gpu.boot-vga",
                           Status::warn,
                           "this GPU is the firmware's boot display: the host console and "
                           "framebuffer sit on it, and its ROM is only a shadow copy",
                           attr + "1",
                           "make another display (an iGPU or second card) the primary one in the "
                           "firmware if you can; otherwise expect no host console once vfio-pci "
                           "takes it (it removes the firmware framebuffer since Linux 6.0), and "
                           "supply a romfile"));
    } else {
        out.push_back(make(what,
                           "gpu.boot-vga",
                           Status::pass,
                           gpu.boot_vga ? "not the boot display"
                                        : "not a VGA-class device (no boot_vga attribute)",
                           gpu.boot_vga ? attr + "0" : attr + "absent"));
    }
}

// Every device on the GPU's bus is a function of its slot: a bus reset touches nothing else.
bool alone_on_bus(const HostContext& ctx, const pci::Device& gpu) {
    return std::none_of(
        ctx.topology.devices.begin(), ctx.topology.devices.end(), [&](const pci::Device& d) {
            return d.address.domain == gpu.address.domain && d.address.bus == gpu.address.bus
                   && d.address.device != gpu.address.device;
        });
}

void check_reset(const HostContext& ctx, const pci::Device& gpu, std::vector<Check>& out) {
    const std::string what = addr(gpu) + " reset method";
    const std::string path = fmt::format("/sys/bus/pci/devices/{}/reset_method: ", addr(gpu));
    const bool known = gpu.reset_methods.has_value();
    const std::vector<std::string> methods = gpu.reset_methods.value_or(std::vector<std::string>{});
    const std::string ev =
        known ? path
                    + (methods.empty() ? std::string("(none)")
                                       : fmt::format("{}", fmt::join(methods, " ")))
              : path + "absent (kernel before 5.15), reset exists";
    const auto has = [&](std::string_view m) {
        return std::find(methods.begin(), methods.end(), m) != methods.end();
    };
    if (gpu.vendor == 0x1002) {
        if (const auto family = amd_reset_family(gpu.device)) {
            if (has("device_specific")) {
                out.push_back(make(what,
                                   "gpu.reset",
                                   Status::pass,
                                   fmt::format("AMD {}: device_specific reset (vendor-reset) is "
                                               "selected",
                                               *family),
                                   ev));
            } else {
                out.push_back(make(
                    what,
                    "gpu.reset",
                    Status::fail,
                    fmt::format("AMD {} cannot be reset without vendor-reset: the VM hangs or the "
                                "host crashes when the VM starts a second time (reset bug)",
                                *family),
                    ev,
                    fmt::format("install gnif/vendor-reset (dkms), add vendor-reset to "
                                "/etc/modules-load.d/vendor-reset.conf, update-initramfs -u -k "
                                "all, reboot, then echo "
                                "device_specific > /sys/bus/pci/devices/{}/reset_method (its udev "
                                "rule does this); rombar=0 does not fix a reset",
                                addr(gpu))));
            }
            return;
        }
    }
    if (known && methods.empty()) {
        out.push_back(make(what,
                           "gpu.reset",
                           Status::fail,
                           "the GPU has no reset method: it cannot be reset between VM starts "
                           "(hang or crash at VM start)",
                           ev,
                           "start the VM only once per host boot, or use a GPU with FLR"));
    } else if (known && !has("flr") && !has("device_specific") && !has("af_flr") && has("bus")
               && alone_on_bus(ctx, gpu)) {
        // The usual case for GeForce cards: a secondary bus reset of the GPU's own port, which
        // reaches only the GPU's functions (vfio-pci resets them together, §10).
        out.push_back(make(what,
                           "gpu.reset",
                           Status::pass,
                           "bus reset; the GPU's functions are alone behind their bridge, so it "
                           "reaches nothing else",
                           ev));
    } else if (known && !has("flr") && !has("device_specific") && !has("af_flr")) {
        out.push_back(make(what,
                           "gpu.reset",
                           Status::warn,
                           fmt::format("no function-level reset, only {}: a bus reset also resets "
                                       "every device behind the same bridge",
                                       fmt::join(methods, " ")),
                           ev,
                           "keep the GPU's slot free of other devices; if the VM hangs at its "
                           "second start, reboot the host between VM starts"));
    } else {
        out.push_back(make(what,
                           "gpu.reset",
                           Status::pass,
                           known ? fmt::format("reset methods: {}", fmt::join(methods, " "))
                                 : std::string("the device can be reset"),
                           ev));
    }
}

void check_rom(const HostContext& ctx, const pci::Device& gpu, std::vector<Check>& out) {
    const std::string what = addr(gpu) + " option ROM";
    const std::string attr = fmt::format("/sys/bus/pci/devices/{}/rom", addr(gpu));
    const VmDevice* vm = nullptr;
    for (const auto& v : ctx.vm_devices) {
        if (v.address == gpu.address && v.ovmf && v.romfile) {
            vm = &v;
            break;
        }
    }
    if (vm != nullptr) {
        const std::string where =
            fmt::format("VM {} {}: romfile={}", vm->vmid, vm->key, *vm->romfile);
        if (vm->romfile->starts_with("/")) {
            out.push_back(make(what,
                               "gpu.rom",
                               Status::fail,
                               "romfile is an absolute path, but Proxmox always prefixes "
                               "/usr/share/kvm/ (the VM gets /usr/share/kvm/"
                                   + *vm->romfile + ")",
                               where,
                               fmt::format("copy the file to /usr/share/kvm/ and set romfile= to "
                                           "its name: qm set {} --{} ...,romfile=NAME.rom",
                                           vm->vmid,
                                           vm->key)));
            return;
        }
        const std::string path = host::join(proxmox::k_kvm_dir, *vm->romfile);
        const auto bytes = ctx.root.read_bytes(path, std::size_t{64} << 20U);
        if (!bytes) {
            out.push_back(make(
                what,
                "gpu.rom",
                Status::fail,
                "the VM's romfile does not exist",
                where + "\n" + path + ": missing",
                fmt::format("pt rom-dump {} (or put a known-good ROM at {})", addr(gpu), path)));
            return;
        }
        const auto report = rom::analyze_rom(*bytes);
        std::vector<std::string> images;
        for (const auto& image : report.images) {
            images.push_back(image.efi ? fmt::format("{} ({})",
                                                     rom::code_type_name(image.code_type),
                                                     rom::machine_name(image.efi->machine))
                                       : rom::code_type_name(image.code_type));
        }
        const std::string ev = fmt::format(
            "{}\n{}: {} bytes, images: {}",
            where,
            path,
            bytes->size(),
            images.empty() ? std::string("none") : fmt::format("{}", fmt::join(images, ", ")));
        if (report.usable_with_ovmf()) {
            out.push_back(make(what,
                               "gpu.rom",
                               Status::pass,
                               "the VM uses OVMF and its romfile holds an x64 EFI image",
                               ev));
        } else {
            out.push_back(make(
                what,
                "gpu.rom",
                Status::fail,
                report.fixable_by_strip()
                    ? std::string("the romfile starts with a vendor header (nvflash / GPU-Z "
                                  "dump): OVMF cannot load it")
                    : std::string("the VM uses OVMF but its romfile holds no loadable x64 EFI "
                                  "image (black screen, no GPU in the guest firmware)"),
                ev,
                fmt::format("pt rom-dump {} for a clean dump (pt rom-dump checks it), or use the "
                            "card's UEFI ROM",
                            addr(gpu))));
        }
        return;
    }
    std::vector<std::string> rom_log;
    for (const auto& line : ctx.log_facts.rom_problems) {
        if (line.find(addr(gpu)) != std::string::npos) {
            rom_log.push_back(ctx.log.source + ": " + line);
        }
    }
    const bool present = ctx.root.exists(attr);
    if (present && rom_log.empty()) {
        out.push_back(make(what,
                           "gpu.rom",
                           Status::pass,
                           "the GPU has a ROM BAR (pt rom-dump can save it)",
                           attr + ": present"));
    } else {
        out.push_back(
            make(what,
                 "gpu.rom",
                 Status::warn,
                 present ? "the kernel found no valid ROM image behind the ROM BAR"
                         : "the GPU has no ROM BAR: the guest firmware gets no option "
                           "ROM unless the VM names a romfile",
                 fmt::format("{}: {}{}",
                             attr,
                             present ? "present" : "absent",
                             rom_log.empty() ? std::string()
                                             : "\n" + fmt::format("{}", fmt::join(rom_log, "\n"))),
                 "give the VM a ROM: copy a known-good UEFI ROM to /usr/share/kvm/ and "
                 "set romfile=NAME.rom on its hostpci entry"));
    }
}

} // namespace

std::vector<const pci::Device*>
select_gpus(const HostContext& ctx, const std::optional<std::string>& selector, bool only_vm) {
    std::vector<const pci::Device*> out;
    if (selector) {
        const pci::Selector sel = pci::parse_selector(*selector);
        std::vector<const pci::Device*> any;
        for (const auto& d : ctx.topology.devices) {
            if (sel.matches(d)) {
                any.push_back(&d);
                if (d.is_display()) {
                    out.push_back(&d);
                }
            }
        }
        if (any.empty()) {
            throw Error(fmt::format("{} matches no PCI device; pt iommu-groups --gpu lists the "
                                    "GPUs",
                                    *selector));
        }
        return out.empty() ? any : out;
    }
    for (const auto& d : ctx.topology.devices) {
        if (!d.is_display()) {
            continue;
        }
        const bool in_vm = std::any_of(ctx.vm_devices.begin(),
                                       ctx.vm_devices.end(),
                                       [&](const VmDevice& v) { return v.address == d.address; });
        // With --vm, only that VM's GPUs (ctx.vm_devices then holds that VM alone).
        if (in_vm || (!only_vm && is_vfio(d.driver))) {
            out.push_back(&d);
        }
    }
    if (out.empty() && !only_vm) {
        // Right after pt bind, before the reboot: the GPUs the next boot hands to vfio-pci.
        for (const auto& d : ctx.topology.devices) {
            if (d.is_display() && named_for_vfio(ctx, d)) {
                out.push_back(&d);
            }
        }
    }
    return out;
}

void check_gpus(const HostContext& ctx,
                const std::vector<const pci::Device*>& gpus,
                std::vector<Check>& out,
                std::optional<int> vmid) {
    if (gpus.empty()) {
        std::vector<std::string> displays;
        const pci::Device* candidate = nullptr;
        for (const auto& d : ctx.topology.devices) {
            if (d.is_display()) {
                displays.push_back(fmt::format("{} on {}", addr(d), driver_text(d.driver)));
                if (candidate == nullptr || is_vfio(d.driver)) {
                    candidate = &d;
                }
            }
        }
        const std::string evidence =
            displays.empty() ? std::string("/sys/bus/pci/devices: no display device")
                             : fmt::format("display devices: {}", fmt::join(displays, ", "));
        if (vmid) {
            // --vm: the VM's config is the only source, whatever else the host has on vfio-pci.
            out.push_back(make(
                "the GPU to pass through",
                "gpu.select",
                Status::warn,
                fmt::format("VM {} passes no display device (no hostpci entry names one), so "
                            "there is no GPU of it to check",
                            *vmid),
                evidence,
                candidate != nullptr
                    ? fmt::format("pt vmconf {} {} --apply gives it that GPU; pt verify {} checks "
                                  "a GPU by address",
                                  *vmid,
                                  pci::format_slot(candidate->address),
                                  pci::format_slot(candidate->address))
                    : std::string("add a GPU to the host first")));
            return;
        }
        out.push_back(make("the GPU to pass through",
                           "gpu.select",
                           Status::warn,
                           "no display device is bound to vfio-pci, configured for it at boot "
                           "(vfio-pci ids=, pt's init-top hook) or named in a VM config, so there "
                           "is no GPU to check",
                           evidence,
                           "name the GPU: pt verify SEL (e.g. pt verify 01:00)"));
        return;
    }
    for (const auto* gpu : gpus) {
        const auto host_owned = stays_on_host(ctx, *gpu);
        check_driver(ctx, *gpu, host_owned, out);
        const bool vgpu = host_owned && host_owned->kind == StaysOnHost::Kind::vgpu;
        if (vgpu && gpu->driver && !is_vfio(gpu->driver)) {
            out.push_back(
                make(addr(*gpu) + " host driver kept off",
                     "gpu.host-driver",
                     Status::pass,
                     fmt::format("{} is meant to keep it ({})", *gpu->driver, host_owned->why),
                     host_owned->evidence));
        } else {
            check_host_driver(ctx, *gpu, gpus, out);
        }
        if (vgpu) {
            out.push_back(make(addr(*gpu) + " IOMMU group bound to vfio-pci",
                               "gpu.group-bound",
                               Status::pass,
                               "an NVIDIA vGPU: the nvidia driver provides the VFIO device "
                               "itself, and Proxmox does not rebind the group",
                               host_owned->evidence));
            out.push_back(make(addr(*gpu) + " IOMMU group isolated",
                               "gpu.group-isolated",
                               Status::skip,
                               "an NVIDIA vGPU shares the card by mediation, not by its IOMMU "
                               "group"));
        } else {
            check_group(ctx, *gpu, out);
        }
        check_boot_vga(ctx, *gpu, out);
        check_reset(ctx, *gpu, out);
        check_rom(ctx, *gpu, out);
    }
}

} // namespace pt::check
