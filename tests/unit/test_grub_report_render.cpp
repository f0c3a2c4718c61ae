// SPDX-License-Identifier: MIT
#include "pt/grub/report.hpp"
#include "pt/grub/report_render.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"
#include "pt/out/text.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <string>

using pt::out::Json;
using pt::test::TempRoot;

namespace {

// Intel 6.5 on plain GRUB without intel_iommu=on: one change needed.
pt::grub::Report intel_65(const TempRoot& tmp) {
    tmp.write("/proc/cpuinfo", "vendor_id\t: GenuineIntel\nflags\t\t: fpu\n");
    tmp.write("/proc/sys/kernel/osrelease", "6.5.13-6-pve\n");
    tmp.write("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-6.5.13-6-pve ro quiet\n");
    tmp.write("/etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
    return pt::grub::read_report(pt::model::Host(pt::host::Root(tmp.path())));
}

} // namespace

TEST_CASE("grub::render_text: the status of pt grub", "[grub][report_render]") {
    TempRoot tmp;
    const auto report = intel_65(tmp);
    const auto text = pt::grub::render_text(report, pt::out::TextStyle{});
    CHECK_THAT(text, Catch::Contains("Platform:    Proxmox VE version unknown"));
    CHECK_THAT(text, Catch::Contains("\nBootloader:  GRUB\n             because "));
    CHECK_THAT(text, Catch::Contains("\nCPU:         intel, kernel 6.5.13-6-pve\n"));
    CHECK_THAT(text,
               Catch::Contains("\nConfigured:  quiet\n"
                               "             from /etc/default/grub line 2: "
                               "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"));
    CHECK_THAT(text,
               Catch::Contains("\nRunning:     BOOT_IMAGE=/boot/vmlinuz-6.5.13-6-pve ro quiet\n"));
    CHECK_THAT(text,
               Catch::Contains("\nDifferences: none: the running kernel has the configured "
                               "parameters\n"));
    CHECK_THAT(text,
               Catch::Contains("\nNeeded:      add intel_iommu=on (/etc/default/grub line 2): "));
    CHECK_THAT(text,
               Catch::EndsWith("             pt grub --apply makes these changes, then runs "
                               "update-grub, a reboot is needed\n"));
    SECTION("quiet leaves out why the bootloader was chosen") {
        pt::out::TextStyle quiet;
        quiet.quiet = true;
        CHECK_THAT(pt::grub::render_text(report, quiet), !Catch::Contains("because "));
    }
    SECTION("nothing needed") {
        auto none = report;
        none.needed.clear();
        CHECK_THAT(pt::grub::render_text(none, pt::out::TextStyle{}),
                   Catch::EndsWith("Needed:      nothing by default for this CPU and kernel "
                                   "(options: --iommu-pt, --sysfb-off, --vfio-ids, "
                                   "--acs-override, --add, --remove)\n"));
    }
    SECTION("problems end the text, and warnings show their fix") {
        auto bad = report;
        bad.status.problems = {"/etc/default/grub.d/x.cfg line 2: cannot follow"};
        bad.warnings.push_back(
            {"boot.systemd-boot-meta", pt::out::Status::warn, "meta", "dpkg", "apt install x"});
        const auto t = pt::grub::render_text(bad, pt::out::TextStyle{});
        CHECK_THAT(t,
                   Catch::EndsWith("Problem:     /etc/default/grub.d/x.cfg line 2: cannot "
                                   "follow\n"
                                   "Warning:     meta\n"
                                   "             evidence: dpkg\n"
                                   "             fix: apt install x\n"));
        CHECK_THAT(t, !Catch::Contains("Needed:"));
    }
    SECTION("unknown configured and running command lines") {
        auto unknown = report;
        unknown.status.configured.reset();
        unknown.status.running.reset();
        unknown.status.sources.clear();
        const auto t = pt::grub::render_text(unknown, pt::out::TextStyle{});
        CHECK_THAT(t, Catch::Contains("\nConfigured:  unknown\n"));
        CHECK_THAT(t, Catch::Contains("\nRunning:     unknown (no /proc/cmdline)\n"));
        CHECK_THAT(t, Catch::Contains("\nDifferences: cannot compare\n"));
    }
}

TEST_CASE("grub::to_json: the status as one object", "[grub][report_render]") {
    TempRoot tmp;
    const auto json = pt::grub::to_json(intel_65(tmp));
    CHECK(json["bootloader"] == "grub");
    CHECK(json["bootloader_name"] == "GRUB");
    CHECK(json["cpu"] == "intel");
    CHECK(json["kernel"] == "6.5.13-6-pve");
    CHECK(json["configured"] == "quiet");
    CHECK(json["running"] == "BOOT_IMAGE=/boot/vmlinuz-6.5.13-6-pve ro quiet");
    CHECK(json["staged"].is_null());
    CHECK(json["sources"]
          == Json::array({{{"path", "/etc/default/grub"},
                           {"line", 2},
                           {"variable", "GRUB_CMDLINE_LINUX_DEFAULT"},
                           {"value", "quiet"}}}));
    REQUIRE(json["needed"].size() == 1);
    const auto& change = json["needed"][0];
    CHECK(change["action"] == "add");
    CHECK(change["name"] == "intel_iommu");
    CHECK(change["old_value"].is_null());
    CHECK(change["new_value"] == "on");
    CHECK(change["path"] == "/etc/default/grub");
    CHECK(change["line"] == 2);
    CHECK(json["follow_ups"] == Json::array({"update-grub"}));
    CHECK(json["problems"] == Json::array());
    CHECK(json["warnings"] == Json::array());
    CHECK(json["platform"]["pve_major"].is_null());
}
