// SPDX-License-Identifier: MIT
#include "pt/check/host_context.hpp"
#include "support/catch.hpp"
#include "support/initramfs_writer.hpp"
#include "support/temp_root.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <string>
#include <string_view>
#include <vector>

using pt::check::Check;
using pt::check::Status;
using pt::test::TempRoot;

namespace {

const char* k_loaded = "vfio_pci 16384 0 - Live 0x0000000000000000\n"
                       "vfio_iommu_type1 45056 0 - Live 0x0000000000000000\n"
                       "vfio 61440 2 vfio_pci,vfio_iommu_type1, Live 0x0000000000000000\n";

const char* k_vfio_list = "vfio\nvfio_iommu_type1\nvfio-pci\n";

void set_mtime(const TempRoot& tmp, const char* host_path, long sec) {
    const timespec times[2] = {{sec, 0}, {sec, 0}};
    REQUIRE(::utimensat(AT_FDCWD, tmp.host(host_path).c_str(), times, 0) == 0);
}

// modules.loaded, modules.early-load, modules.vfio-virqfd, always in that order.
std::vector<Check> run(const TempRoot& tmp) {
    const pt::model::Host model{pt::host::Root(tmp.path())};
    const pt::check::HostContext ctx(model);
    std::vector<Check> out;
    pt::check::check_modules(ctx, out);
    REQUIRE(out.size() == 3);
    CHECK(out[0].finding.id == "modules.loaded");
    CHECK(out[1].finding.id == "modules.early-load");
    CHECK(out[2].finding.id == "modules.vfio-virqfd");
    return out;
}

} // namespace

TEST_CASE("check::modules: loaded and listed", "[check][modules]") {
    TempRoot tmp;
    tmp.write("/proc/sys/kernel/osrelease", "6.8.12-4-pve\n");
    tmp.write("/proc/modules", k_loaded);
    tmp.write("/etc/modules-load.d/vfio.conf", k_vfio_list);
    const auto out = run(tmp);
    CHECK(out[0].finding.status == Status::pass);
    REQUIRE(out[0].layers);
    CHECK(out[0].layers->configured == true);
    CHECK(out[0].layers->staged == true); // modules-load.d is read from the root file system
    CHECK(out[0].layers->running == true);
    CHECK(out[1].finding.status == Status::pass);
    CHECK(out[1].finding.evidence
          == "vfio: /etc/modules-load.d/vfio.conf\n"
             "vfio_iommu_type1: /etc/modules-load.d/vfio.conf\n"
             "vfio_pci: /etc/modules-load.d/vfio.conf");
    CHECK(out[2].finding.status == Status::pass);
    CHECK(out[2].finding.summary == "vfio_virqfd is not listed");
    CHECK(out[2].finding.evidence == "read: /etc/modules-load.d/vfio.conf");
}

TEST_CASE("check::modules: nothing configured", "[check][modules]") {
    TempRoot tmp;
    SECTION("no /proc/modules: loaded is unknown") {
        const auto out = run(tmp);
        CHECK(out[0].finding.status == Status::skip);
        CHECK(out[1].finding.status == Status::warn);
        CHECK(out[1].finding.summary
              == "not listed for early load: vfio, vfio_iommu_type1, vfio_pci");
        CHECK_THAT(out[1].finding.evidence, Catch::StartsWith("no module list: "));
        CHECK_THAT(out[1].finding.fix,
                   Catch::Contains("printf 'vfio\\nvfio_iommu_type1\\nvfio_pci\\n' >> "
                                   "/etc/modules-load.d/vfio.conf && update-initramfs -u -k all"));
    }
    SECTION("built in counts as loaded (/sys/module)") {
        tmp.write("/proc/modules", "kvm 1327104 0 - Live 0x0000000000000000\n");
        tmp.mkdir("/sys/module/vfio");
        tmp.mkdir("/sys/module/vfio_iommu_type1");
        const auto out = run(tmp);
        CHECK(out[0].finding.status == Status::warn);
        CHECK_THAT(out[0].finding.summary, Catch::StartsWith("not loaded: vfio_pci; "));
        CHECK(out[0].finding.evidence == "/proc/modules: no vfio_pci");
        REQUIRE(out[0].layers);
        CHECK(out[0].layers->configured == false);
        CHECK_FALSE(out[0].layers->staged.has_value());
        CHECK(out[0].layers->running == false);
    }
    SECTION("one of three listed: the other two are named") {
        tmp.write("/etc/modules", "# /etc/modules\nvfio\n");
        const auto c = run(tmp)[1];
        CHECK(c.finding.status == Status::warn);
        CHECK(c.finding.summary == "not listed for early load: vfio_iommu_type1, vfio_pci");
        CHECK(c.finding.evidence == "read: /etc/modules");
    }
}

TEST_CASE("check::modules: listed but not loaded, by the boot time", "[check][modules]") {
    TempRoot tmp;
    tmp.write("/proc/modules", "kvm 1327104 0 - Live 0x0000000000000000\n");
    tmp.write("/etc/modules-load.d/vfio.conf", k_vfio_list);
    set_mtime(tmp, "/etc/modules-load.d/vfio.conf", 2000);
    SECTION("listed after the boot: reboot pending") {
        tmp.write("/proc/stat", "cpu  1 2 3 4\nbtime 1000\nprocesses 5\n");
        const auto c = run(tmp)[0];
        CHECK(c.finding.status == Status::warn);
        CHECK_THAT(c.finding.summary, Catch::StartsWith("reboot pending: "));
        CHECK_THAT(c.finding.evidence,
                   Catch::EndsWith("/proc/stat: booted 1970-01-01 00:16:40 UTC; "
                                   "/etc/modules-load.d/vfio.conf changed 1970-01-01 00:33:20 "
                                   "UTC"));
        CHECK_THAT(c.finding.fix, Catch::StartsWith("reboot"));
        REQUIRE(c.layers);
        CHECK(c.layers->reboot_pending());
    }
    SECTION("listed before the boot: loading failed") {
        tmp.write("/proc/stat", "cpu  1 2 3 4\nbtime 3000\n");
        const auto c = run(tmp)[0];
        CHECK(c.finding.status == Status::fail);
        CHECK_THAT(c.finding.summary, Catch::Contains("loading them failed at boot"));
        CHECK_THAT(c.finding.fix, Catch::Contains("journalctl -b -u systemd-modules-load"));
    }
    SECTION("no boot time: either") {
        const auto c = run(tmp)[0];
        CHECK(c.finding.status == Status::warn);
        CHECK_THAT(c.finding.summary, Catch::Contains("a reboot is pending if"));
        CHECK_THAT(c.finding.evidence,
                   Catch::Contains("configured: vfio: /etc/modules-load.d/vfio.conf"));
    }
}

TEST_CASE("check::modules: the initramfs list and the next boot's image", "[check][modules]") {
    TempRoot tmp;
    tmp.write("/proc/modules", "kvm 1327104 0 - Live 0x0000000000000000\n");
    tmp.write("/proc/stat", "btime 1000\n");
    tmp.write("/lib/modules/6.8.12-4-pve/modules.dep", "");
    tmp.write("/etc/initramfs-tools/modules", k_vfio_list);
    const std::string ko = "usr/lib/modules/6.8.12-4-pve/kernel/drivers/vfio/";
    SECTION("the image lists and holds them: staged, reboot pending") {
        tmp.write("/boot/initrd.img-6.8.12-4-pve",
                  pt::test::initramfs_image({{"conf/modules", k_vfio_list},
                                             {ko + "vfio.ko", "x"},
                                             {ko + "vfio_iommu_type1.ko", "x"},
                                             {ko + "pci/vfio-pci.ko", "x"}},
                                            pt::boot::Compression::gzip));
        set_mtime(tmp, "/etc/initramfs-tools/modules", 2000);
        const auto c = run(tmp)[0];
        REQUIRE(c.layers);
        CHECK(c.layers->staged == true);
        CHECK(c.finding.status == Status::warn);
        CHECK_THAT(c.finding.summary, Catch::StartsWith("reboot pending: "));
    }
    SECTION("the image lacks a module: not staged, fail with update-initramfs") {
        tmp.write("/boot/initrd.img-6.8.12-4-pve",
                  pt::test::initramfs_image({{"conf/modules", k_vfio_list},
                                             {ko + "vfio.ko", "x"},
                                             {ko + "vfio_iommu_type1.ko", "x"}},
                                            pt::boot::Compression::gzip));
        const auto c = run(tmp)[0];
        REQUIRE(c.layers);
        CHECK(c.layers->staged == false);
        CHECK(c.finding.status == Status::fail);
        CHECK_THAT(c.finding.summary, Catch::Contains("the next boot's initramfs does not"));
        CHECK_THAT(c.finding.evidence, Catch::Contains("staged: /boot/initrd.img-6.8.12-4-pve ("));
        CHECK(c.finding.fix == "update-initramfs -u -k all, then reboot");
    }
    SECTION("an unreadable image older than the list: stale by mtime") {
        tmp.write("/boot/initrd.img-6.8.12-4-pve", "not an initramfs");
        set_mtime(tmp, "/boot/initrd.img-6.8.12-4-pve", 1500);
        set_mtime(tmp, "/etc/initramfs-tools/modules", 2000);
        const auto c = run(tmp)[0];
        REQUIRE(c.layers);
        CHECK(c.layers->staged == false);
        CHECK(c.finding.status == Status::fail);
        CHECK_THAT(c.finding.evidence, Catch::Contains("compared by mtime"));
    }
}

TEST_CASE("check::modules: vfio_virqfd by kernel", "[check][modules]") {
    TempRoot tmp;
    tmp.write("/etc/modules", "vfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n");
    SECTION("6.8 has no such module: warn with the file to edit") {
        tmp.write("/proc/sys/kernel/osrelease", "6.8.12-4-pve\n");
        const auto c = run(tmp)[2];
        CHECK(c.finding.status == Status::warn);
        CHECK_THAT(c.finding.summary,
                   Catch::StartsWith("vfio_virqfd is listed but kernel 6.8.12-4-pve has no such "
                                     "module"));
        CHECK(c.finding.evidence == "vfio_virqfd in /etc/modules");
        CHECK(c.finding.fix
              == "remove the vfio_virqfd line from /etc/modules, then update-initramfs -u -k all");
    }
    SECTION("6.1 still has it: pass") {
        tmp.write("/proc/sys/kernel/osrelease", "6.1.10-1-pve\n");
        const auto c = run(tmp)[2];
        CHECK(c.finding.status == Status::pass);
        CHECK(c.finding.summary == "vfio_virqfd is listed and this kernel (before 6.2) has it");
    }
}
