// SPDX-License-Identifier: MIT
#include "pt/conf/modules_file.hpp"

#include "pt/conf/modprobe.hpp"
#include "pt/host/root.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace pt::conf {
namespace {

constexpr std::string_view k_blank = " \t\r\n\f\v";

// The module a line names, or empty for blank and comment lines. initramfs-tools reads
// `while read -r m args` and skips lines starting with '#'; systemd-modules-load skips lines
// starting with '#' or ';' after stripping blanks (modules-load.d(5)). No module name starts
// with ';', so treating it as a comment everywhere changes nothing for the other files.
std::string module_of(std::string_view line) {
    const auto first = line.find_first_not_of(k_blank);
    if (first == std::string_view::npos || line[first] == '#' || line[first] == ';') {
        return {};
    }
    line.remove_prefix(first);
    const auto end = std::min(line.find_first_of(k_blank), line.size());
    return normalise_module(line.substr(0, end));
}

// The lines of `text`, each with its newline (the last one may lack it).
std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto nl = text.find('\n', pos);
        const auto end = nl == std::string_view::npos ? text.size() : nl + 1;
        lines.push_back(text.substr(pos, end - pos));
        pos = end;
    }
    return lines;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

} // namespace

std::vector<std::string> parse_modules(std::string_view text) {
    std::vector<std::string> modules;
    for (const auto line : split_lines(text)) {
        std::string name = module_of(line);
        if (!name.empty()) {
            modules.push_back(std::move(name));
        }
    }
    return modules;
}

std::string with_modules(std::string_view text,
                         const std::vector<std::string>& add,
                         const std::vector<std::string>& remove) {
    std::vector<std::string> removed;
    removed.reserve(remove.size());
    for (const auto& name : remove) {
        removed.push_back(normalise_module(name));
    }

    std::string out;
    out.reserve(text.size());
    std::vector<std::string> listed;
    for (const auto line : split_lines(text)) {
        const std::string name = module_of(line);
        if (!name.empty() && contains(removed, name)) {
            continue;
        }
        if (!name.empty()) {
            listed.push_back(name);
        }
        out.append(line);
    }
    const bool had_newline = text.empty() || text.back() == '\n';
    if (!had_newline && !out.empty() && out.back() == '\n') {
        // The last line went and the one before it now ends the file: keep the file's
        // no-final-newline state.
        out.pop_back();
    }

    for (const auto& module : add) {
        const std::string name = normalise_module(module);
        if (name.empty() || contains(listed, name)) {
            continue;
        }
        if (!out.empty() && out.back() != '\n') {
            out.push_back('\n');
        }
        out.append(module);
        out.push_back('\n');
        listed.push_back(name);
    }
    return out;
}

std::vector<ModuleList> read_module_lists(const host::Root& root) {
    std::map<std::string, std::string> chosen; // file name -> host path, earliest folder wins
    for (const auto dir : k_modules_load_dirs) {
        for (const auto& name : root.list(dir)) {
            if (name.front() != '.' && name.ends_with(".conf") && !chosen.contains(name)) {
                chosen.emplace(name, host::join(dir, name));
            }
        }
    }
    std::vector<std::string> paths;
    for (const auto& [name, path] : chosen) {
        paths.push_back(path);
    }
    paths.emplace_back("/etc/modules");
    paths.emplace_back("/etc/initramfs-tools/modules");

    std::vector<ModuleList> lists;
    std::set<std::string> seen; // resolved paths: modules.conf -> ../modules is read once
    for (const auto& path : paths) {
        const auto resolved = root.resolve(path);
        if (!resolved || seen.contains(*resolved) || root.open_dir(path)) {
            continue;
        }
        seen.insert(*resolved);
        const auto text = root.read_file_if_exists(path);
        if (!text) {
            continue;
        }
        // Show /etc/modules when a modules-load.d link leads to it: that is the file to edit.
        const std::string shown = *resolved == "/etc/modules" ? "/etc/modules" : path;
        lists.push_back({shown, parse_modules(*text), path == "/etc/initramfs-tools/modules"});
    }
    return lists;
}

} // namespace pt::conf
