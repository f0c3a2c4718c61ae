// SPDX-License-Identifier: MIT
#include "pt/iommu/diagnosis.hpp"
#include "pt/iommu/groups.hpp"
#include "pt/kernel/host_facts.hpp"
#include "support/catch.hpp"

#include <algorithm>
#include <string>

using pt::iommu::diagnose_no_groups;
using pt::iommu::IommuState;
using pt::kernel::CpuVendor;
using pt::kernel::HostFacts;

namespace {

HostFacts facts(CpuVendor cpu, const char* release, const char* cmdline) {
    HostFacts f;
    f.cpu = cpu;
    if (release != nullptr) {
        f.release = pt::kernel::parse_release(release);
        REQUIRE(f.release.has_value());
    }
    if (cmdline != nullptr) {
        f.cmdline_text = cmdline;
        f.cmdline = pt::kernel::parse_cmdline(cmdline);
    }
    return f;
}

bool has_line_containing(const std::vector<std::string>& lines, const std::string& text) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) {
        return line.find(text) != std::string::npos;
    });
}

constexpr const char* k_plain_cmdline = "BOOT_IMAGE=/boot/vmlinuz root=/dev/mapper/pve-root quiet";

} // namespace

TEST_CASE("iommu::diagnose_no_groups on Intel", "[iommu][diagnosis]") {
    const IommuState none;

    SECTION("kernel 6.5 without intel_iommu=on: add it") {
        const auto d =
            diagnose_no_groups(none, facts(CpuVendor::intel, "6.5.13-6-pve", k_plain_cmdline));
        CHECK_THAT(d.cause, Catch::Contains("6.5.13-6-pve"));
        CHECK_THAT(d.cause, Catch::Contains("intel_iommu=on"));
        CHECK_THAT(d.fix, Catch::Contains("add intel_iommu=on"));
        CHECK(has_line_containing(d.evidence, "/proc/cmdline: " + std::string(k_plain_cmdline)));
        CHECK(has_line_containing(d.evidence, "6.5.13-6-pve"));
    }
    SECTION("kernel 5.15 needs the parameter too") {
        const auto d = diagnose_no_groups(none, facts(CpuVendor::intel, "5.15.0", "quiet"));
        CHECK_THAT(d.fix, Catch::Contains("intel_iommu=on"));
    }
    SECTION("unknown release: the parameter is still suggested") {
        const auto d = diagnose_no_groups(none, facts(CpuVendor::intel, nullptr, "quiet"));
        CHECK_THAT(d.fix, Catch::Contains("intel_iommu=on"));
    }
    SECTION("kernel 6.8: VT-d is off in the firmware, no parameter to add") {
        const auto d =
            diagnose_no_groups(none, facts(CpuVendor::intel, "6.8.12-4-pve", k_plain_cmdline));
        CHECK_THAT(d.cause, Catch::Contains("VT-d"));
        CHECK_THAT(d.cause, Catch::Contains("firmware"));
        CHECK_THAT(d.fix, Catch::Contains("VT-d"));
        CHECK_THAT(d.fix, !Catch::Contains("intel_iommu=on"));
        CHECK(has_line_containing(d.evidence, k_plain_cmdline));
    }
    SECTION("kernel 6.5 with intel_iommu=on already: blame the firmware") {
        const auto d = diagnose_no_groups(
            none, facts(CpuVendor::intel, "6.5.13-6-pve", "quiet intel_iommu=on,igfx_off"));
        CHECK_THAT(d.cause, Catch::Contains("VT-d"));
        CHECK_THAT(d.fix, !Catch::Contains("add intel_iommu=on"));
    }
    SECTION("intel_iommu=off on the command line") {
        const char* cmdline = "quiet intel_iommu=off";
        const auto d = diagnose_no_groups(none, facts(CpuVendor::intel, "6.8.12-4-pve", cmdline));
        CHECK_THAT(d.cause, Catch::Contains("command line switches the IOMMU off"));
        CHECK_THAT(d.fix, Catch::Contains("pt grub --apply (it takes intel_iommu=off out"));
        CHECK(has_line_containing(d.evidence, cmdline));
    }
}

TEST_CASE("iommu::diagnose_no_groups on AMD", "[iommu][diagnosis]") {
    const IommuState none;

    SECTION("no kernel parameter is needed") {
        const auto d =
            diagnose_no_groups(none, facts(CpuVendor::amd, "6.8.12-4-pve", k_plain_cmdline));
        CHECK_THAT(d.cause, Catch::Contains("firmware"));
        CHECK_THAT(d.fix, Catch::Contains("no kernel parameter is needed"));
        CHECK_THAT(d.fix, !Catch::Contains("amd_iommu=on"));
        CHECK_THAT(d.fix, !Catch::Contains("intel_iommu"));
    }
    SECTION("amd_iommu=on is called out as invalid") {
        const char* cmdline = "quiet amd_iommu=on iommu=pt";
        const auto d = diagnose_no_groups(none, facts(CpuVendor::amd, "6.8.12-4-pve", cmdline));
        CHECK_THAT(d.fix, Catch::Contains("no kernel parameter is needed"));
        CHECK_THAT(d.fix, Catch::Contains("amd_iommu=on"));
        CHECK_THAT(d.fix, Catch::Contains("not a valid value"));
        CHECK(has_line_containing(d.evidence, "/proc/cmdline: " + std::string(cmdline)));
    }
    SECTION("intel_iommu=on on an AMD CPU does nothing, and is said so") {
        const auto d = diagnose_no_groups(
            none, facts(CpuVendor::amd, "6.8.12-4-pve", "quiet intel_iommu=on iommu=pt"));
        CHECK_THAT(d.cause, Catch::Contains("the firmware does not enable the AMD IOMMU"));
        CHECK_THAT(d.fix,
                   Catch::Contains("no kernel parameter is needed")
                       && Catch::Contains("intel_iommu=on does nothing on an AMD CPU"));
    }
    SECTION("amd_iommu=off on the command line") {
        const auto d =
            diagnose_no_groups(none, facts(CpuVendor::amd, "6.8.12-4-pve", "amd-iommu=off"));
        CHECK_THAT(d.cause, Catch::Contains("command line switches the IOMMU off"));
    }
    SECTION("iommu=off on the command line") {
        const auto d = diagnose_no_groups(none, facts(CpuVendor::amd, "6.8.12-4-pve", "iommu=off"));
        CHECK_THAT(d.cause, Catch::Contains("command line switches the IOMMU off"));
    }
}

TEST_CASE("iommu::diagnose_no_groups, vendor-independent causes", "[iommu][diagnosis]") {
    SECTION("a hypervisor guest") {
        auto f = facts(CpuVendor::intel, "6.5.0", "quiet");
        f.hypervisor = true;
        const auto d = diagnose_no_groups(IommuState{}, f);
        CHECK_THAT(d.cause, Catch::Contains("virtual machine"));
        CHECK_THAT(d.fix, !Catch::Contains("intel_iommu=on"));
        CHECK(has_line_containing(d.evidence, "virtual machine"));
    }
    SECTION("units registered but no groups") {
        IommuState state;
        state.units = {"dmar0", "dmar1"};
        const auto d = diagnose_no_groups(state, facts(CpuVendor::intel, "6.5.0", "quiet"));
        CHECK_THAT(d.cause, Catch::Contains("registered"));
        CHECK_THAT(d.cause, Catch::Contains("no device into a group"));
        CHECK_THAT(d.fix, !Catch::Contains("add intel_iommu=on"));
        CHECK(has_line_containing(d.evidence, "/sys/class/iommu: dmar0 dmar1"));
    }
    SECTION("an unknown CPU vendor") {
        const auto d =
            diagnose_no_groups(IommuState{}, facts(CpuVendor::unknown, nullptr, nullptr));
        CHECK_THAT(d.cause, Catch::Contains("no IOMMU is active"));
        CHECK_FALSE(has_line_containing(d.evidence, "/proc/cmdline"));
        CHECK(has_line_containing(d.evidence, "/sys/class/iommu: empty"));
        CHECK(has_line_containing(d.evidence, "/sys/kernel/iommu_groups"));
    }
}
