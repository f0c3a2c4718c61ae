// SPDX-License-Identifier: MIT
#include "pt/model/host.hpp"
#include "support/catch.hpp"
#include "support/initramfs_writer.hpp"
#include "support/temp_root.hpp"

#include <string>
#include <vector>

using pt::model::Host;
using pt::test::TempRoot;

namespace {

Host model(const TempRoot& tmp) {
    return Host(pt::host::Root(tmp.path()));
}

} // namespace

TEST_CASE("model::release_less orders kernel releases as versions", "[model][host]") {
    using pt::model::release_less;
    CHECK(release_less("6.8.12-4-pve", "6.8.12-10-pve"));
    CHECK_FALSE(release_less("6.8.12-10-pve", "6.8.12-4-pve"));
    CHECK(release_less("6.8.12-10-pve", "6.14.8-2-pve"));
    CHECK(release_less("6.5.13-6-pve", "6.8.4-2-pve"));
    CHECK(release_less("6.8.12-04-pve", "6.8.12-5-pve")); // leading zeros do not count
    CHECK(release_less("6.8.12", "6.8.12-1-pve"));        // a prefix comes first
    CHECK_FALSE(release_less("6.8.12-4-pve", "6.8.12-4-pve"));
}

TEST_CASE("model::Host: running facts", "[model][host]") {
    TempRoot tmp;
    SECTION("nothing in the root: unknown, not empty") {
        const auto host = model(tmp);
        CHECK_FALSE(host.proc_modules());
        CHECK_FALSE(host.booted_at());
        CHECK_FALSE(host.module_loaded("vfio"));
        CHECK(host.installed_kernels().empty());
        CHECK_FALSE(host.staged());
        CHECK_FALSE(host.log().lines);
        CHECK(host.log_facts().iommu_messages.empty());
    }
    SECTION("/proc/modules, /sys/module and /proc/stat") {
        tmp.write("/proc/modules",
                  "vfio_pci 16384 0 - Live 0x0000000000000000\n\n"
                  "kvm-intel 401408 0 - Live 0x0000000000000000\n");
        tmp.mkdir("/sys/module/vfio");
        tmp.write("/proc/stat", "cpu  1 2 3\nctxt 5\nbtime 1700000000\nprocesses 9\n");
        const auto host = model(tmp);
        CHECK(host.proc_modules() == std::vector<std::string>{"vfio_pci", "kvm_intel"});
        CHECK(host.module_loaded("vfio-pci") == true);
        CHECK(host.module_loaded("kvm_intel") == true);
        CHECK(host.module_loaded("vfio") == true);
        CHECK(host.module_loaded("nvidia") == false);
        CHECK(host.booted_at() == 1700000000);
    }
    SECTION("a malformed btime is unknown") {
        tmp.write("/proc/stat", "btime x\n");
        CHECK_FALSE(model(tmp).booted_at());
    }
}

TEST_CASE("model::Host: the configured command line and module configuration", "[model][host]") {
    TempRoot tmp;
    tmp.write("/proc/cpuinfo", "vendor_id\t: GenuineIntel\n");
    tmp.write("/proc/sys/kernel/osrelease", "6.8.12-4-pve\n");
    tmp.write("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz ro quiet vfio-pci.ids=10de:1aef\n");
    SECTION("no bootloader configuration: the next boot gets the running command line") {
        const auto host = model(tmp);
        CHECK_FALSE(host.boot().configured);
        const auto ids = host.modprobe_configured().option("vfio_pci", "ids");
        REQUIRE(ids);
        CHECK(ids->value == "10de:1aef");
        CHECK(ids->source.path == "/proc/cmdline");
    }
    SECTION("GRUB configured differently: the next boot's value comes from /etc/default/grub") {
        tmp.mkdir("/sys/firmware/efi");
        tmp.write("/etc/default/grub",
                  "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet vfio-pci.ids=10de:2204\"\n");
        const auto host = model(tmp);
        CHECK(host.boot().detection.kind == pt::boot::Bootloader::grub);
        CHECK(host.boot().configured == "quiet vfio-pci.ids=10de:2204");
        const auto next = host.modprobe_configured().option("vfio_pci", "ids");
        REQUIRE(next);
        CHECK(next->value == "10de:2204");
        CHECK(next->source.path == "/etc/default/grub");
        // What applies to a module loaded now is still the running command line.
        const auto now = host.modprobe_running().option("vfio_pci", "ids");
        REQUIRE(now);
        CHECK(now->value == "10de:1aef");
    }
    SECTION("module lists") {
        tmp.write("/etc/modules-load.d/vfio.conf", "vfio\nvfio-pci\n");
        tmp.write("/etc/initramfs-tools/modules", "vfio_iommu_type1\n");
        const auto host = model(tmp);
        const auto& lists = host.module_lists();
        REQUIRE(lists.size() == 2);
        bool initramfs_seen = false;
        for (const auto& list : lists) {
            if (list.path == "/etc/initramfs-tools/modules") {
                initramfs_seen = true;
                CHECK(list.initramfs);
                CHECK(list.modules == std::vector<std::string>{"vfio_iommu_type1"});
            } else {
                CHECK(list.path == "/etc/modules-load.d/vfio.conf");
                CHECK(list.modules == std::vector<std::string>{"vfio", "vfio_pci"});
            }
        }
        CHECK(initramfs_seen);
    }
}

TEST_CASE("model::Host: the next boot's initramfs", "[model][host]") {
    TempRoot tmp;
    tmp.write("/lib/modules/6.8.12-10-pve/modules.dep", "");
    tmp.write("/lib/modules/6.8.12-4-pve/modules.dep", "");
    tmp.write("/lib/modules/6.5.13-6-pve/modules.dep", "");
    tmp.mkdir("/lib/modules/extra");
    CHECK(model(tmp).installed_kernels()
          == std::vector<std::string>{"6.5.13-6-pve", "6.8.12-4-pve", "6.8.12-10-pve"});

    SECTION("the newest kernel, without an image") {
        const auto host = model(tmp);
        const auto& staged = host.staged();
        REQUIRE(staged);
        CHECK(staged->kernel == "6.8.12-10-pve");
        CHECK(staged->path == "/boot/initrd.img-6.8.12-10-pve");
        CHECK(staged->chosen_because == "the newest installed kernel");
        CHECK_FALSE(staged->image);
        CHECK_FALSE(staged->readable());
        CHECK_FALSE(staged->has_module("vfio"));
    }
    SECTION("a pin wins; next-boot-pin before proxmox-boot-pin") {
        tmp.write("/etc/kernel/proxmox-boot-pin", "6.5.13-6-pve\n");
        CHECK(model(tmp).staged()->kernel == "6.5.13-6-pve");
        CHECK(model(tmp).staged()->chosen_because == "pinned in /etc/kernel/proxmox-boot-pin");
        tmp.write("/etc/kernel/next-boot-pin", "6.8.12-4-pve\n");
        CHECK(model(tmp).staged()->kernel == "6.8.12-4-pve");
    }
    SECTION("a readable image: its modprobe.d, conf/modules and modules") {
        const std::string ko = "usr/lib/modules/6.8.12-10-pve/kernel/drivers/vfio/";
        tmp.write("/boot/initrd.img-6.8.12-10-pve",
                  pt::test::initramfs_image(
                      {{"conf/modules", "vfio\nvfio-pci\n"},
                       {"etc/modprobe.d/vfio.conf", "options vfio-pci ids=10de:2204\n"},
                       {"etc/modprobe.d/sub/ignored.conf", "x\n"},
                       {ko + "pci/vfio-pci.ko.zst", "x"},
                       {ko + "vfio.ko", "x"},
                       {"usr/bin/vfio.ko", "not a module path"}},
                      pt::boot::Compression::gzip,
                      std::string("GenuineIntel")));
        const auto host = model(tmp);
        const auto& staged = host.staged();
        REQUIRE(staged);
        CHECK(staged->readable());
        CHECK(staged->modules == std::vector<std::string>{"vfio", "vfio_pci"});
        CHECK(staged->has_module("vfio_pci"));
        CHECK(staged->has_module("vfio"));
        CHECK_FALSE(staged->has_module("vfio_iommu_type1"));
        CHECK(staged->member_text("etc/modprobe.d/vfio.conf")
              == "options vfio-pci ids=10de:2204\n");
        CHECK_FALSE(staged->member_text("usr/bin/vfio.ko")); // not a member pt keeps text of
        REQUIRE(staged->modprobe);
        REQUIRE(staged->modprobe->files.size() == 1);
        const auto ids = staged->modprobe->option("vfio_pci", "ids");
        REQUIRE(ids);
        CHECK(ids->source.path == "/boot/initrd.img-6.8.12-10-pve:etc/modprobe.d/vfio.conf");
    }
}
