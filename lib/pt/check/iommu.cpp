// SPDX-License-Identifier: MIT
// iommu.enabled, iommu.interrupt-remapping.
#include "pt/check/host_context.hpp"
#include "pt/iommu/diagnosis.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace pt::check {
namespace {

bool is_true(std::string_view value) {
    return value == "1" || value == "Y" || value == "y" || value == "on" || value == "true";
}

// Where allow_unsafe_interrupts is turned on, or empty.
std::string unsafe_interrupts_source(const HostContext& ctx) {
    if (const auto v =
            ctx.root.read_attr("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts");
        v && is_true(*v)) {
        return "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts: " + *v;
    }
    if (ctx.facts.cmdline) {
        if (const auto v =
                kernel::find_param(*ctx.facts.cmdline, "vfio_iommu_type1.allow_unsafe_interrupts");
            v && *v && is_true(**v)) {
            return "/proc/cmdline: vfio_iommu_type1.allow_unsafe_interrupts=" + **v;
        }
    }
    if (const auto v = conf::module_option(
            ctx.modprobe().files, "vfio_iommu_type1", "allow_unsafe_interrupts");
        v && is_true(*v)) {
        return "modprobe.d: options vfio_iommu_type1 allow_unsafe_interrupts=" + *v;
    }
    return {};
}

std::string last_lines(const std::vector<std::string>& lines, std::size_t n) {
    const std::size_t from = lines.size() > n ? lines.size() - n : 0;
    std::vector<std::string> tail(lines.begin() + static_cast<long>(from), lines.end());
    return fmt::format("{}", fmt::join(tail, "\n"));
}

} // namespace

void check_iommu(const HostContext& ctx, std::vector<Check>& out) {
    const auto& state = ctx.iommu;
    if (state.enabled()) {
        out.push_back(make(
            "IOMMU present (/sys/class/iommu, groups)",
            "iommu.enabled",
            Status::pass,
            fmt::format("{} IOMMU unit(s), {} groups", state.units.size(), state.groups.size()),
            fmt::format("/sys/class/iommu: {}; /sys/kernel/iommu_groups: {} groups",
                        fmt::join(state.units, " "),
                        state.groups.size())));
    } else {
        const auto d = iommu::diagnose_no_groups(state, ctx.facts);
        std::vector<std::string> evidence = d.evidence;
        if (ctx.log_available()) {
            evidence.push_back(ctx.log_facts.iommu_messages.empty()
                                   ? std::string("kernel log: no DMAR / AMD-Vi / IOMMU message")
                                   : "kernel log: " + last_lines(ctx.log_facts.iommu_messages, 3));
        }
        out.push_back(make("IOMMU present (/sys/class/iommu, groups)",
                           "iommu.enabled",
                           Status::fail,
                           "IOMMU not detected: " + d.cause,
                           fmt::format("{}", fmt::join(evidence, "\n")),
                           d.fix));
    }

    const std::string what = "IOMMU interrupt remapping";
    if (!state.enabled()) {
        out.push_back(make(what,
                           "iommu.interrupt-remapping",
                           Status::skip,
                           "no IOMMU: interrupt remapping needs one (see iommu.enabled)"));
        return;
    }
    if (!ctx.log_available()) {
        out.push_back(make(what,
                           "iommu.interrupt-remapping",
                           Status::skip,
                           "the kernel log is not available: " + ctx.log.unavailable));
        return;
    }
    const std::string unsafe = unsafe_interrupts_source(ctx);
    const auto& lf = ctx.log_facts;
    if (lf.interrupt_remapping == true) {
        out.push_back(make(what,
                           "iommu.interrupt-remapping",
                           Status::pass,
                           "interrupt remapping is enabled",
                           ctx.log.source + ": " + lf.remapping_message));
        return;
    }
    if (lf.interrupt_remapping == false) {
        if (!unsafe.empty()) {
            out.push_back(make(
                what,
                "iommu.interrupt-remapping",
                Status::warn,
                "interrupt remapping is off and VFIO runs with allow_unsafe_interrupts: a guest "
                "can inject interrupts into the host (MSI spoofing); it works, but the isolation "
                "is weaker",
                ctx.log.source + ": " + lf.remapping_message + "\n" + unsafe,
                "enable interrupt remapping in the firmware setup (Intel: VT-d with x2APIC; AMD: "
                "IOMMU) and update the firmware; then drop allow_unsafe_interrupts"));
        } else {
            out.push_back(make(
                what,
                "iommu.interrupt-remapping",
                Status::fail,
                "interrupt remapping is off: VFIO refuses to assign devices (\"No interrupt "
                "remapping support. Use the module param allow_unsafe_interrupts\")",
                ctx.log.source + ": " + lf.remapping_message,
                "enable interrupt remapping in the firmware setup (VT-d / IOMMU, x2APIC) and "
                "update the firmware; only if the platform has none, accept the risk with: echo "
                "\"options vfio_iommu_type1 allow_unsafe_interrupts=1\" > "
                "/etc/modprobe.d/iommu_unsafe_interrupts.conf && update-initramfs -u -k all"));
        }
        return;
    }
    out.push_back(make(what,
                       "iommu.interrupt-remapping",
                       Status::warn,
                       "the kernel log says nothing about interrupt remapping (the boot messages "
                       "may have rotated out of the ring buffer)",
                       ctx.log.source
                           + ": no \"Enabled IRQ remapping\" / \"Interrupt remapping "
                             "enabled\" message"
                           + (unsafe.empty() ? std::string() : "\n" + unsafe),
                       "check the boot log: journalctl -k -b | grep -i remapping"));
}

} // namespace pt::check
