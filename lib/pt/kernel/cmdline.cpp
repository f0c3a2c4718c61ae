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

std::vector<ParamToken> tokenize_cmdline(std::string_view text) {
    std::vector<ParamToken> tokens;
    std::size_t pos = 0;
    while (pos < text.size()) {
        while (pos < text.size() && is_space(text[pos])) {
            ++pos;
        }
        if (pos >= text.size()) {
            break;
        }
        const std::size_t begin = pos;
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
        Param param = eq == std::string::npos ? Param{word, std::nullopt}
                                              : Param{word.substr(0, eq), word.substr(eq + 1)};
        tokens.push_back({begin, pos, std::move(param)});
    }
    return tokens;
}

std::vector<Param> parse_cmdline(std::string_view text) {
    std::vector<Param> params;
    for (auto& token : tokenize_cmdline(text)) {
        params.push_back(std::move(token.param));
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
