// SPDX-License-Identifier: MIT
#pragma once

#include "pt/edit/plan.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::edit {

// The journal: what each --apply changed, so that `pt undo` can put it back. One directory per
// apply under k_journal_dir (under the root):
//
//   /var/lib/pt/journal/20261122T101530Z-001/manifest.json
//   /var/lib/pt/journal/20261122T101530Z-001/0.before    previous content of files[0]
//   /var/lib/pt/journal/20261122T101530Z-001/0.after     content pt wrote to files[0]
//
// The id is the UTC time of the apply and a counter for applies in the same second, so ids sort
// by time. Copies are whole files, byte for byte: the files pt edits are a few kilobytes, and a
// full copy restores exactly and compares exactly, where a hash would only compare. Each copy's
// size and 64-bit FNV-1a hash in the manifest catch a damaged copy before undo trusts it (FNV
// is not a defence against tampering: whoever can write the journal can write /etc).
//
// The entry is written completely (copies first, the manifest last, each atomically) before
// the first file is touched. A directory without manifest.json is an apply that died before it
// changed anything, and is ignored.
inline constexpr std::string_view k_journal_dir = "/var/lib/pt/journal";

// The lock every apply and undo holds (flock), so that two never interleave.
inline constexpr std::string_view k_lock_path = "/var/lib/pt/lock";

enum class EntryStatus {
    applying, // written before the first change; stays so if pt died midway
    applied,  // every file and sysfs write done (follow-ups may still have failed)
    failed,   // a write failed midway; `error` says which
    undone,   // pt undo restored its files
};

std::string_view to_string(EntryStatus status);

struct JournalFile {
    std::string path; // host path
    FileAction action = FileAction::modify;
    unsigned mode = 0644; // of the file before (modify, remove) or as created
    uid_t uid = 0;
    gid_t gid = 0;
    std::optional<std::string> before; // content before the apply; nullopt: it did not exist
    std::optional<std::string> after;  // content pt wrote; nullopt: pt removed it
};

struct JournalWrite {
    std::string path;
    std::string value;
    std::string reason;
};

struct JournalEntry {
    std::string id;    // "20261122T101530Z-001"
    std::string title; // Plan::title
    std::string time;  // "2026-11-22T10:15:30Z"
    EntryStatus status = EntryStatus::applying;
    std::optional<std::string> error;       // why a failed apply stopped
    std::optional<std::string> undone_time; // when pt undo restored it
    std::vector<JournalFile> files;
    std::vector<JournalWrite> writes; // recorded, not undoable: pt unbind reverses them
    std::vector<std::string> follow_ups;
    bool reboot_needed = false;
};

// The host directory of entry `id`.
std::string entry_dir(std::string_view id);

// Records `plan` as a new entry with status applying and returns it. `files[i]` describes
// plan.files[i] (mode and owner are the caller's to find). Throws pt::Error when the journal
// cannot be written; then no target file has been touched.
JournalEntry create_entry(const host::Root& root,
                          const Plan& plan,
                          std::vector<JournalFile> files,
                          std::chrono::system_clock::time_point now);

// Rewrites the manifest of `entry` (status, error, undone_time) atomically.
void update_entry(const host::Root& root, const JournalEntry& entry);

// Every entry, oldest first, with the copies loaded. An empty list when there is no journal.
// Throws pt::Error naming the file when a manifest cannot be parsed or a copy is missing or
// does not match its recorded size and hash.
std::vector<JournalEntry> list_entries(const host::Root& root);

// "2026-11-22T10:15:30Z".
std::string utc_time(std::chrono::system_clock::time_point when);

// 64-bit FNV-1a of `data`, as 16 lower-case hex digits.
std::string fnv1a64(std::string_view data);

} // namespace pt::edit
