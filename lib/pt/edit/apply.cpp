// SPDX-License-Identifier: MIT
#include "pt/edit/apply.hpp"

#include "pt/error.hpp"
#include "pt/host/process.hpp"
#include "pt/host/root.hpp"
#include "pt/host/write.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

namespace pt::edit {
namespace {

std::string parent_of(std::string_view host_path) {
    const auto slash = host_path.rfind('/');
    return slash == 0 || slash == std::string_view::npos ? "/"
                                                         : std::string(host_path.substr(0, slash));
}

// An absolute host path without empty, "." or ".." components: a planner bug, never a reason to
// write somewhere else than the plan says.
void check_path(std::string_view path, std::string_view what) {
    bool good = path.size() > 1 && path.front() == '/' && path.back() != '/'
                && path.find('\0') == std::string_view::npos;
    for (std::size_t pos = 1; good && pos <= path.size();) {
        const auto next = std::min(path.find('/', pos), path.size());
        const auto part = path.substr(pos, next - pos);
        good = !part.empty() && part != "." && part != "..";
        pos = next + 1;
    }
    if (!good) {
        throw Error(fmt::format("refusing a plan with {} path {:?}: not a plain absolute path "
                                "(this is a bug in pt)",
                                what,
                                path));
    }
}

void check_plan(const Plan& plan) {
    std::set<std::string_view> seen;
    for (const auto& file : plan.files) {
        check_path(file.path, "file");
        if (!seen.insert(file.path).second) {
            throw Error(fmt::format("refusing a plan that edits {} twice (this is a bug in pt)",
                                    file.path));
        }
        if (file.before == file.after) {
            throw Error(fmt::format("refusing a plan whose edit of {} changes nothing (this is a "
                                    "bug in pt)",
                                    file.path));
        }
    }
    for (const auto& write : plan.writes) {
        check_path(write.path, "sysfs");
        if (write.path.rfind("/sys/", 0) != 0) {
            throw Error(fmt::format("refusing a plan that writes an attribute outside /sys: {} "
                                    "(this is a bug in pt)",
                                    write.path));
        }
        if (write.expect_link) {
            check_path(write.expect_link->first, "link");
        }
    }
    for (const auto& lock : plan.locks) {
        check_path(lock, "lock");
    }
}

std::vector<std::string> split_words(std::string_view line) {
    std::vector<std::string> words;
    std::size_t pos = 0;
    while (pos < line.size()) {
        const auto start = line.find_first_not_of(' ', pos);
        if (start == std::string_view::npos) {
            break;
        }
        const auto end = std::min(line.find(' ', start), line.size());
        words.emplace_back(line.substr(start, end - start));
        pos = end;
    }
    return words;
}

// "the files are written: /etc/a (create), /etc/b (modify)"-style lists.
std::string file_list(const Plan& plan, std::size_t from, std::size_t to) {
    std::vector<std::string> names;
    for (std::size_t i = from; i < to; ++i) {
        names.push_back(
            fmt::format("{} ({})", plan.files[i].path, to_string(action_of(plan.files[i]))));
    }
    return fmt::format("{}", fmt::join(names, ", "));
}

// What a failure midway leaves behind, for the error message.
std::string progress(const Plan& plan,
                     const ApplyResult& result,
                     const std::optional<std::string>& journal_id) {
    std::string out;
    if (result.files_written == 0 && result.writes_done == 0) {
        return "\n  nothing was changed";
    }
    if (result.files_written > 0) {
        out += fmt::format("\n  written before the failure: {}",
                           file_list(plan, 0, result.files_written));
    }
    if (result.files_written < plan.files.size()) {
        out += fmt::format("\n  not written (still as before): {}",
                           file_list(plan, result.files_written, plan.files.size()));
    }
    if (result.writes_done > 0) {
        out +=
            fmt::format("\n  sysfs writes done: {} of {}", result.writes_done, plan.writes.size());
    }
    out += "\n  every file is either as before or as planned, none is half-written";
    if (result.files_written > 0) {
        out += fmt::format("; `pt undo` restores the written ones (journal entry {})",
                           journal_id.value_or("?"));
    }
    return out;
}

void mark(const host::Root& root,
          JournalEntry& entry,
          EntryStatus status,
          std::optional<std::string> error) {
    entry.status = status;
    entry.error = std::move(error);
    update_entry(root, entry);
}

host::FileMeta meta_for(const host::Root& root, const FileEdit& file) {
    if (const auto meta = host::file_meta(root, file.path)) {
        return *meta;
    }
    // A new file keeps the owner the file system gives it (no fchown: pmxcfs shows its files
    // as root:www-data and may refuse a chown).
    return host::FileMeta{file.mode, ::geteuid(), ::getegid(), false};
}

// How the message of a busy plan lock names it: qemu-server's lock-VMID.conf is a VM's config.
host::ForeignLock foreign_lock(std::string_view path) {
    constexpr std::string_view prefix = "/var/lock/qemu-server/lock-";
    constexpr std::string_view suffix = ".conf";
    if (path.starts_with(prefix) && path.ends_with(suffix)
        && path.size() > prefix.size() + suffix.size()) {
        const auto vmid = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
        return {fmt::format("VM {}'s config", vmid), "qm or the Proxmox API"};
    }
    return {std::string(path), "another program"};
}

// The folders pt writes on this host: those of `plan`'s files, of every journal entry's files,
// and the journal's own folders (an entry killed before its manifest was written included).
// Only there may a temporary file be pt's own leftover.
std::set<std::string> written_folders(const host::Root& root,
                                      const std::vector<JournalEntry>& entries,
                                      const Plan& plan) {
    std::set<std::string> folders{std::string(k_journal_dir)};
    for (const auto& name : root.list(k_journal_dir)) {
        if (!name.empty() && name[0] != '.') {
            folders.insert(entry_dir(name));
        }
    }
    for (const auto& file : plan.files) {
        folders.insert(parent_of(file.path));
    }
    for (const auto& entry : entries) {
        folders.insert(entry_dir(entry.id));
        for (const auto& file : entry.files) {
            folders.insert(parent_of(file.path));
        }
    }
    return folders;
}

// What an interrupted pt (SIGKILL, power loss, a full disk at the journal's last write) left:
// its temporary files, which nothing else would ever remove, and a journal entry still marked
// "applying". Run under pt's lock, so neither can belong to a pt that is still running.
std::vector<std::string> mend_interrupted(const host::Root& root, const Plan& plan) {
    std::vector<std::string> notes;
    std::vector<JournalEntry> entries;
    try {
        entries = list_entries(root);
    } catch (const Error& e) {
        notes.push_back(fmt::format("the journal could not be read ({}); only the folders of this "
                                    "plan were checked for leftovers",
                                    e.what()));
    }
    for (const auto& folder : written_folders(root, entries, plan)) {
        for (const auto& path : host::remove_temp_files(root, folder)) {
            notes.push_back(
                fmt::format("removed {}, a temporary file left by an interrupted pt", path));
        }
    }
    for (auto& entry : entries) {
        if (entry.status != EntryStatus::applying) {
            continue;
        }
        notes.push_back(fmt::format(
            "journal entry {} ({}) was interrupted before it finished: each of its files is "
            "either as before or as pt wrote it; `pt undo` restores them while it is the last "
            "entry (`pt undo --list` shows it)",
            entry.id,
            entry.title));
        try {
            mark(root,
                 entry,
                 EntryStatus::failed,
                 "interrupted: pt was killed, or could not record the end of the apply");
        } catch (const Error&) {
            // Still "applying": the next run says the same again.
        }
    }
    return notes;
}

// The first follow-up that failed: why, and the commands still to run (it included).
struct FollowUpFailure {
    std::string what;
    std::vector<std::string> rest;
};

// Runs `runs` in order (each marked ran, with its exit status), stopping at the first that
// fails or cannot start.
std::optional<FollowUpFailure> run_follow_ups(std::vector<FollowUpRun>& runs,
                                              const std::function<void(const std::string&)>& on_run,
                                              const CommandRunner& runner,
                                              bool child_stdout_to_stderr) {
    for (std::size_t i = 0; i < runs.size(); ++i) {
        auto& run = runs[i];
        if (on_run) {
            on_run(run.command);
        }
        std::string failure;
        try {
            run.exit_status = runner
                                  ? runner(split_words(run.command))
                                  : run_command(split_words(run.command), child_stdout_to_stderr);
            run.ran = true;
            if (run.exit_status != 0) {
                failure =
                    fmt::format("`{}` failed with exit status {}", run.command, run.exit_status);
            }
        } catch (const Error& e) {
            failure = e.what();
        }
        if (!failure.empty()) {
            FollowUpFailure out{failure, {}};
            for (std::size_t k = i; k < runs.size(); ++k) {
                out.rest.push_back(runs[k].command);
            }
            return out;
        }
    }
    return std::nullopt;
}

} // namespace

int run_command(const std::vector<std::string>& argv, bool stdout_to_stderr) {
    host::RunOptions options;
    options.stdout_to_stderr = stdout_to_stderr;
    const auto run = host::run_process(argv, options);
    if (!run.started || !run.error.empty()) {
        throw Error(run.error);
    }
    if (run.exit_status) {
        return *run.exit_status;
    }
    return run.signal != 0 ? 128 + run.signal : 1;
}

ApplyResult apply(const Plan& plan, const host::Root& root, const ApplyOptions& options) {
    check_plan(plan);
    ApplyResult result;
    if (plan.empty()) {
        return result;
    }
    const auto lock = host::lock_file(
        root, k_lock_path, options.lock_notify_after, options.lock_timeout, options.on_lock_wait);
    std::vector<host::Lock> extra_locks; // the plan's own (a VM's lock), held until the end
    for (const auto& path : plan.locks) {
        // Another program's lock file: flocked only, never written.
        std::function<void()> on_wait;
        if (options.on_plan_lock_wait) {
            on_wait = [&options, &path] {
                options.on_plan_lock_wait(path);
            };
        }
        extra_locks.push_back(host::lock_file(root,
                                              path,
                                              options.lock_notify_after,
                                              options.lock_timeout,
                                              on_wait,
                                              foreign_lock(path)));
    }

    result.notes = mend_interrupted(root, plan);

    // Everything is checked before the first write, so a refusal changes nothing.
    std::vector<JournalFile> recorded;
    for (const auto& file : plan.files) {
        if (host::read_if_exists(root, file.path) != file.before) {
            throw Error(fmt::format("{} changed since the plan was made; run again (nothing was "
                                    "changed)",
                                    root.map(file.path).string()));
        }
        const auto meta = meta_for(root, file);
        recorded.push_back(JournalFile{
            file.path, action_of(file), meta.mode, meta.uid, meta.gid, file.before, file.after});
    }
    JournalEntry entry;
    try {
        entry = create_entry(root,
                             plan,
                             std::move(recorded),
                             options.now.value_or(std::chrono::system_clock::now()));
    } catch (const Error& e) {
        throw Error(fmt::format("{}\n  the journal could not be written, so nothing was changed",
                                e.what()));
    }
    result.journal_id = entry.id;

    try {
        for (std::size_t i = 0; i < plan.files.size(); ++i) {
            const auto& file = plan.files[i];
            // Again, just before: the window since the first check held no lock of the editor's.
            if (host::read_if_exists(root, file.path) != file.before) {
                throw Error(fmt::format("{} changed since the plan was made; run again",
                                        root.map(file.path).string()));
            }
            const auto& journal_file = entry.files[i];
            if (file.after) {
                host::make_dirs(root, parent_of(file.path));
                host::replace_file(root,
                                   file.path,
                                   *file.after,
                                   host::FileMeta{journal_file.mode,
                                                  journal_file.uid,
                                                  journal_file.gid,
                                                  file.before.has_value()});
            } else {
                host::remove_file(root, file.path);
            }
            ++result.files_written;
        }
        for (const auto& write : plan.writes) {
            host::write_attr(root, write.path, write.value);
            ++result.writes_done;
            if (options.check_links && write.expect_link) {
                const auto& [link, name] = *write.expect_link;
                const auto got = root.link_name(link);
                if (got != name) {
                    throw Error(fmt::format(
                        "after writing {:?} to {}, {} {} instead of {}: a probe can succeed "
                        "with nothing bound",
                        write.value,
                        root.map(write.path).string(),
                        root.map(link).string(),
                        got ? fmt::format("names {}", *got) : std::string("does not exist"),
                        name));
                }
            }
        }
    } catch (const Error& e) {
        const std::string message = e.what() + progress(plan, result, entry.id);
        try {
            mark(root, entry, EntryStatus::failed, e.what());
        } catch (const Error&) {
            // The entry stays "applying"; undo works from the contents either way.
        }
        throw Error(message);
    }
    try {
        mark(root, entry, EntryStatus::applied, std::nullopt);
    } catch (const Error& e) {
        // Every change is made; only the journal's last word is missing (a full disk, say).
        // The entry stays "applying" with both copies of every file, which undo works from and
        // the next apply reports as interrupted.
        std::vector<std::string> rest;
        for (const auto follow_up : plan.follow_ups) {
            rest.emplace_back(command_line(follow_up));
        }
        throw Error(fmt::format(
            "{}\n  every change IS made: {}{}\n  only the journal entry {} could not be marked "
            "finished; it stays \"applying\", the next pt run reports it as interrupted, and "
            "`pt undo` restores these files from it\n  free space under {}{}",
            e.what(),
            plan.files.empty() ? "no files" : file_list(plan, 0, plan.files.size()),
            plan.writes.empty() ? "" : "; the sysfs writes are done",
            entry.id,
            root.map(k_journal_dir).string(),
            rest.empty() ? "" : fmt::format(", then run: {}", fmt::join(rest, " && "))));
    }

    for (const auto follow_up : plan.follow_ups) {
        result.follow_ups.push_back({std::string(command_line(follow_up)), false, 0});
    }
    if (!options.run_follow_ups) {
        return result;
    }
    const auto failure = run_follow_ups(
        result.follow_ups, options.on_follow_up, options.runner, options.child_stdout_to_stderr);
    if (failure) {
        throw Error(fmt::format(
            "{}\n  the files ARE written ({}; journal entry {}, `pt undo` restores them){}"
            "\n  fix the cause, then run: {}",
            failure->what,
            plan.files.empty() ? "no files" : file_list(plan, 0, plan.files.size()),
            entry.id,
            plan.writes.empty() ? "" : "; the sysfs writes are done",
            fmt::join(failure->rest, " && ")));
    }
    return result;
}

namespace {

bool pending(const JournalEntry& entry) {
    return entry.status != EntryStatus::undone;
}

// The entry `id` names among `entries` (oldest first), refused when it does not exist, is
// undone already, or a newer pending entry changed one of its files (that one must go first:
// its "before" copy is this entry's "after", so restoring this one now would leave the newer
// entry's copies describing a file that is no longer there).
const JournalEntry& entry_to_undo(const host::Root& root,
                                  const std::vector<JournalEntry>& entries,
                                  const std::string& id) {
    const auto found = std::find_if(
        entries.begin(), entries.end(), [&id](const JournalEntry& e) { return e.id == id; });
    if (found == entries.end()) {
        throw Error(
            fmt::format("pt undo {}", id),
            fmt::format("the journal ({}) has no entry {}", root.map(k_journal_dir).string(), id),
            "pt undo --list shows the entries and their ids");
    }
    if (!pending(*found)) {
        throw Error(fmt::format("pt undo {}", id),
                    fmt::format("{} ({}) was undone already, at {}",
                                id,
                                found->title,
                                found->undone_time.value_or("an unknown time")),
                    "nothing to do; pt undo --list shows what is left to undo");
    }
    // Newest first, so the message names the entry to undo first.
    for (auto newer = entries.rbegin(); newer->id != found->id; ++newer) {
        if (!pending(*newer)) {
            continue;
        }
        for (const auto& file : found->files) {
            const bool shared =
                std::any_of(newer->files.begin(),
                            newer->files.end(),
                            [&file](const JournalFile& f) { return f.path == file.path; });
            if (shared) {
                throw Error(
                    fmt::format("cannot undo {} ({})", id, found->title),
                    fmt::format("the newer entry {} ({}) also changed {}, and entries that "
                                "share a file are undone newest first; nothing was restored",
                                newer->id,
                                newer->title,
                                file.path),
                    fmt::format("undo it first: pt undo {}, then pt undo {}", newer->id, id));
            }
        }
    }
    return *found;
}

} // namespace

std::optional<UndoResult> undo_entry(const host::Root& root, const UndoOptions& options) {
    // Nothing to undo touches nothing, not even the lock file; the answer is checked again
    // under the lock. A named entry is looked up under the lock (and refused there).
    if (const auto peek = list_entries(root);
        !options.id && std::none_of(peek.begin(), peek.end(), pending)) {
        return std::nullopt;
    }
    const auto lock = host::lock_file(
        root, k_lock_path, options.lock_notify_after, options.lock_timeout, options.on_lock_wait);
    auto notes = mend_interrupted(root, Plan{});
    auto entries = list_entries(root);
    UndoResult result;
    if (options.id) {
        result.entry = entry_to_undo(root, entries, *options.id);
    } else {
        const auto last = std::find_if(entries.rbegin(), entries.rend(), pending);
        if (last == entries.rend()) {
            return std::nullopt;
        }
        result.entry = *last;
    }
    result.notes = std::move(notes);
    auto& entry = result.entry;

    // Decide for every file before restoring any, so a refusal restores nothing.
    std::vector<bool> restore;
    for (const auto& file : entry.files) {
        const auto current = host::read_if_exists(root, file.path);
        if (current == file.after) {
            restore.push_back(true);
        } else if (current == file.before) {
            restore.push_back(false); // never written (a failed apply), or restored by hand
        } else {
            throw Error(fmt::format(
                "cannot undo {} ({}): {} was changed since pt wrote it (its content is not what "
                "pt wrote); nothing was restored. Put it back as pt left it, or restore it by hand "
                "from {}",
                entry.id,
                entry.title,
                root.map(file.path).string(),
                root.map(entry_dir(entry.id)).string()));
        }
    }
    try {
        for (std::size_t i = 0; i < entry.files.size(); ++i) {
            const auto& file = entry.files[i];
            if (!restore[i]) {
                result.files.push_back({file.path, "unchanged"});
                continue;
            }
            if (file.before) {
                host::make_dirs(root, parent_of(file.path));
                host::replace_file(
                    root, file.path, *file.before, host::FileMeta{file.mode, file.uid, file.gid});
                result.files.push_back({file.path, file.after ? "restored" : "recreated"});
            } else {
                host::remove_file(root, file.path);
                result.files.push_back({file.path, "removed"});
            }
        }
    } catch (const Error& e) {
        std::vector<std::string> done;
        for (const auto& file : result.files) {
            done.push_back(file.path);
        }
        throw Error(fmt::format("{}\n  restored before the failure: {}\n  every file is either "
                                "as pt wrote it or as before; run `pt undo` again once the cause "
                                "is fixed",
                                e.what(),
                                done.empty() ? "none" : fmt::format("{}", fmt::join(done, ", "))));
    }
    entry.status = EntryStatus::undone;
    entry.undone_time = utc_time(options.now.value_or(std::chrono::system_clock::now()));
    update_entry(root, entry);

    // The restored files take effect the way the written ones did: through the same commands.
    const bool changed_files =
        std::any_of(result.files.begin(), result.files.end(), [](const UndoneFile& f) {
            return f.what != "unchanged";
        });
    if (!changed_files) {
        return result;
    }
    for (const auto& command : entry.follow_ups) {
        result.follow_ups.push_back({command, false, 0});
    }
    if (!options.run_follow_ups) {
        return result;
    }
    const auto failure = run_follow_ups(
        result.follow_ups, options.on_follow_up, options.runner, options.child_stdout_to_stderr);
    if (failure) {
        throw Error(fmt::format("{}\n  the files ARE restored (journal entry {} is undone)"
                                "\n  fix the cause, then run: {}",
                                failure->what,
                                entry.id,
                                fmt::join(failure->rest, " && ")));
    }
    return result;
}

} // namespace pt::edit
