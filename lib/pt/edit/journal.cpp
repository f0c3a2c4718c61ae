// SPDX-License-Identifier: MIT
#include "pt/edit/journal.hpp"

#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/host/write.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <ctime>

namespace pt::edit {
namespace {

using Json = nlohmann::ordered_json;

constexpr int k_format = 1;

std::string copy_name(std::size_t index, std::string_view side) {
    return fmt::format("{}.{}", index, side);
}

std::string mode_text(unsigned mode) {
    return fmt::format("{:04o}", mode & 07777U);
}

Json copy_json(const std::optional<std::string>& content,
               std::size_t index,
               std::string_view side) {
    if (!content) {
        return nullptr;
    }
    return Json{{"copy", copy_name(index, side)},
                {"size", content->size()},
                {"fnv1a64", fnv1a64(*content)}};
}

Json manifest(const JournalEntry& entry) {
    Json files = Json::array();
    for (std::size_t i = 0; i < entry.files.size(); ++i) {
        const auto& file = entry.files[i];
        files.push_back(Json{
            {"path", file.path},
            {"action", to_string(file.action)},
            {"mode", mode_text(file.mode)},
            {"uid", file.uid},
            {"gid", file.gid},
            {"before", copy_json(file.before, i, "before")},
            {"after", copy_json(file.after, i, "after")},
        });
    }
    Json writes = Json::array();
    for (const auto& write : entry.writes) {
        writes.push_back(
            Json{{"path", write.path}, {"value", write.value}, {"reason", write.reason}});
    }
    const auto opt = [](const std::optional<std::string>& s) {
        return s ? Json(*s) : Json(nullptr);
    };
    return Json{
        {"format", k_format},
        {"id", entry.id},
        {"title", entry.title},
        {"time", entry.time},
        {"status", to_string(entry.status)},
        {"error", opt(entry.error)},
        {"undone_time", opt(entry.undone_time)},
        {"files", files},
        {"writes", writes},
        {"follow_ups", entry.follow_ups},
        {"reboot_needed", entry.reboot_needed},
    };
}

void write_manifest(const host::Root& root, const JournalEntry& entry) {
    // A title from the command line may hold bytes that are not UTF-8; replace them rather than
    // fail the apply over a label.
    const auto text = manifest(entry).dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
    host::replace_file(root,
                       host::join(entry_dir(entry.id), "manifest.json"),
                       text,
                       host::FileMeta{0644, ::geteuid(), ::getegid()});
}

EntryStatus parse_status(const std::string& text, const std::string& shown) {
    for (const auto status :
         {EntryStatus::applying, EntryStatus::applied, EntryStatus::failed, EntryStatus::undone}) {
        if (to_string(status) == text) {
            return status;
        }
    }
    throw Error(fmt::format("{}: unknown status {:?}", shown, text));
}

FileAction parse_action(const std::string& text, const std::string& shown) {
    for (const auto action : {FileAction::create, FileAction::modify, FileAction::remove}) {
        if (to_string(action) == text) {
            return action;
        }
    }
    throw Error(fmt::format("{}: unknown action {:?}", shown, text));
}

std::optional<std::string> load_copy(const host::Root& root,
                                     const std::string& dir,
                                     const Json& copy,
                                     const std::string& shown) {
    if (copy.is_null()) {
        return std::nullopt;
    }
    const auto name = copy.at("copy").get<std::string>();
    if (name.find('/') != std::string::npos || name.empty() || name[0] == '.') {
        throw Error(fmt::format("{}: bad copy name {:?}", shown, name));
    }
    const auto path = host::join(dir, name);
    auto content = host::read_if_exists(root, path);
    if (!content) {
        throw Error(fmt::format("journal copy {} is missing", root.map(path).string()));
    }
    if (content->size() != copy.at("size").get<std::size_t>()
        || fnv1a64(*content) != copy.at("fnv1a64").get<std::string>()) {
        throw Error(fmt::format("journal copy {} is damaged (its size or hash is not what the "
                                "manifest recorded)",
                                root.map(path).string()));
    }
    return content;
}

JournalEntry parse_entry(const host::Root& root, const std::string& dir, const std::string& text) {
    const auto shown = root.map(host::join(dir, "manifest.json")).string();
    try {
        const auto json = Json::parse(text);
        if (json.at("format").get<int>() != k_format) {
            throw Error(fmt::format(
                "{}: journal format {} is not known to this pt", shown, json.at("format").dump()));
        }
        JournalEntry entry;
        entry.id = json.at("id").get<std::string>();
        entry.title = json.at("title").get<std::string>();
        entry.time = json.at("time").get<std::string>();
        entry.status = parse_status(json.at("status").get<std::string>(), shown);
        if (!json.at("error").is_null()) {
            entry.error = json.at("error").get<std::string>();
        }
        if (!json.at("undone_time").is_null()) {
            entry.undone_time = json.at("undone_time").get<std::string>();
        }
        for (const auto& file : json.at("files")) {
            JournalFile f;
            f.path = file.at("path").get<std::string>();
            f.action = parse_action(file.at("action").get<std::string>(), shown);
            f.mode =
                static_cast<unsigned>(std::stoul(file.at("mode").get<std::string>(), nullptr, 8));
            f.uid = file.at("uid").get<uid_t>();
            f.gid = file.at("gid").get<gid_t>();
            f.before = load_copy(root, dir, file.at("before"), shown);
            f.after = load_copy(root, dir, file.at("after"), shown);
            entry.files.push_back(std::move(f));
        }
        for (const auto& write : json.at("writes")) {
            entry.writes.push_back({write.at("path").get<std::string>(),
                                    write.at("value").get<std::string>(),
                                    write.at("reason").get<std::string>()});
        }
        entry.follow_ups = json.at("follow_ups").get<std::vector<std::string>>();
        entry.reboot_needed = json.at("reboot_needed").get<bool>();
        return entry;
    } catch (const nlohmann::json::exception& e) {
        throw Error(fmt::format("journal manifest {} is damaged: {}", shown, e.what()));
    } catch (const std::logic_error& e) { // std::stoul
        throw Error(fmt::format("journal manifest {} is damaged: {}", shown, e.what()));
    }
}

} // namespace

std::string_view to_string(EntryStatus status) {
    switch (status) {
    case EntryStatus::applying:
        return "applying";
    case EntryStatus::applied:
        return "applied";
    case EntryStatus::failed:
        return "failed";
    case EntryStatus::undone:
        return "undone";
    }
    return {};
}

std::string fnv1a64(std::string_view data) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (const char c : data) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ULL;
    }
    return fmt::format("{:016x}", hash);
}

std::string utc_time(std::chrono::system_clock::time_point when) {
    const std::time_t t = std::chrono::system_clock::to_time_t(when);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                       tm.tm_year + 1900,
                       tm.tm_mon + 1,
                       tm.tm_mday,
                       tm.tm_hour,
                       tm.tm_min,
                       tm.tm_sec);
}

std::string entry_dir(std::string_view id) {
    return host::join(k_journal_dir, id);
}

JournalEntry create_entry(const host::Root& root,
                          const Plan& plan,
                          std::vector<JournalFile> files,
                          std::chrono::system_clock::time_point now) {
    JournalEntry entry;
    entry.title = plan.title;
    entry.time = utc_time(now);
    entry.files = std::move(files);
    for (const auto& write : plan.writes) {
        entry.writes.push_back({write.path, write.value, write.reason});
    }
    for (const auto follow_up : plan.follow_ups) {
        entry.follow_ups.emplace_back(command_line(follow_up));
    }
    entry.reboot_needed = plan.reboot_needed;

    host::make_dirs(root, k_journal_dir);
    std::string stamp = entry.time; // "2026-11-22T10:15:30Z" -> "20261122T101530Z"
    stamp.erase(
        std::remove_if(stamp.begin(), stamp.end(), [](char c) { return c == '-' || c == ':'; }),
        stamp.end());
    for (int counter = 1;; ++counter) {
        if (counter > 999) {
            throw Error(fmt::format("cannot create a journal entry in {}: too many entries for {}",
                                    root.map(k_journal_dir).string(),
                                    entry.time));
        }
        entry.id = fmt::format("{}-{:03}", stamp, counter);
        if (host::make_dir(root, entry_dir(entry.id))) {
            break;
        }
    }
    const auto dir = entry_dir(entry.id);
    const host::FileMeta copy_meta{0600, ::geteuid(), ::getegid()};
    for (std::size_t i = 0; i < entry.files.size(); ++i) {
        const auto& file = entry.files[i];
        if (file.before) {
            host::replace_file(
                root, host::join(dir, copy_name(i, "before")), *file.before, copy_meta);
        }
        if (file.after) {
            host::replace_file(
                root, host::join(dir, copy_name(i, "after")), *file.after, copy_meta);
        }
    }
    write_manifest(root, entry);
    return entry;
}

void update_entry(const host::Root& root, const JournalEntry& entry) {
    write_manifest(root, entry);
}

std::vector<JournalEntry> list_entries(const host::Root& root) {
    std::vector<JournalEntry> entries;
    for (const auto& name : root.list(k_journal_dir)) {
        if (name.empty() || name[0] == '.') {
            continue;
        }
        const auto dir = entry_dir(name);
        const auto text = host::read_if_exists(root, host::join(dir, "manifest.json"));
        if (!text) {
            continue; // died before its first change
        }
        entries.push_back(parse_entry(root, dir, *text));
    }
    std::sort(entries.begin(), entries.end(), [](const JournalEntry& a, const JournalEntry& b) {
        return a.id < b.id;
    });
    return entries;
}

} // namespace pt::edit
