// SPDX-License-Identifier: MIT
#include "pt/check/host_context.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <string>
#include <vector>

using pt::check::Check;
using pt::check::Status;
using pt::test::DeviceSpec;
using pt::test::TempRoot;

namespace {

// iommu.enabled then iommu.interrupt-remapping, always both.
std::vector<Check> run(const TempRoot& tmp) {
    const pt::model::Host model{pt::host::Root(tmp.path())};
    const pt::check::HostContext ctx(model);
    std::vector<Check> out;
    pt::check::check_iommu(ctx, out);
    REQUIRE(out.size() == 2);
    CHECK(out[0].finding.id == "iommu.enabled");
    CHECK(out[1].finding.id == "iommu.interrupt-remapping");
    return out;
}

// An Intel host on 6.8 with one IOMMU unit and two groups.
void with_groups(TempRoot& tmp) {
    tmp.write("/proc/cpuinfo", "vendor_id\t: GenuineIntel\nflags\t\t: fpu vmx\n");
    tmp.write("/proc/sys/kernel/osrelease", "6.8.12-4-pve\n");
    tmp.write("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz ro quiet\n");
    tmp.mkdir("/sys/class/iommu/dmar0");
    DeviceSpec bridge;
    bridge.address = "0000:00:01.0";
    bridge.class_code = "060400";
    bridge.iommu_group = 1;
    tmp.add_device(bridge);
    DeviceSpec gpu;
    gpu.address = "0000:01:00.0";
    gpu.parent = "0000:00:01.0";
    gpu.iommu_group = 2;
    tmp.add_device(gpu);
}

const char* k_dmesg = "/var/lib/pt/snapshot/dmesg";

} // namespace

TEST_CASE("check::iommu: groups present", "[check][iommu]") {
    TempRoot tmp;
    with_groups(tmp);
    SECTION("no kernel log: remapping unknown, skip with the reason") {
        const auto out = run(tmp);
        CHECK(out[0].finding.status == Status::pass);
        CHECK(out[0].finding.summary == "1 IOMMU unit(s), 2 groups");
        CHECK(out[0].finding.evidence
              == "/sys/class/iommu: dmar0; /sys/kernel/iommu_groups: 2 groups");
        CHECK(out[1].finding.status == Status::skip);
        CHECK_THAT(out[1].finding.summary,
                   Catch::StartsWith("the kernel log is not available: ")
                       && Catch::Contains(k_dmesg));
    }
    SECTION("remapping enabled: pass, quoting the message") {
        tmp.write(k_dmesg,
                  "[    0.100000] DMAR: IOMMU enabled\n"
                  "[    0.200000] DMAR-IR: Enabled IRQ remapping in x2apic mode\n");
        const auto c = run(tmp)[1];
        CHECK(c.finding.status == Status::pass);
        CHECK(c.finding.evidence
              == std::string(k_dmesg) + ": DMAR-IR: Enabled IRQ remapping in x2apic mode");
    }
    SECTION("the log says nothing: warn") {
        tmp.write(k_dmesg, "[    0.100000] Linux version 6.8.12-4-pve\n");
        const auto c = run(tmp)[1];
        CHECK(c.finding.status == Status::warn);
        CHECK_THAT(c.finding.summary, Catch::Contains("says nothing about interrupt remapping"));
        CHECK(c.finding.fix == "check the boot log: journalctl -k -b | grep -i remapping");
    }
}

TEST_CASE("check::iommu: interrupt remapping off", "[check][iommu]") {
    TempRoot tmp;
    with_groups(tmp);
    tmp.write(
        k_dmesg,
        "[    0.200000] DMAR-IR: IRQ remapping doesn't support X2APIC mode, disable x2apic.\n");
    SECTION("without allow_unsafe_interrupts: fail, VFIO refuses") {
        const auto c = run(tmp)[1];
        CHECK(c.finding.status == Status::fail);
        CHECK_THAT(c.finding.summary, Catch::StartsWith("interrupt remapping is off"));
        CHECK(c.finding.evidence
              == std::string(k_dmesg)
                     + ": DMAR-IR: IRQ remapping doesn't support X2APIC mode, disable x2apic.");
        CHECK_THAT(c.finding.fix,
                   Catch::Contains("options vfio_iommu_type1 allow_unsafe_interrupts=1"));
    }
    SECTION("allowed in modprobe.d: warn, naming where") {
        tmp.write("/etc/modprobe.d/iommu_unsafe_interrupts.conf",
                  "options vfio_iommu_type1 allow_unsafe_interrupts=1\n");
        const auto c = run(tmp)[1];
        CHECK(c.finding.status == Status::warn);
        CHECK_THAT(c.finding.summary, Catch::Contains("MSI spoofing"));
        CHECK_THAT(c.finding.evidence,
                   Catch::EndsWith("\nmodprobe.d: options vfio_iommu_type1 "
                                   "allow_unsafe_interrupts=1"));
    }
    SECTION("allowed on the running module: warn") {
        tmp.write("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y\n");
        const auto c = run(tmp)[1];
        CHECK(c.finding.status == Status::warn);
        CHECK_THAT(c.finding.evidence,
                   Catch::EndsWith("/sys/module/vfio_iommu_type1/parameters/"
                                   "allow_unsafe_interrupts: Y"));
    }
    SECTION("allowed on the kernel command line: warn") {
        tmp.write("/proc/cmdline", "ro quiet vfio_iommu_type1.allow_unsafe_interrupts=1\n");
        const auto c = run(tmp)[1];
        CHECK(c.finding.status == Status::warn);
        CHECK_THAT(c.finding.evidence,
                   Catch::EndsWith("/proc/cmdline: vfio_iommu_type1.allow_unsafe_interrupts=1"));
    }
    SECTION("a parameter that is 0 allows nothing") {
        tmp.write("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "N\n");
        tmp.write("/etc/modprobe.d/x.conf", "options vfio_iommu_type1 allow_unsafe_interrupts=0\n");
        CHECK(run(tmp)[1].finding.status == Status::fail);
    }
}

TEST_CASE("check::iommu: no groups", "[check][iommu]") {
    TempRoot tmp;
    tmp.write("/proc/cpuinfo", "vendor_id\t: GenuineIntel\nflags\t\t: fpu vmx\n");
    tmp.write("/proc/sys/kernel/osrelease", "6.5.13-6-pve\n");
    tmp.write("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz ro quiet\n");
    SECTION("Intel 6.5 without intel_iommu=on: the parameter is the cause") {
        const auto out = run(tmp);
        CHECK(out[0].finding.status == Status::fail);
        CHECK_THAT(out[0].finding.summary,
                   Catch::StartsWith("IOMMU not detected: ") && Catch::Contains("intel_iommu=on"));
        CHECK_THAT(out[0].finding.fix, Catch::Contains("intel_iommu=on"));
        CHECK_THAT(out[0].finding.evidence, !Catch::Contains("kernel log"));
        CHECK(out[1].finding.status == Status::skip);
        CHECK(out[1].finding.summary
              == "no IOMMU: interrupt remapping needs one (see iommu.enabled)");
    }
    SECTION("with a log: its last IOMMU messages are evidence") {
        tmp.write(k_dmesg, "DMAR: one\nDMAR: two\nsomething else\nDMAR: three\nDMAR: four\n");
        CHECK_THAT(run(tmp)[0].finding.evidence,
                   Catch::EndsWith("kernel log: DMAR: two\nDMAR: three\nDMAR: four"));
    }
    SECTION("with a log that has none") {
        tmp.write(k_dmesg, "Linux version 6.5.13-6-pve\n");
        CHECK_THAT(run(tmp)[0].finding.evidence,
                   Catch::EndsWith("kernel log: no DMAR / AMD-Vi / IOMMU message"));
    }
}
