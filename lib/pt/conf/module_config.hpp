// SPDX-License-Identifier: MIT
#pragma once

// The module configuration as modprobe sees it: every modprobe.d file that counts, in kmod's
// order, plus what the kernel command line adds. One model for every reader: verify's checks of
// the host (configured), of an initramfs image (staged) and of the running kernel, and the
// planners that must know whether pt's own file would win.

#include "pt/conf/modprobe.hpp"
#include "pt/kernel/cmdline.hpp"

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::conf {

// kmod's default_config_paths (libkmod/libkmod.c), in precedence order: a file in an earlier
// folder hides a file of the same name in a later one.
inline constexpr std::array<std::string_view, 5> k_modprobe_dirs = {
    "/etc/modprobe.d",
    "/run/modprobe.d",
    "/usr/local/lib/modprobe.d",
    "/usr/lib/modprobe.d",
    "/lib/modprobe.d",
};

// Where a setting comes from: a file and line, or the command line (line 0).
struct Source {
    std::string path; // "/etc/modprobe.d/vfio.conf", "/proc/cmdline", "/etc/default/grub"
    std::size_t line = 0;

    // "/etc/modprobe.d/vfio.conf:3", or the path alone for line 0.
    std::string describe() const;
};

// A file that kmod skips because a file of the same name in an earlier folder hides it.
struct HiddenFile {
    std::string path;
    std::string hidden_by;
};

// One candidate file: where it is and its text. `path` is a host path ("/etc/modprobe.d/x.conf")
// or, for an initramfs, "IMAGE:etc/modprobe.d/x.conf" with `dir` the folder it counts as.
struct ModprobeText {
    std::string dir;  // one of k_modprobe_dirs
    std::string name; // "x.conf"
    std::string path; // shown in evidence
    std::string text;
};

// One value of a module parameter, in the order modprobe passes them to the module.
struct OptionValue {
    std::string value; // the text after '=' ("" when the parameter has no '=')
    Source source;
};

struct ModuleConfig {
    std::vector<ModprobeFile> files; // the files that count, in the order kmod reads them
    std::vector<HiddenFile> hidden;
    std::vector<kernel::Param> cmdline; // the command line the configuration was computed with
    std::string cmdline_source;         // "/proc/cmdline", "/etc/default/grub", ...

    // Every value of MODULE.KEY: from `options` lines in file order, then from the command line
    // (kmod_config_new parses /proc/cmdline after the files, and the kernel applies a module's
    // parameters in order, kernel/params.c parse_args), so the last one is what the module gets.
    std::vector<OptionValue> option_values(std::string_view module, std::string_view key) const;

    // The value the module gets: the last of option_values; nullopt when none.
    std::optional<OptionValue> option(std::string_view module, std::string_view key) const;

    // `blacklist MODULE` in a file or modprobe.blacklist=MODULE on the command line: modprobe
    // does not load it for a device alias (udev), only when asked by name.
    std::optional<Source> blacklisted(std::string_view module) const;

    // module_blacklist=MODULE on the command line: the kernel refuses to load it at all
    // (kernel/module/main.c, module_blacklist).
    std::optional<Source> kernel_blacklisted(std::string_view module) const;

    // An `install MODULE /bin/false` (or true): the module never loads.
    std::optional<Source> install_disabled(std::string_view module) const;

    // The modules named after "pre:" in `softdep MODULE pre: ...` lines, with their line.
    std::vector<OptionValue> softdep_pre(std::string_view module) const;
};

// Chooses the files that count among `candidates` (any order): names ending in ".conf", not
// hidden (starting with '.'), sorted by name across folders, the earliest folder winning for a
// name (kmod's conf_files_list). Parses the chosen ones.
ModuleConfig compute_module_config(std::vector<ModprobeText> candidates,
                                   std::vector<kernel::Param> cmdline,
                                   std::string cmdline_source);

// The host's configuration under `root`: every folder of k_modprobe_dirs, with `cmdline` as the
// command line (the running one, /proc/cmdline, or the one the bootloader is configured with).
ModuleConfig read_module_config(const host::Root& root,
                                std::vector<kernel::Param> cmdline,
                                std::string cmdline_source);

// The same with some files about to change: `replaced` maps host paths of modprobe.d files to
// the text a plan gives them (a new file is added to its folder). Planners predict with it.
ModuleConfig read_module_config(const host::Root& root,
                                std::vector<kernel::Param> cmdline,
                                std::string cmdline_source,
                                const std::map<std::string, std::string>& replaced);

} // namespace pt::conf
