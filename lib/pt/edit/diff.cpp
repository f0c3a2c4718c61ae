// SPDX-License-Identifier: MIT
#include "pt/edit/diff.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <vector>

namespace pt::edit {
namespace {

// Lines keep their terminating '\n', so "x" (the last line of a file without a final newline)
// and "x\n" differ, as they do for diff(1).
std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t nl = text.find('\n', pos);
        const std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
        lines.push_back(text.substr(pos, end - pos));
        pos = end;
    }
    return lines;
}

enum class Op { equal, remove, add };

struct Step {
    Op op;
    std::size_t a; // index in `before` (equal, remove)
    std::size_t b; // index in `after` (equal, add)
};

constexpr std::size_t k_max_table = std::size_t{16} << 20U;

// The edit script from `a` to `b`: common prefix and suffix first (most config edits touch a
// line or two), then a longest-common-subsequence table over the middle. Within each changed
// run the removals come before the additions, as diff(1) prints them.
std::vector<Step> edit_script(const std::vector<std::string_view>& a,
                              const std::vector<std::string_view>& b) {
    std::size_t prefix = 0;
    while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) {
        ++prefix;
    }
    std::size_t suffix = 0;
    while (suffix < a.size() - prefix && suffix < b.size() - prefix
           && a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) {
        ++suffix;
    }
    const std::size_t n = a.size() - prefix - suffix;
    const std::size_t m = b.size() - prefix - suffix;

    std::vector<Step> middle;
    if (n > 0 && m > 0 && (n + 1) * (m + 1) <= k_max_table) {
        // lcs[i][j]: the LCS length of a[prefix+i..] and b[prefix+j..].
        std::vector<std::vector<unsigned>> lcs(n + 1, std::vector<unsigned>(m + 1, 0));
        for (std::size_t i = n; i-- > 0;) {
            for (std::size_t j = m; j-- > 0;) {
                lcs[i][j] = a[prefix + i] == b[prefix + j] ? lcs[i + 1][j + 1] + 1
                                                           : std::max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        std::size_t i = 0;
        std::size_t j = 0;
        while (i < n || j < m) {
            if (i < n && j < m && a[prefix + i] == b[prefix + j]) {
                middle.push_back({Op::equal, prefix + i, prefix + j});
                ++i;
                ++j;
            } else if (j == m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1])) {
                middle.push_back({Op::remove, prefix + i, prefix + j});
                ++i;
            } else {
                middle.push_back({Op::add, prefix + i, prefix + j});
                ++j;
            }
        }
    } else {
        for (std::size_t i = 0; i < n; ++i) {
            middle.push_back({Op::remove, prefix + i, prefix});
        }
        for (std::size_t j = 0; j < m; ++j) {
            middle.push_back({Op::add, prefix + n, prefix + j});
        }
    }
    // Removals before additions inside every run of changes.
    for (std::size_t start = 0; start < middle.size();) {
        if (middle[start].op == Op::equal) {
            ++start;
            continue;
        }
        std::size_t end = start;
        while (end < middle.size() && middle[end].op != Op::equal) {
            ++end;
        }
        std::stable_partition(middle.begin() + static_cast<std::ptrdiff_t>(start),
                              middle.begin() + static_cast<std::ptrdiff_t>(end),
                              [](const Step& s) { return s.op == Op::remove; });
        start = end;
    }

    std::vector<Step> steps;
    steps.reserve(prefix + middle.size() + suffix);
    for (std::size_t i = 0; i < prefix; ++i) {
        steps.push_back({Op::equal, i, i});
    }
    steps.insert(steps.end(), middle.begin(), middle.end());
    for (std::size_t k = 0; k < suffix; ++k) {
        steps.push_back({Op::equal, prefix + n + k, prefix + m + k});
    }
    // Renumber after the reordering: a removal sits at the current line of `after` and an
    // addition at the current line of `before`, which is what the hunk ranges start from.
    std::size_t ai = 0;
    std::size_t bi = 0;
    for (auto& step : steps) {
        step.a = ai;
        step.b = bi;
        ai += step.op != Op::add ? 1 : 0;
        bi += step.op != Op::remove ? 1 : 0;
    }
    return steps;
}

// "@@ -l,s" ranges: a count of 1 is left out, and an empty range names the line before it.
std::string range(std::size_t first, std::size_t count) {
    if (count == 1) {
        return fmt::format("{}", first + 1);
    }
    return fmt::format("{},{}", count == 0 ? first : first + 1, count);
}

void append_line(std::string& out, char mark, std::string_view line) {
    out += mark;
    out += line;
    if (line.empty() || line.back() != '\n') {
        out += "\n\\ No newline at end of file\n";
    }
}

std::string header_path(char side, std::string_view path) {
    while (!path.empty() && path.front() == '/') {
        path.remove_prefix(1);
    }
    return fmt::format("{}/{}", side, path);
}

} // namespace

std::string unified_diff(std::string_view path,
                         const std::optional<std::string>& before,
                         const std::optional<std::string>& after,
                         int context) {
    if (before == after) {
        return {};
    }
    // Binary content (a ROM file from pt rom-dump --install): a line diff would print raw bytes
    // to the terminal, so say what git says instead.
    const auto binary = [](const std::optional<std::string>& s) {
        return s && s->find('\0') != std::string::npos;
    };
    if (binary(before) || binary(after)) {
        return fmt::format("Binary files {} and {} differ\n",
                           before ? header_path('a', path) : "/dev/null",
                           after ? header_path('b', path) : "/dev/null");
    }
    // The texts outlive the line views into them.
    const std::string_view before_text = before ? std::string_view(*before) : std::string_view();
    const std::string_view after_text = after ? std::string_view(*after) : std::string_view();
    const auto a = split_lines(before_text);
    const auto b = split_lines(after_text);
    const auto steps = edit_script(a, b);
    const auto ctx = static_cast<std::size_t>(std::max(context, 0));

    std::string out = fmt::format("--- {}\n+++ {}\n",
                                  before ? header_path('a', path) : "/dev/null",
                                  after ? header_path('b', path) : "/dev/null");
    std::size_t k = 0;
    while (k < steps.size()) {
        // The next change, and the hunk around it: extend while the gap to the following change
        // is at most 2 * ctx equal lines.
        while (k < steps.size() && steps[k].op == Op::equal) {
            ++k;
        }
        if (k == steps.size()) {
            break;
        }
        const std::size_t first = k >= ctx ? k - ctx : 0;
        std::size_t last = k; // one past the last change of the hunk
        for (;;) {
            while (last < steps.size() && steps[last].op != Op::equal) {
                ++last;
            }
            std::size_t next = last;
            while (next < steps.size() && steps[next].op == Op::equal) {
                ++next;
            }
            if (next < steps.size() && next - last <= 2 * ctx) {
                last = next;
                continue;
            }
            break;
        }
        const std::size_t end = std::min(steps.size(), last + ctx);

        std::size_t a_count = 0;
        std::size_t b_count = 0;
        for (std::size_t s = first; s < end; ++s) {
            a_count += steps[s].op != Op::add ? 1 : 0;
            b_count += steps[s].op != Op::remove ? 1 : 0;
        }
        const std::size_t a_first = steps[first].a;
        const std::size_t b_first = steps[first].b;
        out += fmt::format("@@ -{} +{} @@\n", range(a_first, a_count), range(b_first, b_count));
        for (std::size_t s = first; s < end; ++s) {
            switch (steps[s].op) {
            case Op::equal:
                append_line(out, ' ', a[steps[s].a]);
                break;
            case Op::remove:
                append_line(out, '-', a[steps[s].a]);
                break;
            case Op::add:
                append_line(out, '+', b[steps[s].b]);
                break;
            }
        }
        k = end;
    }
    return out;
}

} // namespace pt::edit
