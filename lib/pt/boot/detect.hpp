// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::boot {

// How a Proxmox VE host boots, which decides the file that holds the kernel command line and the
// command that makes a change take effect (pve-docs system-booting.adoc, "Host Bootloader";
// proxmox-kernel-helper's proxmox-boot-tool).
enum class Bootloader {
    grub,                 // GRUB from /boot: /etc/default/grub, update-grub
    proxmox_grub,         // proxmox-boot-tool + GRUB: the same files, proxmox-boot-tool refresh
    proxmox_systemd_boot, // proxmox-boot-tool + systemd-boot: /etc/kernel/cmdline, refresh
    unknown,              // proxmox-boot-tool is in use but nothing says which loader
};

// "grub", "proxmox-boot-tool+grub", "proxmox-boot-tool+systemd-boot", "unknown".
std::string_view to_string(Bootloader kind);

// "GRUB", "proxmox-boot-tool + GRUB", "proxmox-boot-tool + systemd-boot", "unknown".
std::string_view describe(Bootloader kind);

// What detection looks at, read through Root by read_boot_facts.
struct BootFacts {
    bool efi = false;                               // /sys/firmware/efi exists
    bool proxmox_boot_uuids = false;                // /etc/kernel/proxmox-boot-uuids exists
    std::optional<std::string> proc_cmdline;        // /proc/cmdline
    std::optional<std::string> kernel_cmdline_file; // /etc/kernel/cmdline, whole
};

BootFacts read_boot_facts(const host::Root& root);

struct Detection {
    Bootloader kind = Bootloader::unknown;
    // One sentence per fact that was looked at, in the order it was used; the last one decided.
    std::vector<std::string> evidence;
    // Evidence that disagrees with the verdict (e.g. a systemd-boot initrd= token on a host
    // without proxmox-boot-tool), for the user to look at.
    std::vector<std::string> doubts;
};

// The detection of ground-truth §4, pure over `facts`:
//   1. /sys/firmware/efi absent: legacy BIOS, so GRUB (managed by proxmox-boot-tool when
//      /etc/kernel/proxmox-boot-uuids exists).
//   2. /etc/kernel/proxmox-boot-uuids absent: plain GRUB.
//   3. Otherwise pt cannot mount the ESPs to look, so: /proc/cmdline starting with BOOT_IMAGE=
//      (GRUB prepends it) means GRUB; an initrd=\EFI\proxmox\... token (systemd-boot's entry)
//      means systemd-boot; else /etc/kernel/cmdline with root= suggests systemd-boot; else
//      unknown.
Detection detect(const BootFacts& facts);

Detection detect(const host::Root& root);

} // namespace pt::boot
