// SPDX-License-Identifier: MIT
// Kernel-parameter edits for the grub_default and kernel_cmdline_file targets.
// Control line: up to 4 words, each `+PARAM` (set, as `pt grub --add PARAM`) or `-PARAM`
// (remove, as `pt grub --remove PARAM`). PARAM goes through grub::parse_request_param, the CLI's
// own validation, so the fuzzer only asks what a user could ask; a refused word is dropped.
#pragma once

#include "pt/conf/kernel_cmdline_file.hpp"
#include "pt/error.hpp"
#include "pt/grub/plan.hpp"
#include "pt/kernel/cmdline.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_support.hpp"

namespace pt::fuzz {

inline std::vector<conf::ParamOp> parse_ops(std::string_view control) {
    std::vector<conf::ParamOp> ops;
    for (const auto word : words(control, 4)) {
        if (word.size() < 2 || (word.front() != '+' && word.front() != '-')) {
            continue;
        }
        try {
            auto param = grub::parse_request_param(word.substr(1), "--add");
            ops.push_back(
                {word.front() == '+' ? conf::ParamOp::Kind::set : conf::ParamOp::Kind::remove,
                 std::move(param),
                 "fuzz"});
        } catch (const UsageError&) {
        }
    }
    // grub::check_request refuses --add and --remove of the same parameter (the remove without a
    // value or with the added one): a word contradicting an earlier one is dropped, as the CLI
    // never asks for both.
    std::vector<conf::ParamOp> kept;
    for (auto& op : ops) {
        const bool contradicts = std::any_of(kept.begin(), kept.end(), [&](const conf::ParamOp& k) {
            if (k.kind == op.kind || !kernel::same_param_name(k.param.name, op.param.name)) {
                return false;
            }
            const auto& remove = k.kind == conf::ParamOp::Kind::remove ? k.param : op.param;
            const auto& add = k.kind == conf::ParamOp::Kind::set ? k.param : op.param;
            return !remove.value || remove.value == add.value;
        });
        if (!contradicts) {
            kept.push_back(std::move(op));
        }
    }
    return kept;
}

inline std::vector<std::string> comma_items(const std::string& value) {
    std::vector<std::string> items;
    std::size_t pos = 0;
    while (true) {
        const auto comma = value.find(',', pos);
        items.push_back(value.substr(pos, comma == std::string::npos ? comma : comma - pos));
        if (comma == std::string::npos) {
            return items;
        }
        pos = comma + 1;
    }
}

// The option that cancels `option` (lib/pt/conf/kernel_cmdline_file.cpp, opposites()).
inline std::optional<std::string> opposite(std::string_view name, std::string_view option) {
    if (kernel::same_param_name(name, "intel_iommu")) {
        if (option == "on") {
            return "off";
        }
        if (option == "off") {
            return "on";
        }
    }
    if (kernel::same_param_name(name, "iommu")) {
        if (option == "pt") {
            return "nopt";
        }
        if (option == "nopt") {
            return "pt";
        }
    }
    return std::nullopt;
}

inline std::string describe(const conf::ParamOp& op) {
    std::string out = op.kind == conf::ParamOp::Kind::set ? "set " : "remove ";
    out += op.param.name;
    if (op.param.value) {
        out += "=" + *op.param.value;
    }
    return out;
}

// The command line `params` (what the kernel gets) satisfies the last op of each name, the
// contract of conf::edit_params in kernel_cmdline_file.hpp.
inline void check_effect(const std::vector<kernel::Param>& params,
                         const std::vector<conf::ParamOp>& ops,
                         const std::string& cmdline) {
    for (std::size_t i = 0; i < ops.size(); ++i) {
        const auto& op = ops[i];
        const bool later =
            std::any_of(ops.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                        ops.end(),
                        [&](const conf::ParamOp& o) {
                            return kernel::same_param_name(o.param.name, op.param.name);
                        });
        if (later) {
            continue;
        }
        const auto detail = describe(op) + " -> cmdline " + show(cmdline);
        std::vector<const kernel::Param*> same;
        for (const auto& p : params) {
            if (kernel::same_param_name(p.name, op.param.name)) {
                same.push_back(&p);
            }
        }
        if (op.kind == conf::ParamOp::Kind::remove) {
            for (const auto* p : same) {
                require(op.param.value && p->value != op.param.value,
                        "a removed parameter is still on the command line",
                        detail);
            }
            continue;
        }
        const auto rule =
            op.param.value ? conf::param_rule(op.param.name) : conf::ParamRule::last_wins;
        if (rule == conf::ParamRule::last_wins) {
            require(!same.empty() && same.back()->value == op.param.value,
                    "the last occurrence of a set parameter lacks the requested value",
                    detail);
        } else if (rule == conf::ParamRule::option_list) {
            // Each requested option (intel_iommu=on,igfx_off asks two) is the last of itself and
            // its opposite across every occurrence.
            const auto wanted = comma_items(*op.param.value);
            for (std::size_t k = 0; k < wanted.size(); ++k) {
                const auto& want = wanted[k];
                const auto against = opposite(op.param.name, want);
                if (std::find(
                        wanted.begin() + static_cast<std::ptrdiff_t>(k) + 1, wanted.end(), against)
                    != wanted.end()) {
                    continue; // "on,off" asks for off in the end
                }
                std::optional<std::string> last;
                for (const auto* p : same) {
                    if (!p->value) {
                        continue;
                    }
                    for (const auto& item : comma_items(*p->value)) {
                        if (item == want || item == against) {
                            last = item;
                        }
                    }
                }
                require(last == want,
                        "the last option of an option-list parameter is not the requested one",
                        detail);
            }
        } else {
            const bool initcall = kernel::same_param_name(op.param.name, "initcall_blacklist");
            const auto wanted =
                initcall ? comma_items(*op.param.value) : std::vector{*op.param.value};
            for (const auto& want : wanted) {
                const bool present = std::any_of(same.begin(), same.end(), [&](const auto* p) {
                    if (!p->value) {
                        return false;
                    }
                    if (initcall) {
                        const auto items = comma_items(*p->value);
                        return std::find(items.begin(), items.end(), want) != items.end();
                    }
                    return *p->value == want;
                });
                require(present, "an accumulating parameter lacks the requested value", detail);
            }
        }
    }
}

} // namespace pt::fuzz
