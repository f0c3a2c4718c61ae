// SPDX-License-Identifier: MIT
#pragma once

#include "pt/out/finding.hpp"
#include "pt/out/json.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace pt::host {
class Root;
}

namespace pt::proxmox {

// Which Proxmox VE a root is, from what dpkg says is installed (/var/lib/dpkg/status) and the
// running kernel. Some defaults depend on it: hostpci driver= exists from qemu-server 9.0.25
// (qemu-server debian/changelog), and on PVE 9 the systemd-boot meta package breaks upgrades
// (pve-manager PVE/CLI/pve8to9.pm, check_bootloader).

inline constexpr std::string_view k_dpkg_status = "/var/lib/dpkg/status";
inline constexpr std::string_view k_debian_version = "/etc/debian_version";
inline constexpr std::string_view k_osrelease = "/proc/sys/kernel/osrelease";

struct Platform {
    // 8 or 9: pve-manager's major version, or else the Debian release (12 -> 8, 13 -> 9).
    std::optional<int> pve_major;
    std::optional<std::string> pve_manager; // installed versions, nullopt when not installed
    std::optional<std::string> qemu_server;
    std::optional<std::string> kernel_running; // /proc/sys/kernel/osrelease: "6.17.2-1-pve"
    std::optional<std::string> debian_version; // /etc/debian_version: "13.1"
    bool dpkg_status_read = false;             // the status database was there
    // Every package dpkg has as "install ok installed", name -> version.
    std::map<std::string, std::string, std::less<>> packages;

    std::optional<std::string> version_of(std::string_view package) const;

    bool installed(std::string_view package) const { return version_of(package).has_value(); }

    // True when `package` is installed at `version` or later (dpkg's order).
    bool at_least(std::string_view package, std::string_view version) const;

    // The proxmox-kernel-* and pve-kernel-* packages (kernel images and their meta packages).
    std::map<std::string, std::string> kernel_packages() const;
};

// dpkg's version order (lib/dpkg/version.c dpkg_version_compare): epoch numerically, then the
// upstream version and the revision with verrevcmp, in which '~' sorts before everything, even
// the end of the string, and letters sort before other characters. Negative, zero or positive.
int compare_versions(std::string_view a, std::string_view b);

// The installed packages of a dpkg status file: its stanzas, separated by blank lines, with
// "Package:", "Status:" and "Version:" fields; only "Status: install ok installed" counts.
// Never throws: malformed stanzas are skipped.
std::map<std::string, std::string, std::less<>> parse_dpkg_status(std::string_view text);

// True for the packages pt reads versions of: pve-manager, qemu-server, proxmox-ve,
// pve-qemu-kvm, proxmox-kernel-helper, the systemd-boot and GRUB boot packages, and every
// proxmox-kernel-* and pve-kernel-*.
bool is_platform_package(std::string_view name);

// The dpkg status file reduced to what a snapshot needs: the stanzas of platform packages
// (is_platform_package), each with only its Package, Status, Architecture and Version fields.
// The rest of the database (a few MB: every package and its description) says nothing about
// passthrough.
std::string reduce_dpkg_status(std::string_view text);

// The platform from its three sources (each nullopt when absent). Pure.
Platform make_platform(const std::optional<std::string>& dpkg_status,
                       const std::optional<std::string>& debian_version,
                       const std::optional<std::string>& osrelease);

// Reads /var/lib/dpkg/status, /etc/debian_version and /proc/sys/kernel/osrelease through
// `root`; nullopt when none of them exists.
std::optional<Platform> read_platform(const host::Root& root);

// One line for reports: "Proxmox VE 9 (pve-manager 9.1.4, qemu-server 9.0.30), running kernel
// 6.17.2-1-pve"; the unknown parts are said to be unknown.
std::string describe(const std::optional<Platform>& platform);

// {"pve_major", "pve_manager", "qemu_server", "kernel_running"}, each null when unknown (all null
// without a platform).
out::Json to_json(const std::optional<Platform>& platform);

// The systemd-boot meta package on PVE 9: pve8to9 fails the upgrade check while it is installed
// ("This will cause problems on upgrades of other boot-related packages", pve-manager
// PVE/CLI/pve8to9.pm). systemd-boot-tools (bootctl) and systemd-boot-efi are what
// proxmox-boot-tool needs. nullopt when there is nothing to say.
struct SystemdBootMeta {
    std::string version;   // of the installed systemd-boot
    bool split_ok = false; // systemd-boot-tools and systemd-boot-efi are installed
    std::string fix;       // the exact command
};

std::optional<SystemdBootMeta> systemd_boot_meta(const Platform& platform);

// The check boot.systemd-boot-meta (pt verify, pt grub): pass, or warn with the fix, on PVE 9;
// nullopt on other releases, where the meta package is what holds bootctl.
std::optional<out::Finding> check_systemd_boot_meta(const Platform& platform);

} // namespace pt::proxmox
