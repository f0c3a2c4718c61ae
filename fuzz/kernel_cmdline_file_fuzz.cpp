// SPDX-License-Identifier: MIT
// libFuzzer target for /etc/kernel/cmdline (pt/conf/kernel_cmdline_file): split_kernel_cmdline,
// with_first_line, edit_kernel_cmdline. Input: `OPS\nFILE` (fuzz/cmdline_ops.hpp).
// Properties:
//   - split then with_first_line(first line) gives back the same bytes;
//   - kernel::tokenize_cmdline spans lie in the line, in order, and parse like kernel::parse_cmdline;
//   - edit_kernel_cmdline either refuses (pt::Error / pt::UsageError) or: keeps every byte after
//     the first line, keeps root=, makes the first line say what the ops asked (cmdline_ops.hpp),
//     reports no change only when the text is unchanged, and a second edit changes nothing.
#include "pt/conf/kernel_cmdline_file.hpp"
#include "pt/error.hpp"

#include "cmdline_ops.hpp"

using namespace pt;       // NOLINT(google-build-using-namespace): a fuzz target
using namespace pt::fuzz; // NOLINT(google-build-using-namespace)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto [control, file] = split_input(data, size);
    const std::string text(file);

    const auto split = conf::split_kernel_cmdline(text);
    require(conf::with_first_line(text, split.first_line) == text,
            "with_first_line(text, first line) is not the text");
    require(split.first_line.find('\n') == std::string::npos, "the first line holds a newline");

    const auto tokens = kernel::tokenize_cmdline(split.first_line);
    std::size_t prev_end = 0;
    std::vector<kernel::Param> from_tokens;
    for (const auto& t : tokens) {
        require(t.begin >= prev_end && t.begin < t.end && t.end <= split.first_line.size(),
                "token spans out of order or out of the line");
        prev_end = t.end;
        from_tokens.push_back(t.param);
    }
    require(from_tokens == kernel::parse_cmdline(split.first_line),
            "tokenize_cmdline and parse_cmdline disagree",
            show(split.first_line));

    const auto ops = parse_ops(control);
    conf::KernelCmdlineEdit edit;
    try {
        edit = conf::edit_kernel_cmdline(text, ops);
    } catch (const Error&) {
        return 0; // a documented refusal (no root=, would lose root=, ...)
    }
    const auto after = conf::split_kernel_cmdline(edit.text);
    require(after.rest == split.rest && after.newline == split.newline,
            "the edit changed bytes after the first line",
            show(text) + " -> " + show(edit.text));
    require(conf::has_root_param(after.first_line), "the edited first line lost root=");
    check_effect(kernel::parse_cmdline(after.first_line), ops, after.first_line);
    if (edit.changes.empty()) {
        require(edit.text == text, "no change reported, but the text changed");
    }

    conf::KernelCmdlineEdit again;
    try {
        again = conf::edit_kernel_cmdline(edit.text, ops);
    } catch (const Error& e) {
        fail("the second edit refuses the first edit's output", e.what());
    }
    require(again.text == edit.text && again.changes.empty(),
            "the edit is not idempotent",
            show(edit.text) + " -> " + show(again.text)
                + (again.changes.empty() ? "" : " change: " + again.changes.front().describe()));
    return 0;
}
