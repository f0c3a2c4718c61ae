// SPDX-License-Identifier: MIT
#include "pt/edit/apply.hpp"
#include "pt/edit/journal.hpp"
#include "pt/edit/plan.hpp"
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/host/write.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using pt::edit::ApplyOptions;
using pt::edit::EntryStatus;
using pt::edit::FileEdit;
using pt::edit::Plan;
using pt::host::Root;
using pt::test::TempRoot;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

unsigned mode_of(const fs::path& path) {
    struct stat st {};

    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777U;
}

// A tiny writer for the tests: makes sure `line` is in `path`, planning through the Root the way
// pt's planners do.
Plan plan_line(const Root& root, const std::string& path, const std::string& line) {
    Plan plan;
    plan.title = "test add " + line;
    const auto before = pt::host::read_if_exists(root, path);
    std::string after = before.value_or("");
    if (after.find(line + "\n") == std::string::npos) {
        after += line + "\n";
    }
    add_file(plan, FileEdit{path, before, after, 0644, "add " + line});
    if (!plan.empty()) {
        add_follow_up(plan, pt::edit::FollowUp::update_initramfs);
        plan.reboot_needed = true;
    }
    return plan;
}

ApplyOptions quick() {
    ApplyOptions options;
    options.lock_notify_after = 10ms;
    options.lock_timeout = 5s;
    return options;
}

std::size_t journal_size(const TempRoot& tmp) {
    const auto dir = tmp.host("/var/lib/pt/journal");
    if (!fs::exists(dir)) {
        return 0;
    }
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// A read-only bind mount or a tmpfs for one test, when running as root where the kernel allows
// it; unmounted before the TempRoot under it is removed.
class Mount {
public:
    bool read_only(const fs::path& dir) {
        if (::geteuid() != 0 || ::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) != 0) {
            return false;
        }
        m_path = dir;
        return ::mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr)
               == 0;
    }

    bool tmpfs(const fs::path& dir) {
        if (::geteuid() != 0 || ::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=64k") != 0) {
            return false;
        }
        m_path = dir;
        return true;
    }

    Mount() = default;
    Mount(const Mount&) = delete;
    Mount& operator=(const Mount&) = delete;

    ~Mount() {
        if (!m_path.empty()) {
            ::umount2(m_path.c_str(), MNT_DETACH);
        }
    }

private:
    fs::path m_path;
};

} // namespace

TEST_CASE("edit::apply writes files, keeps modes, and journals", "[edit][apply]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/etc/modules", "vfio\n");
    ::chmod(tmp.host("/etc/modules").c_str(), 0640);

    Plan plan = plan_line(root, "/etc/modules", "vfio_pci");
    add_file(plan,
             FileEdit{"/etc/modprobe.d/pt.conf", std::nullopt, std::string("x"), 0600, "new"});
    const auto now = std::chrono::system_clock::from_time_t(1'795'000'000);
    ApplyOptions options = quick();
    options.now = now;
    const auto result = apply(plan, root, options);

    CHECK(slurp(tmp.host("/etc/modules")) == "vfio\nvfio_pci\n");
    CHECK(mode_of(tmp.host("/etc/modules")) == 0640);
    CHECK(slurp(tmp.host("/etc/modprobe.d/pt.conf")) == "x");
    CHECK(mode_of(tmp.host("/etc/modprobe.d/pt.conf")) == 0600);
    CHECK(result.files_written == 2);
    // Not the live root: the follow-ups are listed, never run.
    REQUIRE(result.follow_ups.size() == 1);
    CHECK_FALSE(result.follow_ups[0].ran);
    CHECK(result.follow_ups[0].command == "update-initramfs -u -k all");

    SECTION("no temporary file or .bak is left next to the files") {
        CHECK(std::distance(fs::directory_iterator(tmp.host("/etc/modprobe.d")),
                            fs::directory_iterator())
              == 1);
    }
    SECTION("the journal entry") {
        // 1'795'000'000 s after the epoch is 2026-11-18T11:06:40Z.
        CHECK(pt::edit::utc_time(now) == "2026-11-18T11:06:40Z");
        CHECK(result.journal_id == std::string("20261118T110640Z-001"));
        const auto dir = tmp.host("/var/lib/pt/journal/" + *result.journal_id);
        CHECK(slurp(dir / "0.before") == "vfio\n");
        CHECK(slurp(dir / "0.after") == "vfio\nvfio_pci\n");
        CHECK_FALSE(fs::exists(dir / "1.before"));
        CHECK(slurp(dir / "1.after") == "x");
        const auto manifest = nlohmann::json::parse(slurp(dir / "manifest.json"));
        CHECK(manifest["format"] == 1);
        CHECK(manifest["id"] == *result.journal_id);
        CHECK(manifest["title"] == "test add vfio_pci");
        CHECK(manifest["time"] == pt::edit::utc_time(now));
        CHECK(manifest["status"] == "applied");
        CHECK(manifest["files"][0]["path"] == "/etc/modules");
        CHECK(manifest["files"][0]["action"] == "modify");
        CHECK(manifest["files"][0]["mode"] == "0640");
        CHECK(manifest["files"][0]["before"]["copy"] == "0.before");
        CHECK(manifest["files"][0]["before"]["size"] == 5);
        CHECK(manifest["files"][0]["before"]["fnv1a64"] == pt::edit::fnv1a64("vfio\n"));
        CHECK(manifest["files"][1]["action"] == "create");
        CHECK(manifest["files"][1]["before"].is_null());
        CHECK(manifest["follow_ups"][0] == "update-initramfs -u -k all");
        CHECK(manifest["reboot_needed"] == true);

        const auto entries = pt::edit::list_entries(root);
        REQUIRE(entries.size() == 1);
        CHECK(entries[0].files[0].before == std::string("vfio\n"));
        CHECK(entries[0].files[1].after == std::string("x"));
        CHECK(entries[0].status == EntryStatus::applied);
    }
}

TEST_CASE("edit::apply is idempotent: the second plan is empty and journals nothing",
          "[edit][apply]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/etc/modules", "vfio\n");
    apply(plan_line(root, "/etc/modules", "kvm"), root, quick());
    CHECK(journal_size(tmp) == 1);

    const Plan again = plan_line(root, "/etc/modules", "kvm");
    CHECK(again.empty());
    const auto result = apply(again, root, quick());
    CHECK_FALSE(result.journal_id);
    CHECK(journal_size(tmp) == 1);
    CHECK(slurp(tmp.host("/etc/modules")) == "vfio\nkvm\n");
}

TEST_CASE("edit::apply refuses a file changed since the plan was made", "[edit][apply]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/etc/a", "1\n");
    tmp.write("/etc/b", "1\n");
    Plan plan = plan_line(root, "/etc/a", "2");
    for (const auto& file : plan_line(root, "/etc/b", "2").files) {
        add_file(plan, file);
    }
    tmp.write("/etc/b", "someone else\n");
    CHECK_THROWS_WITH(apply(plan, root, quick()),
                      Catch::Contains(tmp.host("/etc/b").string())
                          && Catch::Contains("changed since the plan was made; run again"));
    // Checked before anything is written: /etc/a is untouched and nothing is journalled.
    CHECK(slurp(tmp.host("/etc/a")) == "1\n");
    CHECK(journal_size(tmp) == 0);
}

TEST_CASE("edit::apply refuses bad plans before touching the disk", "[edit][apply]") {
    TempRoot tmp;
    const Root root(tmp.path());
    Plan plan;
    for (const std::string path : {"etc/a", "/etc/../a", "/etc/./a", "/etc//a", "/etc/a/"}) {
        plan.files = {FileEdit{path, std::nullopt, std::string("x"), 0644, ""}};
        CHECK_THROWS_WITH(apply(plan, root, quick()), Catch::Contains("this is a bug in pt"));
    }
    plan.files.clear();
    plan.writes = {{"/etc/passwd", "x", "", std::nullopt}};
    CHECK_THROWS_WITH(apply(plan, root, quick()), Catch::Contains("outside /sys"));
    CHECK_FALSE(fs::exists(tmp.host("/var")));
    CHECK_FALSE(fs::exists(tmp.host("/etc")));
}

TEST_CASE("edit::apply failing midway leaves every file old or new and says so",
          "[edit][apply][mount]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/etc/a", "a\n");
    tmp.write("/etc/x/b", "b\n");
    tmp.write("/etc/c", "c\n");
    Plan plan = plan_line(root, "/etc/a", "new");
    for (const auto* path : {"/etc/x/b", "/etc/c"}) {
        for (const auto& file : plan_line(root, path, "new").files) {
            add_file(plan, file);
        }
    }
    Mount mount;
    std::string expected_errno;
    SECTION("read-only file system") {
        if (!mount.read_only(tmp.host("/etc/x"))) {
            WARN("no read-only bind mount here; using the injected failure");
            pt::host::fail_next_write_to("/etc/x/b", EROFS);
        }
        expected_errno = "Read-only file system";
    }
    SECTION("full disk") {
        if (mount.tmpfs(tmp.host("/etc/x"))) {
            tmp.write("/etc/x/b", "b\n");
            plan.files[1].after = std::string(256 * 1024, 'b');
        } else {
            WARN("no tmpfs here; using the injected failure");
            pt::host::fail_next_write_to("/etc/x/b", ENOSPC);
        }
        expected_errno = "No space left on device";
    }
    SECTION("permission denied") {
        pt::host::fail_next_write_to("/etc/x/b", EACCES);
        expected_errno = "Permission denied";
    }
    std::string error;
    try {
        apply(plan, root, quick());
    } catch (const pt::Error& e) {
        error = e.what();
    }
    CHECK_THAT(error,
               Catch::Contains(expected_errno)
                   && Catch::Contains("written before the failure: /etc/a (modify)")
                   && Catch::Contains("not written (still as before): /etc/x/b (modify), /etc/c")
                   && Catch::Contains("`pt undo`"));
    CHECK(slurp(tmp.host("/etc/a")) == "a\nnew\n");
    CHECK(slurp(tmp.host("/etc/x/b")) == "b\n");
    CHECK(slurp(tmp.host("/etc/c")) == "c\n");
    CHECK(std::distance(fs::directory_iterator(tmp.host("/etc/x")), fs::directory_iterator()) == 1);

    const auto entries = pt::edit::list_entries(root);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].status == EntryStatus::failed);
    CHECK_THAT(entries[0].error.value_or(""), Catch::Contains(expected_errno));

    // pt undo puts back what was written; the untouched files count as already restored.
    const auto undone = pt::edit::undo_entry(root, {});
    REQUIRE(undone);
    CHECK(slurp(tmp.host("/etc/a")) == "a\n");
    REQUIRE(undone->files.size() == 3);
    CHECK(undone->files[0].what == "restored");
    CHECK(undone->files[1].what == "unchanged");
}

TEST_CASE("edit::apply: sysfs writes", "[edit][apply]") {
    TempRoot tmp;
    const Root root(tmp.path());
    pt::test::DeviceSpec spec;
    spec.address = "0000:01:00.0";
    spec.driver = "nouveau";
    spec.attrs = {{"driver_override", "(null)\n"}};
    tmp.add_device(spec);
    tmp.write("/etc/a", "a\n");
    const std::string dev = "/sys/bus/pci/devices/0000:01:00.0";

    Plan plan = plan_line(root, "/etc/a", "b");
    plan.writes.push_back({dev + "/driver_override", "vfio-pci", "claim", std::nullopt});

    SECTION("done in order after the files, and journalled") {
        plan.writes.push_back({dev + "/nope", "1", "", std::nullopt});
        plan.writes.pop_back();
        const auto result = apply(plan, root, quick());
        CHECK(result.writes_done == 1);
        CHECK(*root.read_attr(dev + "/driver_override") == "vfio-pci");
        const auto entries = pt::edit::list_entries(root);
        REQUIRE(entries.at(0).writes.size() == 1);
        CHECK(entries[0].writes[0].value == "vfio-pci");
    }
    SECTION("a failing write names the attribute and value, and what was done") {
        plan.writes.push_back({dev + "/nope", "1", "", std::nullopt});
        CHECK_THROWS_WITH(apply(plan, root, quick()),
                          Catch::Contains("cannot write \"1\" to")
                              && Catch::Contains("nope: No such file or directory")
                              && Catch::Contains("written before the failure: /etc/a")
                              && Catch::Contains("sysfs writes done: 1 of 2"));
    }
    SECTION("expect_link: a probe can succeed with nothing bound") {
        plan.writes.push_back({dev + "/driver_override",
                               "vfio-pci",
                               "",
                               std::pair{dev + "/driver", std::string("vfio-pci")}});
        ApplyOptions options = quick();
        options.check_links = true;
        CHECK_THROWS_WITH(apply(plan, root, options),
                          Catch::Contains("names nouveau instead of vfio-pci")
                              && Catch::Contains("a probe can succeed with nothing bound"));
        options.check_links = false; // an offline root: nothing reacts to the write
        Plan again = plan;
        again.files.clear();
        CHECK_NOTHROW(apply(again, root, options));
    }
}

TEST_CASE("edit::apply: follow-up commands", "[edit][apply]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/etc/a", "a\n");
    Plan plan = plan_line(root, "/etc/a", "b");
    add_follow_up(plan, pt::edit::FollowUp::update_grub);
    std::vector<std::vector<std::string>> ran;
    ApplyOptions options = quick();
    options.runner = [&](const std::vector<std::string>& argv) {
        ran.push_back(argv);
        return argv[0] == "update-initramfs" ? 0 : 3;
    };

    SECTION("not run unless asked (offline root, --no-refresh)") {
        const auto result = apply(plan, root, options);
        CHECK(ran.empty());
        CHECK(result.follow_ups.size() == 2);
    }
    SECTION("run once, in order, without a shell; a failure says the files ARE written") {
        options.run_follow_ups = true;
        CHECK_THROWS_WITH(apply(plan, root, options),
                          Catch::Contains("`update-grub` failed with exit status 3")
                              && Catch::Contains("the files ARE written (/etc/a (modify)")
                              && Catch::Contains("fix the cause, then run: update-grub"));
        CHECK(ran
              == std::vector<std::vector<std::string>>{{"update-initramfs", "-u", "-k", "all"},
                                                       {"update-grub"}});
        CHECK(slurp(tmp.host("/etc/a")) == "a\nb\n");
    }
    SECTION("edit::run_command reports exit statuses and missing programs") {
        CHECK(pt::edit::run_command({"true"}, false) == 0);
        CHECK(pt::edit::run_command({"false"}, false) == 1);
        CHECK_THROWS_WITH(pt::edit::run_command({"/nonexistent/pt-nope"}, false),
                          Catch::Contains("cannot run /nonexistent/pt-nope"));
    }
}

TEST_CASE("edit::apply: two applies never interleave", "[edit][apply][lock]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/etc/a", "a\n");
    tmp.write("/etc/b", "b\n");
    const Plan first = plan_line(root, "/etc/a", "1");
    const Plan second = plan_line(root, "/etc/b", "2");

    std::mutex mutex;
    std::vector<std::string> events;
    const auto log = [&](const std::string& event) {
        const std::lock_guard guard(mutex);
        events.push_back(event);
    };
    std::atomic<bool> first_inside = false;
    std::atomic<bool> second_waited = false;
    std::string b_during_first;

    ApplyOptions one = quick();
    one.run_follow_ups = true;
    one.runner = [&](const std::vector<std::string>&) {
        // Holding the lock: the other apply must not have written anything yet.
        log("first inside");
        first_inside = true;
        std::this_thread::sleep_for(300ms);
        b_during_first = slurp(tmp.host("/etc/b"));
        log("first done");
        return 0;
    };
    ApplyOptions two = quick();
    two.run_follow_ups = true;
    two.on_lock_wait = [&] {
        second_waited = true;
    };
    two.runner = [&](const std::vector<std::string>&) {
        log("second inside");
        return 0;
    };

    std::thread a([&] { apply(first, root, one); });
    while (!first_inside) {
        std::this_thread::sleep_for(5ms);
    }
    std::thread b([&] { apply(second, root, two); });
    a.join();
    b.join();
    CHECK(events == std::vector<std::string>{"first inside", "first done", "second inside"});
    CHECK(second_waited);
    CHECK(b_during_first == "b\n");
    CHECK(slurp(tmp.host("/etc/b")) == "b\n2\n");

    SECTION("a held lock makes apply give up after its timeout") {
        auto held = pt::host::lock_file(root, pt::edit::k_lock_path, 0ms, 0ms, {});
        ApplyOptions options = quick();
        options.lock_timeout = 100ms;
        CHECK_THROWS_WITH(apply(plan_line(root, "/etc/a", "3"), root, options),
                          Catch::Contains("another pt is changing this host"));
        CHECK(slurp(tmp.host("/etc/a")) == "a\n1\n");
    }
}

TEST_CASE("edit::apply: a new file keeps the owner the file system gives it", "[edit][apply]") {
    // pmxcfs shows its files as root:www-data and may refuse a chown; a setgid directory of
    // another group stands in for it: the new file gets that group, and apply must not fchown
    // it back to root:root.
    TempRoot tmp;
    const Root root(tmp.path());
    pt::host::make_dirs(root, "/etc/pve/mapping");
    const auto dir = tmp.host("/etc/pve/mapping");
    if (::geteuid() != 0 || ::chown(dir.c_str(), 0, 4343) != 0
        || ::chmod(dir.c_str(), 02755) != 0) {
        WARN("needs root to give the directory another group; skipped");
        return;
    }
    Plan plan;
    plan.title = "new";
    add_file(plan, FileEdit{"/etc/pve/mapping/pci.cfg", std::nullopt, "x\n", 0640, ""});
    apply(plan, root, quick());

    struct stat st {};

    REQUIRE(::stat(tmp.host("/etc/pve/mapping/pci.cfg").c_str(), &st) == 0);
    CHECK(st.st_gid == 4343);
    CHECK((st.st_mode & 0777) == 0640);
}

TEST_CASE("edit::apply: a plan's lock (qemu-server's) is flocked, never written",
          "[edit][apply][lock]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/etc/a", "a\n");
    tmp.write("/var/lock/qemu-server/lock-100.conf", "");
    auto plan = plan_line(root, "/etc/a", "1");
    plan.follow_ups.clear();
    plan.locks.push_back("/var/lock/qemu-server/lock-100.conf");
    apply(plan, root, quick());
    CHECK(slurp(tmp.host("/etc/a")) == "a\n1\n");
    CHECK(slurp(tmp.host("/var/lock/qemu-server/lock-100.conf")).empty());

    SECTION("held by qm: the message names the VM and the lock file") {
        auto held = pt::host::lock_file(
            root, "/var/lock/qemu-server/lock-100.conf", 0ms, 0ms, {}, pt::host::ForeignLock{});
        ApplyOptions options = quick();
        options.lock_timeout = 100ms;
        auto again = plan_line(root, "/etc/a", "2");
        again.follow_ups.clear();
        again.locks.push_back("/var/lock/qemu-server/lock-100.conf");
        CHECK_THROWS_WITH(apply(again, root, options),
                          Catch::Contains("VM 100's config is locked by another process (qm or "
                                          "the Proxmox API hold ")
                              && Catch::Contains("lock-100.conf); gave up after"));
        CHECK(slurp(tmp.host("/etc/a")) == "a\n1\n");
    }
}

TEST_CASE("edit::undo_entry", "[edit][undo]") {
    TempRoot tmp;
    const Root root(tmp.path());
    const std::string odd("no newline \xff\x00 at end", 20);
    tmp.write("/etc/odd", odd);
    ::chmod(tmp.host("/etc/odd").c_str(), 0604);
    tmp.write("/etc/gone", "keep me\n");
    ::chmod(tmp.host("/etc/gone").c_str(), 0640);

    Plan plan;
    plan.title = "first";
    add_file(plan, FileEdit{"/etc/odd", odd, std::string("replaced\n"), 0644, ""});
    add_file(plan, FileEdit{"/etc/new", std::nullopt, std::string("new\n"), 0644, ""});
    add_file(plan, FileEdit{"/etc/gone", std::string("keep me\n"), std::nullopt, 0644, ""});
    plan.writes.push_back({"/sys/x", "1", "", std::nullopt});
    tmp.write("/sys/x", "0");
    apply(plan, root, quick());
    Plan later = plan_line(root, "/etc/later", "l");
    later.title = "second";
    apply(later, root, quick());

    SECTION("restores byte for byte, newest entry first, then the one before, then nothing") {
        auto undone = pt::edit::undo_entry(root, {});
        REQUIRE(undone);
        CHECK(undone->entry.title == "second");
        CHECK_FALSE(fs::exists(tmp.host("/etc/later")));

        undone = pt::edit::undo_entry(root, {});
        REQUIRE(undone);
        CHECK(undone->entry.title == "first");
        CHECK(undone->entry.status == EntryStatus::undone);
        CHECK(undone->entry.writes.size() == 1); // reported, not undone
        CHECK(slurp(tmp.host("/etc/odd")) == odd);
        CHECK(mode_of(tmp.host("/etc/odd")) == 0604);
        CHECK_FALSE(fs::exists(tmp.host("/etc/new")));
        CHECK(slurp(tmp.host("/etc/gone")) == "keep me\n");
        CHECK(mode_of(tmp.host("/etc/gone")) == 0640);
        REQUIRE(undone->files.size() == 3);
        CHECK(undone->files[0].what == "restored");
        CHECK(undone->files[1].what == "removed");
        CHECK(undone->files[2].what == "recreated");
        CHECK(slurp(tmp.host("/sys/x")) == "1");

        CHECK_FALSE(pt::edit::undo_entry(root, {}));
        const auto entries = pt::edit::list_entries(root);
        REQUIRE(entries.size() == 2);
        CHECK(entries[0].status == EntryStatus::undone);
        CHECK(entries[0].undone_time);
        CHECK(entries[1].status == EntryStatus::undone);
    }
    SECTION("refuses a file changed since pt wrote it, restoring nothing") {
        pt::edit::undo_entry(root, {});
        tmp.write("/etc/new", "edited by hand\n");
        CHECK_THROWS_WITH(pt::edit::undo_entry(root, {}),
                          Catch::Contains(tmp.host("/etc/new").string())
                              && Catch::Contains("was changed since pt wrote it")
                              && Catch::Contains("nothing was restored"));
        CHECK(slurp(tmp.host("/etc/odd")) == "replaced\n");
        CHECK(pt::edit::list_entries(root)[0].status == EntryStatus::applied);
    }
    SECTION("a damaged journal copy is refused") {
        const auto id = pt::edit::list_entries(root)[0].id;
        std::ofstream(tmp.host("/var/lib/pt/journal/" + id + "/0.before"), std::ios::app) << "x";
        CHECK_THROWS_WITH(pt::edit::list_entries(root), Catch::Contains("is damaged"));
    }
    SECTION("an entry directory without a manifest (pt died before changing anything) is skipped") {
        tmp.mkdir("/var/lib/pt/journal/20990101T000000Z-001");
        CHECK(pt::edit::list_entries(root).size() == 2);
    }
}

TEST_CASE("edit::undo_entry with an empty journal", "[edit][undo]") {
    TempRoot tmp;
    const Root root(tmp.path());
    CHECK_FALSE(pt::edit::undo_entry(root, {}));
    CHECK(pt::edit::list_entries(root).empty());
}

TEST_CASE("edit::undo_entry by id: out of order only where no newer entry shares a file",
          "[edit][undo]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/etc/a", "a\n");
    tmp.write("/etc/b", "b\n");
    auto options = quick();
    options.now = std::chrono::system_clock::from_time_t(1764843330); // 2025-12-04T10:15:30Z
    auto first = plan_line(root, "/etc/a", "1");
    first.title = "first";
    apply(first, root, options);
    auto second = plan_line(root, "/etc/b", "2");
    second.title = "second";
    apply(second, root, options);
    auto third = plan_line(root, "/etc/a", "3");
    third.title = "third";
    apply(third, root, options);
    pt::edit::UndoOptions undo;
    undo.lock_notify_after = 10ms;

    SECTION("the same second gives -001, -002, -003 in order") {
        const auto entries = pt::edit::list_entries(root);
        REQUIRE(entries.size() == 3);
        CHECK(entries[0].id == "20251204T101530Z-001");
        CHECK(entries[1].id == "20251204T101530Z-002");
        CHECK(entries[2].id == "20251204T101530Z-003");
    }
    SECTION("an older entry behind a newer one on the same file is refused, restoring nothing") {
        undo.id = "20251204T101530Z-001";
        try {
            pt::edit::undo_entry(root, undo);
            FAIL("undo of -001 was not refused");
        } catch (const pt::Error& e) {
            CHECK(std::string(e.what()).find("cannot undo 20251204T101530Z-001 (first)") == 0);
            CHECK(e.cause()
                  == "the newer entry 20251204T101530Z-003 (third) also changed /etc/a, and "
                     "entries that share a file are undone newest first; nothing was restored");
            CHECK(e.fix()
                  == "undo it first: pt undo 20251204T101530Z-003, then pt undo "
                     "20251204T101530Z-001");
        }
        CHECK(slurp(tmp.host("/etc/a")) == "a\n1\n3\n");
        CHECK(pt::edit::list_entries(root)[0].status == EntryStatus::applied);
    }
    SECTION("an older entry that shares no file with a pending newer one is undone") {
        undo.id = "20251204T101530Z-002";
        const auto undone = pt::edit::undo_entry(root, undo);
        REQUIRE(undone);
        CHECK(undone->entry.title == "second");
        CHECK(slurp(tmp.host("/etc/b")) == "b\n");
        CHECK(slurp(tmp.host("/etc/a")) == "a\n1\n3\n");
    }
    SECTION("after the newer one is undone, the older one goes too") {
        undo.id = "20251204T101530Z-003";
        REQUIRE(pt::edit::undo_entry(root, undo));
        undo.id = "20251204T101530Z-001";
        REQUIRE(pt::edit::undo_entry(root, undo));
        CHECK(slurp(tmp.host("/etc/a")) == "a\n");
    }
    SECTION("an unknown id and an entry undone already are refused") {
        undo.id = "20990101T000000Z-001";
        CHECK_THROWS_WITH(pt::edit::undo_entry(root, undo),
                          Catch::Contains("has no entry 20990101T000000Z-001"));
        undo.id = "20251204T101530Z-003";
        REQUIRE(pt::edit::undo_entry(root, undo));
        CHECK_THROWS_WITH(pt::edit::undo_entry(root, undo),
                          Catch::Contains("20251204T101530Z-003 (third) was undone already"));
    }
}

TEST_CASE("edit::undo_entry runs the entry's follow-ups after restoring", "[edit][undo]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/etc/a", "a\n");
    Plan plan = plan_line(root, "/etc/a", "b");
    add_follow_up(plan, pt::edit::FollowUp::update_grub);
    apply(plan, root, quick());
    std::vector<std::vector<std::string>> ran;
    std::string content_seen;
    pt::edit::UndoOptions undo;
    undo.runner = [&](const std::vector<std::string>& argv) {
        ran.push_back(argv);
        content_seen = slurp(tmp.host("/etc/a"));
        return argv[0] == "update-grub" ? 5 : 0;
    };

    SECTION("not run unless asked (offline root, --no-refresh), but listed") {
        undo.runner = [&](const std::vector<std::string>& argv) {
            ran.push_back(argv);
            return 0;
        };
        const auto undone = pt::edit::undo_entry(root, undo);
        REQUIRE(undone);
        CHECK(ran.empty());
        REQUIRE(undone->follow_ups.size() == 2);
        CHECK(undone->follow_ups[0].command == "update-initramfs -u -k all");
        CHECK_FALSE(undone->follow_ups[0].ran);
    }
    SECTION("run in order after the files are restored; a failure says the files ARE restored") {
        undo.run_follow_ups = true;
        CHECK_THROWS_WITH(pt::edit::undo_entry(root, undo),
                          Catch::Contains("`update-grub` failed with exit status 5")
                              && Catch::Contains("the files ARE restored")
                              && Catch::Contains("fix the cause, then run: update-grub"));
        CHECK(ran
              == std::vector<std::vector<std::string>>{{"update-initramfs", "-u", "-k", "all"},
                                                       {"update-grub"}});
        CHECK(content_seen == "a\n");
        CHECK(pt::edit::list_entries(root)[0].status == EntryStatus::undone);
    }
}

TEST_CASE("edit::fnv1a64", "[edit][journal]") {
    // The published test vectors of FNV-1a, 64 bits.
    CHECK(pt::edit::fnv1a64("") == "cbf29ce484222325");
    CHECK(pt::edit::fnv1a64("a") == "af63dc4c8601ec8c");
    CHECK(pt::edit::fnv1a64("foobar") == "85944171f73967e8");
}

TEST_CASE("edit::apply: a full disk at the journal's last mark says every change is made",
          "[edit][apply][journal]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/etc/a", "a\n");
    const auto plan = plan_line(root, "/etc/a", "new");
    auto options = quick();
    options.now = std::chrono::system_clock::from_time_t(1764843330); // 2025-12-04T10:15:30Z
    const std::string id = "20251204T101530Z-001";
    // The first write of the manifest (status applying) succeeds; the last one fails.
    pt::host::fail_next_write_to("/var/lib/pt/journal/" + id + "/manifest.json", ENOSPC, 1);
    std::string error;
    try {
        apply(plan, root, options);
    } catch (const pt::Error& e) {
        error = e.what();
    }
    CHECK_THAT(error,
               Catch::Contains("No space left on device")
                   && Catch::Contains("every change IS made: /etc/a (modify)")
                   && Catch::Contains("journal entry " + id + " could not be marked finished")
                   && Catch::Contains("then run: update-initramfs -u -k all"));
    CHECK(slurp(tmp.host("/etc/a")) == "a\nnew\n");
    auto entries = pt::edit::list_entries(root);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].status == EntryStatus::applying);

    // The next apply recognises the entry, says so, and marks it; undo restores from it.
    tmp.write("/etc/b", "b\n");
    const auto next = apply(plan_line(root, "/etc/b", "new"), root, quick());
    REQUIRE(next.notes.size() == 1);
    CHECK_THAT(next.notes[0],
               Catch::Contains("journal entry " + id) && Catch::Contains("interrupted"));
    entries = pt::edit::list_entries(root);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].status == EntryStatus::failed);
    REQUIRE(pt::edit::undo_entry(root, {}));
    REQUIRE(pt::edit::undo_entry(root, {}));
    CHECK(slurp(tmp.host("/etc/a")) == "a\n");
    CHECK(slurp(tmp.host("/etc/b")) == "b\n");
}

TEST_CASE("edit::apply: an immutable file fails the apply before anything is half-written",
          "[edit][apply][mount]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/etc/a", "a\n");
    tmp.write("/etc/x/b", "b\n");
    Mount mount;
    if (!mount.tmpfs(tmp.host("/etc/x"))) {
        WARN("SKIPPED: no tmpfs mount here (not root, or not allowed): the immutable case needs "
             "one (tmpfs takes chattr +i since Linux 6.0)");
        return;
    }
    tmp.write("/etc/x/b", "b\n");
    const int fd = ::open(tmp.host("/etc/x/b").c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    int flags = 0;
    bool immutable = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
    if (immutable) {
        flags |= FS_IMMUTABLE_FL;
        immutable = ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
    }
    ::close(fd);
    if (!immutable) {
        WARN("SKIPPED: this kernel's tmpfs refuses chattr +i");
        return;
    }
    Plan plan = plan_line(root, "/etc/a", "new");
    for (const auto& file : plan_line(root, "/etc/x/b", "new").files) {
        add_file(plan, file);
    }
    std::string error;
    try {
        apply(plan, root, quick());
    } catch (const pt::Error& e) {
        error = e.what();
    }
    CHECK_THAT(error,
               Catch::Contains("Operation not permitted")
                   && Catch::Contains("written before the failure: /etc/a (modify)")
                   && Catch::Contains("not written (still as before): /etc/x/b (modify)"));
    CHECK(slurp(tmp.host("/etc/x/b")) == "b\n");
    CHECK(std::distance(fs::directory_iterator(tmp.host("/etc/x")), fs::directory_iterator()) == 1);
    const int fd2 = ::open(tmp.host("/etc/x/b").c_str(), O_RDONLY | O_CLOEXEC);
    flags &= ~FS_IMMUTABLE_FL;
    ::ioctl(fd2, FS_IOC_SETFLAGS, &flags);
    ::close(fd2);
}
