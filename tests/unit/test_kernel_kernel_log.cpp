// SPDX-License-Identifier: MIT
#include "pt/host/root.hpp"
#include "pt/kernel/kernel_log.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <string>
#include <vector>

using pt::kernel::read_log_facts;
using pt::kernel::split_kernel_log;
using Lines = std::vector<std::string>;

TEST_CASE("kernel::split_kernel_log strips the prefixes dmesg, kmsg and journalctl add",
          "[kernel][kernel_log]") {
    CHECK(split_kernel_log("[    0.106101] DMAR-IR: Enabled IRQ remapping in x2apic mode\n")
          == Lines{"DMAR-IR: Enabled IRQ remapping in x2apic mode"});
    CHECK(split_kernel_log("<6>[    2.052762] AMD-Vi: Interrupt remapping enabled")
          == Lines{"AMD-Vi: Interrupt remapping enabled"});
    CHECK(split_kernel_log("Nov 12 10:00:01 pve kernel: DMAR: IOMMU enabled\n")
          == Lines{"DMAR: IOMMU enabled"});
    SECTION("plain messages, blank lines and CRLF") {
        CHECK(split_kernel_log("vfio-pci 0000:01:00.0: enabling device\r\n\n  \nsecond\n")
              == Lines{"vfio-pci 0000:01:00.0: enabling device", "second"});
    }
    SECTION("a message that has brackets later keeps them") {
        CHECK(split_kernel_log("pci 0000:00:01.0: [8086:1901] type 01 class 0x060400")
              == Lines{"pci 0000:00:01.0: [8086:1901] type 01 class 0x060400"});
    }
    CHECK(split_kernel_log("").empty());
}

TEST_CASE("kernel::read_log_facts: interrupt remapping", "[kernel][kernel_log]") {
    SECTION("Intel enabled") {
        const auto f = read_log_facts(
            {"DMAR-IR: Queued invalidation will be enabled to support x2apic and Intr-remapping.",
             "DMAR-IR: Enabled IRQ remapping in x2apic mode"});
        CHECK(f.interrupt_remapping == true);
        CHECK(f.remapping_message == "DMAR-IR: Enabled IRQ remapping in x2apic mode");
        CHECK(f.iommu_messages.size() == 2);
    }
    SECTION("AMD enabled") {
        CHECK(read_log_facts({"AMD-Vi: Interrupt remapping enabled"}).interrupt_remapping == true);
    }
    SECTION("unavailable: x2apic message, vfio's refusal") {
        const auto f = read_log_facts({"x2apic: IRQ remapping doesn't support X2APIC mode, "
                                       "disable x2apic."});
        CHECK(f.interrupt_remapping == false);
        CHECK(read_log_facts({"vfio_iommu_type1: No interrupt remapping support.  Use the module "
                              "param \"allow_unsafe_interrupts\" to enable VFIO IOMMU support on "
                              "this platform"})
                  .interrupt_remapping
              == false);
    }
    SECTION("an enabled message wins over a later complaint") {
        CHECK(read_log_facts({"DMAR-IR: Enabled IRQ remapping in xapic mode",
                              "x2apic: IRQ remapping doesn't support X2APIC mode"})
                  .interrupt_remapping
              == true);
    }
    SECTION("nothing said") {
        const auto f = read_log_facts({"DMAR: IOMMU enabled", "DMAR: Host address width 39"});
        CHECK_FALSE(f.interrupt_remapping.has_value());
        CHECK(f.iommu_messages.size() == 2);
    }
}

TEST_CASE("kernel::read_log_facts: options, BARs, ROMs, vfio", "[kernel][kernel_log]") {
    const auto f = read_log_facts({
        "AMD-Vi: Unknown option - 'on'",
        "vfio-pci 0000:01:00.0: BAR 1: can't reserve [mem 0xc0000000-0xcfffffff 64bit pref]",
        "pci 0000:01:00.0: Invalid PCI ROM header signature: expecting 0xaa55, got 0xffff",
        "vfio-pci 0000:01:00.0: vfio_ecap_init: hiding ecap 0x19@0x900",
        "vfio-pci 0000:02:00.0: failed to open /dev/vfio/12",
        "usb 1-1: new high-speed USB device number 2 using xhci_hcd",
    });
    CHECK(f.unknown_options == Lines{"AMD-Vi: Unknown option - 'on'"});
    REQUIRE(f.bar_problems.size() == 1);
    CHECK(f.bar_problems[0].find("BAR 1: can't reserve") != std::string::npos);
    REQUIRE(f.rom_problems.size() == 1);
    CHECK(f.vfio_problems == Lines{"vfio-pci 0000:02:00.0: failed to open /dev/vfio/12"});
}

TEST_CASE("kernel::messages_about", "[kernel][kernel_log]") {
    const Lines lines = {"pci 0000:01:00.0: Adding to iommu group 2",
                         "pci 0000:01:00.1: Adding to iommu group 2",
                         "vfio-pci 0000:01:00.0: enabling device"};
    CHECK(pt::kernel::messages_about(lines, "0000:01:00.0")
          == Lines{"pci 0000:01:00.0: Adding to iommu group 2",
                   "vfio-pci 0000:01:00.0: enabling device"});
    CHECK(pt::kernel::messages_about(lines, "0000:02:00.0").empty());
}

TEST_CASE("kernel::read_kernel_log under a root reads pt snapshot's file", "[kernel][kernel_log]") {
    pt::test::TempRoot tmp;
    const pt::host::Root root(tmp.path());
    SECTION("missing: unavailable, naming the file") {
        const auto log = pt::kernel::read_kernel_log(root);
        CHECK_FALSE(log.lines.has_value());
        CHECK(log.unavailable.find("/var/lib/pt/snapshot/dmesg") != std::string::npos);
    }
    SECTION("present: its lines") {
        tmp.write("/var/lib/pt/snapshot/dmesg",
                  "[    0.1] DMAR: IOMMU enabled\n[    0.2] DMAR-IR: Enabled IRQ remapping in "
                  "x2apic mode\n");
        const auto log = pt::kernel::read_kernel_log(root);
        REQUIRE(log.lines.has_value());
        CHECK(*log.lines
              == Lines{"DMAR: IOMMU enabled", "DMAR-IR: Enabled IRQ remapping in x2apic mode"});
        CHECK(log.source == "/var/lib/pt/snapshot/dmesg");
        CHECK(log.unavailable.empty());
    }
}

using pt::kernel::kmsg_record_to_text;
using pt::kernel::syslog_to_text;

TEST_CASE("kernel::syslog_to_text removes the priority prefixes") {
    CHECK(syslog_to_text("<6>[    0.019700] DMAR: IOMMU enabled\n<4>[    1.0] x\nplain\n")
          == "[    0.019700] DMAR: IOMMU enabled\n[    1.0] x\nplain\n");
}

TEST_CASE("kernel::kmsg_record_to_text formats /dev/kmsg records like dmesg") {
    CHECK(kmsg_record_to_text("6,339,5140900,-;DMAR: IOMMU enabled\n")
          == "[    5.140900] DMAR: IOMMU enabled");
    CHECK(kmsg_record_to_text("6,340,12,-,caller=T1;AMD-Vi: x\n SUBSYSTEM=pci\n DEVICE=+pci:0\n")
          == "[    0.000012] AMD-Vi: x");
    CHECK(kmsg_record_to_text("no semicolon") == "");
    CHECK(kmsg_record_to_text("6,339;text") == "");
    CHECK(kmsg_record_to_text("6,339,abc,-;text") == "");
}
