// SPDX-License-Identifier: MIT
#include "pt/edit/journal.hpp"
#include "pt/edit/plan.hpp"
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using pt::edit::EntryStatus;
using pt::edit::JournalFile;
using pt::edit::Plan;
using pt::host::Root;
using pt::test::TempRoot;

namespace {

// 2025-12-04T10:15:30Z
const auto k_when = std::chrono::system_clock::from_time_t(1764843330);

Plan titled(const std::string& title) {
    Plan plan;
    plan.title = title;
    add_follow_up(plan, pt::edit::FollowUp::update_initramfs);
    plan.reboot_needed = true;
    return plan;
}

JournalFile modified(const std::string& path, const std::string& before, const std::string& after) {
    JournalFile file;
    file.path = path;
    file.action = pt::edit::FileAction::modify;
    file.mode = 0640;
    file.before = before;
    file.after = after;
    return file;
}

} // namespace

TEST_CASE("edit::utc_time and entry_dir", "[edit][journal]") {
    CHECK(pt::edit::utc_time(k_when) == "2025-12-04T10:15:30Z");
    CHECK(pt::edit::utc_time(std::chrono::system_clock::from_time_t(0)) == "1970-01-01T00:00:00Z");
    CHECK(pt::edit::entry_dir("20251204T101530Z-001")
          == "/var/lib/pt/journal/20251204T101530Z-001");
}

TEST_CASE("edit::create_entry: ids from the time, a counter per second, in order",
          "[edit][journal]") {
    TempRoot tmp;
    const Root root(tmp.path());
    const auto first = pt::edit::create_entry(root, titled("one"), {}, k_when);
    const auto second = pt::edit::create_entry(root, titled("two"), {}, k_when);
    const auto later =
        pt::edit::create_entry(root, titled("three"), {}, k_when + std::chrono::seconds(1));
    CHECK(first.id == "20251204T101530Z-001");
    CHECK(second.id == "20251204T101530Z-002");
    CHECK(later.id == "20251204T101531Z-001");
    CHECK(first.status == EntryStatus::applying);
    CHECK(first.time == "2025-12-04T10:15:30Z");
    CHECK(first.follow_ups == std::vector<std::string>{"update-initramfs -u -k all"});
}

TEST_CASE("edit::list_entries reads back what create_entry and update_entry wrote",
          "[edit][journal]") {
    TempRoot tmp;
    const Root root(tmp.path());
    CHECK(pt::edit::list_entries(root).empty());

    auto entry = pt::edit::create_entry(
        root, titled("pt test"), {modified("/etc/a", "old\n", "new\n")}, k_when);
    entry.status = EntryStatus::applied;
    pt::edit::update_entry(root, entry);

    const auto entries = pt::edit::list_entries(root);
    REQUIRE(entries.size() == 1);
    const auto& read = entries[0];
    CHECK(read.id == entry.id);
    CHECK(read.title == "pt test");
    CHECK(read.status == EntryStatus::applied);
    CHECK(read.reboot_needed);
    REQUIRE(read.files.size() == 1);
    CHECK(read.files[0].path == "/etc/a");
    CHECK(read.files[0].mode == 0640);
    CHECK(read.files[0].before == std::optional<std::string>("old\n"));
    CHECK(read.files[0].after == std::optional<std::string>("new\n"));
    CHECK(pt::edit::to_string(read.status) == "applied");
}

TEST_CASE("edit::list_entries refuses a damaged copy and names it", "[edit][journal]") {
    TempRoot tmp;
    const Root root(tmp.path());
    const auto entry =
        pt::edit::create_entry(root, titled("t"), {modified("/etc/a", "old\n", "new\n")}, k_when);
    const auto dir = tmp.host(pt::edit::entry_dir(entry.id));
    std::ofstream(dir / "0.after", std::ios::app) << "tampered";
    CHECK_THROWS_WITH(pt::edit::list_entries(root),
                      Catch::Contains(entry.id) && Catch::Contains("is damaged"));
}
