// SPDX-License-Identifier: MIT
#include "cmd/common.hpp"

#include "pt/edit/apply.hpp"
#include "pt/edit/journal.hpp"
#include "pt/edit/plan.hpp"
#include "pt/edit/render.hpp"
#include "pt/error.hpp"
#include "pt/exit_code.hpp"
#include "pt/host/root.hpp"
#include "pt/pci/selector.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace pt::cmd {

void add_global_options(CLI::App& app, Globals& globals) {
    // Not CLI11's envname: with --root on both levels, CLI11 would let PT_ROOT override a --root
    // given on the other level. main applies PT_ROOT once, only when no --root was given.
    app.add_option_function<std::string>(
           "--root",
           [&globals](const std::string& dir) {
               globals.root = dir;
               globals.root_given = true;
           },
           "Treat DIR as the host's / for every read and write (default: $PT_ROOT, else /)")
        ->type_name("DIR");
    app.add_flag("--json", globals.json, "Print one JSON document instead of text");
    app.add_flag("--no-color", globals.no_color, "Never colour the output (NO_COLOR also works)");
    app.add_flag("-q,--quiet", globals.quiet, "Leave out explanations; keep the facts");
}

CLI::Validator selector_validator() {
    return {[](std::string& value) -> std::string {
                try {
                    pci::parse_selector(value);
                    return {};
                } catch (const UsageError& e) {
                    return e.what();
                }
            },
            "",
            "device selector"};
}

CLI::Validator non_empty_validator() {
    // CLI11 prefixes the option's name: "--romfile: the value is empty; ...".
    return {[](std::string& value) -> std::string {
                if (value.empty()) {
                    return "the value is empty; give one, or leave the option out";
                }
                return {};
            },
            "",
            "non-empty"};
}

host::Root open_root(const Globals& globals) {
    return host::Root(globals.root);
}

out::TextStyle text_style(const Globals& globals) {
    const char* no_color = std::getenv("NO_COLOR");
    const bool color = !globals.no_color && (no_color == nullptr || *no_color == '\0')
                       && ::isatty(STDOUT_FILENO) == 1;
    return out::TextStyle{color, globals.quiet};
}

void print_json(const out::Json& json) {
    // File contents (diffs) need not be UTF-8; JSON strings must be, so bad bytes become U+FFFD.
    fmt::print("{}\n", json.dump(2, ' ', false, out::Json::error_handler_t::replace));
}

void warn(std::string_view text) {
    fmt::print(stderr, "pt: warning: {}\n", text);
}

void note(std::string_view text) {
    fmt::print(stderr, "pt: note: {}\n", text);
}

void add_writer_options(CLI::App& app, WriterOptions& options) {
    app.add_flag("--apply",
                 options.apply,
                 "Carry the plan out: write the files atomically (the previous versions go to "
                 "the journal; pt undo restores them), do the sysfs writes, run the follow-up "
                 "commands. Without it, only show the plan");
    app.add_flag("--no-refresh",
                 options.no_refresh,
                 "With --apply, do not run update-initramfs / update-grub / proxmox-boot-tool "
                 "refresh afterwards; run them yourself before rebooting");
}

namespace {

// Why the follow-ups were not run, or "" when they were.
std::string_view not_run_reason(const host::Root& root, const WriterOptions& options) {
    if (!root.is_live()) {
        return "offline root";
    }
    return options.no_refresh ? "--no-refresh" : "";
}

} // namespace

std::optional<std::chrono::system_clock::time_point> journal_time() {
    const char* text = std::getenv("SOURCE_DATE_EPOCH"); // NOLINT(concurrency-mt-unsafe)
    if (text == nullptr || *text == '\0') {
        return std::nullopt;
    }
    char* end = nullptr;
    const long long seconds = std::strtoll(text, &end, 10);
    if (*end != '\0' || seconds < 0) {
        return std::nullopt;
    }
    return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
}

int run_plan(const Globals& globals,
             const host::Root& root,
             const edit::Plan& plan,
             const WriterOptions& options,
             const std::function<void(out::Json&)>& extend_json) {
    const auto style = text_style(globals);
    if (!options.apply || plan.empty()) {
        if (globals.json) {
            auto json = edit::to_json(plan);
            json["applied"] = false;
            json["journal"] = nullptr;
            if (extend_json) {
                extend_json(json);
            }
            print_json(json);
        } else {
            fmt::print("{}", edit::render_text(plan, style));
            if (!plan.empty()) {
                fmt::print("\ndry run: nothing was changed; run again with --apply to carry "
                           "this out\n");
            }
        }
        return to_int(ExitCode::ok);
    }

    if (!globals.json) {
        if (!style.quiet) {
            fmt::print("{}\n", edit::render_text(plan, style));
        }
        std::fflush(stdout);
    }
    const auto reason = not_run_reason(root, options);
    edit::ApplyOptions apply_options;
    apply_options.run_follow_ups = reason.empty();
    apply_options.check_links = root.is_live();
    apply_options.now = journal_time();
    apply_options.child_stdout_to_stderr = globals.json;
    apply_options.on_lock_wait = [&root] {
        fmt::print(stderr,
                   "pt: waiting for another pt to finish changing this host (lock {})...\n",
                   root.map(edit::k_lock_path).string());
    };
    apply_options.on_plan_lock_wait = [&root](const std::string& lock) {
        fmt::print(stderr,
                   "pt: waiting for qm or the Proxmox API to release {}...\n",
                   root.map(lock).string());
    };
    apply_options.on_follow_up = [&globals](const std::string& command) {
        if (!globals.json) {
            fmt::print("running: {}\n", command);
        }
        std::fflush(stdout);
    };
    const auto result = edit::apply(plan, root, apply_options);

    if (globals.json) {
        auto json = edit::to_json(plan, result, reason);
        if (extend_json) {
            extend_json(json);
        }
        print_json(json);
        return to_int(ExitCode::ok);
    }
    fmt::print("{}", edit::render_apply_result(plan, result, reason, root.prefix().string()));
    return to_int(ExitCode::ok);
}

} // namespace pt::cmd
