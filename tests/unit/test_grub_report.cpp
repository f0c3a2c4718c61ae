// SPDX-License-Identifier: MIT
#include "pt/grub/report.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <string>
#include <vector>

using pt::edit::FollowUp;
using pt::test::TempRoot;

namespace {

const std::string k_grub = "GRUB_DEFAULT=0\n"
                           "GRUB_TIMEOUT=5\n"
                           "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
                           "GRUB_CMDLINE_LINUX=\"\"\n";

void host(const TempRoot& tmp, const std::string& vendor, const std::string& release) {
    tmp.write("/proc/cpuinfo", "vendor_id\t: " + vendor + "\nflags\t\t: fpu\n");
    tmp.write("/proc/sys/kernel/osrelease", release + "\n");
    tmp.write("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-" + release + " ro quiet\n");
    tmp.mkdir("/sys/firmware/efi");
}

pt::grub::Report report(const TempRoot& tmp) {
    return pt::grub::read_report(pt::model::Host(pt::host::Root(tmp.path())));
}

} // namespace

TEST_CASE("grub::read_report: what the defaults would change", "[grub][report]") {
    TempRoot tmp;
    tmp.write("/etc/default/grub", k_grub);
    SECTION("Intel 6.5 on plain GRUB: add intel_iommu=on, then update-grub") {
        host(tmp, "GenuineIntel", "6.5.13-6-pve");
        const auto r = report(tmp);
        CHECK(r.status.detection.kind == pt::boot::Bootloader::grub);
        CHECK(r.status.problems.empty());
        REQUIRE(r.needed.size() == 1);
        CHECK(r.needed[0].change.describe() == "add intel_iommu=on");
        CHECK(r.needed[0].path == "/etc/default/grub");
        CHECK(r.needed[0].line == 3);
        CHECK(r.follow_ups == std::vector<FollowUp>{FollowUp::update_grub});
        // Only the kernel release says anything about the platform.
        REQUIRE(r.platform);
        CHECK_FALSE(r.platform->pve_major);
        CHECK(r.warnings.empty());
    }
    SECTION("Intel 6.8: nothing needed") {
        host(tmp, "GenuineIntel", "6.8.12-4-pve");
        const auto r = report(tmp);
        CHECK(r.needed.empty());
        CHECK(r.follow_ups.empty());
        CHECK(r.status.problems.empty());
    }
    SECTION("proxmox-boot-tool without a hint of the loader: not planned, a problem") {
        host(tmp, "GenuineIntel", "6.5.13-6-pve");
        tmp.write("/proc/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet\n");
        tmp.write("/etc/kernel/proxmox-boot-uuids", "1234-ABCD\n");
        const auto r = report(tmp);
        CHECK(r.status.detection.kind == pt::boot::Bootloader::unknown);
        CHECK_FALSE(r.status.problems.empty());
        CHECK(r.needed.empty());
    }
    SECTION("a file pt cannot follow: a problem, nothing planned") {
        host(tmp, "GenuineIntel", "6.5.13-6-pve");
        tmp.write("/etc/default/grub.d/x.cfg",
                  "if [ -e /x ]; then\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nfi\n");
        const auto r = report(tmp);
        REQUIRE_FALSE(r.status.problems.empty());
        CHECK_THAT(r.status.problems[0], Catch::Contains("/etc/default/grub.d/x.cfg"));
        CHECK(r.needed.empty());
    }
}

TEST_CASE("grub::read_report: the boot packages of Proxmox VE 9", "[grub][report]") {
    TempRoot tmp;
    host(tmp, "AuthenticAMD", "6.17.2-1-pve");
    tmp.write("/etc/default/grub", k_grub);
    SECTION("the systemd-boot meta package on PVE 9: a warning") {
        tmp.write("/var/lib/dpkg/status",
                  "Package: pve-manager\nStatus: install ok installed\nVersion: 9.1.4\n\n"
                  "Package: systemd-boot\nStatus: install ok installed\nVersion: 257.9-1\n");
        const auto r = report(tmp);
        REQUIRE(r.platform);
        CHECK(r.platform->pve_major == 9);
        REQUIRE(r.warnings.size() == 1);
        CHECK(r.warnings[0].id == "boot.systemd-boot-meta");
        CHECK(r.warnings[0].status == pt::out::Status::warn);
        CHECK_THAT(r.warnings[0].fix, Catch::StartsWith("apt install systemd-boot-tools"));
    }
    SECTION("PVE 9 without it: no warning (a pass is not shown)") {
        tmp.write("/var/lib/dpkg/status",
                  "Package: pve-manager\nStatus: install ok installed\nVersion: 9.1.4\n");
        CHECK(report(tmp).warnings.empty());
    }
    SECTION("PVE 8 with it: no warning") {
        tmp.write("/var/lib/dpkg/status",
                  "Package: pve-manager\nStatus: install ok installed\nVersion: 8.4.1\n\n"
                  "Package: systemd-boot\nStatus: install ok installed\nVersion: 252.36-1\n");
        CHECK(report(tmp).warnings.empty());
    }
}
