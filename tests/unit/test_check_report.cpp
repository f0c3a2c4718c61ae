// SPDX-License-Identifier: MIT
#include "pt/check/verify.hpp"
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
    REQUIRE(j.size() == 2);
    CHECK(j.begin().key() == "checks");
    REQUIRE(j["checks"].size() == 4);
    const auto& c = j["checks"][1];
    CHECK(c.size() == 5);
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
