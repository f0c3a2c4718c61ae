// SPDX-License-Identifier: MIT
#pragma once

#include "pt/snapshot/archive.hpp"
#include "pt/snapshot/filters.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::snapshot {

// Where the snapshot keeps its own files inside the archive. pt verify reads the kernel log from
// k_dmesg_path when --root is not the live host.
inline constexpr const char* k_snapshot_dir = "/var/lib/pt/snapshot";
inline constexpr const char* k_dmesg_path = "/var/lib/pt/snapshot/dmesg";
inline constexpr const char* k_manifest_path = "/var/lib/pt/snapshot/manifest.json";

// One kind of thing collected ("pci devices", "modprobe.d"), with how many and which host paths
// (the top-level ones: a device's folder, not each of its attributes).
struct Category {
    std::string name;
    std::string detail; // how it was taken ("sysfs attributes and links", "empty files, mtime")
    std::vector<std::string> paths;
};

// A path pt reads that the source root did not have, or that could not be read.
struct Missing {
    std::string path;
    std::string reason;
};

// A path pt snapshot would have reached (asked for, or through a link) and did not take: one
// refusal_reason() names, or the target of a link in a configuration folder that leads out of
// the folders pt reads (the link itself is kept).
struct Refused {
    std::string path;
    std::string reason;
};

struct Options {
    // Seconds since the epoch, recorded in the manifest as the creation time.
    std::int64_t now = 0;
    // Reads the live kernel log. Returns the text as dmesg prints it, or nullopt with `why` set
    // when it cannot be read. Unset: on the live host pt's own reader (klogctl, then /dev/kmsg),
    // and under any other root the copy at k_dmesg_path. Set (tests): called whatever the root.
    std::function<std::optional<std::string>(std::string& why)> read_kernel_log;
};

// What a snapshot holds and how it came about.
struct Snapshot {
    std::string source_root; // the --root it was taken from, "/" for the live host
    bool live = false;
    std::int64_t created = 0;
    std::vector<Entry> entries; // sorted by path; parents come before their children
    std::vector<Category> collected;
    std::vector<Redaction> redacted;
    std::vector<Missing> missing;
    std::vector<Refused> refused;
    std::size_t kernel_log_lines = 0;
};

// Reads, through `root`, exactly what pt's commands read (see pt-snapshot(1), FILES): for every
// PCI device the sysfs attributes and links of its folder, the IOMMU groups and units, the vfio
// modules, /proc (cmdline, the first CPU of cpuinfo, modules, the kernel release), the kernel log
// lines about the IOMMU and vfio, the boot and module configuration under /etc, initrd
// timestamps (as empty files), the installed kernels' module folder names, the Proxmox VM
// configs (secrets redacted) and PCI mapping (free text redacted), the ROM files VM configs name,
// and pci.ids reduced to the vendors present. Never reads /etc/pve/priv or any other path
// refusal_reason() names, whether asked for or reached through links (each such path goes to
// `refused`), nor ROM or initrd contents. Links are kept as links with their own targets; a link in
// a configuration folder, VM config folder or pid-file folder is followed only into the folders and
// files pt reads there (else its target goes to `refused`). Absent paths are listed in `missing`;
// an unreadable one too (with the system's reason), so a partial host still gives a snapshot.
// Throws pt::Error only when the root itself cannot be read.
Snapshot collect(const host::Root& root, const Options& options);

} // namespace pt::snapshot
