// SPDX-License-Identifier: MIT
#include "pt/profile/plan.hpp"
#include "pt/profile/render.hpp"
#include "support/catch.hpp"

#include <string>

using pt::profile::CheckResult;
using pt::profile::Drift;

TEST_CASE("profile::render_check: converged, converged with a reboot pending, and drift",
          "[profile][render]") {
    CheckResult result;
    result.node = "pve";
    result.converged = true;
    CHECK(pt::profile::render_check(result, "p.yaml")
          == "pt profile p.yaml --check: node pve\nconverged: the host matches the profile\n");
    result.reboot_pending = true;
    CHECK(pt::profile::render_check(result, "p.yaml")
          == "pt profile p.yaml --check: node pve\nconverged: the files match the profile; a "
             "reboot makes the running host match too\n");

    result.converged = false;
    result.reboot_pending = false;
    result.drift.push_back(
        Drift{"hardware", "the card at 0000:81:00", "at 0000:82:00", "pt profile p.yaml --apply"});
    CHECK(pt::profile::render_check(result, "p.yaml")
          == "pt profile p.yaml --check: node pve\n"
             "drift: 1 difference\n"
             "  hardware\n"
             "    expected: the card at 0000:81:00\n"
             "    found:    at 0000:82:00\n"
             "    fix:      pt profile p.yaml --apply\n");
    result.drift.push_back(result.drift.front());
    CHECK(pt::profile::render_check(result, "p.yaml").find("drift: 2 differences\n")
          != std::string::npos);
}

TEST_CASE("profile::to_json has the documented keys, in order", "[profile][render]") {
    CheckResult result;
    result.node = "pve";
    result.drift.push_back(Drift{"vfio-pci: /etc/modprobe.d/pt-vfio.conf",
                                 "options vfio-pci ids=10de:2204",
                                 "no such file",
                                 "pt bind 0000:81:00 --apply"});
    const auto json = pt::profile::to_json(result);
    CHECK(
        json.dump()
        == R"({"node":"pve","converged":false,"reboot_pending":false,"drift":[{"what":"vfio-pci: /etc/modprobe.d/pt-vfio.conf","expected":"options vfio-pci ids=10de:2204","found":"no such file","fix":"pt bind 0000:81:00 --apply"}]})");
}
