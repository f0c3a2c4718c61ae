// SPDX-License-Identifier: MIT
#pragma once

// What every host check reads, read once (internal to lib/pt/check).

#include "pt/check/verify.hpp"
#include "pt/conf/modprobe.hpp"
#include "pt/host/root.hpp"
#include "pt/iommu/groups.hpp"
#include "pt/kernel/host_facts.hpp"
#include "pt/kernel/kernel_log.hpp"
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

struct HostContext {
    host::Root root;
    kernel::HostFacts facts;
    pci::Topology topology;
    iommu::IommuState iommu;
    std::vector<conf::ModprobeFile> modprobe;
    kernel::KernelLog log;
    kernel::KernelLogFacts log_facts; // empty when the log is unavailable
    // Names from /proc/modules (normalised); nullopt when the file is missing.
    std::optional<std::vector<std::string>> proc_modules;
    std::vector<VmDevice> vm_devices; // what the VM configs in scope pass through

    explicit HostContext(const host::Root& r)
        : root(r) {}

    // Loaded: listed in /proc/modules or built in (/sys/module/NAME exists). nullopt: unknown.
    std::optional<bool> module_loaded(std::string_view name) const;

    bool log_available() const { return log.lines.has_value(); }
};

HostContext load_host(const host::Root& root);

// Each area appends its checks in a fixed order.
void check_cpu_kvm(const HostContext& ctx, std::vector<Check>& out);
void check_iommu(const HostContext& ctx, std::vector<Check>& out);
void check_cmdline(const HostContext& ctx, std::vector<Check>& out);
void check_modules(const HostContext& ctx, std::vector<Check>& out);
void check_initramfs(const HostContext& ctx, std::vector<Check>& out);
void check_gpus(const HostContext& ctx,
                const std::vector<const pci::Device*>& gpus,
                std::vector<Check>& out);

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

// Small helpers shared by the areas.
Check make(std::string what,
           std::string id,
           Status status,
           std::string summary,
           std::string evidence = {},
           std::string fix = {});

} // namespace pt::check
