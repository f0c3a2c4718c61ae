// SPDX-License-Identifier: MIT
#pragma once

#include "pt/kernel/cmdline.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::conf {

// Kernel command-line text as it sits in configuration files, and the in-place editing of its
// parameters that both /etc/default/grub and /etc/kernel/cmdline need. Pure: text in, text out.

// ---- Parameters inside a piece of text -------------------------------------------------------

// One parameter as written: its byte span in the text and what the kernel makes of it.
using kernel::ParamToken;

// The byte offset of a double quote in `text` that is never closed, or nullopt. The kernel's own
// rule (lib/cmdline.c next_arg): a double quote starts or ends a quoted run inside a parameter,
// nothing escapes it, and an unclosed one runs to the end of the line, so everything after it is
// part of one parameter's value; a parameter appended there would never be seen as one.
std::optional<std::size_t> unclosed_quote(std::string_view text);

// How repeated occurrences of a parameter combine, which decides whether "set" replaces a value
// or adds another occurrence.
enum class ParamRule {
    last_wins,   // module parameters, pcie_acs_override, most others: the last value counts
    option_list, // intel_iommu=, iommu=: comma options processed in order across occurrences
    accumulate,  // initcall_blacklist=, video=, console=: every occurrence adds
};

ParamRule param_rule(std::string_view name);

// What to do to a command line.
struct ParamOp {
    enum class Kind { set, remove };
    Kind kind = Kind::set;
    // set: the parameter to have (value nullopt for a flag such as "quiet");
    // remove: name and value to take out (value nullopt: every occurrence of the name).
    kernel::Param param;
    std::string reason; // one line: why (shown with the plan)
};

// One change made to the text.
struct ParamChange {
    enum class Kind { add, replace, remove };
    Kind kind = Kind::add;
    std::string name;                     // as written in the text (the request's for add)
    std::optional<std::string> old_value; // replace, remove
    std::optional<std::string> new_value; // add, replace
    std::size_t segment = 0;              // which segment (see edit_params)
    std::string reason;                   // the op's reason

    // "add iommu=pt", "replace intel_iommu=off with intel_iommu=on", "remove amd_iommu=on".
    std::string describe() const;
};

// A piece of command-line text pt may edit in place: the literal part of one assignment's value,
// or the first line of /etc/kernel/cmdline. `ref_before` / `ref_after` say that a shell
// self-reference ("$GRUB_CMDLINE_LINUX_DEFAULT") sits right before / after the piece, so the
// piece must keep whitespace on that side when it is not empty.
struct Segment {
    std::string text;
    bool ref_before = false;
    bool ref_after = false;
};

struct EditResult {
    std::vector<Segment> segments; // the same segments, edited
    std::vector<ParamChange> changes;
};

// Applies `ops` in order to `segments`, which hold the command line in effective order (the
// kernel sees their parameters one after another). A replaced value keeps the token's place and
// the name's spelling; a removed token takes one neighbouring run of whitespace with it; a new
// parameter is appended to segments[add_to]. Every other byte stays. Ops already satisfied
// change nothing, so edit_params(edit_params(x)) == edit_params(x).
// Rules per parameter (param_rule):
//   set, last_wins:   nothing when the last occurrence has the value; else the last occurrence
//                     gets the value (replace); else the parameter is added.
//   set, option_list: each comma option of the value on its own (intel_iommu=on,igfx_off asks
//                     for "on" and "igfx_off"; of an option and its opposite asked together the
//                     later counts) against the options of every occurrence: nothing when the
//                     option or its opposite (intel_iommu on/off, iommu pt/nopt) comes last as
//                     the option; the opposite is replaced by it inside its token
//                     ("intel_iommu=off,igfx_off" -> "intel_iommu=on,igfx_off"); the options
//                     found nowhere are added as one new parameter ("intel_iommu=on" + asked
//                     "on,igfx_off" -> "intel_iommu=on intel_iommu=igfx_off").
//   set, accumulate:  nothing when an occurrence has the value; else added. For
//                     initcall_blacklist= each comma item on its own: the items no occurrence
//                     lists are added as one new parameter.
//   remove:           every occurrence with the name (and the value, when given).
// A set op is skipped when a later set of the same name overrides it wholesale (a last_wins
// value, or a flag and a value of one name). When the ops leave every segment's text as it was
// (ops that undo each other: foo=on then foo=off on a line with foo=off), no change is reported.
// Throws pt::UsageError when `add_to` is out of range.
EditResult
edit_params(std::vector<Segment> segments, std::size_t add_to, const std::vector<ParamOp>& ops);

// ---- /etc/kernel/cmdline ---------------------------------------------------------------------

// proxmox-boot-tool reads only the first line of /etc/kernel/cmdline and refuses to refresh when
// it lacks root= (proxmox-kernel-helper, zz-proxmox-boot: "No root= parameter in
// /etc/kernel/cmdline found!").
struct KernelCmdlineFile {
    std::string first_line; // without its newline
    std::string rest;       // everything after the first line's newline, verbatim
    bool newline = false;   // the first line ends with '\n'
};

KernelCmdlineFile split_kernel_cmdline(std::string_view text);

// True when the parameters of `line` include root=.
bool has_root_param(std::string_view line);

// The file with its first line replaced by `line`; every other byte (later lines, the newline
// after the first line or its absence) is kept.
std::string with_first_line(std::string_view text, std::string_view line);

struct KernelCmdlineEdit {
    std::string text; // the whole new file
    std::vector<ParamChange> changes;
};

// The pure transform for /etc/kernel/cmdline: applies `ops` to the first line only (new
// parameters go at its end). Throws pt::Error naming `path` when the first line has an unclosed
// double quote (unclosed_quote), or when the result would lack root= (proxmox-boot-tool would
// refuse it), including when the file had none to begin with.
KernelCmdlineEdit edit_kernel_cmdline(std::string_view text,
                                      const std::vector<ParamOp>& ops,
                                      std::string_view path = "/etc/kernel/cmdline");

} // namespace pt::conf
