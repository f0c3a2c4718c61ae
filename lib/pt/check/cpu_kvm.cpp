// SPDX-License-Identifier: MIT
// cpu.virtualization, kvm.device.
#include "pt/check/host_context.hpp"

#include <fmt/format.h>

namespace pt::check {
namespace {

// The words of the first "flags" line of /proc/cpuinfo, space padded: " fpu vme ... ".
std::optional<std::string> cpu_flags(const host::Root& root) {
    const auto text = root.read_attr("/proc/cpuinfo");
    if (!text) {
        return std::nullopt;
    }
    std::size_t pos = 0;
    while (pos < text->size()) {
        const auto end = std::min(text->find('\n', pos), text->size());
        const auto line = std::string_view(*text).substr(pos, end - pos);
        if (line.starts_with("flags")) {
            const auto colon = line.find(':');
            std::string flags = " ";
            for (const char c : line.substr(colon == std::string_view::npos ? 5 : colon + 1)) {
                flags += c == '\t' ? ' ' : c;
            }
            return flags + " ";
        }
        pos = end + 1;
    }
    return std::string();
}

} // namespace

void check_cpu_kvm(const HostContext& ctx, std::vector<Check>& out) {
    const bool amd = ctx.facts.cpu == kernel::CpuVendor::amd;
    const std::string flag = amd ? "svm" : "vmx";
    const std::string what = "CPU virtualization flag (vmx/svm)";
    const auto flags = cpu_flags(ctx.root);
    bool has_flag = false;
    if (!flags) {
        out.push_back(make(
            what, "cpu.virtualization", Status::skip, "/proc/cpuinfo is missing from this root"));
    } else {
        has_flag =
            flags->find(" vmx ") != std::string::npos || flags->find(" svm ") != std::string::npos;
        if (has_flag) {
            out.push_back(
                make(what,
                     "cpu.virtualization",
                     Status::pass,
                     fmt::format("the CPU reports {}",
                                 flags->find(" svm ") != std::string::npos ? "svm" : "vmx"),
                     "/proc/cpuinfo flags"));
        } else if (ctx.facts.hypervisor) {
            out.push_back(make(what,
                               "cpu.virtualization",
                               Status::fail,
                               fmt::format("the CPU does not report {}: this system is a virtual "
                                           "machine without nested virtualization",
                                           flag),
                               "/proc/cpuinfo flags: hypervisor, no " + flag,
                               "run pt verify on the Proxmox host itself; inside a guest use pt "
                               "verify --guest"));
        } else {
            out.push_back(
                make(what,
                     "cpu.virtualization",
                     Status::fail,
                     fmt::format("the CPU does not report {}: hardware virtualization ({}) is "
                                 "disabled in the firmware",
                                 flag,
                                 amd ? "AMD-V/SVM" : "Intel VT-x"),
                     "/proc/cpuinfo flags: no vmx, no svm",
                     fmt::format("enable \"{}\" in the firmware setup and reboot",
                                 amd ? "SVM Mode" : "Intel Virtualization Technology (VT-x)")));
        }
    }

    const std::string module = amd ? "kvm_amd" : "kvm_intel";
    const auto loaded = ctx.module_loaded(module);
    if (ctx.root.exists("/dev/kvm")) {
        out.push_back(make("/dev/kvm", "kvm.device", Status::pass, "/dev/kvm exists", "/dev/kvm"));
    } else {
        out.push_back(make(
            "/dev/kvm",
            "kvm.device",
            Status::fail,
            has_flag ? fmt::format("/dev/kvm is missing: the {} module is not loaded", module)
                     : "/dev/kvm is missing: KVM cannot run without CPU virtualization",
            fmt::format("/dev/kvm: absent; {}: {}",
                        module,
                        !loaded   ? "unknown (no /proc/modules)"
                        : *loaded ? "loaded"
                                  : "not loaded"),
            has_flag ? fmt::format("modprobe {}; dmesg | grep -i kvm shows why it failed", module)
                     : "enable virtualization in the firmware setup (see cpu.virtualization)"));
    }
}

} // namespace pt::check
