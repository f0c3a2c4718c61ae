// SPDX-License-Identifier: MIT
#include "pt/host/root.hpp"
#include "pt/proxmox/platform.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <string>

using pt::proxmox::compare_versions;
using pt::proxmox::make_platform;
using pt::proxmox::parse_dpkg_status;

namespace {

int sign(int value) {
    return (value > 0) - (value < 0);
}

const char* const k_status = R"(Package: pve-manager
Status: install ok installed
Priority: optional
Version: 9.1.4
Description: Proxmox Virtual Environment Management Tools
 This is the Proxmox Virtual Environment management package.
 .
 Version: 1.0 (a continuation line that looks like a field)

Package: qemu-server
Status: install ok installed
Version: 9.0.30

Package: proxmox-kernel-6.17.2-1-pve-signed
Status: install ok installed
Version: 6.17.2-1

Package: pve-kernel-6.2
Status: deinstall ok config-files
Version: 8.0.5

Package: systemd-boot
Status: install ok installed
Version: 257.9-1~deb13u1
)";

} // namespace

TEST_CASE("compare_versions follows dpkg's order", "[proxmox][platform]") {
    struct Row {
        const char* a;
        const char* b;
        int expected;
    };

    const Row rows[] = {
        {"9.0.25", "9.0.25", 0},
        {"9.0.24", "9.0.25", -1},
        {"9.0.100", "9.0.25", 1}, // digit runs compare as numbers
        {"9.0.025", "9.0.25", 0}, // leading zeros do not count
        {"1.0~rc1", "1.0", -1},   // '~' sorts before the end of the string
        {"1.0~rc1", "1.0~rc2", -1},
        {"1.0~~", "1.0~", -1},
        {"1.0a", "1.0", 1},   // a letter after the end
        {"1.0a", "1.0+", -1}, // letters sort before other characters
        {"1.0", "1.0-0", 0},  // a missing revision equals "0"
        {"1:1.0", "2.0", 1},  // the epoch first
        {"0:2.0", "2.0", 0},
        {"257.9-1~deb13u1", "257.9-1", -1},
        {"8.4.10", "9.0.0", -1},
        {"6.17.2-1", "6.14.8-2", 1},
        {"2.0-1", "2.0-10", -1},
    };
    for (const auto& row : rows) {
        INFO(row.a << " vs " << row.b);
        CHECK(sign(compare_versions(row.a, row.b)) == row.expected);
        CHECK(sign(compare_versions(row.b, row.a)) == -row.expected);
    }
}

TEST_CASE("parse_dpkg_status keeps only installed packages", "[proxmox][platform]") {
    const auto packages = parse_dpkg_status(k_status);
    CHECK(packages.size() == 4);
    CHECK(packages.at("pve-manager") == "9.1.4");
    CHECK(packages.at("qemu-server") == "9.0.30");
    CHECK(packages.at("systemd-boot") == "257.9-1~deb13u1");
    CHECK(packages.count("pve-kernel-6.2") == 0); // removed, config files left
    CHECK(parse_dpkg_status("").empty());
    CHECK(parse_dpkg_status("garbage without colon\n\nPackage: x\n").empty());
    // CRLF-free stanzas without a trailing newline still count.
    CHECK(parse_dpkg_status("Package: a\nStatus: install ok installed\nVersion: 1").size() == 1);
}

TEST_CASE("make_platform: the PVE major from pve-manager or the Debian release",
          "[proxmox][platform]") {
    const auto p = make_platform(std::string(k_status), "13.1\n", "6.17.2-1-pve\n");
    CHECK(p.pve_major == 9);
    CHECK(p.pve_manager == "9.1.4");
    CHECK(p.qemu_server == "9.0.30");
    CHECK(p.kernel_running == "6.17.2-1-pve");
    CHECK(p.at_least("qemu-server", "9.0.25"));
    CHECK_FALSE(p.at_least("qemu-server", "9.0.31"));
    CHECK_FALSE(p.at_least("absent", "0"));
    CHECK(p.kernel_packages().size() == 1);

    const auto bookworm = make_platform(std::nullopt, "12.7\n", std::nullopt);
    CHECK(bookworm.pve_major == 8);
    CHECK_FALSE(bookworm.qemu_server);
    CHECK(make_platform(std::nullopt, "13.0\n", std::nullopt).pve_major == 9);
    CHECK_FALSE(make_platform(std::nullopt, "trixie/sid\n", std::nullopt).pve_major);
    // pve-manager wins over the Debian release.
    CHECK(make_platform(std::string("Package: pve-manager\nStatus: install ok installed\n"
                                    "Version: 8.4.1\n"),
                        "13.1\n",
                        std::nullopt)
              .pve_major
          == 8);
}

TEST_CASE("describe and to_json say what is unknown", "[proxmox][platform]") {
    const auto p = make_platform(std::string(k_status), "13.1\n", "6.17.2-1-pve\n");
    CHECK(pt::proxmox::describe(p)
          == "Proxmox VE 9 (pve-manager 9.1.4, qemu-server 9.0.30), running kernel 6.17.2-1-pve");
    CHECK(pt::proxmox::describe(make_platform(std::nullopt, "12.5\n", "6.8.12-4-pve\n"))
          == "Proxmox VE 8 (from Debian 12.5; no pve-manager in /var/lib/dpkg/status), running "
             "kernel 6.8.12-4-pve");
    CHECK(pt::proxmox::describe(make_platform(std::nullopt, std::nullopt, "6.8.12-4-pve\n"))
          == "Proxmox VE version unknown (no /var/lib/dpkg/status), running kernel 6.8.12-4-pve");
    const auto json = pt::proxmox::to_json(p);
    CHECK(json.dump()
          == R"({"pve_major":9,"pve_manager":"9.1.4","qemu_server":"9.0.30",)"
             R"("kernel_running":"6.17.2-1-pve"})");
    CHECK(pt::proxmox::to_json(std::nullopt).dump()
          == R"({"pve_major":null,"pve_manager":null,"qemu_server":null,"kernel_running":null})");
}

TEST_CASE("systemd_boot_meta: only on PVE 9, the fix never installs the meta package",
          "[proxmox][platform]") {
    auto p = make_platform(std::string(k_status), "13.1\n", std::nullopt);
    auto meta = pt::proxmox::systemd_boot_meta(p);
    REQUIRE(meta);
    CHECK(meta->version == "257.9-1~deb13u1");
    CHECK_FALSE(meta->split_ok);
    CHECK(meta->fix.starts_with("apt install systemd-boot-tools systemd-boot-efi"));
    p.packages["systemd-boot-tools"] = "257.9-1~deb13u1";
    p.packages["systemd-boot-efi"] = "257.9-1~deb13u1";
    meta = pt::proxmox::systemd_boot_meta(p);
    REQUIRE(meta);
    CHECK(meta->split_ok);
    CHECK(meta->fix.starts_with("apt remove systemd-boot "));
    p.pve_major = 8;
    CHECK_FALSE(pt::proxmox::systemd_boot_meta(p));
}

TEST_CASE("read_platform reads through the root", "[proxmox][platform]") {
    const pt::test::TempRoot tmp;
    CHECK_FALSE(pt::proxmox::read_platform(pt::host::Root(tmp.path())));
    tmp.write("/var/lib/dpkg/status", k_status);
    tmp.write("/proc/sys/kernel/osrelease", "6.17.2-1-pve\n");
    const auto p = pt::proxmox::read_platform(pt::host::Root(tmp.path()));
    REQUIRE(p);
    CHECK(p->dpkg_status_read);
    CHECK(p->pve_major == 9);
    CHECK(p->kernel_running == "6.17.2-1-pve");
    CHECK_FALSE(p->debian_version);
}

TEST_CASE("reduce_dpkg_status keeps the platform packages' names, status and versions",
          "[proxmox][platform]") {
    CHECK(pt::proxmox::is_platform_package("pve-manager"));
    CHECK(pt::proxmox::is_platform_package("proxmox-kernel-6.17.2-1-pve-signed"));
    CHECK(pt::proxmox::is_platform_package("pve-kernel-6.2"));
    CHECK(pt::proxmox::is_platform_package("systemd-boot-efi"));
    CHECK_FALSE(pt::proxmox::is_platform_package("openssh-server"));
    CHECK_FALSE(pt::proxmox::is_platform_package("pve-manager-extra"));

    const std::string status = "Package: openssh-server\n"
                               "Status: install ok installed\n"
                               "Version: 1:9.2p1-2\n"
                               "Description: secure shell server\n"
                               " with a continuation line\n"
                               "\n"
                               "Package: pve-manager\n"
                               "Status: install ok installed\n"
                               "Priority: optional\n"
                               "Installed-Size: 4242\n"
                               "Maintainer: Proxmox Support Team <support@proxmox.com>\n"
                               "Architecture: amd64\n"
                               "Version: 9.1.4\n"
                               "Conffiles:\n"
                               " /etc/vzdump.conf 0123456789abcdef\n"
                               "Description: Proxmox Virtual Environment Management Tools\n"
                               "\n"
                               "Package: systemd-boot\n"
                               "Status: deinstall ok config-files\n"
                               "Version: 257.9-1~deb13u1\n";
    const auto reduced = pt::proxmox::reduce_dpkg_status(status);
    CHECK(reduced
          == "Package: pve-manager\n"
             "Status: install ok installed\n"
             "Architecture: amd64\n"
             "Version: 9.1.4\n"
             "\n"
             "Package: systemd-boot\n"
             "Status: deinstall ok config-files\n"
             "Version: 257.9-1~deb13u1\n"
             "\n");
    // The platform read from the reduced file is the one read from the whole file.
    const auto whole = make_platform(status, std::nullopt, std::nullopt);
    const auto kept = make_platform(reduced, std::nullopt, std::nullopt);
    CHECK(kept.packages.size() == 1);
    CHECK(kept.pve_manager == whole.pve_manager);
    CHECK(kept.pve_major == 9);
    CHECK(pt::proxmox::reduce_dpkg_status("").empty());
    CHECK(pt::proxmox::reduce_dpkg_status("no stanza at all").empty());
}
