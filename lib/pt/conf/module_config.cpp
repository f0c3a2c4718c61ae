// SPDX-License-Identifier: MIT
#include "pt/conf/module_config.hpp"

#include "pt/host/root.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace pt::conf {
namespace {

// "vfio-pci.ids" -> {"vfio_pci", "ids"}; nullopt for a parameter without a module part.
std::optional<std::pair<std::string, std::string>> module_param(std::string_view name) {
    const auto dot = name.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) {
        return std::nullopt;
    }
    return std::pair{normalise_module(name.substr(0, dot)), std::string(name.substr(dot + 1))};
}

// Every comma-separated item of the command line's NAME= values (modprobe.blacklist=a,b).
bool cmdline_lists(const std::vector<kernel::Param>& cmdline,
                   std::string_view name,
                   std::string_view module) {
    const std::string wanted = normalise_module(module);
    for (const auto& p : cmdline) {
        if (!kernel::same_param_name(p.name, name) || !p.value) {
            continue;
        }
        std::string_view rest = *p.value;
        while (!rest.empty()) {
            const auto comma = std::min(rest.find(','), rest.size());
            if (normalise_module(rest.substr(0, comma)) == wanted) {
                return true;
            }
            rest.remove_prefix(std::min(comma + 1, rest.size()));
        }
    }
    return false;
}

template <typename Fn>
void each_command(const ModuleConfig& config,
                  std::string_view verb,
                  std::string_view module,
                  Fn&& fn) {
    const std::string wanted = normalise_module(module);
    for (const auto& file : config.files) {
        for (const auto& command : file.commands) {
            if (command.verb == verb && command.module == wanted) {
                fn(file, command);
            }
        }
    }
}

} // namespace

std::string Source::describe() const {
    return line == 0 ? path : fmt::format("{}:{}", path, line);
}

std::vector<OptionValue> ModuleConfig::option_values(std::string_view module,
                                                     std::string_view key) const {
    std::vector<OptionValue> values;
    each_command(*this, "options", module, [&](const ModprobeFile& file, const ModprobeCommand& c) {
        for (const auto& param : split_module_params(c.rest)) {
            const auto eq = param.find('=');
            if (same_module_param(std::string_view(param).substr(0, eq), key)) {
                values.push_back({eq == std::string::npos ? std::string() : param.substr(eq + 1),
                                  {file.path, c.line}});
            }
        }
    });
    const std::string wanted = normalise_module(module);
    for (const auto& p : cmdline) {
        const auto split = module_param(p.name);
        if (split && split->first == wanted && same_module_param(split->second, key)) {
            values.push_back({p.value.value_or(""), {cmdline_source, 0}});
        }
    }
    return values;
}

std::optional<OptionValue> ModuleConfig::option(std::string_view module,
                                                std::string_view key) const {
    auto values = option_values(module, key);
    if (values.empty()) {
        return std::nullopt;
    }
    return std::move(values.back());
}

std::optional<Source> ModuleConfig::blacklisted(std::string_view module) const {
    std::optional<Source> found;
    each_command(
        *this, "blacklist", module, [&](const ModprobeFile& file, const ModprobeCommand& c) {
            if (!found) {
                found = Source{file.path, c.line};
            }
        });
    if (!found && cmdline_lists(cmdline, "modprobe.blacklist", module)) {
        found = Source{cmdline_source, 0};
    }
    return found;
}

std::optional<Source> ModuleConfig::kernel_blacklisted(std::string_view module) const {
    if (cmdline_lists(cmdline, "module_blacklist", module)) {
        return Source{cmdline_source, 0};
    }
    return std::nullopt;
}

std::optional<Source> ModuleConfig::install_disabled(std::string_view module) const {
    std::optional<Source> found;
    for (const auto& file : files) {
        if (!found && is_install_disabled({file}, module)) {
            for (const auto& c : file.commands) {
                if (c.verb == "install" && c.module == normalise_module(module)) {
                    found = Source{file.path, c.line};
                    break;
                }
            }
        }
    }
    return found;
}

std::vector<OptionValue> ModuleConfig::softdep_pre(std::string_view module) const {
    std::vector<OptionValue> out;
    for (const auto& file : files) {
        for (const auto& c : file.commands) {
            if (c.verb != "softdep" || c.module != normalise_module(module)) {
                continue;
            }
            const ModprobeFile one{file.path, {c}};
            for (auto& name : conf::softdep_pre({one}, module)) {
                out.push_back({std::move(name), {file.path, c.line}});
            }
        }
    }
    return out;
}

ModuleConfig compute_module_config(std::vector<ModprobeText> candidates,
                                   std::vector<kernel::Param> cmdline,
                                   std::string cmdline_source) {
    const auto rank = [](std::string_view dir) {
        return std::find(k_modprobe_dirs.begin(), k_modprobe_dirs.end(), dir)
               - k_modprobe_dirs.begin();
    };
    std::stable_sort(candidates.begin(), candidates.end(), [&](const auto& a, const auto& b) {
        return a.name != b.name ? a.name < b.name : rank(a.dir) < rank(b.dir);
    });
    ModuleConfig config;
    const ModprobeText* winner = nullptr;
    for (const auto& c : candidates) {
        if (c.name.empty() || c.name.front() == '.' || !c.name.ends_with(".conf")
            || c.name.size() <= 5) {
            continue;
        }
        if (winner != nullptr && winner->name == c.name) {
            config.hidden.push_back({c.path, winner->path});
            continue;
        }
        winner = &c;
        config.files.push_back({c.path, parse_modprobe(c.text)});
    }
    config.cmdline = std::move(cmdline);
    config.cmdline_source = std::move(cmdline_source);
    return config;
}

ModuleConfig read_module_config(const host::Root& root,
                                std::vector<kernel::Param> cmdline,
                                std::string cmdline_source) {
    return read_module_config(root, std::move(cmdline), std::move(cmdline_source), {});
}

ModuleConfig read_module_config(const host::Root& root,
                                std::vector<kernel::Param> cmdline,
                                std::string cmdline_source,
                                const std::map<std::string, std::string>& replaced) {
    std::vector<ModprobeText> candidates;
    std::map<std::string, bool> seen_real_dir; // /lib -> usr/lib on merged-/usr: read once
    for (const auto dir : k_modprobe_dirs) {
        const auto real = root.resolve(dir);
        if (!real || seen_real_dir[*real]) {
            continue;
        }
        seen_real_dir[*real] = true;
        for (const auto& name : root.list(dir)) {
            if (name.front() == '.' || !name.ends_with(".conf")) {
                continue;
            }
            const std::string path = host::join(dir, name);
            // A link to /dev/null masks a same-named file in a later folder; it reads as empty.
            if (root.link_target(path) == std::optional<std::string>("/dev/null")) {
                candidates.push_back({std::string(dir), name, path, {}});
                continue;
            }
            if (root.open_dir(path) || !root.exists(path)) {
                continue; // a directory or a dangling link, which kmod cannot read either
            }
            if (replaced.count(path) != 0) {
                continue; // comes below, with the text it is about to get
            }
            std::string text = root.read_file(path);
            candidates.push_back({std::string(dir), name, path, std::move(text)});
        }
    }
    for (const auto& [path, text] : replaced) {
        const auto slash = path.rfind('/');
        candidates.push_back({path.substr(0, slash), path.substr(slash + 1), path, text});
    }
    return compute_module_config(
        std::move(candidates), std::move(cmdline), std::move(cmdline_source));
}

} // namespace pt::conf
