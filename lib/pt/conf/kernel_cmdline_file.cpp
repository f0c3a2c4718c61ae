// SPDX-License-Identifier: MIT
#include "pt/conf/kernel_cmdline_file.hpp"

#include "pt/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

namespace pt::conf {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string format_param(std::string_view name, const std::optional<std::string>& value) {
    return value ? fmt::format("{}={}", name, *value) : std::string(name);
}

std::vector<std::string> split_commas(std::string_view text) {
    std::vector<std::string> items;
    std::size_t pos = 0;
    while (true) {
        const auto comma = text.find(',', pos);
        items.emplace_back(
            text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos));
        if (comma == std::string_view::npos) {
            return items;
        }
        pos = comma + 1;
    }
}

std::string join_commas(const std::vector<std::string>& items) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        out += i == 0 ? "" : ",";
        out += items[i];
    }
    return out;
}

// The opposite of an option of an option_list parameter: intel_iommu_setup (drivers/iommu/intel/
// iommu.c) takes "on" and "off" in turn; x86 iommu_setup (arch/x86/kernel/pci-dma.c) takes "pt"
// and "nopt".
std::vector<std::string_view> opposites(std::string_view name, std::string_view option) {
    if (kernel::same_param_name(name, "intel_iommu")) {
        if (option == "on") {
            return {"off"};
        }
        if (option == "off") {
            return {"on"};
        }
    }
    if (kernel::same_param_name(name, "iommu")) {
        if (option == "pt") {
            return {"nopt"};
        }
        if (option == "nopt") {
            return {"pt"};
        }
    }
    return {};
}

struct Located {
    std::size_t segment = 0;
    ParamToken token;
};

std::vector<Located> locate(const std::vector<Segment>& segments, std::string_view name) {
    std::vector<Located> found;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        for (auto& token : kernel::tokenize_cmdline(segments[i].text)) {
            if (kernel::same_param_name(token.param.name, name)) {
                found.push_back({i, std::move(token)});
            }
        }
    }
    return found;
}

// The token's original name spelling with a new value ("vfio_pci.ids" stays "vfio_pci.ids").
// A value with whitespace (one that came in double quotes) keeps them, or it would fall apart
// into several parameters.
void replace_token(Segment& segment,
                   const ParamToken& token,
                   const std::optional<std::string>& value) {
    const bool quote =
        value && std::any_of(value->begin(), value->end(), [](char c) { return is_space(c); });
    segment.text.replace(token.begin,
                         token.end - token.begin,
                         quote ? fmt::format("{}=\"{}\"", token.param.name, *value)
                               : format_param(token.param.name, value));
}

// Takes the token out with the whitespace before it (or, first in the piece, after it), then
// restores the separator a neighbouring self-reference needs.
void remove_token(Segment& segment, const ParamToken& token) {
    std::string& text = segment.text;
    std::size_t begin = token.begin;
    std::size_t end = token.end;
    if (begin > 0 && is_space(text[begin - 1])) {
        while (begin > 0 && is_space(text[begin - 1])) {
            --begin;
        }
    } else {
        while (end < text.size() && is_space(text[end])) {
            ++end;
        }
    }
    text.erase(begin, end - begin);
    if (std::all_of(text.begin(), text.end(), is_space)) {
        text.clear();
        return;
    }
    if (segment.ref_before && !is_space(text.front())) {
        text.insert(text.begin(), ' ');
    }
    if (segment.ref_after && !is_space(text.back())) {
        text += ' ';
    }
}

void append_token(Segment& segment, const std::string& token) {
    std::string& text = segment.text;
    std::size_t core_end = text.size();
    while (core_end > 0 && is_space(text[core_end - 1])) {
        --core_end;
    }
    std::string trail = text.substr(core_end);
    text.erase(core_end);
    if (!text.empty() || segment.ref_before) {
        text += ' ';
    }
    text += token;
    if (trail.empty() && segment.ref_after) {
        trail.push_back(' ');
    }
    text += trail;
}

// The options a comma-list value asks for, each once: of an option repeated or followed by its
// opposite ("on,off"), only the last counts, as the kernel processes them in order.
std::vector<std::string> wanted_items(std::string_view name, std::string_view value) {
    const auto asked = split_commas(value);
    std::vector<std::string> wanted;
    for (std::size_t k = 0; k < asked.size(); ++k) {
        const auto against = opposites(name, asked[k]);
        const bool later = std::any_of(
            asked.begin() + static_cast<std::ptrdiff_t>(k) + 1, asked.end(), [&](const auto& l) {
                return l == asked[k]
                       || std::find(against.begin(), against.end(), l) != against.end();
            });
        if (!later) {
            wanted.push_back(asked[k]);
        }
    }
    return wanted;
}

// set for a parameter whose value is a comma list read item by item, across every occurrence:
// intel_iommu= and iommu= (option_list: intel_iommu_setup in drivers/iommu/intel/iommu.c and
// iommu_setup in arch/x86/kernel/pci-dma.c walk the options of each occurrence in turn) and
// initcall_blacklist= (init/main.c initcall_blacklist adds every item of every occurrence). Each
// requested item is compared on its own, never the whole value with one item, so a request
// already satisfied changes nothing. An option_list item whose opposite comes last is replaced
// inside that token; the items found nowhere are added together as one new parameter
// ("intel_iommu=on" + "on,igfx_off" -> "intel_iommu=on intel_iommu=igfx_off"), as a single item
// always was: existing tokens keep their bytes.
void set_comma_items(std::vector<Segment>& segments,
                     std::size_t add_to,
                     const ParamOp& op,
                     ParamRule rule,
                     std::vector<ParamChange>& changes) {
    const auto& want = op.param;
    std::vector<std::string> missing;
    for (const auto& item : wanted_items(want.name, *want.value)) {
        const auto found = locate(segments, want.name);
        const auto against = rule == ParamRule::option_list ? opposites(want.name, item)
                                                            : std::vector<std::string_view>{};
        // The last item that is the wanted one or its opposite: (found index, item index).
        std::optional<std::pair<std::size_t, std::size_t>> last;
        for (std::size_t i = 0; i < found.size(); ++i) {
            if (!found[i].token.param.value) {
                continue;
            }
            const auto items = split_commas(*found[i].token.param.value);
            for (std::size_t j = 0; j < items.size(); ++j) {
                if (items[j] == item
                    || std::find(against.begin(), against.end(), items[j]) != against.end()) {
                    last = {i, j};
                }
            }
        }
        if (!last) {
            missing.push_back(item);
            continue;
        }
        const Located& where = found[last->first];
        auto items = split_commas(*where.token.param.value);
        if (items[last->second] == item) {
            continue;
        }
        const std::string old_value = *where.token.param.value;
        items[last->second] = item;
        const std::string new_value = join_commas(items);
        replace_token(segments[where.segment], where.token, new_value);
        changes.push_back({ParamChange::Kind::replace,
                           where.token.param.name,
                           old_value,
                           new_value,
                           where.segment,
                           op.reason});
    }
    if (missing.empty()) {
        return;
    }
    const std::string value = join_commas(missing);
    append_token(segments[add_to], format_param(want.name, value));
    changes.push_back({ParamChange::Kind::add, want.name, std::nullopt, value, add_to, op.reason});
}

void apply_set(std::vector<Segment>& segments,
               std::size_t add_to,
               const ParamOp& op,
               std::vector<ParamChange>& changes) {
    const auto& want = op.param;
    const auto found = locate(segments, want.name);
    const auto add = [&] {
        append_token(segments[add_to], format_param(want.name, want.value));
        changes.push_back(
            {ParamChange::Kind::add, want.name, std::nullopt, want.value, add_to, op.reason});
    };
    const ParamRule rule = want.value ? param_rule(want.name) : ParamRule::last_wins;
    const bool comma_list = rule == ParamRule::option_list
                            || (rule == ParamRule::accumulate
                                && kernel::same_param_name(want.name, "initcall_blacklist"));
    if (rule == ParamRule::accumulate && !comma_list) {
        const bool present = std::any_of(found.begin(), found.end(), [&](const Located& l) {
            return l.token.param.value == want.value;
        });
        if (!present) {
            add();
        }
        return;
    }
    if (comma_list) {
        set_comma_items(segments, add_to, op, rule, changes);
        return;
    }
    if (found.empty()) {
        add();
        return;
    }
    const Located& where = found.back();
    if (where.token.param.value == want.value) {
        return;
    }
    replace_token(segments[where.segment], where.token, want.value);
    changes.push_back({ParamChange::Kind::replace,
                       where.token.param.name,
                       where.token.param.value,
                       want.value,
                       where.segment,
                       op.reason});
}

void apply_remove(std::vector<Segment>& segments,
                  const ParamOp& op,
                  std::vector<ParamChange>& changes) {
    // Later tokens first, so that the spans of earlier ones stay valid; reported in text order.
    const auto found = locate(segments, op.param.name);
    std::vector<ParamChange> removed;
    for (auto it = found.rbegin(); it != found.rend(); ++it) {
        if (op.param.value && it->token.param.value != op.param.value) {
            continue;
        }
        remove_token(segments[it->segment], it->token);
        removed.push_back({ParamChange::Kind::remove,
                           it->token.param.name,
                           it->token.param.value,
                           std::nullopt,
                           it->segment,
                           op.reason});
    }
    changes.insert(changes.end(), removed.rbegin(), removed.rend());
}

} // namespace

std::optional<std::size_t> unclosed_quote(std::string_view text) {
    std::optional<std::size_t> open;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '"') {
            open = open ? std::nullopt : std::optional<std::size_t>(i);
        }
    }
    return open;
}

ParamRule param_rule(std::string_view name) {
    static constexpr std::array<std::string_view, 2> option_lists = {"intel_iommu", "iommu"};
    // initcall_blacklist: every occurrence adds to the list (init/main.c initcall_blacklist);
    // video= and console= name one output each; modprobe.blacklist is collected by kmod from
    // every occurrence.
    static constexpr std::array<std::string_view, 4> accumulating = {
        "initcall_blacklist", "video", "console", "modprobe.blacklist"};
    for (const auto n : option_lists) {
        if (kernel::same_param_name(name, n)) {
            return ParamRule::option_list;
        }
    }
    for (const auto n : accumulating) {
        if (kernel::same_param_name(name, n)) {
            return ParamRule::accumulate;
        }
    }
    return ParamRule::last_wins;
}

std::string ParamChange::describe() const {
    switch (kind) {
    case Kind::add:
        return fmt::format("add {}", format_param(name, new_value));
    case Kind::replace:
        return fmt::format(
            "replace {} with {}", format_param(name, old_value), format_param(name, new_value));
    case Kind::remove:
        return fmt::format("remove {}", format_param(name, old_value));
    }
    return {};
}

EditResult
edit_params(std::vector<Segment> segments, std::size_t add_to, const std::vector<ParamOp>& ops) {
    if (add_to >= segments.size()) {
        throw UsageError("no place to add kernel parameters to");
    }
    const std::vector<Segment> before = segments;
    EditResult result;
    for (std::size_t i = 0; i < ops.size(); ++i) {
        const auto& op = ops[i];
        // A set that a later set of the same name overrides wholesale (a last_wins value, or a
        // flag and a value of one name: "--add iommu=pt --add iommu") is skipped, or each run
        // would add one and turn it into the other again.
        const bool overridden =
            op.kind == ParamOp::Kind::set
            && std::any_of(ops.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                           ops.end(),
                           [&](const ParamOp& later) {
                               return later.kind == ParamOp::Kind::set
                                      && kernel::same_param_name(later.param.name, op.param.name)
                                      && (!op.param.value || !later.param.value
                                          || param_rule(op.param.name) == ParamRule::last_wins);
                           });
        if (overridden) {
            continue;
        }
        if (op.kind == ParamOp::Kind::set) {
            apply_set(segments, add_to, op, result.changes);
        } else {
            apply_remove(segments, op, result.changes);
        }
    }
    // Ops that undo each other (--add foo=a --add foo=b on a line that has foo=b already, or a
    // removal and an addition of the same parameter) leave the text as it was: that is no change,
    // and reporting one would make every run look like it has work to do.
    const bool same = std::equal(
        before.begin(), before.end(), segments.begin(), [](const Segment& a, const Segment& b) {
            return a.text == b.text;
        });
    if (same) {
        result.changes.clear();
    }
    result.segments = std::move(segments);
    return result;
}

KernelCmdlineFile split_kernel_cmdline(std::string_view text) {
    KernelCmdlineFile file;
    const auto newline = text.find('\n');
    if (newline == std::string_view::npos) {
        file.first_line = std::string(text);
        return file;
    }
    file.first_line = std::string(text.substr(0, newline));
    file.newline = true;
    file.rest = std::string(text.substr(newline + 1));
    return file;
}

bool has_root_param(std::string_view line) {
    const auto params = kernel::parse_cmdline(line);
    return std::any_of(params.begin(), params.end(), [](const kernel::Param& p) {
        return p.name == "root" && p.value && !p.value->empty();
    });
}

std::string with_first_line(std::string_view text, std::string_view line) {
    const auto file = split_kernel_cmdline(text);
    std::string out(line);
    if (file.newline) {
        out += '\n';
        out += file.rest;
    }
    return out;
}

KernelCmdlineEdit
edit_kernel_cmdline(std::string_view text, const std::vector<ParamOp>& ops, std::string_view path) {
    const auto file = split_kernel_cmdline(text);
    if (const auto quote = unclosed_quote(file.first_line)) {
        throw Error(fmt::format(
            "{} line 1: the double quote (\") at column {} is never closed, so the kernel reads "
            "everything after it as the value of one parameter (lib/cmdline.c next_arg: double "
            "quotes group, nothing escapes them) and a parameter pt adds would land inside it; "
            "close the quote opened at column {} of line 1 of {} (or remove it), then run pt grub "
            "again",
            path,
            *quote + 1,
            *quote + 1,
            path));
    }
    if (!has_root_param(file.first_line)) {
        throw Error(fmt::format(
            "{} line 1 has no root= parameter, and proxmox-boot-tool refresh refuses such a file; "
            "put the root= of /proc/cmdline first on that line by hand (e.g. "
            "root=ZFS=rpool/ROOT/pve-1 boot=zfs), then run pt grub again",
            path));
    }
    auto result = edit_params({Segment{file.first_line}}, 0, ops);
    const std::string& line = result.segments.front().text;
    if (!has_root_param(line)) {
        throw Error(fmt::format("refusing to edit {}: the first line would lose its root= "
                                "parameter, and proxmox-boot-tool needs it to find the root file "
                                "system",
                                path));
    }
    return {with_first_line(text, line), std::move(result.changes)};
}

} // namespace pt::conf
