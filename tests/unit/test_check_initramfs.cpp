// SPDX-License-Identifier: MIT
#include "pt/check/host_context.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <string>

using pt::check::Status;

namespace {

// Sets the modification time of a host path of `tmp` to `sec` seconds after the epoch.
void set_mtime(const pt::test::TempRoot& tmp, const char* host_path, long sec, long nsec = 0) {
    const timespec times[2] = {{sec, nsec}, {sec, nsec}};
    REQUIRE(::utimensat(AT_FDCWD, tmp.host(host_path).c_str(), times, 0) == 0);
}

pt::check::Check run(const pt::test::TempRoot& tmp) {
    const pt::host::Root root(tmp.path());
    const pt::model::Host model(root);
    pt::check::HostContext ctx(model);
    std::vector<pt::check::Check> out;
    pt::check::check_initramfs(ctx, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].finding.id == "initramfs.fresh");
    return out[0];
}

} // namespace

TEST_CASE("check_initramfs compares every kernel's initrd with its inputs", "[check][initramfs]") {
    pt::test::TempRoot tmp;
    SECTION("no kernel: skip") {
        CHECK(run(tmp).finding.status == Status::skip);
    }
    tmp.write("/lib/modules/6.8.12-4-pve/modules.dep", "");
    tmp.write("/lib/modules/6.5.13-6-pve/modules.dep", "");
    tmp.mkdir("/lib/modules/not-a-kernel");
    tmp.write("/boot/initrd.img-6.8.12-4-pve", "");
    tmp.write("/boot/initrd.img-6.5.13-6-pve", "");
    tmp.write("/etc/modprobe.d/vfio.conf", "options vfio-pci ids=10de:2504\n");
    tmp.write("/etc/modprobe.d/notes.txt", "not read by kmod\n");
    tmp.write("/etc/initramfs-tools/modules", "vfio\n");
    set_mtime(tmp, "/boot/initrd.img-6.8.12-4-pve", 2000);
    set_mtime(tmp, "/boot/initrd.img-6.5.13-6-pve", 2000);
    set_mtime(tmp, "/etc/modprobe.d/vfio.conf", 1000);
    set_mtime(tmp, "/etc/modprobe.d/notes.txt", 9000); // not a .conf: ignored
    set_mtime(tmp, "/etc/initramfs-tools/modules", 1500);

    SECTION("fresh") {
        const auto c = run(tmp);
        CHECK(c.finding.status == Status::pass);
        CHECK(c.finding.summary.find("6.5.13-6-pve, 6.8.12-4-pve") != std::string::npos);
    }
    SECTION("the same second is fresh, the next second is stale") {
        set_mtime(tmp, "/etc/initramfs-tools/modules", 2000);
        CHECK(run(tmp).finding.status == Status::pass);
        set_mtime(tmp, "/etc/initramfs-tools/modules", 2000, 999999999);
        CHECK(run(tmp).finding.status == Status::pass);
        set_mtime(tmp, "/etc/initramfs-tools/modules", 2001);
        CHECK(run(tmp).finding.status == Status::fail);
    }
    SECTION("one kernel stale: fail naming it and the newer file") {
        set_mtime(tmp, "/boot/initrd.img-6.5.13-6-pve", 500);
        const auto c = run(tmp);
        CHECK(c.finding.status == Status::fail);
        CHECK(c.finding.summary.find("stale initramfs for 6.5.13-6-pve:") != std::string::npos);
        CHECK(c.finding.summary.find("/etc/initramfs-tools/modules") != std::string::npos);
        CHECK(c.finding.evidence.find("/boot/initrd.img-6.5.13-6-pve: 1970-01-01 00:08:20 UTC "
                                      "(older)")
              != std::string::npos);
        CHECK(c.finding.fix == "update-initramfs -u -k all, then reboot");
    }
    SECTION("a hook script counts") {
        tmp.write("/etc/initramfs-tools/hooks/vendor-reset", "#!/bin/sh\n");
        set_mtime(tmp, "/etc/initramfs-tools/hooks/vendor-reset", 3000);
        CHECK(run(tmp).finding.status == Status::fail);
    }
    SECTION("a kernel without initrd: warn") {
        tmp.write("/lib/modules/6.14.0-1-pve/modules.dep", "");
        const auto c = run(tmp);
        CHECK(c.finding.status == Status::warn);
        CHECK(c.finding.fix == "update-initramfs -c -k 6.14.0-1-pve");
    }
}
