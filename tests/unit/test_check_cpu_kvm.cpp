// SPDX-License-Identifier: MIT
#include "pt/check/host_context.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <string>
#include <vector>

using pt::check::Check;
using pt::check::Status;
using pt::test::TempRoot;

namespace {

// cpu.virtualization then kvm.device, always both.
std::vector<Check> run(const TempRoot& tmp) {
    const pt::model::Host model{pt::host::Root(tmp.path())};
    const pt::check::HostContext ctx(model);
    std::vector<Check> out;
    pt::check::check_cpu_kvm(ctx, out);
    REQUIRE(out.size() == 2);
    CHECK(out[0].finding.id == "cpu.virtualization");
    CHECK(out[1].finding.id == "kvm.device");
    return out;
}

void cpuinfo(const TempRoot& tmp, const std::string& vendor, const std::string& flags) {
    tmp.write("/proc/cpuinfo",
              "processor\t: 0\nvendor_id\t: " + vendor + "\nflags\t\t: " + flags
                  + "\n\nprocessor\t: 1\nvendor_id\t: " + vendor + "\nflags\t\t: fpu\n");
}

} // namespace

TEST_CASE("check::cpu_kvm: a KVM host passes both", "[check][cpu_kvm]") {
    TempRoot tmp;
    SECTION("Intel: vmx") {
        cpuinfo(tmp, "GenuineIntel", "fpu vme vmx ept");
        tmp.write("/dev/kvm", "");
        const auto out = run(tmp);
        CHECK(out[0].finding.status == Status::pass);
        CHECK(out[0].finding.summary == "the CPU reports vmx");
        CHECK(out[1].finding.status == Status::pass);
        CHECK(out[1].finding.summary == "/dev/kvm exists");
    }
    SECTION("AMD: svm, the flag last on the line") {
        cpuinfo(tmp, "AuthenticAMD", "fpu vme svm");
        tmp.write("/dev/kvm", "");
        const auto out = run(tmp);
        CHECK(out[0].finding.status == Status::pass);
        CHECK(out[0].finding.summary == "the CPU reports svm");
    }
    SECTION("only the first flags line counts") {
        tmp.write("/proc/cpuinfo",
                  "vendor_id\t: GenuineIntel\nflags\t\t: fpu\n\nflags\t\t: fpu vmx\n");
        CHECK(run(tmp)[0].finding.status == Status::fail);
    }
    SECTION("a flag is a whole word: vmxx is not vmx") {
        cpuinfo(tmp, "GenuineIntel", "fpu vmxx");
        CHECK(run(tmp)[0].finding.status == Status::fail);
    }
}

TEST_CASE("check::cpu_kvm: no virtualization flag", "[check][cpu_kvm]") {
    TempRoot tmp;
    SECTION("Intel bare metal: VT-x is off in the firmware") {
        cpuinfo(tmp, "GenuineIntel", "fpu vme");
        const auto out = run(tmp);
        CHECK(out[0].finding.status == Status::fail);
        CHECK_THAT(out[0].finding.summary,
                   Catch::Contains("does not report vmx") && Catch::Contains("Intel VT-x"));
        CHECK(out[0].finding.fix
              == "enable \"Intel Virtualization Technology (VT-x)\" in the firmware setup and "
                 "reboot");
        CHECK(out[1].finding.status == Status::fail);
        CHECK(out[1].finding.summary
              == "/dev/kvm is missing: KVM cannot run without CPU virtualization");
        CHECK(out[1].finding.fix
              == "enable virtualization in the firmware setup (see cpu.virtualization)");
    }
    SECTION("AMD bare metal: SVM Mode") {
        cpuinfo(tmp, "AuthenticAMD", "fpu vme");
        const auto out = run(tmp);
        CHECK_THAT(out[0].finding.summary,
                   Catch::Contains("does not report svm") && Catch::Contains("AMD-V/SVM"));
        CHECK_THAT(out[0].finding.fix, Catch::Contains("\"SVM Mode\""));
    }
    SECTION("inside a VM without nested virtualization") {
        cpuinfo(tmp, "GenuineIntel", "fpu vme hypervisor");
        const auto out = run(tmp);
        CHECK(out[0].finding.status == Status::fail);
        CHECK_THAT(out[0].finding.summary,
                   Catch::Contains("a virtual machine without nested virtualization"));
        CHECK(out[0].finding.evidence == "/proc/cpuinfo flags: hypervisor, no vmx");
        CHECK_THAT(out[0].finding.fix, Catch::Contains("pt verify --guest"));
    }
    SECTION("no /proc/cpuinfo: skip, and /dev/kvm is still looked at") {
        tmp.write("/dev/kvm", "");
        const auto out = run(tmp);
        CHECK(out[0].finding.status == Status::skip);
        CHECK(out[0].finding.summary == "/proc/cpuinfo is missing from this root");
        CHECK(out[1].finding.status == Status::pass);
    }
}

TEST_CASE("check::cpu_kvm: /dev/kvm missing names the module and its state", "[check][cpu_kvm]") {
    TempRoot tmp;
    cpuinfo(tmp, "AuthenticAMD", "fpu svm");
    SECTION("no /proc/modules: unknown") {
        const auto c = run(tmp)[1];
        CHECK(c.finding.status == Status::fail);
        CHECK(c.finding.summary == "/dev/kvm is missing: the kvm_amd module is not loaded");
        CHECK(c.finding.evidence == "/dev/kvm: absent; kvm_amd: unknown (no /proc/modules)");
        CHECK(c.finding.fix == "modprobe kvm_amd; dmesg | grep -i kvm shows why it failed");
    }
    SECTION("not loaded") {
        tmp.write("/proc/modules", "kvm 1327104 0 - Live 0x0000000000000000\n");
        CHECK(run(tmp)[1].finding.evidence == "/dev/kvm: absent; kvm_amd: not loaded");
    }
    SECTION("loaded (the name as /proc/modules writes it)") {
        tmp.write("/proc/modules",
                  "kvm_amd 208896 0 - Live 0x0000000000000000\n"
                  "kvm 1327104 1 kvm_amd, Live 0x0000000000000000\n");
        CHECK(run(tmp)[1].finding.evidence == "/dev/kvm: absent; kvm_amd: loaded");
    }
}
