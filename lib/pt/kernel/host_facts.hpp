// SPDX-License-Identifier: MIT
#pragma once

#include "pt/kernel/cmdline.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::kernel {

enum class CpuVendor { intel, amd, other, unknown };

// A kernel release such as "6.8.12-4-pve" reduced to what decisions need.
struct Release {
    int major = 0;
    int minor = 0;
    std::string text;

    bool at_least(int want_major, int want_minor) const {
        return major > want_major || (major == want_major && minor >= want_minor);
    }
};

// "6.8.12-4-pve" -> {6, 8}. nullopt when the text does not start with "N.N".
std::optional<Release> parse_release(std::string_view text);

// The vendor_id line of /proc/cpuinfo text ("GenuineIntel", "AuthenticAMD").
CpuVendor parse_cpu_vendor(std::string_view cpuinfo);

std::string_view to_string(CpuVendor vendor);

// True when the first "flags" line of /proc/cpuinfo text lists "hypervisor" (the CPUID bit
// every hypervisor sets for its guests).
bool parse_hypervisor_flag(std::string_view cpuinfo);

// What the running kernel says about itself; each part is nullopt (unknown) when its file is
// missing from the root.
struct HostFacts {
    CpuVendor cpu = CpuVendor::unknown;
    std::optional<Release> release;            // /proc/sys/kernel/osrelease
    std::optional<std::vector<Param>> cmdline; // /proc/cmdline
    std::optional<std::string> cmdline_text;
    bool efi = false;        // /sys/firmware/efi exists
    bool hypervisor = false; // cpuinfo flags say pt runs inside a VM
};

HostFacts read_host_facts(const host::Root& root);

} // namespace pt::kernel
