// SPDX-License-Identifier: MIT
#include "pt/host/root.hpp"
#include "pt/kernel/host_facts.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <optional>
#include <string>
#include <vector>

using namespace pt::kernel;
using pt::test::TempRoot;

namespace {

constexpr const char* k_intel_cpuinfo = "processor\t: 0\n"
                                        "vendor_id\t: GenuineIntel\n"
                                        "cpu family\t: 6\n"
                                        "model name\t: Intel(R) Core(TM) i9-10900K CPU @ 3.70GHz\n"
                                        "flags\t\t: fpu vme de pse tsc msr pae mce vmx\n"
                                        "\n"
                                        "processor\t: 1\n"
                                        "vendor_id\t: GenuineIntel\n"
                                        "flags\t\t: fpu vme de pse tsc msr pae mce vmx\n";

constexpr const char* k_guest_cpuinfo =
    "processor\t: 0\n"
    "vendor_id\t: AuthenticAMD\n"
    "flags\t\t: fpu vme de pse tsc msr pae hypervisor lahf_lm\n";

} // namespace

TEST_CASE("kernel::parse_release", "[kernel][host_facts]") {
    SECTION("accepted") {
        struct Case {
            const char* text;
            int major;
            int minor;
        };

        for (const Case& c : {Case{"6.8.12-4-pve", 6, 8},
                              Case{"5.15.0", 5, 15},
                              Case{"5.15.0-91-generic", 5, 15},
                              Case{"6.5", 6, 5},
                              Case{"6.11.0-1-pve", 6, 11},
                              Case{"10.0.0-rc1", 10, 0}}) {
            INFO(c.text);
            const auto release = parse_release(c.text);
            REQUIRE(release.has_value());
            CHECK(release->major == c.major);
            CHECK(release->minor == c.minor);
            CHECK(release->text == c.text);
        }
    }
    SECTION("rejected") {
        for (const char* text : {"", "garbage", "6", "6.", "6-pve", ".8", "v6.8", "six.eight"}) {
            INFO('"' << text << '"');
            CHECK_FALSE(parse_release(text).has_value());
        }
    }
    SECTION("at_least") {
        const auto release = parse_release("6.8.12-4-pve");
        REQUIRE(release.has_value());
        CHECK(release->at_least(6, 8));
        CHECK(release->at_least(6, 5));
        CHECK(release->at_least(5, 15));
        CHECK(release->at_least(0, 0));
        CHECK_FALSE(release->at_least(6, 9));
        CHECK_FALSE(release->at_least(7, 0));
        const auto old = parse_release("5.15.0");
        REQUIRE(old.has_value());
        CHECK(old->at_least(5, 15));
        CHECK_FALSE(old->at_least(6, 8));
        CHECK_FALSE(old->at_least(5, 16));
    }
}

TEST_CASE("kernel::parse_cpu_vendor", "[kernel][host_facts]") {
    CHECK(parse_cpu_vendor(k_intel_cpuinfo) == CpuVendor::intel);
    CHECK(parse_cpu_vendor(k_guest_cpuinfo) == CpuVendor::amd);
    CHECK(parse_cpu_vendor("vendor_id\t: AuthenticAMD\n") == CpuVendor::amd);
    CHECK(parse_cpu_vendor("vendor_id\t: HygonGenuine\n") == CpuVendor::amd);
    CHECK(parse_cpu_vendor("processor\t: 0\nvendor_id\t: CentaurHauls\n") == CpuVendor::other);
    CHECK(parse_cpu_vendor("processor\t: 0\nCPU implementer\t: 0x41\n") == CpuVendor::unknown);
    CHECK(parse_cpu_vendor("") == CpuVendor::unknown);
    SECTION("the first vendor_id line decides") {
        CHECK(parse_cpu_vendor("vendor_id : GenuineIntel\nvendor_id : AuthenticAMD\n")
              == CpuVendor::intel);
    }
    SECTION("to_string") {
        CHECK(to_string(CpuVendor::intel) == "intel");
        CHECK(to_string(CpuVendor::amd) == "amd");
        CHECK(to_string(CpuVendor::other) == "other");
        CHECK(to_string(CpuVendor::unknown) == "unknown");
    }
}

TEST_CASE("kernel::parse_hypervisor_flag", "[kernel][host_facts]") {
    CHECK(parse_hypervisor_flag(k_guest_cpuinfo));
    CHECK_FALSE(parse_hypervisor_flag(k_intel_cpuinfo));
    CHECK(parse_hypervisor_flag("flags\t\t: fpu hypervisor\n"));
    CHECK(parse_hypervisor_flag("flags\t\t: hypervisor fpu"));
    CHECK_FALSE(parse_hypervisor_flag("flags\t\t: fpu hypervisor_x\n"));
    CHECK_FALSE(parse_hypervisor_flag("flags\t\t: fpu xhypervisor\n"));
    CHECK_FALSE(parse_hypervisor_flag("model name\t: hypervisor\n"));
    CHECK_FALSE(parse_hypervisor_flag(""));
}

TEST_CASE("kernel::read_host_facts", "[kernel][host_facts]") {
    TempRoot tmp;

    SECTION("every file present") {
        tmp.write("/proc/cpuinfo", k_intel_cpuinfo);
        tmp.write("/proc/sys/kernel/osrelease", "6.5.13-6-pve\n");
        tmp.write("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-6.5.13-6-pve root=/dev/sda1 quiet\n");
        tmp.mkdir("/sys/firmware/efi");
        const pt::host::Root root(tmp.path());
        const auto facts = read_host_facts(root);
        CHECK(facts.cpu == CpuVendor::intel);
        CHECK_FALSE(facts.hypervisor);
        REQUIRE(facts.release.has_value());
        CHECK(facts.release->major == 6);
        CHECK(facts.release->minor == 5);
        CHECK(facts.release->text == "6.5.13-6-pve");
        CHECK(facts.cmdline_text
              == std::optional<std::string>(
                  "BOOT_IMAGE=/boot/vmlinuz-6.5.13-6-pve root=/dev/sda1 quiet"));
        REQUIRE(facts.cmdline.has_value());
        REQUIRE(facts.cmdline->size() == 3);
        CHECK((*facts.cmdline)[1] == Param{"root", std::string("/dev/sda1")});
        CHECK(facts.efi);
    }
    SECTION("a guest") {
        tmp.write("/proc/cpuinfo", k_guest_cpuinfo);
        const pt::host::Root root(tmp.path());
        const auto facts = read_host_facts(root);
        CHECK(facts.cpu == CpuVendor::amd);
        CHECK(facts.hypervisor);
    }
    SECTION("an empty root: everything unknown") {
        const pt::host::Root root(tmp.path());
        const auto facts = read_host_facts(root);
        CHECK(facts.cpu == CpuVendor::unknown);
        CHECK_FALSE(facts.hypervisor);
        CHECK_FALSE(facts.release.has_value());
        CHECK_FALSE(facts.cmdline.has_value());
        CHECK_FALSE(facts.cmdline_text.has_value());
        CHECK_FALSE(facts.efi);
    }
    SECTION("an unparsable release") {
        tmp.write("/proc/sys/kernel/osrelease", "mystery\n");
        const pt::host::Root root(tmp.path());
        CHECK_FALSE(read_host_facts(root).release.has_value());
    }
}
