// SPDX-License-Identifier: MIT
#pragma once

#include "pt/boot/detect.hpp"
#include "pt/conf/grub_default.hpp"
#include "pt/kernel/host_facts.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::boot {

inline constexpr std::string_view k_grub_main = "/etc/default/grub";
inline constexpr std::string_view k_grub_dropins = "/etc/default/grub.d";
inline constexpr std::string_view k_kernel_cmdline = "/etc/kernel/cmdline";
inline constexpr std::string_view k_grub_cfg = "/boot/grub/grub.cfg";

bool is_grub(Bootloader kind);

// One assignment (GRUB) or line (/etc/kernel/cmdline) the configured command line comes from.
struct ConfigSource {
    std::string path;
    std::size_t line = 0;
    std::string variable; // "GRUB_CMDLINE_LINUX_DEFAULT"; empty for /etc/kernel/cmdline
    std::string value;    // as written (expanded value for GRUB: the assignment's own text)
};

// The command line as the bootloader's generated configuration holds it: for plain GRUB the first
// `linux` line of /boot/grub/grub.cfg (the first menu entry, what GRUB_DEFAULT=0 boots), as
// update-grub wrote it from /etc/default/grub.
struct StagedCmdline {
    std::string path;     // "/boot/grub/grub.cfg"
    std::size_t line = 0; // of the `linux` line
    std::string cmdline;  // the parameters after the kernel image
};

// The files that hold the kernel command line, as they are on the host, read once.
struct BootFiles {
    // /etc/default/grub then /etc/default/grub.d/*.cfg; nullopt when the main file does not
    // exist or could not be read (grub_error says why).
    std::optional<conf::GrubConfig> grub;
    std::optional<std::string> grub_error;
    std::optional<std::string> kernel_cmdline; // /etc/kernel/cmdline; nullopt: no such file
    std::optional<StagedCmdline> grub_cfg;     // the first `linux` line of grub.cfg
};

BootFiles read_boot_files(const host::Root& root);

// Reads /boot/grub/grub.cfg through `root`; nullopt when it is absent or has no `linux` line.
std::optional<StagedCmdline> read_grub_cfg(const host::Root& root);

// The command line proxmox-boot-tool uses when /etc/kernel/cmdline is missing: /proc/cmdline
// without the initrd= the EFI stub got (zz-proxmox-boot) and without GRUB's BOOT_IMAGE=.
std::string cmdline_from_proc(std::string_view proc);

// The kernel command line in its layers: configured (the file the detected bootloader reads),
// staged (grub.cfg, plain GRUB only: proxmox-boot-tool keeps its grub.cfg on the ESPs, which pt
// cannot read) and running (/proc/cmdline), with their differences.
struct Status {
    Detection detection;
    kernel::CpuVendor cpu = kernel::CpuVendor::unknown;
    std::optional<std::string> kernel_release;
    std::vector<ConfigSource> sources;
    std::optional<std::string> configured; // what the next boot gets; nullopt: unknown
    std::optional<std::string> running;    // /proc/cmdline
    std::optional<StagedCmdline> staged;
    std::vector<std::string> not_staged;     // configured, not in grub.cfg: update-grub not run
    std::vector<std::string> pending;        // configured, not running: reboot pending
    std::vector<std::string> not_configured; // running, not configured
    std::vector<std::string> notes;          // sentences about the differences, wrong files
    std::vector<std::string> problems;       // why the configuration cannot be read
};

// Pure over what was read: never throws for a configuration pt cannot follow; it lands in
// `problems`.
Status
describe_status(const Detection& detection, const kernel::HostFacts& facts, const BootFiles& files);

} // namespace pt::boot
