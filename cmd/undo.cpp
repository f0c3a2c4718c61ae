// SPDX-License-Identifier: MIT
// pt undo: restore the files of the last --apply (or of a named journal entry) from the journal
// and run the commands that make them take effect, or list the journal.
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
#include <string>
#include <string_view>

namespace pt::cmd {
namespace {

struct UndoOptions {
    bool list = false;
    bool no_refresh = false;
    std::string id; // empty: the last entry not undone
};

int list(const Globals& globals, const host::Root& root) {
    const auto entries = edit::list_entries(root);
    if (globals.json) {
        auto array = out::Json::array();
        for (const auto& entry : entries) {
            array.push_back(edit::to_json(entry));
        }
        print_json(out::Json{{"journal", edit::k_journal_dir}, {"entries", array}});
        return to_int(ExitCode::ok);
    }
    fmt::print(
        "{}", edit::render_journal(entries, root.map(edit::k_journal_dir).string(), globals.quiet));
    return to_int(ExitCode::ok);
}

// Why the entry's follow-ups are not run, or "" when they are (as for an apply).
std::string_view not_run_reason(const host::Root& root, const UndoOptions& options) {
    if (!root.is_live()) {
        return "offline root";
    }
    return options.no_refresh ? "--no-refresh" : "";
}

int undo(const Globals& globals, const host::Root& root, const UndoOptions& undo_options) {
    const auto reason = not_run_reason(root, undo_options);
    edit::UndoOptions options;
    if (!undo_options.id.empty()) {
        options.id = undo_options.id;
    }
    options.now = journal_time();
    options.run_follow_ups = reason.empty();
    options.child_stdout_to_stderr = globals.json;
    options.on_follow_up = [&globals](const std::string& command) {
        if (!globals.json) {
            fmt::print("running: {}\n", command);
        }
        std::fflush(stdout);
    };
    options.on_lock_wait = [&root] {
        fmt::print(stderr,
                   "pt: waiting for another pt to finish changing this host (lock {})...\n",
                   root.map(edit::k_lock_path).string());
    };
    const auto result = edit::undo_entry(root, options);
    if (!result) {
        if (globals.json) {
            print_json(out::Json{{"undone", nullptr}});
        } else {
            fmt::print("nothing to undo: the journal ({}) has no entry left that is not undone\n",
                       root.map(edit::k_journal_dir).string());
        }
        return to_int(ExitCode::ok);
    }
    if (globals.json) {
        print_json(edit::to_json(*result, reason));
    } else {
        fmt::print("{}", edit::render_undo_result(*result, reason, root.prefix().string()));
    }
    return to_int(ExitCode::ok);
}

} // namespace

Command register_undo(CLI::App& parent, Globals& globals) {
    auto* sub = parent.add_subcommand(
        "undo",
        "Restore the files of the last --apply, or of entry ID, from the journal "
        "(/var/lib/pt/journal), and run the commands that make them take effect");
    auto options = std::make_shared<UndoOptions>();
    sub->add_option("ID",
                    options->id,
                    "The journal entry to undo (an id from pt undo --list, e.g. "
                    "20261204T101530Z-001); default: the last one not undone. Refused while a "
                    "newer entry that is not undone changed one of its files");
    auto* list_flag = sub->add_flag(
        "--list",
        options->list,
        "List the journal entries (id, time, status, command, files) instead of undoing");
    sub->add_flag("--no-refresh",
                  options->no_refresh,
                  "Do not run the entry's update-initramfs / update-grub / proxmox-boot-tool "
                  "refresh after restoring its files; run them yourself before rebooting")
        ->excludes(list_flag);
    add_global_options(*sub, globals);
    return {sub, [options](const Globals& g) -> int {
                const auto root = open_root(g);
                if (options->list && !options->id.empty()) {
                    throw UsageError("pt undo",
                                     "--list lists every entry and takes no ID",
                                     "pt undo --list, or pt undo ID");
                }
                return options->list ? list(g, root) : undo(g, root, *options);
            }};
}

} // namespace pt::cmd
