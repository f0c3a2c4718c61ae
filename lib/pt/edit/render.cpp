// SPDX-License-Identifier: MIT
#include "pt/edit/render.hpp"

#include "pt/edit/apply.hpp"
#include "pt/edit/diff.hpp"
#include "pt/edit/journal.hpp"
#include "pt/edit/plan.hpp"
#include "pt/out/text.hpp"

#include <fmt/format.h>

#include <string_view>

namespace pt::edit {
namespace {

constexpr std::string_view k_red = "\033[31m";
constexpr std::string_view k_green = "\033[32m";
constexpr std::string_view k_cyan = "\033[36m";
constexpr std::string_view k_bold = "\033[1m";
constexpr std::string_view k_reset = "\033[0m";

// Colours a diff line by line; the text itself is unchanged.
std::string colour_diff(std::string_view diff) {
    std::string out;
    std::size_t pos = 0;
    while (pos < diff.size()) {
        const auto nl = diff.find('\n', pos);
        const auto end = nl == std::string_view::npos ? diff.size() : nl;
        const auto line = diff.substr(pos, end - pos);
        std::string_view colour;
        if (line.rfind("---", 0) == 0 || line.rfind("+++", 0) == 0) {
            colour = k_bold;
        } else if (line.rfind("@@", 0) == 0) {
            colour = k_cyan;
        } else if (line.rfind('-', 0) == 0) {
            colour = k_red;
        } else if (line.rfind('+', 0) == 0) {
            colour = k_green;
        }
        if (colour.empty()) {
            out += line;
        } else {
            out += fmt::format("{}{}{}", colour, line, k_reset);
        }
        out += '\n';
        pos = end + 1;
    }
    return out;
}

std::string mode_text(unsigned mode) {
    return fmt::format("{:04o}", mode & 07777U);
}

} // namespace

std::string quote_value(std::string_view value) {
    return fmt::format("{:?}", value);
}

std::string render_text(const Plan& plan, const out::TextStyle& style) {
    std::string out;
    const auto add_notes = [&] {
        if (style.quiet || plan.notes.empty()) {
            return;
        }
        if (!out.empty()) {
            out += '\n';
        }
        for (const auto& note : plan.notes) {
            out += fmt::format("note: {}\n", note);
        }
    };
    if (plan.empty()) {
        out += "nothing to do\n";
        add_notes();
        return out;
    }
    for (const auto& file : plan.files) {
        if (!out.empty()) {
            out += '\n';
        }
        out += fmt::format("# {} {}", to_string(action_of(file)), file.path);
        if (action_of(file) == FileAction::create) {
            out += fmt::format(" (mode {})", mode_text(file.mode));
        }
        if (!file.reason.empty()) {
            out += fmt::format(": {}", file.reason);
        }
        out += '\n';
        const auto diff = unified_diff(file.path, file.before, file.after);
        out += style.color ? colour_diff(diff) : diff;
    }
    if (!plan.writes.empty()) {
        if (!out.empty()) {
            out += '\n';
        }
        for (const auto& write : plan.writes) {
            out += fmt::format("write {} > {}", quote_value(write.value), write.path);
            if (!write.reason.empty()) {
                out += fmt::format("   # {}", write.reason);
            }
            out += '\n';
        }
    }
    add_notes();
    if (!plan.follow_ups.empty()) {
        out += '\n';
        for (const auto follow_up : plan.follow_ups) {
            out += fmt::format("then run: {}\n", command_line(follow_up));
        }
    }
    if (plan.reboot_needed) {
        out += plan.follow_ups.empty() ? "\n" : "";
        out += "a reboot is needed for this to take effect\n";
    }
    return out;
}

nlohmann::ordered_json to_json(const Plan& plan) {
    using Json = nlohmann::ordered_json;
    Json files = Json::array();
    for (const auto& file : plan.files) {
        const auto action = action_of(file);
        files.push_back(Json{
            {"path", file.path},
            {"action", to_string(action)},
            {"mode", action == FileAction::create ? Json(mode_text(file.mode)) : Json(nullptr)},
            {"reason", file.reason},
            {"diff", unified_diff(file.path, file.before, file.after)},
        });
    }
    Json writes = Json::array();
    for (const auto& write : plan.writes) {
        Json link = nullptr;
        if (write.expect_link) {
            link = Json{{"path", write.expect_link->first}, {"name", write.expect_link->second}};
        }
        writes.push_back(Json{
            {"path", write.path},
            {"value", write.value},
            {"reason", write.reason},
            {"expect_link", link},
        });
    }
    Json follow_ups = Json::array();
    for (const auto follow_up : plan.follow_ups) {
        follow_ups.push_back(command_line(follow_up));
    }
    return Json{
        {"title", plan.title},
        {"changes", !plan.empty()},
        {"files", files},
        {"writes", writes},
        {"follow_ups", follow_ups},
        {"notes", plan.notes},
        {"reboot_needed", plan.reboot_needed},
    };
}

namespace {

std::string_view done_word(FileAction action) {
    switch (action) {
    case FileAction::create:
        return "created";
    case FileAction::modify:
        return "wrote";
    case FileAction::remove:
        return "removed";
    }
    return {};
}

// [{"command", "ran", "exit_status", "not_run_reason"}] of an apply's or an undo's follow-ups.
nlohmann::ordered_json follow_up_results(const std::vector<FollowUpRun>& runs,
                                         std::string_view not_run_reason) {
    auto out = nlohmann::ordered_json::array();
    for (const auto& run : runs) {
        out.push_back(nlohmann::ordered_json{
            {"command", run.command},
            {"ran", run.ran},
            {"exit_status",
             run.ran ? nlohmann::ordered_json(run.exit_status) : nlohmann::ordered_json(nullptr)},
            {"not_run_reason",
             run.ran ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(not_run_reason)},
        });
    }
    return out;
}

} // namespace

std::string render_apply_result(const Plan& plan,
                                const ApplyResult& result,
                                std::string_view not_run_reason,
                                std::string_view root_prefix) {
    std::string out;
    for (const auto& note : result.notes) {
        out += fmt::format("recovered: {}\n", note);
    }
    for (std::size_t i = 0; i < result.files_written; ++i) {
        const auto& file = plan.files[i];
        out += fmt::format("{} {}\n", done_word(action_of(file)), file.path);
    }
    for (std::size_t i = 0; i < result.writes_done; ++i) {
        const auto& write = plan.writes[i];
        out += fmt::format("wrote {} > {}\n", quote_value(write.value), write.path);
    }
    if (result.journal_id) {
        out += fmt::format("journal: {}{}\n",
                           *result.journal_id,
                           plan.files.empty() ? "" : " (pt undo restores the files)");
    }
    for (const auto& run : result.follow_ups) {
        if (run.ran) {
            out += fmt::format("ran: {} (exit status {})\n", run.command, run.exit_status);
        }
    }
    if (!result.follow_ups.empty() && !not_run_reason.empty()) {
        if (not_run_reason == "--no-refresh") {
            out += "not run (--no-refresh); run these yourself before rebooting:\n";
        } else {
            out += fmt::format("not run under --root {}; on that host, run:\n", root_prefix);
        }
        for (const auto& run : result.follow_ups) {
            out += fmt::format("run: {}\n", run.command);
        }
    }
    out += plan.reboot_needed ? "reboot needed: the change takes effect at the next boot\n"
                              : "no reboot needed\n";
    return out;
}

nlohmann::ordered_json
to_json(const Plan& plan, const ApplyResult& result, std::string_view not_run_reason) {
    auto json = to_json(plan);
    json["applied"] = true;
    json["journal"] = result.journal_id ? nlohmann::ordered_json(*result.journal_id)
                                        : nlohmann::ordered_json(nullptr);
    json["follow_up_results"] = follow_up_results(result.follow_ups, not_run_reason);
    json["recovered"] = result.notes;
    return json;
}

nlohmann::ordered_json to_json(const JournalEntry& entry) {
    using Json = nlohmann::ordered_json;
    auto files = Json::array();
    for (const auto& file : entry.files) {
        files.push_back(Json{{"path", file.path}, {"action", to_string(file.action)}});
    }
    auto writes = Json::array();
    for (const auto& write : entry.writes) {
        writes.push_back(
            Json{{"path", write.path}, {"value", write.value}, {"reason", write.reason}});
    }
    const auto opt = [](const std::optional<std::string>& s) {
        return s ? Json(*s) : Json(nullptr);
    };
    return Json{
        {"id", entry.id},
        {"time", entry.time},
        {"title", entry.title},
        {"status", to_string(entry.status)},
        {"undone", entry.status == EntryStatus::undone},
        {"undone_time", opt(entry.undone_time)},
        {"error", opt(entry.error)},
        {"files", files},
        {"writes", writes},
        {"follow_ups", entry.follow_ups},
        {"reboot_needed", entry.reboot_needed},
    };
}

std::string
render_journal(const std::vector<JournalEntry>& entries, std::string_view journal_dir, bool quiet) {
    if (entries.empty()) {
        return fmt::format("the journal is empty ({})\n", journal_dir);
    }
    std::string out;
    for (const auto& entry : entries) {
        std::string status(to_string(entry.status));
        if (entry.undone_time) {
            status += fmt::format(" {}", *entry.undone_time);
        }
        out += fmt::format("{}  {}  {}  {}\n", entry.id, entry.time, status, entry.title);
        for (const auto& file : entry.files) {
            out += fmt::format("    {} {}\n", to_string(file.action), file.path);
        }
        for (const auto& write : entry.writes) {
            out += fmt::format("    write {} > {}\n", quote_value(write.value), write.path);
        }
        if (entry.error && !quiet) {
            out += fmt::format("    error: {}\n", *entry.error);
        }
    }
    return out;
}

std::string render_undo_result(const UndoResult& result,
                               std::string_view not_run_reason,
                               std::string_view root_prefix) {
    const auto& entry = result.entry;
    std::string out;
    for (const auto& note : result.notes) {
        out += fmt::format("recovered: {}\n", note);
    }
    out += fmt::format("undid {} ({}): {}\n", entry.id, entry.time, entry.title);
    for (const auto& file : result.files) {
        out += fmt::format("{} {}{}\n",
                           file.what,
                           file.path,
                           file.what == "unchanged" ? " (already as before)" : "");
    }
    if (!entry.writes.empty()) {
        out += "\nsysfs writes are not undone from the journal (use pt unbind to give a device "
               "back to its driver); this entry did:\n";
        for (const auto& write : entry.writes) {
            out += fmt::format("    write {} > {}\n", quote_value(write.value), write.path);
        }
    }
    if (result.follow_ups.empty()) {
        return out;
    }
    out += "\n";
    for (const auto& run : result.follow_ups) {
        if (run.ran) {
            out += fmt::format("ran: {} (exit status {})\n", run.command, run.exit_status);
        }
    }
    if (!not_run_reason.empty()) {
        if (not_run_reason == "--no-refresh") {
            out += "not run (--no-refresh); the restored files take effect after these "
                   "commands, run them yourself:\n";
        } else {
            out += fmt::format("not run under --root {}; the restored files take effect after "
                               "these commands; on that host, run:\n",
                               root_prefix);
        }
        for (const auto& run : result.follow_ups) {
            out += fmt::format("run: {}\n", run.command);
        }
    }
    if (entry.reboot_needed) {
        out += "reboot needed: the restored files take effect at the next boot\n";
    }
    return out;
}

nlohmann::ordered_json to_json(const UndoResult& result, std::string_view not_run_reason) {
    auto files = nlohmann::ordered_json::array();
    for (const auto& file : result.files) {
        files.push_back(nlohmann::ordered_json{{"path", file.path}, {"result", file.what}});
    }
    auto json = to_json(result.entry);
    json["files"] = files;
    json["writes_not_undone"] = json["writes"];
    json.erase("writes");
    return nlohmann::ordered_json{
        {"undone", json},
        {"recovered", result.notes},
        {"follow_up_results", follow_up_results(result.follow_ups, not_run_reason)}};
}

} // namespace pt::edit
