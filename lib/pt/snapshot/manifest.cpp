// SPDX-License-Identifier: MIT
#include "pt/snapshot/manifest.hpp"

#include "pt/version.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <ctime>

namespace pt::snapshot {
namespace {

constexpr std::array<std::string_view, 7> k_never = {
    "/etc/pve/priv (keys, tokens, the cluster authkey), /etc/ssh, /root, /home, password "
    "files and *.key and *.pem files, even where a link leads there",
    "the targets of links that lead out of the configuration, VM config and pid-file folders",
    "secret VM config values and VM notes (replaced by a marker, line for line)",
    "PCI ROM contents (only presence); /usr/share/kvm files other than those a VM's romfile= "
    "names",
    "initrd and kernel image contents (empty files with the real mtime)",
    "/proc/cpuinfo beyond the first CPU's vendor, model and flags",
    "kernel log lines that are not about the IOMMU, vfio, BAR/ROM, KVM or the boot framebuffer",
};

std::string iso_time(std::int64_t seconds) {
    const auto t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::array<char, 32> buf{};
    const auto n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return {buf.data(), n};
}

std::string human_size(std::size_t bytes) {
    if (bytes < 1024) {
        return fmt::format("{} bytes", bytes);
    }
    if (bytes < 1024 * 1024) {
        return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024.0);
    }
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

} // namespace

out::Json manifest(const Snapshot& snap) {
    out::Json json;
    json["format"] = 1;
    json["pt_version"] = k_version;
    json["created"] = iso_time(snap.created);
    json["source_root"] = snap.source_root;
    json["live"] = snap.live;
    std::size_t files = 0;
    std::size_t links = 0;
    std::size_t folders = 0;
    for (const auto& entry : snap.entries) {
        switch (entry.type) {
        case Entry::Type::file:
            ++files;
            break;
        case Entry::Type::symlink:
            ++links;
            break;
        case Entry::Type::directory:
            ++folders;
            break;
        }
    }
    json["counts"] = {{"files", files}, {"links", links}, {"folders", folders}};
    json["kernel_log_lines"] = snap.kernel_log_lines;
    json["collected"] = out::Json::array();
    for (const auto& cat : snap.collected) {
        json["collected"].push_back({{"what", cat.name},
                                     {"detail", cat.detail},
                                     {"count", cat.paths.size()},
                                     {"paths", cat.paths}});
    }
    json["redacted"] = out::Json::array();
    for (const auto& r : snap.redacted) {
        json["redacted"].push_back({{"path", r.path}, {"line", r.line}, {"key", r.key}});
    }
    json["missing"] = out::Json::array();
    for (const auto& m : snap.missing) {
        json["missing"].push_back({{"path", m.path}, {"reason", m.reason}});
    }
    json["refused"] = out::Json::array();
    for (const auto& r : snap.refused) {
        json["refused"].push_back({{"path", r.path}, {"reason", r.reason}});
    }
    json["never_collected"] = k_never;
    return json;
}

std::string archive(const Snapshot& snap, std::size_t& members) {
    std::vector<Entry> entries = snap.entries;
    Entry file;
    file.path = k_manifest_path;
    file.content = manifest(snap).dump(2) + "\n";
    file.mtime = snap.created;
    // Keep bytewise order: the manifest sorts after "dmesg" in its folder, and the folder itself
    // exists already when a kernel log was taken.
    const auto pos =
        std::upper_bound(entries.begin(), entries.end(), file, [](const Entry& a, const Entry& b) {
            return a.path < b.path;
        });
    entries.insert(pos, std::move(file));
    // Folders the manifest needs that no other entry made.
    std::vector<Entry> dirs;
    std::string dir = k_snapshot_dir;
    while (dir.size() > 1) {
        const bool present = std::any_of(
            entries.begin(), entries.end(), [&](const Entry& e) { return e.path == dir; });
        if (!present) {
            Entry d;
            d.path = dir;
            d.type = Entry::Type::directory;
            d.mode = 0755;
            d.mtime = snap.created;
            dirs.push_back(std::move(d));
        }
        dir = dir.substr(0, dir.rfind('/'));
    }
    for (auto& d : dirs) {
        const auto at =
            std::upper_bound(entries.begin(), entries.end(), d, [](const Entry& a, const Entry& b) {
                return a.path < b.path;
            });
        entries.insert(at, std::move(d));
    }
    members = entries.size();
    return tar_gz(entries);
}

std::string summary(const Snapshot& snap,
                    const std::string& output,
                    std::size_t bytes,
                    std::size_t members,
                    bool quiet) {
    std::string text = fmt::format("wrote {}: {} members, {}, from {}{}\n",
                                   output,
                                   members,
                                   human_size(bytes),
                                   snap.source_root,
                                   snap.live ? " (the live host)" : "");
    if (quiet) {
        return text;
    }
    text += "collected:\n";
    for (const auto& cat : snap.collected) {
        // The kernel log is one file; what counts is how many lines it kept.
        const std::size_t count =
            cat.name == "kernel log" ? snap.kernel_log_lines : cat.paths.size();
        text += fmt::format("  {:<28} {:>4}  {}\n", cat.name, count, cat.detail);
    }
    if (!snap.redacted.empty()) {
        text += fmt::format("redacted ({}):\n", snap.redacted.size());
        for (const auto& r : snap.redacted) {
            text += fmt::format("  {} line {}: {}\n",
                                r.path,
                                r.line,
                                r.key == "#" ? "a comment (VM notes)" : r.key);
        }
    }
    if (!snap.missing.empty()) {
        text += fmt::format("not collected ({}):\n", snap.missing.size());
        for (const auto& m : snap.missing) {
            text += fmt::format("  {}: {}\n", m.path, m.reason);
        }
    }
    if (!snap.refused.empty()) {
        text += fmt::format("refused ({}):\n", snap.refused.size());
        for (const auto& r : snap.refused) {
            text += fmt::format("  {}: {}\n", r.path, r.reason);
        }
    }
    text += "never collected: /etc/pve/priv, keys and passwords; VM notes; ROM and initrd "
            "contents; CPUs after the first; unrelated kernel log lines\n";
    text += fmt::format("use it offline: mkdir DIR && tar xzf {} -C DIR && pt --root DIR verify\n",
                        output);
    return text;
}

} // namespace pt::snapshot
