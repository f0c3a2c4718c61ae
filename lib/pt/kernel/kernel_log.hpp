// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::kernel {

// Where `pt snapshot` stores the kernel log lines, and where `pt verify` reads them under any root
// other than "/": plain text, one kernel log line per line, as dmesg prints them.
inline constexpr std::string_view k_snapshot_dmesg = "/var/lib/pt/snapshot/dmesg";

// The kernel log as pt could read it.
struct KernelLog {
    // One message per entry, without the "[    1.234567] " timestamp, the "<6>" priority or a
    // journal's "Mon DD HH:MM:SS host kernel: " prefix. nullopt when the log could not be read.
    std::optional<std::vector<std::string>> lines;
    std::string source;      // "the kernel ring buffer (klogctl)", or the host path read
    std::string unavailable; // why `lines` is nullopt: "run as root (...)", "no ... in the root"
};

// Splits log text (dmesg output with or without timestamps, /dev/kmsg-style "<6>" prefixes, or
// journalctl -k lines) into messages; blank lines are dropped.
std::vector<std::string> split_kernel_log(std::string_view text);

// The live kernel log as dmesg prints it: klogctl(SYSLOG_ACTION_READ_ALL), which never blocks,
// else /dev/kmsg record by record (non-blocking). nullopt, with `why` ("run as root: ..."), when
// neither is readable (kernel.dmesg_restrict without CAP_SYSLOG). The one live reader: verify and
// snapshot both use it.
std::optional<std::string> read_live_kernel_log(std::string& why);

// A klogctl buffer without the "<6>" priority prefixes.
std::string syslog_to_text(std::string_view buffer);

// One /dev/kmsg record ("6,339,5140900,-;DMAR: IOMMU enabled") as dmesg prints it
// ("[    5.140900] DMAR: IOMMU enabled"); "" for a record that is not one.
std::string kmsg_record_to_text(std::string_view record);

// On the live root ("/"): read_live_kernel_log; `unavailable` says why it failed. Under any other
// root: k_snapshot_dmesg through the root; `unavailable` says when it is missing. Throws pt::Error
// only for unexpected I/O failures of the snapshot file.
KernelLog read_kernel_log(const host::Root& root);

// What pt verify reads out of the log. Every list holds the messages themselves, in log order.
struct KernelLogFacts {
    // true: "DMAR-IR: Enabled IRQ remapping in ... mode" or "AMD-Vi: Interrupt remapping
    // enabled"; false: a message saying remapping is off or unsupported ("IRQ remapping doesn't
    // support X2APIC mode", vfio's "No interrupt remapping support"); nullopt: the log says
    // nothing either way.
    std::optional<bool> interrupt_remapping;
    std::string remapping_message;           // the message that decided it
    std::vector<std::string> iommu_messages; // DMAR / AMD-Vi / IOMMU lines, for evidence
    std::vector<std::string>
        unknown_options; // "AMD-Vi: Unknown option - 'on'", "DMAR: Unknown option"
    std::vector<std::string> bar_problems;  // "BAR N ...: can't reserve", "failed to assign"
    std::vector<std::string> rom_problems;  // "Invalid PCI ROM header signature"
    std::vector<std::string> vfio_problems; // vfio-pci messages that name a failure
};

KernelLogFacts read_log_facts(const std::vector<std::string>& lines);

// The messages of `lines` that mention `address` ("0000:01:00.0"), in order.
std::vector<std::string> messages_about(const std::vector<std::string>& lines,
                                        std::string_view address);

} // namespace pt::kernel
