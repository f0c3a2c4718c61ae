// SPDX-License-Identifier: MIT
#include "pt/conf/modprobe.hpp"

#include "pt/conf/module_config.hpp"
#include "pt/host/root.hpp"

#include <algorithm>
#include <array>
#include <map>

namespace pt::conf {
namespace {

constexpr std::string_view k_blank = " \t\r\f\v";

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(k_blank);
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(k_blank);
    return text.substr(first, last - first + 1);
}

// Splits off the first whitespace-separated token of `text`; `text` keeps the rest.
std::string_view next_token(std::string_view& text) {
    const auto first = text.find_first_not_of(k_blank);
    if (first == std::string_view::npos) {
        text = {};
        return {};
    }
    text.remove_prefix(first);
    const auto end = std::min(text.find_first_of(k_blank), text.size());
    const std::string_view token = text.substr(0, end);
    text.remove_prefix(end);
    return token;
}

} // namespace

bool same_module_param(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        const char x = a[i] == '-' ? '_' : a[i];
        const char y = b[i] == '-' ? '_' : b[i];
        if (x != y) {
            return false;
        }
    }
    return true;
}

std::vector<std::string> split_module_params(std::string_view text) {
    std::vector<std::string> params;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && k_blank.find(text[i]) != std::string_view::npos) {
            ++i;
        }
        if (i >= text.size()) {
            break;
        }
        std::string param;
        bool quoted = false;
        for (; i < text.size(); ++i) {
            const char c = text[i];
            if (c == '"') {
                quoted = !quoted;
                continue;
            }
            if (!quoted && k_blank.find(c) != std::string_view::npos) {
                break;
            }
            param.push_back(c);
        }
        params.push_back(std::move(param));
    }
    return params;
}

namespace {

template <typename Fn>
void for_each_command(const std::vector<ModprobeFile>& files,
                      std::string_view verb,
                      std::string_view module,
                      Fn&& fn) {
    const std::string wanted = normalise_module(module);
    for (const auto& file : files) {
        for (const auto& command : file.commands) {
            if (command.verb == verb && command.module == wanted) {
                fn(command);
            }
        }
    }
}

} // namespace

std::string normalise_module(std::string_view name) {
    // kmod's underscores() (libkmod-config.c): '-' becomes '_' except inside a [...] character
    // class of an alias pattern.
    std::string out(name);
    bool in_class = false;
    for (auto& c : out) {
        if (c == '[') {
            in_class = true;
        } else if (c == ']') {
            in_class = false;
        } else if (c == '-' && !in_class) {
            c = '_';
        }
    }
    return out;
}

std::vector<ModprobeCommand> parse_modprobe(std::string_view text) {
    std::vector<ModprobeCommand> commands;
    std::size_t line_number = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        // One logical line: kmod's freadline_wrapped() (libkmod-util.c) drops a '\' that ends a
        // physical line together with the newline and reads on.
        const std::size_t start_line = line_number + 1;
        std::string logical;
        while (pos < text.size()) {
            const auto nl = text.find('\n', pos);
            const auto end = nl == std::string_view::npos ? text.size() : nl;
            std::string_view physical = text.substr(pos, end - pos);
            pos = nl == std::string_view::npos ? text.size() : nl + 1;
            ++line_number;
            if (nl != std::string_view::npos && !physical.empty() && physical.back() == '\\') {
                physical.remove_suffix(1);
                logical.append(physical);
                continue;
            }
            logical.append(physical);
            break;
        }
        // kmod skips empty lines and lines starting with '#'; a '#' after leading blanks makes
        // an unknown command that kmod ignores ("Ignoring bad line"), so either way no command.
        std::string_view rest = logical;
        const std::string_view verb = next_token(rest);
        if (verb.empty() || verb.front() == '#') {
            continue;
        }
        const std::string_view module = next_token(rest);
        ModprobeCommand command;
        command.line = start_line;
        command.verb = std::string(verb);
        command.module = normalise_module(module);
        command.rest = std::string(trim(rest));
        commands.push_back(std::move(command));
    }
    return commands;
}

std::vector<ModprobeFile> read_modprobe_d(const host::Root& root) {
    return read_module_config(root, {}, {}).files;
}

bool is_blacklisted(const std::vector<ModprobeFile>& files, std::string_view module) {
    bool found = false;
    for_each_command(files, "blacklist", module, [&](const ModprobeCommand&) { found = true; });
    return found;
}

bool is_install_disabled(const std::vector<ModprobeFile>& files, std::string_view module) {
    // kmod runs an install command through the shell instead of loading the module; one that is
    // only false or true therefore means the module never loads. Anything more (the common
    // "/sbin/modprobe --ignore-install ..." wrappers) may still load it.
    bool found = false;
    for_each_command(files, "install", module, [&](const ModprobeCommand& command) {
        std::string_view rest = command.rest;
        const std::string_view program = next_token(rest);
        if (!trim(rest).empty()) {
            return;
        }
        const auto slash = program.rfind('/');
        const std::string_view base =
            slash == std::string_view::npos ? program : program.substr(slash + 1);
        if (base == "false" || base == "true") {
            found = true;
        }
    });
    return found;
}

std::vector<std::string> softdep_pre(const std::vector<ModprobeFile>& files,
                                     std::string_view module) {
    // kmod_config_add_softdep(): "pre:" and "post:" must be tokens of their own and switch the
    // list the following names go to; names before either are ignored.
    std::vector<std::string> names;
    for_each_command(files, "softdep", module, [&](const ModprobeCommand& command) {
        std::string_view rest = command.rest;
        enum class Mode { none, pre, post } mode = Mode::none;
        for (auto token = next_token(rest); !token.empty(); token = next_token(rest)) {
            if (token == "pre:") {
                mode = Mode::pre;
            } else if (token == "post:") {
                mode = Mode::post;
            } else if (mode == Mode::pre) {
                names.push_back(normalise_module(token));
            }
        }
    });
    return names;
}

std::optional<std::string> module_option(const std::vector<ModprobeFile>& files,
                                         std::string_view module,
                                         std::string_view key) {
    // modprobe joins every options line of a module into one string, and the kernel applies the
    // parameters in order, so the last occurrence of a key wins (kernel/params.c, parse_args()).
    std::optional<std::string> value;
    for_each_command(files, "options", module, [&](const ModprobeCommand& command) {
        for (const auto& param : split_module_params(command.rest)) {
            const auto eq = param.find('=');
            const std::string_view name = std::string_view(param).substr(0, eq);
            if (same_module_param(name, key)) {
                value = eq == std::string::npos ? std::string() : param.substr(eq + 1);
            }
        }
    });
    return value;
}

} // namespace pt::conf
