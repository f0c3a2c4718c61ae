// SPDX-License-Identifier: MIT
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using pt::host::Root;
using pt::test::TempRoot;

TEST_CASE("host::Root constructor", "[host][root]") {
    TempRoot tmp;

    SECTION("a directory becomes the prefix, normalised") {
        const Root root(tmp.path().string() + "/");
        CHECK(root.prefix() == tmp.path());
        CHECK_FALSE(root.is_live());
    }
    SECTION("a prefix with . and .. components is normalised") {
        tmp.mkdir("/sub");
        const Root root(tmp.path() / "sub" / ".." / ".");
        CHECK(root.prefix() == tmp.path());
    }
    SECTION("/ is the live host") {
        const Root root("/");
        CHECK(root.is_live());
        CHECK(root.prefix() == "/");
        CHECK(root.map("/sys/bus/pci") == "/sys/bus/pci");
    }
    SECTION("a missing directory is a usage error naming it") {
        const auto missing = (tmp.path() / "nope").string();
        CHECK_THROWS_AS(Root(missing), pt::UsageError);
        CHECK_THROWS_WITH(Root(missing), Catch::Contains(missing));
    }
    SECTION("a regular file is a usage error") {
        tmp.write("/file", "x");
        CHECK_THROWS_AS(Root(tmp.path() / "file"), pt::UsageError);
    }
}

TEST_CASE("host::Root::map", "[host][root]") {
    TempRoot tmp;
    const Root root(tmp.path());
    CHECK(root.map("/sys/bus/pci/devices") == tmp.path() / "sys/bus/pci/devices");
    CHECK(root.map("/") == tmp.path() / "");
    SECTION("does not follow links") {
        tmp.symlink("/link", "/elsewhere");
        CHECK(root.map("/link/x") == tmp.path() / "link/x");
    }
}

TEST_CASE("host::Root::read_attr", "[host][root]") {
    TempRoot tmp;
    const Root root(tmp.path());

    SECTION("drops exactly one trailing newline") {
        tmp.write("/sys/a", "0x10de\n");
        tmp.write("/sys/b", "two\n\n");
        tmp.write("/sys/c", "none");
        tmp.write("/sys/d", "");
        tmp.write("/sys/e", "\n");
        tmp.write("/sys/f", "line one\nline two\n");
        CHECK(root.read_attr("/sys/a") == std::optional<std::string>("0x10de"));
        CHECK(root.read_attr("/sys/b") == std::optional<std::string>("two\n"));
        CHECK(root.read_attr("/sys/c") == std::optional<std::string>("none"));
        CHECK(root.read_attr("/sys/d") == std::optional<std::string>(""));
        CHECK(root.read_attr("/sys/e") == std::optional<std::string>(""));
        CHECK(root.read_attr("/sys/f") == std::optional<std::string>("line one\nline two"));
    }
    SECTION("absence is nullopt") {
        tmp.write("/sys/file", "x\n");
        CHECK_FALSE(root.read_attr("/sys/missing").has_value());
        CHECK_FALSE(root.read_attr("/nodir/missing").has_value());
        CHECK_FALSE(root.read_attr("/sys/file/below").has_value());
    }
    SECTION("follows relative links") {
        tmp.write("/sys/devices/x/vendor", "0x8086\n");
        tmp.symlink("/sys/bus/x", "../devices/x");
        CHECK(root.read_attr("/sys/bus/x/vendor") == std::optional<std::string>("0x8086"));
    }
    SECTION("reading a directory is an error, not absence") {
        tmp.mkdir("/sys/dir");
        CHECK_THROWS_AS(root.read_attr("/sys/dir"), pt::Error);
    }
}

TEST_CASE("host::Root reads through absolute links stay inside the root", "[host][root][escape]") {
    TempRoot tmp;
    const Root root(tmp.path());

    SECTION("an absolute file link is re-rooted") {
        tmp.write("/data/b", "inside the root\n");
        tmp.symlink("/data/a", "/data/b");
        CHECK(root.read_attr("/data/a") == std::optional<std::string>("inside the root"));
        CHECK(root.read_file("/data/a") == "inside the root\n");
        const auto bytes = root.read_bytes("/data/a", 6);
        REQUIRE(bytes.has_value());
        CHECK(std::string(bytes->begin(), bytes->end()) == "inside");
    }
    SECTION("a link to a real host file reads the root's copy") {
        tmp.write("/etc/hostname", "fixture-host\n");
        tmp.symlink("/etc/x", "/etc/hostname");
        CHECK(root.read_attr("/etc/x") == std::optional<std::string>("fixture-host"));
    }
    SECTION("a link to a real file outside the root reads nothing") {
        // The target exists on this machine, outside the root; inside the root it does not.
        TempRoot outside;
        outside.write("/secret", "outside the root\n");
        outside.mkdir("/dir/sub");
        tmp.symlink("/sys/x", (outside.path() / "secret").string());
        tmp.symlink("/sys/y", (outside.path() / "dir").string());
        REQUIRE(std::filesystem::exists(tmp.host("/sys/x"))); // the OS itself would follow it
        CHECK_FALSE(root.read_attr("/sys/x").has_value());
        CHECK_FALSE(root.read_bytes("/sys/x", 16).has_value());
        CHECK_THROWS_AS(root.read_file("/sys/x"), pt::Error);
        CHECK_FALSE(root.exists("/sys/x"));
        CHECK_FALSE(root.exists("/sys/y"));
        CHECK(root.list("/sys/y").empty());
        CHECK_FALSE(root.link_name("/sys/y/sub").has_value());
        CHECK_FALSE(root.resolve("/sys/x").has_value());
        CHECK_FALSE(root.resolve("/sys/y/sub").has_value());
    }
    SECTION("an absolute directory link is re-rooted for every operation") {
        tmp.write("/sys/devices/pci0000:00/0000:00:01.0/vendor", "0x1022\n");
        tmp.symlink("/sys/bus/pci/devices/0000:00:01.0", "/sys/devices/pci0000:00/0000:00:01.0");
        tmp.symlink("/sys/devices/pci0000:00/0000:00:01.0/driver", "/sys/bus/pci/drivers/pcieport");
        tmp.mkdir("/sys/bus/pci/drivers/pcieport");
        CHECK(root.read_attr("/sys/bus/pci/devices/0000:00:01.0/vendor")
              == std::optional<std::string>("0x1022"));
        CHECK(root.list("/sys/bus/pci/devices/0000:00:01.0")
              == std::vector<std::string>{"driver", "vendor"});
        CHECK(root.exists("/sys/bus/pci/devices/0000:00:01.0/driver"));
        CHECK(root.link_name("/sys/bus/pci/devices/0000:00:01.0/driver")
              == std::optional<std::string>("pcieport"));
    }
    SECTION("dot-dot in a link target stops at the prefix") {
        tmp.write("/data/b", "clamped\n");
        tmp.symlink("/sys/up", "../../../../../../../../data/b");
        CHECK(root.read_attr("/sys/up") == std::optional<std::string>("clamped"));
        CHECK(root.read_attr("/../../../data/b") == std::optional<std::string>("clamped"));
    }
}

// The kernel answers EAGAIN to openat2(RESOLVE_IN_ROOT) when any rename on the system races a
// ".." of the chase, and every sysfs device link climbs with "..". Parallel tests (and a busy
// host) rename all the time; a read must never fail for it.
TEST_CASE("host::Root reads through .. links while the system renames", "[host][root][escape]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/sys/devices/pci0000:80/0000:80:01.1/0000:81:00.0/vendor", "0x10de\n");
    tmp.relative_symlink("/sys/bus/pci/devices/0000:81:00.0",
                         "/sys/devices/pci0000:80/0000:80:01.1/0000:81:00.0");
    TempRoot spin;
    spin.write("/a", "x");
    std::atomic<bool> stop{false};
    std::thread renamer([&] {
        const auto a = spin.host("/a");
        const auto b = spin.host("/b");
        while (!stop) {
            std::filesystem::rename(a, b);
            std::filesystem::rename(b, a);
        }
    });
    int failures = 0;
    for (int i = 0; i < 20000; ++i) {
        try {
            if (root.read_attr("/sys/bus/pci/devices/0000:81:00.0/vendor")
                != std::optional<std::string>("0x10de")) {
                ++failures;
            }
        } catch (const pt::Error&) {
            ++failures;
        }
    }
    stop = true;
    renamer.join();
    CHECK(failures == 0);
}

TEST_CASE("host::Root::read_file", "[host][root]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/proc/cmdline", "quiet splash");

    SECTION("returns the contents") {
        CHECK(root.read_file("/proc/cmdline") == "quiet splash");
    }
    SECTION("a missing file is a pt::Error naming the mapped path") {
        CHECK_THROWS_AS(root.read_file("/proc/missing"), pt::Error);
        CHECK_THROWS_WITH(root.read_file("/proc/missing"),
                          Catch::Contains((tmp.path() / "proc/missing").string()));
    }
}

// Config files are edited byte for byte, so read_file keeps every byte, unlike read_attr.
TEST_CASE("host::Root::read_file keeps the file byte for byte", "[host][root]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/etc/default/grub", "GRUB_TIMEOUT=5\n\n");
    CHECK(root.read_file("/etc/default/grub") == "GRUB_TIMEOUT=5\n\n");
    tmp.write("/etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs");
    CHECK(root.read_file("/etc/kernel/cmdline") == "root=ZFS=rpool/ROOT/pve-1 boot=zfs");
}

TEST_CASE("host::Root::read_bytes", "[host][root]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/sys/config", std::string("\xde\x10\x04\x22\x00\x01", 6));

    SECTION("reads at most max bytes, binary safe") {
        const auto all = root.read_bytes("/sys/config", 64);
        REQUIRE(all.has_value());
        CHECK(*all == std::vector<std::uint8_t>{0xde, 0x10, 0x04, 0x22, 0x00, 0x01});
        const auto four = root.read_bytes("/sys/config", 4);
        REQUIRE(four.has_value());
        CHECK(*four == std::vector<std::uint8_t>{0xde, 0x10, 0x04, 0x22});
        const auto none = root.read_bytes("/sys/config", 0);
        REQUIRE(none.has_value());
        CHECK(none->empty());
    }
    SECTION("absence is nullopt") {
        CHECK_FALSE(root.read_bytes("/sys/nothing", 64).has_value());
    }
}

TEST_CASE("host::Root::list", "[host][root]") {
    TempRoot tmp;
    const Root root(tmp.path());

    SECTION("sorted bytewise, without . and ..") {
        for (const char* name : {"b", "a", "B", "0000:10:00.0", "0000:01:00.0", "_x"}) {
            tmp.write(std::string("/sys/d/") + name, "");
        }
        tmp.mkdir("/sys/d/sub");
        CHECK(root.list("/sys/d")
              == std::vector<std::string>{
                  "0000:01:00.0", "0000:10:00.0", "B", "_x", "a", "b", "sub"});
    }
    SECTION("an empty directory") {
        tmp.mkdir("/sys/empty");
        CHECK(root.list("/sys/empty").empty());
    }
    SECTION("a missing directory is empty") {
        CHECK(root.list("/sys/missing").empty());
        CHECK(root.list("/missing/deeper").empty());
    }
    SECTION("through a relative directory link") {
        tmp.write("/sys/devices/x/one", "");
        tmp.symlink("/sys/bus/x", "../devices/x");
        CHECK(root.list("/sys/bus/x") == std::vector<std::string>{"one"});
    }
}

TEST_CASE("host::Root::exists", "[host][root]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/sys/file", "1\n");
    tmp.mkdir("/sys/dir");
    tmp.symlink("/sys/good", "file");
    tmp.symlink("/sys/dangling", "nothing");

    CHECK(root.exists("/sys/file"));
    CHECK(root.exists("/sys/dir"));
    CHECK(root.exists("/sys"));
    CHECK(root.exists("/sys/good"));
    CHECK_FALSE(root.exists("/sys/dangling"));
    CHECK_FALSE(root.exists("/sys/missing"));
    CHECK_FALSE(root.exists("/sys/file/below"));
}

TEST_CASE("host::Root::link_name", "[host][root]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.mkdir("/sys/bus/pci/drivers/vfio-pci");
    tmp.mkdir("/sys/kernel/iommu_groups/14");
    tmp.mkdir("/sys/devices/pci0000:00/0000:01:00.0");
    const std::string dev = "/sys/devices/pci0000:00/0000:01:00.0";
    tmp.symlink(dev + "/driver", "../../../bus/pci/drivers/vfio-pci");
    tmp.symlink(dev + "/iommu_group", "/sys/kernel/iommu_groups/14");
    tmp.symlink(dev + "/slash", "../../../kernel/iommu_groups/14/");
    tmp.symlink(dev + "/plain", "target");
    tmp.symlink(dev + "/dangling", "../nowhere/vfio-pci");
    tmp.write(dev + "/vendor", "0x10de\n");

    CHECK(root.link_name(dev + "/driver") == std::optional<std::string>("vfio-pci"));
    CHECK(root.link_name(dev + "/iommu_group") == std::optional<std::string>("14"));
    CHECK(root.link_name(dev + "/slash") == std::optional<std::string>("14"));
    CHECK(root.link_name(dev + "/plain") == std::optional<std::string>("target"));
    SECTION("a dangling link still has a name") {
        CHECK(root.link_name(dev + "/dangling") == std::optional<std::string>("vfio-pci"));
    }
    SECTION("not a link, or absent") {
        CHECK_FALSE(root.link_name(dev + "/vendor").has_value());
        CHECK_FALSE(root.link_name(dev).has_value());
        CHECK_FALSE(root.link_name(dev + "/missing").has_value());
        CHECK_FALSE(root.link_name("/no/such/dir/driver").has_value());
    }
    SECTION("the link's directory may be reached through links") {
        tmp.symlink("/sys/bus/pci/devices/0000:01:00.0", "/" + dev.substr(1));
        CHECK(root.link_name("/sys/bus/pci/devices/0000:01:00.0/driver")
              == std::optional<std::string>("vfio-pci"));
    }
}

TEST_CASE("host::Root::resolve", "[host][root]") {
    TempRoot tmp;
    const Root root(tmp.path());
    const std::string dev = "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0";
    tmp.mkdir(dev);
    tmp.write(dev + "/vendor", "0x10de\n");

    SECTION("plain paths resolve to themselves, normalised") {
        CHECK(root.resolve("/") == std::optional<std::string>("/"));
        CHECK(root.resolve(dev) == std::optional<std::string>(dev));
        CHECK(root.resolve("//sys/./devices//pci0000:00/") == "/sys/devices/pci0000:00");
        CHECK(root.resolve("/sys/devices/pci0000:00/0000:00:01.0/../0000:00:01.0")
              == "/sys/devices/pci0000:00/0000:00:01.0");
    }
    SECTION("the kernel's relative bus link") {
        tmp.symlink("/sys/bus/pci/devices/0000:01:00.0",
                    "../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0");
        CHECK(root.resolve("/sys/bus/pci/devices/0000:01:00.0") == std::optional<std::string>(dev));
        CHECK(root.resolve("/sys/bus/pci/devices/0000:01:00.0/vendor")
              == std::optional<std::string>(dev + "/vendor"));
    }
    SECTION("an absolute target is re-rooted under the prefix") {
        tmp.symlink("/sys/bus/pci/devices/0000:01:00.0", dev);
        CHECK(root.resolve("/sys/bus/pci/devices/0000:01:00.0/vendor")
              == std::optional<std::string>(dev + "/vendor"));
    }
    SECTION("an absolute target that exists only on the real host does not resolve") {
        tmp.symlink("/sys/escape", "/usr/bin");
        CHECK_FALSE(root.resolve("/sys/escape").has_value());
    }
    SECTION("dot-dot is clamped at the prefix") {
        CHECK(root.resolve("/../../..") == std::optional<std::string>("/"));
        CHECK(root.resolve("/../sys/../../sys/devices") == "/sys/devices");
        tmp.symlink("/sys/up", "../../../../../../sys/devices");
        CHECK(root.resolve("/sys/up") == std::optional<std::string>("/sys/devices"));
    }
    SECTION("a chain of links") {
        tmp.symlink("/a", "b");
        tmp.symlink("/b", "/c/d");
        tmp.mkdir("/c");
        tmp.symlink("/c/d", "../sys/devices");
        CHECK(root.resolve("/a/pci0000:00")
              == std::optional<std::string>("/sys/devices/pci0000:00"));
    }
    SECTION("a missing component is nullopt") {
        CHECK_FALSE(root.resolve("/sys/missing").has_value());
        CHECK_FALSE(root.resolve(dev + "/vendor/below").has_value());
        tmp.symlink("/sys/dangling", "nothing");
        CHECK_FALSE(root.resolve("/sys/dangling").has_value());
    }
    SECTION("dot-dot after a link climbs from the link's target, as in the kernel") {
        tmp.symlink("/sys/bus/pci/devices/0000:01:00.0",
                    "../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0");
        tmp.write("/sys/devices/pci0000:00/0000:00:01.0/vendor", "0x8086\n");
        CHECK(root.resolve("/sys/bus/pci/devices/0000:01:00.0/..")
              == std::optional<std::string>("/sys/devices/pci0000:00/0000:00:01.0"));
        CHECK(root.read_attr("/sys/bus/pci/devices/0000:01:00.0/../vendor")
              == std::optional<std::string>("0x8086"));
    }
    SECTION("a link loop is a pt::Error") {
        tmp.symlink("/loop/a", "b");
        tmp.symlink("/loop/b", "a");
        tmp.symlink("/self", "/self");
        CHECK_THROWS_AS(root.resolve("/loop/a"), pt::Error);
        CHECK_THROWS_AS(root.resolve("/self/x"), pt::Error);
        CHECK_THROWS_AS(root.read_attr("/loop/a"), pt::Error);
        CHECK_FALSE(root.exists("/loop/a"));
    }
}

TEST_CASE("host::Root copies share the prefix", "[host][root]") {
    TempRoot tmp;
    tmp.write("/f", "v\n");
    std::optional<Root> first(Root(tmp.path()));
    const Root copy = *first;
    first.reset();
    CHECK(copy.prefix() == tmp.path());
    CHECK(copy.read_attr("/f") == std::optional<std::string>("v"));
}

TEST_CASE("host::join", "[host][root]") {
    using pt::host::join;
    CHECK(join("/sys", "x") == "/sys/x");
    CHECK(join("/sys/", "x") == "/sys/x");
    CHECK(join("/sys//", "/x") == "/sys/x");
    CHECK(join("/", "x") == "/x");
    CHECK(join("", "x") == "/x");
    CHECK(join("/sys/bus/pci/devices", "0000:01:00.0") == "/sys/bus/pci/devices/0000:01:00.0");
}

TEST_CASE("host::Dir::read_attr of a path below the directory", "[host][root][escape]") {
    TempRoot tmp;
    const Root root(tmp.path());
    tmp.write("/sys/kernel/iommu_groups/14/type", "DMA-FQ\n");
    const auto groups = root.open_dir("/sys/kernel/iommu_groups");
    REQUIRE(groups.has_value());

    SECTION("plain directories: read in one step") {
        CHECK(groups->read_attr("14/type") == std::optional<std::string>("DMA-FQ"));
        CHECK_FALSE(groups->read_attr("15/type").has_value());
        CHECK_FALSE(groups->read_attr("14/missing").has_value());
    }
    SECTION("a link on the way is followed inside the root") {
        tmp.write("/sys/kernel/real/type", "identity\n");
        tmp.symlink("/sys/kernel/iommu_groups/15", "/sys/kernel/real");
        tmp.symlink("/sys/kernel/iommu_groups/16", "../real");
        CHECK(groups->read_attr("15/type") == std::optional<std::string>("identity"));
        CHECK(groups->read_attr("16/type") == std::optional<std::string>("identity"));
    }
    SECTION("a link to a directory outside the root reads nothing") {
        TempRoot outside;
        outside.write("/group/type", "outside the root\n");
        tmp.symlink("/sys/kernel/iommu_groups/17", (outside.path() / "group").string());
        REQUIRE(std::filesystem::exists(tmp.host("/sys/kernel/iommu_groups/17/type")));
        CHECK_FALSE(groups->read_attr("17/type").has_value());
    }
    SECTION("dot-dot cannot climb out of the root") {
        CHECK(groups->read_attr("../iommu_groups/14/type") == std::optional<std::string>("DMA-FQ"));
        CHECK_FALSE(groups->read_attr("../../../../../../etc/passwd").has_value());
    }
}

TEST_CASE("host::Dir::read_file: regular files whole, nothing else", "[host][root][escape]") {
    TempRoot tmp;
    const Root root(tmp.path());
    const std::string big(10000, 'x');
    tmp.write("/sys/dev/vendor", "0x10de\n");
    tmp.write("/sys/dev/big", big);
    tmp.write("/etc/secret", "outside the folder\n");
    tmp.symlink("/sys/dev/link", "/etc/secret");
    REQUIRE(::mkfifo((tmp.path() / "sys/dev/fifo").c_str(), 0600) == 0);
    const auto dir = root.open_dir("/sys/dev");
    REQUIRE(dir.has_value());

    const auto vendor = dir->read_file("vendor");
    REQUIRE(vendor.has_value());
    CHECK(vendor->content == "0x10de\n"); // byte for byte, the newline kept
    CHECK(S_ISREG(vendor->status.st_mode));
    CHECK(dir->read_file("big")->content == big);
    CHECK_FALSE(dir->read_file("absent").has_value());
    CHECK_FALSE(dir->read_file("link").has_value()); // never followed
    CHECK_FALSE(dir->read_file("fifo").has_value()); // and never blocks
}

TEST_CASE("host::Root::node: kind and major:minor, links followed inside the root",
          "[host][root]") {
    TempRoot tmp;
    tmp.write("/dev/nvidia0", "");
    tmp.mkdir("/dev/dri");
    tmp.symlink("/dev/null-link", "/dev/null"); // re-rooted: the root has no /dev/null
    tmp.symlink("/dev/nvidia-link", "/dev/nvidia0");
    const pt::host::Root root(tmp.path());
    CHECK(root.node("/dev/nvidia0")->kind == pt::host::NodeInfo::Kind::regular);
    CHECK(root.node("/dev/nvidia-link")->kind == pt::host::NodeInfo::Kind::regular);
    CHECK(root.node("/dev/dri")->kind == pt::host::NodeInfo::Kind::directory);
    CHECK_FALSE(root.node("/dev/null-link"));
    CHECK_FALSE(root.node("/dev/nvidia9"));

    // The live root's /dev/null is the character device 1:3 on every Linux system.
    const auto null = pt::host::Root("/").node("/dev/null");
    REQUIRE(null);
    CHECK(null->kind == pt::host::NodeInfo::Kind::character);
    CHECK(null->major == 1);
    CHECK(null->minor == 3);
}
