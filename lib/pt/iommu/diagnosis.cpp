// SPDX-License-Identifier: MIT
#include "pt/iommu/diagnosis.hpp"

#include "pt/iommu/groups.hpp"
#include "pt/kernel/host_facts.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace pt::iommu {
namespace {

bool has_value(const kernel::HostFacts& facts, std::string_view name, std::string_view value) {
    if (!facts.cmdline) {
        return false;
    }
    for (const auto& param : *facts.cmdline) {
        if (kernel::same_param_name(param.name, name) && param.value) {
            // intel_iommu=on,igfx_off: options are comma-separated.
            std::string_view rest = *param.value;
            while (!rest.empty()) {
                const auto comma = std::min(rest.find(','), rest.size());
                if (rest.substr(0, comma) == value) {
                    return true;
                }
                rest.remove_prefix(std::min(comma + 1, rest.size()));
            }
        }
    }
    return false;
}

} // namespace

Diagnosis diagnose_no_groups(const IommuState& state, const kernel::HostFacts& facts) {
    Diagnosis d;
    d.evidence.push_back(fmt::format("/sys/kernel/iommu_groups: no groups"));
    d.evidence.push_back(state.units.empty()
                             ? std::string("/sys/class/iommu: empty")
                             : fmt::format("/sys/class/iommu: {}", fmt::join(state.units, " ")));
    if (facts.cmdline_text) {
        d.evidence.push_back(fmt::format("/proc/cmdline: {}", *facts.cmdline_text));
    }
    if (facts.release) {
        d.evidence.push_back(fmt::format("/proc/sys/kernel/osrelease: {}", facts.release->text));
    }
    d.evidence.push_back(
        fmt::format("/proc/cpuinfo vendor: {}{}",
                    kernel::to_string(facts.cpu),
                    facts.hypervisor ? " (running as a virtual machine guest)" : ""));

    if (facts.hypervisor) {
        d.cause =
            "this system is a virtual machine: the host's IOMMU is not visible inside a guest";
        d.fix =
            "run pt iommu-groups on the Proxmox host; inside the guest, pt verify --guest checks "
            "the passed-through GPU";
        return d;
    }
    if (!state.units.empty()) {
        d.cause = "an IOMMU is registered but the kernel put no device into a group";
        d.fix = "check the kernel log (dmesg | grep -e DMAR -e AMD-Vi -e iommu) for errors, and "
                "update the firmware if the DMAR/IVRS table is reported as broken";
        return d;
    }
    if (has_value(facts, "intel_iommu", "off") || has_value(facts, "amd_iommu", "off")
        || has_value(facts, "iommu", "off")) {
        std::vector<std::string> off;
        for (const char* name : {"intel_iommu", "amd_iommu", "iommu"}) {
            if (has_value(facts, name, "off")) {
                off.push_back(std::string(name) + "=off");
            }
        }
        d.cause =
            fmt::format("the kernel command line switches the IOMMU off ({})", fmt::join(off, " "));
        // pt grub's defaults replace intel_iommu=off and drop off from amd_iommu= and iommu=.
        d.fix = fmt::format("pt grub --apply (it takes {} out of the file the bootloader reads "
                            "and runs update-grub or proxmox-boot-tool refresh), then reboot",
                            fmt::join(off, " and "));
        return d;
    }
    switch (facts.cpu) {
    case kernel::CpuVendor::intel: {
        const bool old_kernel = !facts.release || !facts.release->at_least(6, 8);
        if (old_kernel && !has_value(facts, "intel_iommu", "on")) {
            d.cause = fmt::format(
                "kernel {} does not enable the Intel IOMMU by default (only 6.8 and later do) "
                "and intel_iommu=on is not on the command line",
                facts.release ? facts.release->text : std::string("(unknown release)"));
            d.fix = "add intel_iommu=on to the kernel command line and reboot; also make sure "
                    "VT-d is enabled in the firmware setup";
        } else {
            d.cause = "VT-d is disabled in the firmware: the kernel enables the Intel IOMMU "
                      "whenever the firmware provides a DMAR table";
            d.fix = "enable \"VT-d\" (Intel Virtualization Technology for Directed I/O) in the "
                    "firmware setup and reboot";
        }
        break;
    }
    case kernel::CpuVendor::amd:
        d.cause = "the firmware does not enable the AMD IOMMU (no IVRS table); the kernel turns "
                  "it on by itself whenever the firmware does";
        d.fix = "enable \"IOMMU\" (sometimes \"AMD-Vi\") and SVM in the firmware setup and reboot; "
                "no kernel parameter is needed";
        if (has_value(facts, "amd_iommu", "on")) {
            d.fix += "; also remove amd_iommu=on, which is not a valid value (the kernel logs "
                     "\"AMD-Vi: Unknown option - 'on'\")";
        }
        if (has_value(facts, "intel_iommu", "on")) {
            d.fix += "; intel_iommu=on does nothing on an AMD CPU (only the Intel IOMMU driver "
                     "reads it), so it cannot be what is missing";
        }
        break;
    case kernel::CpuVendor::other:
    case kernel::CpuVendor::unknown:
        d.cause = "no IOMMU is active";
        d.fix = "enable the IOMMU in the firmware setup (Intel: VT-d, AMD: IOMMU/AMD-Vi); on "
                "Intel with a kernel older than 6.8, also add intel_iommu=on; then reboot";
        break;
    }
    return d;
}

} // namespace pt::iommu
