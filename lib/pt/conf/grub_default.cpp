// SPDX-License-Identifier: MIT
#include "pt/conf/grub_default.hpp"

#include "pt/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <utility>

namespace pt::conf {
namespace {

// ---- A small sh scanner: enough to find where a logical line starts and ends, its words and
// operators, and which words are in command position. It follows POSIX sh quoting (single quotes,
// double quotes, backslash, backticks, $( ... )) so that a quoted '#', ';' or newline of another
// variable's value is never mistaken for structure.

struct Word {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::size_t line = 0;
    bool op = false;        // ; & | ( ) && || ;;
    bool multiline = false; // the word itself contains a newline
    bool unclosed = false;  // the text ended inside a quote, backticks, $( or ${
    // When unclosed: the outermost construct left open and the line it was opened on.
    std::string_view open_what;
    std::size_t open_line = 0;
};

struct LogicalLine {
    std::size_t first_line = 0;
    std::size_t last_line = 0;
    std::vector<Word> words;
};

// sh separates words by blanks only (XCU 2.3): a carriage return is an ordinary character, so a
// DOS line ending stays in the last word of its line.
bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

// '<' and '>' too: "X=a>b" assigns "a" and redirects to b (XCU 2.7), it never assigns "a>b".
bool is_op_char(char c) {
    return c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '<' || c == '>';
}

bool is_redirection(std::string_view op) {
    return !op.empty() && (op.front() == '<' || op.front() == '>');
}

bool is_name_start(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool is_name_char(char c) {
    return is_name_start(c) || (c >= '0' && c <= '9');
}

// What a word may open, as sh nests them (XCU 2.2 Quoting, 2.6.3 Command Substitution): inside
// single quotes nothing is special; inside double quotes a backslash, a backtick, $( and ${ are;
// a backquoted command ends at the first unescaped backtick whatever quotes it holds; $( ... )
// and ${ ... } hold quotes of their own.
enum class Open { single, dbl, back, cmdsub, param };

struct Opened {
    Open kind = Open::single;
    std::size_t line = 0;
    int parens = 0; // '(' inside $( ... ), so that $((1+2)) closes at the right ')'
};

std::string_view describe(Open kind) {
    switch (kind) {
    case Open::single:
        return "single quote (')";
    case Open::dbl:
        return "double quote (\")";
    case Open::back:
        return "backtick (`)";
    case Open::cmdsub:
        return "command substitution $(";
    case Open::param:
        return "parameter expansion ${";
    }
    return {};
}

// Scans one word from `pos` (not a blank, newline, operator or comment) to its end at the top
// level; a newline inside a quote belongs to the word. Sets word.end, multiline and unclosed.
void scan_word(std::string_view text, std::size_t& pos, std::size_t& line, Word& word) {
    const std::size_t n = text.size();
    std::vector<Opened> open;
    const auto push = [&](Open kind) {
        open.push_back({kind, line, 0});
    };
    while (pos < n) {
        const char ch = text[pos];
        if (open.empty() && (is_blank(ch) || ch == '\n' || is_op_char(ch))) {
            break;
        }
        if (ch == '\n') {
            word.multiline = true;
            ++line;
            ++pos;
            continue;
        }
        const Open top = open.empty() ? Open::cmdsub : open.back().kind;
        if (!open.empty() && top == Open::single) {
            if (ch == '\'') {
                open.pop_back();
            }
            ++pos;
            continue;
        }
        if (ch == '\\') {
            if (pos + 1 < n && text[pos + 1] == '\n') {
                word.multiline = true;
                ++line;
            }
            pos += 2;
            continue;
        }
        if (!open.empty() && top == Open::back) {
            if (ch == '`') {
                open.pop_back();
            }
            ++pos;
            continue;
        }
        const bool dollar = ch == '$' && pos + 1 < n;
        if (dollar && text[pos + 1] == '(') {
            push(Open::cmdsub);
            pos += 2;
            continue;
        }
        if (dollar && text[pos + 1] == '{') {
            push(Open::param);
            pos += 2;
            continue;
        }
        if (ch == '`') {
            push(Open::back);
        } else if (!open.empty() && top == Open::dbl) {
            if (ch == '"') {
                open.pop_back();
            }
        } else if (ch == '\'') {
            push(Open::single);
        } else if (ch == '"') {
            push(Open::dbl);
        } else if (!open.empty() && top == Open::cmdsub && ch == '(') {
            ++open.back().parens;
        } else if (!open.empty() && top == Open::cmdsub && ch == ')') {
            if (open.back().parens > 0) {
                --open.back().parens;
            } else {
                open.pop_back();
            }
        } else if (!open.empty() && top == Open::param && ch == '}') {
            open.pop_back();
        }
        ++pos;
    }
    word.end = std::min(pos, n);
    if (!open.empty()) {
        word.unclosed = true;
        word.open_what = describe(open.front().kind); // the outermost: where the fix starts
        word.open_line = open.front().line;
    }
}

std::vector<LogicalLine> scan(std::string_view text) {
    std::vector<LogicalLine> lines;
    std::size_t pos = 0;
    std::size_t line = 1;
    const std::size_t n = text.size();
    while (pos < n) {
        LogicalLine logical;
        logical.first_line = line;
        while (pos < n) {
            while (pos < n && is_blank(text[pos])) {
                ++pos;
            }
            if (pos >= n) {
                break;
            }
            const char c = text[pos];
            if (c == '\n') {
                ++pos;
                logical.last_line = line;
                ++line;
                break;
            }
            if (c == '\\' && pos + 1 < n && text[pos + 1] == '\n') {
                pos += 2;
                ++line;
                continue;
            }
            if (c == '#') {
                while (pos < n && text[pos] != '\n') {
                    ++pos;
                }
                continue;
            }
            if (is_op_char(c)) {
                Word word;
                word.begin = pos;
                word.end = pos + 1;
                word.line = line;
                word.op = true;
                if (pos + 1 < n && (c == '&' || c == '|' || c == ';') && text[pos + 1] == c) {
                    word.end = pos + 2;
                }
                // >> << >& <& >| <>: one redirection operator
                if (pos + 1 < n && (c == '<' || c == '>')
                    && (text[pos + 1] == c || text[pos + 1] == '&' || text[pos + 1] == '|'
                        || (c == '<' && text[pos + 1] == '>'))) {
                    word.end = pos + 2;
                }
                pos = word.end;
                logical.words.push_back(word);
                continue;
            }
            Word word;
            word.begin = word.end = pos;
            word.line = line;
            scan_word(text, pos, line, word);
            logical.words.push_back(word);
        }
        if (logical.last_line == 0) {
            logical.last_line = line;
        }
        if (!logical.words.empty()) {
            lines.push_back(std::move(logical));
        }
    }
    return lines;
}

bool is_ours(std::string_view name) {
    return name == k_grub_cmdline_default || name == k_grub_cmdline;
}

// "NAME=..." or "NAME+=..." -> NAME (and whether it is +=); nullopt for other words.
std::optional<std::pair<std::string_view, bool>> assigned_name(std::string_view word) {
    if (word.empty() || !is_name_start(word.front())) {
        return std::nullopt;
    }
    std::size_t i = 1;
    while (i < word.size() && is_name_char(word[i])) {
        ++i;
    }
    if (i < word.size() && word[i] == '=') {
        return std::pair{word.substr(0, i), false};
    }
    if (i + 1 < word.size() && word[i] == '+' && word[i + 1] == '=') {
        return std::pair{word.substr(0, i), true};
    }
    return std::nullopt;
}

bool is_ws(char c) {
    return c == ' ' || c == '\t';
}

// Splits a value's content into literal pieces and self-references; returns a problem message
// when it holds expansions pt does not follow.
std::optional<std::string> split_value(std::size_t content_begin,
                                       std::string_view content,
                                       std::string_view variable,
                                       std::vector<ValuePart>& parts) {
    std::size_t literal_begin = 0;
    std::size_t i = 0;
    int refs = 0;
    while (i < content.size()) {
        const char c = content[i];
        if (c == '`') {
            return fmt::format("{} is built by a command substitution (backticks)", variable);
        }
        if (c == '\\') {
            return fmt::format(
                "the value of {} holds a backslash escape, which pt does not rewrite", variable);
        }
        if (c != '$') {
            ++i;
            continue;
        }
        std::string_view name;
        std::size_t end = i + 1;
        if (end < content.size() && content[end] == '(') {
            return fmt::format("{} is built by a command substitution $(...)", variable);
        }
        if (end < content.size() && content[end] == '{') {
            const auto close = content.find('}', end);
            if (close == std::string_view::npos) {
                return fmt::format("the value of {} has an unclosed ${{", variable);
            }
            name = content.substr(end + 1, close - end - 1);
            end = close + 1;
            const bool plain = !name.empty() && is_name_start(name.front())
                               && std::all_of(name.begin(), name.end(), is_name_char);
            if (!plain) {
                return fmt::format(
                    "the value of {} uses the shell expansion ${{{}}}", variable, name);
            }
        } else {
            while (end < content.size() && is_name_char(content[end])) {
                ++end;
            }
            name = content.substr(i + 1, end - i - 1);
            if (name.empty() || !is_name_start(name.front())) {
                return fmt::format("the value of {} uses the shell expansion {}",
                                   variable,
                                   content.substr(i, std::max<std::size_t>(end - i, 2)));
            }
        }
        if (name != variable) {
            return fmt::format(
                "{} refers to ${}; pt follows only ${} itself", variable, name, variable);
        }
        if (++refs > 1) {
            return fmt::format("the value of {} refers to ${} more than once", variable, variable);
        }
        if ((i > 0 && !is_ws(content[i - 1])) || (end < content.size() && !is_ws(content[end]))) {
            return fmt::format("${} is glued to other text in the value; separate it with a space",
                               variable);
        }
        parts.push_back({false,
                         content_begin + literal_begin,
                         content_begin + i,
                         std::string(content.substr(literal_begin, i - literal_begin))});
        parts.push_back({true,
                         content_begin + i,
                         content_begin + end,
                         std::string(content.substr(i, end - i))});
        literal_begin = end;
        i = end;
    }
    parts.push_back({false,
                     content_begin + literal_begin,
                     content_begin + content.size(),
                     std::string(content.substr(literal_begin))});
    return std::nullopt;
}

// Parses the value of an assignment word; returns a problem message or fills `a`.
std::optional<std::string>
parse_value(std::string_view text, const Word& word, std::string_view variable, GrubAssignment& a) {
    const std::size_t vstart = word.begin + variable.size() + 1;
    const std::string_view raw = text.substr(vstart, word.end - vstart);
    if (raw.ends_with('\r')) {
        return fmt::format("the line ends with a carriage return (a DOS line ending), which "
                           "/bin/sh keeps as part of the value of {}; convert the file to Unix "
                           "line endings (sed -i 's/\\r$//' FILE)",
                           variable);
    }
    if (raw.empty()) {
        a.quote = Quote::none;
        a.value_begin = a.value_end = vstart;
        a.parts.push_back({false, vstart, vstart, {}});
        return std::nullopt;
    }
    const char q = raw.front();
    if (q == '"' || q == '\'') {
        const auto close = raw.find(q, 1);
        if (close == std::string_view::npos) {
            return fmt::format("the value of {} has no closing quote on this line", variable);
        }
        if (close != raw.size() - 1) {
            return fmt::format("the value of {} is pieced together from several quoted or "
                               "unquoted parts",
                               variable);
        }
        a.quote = q == '"' ? Quote::double_quote : Quote::single_quote;
        a.value_begin = vstart + 1;
        a.value_end = vstart + close;
        const std::string_view content = raw.substr(1, close - 1);
        if (q == '\'') {
            // Single quotes expand nothing in sh, but grub-mkconfig copies the value into
            // grub.cfg, where GRUB's own script expands '$': pt keeps away from it.
            if (content.find('$') != std::string_view::npos) {
                return fmt::format("the single-quoted value of {} holds a '$'", variable);
            }
            a.parts.push_back({false, a.value_begin, a.value_end, std::string(content)});
            return std::nullopt;
        }
        return split_value(a.value_begin, content, variable, a.parts);
    }
    if (raw.find_first_of("\"'") != std::string_view::npos) {
        return fmt::format(
            "the value of {} is pieced together from several quoted or unquoted parts", variable);
    }
    a.quote = Quote::none;
    a.value_begin = vstart;
    a.value_end = word.end;
    return split_value(vstart, raw, variable, a.parts);
}

std::string line_problem_hint(std::string_view path) {
    return fmt::format("edit {} by hand: make the kernel parameters a plain one-line "
                       "assignment such as {}=\"quiet intel_iommu=on\", then run pt grub again",
                       path,
                       k_grub_cmdline_default);
}

// Whether an unquoted value must get quotes to stay one literal word when /bin/sh reads it:
// anything outside the characters sh never treats specially in an assignment's value (blanks
// split, ';' '&' '|' '<' '>' '(' ')' end the command or redirect, '~' after '=' or ':' expands,
// '#', '*', '?', '[' and the rest are better quoted than reasoned about).
bool needs_quotes(std::string_view literal) {
    return std::any_of(literal.begin(), literal.end(), [](char c) {
        const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                          || std::string_view("_.,:/=+@%-").find(c) != std::string_view::npos;
        return !safe;
    });
}

// Checks that `literal` can sit inside the assignment's quoting as it is.
void check_writable(const GrubAssignment& a, std::string_view literal, std::string_view path) {
    std::string_view bad;
    switch (a.quote) {
    case Quote::single_quote:
        bad = "'";
        break;
    case Quote::double_quote:
    case Quote::none:
        bad = "\"'\\`$";
        break;
    }
    if (literal.find_first_of(bad) != std::string_view::npos) {
        throw UsageError(fmt::format("cannot write \"{}\" into {} line {}: it would need shell "
                                     "quoting that pt does not add",
                                     literal,
                                     path,
                                     a.line));
    }
}

} // namespace

bool GrubAssignment::has_self_ref() const {
    return std::any_of(parts.begin(), parts.end(), [](const ValuePart& p) { return p.self_ref; });
}

GrubDefault parse_grub_default(std::string_view text) {
    GrubDefault out;

    // Open compound commands and subshells: "(", "{", "if", "case", "while", ... with their line.
    struct Group {
        std::string_view opener;
        std::size_t line = 0;
    };

    std::vector<Group> groups;
    const auto unbalanced = [&](std::size_t line, std::string message, std::string fix) {
        out.problems.push_back({line, std::move(message), std::move(fix), true});
    };
    const auto close_group = [&](std::string_view closer, std::size_t line) {
        static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> pairs = {{
            {"fi", "if"},
            {"done", "while"},
            {"done", "until"},
            {"done", "for"},
            {"done", "select"},
            {"esac", "case"},
            {"}", "{"},
        }};
        const bool matches =
            !groups.empty() && std::any_of(pairs.begin(), pairs.end(), [&](const auto& p) {
                return p.first == closer && p.second == groups.back().opener;
            });
        if (matches || (closer == ")" && !groups.empty() && groups.back().opener == "(")) {
            groups.pop_back();
            return;
        }
        if (groups.empty()) {
            unbalanced(
                line,
                fmt::format(
                    "'{}' on line {} closes nothing that was opened before it", closer, line),
                fmt::format(
                    "remove the '{}' on line {} (or add what it should close)", closer, line));
        } else {
            unbalanced(line,
                       fmt::format("'{}' on line {} does not close the '{}' opened on line {}",
                                   closer,
                                   line,
                                   groups.back().opener,
                                   groups.back().line),
                       fmt::format("make the '{}' opened on line {} and the '{}' on line {} match",
                                   groups.back().opener,
                                   groups.back().line,
                                   closer,
                                   line));
            groups.pop_back();
        }
    };
    for (const auto& logical : scan(text)) {
        bool command_position = true;
        bool first_command = true;
        bool redirect_target = false; // the next word names a file or descriptor
        const auto& words = logical.words;
        for (std::size_t i = 0; i < words.size(); ++i) {
            const Word& w = words[i];
            const std::string_view wt = text.substr(w.begin, w.end - w.begin);
            if (w.unclosed) {
                unbalanced(w.line,
                           fmt::format("the {} opened on line {} is never closed, so /bin/sh "
                                       "reads the rest of the file into it (or stops with a "
                                       "syntax error) and never sees what follows",
                                       w.open_what,
                                       w.open_line),
                           fmt::format("close the {} opened on line {}", w.open_what, w.open_line));
            }
            if (w.op && is_redirection(wt)) {
                // A redirection may sit anywhere in a simple command and changes neither
                // whether the next word is a command nor whether this is the first one.
                redirect_target = true;
                continue;
            }
            if (!w.op && redirect_target) {
                redirect_target = false;
                continue;
            }
            redirect_target = false;
            if (w.op) {
                if (wt == "(") {
                    groups.push_back({"(", w.line});
                } else if (wt == ")" && !(!groups.empty() && groups.back().opener == "case")) {
                    close_group(")", w.line); // a case pattern's ')' closes nothing
                }
                command_position = true;
                first_command = false;
                continue;
            }
            if (!command_position) {
                continue;
            }
            static constexpr std::array<std::string_view, 6> openers = {
                "if", "while", "until", "case", "for", "select"};
            if (const auto* opener = std::find(openers.begin(), openers.end(), wt);
                opener != openers.end() || wt == "{") {
                groups.push_back({opener != openers.end() ? *opener : "{", w.line});
                command_position = wt != "case" && wt != "for" && wt != "select";
                first_command = false;
                continue;
            }
            if (wt == "then" || wt == "do" || wt == "else" || wt == "elif" || wt == "!") {
                first_command = false;
                continue;
            }
            if (wt == "fi" || wt == "done" || wt == "esac" || wt == "}") {
                close_group(wt, w.line);
                command_position = false;
                first_command = false;
                continue;
            }
            if (wt == "export") {
                continue;
            }
            if (wt == "." || wt == "source" || wt == "eval") {
                out.problems.push_back(
                    {w.line,
                     fmt::format("'{}' runs shell code pt cannot follow, which may set {} or {}",
                                 wt,
                                 k_grub_cmdline,
                                 k_grub_cmdline_default),
                     {},
                     false});
                command_position = false;
                first_command = false;
                continue;
            }
            if (wt == "unset" || wt == "readonly" || wt == "read" || wt == "local") {
                for (std::size_t j = i + 1; j < words.size() && !words[j].op; ++j) {
                    const auto arg = text.substr(words[j].begin, words[j].end - words[j].begin);
                    const auto eq = arg.find('=');
                    if (is_ours(arg.substr(0, eq))) {
                        out.problems.push_back(
                            {w.line,
                             fmt::format("'{}' changes {}", wt, arg.substr(0, eq)),
                             {},
                             false});
                    }
                }
                command_position = false;
                first_command = false;
                continue;
            }
            const auto assigned = assigned_name(wt);
            if (!assigned) {
                command_position = false;
                first_command = false;
                continue;
            }
            const auto [name, append] = *assigned;
            if (!is_ours(name)) {
                continue; // another variable, or a prefix assignment; the command may follow
            }
            std::optional<std::string> problem;
            if (!groups.empty()) {
                problem = fmt::format("{} is set inside an if, case, loop or function, so its "
                                      "value depends on shell code pt does not run",
                                      name);
            } else if (!first_command) {
                problem = fmt::format(
                    "{} is set after other commands on the same line (conditionally or in a "
                    "list)",
                    name);
            } else if (append) {
                problem =
                    fmt::format("{} is appended to with +=, which /bin/sh does not know", name);
            } else if (w.multiline || w.unclosed || logical.first_line != logical.last_line) {
                problem = fmt::format("the value of {} spans several lines", name);
            } else if (i + 1 < words.size()) {
                problem = fmt::format(
                    "{} is followed by more shell code on the same line (a command or another "
                    "assignment)",
                    name);
            }
            GrubAssignment a;
            a.variable = std::string(name);
            a.line = w.line;
            if (!problem) {
                problem = parse_value(text, w, name, a);
            }
            if (problem) {
                out.problems.push_back({w.line, std::move(*problem), {}, false});
            } else {
                out.assignments.push_back(std::move(a));
            }
            command_position = false;
            first_command = false;
        }
    }
    for (const auto& group : groups) {
        unbalanced(group.line,
                   fmt::format("the '{}' opened on line {} is never closed{}",
                               group.opener,
                               group.line,
                               group.opener == "(" ? " (no matching ')')" : ""),
                   fmt::format("close the '{}' opened on line {}", group.opener, group.line));
    }
    std::stable_sort(out.problems.begin(),
                     out.problems.end(),
                     [](const GrubProblem& a, const GrubProblem& b) { return a.line < b.line; });
    return out;
}

GrubConfig::GrubConfig(std::vector<GrubFile> files_in)
    : files(std::move(files_in)) {
    for (const auto& file : files) {
        parsed.push_back(parse_grub_default(file.text));
    }
}

std::vector<std::string> GrubConfig::problems() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < files.size(); ++i) {
        for (const auto& problem : parsed[i].problems) {
            out.push_back(
                fmt::format("{} line {}: {}", files[i].path, problem.line, problem.message));
        }
    }
    return out;
}

std::optional<std::string> GrubConfig::first_problem() const {
    for (std::size_t i = 0; i < files.size(); ++i) {
        if (!parsed[i].problems.empty()) {
            const auto& problem = parsed[i].problems.front();
            if (problem.unbalanced) {
                // sh cannot parse the file as pt reads it, so no edit can be placed safely.
                return fmt::format("{} line {}: {}; {} of {}, then run pt grub again",
                                   files[i].path,
                                   problem.line,
                                   problem.message,
                                   problem.fix,
                                   files[i].path);
            }
            return fmt::format("{} line {}: {}; {}",
                               files[i].path,
                               problem.line,
                               problem.message,
                               line_problem_hint(files[i].path));
        }
    }
    return std::nullopt;
}

const GrubAssignment& GrubConfig::at(const AssignmentRef& ref) const {
    return parsed[ref.file].assignments[ref.index];
}

GrubValue GrubConfig::evaluate(std::string_view variable) const {
    GrubValue out;
    for (std::size_t f = 0; f < files.size(); ++f) {
        for (std::size_t a = 0; a < parsed[f].assignments.size(); ++a) {
            const auto& assignment = parsed[f].assignments[a];
            if (assignment.variable != variable) {
                continue;
            }
            std::string value;
            for (const auto& part : assignment.parts) {
                value += part.self_ref ? out.value : part.text;
            }
            out.value = std::move(value);
            if (!assignment.has_self_ref()) {
                out.chain.clear();
            }
            out.chain.push_back({f, a});
            out.last = AssignmentRef{f, a};
        }
    }
    return out;
}

std::string GrubConfig::cmdline() const {
    const auto linux_value = evaluate(k_grub_cmdline).value;
    const auto default_value = evaluate(k_grub_cmdline_default).value;
    std::string out;
    for (const auto& params : kernel::tokenize_cmdline(linux_value)) {
        out += out.empty() ? "" : " ";
        out += linux_value.substr(params.begin, params.end - params.begin);
    }
    for (const auto& params : kernel::tokenize_cmdline(default_value)) {
        out += out.empty() ? "" : " ";
        out += default_value.substr(params.begin, params.end - params.begin);
    }
    return out;
}

GrubEdit edit_grub_cmdline(const GrubConfig& config, const std::vector<ParamOp>& ops) {
    if (const auto problem = config.first_problem()) {
        throw Error(*problem);
    }
    if (config.files.empty()) {
        throw Error("no GRUB configuration file to edit");
    }
    // grub-mkconfig copies both values onto the kernel's line, where an unclosed double quote
    // swallows every later parameter (lib/cmdline.c next_arg), including one pt appends.
    for (const auto variable : {k_grub_cmdline, k_grub_cmdline_default}) {
        const GrubValue value = config.evaluate(variable);
        if (value.last && unclosed_quote(value.value)) {
            const auto& path = config.files[value.last->file].path;
            const auto line = config.at(*value.last).line;
            throw Error(fmt::format(
                "{} line {}: the value of {} has a double quote (\") that is never closed, so "
                "the kernel reads everything after it as the value of one parameter "
                "(lib/cmdline.c next_arg) and a parameter pt adds would land inside it; close "
                "the quote in the value on line {} of {} (or remove it), then run pt grub again",
                path,
                line,
                variable,
                line,
                path));
        }
    }

    // Every literal piece that reaches the kernel, in the order the kernel sees it.
    struct Place {
        std::optional<AssignmentRef> ref; // nullopt: the new assignment
        std::size_t part = 0;
    };

    std::vector<Segment> segments;
    std::vector<Place> places;
    const auto expand = [&](const GrubValue& value) {
        // chain[k] refers back to chain[k-1]; walk the last one, descending at its reference.
        const auto walk = [&](const auto& self, std::size_t k) -> void {
            const AssignmentRef ref = value.chain[k];
            const auto& assignment = config.at(ref);
            for (std::size_t p = 0; p < assignment.parts.size(); ++p) {
                const auto& part = assignment.parts[p];
                if (part.self_ref) {
                    if (k > 0) {
                        self(self, k - 1);
                    }
                    continue;
                }
                Segment segment{part.text};
                segment.ref_before = p > 0 && assignment.parts[p - 1].self_ref;
                segment.ref_after =
                    p + 1 < assignment.parts.size() && assignment.parts[p + 1].self_ref;
                segments.push_back(std::move(segment));
                places.push_back({ref, p});
            }
        };
        if (!value.chain.empty()) {
            walk(walk, value.chain.size() - 1);
        }
    };
    expand(config.evaluate(k_grub_cmdline));
    const GrubValue default_value = config.evaluate(k_grub_cmdline_default);
    expand(default_value);

    std::size_t add_to = 0;
    if (default_value.last) {
        const auto& last = config.at(*default_value.last);
        std::size_t last_literal = 0;
        for (std::size_t p = 0; p < last.parts.size(); ++p) {
            if (!last.parts[p].self_ref) {
                last_literal = p;
            }
        }
        for (std::size_t s = 0; s < places.size(); ++s) {
            if (places[s].ref && places[s].ref->file == default_value.last->file
                && places[s].ref->index == default_value.last->index
                && places[s].part == last_literal) {
                add_to = s;
            }
        }
    } else {
        segments.push_back(Segment{});
        places.push_back({std::nullopt, 0});
        add_to = segments.size() - 1;
    }

    EditResult edited = edit_params(segments, add_to, ops);

    GrubEdit out;
    for (const auto& file : config.files) {
        out.texts.push_back(file.text);
    }
    // New literal text per assignment part.
    std::map<std::pair<std::size_t, std::size_t>, std::map<std::size_t, std::string>> by_assignment;
    std::optional<std::string> new_assignment;
    for (std::size_t s = 0; s < places.size(); ++s) {
        if (!places[s].ref) {
            if (!edited.segments[s].text.empty()) {
                new_assignment = edited.segments[s].text;
            }
            continue;
        }
        if (edited.segments[s].text != segments[s].text) {
            by_assignment[{places[s].ref->file, places[s].ref->index}][places[s].part] =
                edited.segments[s].text;
        }
    }
    // Splice, last assignment of a file first so earlier offsets stay valid.
    for (auto it = by_assignment.rbegin(); it != by_assignment.rend(); ++it) {
        const auto [file, index] = it->first;
        const auto& assignment = config.parsed[file].assignments[index];
        std::string content;
        bool quote = false; // an unquoted value whose literal text needs quotes now
        for (std::size_t p = 0; p < assignment.parts.size(); ++p) {
            const auto& part = assignment.parts[p];
            const auto replaced = it->second.find(p);
            const std::string& literal =
                replaced != it->second.end() ? replaced->second : part.text;
            if (!part.self_ref && replaced != it->second.end()) {
                check_writable(assignment, literal, config.files[file].path);
            }
            content += part.self_ref ? part.text : literal;
            quote = quote || (!part.self_ref && needs_quotes(literal));
        }
        std::string& text = out.texts[file];
        // Double quotes, like the assignments pt writes new: they keep a self-reference
        // expanding, and check_writable has kept '"', '\\', '$' and '`' out of the literals.
        if (assignment.quote == Quote::none && quote) {
            content = "\"" + content + "\"";
        }
        text.replace(
            assignment.value_begin, assignment.value_end - assignment.value_begin, content);
    }
    std::size_t new_line = 0;
    if (new_assignment) {
        GrubAssignment fresh;
        fresh.quote = Quote::double_quote;
        check_writable(fresh, *new_assignment, config.files.front().path);
        std::string& text = out.texts.front();
        // A last line ending in an unescaped backslash would join the line pt adds to it
        // (XCU 2.2.1: backslash-newline is a line continuation).
        std::size_t end = text.size();
        if (end > 0 && text[end - 1] == '\n') {
            --end;
        }
        std::size_t backslashes = 0;
        while (backslashes < end && text[end - 1 - backslashes] == '\\') {
            ++backslashes;
        }
        if (backslashes % 2 == 1) {
            const auto& path = config.files.front().path;
            throw Error(fmt::format(
                "{} line {}: the last line ends with a backslash, so "
                "/bin/sh would join the {} line pt adds to it; remove the "
                "backslash at the end of {} (or end the file with an empty "
                "line), then run pt grub again",
                path,
                std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(end), '\n') + 1,
                k_grub_cmdline_default,
                path));
        }
        if (!text.empty() && text.back() != '\n') {
            text += '\n';
        }
        new_line = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
        text += fmt::format("{}=\"{}\"\n", k_grub_cmdline_default, *new_assignment);
    }
    for (auto& change : edited.changes) {
        const Place& place = places[change.segment];
        GrubChange located;
        if (place.ref) {
            const auto& assignment = config.at(*place.ref);
            located.path = config.files[place.ref->file].path;
            located.line = assignment.line;
            located.variable = assignment.variable;
        } else {
            located.path = config.files.front().path;
            located.line = new_line;
            located.variable = std::string(k_grub_cmdline_default);
        }
        located.change = std::move(change);
        out.changes.push_back(std::move(located));
    }
    return out;
}

std::string
with_cmdline_params(std::string_view text, const std::vector<ParamOp>& ops, std::string_view path) {
    const GrubConfig config({GrubFile{std::string(path), std::string(text)}});
    return edit_grub_cmdline(config, ops).texts.front();
}

} // namespace pt::conf
