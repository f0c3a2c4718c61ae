// SPDX-License-Identifier: MIT
#include "pt/check/report.hpp"
#include "support/catch.hpp"

#include <string>

using pt::check::Check;
using pt::check::Finding;
using pt::check::Report;
using pt::check::Status;

namespace {

Report sample() {
    Report r;
    r.checks.push_back(Check{
        "CPU virtualization flag (vmx/svm)",
        Finding{
            "cpu.virtualization", Status::pass, "the CPU reports vmx", "/proc/cpuinfo flags", ""}});
    r.checks.push_back(
        Check{"0000:01:00.0 driver in use",
              Finding{"gpu.driver",
                      Status::fail,
                      "the host driver nvidia still has the GPU",
                      "/sys/bus/pci/devices/0000:01:00.0/driver: nvidia\nsecond line",
                      "pt blacklist 0000:01:00 --apply"}});
    r.checks.push_back(Check{
        "IOMMU interrupt remapping",
        Finding{
            "iommu.interrupt-remapping", Status::skip, "the kernel log is not available", "", ""}});
    r.checks.push_back(
        Check{"module lists for vfio_virqfd",
              Finding{"modules.vfio-virqfd", Status::warn, "listed", "", "remove it"}});
    return r;
}

} // namespace

TEST_CASE("check::Report::summary counts every status", "[check][report]") {
    const auto s = sample().summary();
    CHECK(s.pass == 1);
    CHECK(s.fail == 1);
    CHECK(s.skip == 1);
    CHECK(s.warn == 1);
    CHECK(sample().failed());
    Report ok;
    ok.checks.push_back(sample().checks[3]);
    CHECK_FALSE(ok.failed()); // warnings do not fail
}

TEST_CASE("check::to_json is exactly the documented schema", "[check][report]") {
    const auto j = pt::check::to_json(sample());
    REQUIRE(j.size() == 3);
    CHECK(j.begin().key() == "checks");
    CHECK(j["reboot_pending"] == false);
    REQUIRE(j["checks"].size() == 4);
    const auto& c = j["checks"][1];
    CHECK(c.size() == 5); // no "layers" on a check that does not know them
    CHECK(c["id"] == "gpu.driver");
    CHECK(c["status"] == "fail");
    CHECK(c["summary"] == "the host driver nvidia still has the GPU");
    CHECK(c["evidence"] == "/sys/bus/pci/devices/0000:01:00.0/driver: nvidia\nsecond line");
    CHECK(c["fix"] == "pt blacklist 0000:01:00 --apply");
    CHECK(j["summary"].dump() == R"({"pass":1,"warn":1,"fail":1,"skip":1})");
}

TEST_CASE("check::render_text: virt-host-validate lines, explanations, summary",
          "[check][report]") {
    const std::string text = pt::check::render_text(sample(), {});
    CHECK(text.starts_with("Checking CPU virtualization flag (vmx/svm)"));
    CHECK(text.find("Checking CPU virtualization flag (vmx/svm)                       : PASS\n")
          != std::string::npos);
    CHECK(text.find("Checking 0000:01:00.0 driver in use                              : FAIL\n"
                    "    cause:    the host driver nvidia still has the GPU\n"
                    "    evidence: /sys/bus/pci/devices/0000:01:00.0/driver: nvidia\n"
                    "              second line\n"
                    "    fix:      pt blacklist 0000:01:00 --apply\n")
          != std::string::npos);
    CHECK(text.find("    note:     the kernel log is not available\n") != std::string::npos);
    CHECK(text.ends_with("\n1 passed, 1 warned, 1 failed, 1 skipped\n"));
    CHECK(text.find("\033[") == std::string::npos);

    SECTION("quiet keeps the lines and the explanations of problems only") {
        const std::string q = pt::check::render_text(sample(), {false, true});
        CHECK(q.find("    cause:    the host driver") != std::string::npos);
        CHECK(q.find("note:") == std::string::npos);
        CHECK(q.find("passed,") == std::string::npos);
    }
    SECTION("colour only on the status word") {
        const std::string c = pt::check::render_text(sample(), {true, false});
        CHECK(c.find(": \033[31mFAIL\033[0m\n") != std::string::npos);
        CHECK(c.find(": \033[32mPASS\033[0m\n") != std::string::npos);
    }
}

TEST_CASE("check::Report: layers per check and reboot pending", "[check][report]") {
    Report r = sample();
    CHECK_FALSE(r.reboot_pending());
    pt::check::Layers held{true, true, true};
    r.checks[1].layers = held;
    CHECK_FALSE(r.reboot_pending()); // all three layers agree

    pt::check::Layers pending{true, true, false};
    r.checks[1].finding.status = Status::warn;
    r.checks[1].layers = pending;
    CHECK(r.reboot_pending());
    const auto j = pt::check::to_json(r);
    CHECK(j["reboot_pending"] == true);
    CHECK(j["checks"][1]["layers"].dump()
          == R"({"configured":true,"staged":true,"running":false})");
    const std::string text = pt::check::render_text(r, {});
    CHECK(text.find("    layers:   configured yes, staged yes, running no\n") != std::string::npos);
    CHECK(text.find("\nreboot pending: ") != std::string::npos);

    SECTION("an unknown layer is null, and a stale image is no pending reboot") {
        r.checks[1].layers = pt::check::Layers{true, std::nullopt, false};
        CHECK(pt::check::to_json(r)["checks"][1]["layers"]["staged"].is_null());
        r.checks[1].layers = pt::check::Layers{true, false, false};
        CHECK_FALSE(r.reboot_pending());
    }
    SECTION("a failed check is no pending reboot, whatever its layers") {
        r.checks[1].finding.status = Status::fail;
        CHECK_FALSE(r.reboot_pending());
    }
}
