// SPDX-License-Identifier: MIT
// libFuzzer target for /etc/default/grub (pt/conf/grub_default): parse_grub_default, GrubConfig
// and edit_grub_cmdline. Input: `OPS\nMAIN[\0DROPIN]`: the ops (fuzz/cmdline_ops.hpp), the text
// of /etc/default/grub and, after a NUL byte, of /etc/default/grub.d/50-pt.cfg.
// Properties:
//   - every assignment's parts tile its value span, each part's text is its bytes, and a
//     self-reference has a literal part on each side;
//   - edit_grub_cmdline either refuses (pt::Error, pt::UsageError) or gives texts that parse
//     without problems, whose command line says what the ops asked, that are the input when no
//     change is reported, and that a second edit leaves alone.
#include "pt/conf/grub_default.hpp"
#include "pt/error.hpp"

#include "cmdline_ops.hpp"

using namespace pt;       // NOLINT(google-build-using-namespace): a fuzz target
using namespace pt::fuzz; // NOLINT(google-build-using-namespace)

namespace {

void check_parse(std::string_view text, const conf::GrubDefault& parsed) {
    std::size_t prev_line = 0;
    for (const auto& a : parsed.assignments) {
        require(a.variable == conf::k_grub_cmdline || a.variable == conf::k_grub_cmdline_default,
                "an assignment of another variable");
        require(a.line >= prev_line && a.line >= 1, "assignments out of line order");
        prev_line = a.line;
        require(a.value_begin <= a.value_end && a.value_end <= text.size(),
                "value span out of the text");
        require(!a.parts.empty(), "an assignment without parts");
        std::size_t at = a.value_begin;
        for (std::size_t p = 0; p < a.parts.size(); ++p) {
            const auto& part = a.parts[p];
            require(part.begin == at && part.end >= part.begin, "parts do not tile the value");
            require(text.substr(part.begin, part.end - part.begin) == part.text,
                    "a part's text is not its bytes");
            if (part.self_ref) {
                require(p > 0 && p + 1 < a.parts.size() && !a.parts[p - 1].self_ref
                            && !a.parts[p + 1].self_ref,
                        "a self-reference without a literal on each side");
            }
            at = part.end;
        }
        require(at == a.value_end, "parts do not reach the value's end");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto [control, rest] = split_input(data, size);
    std::vector<conf::GrubFile> files;
    const auto nul = rest.find('\0');
    files.push_back({"/etc/default/grub", std::string(rest.substr(0, nul))});
    if (nul != std::string_view::npos) {
        files.push_back({"/etc/default/grub.d/50-pt.cfg", std::string(rest.substr(nul + 1))});
    }
    const conf::GrubConfig config(files);
    for (std::size_t i = 0; i < files.size(); ++i) {
        check_parse(files[i].text, config.parsed[i]);
    }
    (void)config.cmdline();

    const auto ops = parse_ops(control);
    conf::GrubEdit edit;
    try {
        edit = conf::edit_grub_cmdline(config, ops);
    } catch (const Error&) {
        return 0; // a problem in the files, or a value pt cannot quote: refused, nothing written
    }
    require(edit.texts.size() == files.size(), "the edit lost or gained a file");
    std::vector<conf::GrubFile> edited;
    bool same = true;
    for (std::size_t i = 0; i < files.size(); ++i) {
        edited.push_back({files[i].path, edit.texts[i]});
        same = same && edit.texts[i] == files[i].text;
    }
    if (edit.changes.empty()) {
        require(same, "no change reported, but a text changed");
    }
    const conf::GrubConfig after(edited);
    std::string all;
    for (const auto& f : edited) {
        all += show(f.text) + " ";
    }
    if (const auto problem = after.first_problem()) {
        fail("the edited files have a problem", *problem + " in " + all);
    }
    const auto cmdline = after.cmdline();
    check_effect(kernel::parse_cmdline(cmdline), ops, cmdline + " from " + all);

    conf::GrubEdit again;
    try {
        again = conf::edit_grub_cmdline(after, ops);
    } catch (const Error& e) {
        fail("the second edit refuses the first edit's output", e.what());
    }
    require(
        again.texts == edit.texts && again.changes.empty(),
        "the edit is not idempotent",
        all + (again.changes.empty() ? "" : " change: " + again.changes.front().change.describe()));
    return 0;
}
