// SPDX-License-Identifier: MIT
#pragma once

#include "pt/edit/journal.hpp"
#include "pt/edit/plan.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::edit {

// Runs one command (argv, no shell) and returns its exit status, 128 + N when signal N killed
// it; throws pt::Error when it cannot be started.
using CommandRunner = std::function<int(const std::vector<std::string>& argv)>;

struct ApplyOptions {
    // Run the plan's follow-up commands after the writes. The command sets it only for the live
    // root ("/") without --no-refresh; under any other root they are shown, never run.
    bool run_follow_ups = false;
    // Check each write's expect_link afterwards. Only meaningful on the live root: in a
    // snapshot or fixture tree no kernel reacts to the write, so the command turns it off there.
    bool check_links = true;
    // The lock: after `lock_notify_after` of waiting, on_lock_wait is called once (the command
    // prints why it waits); after `lock_timeout` apply gives up with pt::Error.
    std::chrono::milliseconds lock_notify_after{500};
    std::chrono::milliseconds lock_timeout{120'000};
    std::function<void()> on_lock_wait;
    // The same for each of plan.locks (another program's lock, e.g. qemu-server's lock of a VM
    // that qm holds), with its host path; on_lock_wait speaks of pt's own lock only.
    std::function<void(const std::string&)> on_plan_lock_wait;
    // Called before each follow-up runs, with its command line (the command prints it and
    // flushes stdout, so the child's output comes after it).
    std::function<void(const std::string&)> on_follow_up;
    // Runs the follow-ups; empty: run_command (posix_spawnp) with `child_stdout_to_stderr`.
    CommandRunner runner;
    bool child_stdout_to_stderr = false; // keep stdout for one JSON document under --json
    // The journal time; empty: now.
    std::optional<std::chrono::system_clock::time_point> now;
};

struct FollowUpRun {
    std::string command; // "update-initramfs -u -k all"
    bool ran = false;    // false: not run (offline root, --no-refresh)
    int exit_status = 0; // when it ran
};

struct ApplyResult {
    std::optional<std::string> journal_id; // nullopt: the plan was empty, nothing recorded
    std::size_t files_written = 0;         // plan.files[0 .. files_written) are written
    std::size_t writes_done = 0;           // plan.writes[0 .. writes_done) are done
    std::vector<FollowUpRun> follow_ups;   // every follow-up of the plan
    // What this apply found and mended from an earlier pt that was killed or ran out of disk:
    // "removed /etc/modprobe.d/.pt-vfio.conf.pt-a1b2c3, a temporary file left by an interrupted
    // pt", "journal entry ID ... was interrupted ...". Empty normally.
    std::vector<std::string> notes;
};

// Carries out `plan`, the only writer of pt:
//  1. checks the plan (absolute host paths without "." or ".."; writes only under /sys; no file
//     twice), so bad input never reaches the disk;
//  2. takes the lock k_lock_path (flock; see ApplyOptions), then each of plan.locks in order
//     (flock only: another program's file is never truncated or written);
//  3. re-reads every file and refuses, before anything is written, when one is no longer what
//     the plan was made from: "PATH changed since the plan was made; run again";
//  4. removes the temporary files an interrupted pt left in the folders pt writes (those of this
//     plan's files, of every journal entry's files, and the journal's own), marks a journal
//     entry that an interrupted pt left "applying" as failed, and says so in `notes`; then
//     records the journal entry (journal.hpp) with the previous and the new contents;
//  5. replaces, creates or removes each file atomically (host::replace_file), re-checking it
//     just before, keeping an existing file's mode and owner;
//  6. does the sysfs writes in order (host::write_attr), checking expect_link after each when
//     check_links is set;
//  7. runs the follow-ups once, in order, when run_follow_ups is set, stopping at the first that
//     fails.
// An empty plan does nothing: no lock, no journal entry. A failure throws pt::Error whose
// message names what failed, which files were written before it (every file is either as
// before or as planned, never torn), and that `pt undo` restores them; a failing follow-up's
// message says the files ARE written and how to run it again.
ApplyResult apply(const Plan& plan, const host::Root& root, const ApplyOptions& options);

struct UndoOptions {
    // The entry to undo ("20261204T101530Z-001"); empty: the last one not undone yet.
    std::optional<std::string> id;
    std::chrono::milliseconds lock_notify_after{500};
    std::chrono::milliseconds lock_timeout{120'000};
    std::function<void()> on_lock_wait;
    std::optional<std::chrono::system_clock::time_point> now;
    // As in ApplyOptions: run the entry's follow-ups (the ones its apply ran: update-initramfs
    // after modprobe files, update-grub or proxmox-boot-tool refresh after boot files) once the
    // files are restored, so that the restored files take effect as the written ones did.
    bool run_follow_ups = false;
    std::function<void(const std::string&)> on_follow_up;
    CommandRunner runner;
    bool child_stdout_to_stderr = false;
};

struct UndoneFile {
    std::string path;
    // "restored" (modified file back to before), "removed" (a created file), "recreated" (a
    // removed file), "unchanged" (it was already as before, e.g. after an apply that failed).
    std::string what;
};

struct UndoResult {
    JournalEntry entry; // as now recorded (status undone)
    std::vector<UndoneFile> files;
    std::vector<FollowUpRun> follow_ups; // the entry's follow-ups; empty when no file changed
    std::vector<std::string> notes;      // as ApplyResult::notes
};

// Restores the files of entry options.id (or of the last entry that is not undone yet), marks it
// undone, then runs its follow-ups when run_follow_ups is set (stopping at the first that
// fails: pt::Error says the files ARE restored and what to run). Under the lock. Refuses with
// pt::Error, restoring nothing, when
//  - options.id names no entry, or one already undone;
//  - a newer entry that is not undone changed one of the same files (undoing out of order would
//    put back a content that the newer entry's copies no longer match): the message names the
//    newer entry and `pt undo NEWER` to run first;
//  - a file's current content is neither what pt wrote nor what was there before ("changed
//    since").
// Each file is restored atomically, with the mode and owner it had. The entry's sysfs writes are
// not undone (the caller says so). nullopt when no id is given and nothing is left to undo.
std::optional<UndoResult> undo_entry(const host::Root& root, const UndoOptions& options);

// Runs `argv` with posix_spawnp (PATH lookup, no shell), waits, and returns the exit status
// (128 + N when signal N killed it). With `stdout_to_stderr` the child's standard output goes
// to pt's standard error. Throws pt::Error when it cannot be started.
int run_command(const std::vector<std::string>& argv, bool stdout_to_stderr);

} // namespace pt::edit
