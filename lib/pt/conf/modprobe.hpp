// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::conf {

// modprobe.d(5) as kmod reads it: one command per line, '#' starts a comment, a trailing '\'
// continues the line, and '-' and '_' are the same in module names.

// One command, continuation lines joined.
struct ModprobeCommand {
    std::size_t line = 0; // 1-based line where the command starts
    std::string verb;     // "blacklist", "options", "softdep", "install", "remove", "alias", ...
    std::string module;   // normalised ('-' -> '_'); for alias: the alias pattern
    std::string rest;     // everything after the module name, whitespace-trimmed
};

struct ModprobeFile {
    std::string path; // host path, e.g. "/etc/modprobe.d/vfio.conf"
    std::vector<ModprobeCommand> commands;
};

// "nvidia-drm" -> "nvidia_drm".
std::string normalise_module(std::string_view name);

// Kernel module parameter names treat '-' and '_' alike (kernel/params.c, parameq()).
bool same_module_param(std::string_view a, std::string_view b);

// The parameters of an options line as the kernel splits them (kernel/params.c, next_arg()):
// whitespace separates, double quotes group and are dropped.
std::vector<std::string> split_module_params(std::string_view text);

// Parses one file's text. Lines that are not commands (blank, comments) are skipped.
std::vector<ModprobeCommand> parse_modprobe(std::string_view text);

// Every *.conf that counts under the folders of k_modprobe_dirs (module_config.hpp), in the
// order kmod applies them: sorted by file name across the folders, and for one name only the
// first folder's file counts.
std::vector<ModprobeFile> read_modprobe_d(const host::Root& root);

// A `blacklist MODULE` line in any file.
bool is_blacklisted(const std::vector<ModprobeFile>& files, std::string_view module);

// An `install MODULE /bin/false` (or /bin/true) line in any file: the module never loads.
bool is_install_disabled(const std::vector<ModprobeFile>& files, std::string_view module);

// The modules named after "pre:" in `softdep MODULE pre: ...` lines, in order.
std::vector<std::string> softdep_pre(const std::vector<ModprobeFile>& files,
                                     std::string_view module);

// The value of KEY in the last `options MODULE ... KEY=VALUE ...` line, or nullopt.
std::optional<std::string> module_option(const std::vector<ModprobeFile>& files,
                                         std::string_view module,
                                         std::string_view key);

} // namespace pt::conf
