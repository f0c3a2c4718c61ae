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
    if (globals.json) {
        print_json(edit::to_json(*result));
    } else {
        fmt::print("{}", edit::render_undo_result(*result));
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
