// SPDX-License-Identifier: MIT
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
