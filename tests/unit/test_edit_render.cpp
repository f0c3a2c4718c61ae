// SPDX-License-Identifier: MIT
#include "pt/edit/apply.hpp"
#include "pt/edit/plan.hpp"
#include "pt/edit/render.hpp"
#include "pt/out/text.hpp"
#include "support/catch.hpp"

#include <optional>
#include <string>

using pt::edit::FileEdit;
using pt::edit::Plan;

namespace {

Plan sample_plan() {
    Plan plan;
    plan.title = "pt test";
    add_file(plan,
             FileEdit{"/etc/modprobe.d/pt.conf", std::nullopt, std::string("x\n"), 0644, "why"});
    plan.writes.push_back({"/sys/bus/pci/devices/0000:01:00.0/driver_override",
                           "vfio-pci",
                           "let vfio-pci claim it",
                           std::pair{std::string("/sys/bus/pci/devices/0000:01:00.0/driver"),
                                     std::string("vfio-pci")}});
    plan.notes.push_back("a note");
    add_follow_up(plan, pt::edit::FollowUp::update_initramfs);
    plan.reboot_needed = true;
    return plan;
}

} // namespace

TEST_CASE("edit::render_text", "[edit][render]") {
    SECTION("an empty plan says nothing to do, with its notes") {
        Plan plan;
        plan.notes.push_back("already blacklisted");
        CHECK(render_text(plan, pt::out::TextStyle{})
              == "nothing to do\n\nnote: already blacklisted\n");
    }
    SECTION("files, writes, notes, follow-ups and the reboot") {
        CHECK(render_text(sample_plan(), pt::out::TextStyle{})
              == "# create /etc/modprobe.d/pt.conf (mode 0644): why\n"
                 "--- /dev/null\n"
                 "+++ b/etc/modprobe.d/pt.conf\n"
                 "@@ -0,0 +1 @@\n"
                 "+x\n"
                 "\n"
                 "write \"vfio-pci\" > /sys/bus/pci/devices/0000:01:00.0/driver_override   # let "
                 "vfio-pci claim it\n"
                 "\n"
                 "note: a note\n"
                 "\n"
                 "then run: update-initramfs -u -k all\n"
                 "a reboot is needed for this to take effect\n");
    }
    SECTION("quiet leaves the notes out") {
        const auto text = render_text(sample_plan(), pt::out::TextStyle{false, true});
        CHECK(text.find("note:") == std::string::npos);
    }
}

TEST_CASE("edit::to_json (plan)", "[edit][render]") {
    const auto json = to_json(sample_plan());
    CHECK(json.dump()
          == R"({"title":"pt test","changes":true,"files":[{"path":"/etc/modprobe.d/pt.conf",)"
             R"("action":"create","mode":"0644","reason":"why","diff":"--- /dev/null\n+++ )"
             R"(b/etc/modprobe.d/pt.conf\n@@ -0,0 +1 @@\n+x\n"}],"writes":[{"path":)"
             R"("/sys/bus/pci/devices/0000:01:00.0/driver_override","value":"vfio-pci",)"
             R"("reason":"let vfio-pci claim it","expect_link":{"path":)"
             R"("/sys/bus/pci/devices/0000:01:00.0/driver","name":"vfio-pci"}}],)"
             R"("follow_ups":["update-initramfs -u -k all"],"notes":["a note"],)"
             R"("reboot_needed":true})");
    SECTION("an empty plan has changes false") {
        CHECK(to_json(Plan{})["changes"] == false);
    }
}

TEST_CASE("edit::render_apply_result and to_json (applied)", "[edit][render]") {
    const Plan plan = sample_plan();
    pt::edit::ApplyResult result;
    result.journal_id = "20241122T080000Z-001";
    result.files_written = 1;
    result.writes_done = 1;
    result.follow_ups.push_back({"update-initramfs -u -k all", false, 0});
    result.notes.emplace_back("removed a temporary file");

    SECTION("offline root: the commands to run there") {
        const auto text = pt::edit::render_apply_result(plan, result, "offline root", "/tmp/snap");
        CHECK(text
              == "recovered: removed a temporary file\n"
                 "created /etc/modprobe.d/pt.conf\n"
                 "wrote \"vfio-pci\" > /sys/bus/pci/devices/0000:01:00.0/driver_override\n"
                 "journal: 20241122T080000Z-001 (pt undo restores the files)\n"
                 "not run under --root /tmp/snap; on that host, run:\n"
                 "run: update-initramfs -u -k all\n"
                 "reboot needed: the change takes effect at the next boot\n");
        const auto json = pt::edit::to_json(plan, result, "offline root");
        CHECK(json["applied"] == true);
        CHECK(json["journal"] == "20241122T080000Z-001");
        CHECK(json["follow_up_results"].dump()
              == R"([{"command":"update-initramfs -u -k all","ran":false,"exit_status":null,)"
                 R"("not_run_reason":"offline root"}])");
        CHECK(json["recovered"].size() == 1);
    }
    SECTION("ran here") {
        result.follow_ups[0].ran = true;
        result.follow_ups[0].exit_status = 0;
        const auto text = pt::edit::render_apply_result(plan, result, "", "/");
        CHECK(text.find("ran: update-initramfs -u -k all (exit status 0)\n") != std::string::npos);
        CHECK(text.find("not run") == std::string::npos);
        CHECK(pt::edit::to_json(plan, result, "")["follow_up_results"][0]["exit_status"] == 0);
    }
}
