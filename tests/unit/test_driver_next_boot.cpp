// SPDX-License-Identifier: MIT
#include "pt/driver/bind.hpp"
#include "pt/driver/next_boot.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"
#include "support/catch.hpp"
#include "support/devices.hpp"
#include "support/temp_root.hpp"

#include <string>
#include <vector>

using pt::edit::FileEdit;
using pt::edit::Plan;
using pt::test::addr;
using pt::test::DeviceSpec;
using pt::test::TempRoot;

namespace {

// An NVIDIA GPU on nvidia at 01:00.0.
void gpu_on_nvidia(TempRoot& tmp) {
    DeviceSpec gpu;
    gpu.address = "0000:01:00.0";
    gpu.driver = "nvidia";
    tmp.add_device(gpu);
}

Plan plan_of(const std::string& path, const std::string& after) {
    Plan plan;
    plan.files.push_back(FileEdit{path, std::nullopt, after, 0644, "test"});
    return plan;
}

std::vector<std::string>
predict(const TempRoot& tmp,
        const Plan& plan,
        const std::optional<std::vector<pt::kernel::Param>>& cmdline = std::nullopt) {
    const pt::model::Host model{pt::host::Root(tmp.path())};
    std::vector<std::string> out;
    for (const auto& next : pt::driver::predict_after(
             model, plan, {addr("0000:01:00.0"), addr("0000:09:00.0")}, cmdline)) {
        out.push_back(pt::model::describe(next));
    }
    return out;
}

} // namespace

TEST_CASE("driver::predict_after: the plan's files in place of the host's", "[driver][next_boot]") {
    TempRoot tmp;
    gpu_on_nvidia(tmp);
    SECTION("nothing planned: the bound host driver first, the other one an alternative") {
        const pt::model::Host model{pt::host::Root(tmp.path())};
        const auto next = pt::driver::predict_after(model, Plan{}, {addr("0000:01:00.0")});
        REQUIRE(next.size() == 1);
        CHECK(next[0].driver == "nvidia");
        CHECK(next[0].alternatives == std::vector<std::string>{"nouveau"});
    }
    SECTION("a planned ids= file; 09:00.0 is not on the host and is left out") {
        const auto lines = predict(
            tmp, plan_of("/etc/modprobe.d/pt-vfio.conf", "options vfio-pci ids=10de:2204\n"));
        CHECK(lines
              == std::vector<std::string>{"next boot: 0000:01:00.0 -> vfio-pci, by vfio-pci ids= "
                                          "in /etc/modprobe.d/pt-vfio.conf:1"});
    }
    SECTION("the planned text replaces the file on the host") {
        tmp.write("/etc/modprobe.d/pt-vfio.conf", "options vfio-pci ids=10de:2204\n");
        const auto lines = predict(tmp, plan_of("/etc/modprobe.d/pt-vfio.conf", ""));
        REQUIRE(lines.size() == 1);
        CHECK_THAT(lines[0], Catch::StartsWith("next boot: 0000:01:00.0 -> nvidia"));
    }
    SECTION("a file outside modprobe.d does not count as one") {
        const auto lines =
            predict(tmp, plan_of("/etc/modprobe.d.bak/x.conf", "options vfio-pci ids=10de:2204\n"));
        REQUIRE(lines.size() == 1);
        CHECK_THAT(lines[0], Catch::StartsWith("next boot: 0000:01:00.0 -> nvidia"));
    }
    SECTION("a planned blacklist: nothing binds it") {
        const auto lines = predict(
            tmp,
            plan_of("/etc/modprobe.d/pt-blacklist.conf", "blacklist nvidia\nblacklist nouveau\n"));
        REQUIRE(lines.size() == 1);
        CHECK_THAT(lines[0],
                   Catch::StartsWith("next boot: 0000:01:00.0 -> no driver")
                       && Catch::Contains("/etc/modprobe.d/pt-blacklist.conf"));
    }
}

TEST_CASE("driver::predict_after: the init-top hook and the command line", "[driver][next_boot]") {
    TempRoot tmp;
    gpu_on_nvidia(tmp);
    const std::string hook(pt::driver::k_hook);
    const std::string hook_text = pt::driver::render_hook({addr("0000:01:00.0")});
    SECTION("a planned hook") {
        const auto lines = predict(tmp, plan_of(hook, hook_text));
        REQUIRE(lines.size() == 1);
        CHECK_THAT(lines[0],
                   Catch::StartsWith("next boot: 0000:01:00.0 -> vfio-pci")
                       && Catch::Contains(hook + " (in the initramfs after update-initramfs)"));
    }
    SECTION("the hook on the host, unless the plan rewrites it") {
        tmp.write(hook, hook_text);
        CHECK_THAT(predict(tmp, Plan{})[0],
                   Catch::StartsWith("next boot: 0000:01:00.0 -> vfio-pci"));
        CHECK_THAT(predict(tmp, plan_of(hook, pt::driver::render_hook({})))[0],
                   Catch::StartsWith("next boot: 0000:01:00.0 -> nvidia"));
    }
    SECTION("a planned command line replaces the configured one") {
        const auto lines =
            predict(tmp, Plan{}, pt::kernel::parse_cmdline("quiet vfio-pci.ids=10de:2204"));
        REQUIRE(lines.size() == 1);
        CHECK_THAT(lines[0],
                   Catch::StartsWith("next boot: 0000:01:00.0 -> vfio-pci")
                       && Catch::Contains("the planned command line"));
    }
}

TEST_CASE("driver::add_next_boot_notes: only for a plan that changes something",
          "[driver][next_boot]") {
    TempRoot tmp;
    gpu_on_nvidia(tmp);
    const pt::model::Host model{pt::host::Root(tmp.path())};
    Plan empty;
    empty.notes = {"nothing to do"};
    pt::driver::add_next_boot_notes(model, empty, {addr("0000:01:00.0")});
    CHECK(empty.notes == std::vector<std::string>{"nothing to do"});

    auto plan = plan_of("/etc/modprobe.d/pt-vfio.conf", "options vfio-pci ids=10de:2204\n");
    plan.notes = {"first"};
    pt::driver::add_next_boot_notes(model, plan, {addr("0000:01:00.0")});
    CHECK(plan.notes
          == std::vector<std::string>{"first",
                                      "next boot: 0000:01:00.0 -> vfio-pci, by vfio-pci ids= in "
                                      "/etc/modprobe.d/pt-vfio.conf:1"});
}
