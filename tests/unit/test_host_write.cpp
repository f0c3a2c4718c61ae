// SPDX-License-Identifier: MIT
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/host/write.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

using pt::host::FileMeta;
using pt::host::Root;
using pt::test::TempRoot;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

struct stat stat_of(const fs::path& path) {
    struct stat st {};

    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st;
}

// The entries of a directory, to prove no temporary file is left behind.
std::size_t entries(const fs::path& dir) {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// A mount for the duration of a test, when the test runs as root and the kernel allows it
// (containers often do not); unmounted before the TempRoot under it is removed.
class Mount {
public:
    // A read-only bind mount of `dir` onto itself.
    static bool read_only(Mount& m, const fs::path& dir) {
        if (::geteuid() != 0 || ::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) != 0) {
            return false;
        }
        m.m_path = dir;
        return ::mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr)
               == 0;
    }

    // A tmpfs of `size` ("64k") on `dir`.
    static bool tmpfs(Mount& m, const fs::path& dir, const char* size) {
        const std::string options = std::string("size=") + size;
        if (::geteuid() != 0 || ::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) != 0) {
            return false;
        }
        m.m_path = dir;
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

TEST_CASE("host::replace_file", "[host][write]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/etc/default/grub", "old\n");
    const auto file = tmp.host("/etc/default/grub");
    ::chmod(file.c_str(), 0640);

    SECTION("replaces the content and keeps mode and owner; no temporary file stays") {
        const bool root_user = ::geteuid() == 0;
        if (root_user) {
            REQUIRE(::chown(file.c_str(), 1234, 4321) == 0);
        }
        const auto meta = pt::host::file_meta(root, "/etc/default/grub");
        REQUIRE(meta);
        CHECK(meta->mode == 0640);
        pt::host::replace_file(root, "/etc/default/grub", "new\n", *meta);
        CHECK(slurp(file) == "new\n");
        const auto st = stat_of(file);
        CHECK((st.st_mode & 07777) == 0640);
        if (root_user) {
            CHECK(st.st_uid == 1234);
            CHECK(st.st_gid == 4321);
        }
        CHECK(entries(tmp.host("/etc/default")) == 1);
    }
    SECTION("a new file gets the given mode") {
        pt::host::replace_file(
            root, "/etc/default/new", "x", FileMeta{0600, ::geteuid(), ::getegid()});
        CHECK(slurp(tmp.host("/etc/default/new")) == "x");
        CHECK((stat_of(tmp.host("/etc/default/new")).st_mode & 07777) == 0600);
    }
    SECTION("a file that is a link is replaced at its target; the link stays") {
        tmp.write("/etc/default/grub.real", "real\n");
        fs::remove(file);
        tmp.symlink("/etc/default/grub", "grub.real");
        pt::host::replace_file(
            root, "/etc/default/grub", "new\n", FileMeta{0644, ::geteuid(), ::getegid()});
        CHECK(fs::is_symlink(file));
        CHECK(slurp(tmp.host("/etc/default/grub.real")) == "new\n");
    }
    SECTION("a missing directory is an error naming the path") {
        CHECK_THROWS_WITH(pt::host::replace_file(root, "/etc/nope/x", "x", FileMeta{}),
                          Catch::Contains(tmp.host("/etc/nope/x").string())
                              && Catch::Contains("No such file or directory"));
    }
    SECTION("an injected failure (the test seam) leaves the file untouched") {
        pt::host::fail_next_write_to("/etc/default/grub", ENOSPC);
        CHECK_THROWS_WITH(
            pt::host::replace_file(root, "/etc/default/grub", "new\n", FileMeta{0640}),
            Catch::Contains("No space left on device"));
        CHECK(slurp(file) == "old\n");
        CHECK(entries(tmp.host("/etc/default")) == 1);
        // It fires once.
        pt::host::replace_file(
            root, "/etc/default/grub", "new\n", FileMeta{0640, ::geteuid(), ::getegid()});
        CHECK(slurp(file) == "new\n");
    }
}

TEST_CASE("host::replace_file on a full or read-only file system", "[host][write][mount]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/etc/x/file", "old\n");
    const auto dir = tmp.host("/etc/x");
    const FileMeta meta{0644, ::geteuid(), ::getegid()};

    SECTION("read-only") {
        Mount mount;
        if (!Mount::read_only(mount, dir)) {
            WARN("no read-only bind mount here (not root, or not allowed); using the seam");
            pt::host::fail_next_write_to("/etc/x/file", EROFS);
        }
        CHECK_THROWS_WITH(pt::host::replace_file(root, "/etc/x/file", "new\n", meta),
                          Catch::Contains("Read-only file system"));
        CHECK(slurp(tmp.host("/etc/x/file")) == "old\n");
        CHECK(entries(dir) == 1);
    }
    SECTION("full") {
        Mount mount;
        if (Mount::tmpfs(mount, dir, "64k")) {
            tmp.write("/etc/x/file", "old\n");
        } else {
            WARN("no tmpfs mount here (not root, or not allowed); using the seam");
            pt::host::fail_next_write_to("/etc/x/file", ENOSPC);
        }
        CHECK_THROWS_WITH(
            pt::host::replace_file(root, "/etc/x/file", std::string(256 * 1024, 'x'), meta),
            Catch::Contains("No space left on device"));
        CHECK(slurp(tmp.host("/etc/x/file")) == "old\n");
        CHECK(entries(dir) == 1);
    }
}

TEST_CASE("host::remove_file", "[host][write]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/etc/a", "x");
    pt::host::remove_file(root, "/etc/a");
    CHECK_FALSE(fs::exists(tmp.host("/etc/a")));
    CHECK_NOTHROW(pt::host::remove_file(root, "/etc/a"));
}

TEST_CASE("host::write_attr", "[host][write]") {
    TempRoot tmp;
    const Root root(tmp.path());
    pt::test::DeviceSpec spec;
    spec.address = "0000:01:00.0";
    spec.attrs = {{"driver_override", "(null)\n"}};
    tmp.add_device(spec);

    SECTION("writes exactly the value, through the device link") {
        pt::host::write_attr(root, "/sys/bus/pci/devices/0000:01:00.0/driver_override", "vfio-pci");
        CHECK(*root.read_attr("/sys/bus/pci/devices/0000:01:00.0/driver_override") == "vfio-pci");
    }
    SECTION("a missing attribute is an error naming value and path, and is never created") {
        CHECK_THROWS_WITH(pt::host::write_attr(root, "/sys/bus/pci/devices/0000:01:00.0/nope", "1"),
                          "cannot write \"1\" to "
                              + tmp.host("/sys/bus/pci/devices/0000:01:00.0/nope").string()
                              + ": No such file or directory");
        CHECK_FALSE(root.exists("/sys/bus/pci/devices/0000:01:00.0/nope"));
    }
    SECTION("the kernel's errno is named") {
        pt::host::fail_next_write_to("/sys/bus/pci/devices/0000:01:00.0/driver_override", EBUSY);
        CHECK_THROWS_WITH(pt::host::write_attr(root,
                                               "/sys/bus/pci/devices/0000:01:00.0/driver_override",
                                               "vfio-pci"),
                          Catch::Contains("cannot write \"vfio-pci\" to")
                              && Catch::Contains("driver_override: Device or resource busy"));
    }
}

TEST_CASE("host::lock_file", "[host][write]") {
    TempRoot tmp;
    const Root root(tmp.path());
    using std::chrono::milliseconds;
    auto held = pt::host::lock_file(root, "/var/lib/pt/lock", milliseconds(0), milliseconds(0), {});
    CHECK(fs::exists(tmp.host("/var/lib/pt/lock")));

    SECTION("a second taker waits, is told, and gives up after the timeout naming the holder") {
        std::atomic<bool> told = false;
        std::string error;
        std::thread other([&] {
            try {
                pt::host::lock_file(
                    root, "/var/lib/pt/lock", milliseconds(20), milliseconds(200), [&] {
                        told = true;
                    });
            } catch (const pt::Error& e) {
                error = e.what();
            }
        });
        other.join();
        CHECK(told);
        CHECK_THAT(error,
                   Catch::Contains("another pt is changing this host")
                       && Catch::Contains(std::to_string(::getpid())));
    }
    SECTION("released by the destructor") {
        { const auto gone = std::move(held); }
        CHECK_NOTHROW(
            pt::host::lock_file(root, "/var/lib/pt/lock", milliseconds(0), milliseconds(0), {}));
    }
}

TEST_CASE("host::lock_file: another program's lock is flocked, never written",
          "[host][write][lock]") {
    TempRoot tmp;
    const Root root(tmp.path());
    using std::chrono::milliseconds;
    tmp.write("/var/lock/qemu-server/lock-100.conf", "");
    const pt::host::ForeignLock foreign{"VM 100's config", "qm or the Proxmox API"};
    auto held = pt::host::lock_file(
        root, "/var/lock/qemu-server/lock-100.conf", milliseconds(0), milliseconds(0), {}, foreign);
    CHECK(slurp(tmp.host("/var/lock/qemu-server/lock-100.conf")).empty());
    std::string error;
    bool told = false;
    std::thread other([&] {
        try {
            pt::host::lock_file(
                root,
                "/var/lock/qemu-server/lock-100.conf",
                milliseconds(0),
                milliseconds(100),
                [&] { told = true; },
                foreign);
        } catch (const pt::Error& e) {
            error = e.what();
        }
    });
    other.join();
    CHECK_THAT(error,
               Catch::Contains("VM 100's config is locked by another process (qm or the "
                               "Proxmox API hold ")
                   && Catch::Contains("lock-100.conf") && !Catch::Contains("another pt"));
    CHECK(slurp(tmp.host("/var/lock/qemu-server/lock-100.conf")).empty());

    SECTION("a missing one is created empty, mode 0644") {
        auto other_vm = pt::host::lock_file(root,
                                            "/var/lock/qemu-server/lock-101.conf",
                                            milliseconds(0),
                                            milliseconds(0),
                                            {},
                                            foreign);
        CHECK(slurp(tmp.host("/var/lock/qemu-server/lock-101.conf")).empty());
        CHECK((stat_of(tmp.host("/var/lock/qemu-server/lock-101.conf")).st_mode & 0133) == 0);
    }
}

TEST_CASE("host::replace_file: set_owner false never changes the owner", "[host][write]") {
    TempRoot tmp;
    const Root root(tmp.path());
    // An owner this process could only give with CAP_CHOWN; with set_owner false no fchown
    // runs, so the file keeps the creator's owner whoever runs the test.
    pt::host::make_dirs(root, "/etc/pve/mapping");
    pt::host::replace_file(
        root, "/etc/pve/mapping/pci.cfg.new", "x\n", FileMeta{0640, 4242, 4343, false});
    const auto st = stat_of(tmp.host("/etc/pve/mapping/pci.cfg.new"));
    CHECK(st.st_uid == ::geteuid());
    CHECK(st.st_uid != 4242);
    CHECK(st.st_gid != 4343);
    CHECK((st.st_mode & 0777) == 0640);
}

TEST_CASE("host::make_dirs and make_dir", "[host][write]") {
    TempRoot tmp;
    const Root root(tmp.path());
    pt::host::make_dirs(root, "/var/lib/pt/journal");
    CHECK(fs::is_directory(tmp.host("/var/lib/pt/journal")));
    CHECK_FALSE(pt::host::make_dir(root, "/var/lib/pt/journal"));
    CHECK(pt::host::make_dir(root, "/var/lib/pt/journal/x"));
}

TEST_CASE("host writers stay inside the root: links out of it are refused, never followed",
          "[host][write][containment]") {
    TempRoot tmp;
    const Root root(tmp.path());
    const fs::path outside = tmp.path().parent_path() / (tmp.path().filename().string() + ".out");
    fs::create_directories(outside);

    struct Cleanup {
        fs::path dir;

        ~Cleanup() { fs::remove_all(dir); }
    } cleanup{outside};

    tmp.write("/etc/keep", "keep\n");
    fs::create_directories(tmp.host("/var/lib/pt"));

    SECTION("a dangling relative link that climbs out, at a file pt writes") {
        fs::create_symlink("../../" + outside.filename().string() + "/target",
                           tmp.host("/etc/modules"));
        CHECK_FALSE(pt::host::read_if_exists(root, "/etc/modules"));
        CHECK_THROWS_WITH(pt::host::replace_file(root, "/etc/modules", "vfio\n", FileMeta{}),
                          Catch::Contains("/etc/modules: it is a symbolic link to")
                              && Catch::Contains("which leaves the root"));
    }
    SECTION("an absolute link at a file pt writes is read inside the root, where it is missing") {
        fs::create_symlink(outside / "target", tmp.host("/etc/modules"));
        CHECK_THROWS_WITH(pt::host::replace_file(root, "/etc/modules", "vfio\n", FileMeta{}),
                          Catch::Contains("which does not exist inside the root"));
    }
    SECTION("the lock is never opened through a link") {
        fs::create_symlink(outside / "lock", tmp.host("/var/lib/pt/lock"));
        CHECK_THROWS_WITH(pt::host::lock_file(root,
                                              "/var/lib/pt/lock",
                                              std::chrono::milliseconds(10),
                                              std::chrono::milliseconds(1000),
                                              {}),
                          Catch::Contains("/var/lib/pt/lock: it is a symbolic link to"));
    }
    SECTION("a folder pt creates that is a link out of the root") {
        fs::create_symlink("../../../" + outside.filename().string(),
                           tmp.host("/var/lib/pt/journal"));
        CHECK_THROWS_WITH(pt::host::make_dirs(root, "/var/lib/pt/journal/x"),
                          Catch::Contains("/var/lib/pt/journal: it is a symbolic link to"));
    }
    SECTION("a sysfs attribute that is a link") {
        fs::create_directories(tmp.host("/sys/devices/x"));
        fs::create_symlink(outside / "attr", tmp.host("/sys/devices/x/driver_override"));
        CHECK_THROWS_WITH(pt::host::write_attr(root, "/sys/devices/x/driver_override", "vfio-pci"),
                          Catch::Contains("it is a symbolic link"));
    }
    CHECK(fs::is_empty(outside));
    CHECK(slurp(tmp.host("/etc/keep")) == "keep\n");
}

TEST_CASE("host reads refuse what is not a regular file, and never cut a file short",
          "[host][root]") {
    TempRoot tmp;
    const Root root(tmp.path());
    SECTION("a FIFO is refused at once, not waited on") {
        fs::create_directories(tmp.host("/etc"));
        REQUIRE(::mkfifo(tmp.host("/etc/fifo").c_str(), 0644) == 0);
        CHECK_THROWS_WITH(root.read_file("/etc/fifo"), Catch::Contains("it is a FIFO"));
        CHECK_THROWS_WITH(pt::host::read_if_exists(root, "/etc/fifo"),
                          Catch::Contains("it is a FIFO"));
        CHECK_THROWS_WITH(pt::host::replace_file(root, "/etc/fifo", "x", FileMeta{}),
                          Catch::Contains("not a regular file"));
    }
    SECTION("a file over the limit names its size") {
        tmp.write("/etc/big", "x");
        fs::resize_file(tmp.host("/etc/big"), Root::k_text_limit + 10);
        CHECK_THROWS_WITH(root.read_file("/etc/big"),
                          Catch::Contains("is 16777226 bytes and pt reads at most 16777216"));
    }
    SECTION("a file of exactly the limit is read whole") {
        tmp.write("/etc/full", "x");
        fs::resize_file(tmp.host("/etc/full"), Root::k_text_limit);
        CHECK(root.read_file("/etc/full").size() == Root::k_text_limit);
    }
}

TEST_CASE("host::remove_temp_files removes pt's own leftovers only", "[host][write]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/etc/d/.grub.pt-a1b2c3", "half");
    tmp.write("/etc/d/.grub.pt-A1B2C3", "other");
    tmp.write("/etc/d/.grub.pt-a1b2c", "other");
    tmp.write("/etc/d/grub.pt-a1b2c3", "other");
    tmp.write("/etc/d/grub", "kept");
    CHECK(pt::host::remove_temp_files(root, "/etc/d")
          == std::vector<std::string>{"/etc/d/.grub.pt-a1b2c3"});
    CHECK(entries(tmp.host("/etc/d")) == 4);
    CHECK(pt::host::remove_temp_files(root, "/etc/missing").empty());
    CHECK(pt::host::is_temp_name(".pt-vfio.conf.pt-0zz9aa"));
    CHECK_FALSE(pt::host::is_temp_name(".pt-x"));
}
