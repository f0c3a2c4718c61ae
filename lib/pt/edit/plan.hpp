// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pt::edit {

// What a writer (grub, blacklist, bind, unbind, later vmconf and rom-dump --install) wants done,
// computed before anything is touched. Without --apply a command prints the plan; with --apply,
// edit::apply carries it out. Planning is pure: it reads through Root, never writes.

// One whole-file replacement. `before` is the exact content the planner read (nullopt: the file
// does not exist); `after` the exact content to write (nullopt: remove the file). Every byte the
// writer does not own must be the same in `after` as in `before`.
struct FileEdit {
    std::string path; // host path, e.g. "/etc/default/grub"
    std::optional<std::string> before;
    std::optional<std::string> after;
    unsigned mode = 0644; // for a new file; an existing file keeps its mode and owner
    std::string reason;   // one line: why pt changes it
};

// One write to a sysfs attribute, carried out in plan order after the files. Opened O_WRONLY
// without O_CREAT and written with a single write(); never a temp file and rename.
struct AttrWrite {
    std::string path;   // "/sys/bus/pci/devices/0000:01:00.0/driver_override"
    std::string value;  // "vfio-pci"
    std::string reason; // one line
    // When set, after this write the link `first` must end in `second` (e.g. the device's
    // `driver` link must name vfio-pci: a probe can "succeed" with nothing bound).
    std::optional<std::pair<std::string, std::string>> expect_link;
};

// Commands that make file changes take effect, run once at the end of --apply (never under a
// --root other than /, where they are printed instead; never with --no-refresh).
enum class FollowUp { update_initramfs, update_grub, proxmox_boot_refresh };

// "update-initramfs -u -k all", "update-grub", "proxmox-boot-tool refresh".
std::string_view command_line(FollowUp follow_up);

struct Plan {
    std::string title; // the command line that made it, e.g. "pt grub --iommu-pt"; journalled
    std::vector<FileEdit> files;
    std::vector<AttrWrite> writes;
    std::vector<FollowUp> follow_ups; // unique, in the order they must run
    std::vector<std::string> notes;   // explanations shown with the plan (warnings, why)
    // Further lock files (host paths) that edit::apply holds with flock(2), after its own lock
    // and in this order, while it writes: e.g. qemu-server's per-VM lock
    // /var/lock/qemu-server/lock-<vmid>.conf, so pt never writes a VM config under qm's feet.
    std::vector<std::string> locks;
    bool reboot_needed = false; // a change that only takes effect at the next boot

    // Nothing to write: no file edits and no attribute writes.
    bool empty() const { return files.empty() && writes.empty(); }
};

// Adds `edit` unless its `after` equals its `before` (so a second run plans nothing), merging
// with an earlier edit of the same path (the later `after` wins, the first `before` stays).
void add_file(Plan& plan, FileEdit edit);

// Adds `follow_up` once.
void add_follow_up(Plan& plan, FollowUp follow_up);

// What a file edit does: create (before is nullopt), remove (after is nullopt), else modify.
enum class FileAction { create, modify, remove };

FileAction action_of(const FileEdit& edit);

// "create", "modify", "remove": the words of the JSON schema and the journal.
std::string_view to_string(FileAction action);

} // namespace pt::edit
