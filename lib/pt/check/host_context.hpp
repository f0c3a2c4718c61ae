// SPDX-License-Identifier: MIT
#pragma once

// What every host check reads, read once (internal to lib/pt/check).

#include "pt/check/report.hpp"
#include "pt/conf/modprobe.hpp"
#include "pt/host/root.hpp"
#include "pt/iommu/groups.hpp"
#include "pt/kernel/host_facts.hpp"
#include "pt/kernel/kernel_log.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/topology.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pt::check {

// One hostpci entry of a VM config that names a host device (directly or through a mapping).
struct VmDevice {
    int vmid = 0;
    std::string key;      // "hostpci0"
    pci::Address address; // a function; slots are expanded to their functions
    bool ovmf = false;    // bios: ovmf
    std::optional<std::string> romfile;
};

// The checks' view of the host: the one model::Host of this command and its running parts,
// read once. The layered checks ask `host` for the configured and staged layers.
struct HostContext {
    model::Host host;
    host::Root root;
    kernel::HostFacts facts;
    pci::Topology topology;
    iommu::IommuState iommu;
    kernel::KernelLog log;
    kernel::KernelLogFacts log_facts; // empty when the log is unavailable
    // Names from /proc/modules (normalised); nullopt when the file is missing.
    std::optional<std::vector<std::string>> proc_modules;
    std::vector<VmDevice> vm_devices; // what the VM configs in scope pass through

    // Empty running parts over `r`, for unit tests that set them; `host` reads `r` itself.
    explicit HostContext(const host::Root& r)
        : host(r)
        , root(r) {}

    // Every part read from the model.
    explicit HostContext(const model::Host& model);

    // The effective module configuration of the next boot (files and configured command line).
    const conf::ModuleConfig& modprobe() const { return host.modprobe_configured(); }

    // Loaded: listed in /proc/modules or built in (/sys/module/NAME exists). nullopt: unknown.
    std::optional<bool> module_loaded(std::string_view name) const;

    bool log_available() const { return log.lines.has_value(); }
};

// Each area appends its checks in a fixed order.
void check_cpu_kvm(const HostContext& ctx, std::vector<Check>& out);
void check_iommu(const HostContext& ctx, std::vector<Check>& out);
void check_cmdline(const HostContext& ctx, std::vector<Check>& out);
void check_modules(const HostContext& ctx, std::vector<Check>& out);
void check_initramfs(const HostContext& ctx, std::vector<Check>& out);
void check_vfio_ids(const HostContext& ctx, std::vector<Check>& out);
// `vmid`: verify --vm, whose GPUs come from that VM's config alone.
void check_gpus(const HostContext& ctx,
                const std::vector<const pci::Device*>& gpus,
                std::vector<Check>& out,
                std::optional<int> vmid = std::nullopt);

// The GPUs verify looks at: with a selector, the devices it matches (display devices, or every
// match when none is one); without, the display devices named in a VM config in scope, and
// unless `only_vm` (--vm) also those on vfio-pci. Throws pt::Error when the selector matches no
// device.
std::vector<const pci::Device*> select_gpus(const HostContext& ctx,
                                            const std::optional<std::string>& selector,
                                            bool only_vm = false);

// VM configs: fills ctx.vm_devices (for the default GPU selection and the ROM check) and
// returns the vm.* and mapping.* checks. Throws pt::Error when `vmid` has no config.
std::vector<Check>
check_vms(HostContext& ctx, std::optional<int> vmid, std::vector<std::string>& notes);

// The next boot's initramfs against the configuration it is built from. `current`: true when the
// image holds the configured modprobe.d files, module list and pt's hook (read from the image),
// false when it does not; when the image cannot be read, false when it is older than a file it is
// built from and nullopt otherwise (by_mtime). nullopt also when no kernel or image exists.
struct StagedState {
    std::optional<bool> current;
    bool by_mtime = false;
    std::vector<std::string> differences; // "etc/modprobe.d/pt-vfio.conf: not in the initramfs"
    std::string evidence;                 // the image, how it was read, what decided
};

StagedState staged_state(const HostContext& ctx);

// The layer "staged" of a requirement: `in_image` (judged on the image's own files) when the
// image is readable; otherwise what the mtimes allow (false when stale, else unknown).
std::optional<bool> staged_layer(const HostContext& ctx, const std::optional<bool>& in_image);

// Seconds since the epoch of a host path's last change (links followed inside the root);
// nullopt when missing.
std::optional<std::int64_t> modified_at(const host::Root& root, std::string_view host_path);

// Small helpers shared by the areas.
Check make(std::string what,
           std::string id,
           Status status,
           std::string summary,
           std::string evidence = {},
           std::string fix = {});

} // namespace pt::check
