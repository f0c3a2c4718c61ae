// SPDX-License-Identifier: MIT
#pragma once

#include "pt/conf/kernel_cmdline_file.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::conf {

// /etc/default/grub and /etc/default/grub.d/*.cfg: shell code that grub-mkconfig sources, the main
// file first and then the drop-ins in glob (lexical) order, so the last assignment wins. GRUB's
// 10_linux gives the default boot entries "${GRUB_CMDLINE_LINUX} ${GRUB_CMDLINE_LINUX_DEFAULT}".
//
// pt understands only plain assignments of those two variables: NAME="...", NAME='...', NAME=word
// (optionally after `export`), at the top level, on one line, with an optional trailing comment,
// whose value holds literal text and at most one self-reference ($NAME or ${NAME}) separated by
// whitespace. Anything else that may change them (a command substitution, backticks, another
// variable, an if/case/loop/function around the assignment, a value spanning lines, `+=`,
// `unset`, `.`, `source`, `eval`) is a problem: pt reports it with its line and never writes.
// Other variables (GRUB_DISTRIBUTOR=`lsb_release ...`) are skipped, whatever they hold, as long as
// the file's quoting and nesting balance: an unclosed quote, backtick, $(, ${ or '(' anywhere
// (outside comments), or an if/case/loop/brace group that is never closed, is a problem too,
// because /bin/sh would read every later line, and anything pt appends, as part of it.

inline constexpr std::string_view k_grub_cmdline_default = "GRUB_CMDLINE_LINUX_DEFAULT";
inline constexpr std::string_view k_grub_cmdline = "GRUB_CMDLINE_LINUX";

enum class Quote { none, double_quote, single_quote };

// A piece of an assignment's value: literal text, or the self-reference.
struct ValuePart {
    bool self_ref = false;
    std::size_t begin = 0; // byte span in the file text
    std::size_t end = 0;
    std::string text; // the bytes of the span
};

struct GrubAssignment {
    std::string variable; // k_grub_cmdline_default or k_grub_cmdline
    std::size_t line = 0; // 1-based
    Quote quote = Quote::none;
    std::size_t value_begin = 0; // byte span of the value inside its quotes
    std::size_t value_end = 0;
    // Literal pieces and at most one self-reference, in order; a self-reference always has a
    // literal piece (possibly empty) on each side.
    std::vector<ValuePart> parts;

    bool has_self_ref() const;
};

struct GrubProblem {
    std::size_t line = 0;
    std::string message; // "GRUB_CMDLINE_LINUX_DEFAULT is built by a command substitution"
    // For syntax pt cannot account for (an unbalanced quote, backtick, $(, ${, parenthesis or
    // if/case/loop/brace anywhere in the file): the fix without the file, "close the double quote
    // (\") opened on line 7". Empty for a construct that is merely not a plain assignment.
    std::string fix;
    bool unbalanced = false;
};

struct GrubDefault {
    std::vector<GrubAssignment> assignments; // of the two variables, in file order
    std::vector<GrubProblem> problems;       // in line order
};

// Parses one file's text. Never throws: what pt does not understand becomes a problem.
GrubDefault parse_grub_default(std::string_view text);

// One file as read: host path and exact bytes.
struct GrubFile {
    std::string path; // "/etc/default/grub", "/etc/default/grub.d/pt.cfg"
    std::string text;
};

// Where an assignment is: files[file].assignments[index].
struct AssignmentRef {
    std::size_t file = 0;
    std::size_t index = 0;
};

// A variable's value after the files in order, the way sh would see it.
struct GrubValue {
    std::string value;                 // expanded; empty when never assigned
    std::optional<AssignmentRef> last; // the assignment in effect; nullopt: never assigned
    std::vector<AssignmentRef> chain;  // the assignments that contribute, earliest first
};

// The parsed files, in grub-mkconfig's order.
struct GrubConfig {
    std::vector<GrubFile> files;
    std::vector<GrubDefault> parsed; // parsed[i] is files[i]

    explicit GrubConfig(std::vector<GrubFile> files);

    // The first problem of any file, as "PATH line N: MESSAGE"; nullopt when there is none.
    std::optional<std::string> first_problem() const;

    // Every problem, as "PATH line N: MESSAGE".
    std::vector<std::string> problems() const;

    GrubValue evaluate(std::string_view variable) const;

    // "${GRUB_CMDLINE_LINUX} ${GRUB_CMDLINE_LINUX_DEFAULT}" with empty parts left out.
    std::string cmdline() const;

    const GrubAssignment& at(const AssignmentRef& ref) const;
};

// A change together with the place it is made.
struct GrubChange {
    ParamChange change;
    std::string path;     // file the change is written to
    std::size_t line = 0; // line of the assignment (for a new assignment: the line it gets)
    std::string variable;
};

struct GrubEdit {
    std::vector<std::string> texts; // new text of every file, in the order of config.files
    std::vector<GrubChange> changes;
};

// The pure transform over the whole configuration: applies `ops` (edit_params rules) to the
// command line of the default entries. A replaced or removed parameter is edited in the
// assignment it comes from (following self-references back, across files); a new parameter goes
// at the end of the last effective GRUB_CMDLINE_LINUX_DEFAULT assignment (a drop-in when one
// reassigns it), or, when the variable is never assigned, into a new
// GRUB_CMDLINE_LINUX_DEFAULT="..." line at the end of the first file. Only the bytes inside the
// value's quotes change (an unquoted value whose text then holds a blank or any other character
// outside [A-Za-z0-9_.,:/=+@%-] gets double quotes, so sh reads it as one literal); comments,
// other lines, quote style and the trailing newline or its absence stay.
// Throws pt::Error naming the file and line of the first problem (before any edit); throws
// pt::UsageError when a value cannot be written inside the assignment's quotes.
GrubEdit edit_grub_cmdline(const GrubConfig& config, const std::vector<ParamOp>& ops);

// edit_grub_cmdline for a single file's text, returning its new text.
std::string with_cmdline_params(std::string_view text,
                                const std::vector<ParamOp>& ops,
                                std::string_view path = "/etc/default/grub");

} // namespace pt::conf
