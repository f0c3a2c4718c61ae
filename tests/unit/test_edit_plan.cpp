// SPDX-License-Identifier: MIT
#include "pt/edit/plan.hpp"
#include "support/catch.hpp"

#include <optional>
#include <string>

using pt::edit::FileAction;
using pt::edit::FileEdit;
using pt::edit::FollowUp;
using pt::edit::Plan;

TEST_CASE("edit::add_file", "[edit][plan]") {
    Plan plan;
    SECTION("an edit that changes nothing is left out") {
        add_file(plan, FileEdit{"/etc/a", std::string("x\n"), std::string("x\n"), 0644, "r"});
        add_file(plan, FileEdit{"/etc/b", std::nullopt, std::nullopt, 0644, "r"});
        CHECK(plan.files.empty());
        CHECK(plan.empty());
    }
    SECTION("a second edit of the same path merges: first before, last after") {
        add_file(plan, FileEdit{"/etc/a", std::string("1\n"), std::string("2\n"), 0644, "first"});
        add_file(plan, FileEdit{"/etc/a", std::string("2\n"), std::string("3\n"), 0644, "second"});
        REQUIRE(plan.files.size() == 1);
        CHECK(plan.files[0].before == std::string("1\n"));
        CHECK(plan.files[0].after == std::string("3\n"));
        CHECK(plan.files[0].reason == "second");
    }
    SECTION("a merge that ends where it started drops the edit") {
        add_file(plan, FileEdit{"/etc/a", std::string("1\n"), std::string("2\n"), 0644, ""});
        add_file(plan, FileEdit{"/etc/a", std::string("2\n"), std::string("1\n"), 0644, ""});
        CHECK(plan.files.empty());
    }
}

TEST_CASE("edit::add_follow_up keeps each once, in order", "[edit][plan]") {
    Plan plan;
    add_follow_up(plan, FollowUp::update_initramfs);
    add_follow_up(plan, FollowUp::update_grub);
    add_follow_up(plan, FollowUp::update_initramfs);
    CHECK(plan.follow_ups == std::vector{FollowUp::update_initramfs, FollowUp::update_grub});
    CHECK(pt::edit::command_line(FollowUp::update_initramfs) == "update-initramfs -u -k all");
}

TEST_CASE("edit::action_of", "[edit][plan]") {
    CHECK(action_of(FileEdit{"/a", std::nullopt, std::string("x"), 0644, ""})
          == FileAction::create);
    CHECK(action_of(FileEdit{"/a", std::string("x"), std::string("y"), 0644, ""})
          == FileAction::modify);
    CHECK(action_of(FileEdit{"/a", std::string("x"), std::nullopt, 0644, ""})
          == FileAction::remove);
    CHECK(to_string(FileAction::remove) == "remove");
}
