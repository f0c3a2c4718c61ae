// SPDX-License-Identifier: MIT
#pragma once

#include "cmd/command.hpp"
#include "pt/out/json.hpp"
#include "pt/out/text.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace pt::host {
class Root;
}

namespace pt::edit {
struct Plan;
}

namespace pt::cmd {

// Adds --root, --json, --no-color and -q to `app`, bound to `globals`. main adds them to the top
// level and every subcommand adds them to itself, so they work on either side of the subcommand
// name and show in `pt SUB --help`.
void add_global_options(CLI::App& app, Globals& globals);

// A CLI11 validator that accepts the device selector forms (pt::pci::parse_selector), so a
// malformed selector is a usage error (exit 2) that lists the accepted forms.
CLI::Validator selector_validator();

// A CLI11 validator that refuses an empty value ("--romfile ''"), which would otherwise drop the
// option silently: a usage error (exit 2) naming the option. Add it before any other check.
CLI::Validator non_empty_validator();

// The Root for --root; throws pt::UsageError when it is not a directory.
host::Root open_root(const Globals& globals);

// Text style from --no-color, NO_COLOR, whether stdout is a terminal, and -q.
out::TextStyle text_style(const Globals& globals);

// Prints one JSON document on stdout, followed by a newline.
void print_json(const out::Json& json);

// Prints "pt: warning: TEXT" on stderr.
void warn(std::string_view text);

// Prints "pt: note: TEXT" on stderr: something the user should know that is not a problem.
void note(std::string_view text);

// Options every writer shares.
struct WriterOptions {
    bool apply = false;      // --apply: carry the plan out; otherwise only show it
    bool no_refresh = false; // --no-refresh: skip update-initramfs / update-grub / refresh
};

// Adds --apply and --no-refresh to a writer subcommand.
void add_writer_options(CLI::App& app, WriterOptions& options);

// Shows `plan` (a unified diff per file, each sysfs write, the follow-up commands; "nothing to
// do" when empty; JSON with --json), or with --apply carries it out through edit::apply and
// reports what was written, the journal entry, the commands run and whether to reboot.
// Returns the exit code.
// The time a journal entry is stamped with: SOURCE_DATE_EPOCH (seconds since 1970, UTC) when it
// is set to a number, as reproducible builds use it, so that scripted runs (the README's
// walk-through) get the same entry ids whatever second they run in; otherwise nullopt (now).
std::optional<std::chrono::system_clock::time_point> journal_time();

// `extend_json` adds a command's own members to the JSON document (pt setup's steps).
int run_plan(const Globals& globals,
             const host::Root& root,
             const edit::Plan& plan,
             const WriterOptions& options,
             const std::function<void(out::Json&)>& extend_json = {});

} // namespace pt::cmd
