// SPDX-License-Identifier: MIT
#include "pt/kernel/cmdline.hpp"

namespace pt::kernel {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

char normalise(char c) {
    return c == '-' ? '_' : c;
}

} // namespace

std::vector<Param> parse_cmdline(std::string_view text) {
    std::vector<Param> params;
    std::size_t pos = 0;
    while (pos < text.size()) {
        while (pos < text.size() && is_space(text[pos])) {
            ++pos;
        }
        if (pos >= text.size()) {
            break;
        }
        std::string word;
        bool quoted = false;
        while (pos < text.size() && (quoted || !is_space(text[pos]))) {
            if (text[pos] == '"') {
                quoted = !quoted;
            } else {
                word += text[pos];
            }
            ++pos;
        }
        const auto eq = word.find('=');
        if (eq == std::string::npos) {
            params.push_back({word, std::nullopt});
        } else {
            params.push_back({word.substr(0, eq), word.substr(eq + 1)});
        }
    }
    return params;
}

bool same_param_name(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (normalise(a[i]) != normalise(b[i])) {
            return false;
        }
    }
    return true;
}

std::optional<std::optional<std::string>> find_param(const std::vector<Param>& params,
                                                     std::string_view name) {
    std::optional<std::optional<std::string>> found;
    for (const auto& param : params) {
        if (same_param_name(param.name, name)) {
            found = param.value;
        }
    }
    return found;
}

} // namespace pt::kernel
