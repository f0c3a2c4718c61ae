// SPDX-License-Identifier: MIT
// pt undo: restore the files of the last --apply from the journal, or list the journal.
#include "cmd/common.hpp"
#include "pt/edit/apply.hpp"
#include "pt/edit/journal.hpp"
#include "pt/edit/render.hpp"
#include "pt/error.hpp"
#include "pt/exit_code.hpp"
#include "pt/host/root.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <memory>

namespace pt::cmd {
namespace {

struct UndoOptions {
    bool list = false;
};

out::Json entry_json(const edit::JournalEntry& entry) {
    auto files = out::Json::array();
    for (const auto& file : entry.files) {
        files.push_back(out::Json{{"path", file.path}, {"action", edit::to_string(file.action)}});
    }
    auto writes = out::Json::array();
    for (const auto& write : entry.writes) {
        writes.push_back(
            out::Json{{"path", write.path}, {"value", write.value}, {"reason", write.reason}});
    }
    const auto opt = [](const std::optional<std::string>& s) {
        return s ? out::Json(*s) : out::Json(nullptr);
    };
    return out::Json{
        {"id", entry.id},
        {"time", entry.time},
        {"title", entry.title},
        {"status", edit::to_string(entry.status)},
        {"undone", entry.status == edit::EntryStatus::undone},
        {"undone_time", opt(entry.undone_time)},
        {"error", opt(entry.error)},
        {"files", files},
        {"writes", writes},
        {"follow_ups", entry.follow_ups},
        {"reboot_needed", entry.reboot_needed},
    };
}

int list(const Globals& globals, const host::Root& root) {
    const auto entries = edit::list_entries(root);
    if (globals.json) {
        auto array = out::Json::array();
        for (const auto& entry : entries) {
            array.push_back(entry_json(entry));
        }
        print_json(out::Json{{"journal", edit::k_journal_dir}, {"entries", array}});
        return to_int(ExitCode::ok);
    }
    if (entries.empty()) {
        fmt::print("the journal is empty ({})\n", root.map(edit::k_journal_dir).string());
        return to_int(ExitCode::ok);
    }
    for (const auto& entry : entries) {
        std::string status(edit::to_string(entry.status));
        if (entry.undone_time) {
            status += fmt::format(" {}", *entry.undone_time);
        }
        fmt::print("{}  {}  {}  {}\n", entry.id, entry.time, status, entry.title);
        for (const auto& file : entry.files) {
            fmt::print("    {} {}\n", edit::to_string(file.action), file.path);
        }
        for (const auto& write : entry.writes) {
            fmt::print("    write {} > {}\n", edit::quote_value(write.value), write.path);
        }
        if (entry.error && !globals.quiet) {
            fmt::print("    error: {}\n", *entry.error);
        }
    }
    return to_int(ExitCode::ok);
}

int undo(const Globals& globals, const host::Root& root) {
    edit::UndoOptions options;
    options.now = journal_time();
    options.on_lock_wait = [&root] {
        fmt::print(stderr,
                   "pt: waiting for another pt to finish changing this host (lock {})...\n",
                   root.map(edit::k_lock_path).string());
    };
    const auto result = edit::undo_last(root, options);
    if (!result) {
        if (globals.json) {
            print_json(out::Json{{"undone", nullptr}});
        } else {
            fmt::print("nothing to undo: the journal ({}) has no entry left that is not undone\n",
                       root.map(edit::k_journal_dir).string());
        }
        return to_int(ExitCode::ok);
    }
    const auto& entry = result->entry;
    if (globals.json) {
        auto files = out::Json::array();
        for (const auto& file : result->files) {
            files.push_back(out::Json{{"path", file.path}, {"result", file.what}});
        }
        auto json = entry_json(entry);
        json["files"] = files;
        json["writes_not_undone"] = json["writes"];
        json.erase("writes");
        print_json(out::Json{{"undone", json}, {"recovered", result->notes}});
        return to_int(ExitCode::ok);
    }
    for (const auto& note : result->notes) {
        fmt::print("recovered: {}\n", note);
    }
    fmt::print("undid {} ({}): {}\n", entry.id, entry.time, entry.title);
    for (const auto& file : result->files) {
        fmt::print("{} {}{}\n",
                   file.what,
                   file.path,
                   file.what == "unchanged" ? " (already as before)" : "");
    }
    if (!entry.writes.empty()) {
        fmt::print("\nsysfs writes are not undone from the journal (use pt unbind to give a device "
                   "back to its driver); this entry did:\n");
        for (const auto& write : entry.writes) {
            fmt::print("    write {} > {}\n", edit::quote_value(write.value), write.path);
        }
    }
    if (!entry.follow_ups.empty() && !entry.files.empty()) {
        fmt::print("\nthe restored files take effect after these commands (not run by pt undo):\n");
        for (const auto& command : entry.follow_ups) {
            fmt::print("run: {}\n", command);
        }
        if (entry.reboot_needed) {
            fmt::print("and a reboot\n");
        }
    }
    return to_int(ExitCode::ok);
}

} // namespace

Command register_undo(CLI::App& parent, Globals& globals) {
    auto* sub = parent.add_subcommand(
        "undo", "Restore the files of the last --apply from the journal (/var/lib/pt/journal)");
    auto options = std::make_shared<UndoOptions>();
    sub->add_flag("--list",
                  options->list,
                  "List the journal entries (id, time, status, command, files) instead of undoing");
    add_global_options(*sub, globals);
    return {sub, [options](const Globals& g) -> int {
                const auto root = open_root(g);
                return options->list ? list(g, root) : undo(g, root);
            }};
}

} // namespace pt::cmd
