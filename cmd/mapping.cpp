// SPDX-License-Identifier: MIT
// pt mapping: this node's entry of a cluster-wide Proxmox PCI mapping (/etc/pve/mapping/pci.cfg).
#include "pt/proxmox/mapping.hpp"

#include "cmd/common.hpp"
#include "pt/error.hpp"
#include "pt/exit_code.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/topology.hpp"
#include "pt/proxmox/vm_files.hpp"

#include <fmt/format.h>

#include <memory>
#include <string>

namespace pt::cmd {
namespace {

struct Options {
    std::string name;
    std::string selector;
    bool check = false;
    WriterOptions writer;
};

int run_check(const Globals& globals, const Options& opt) {
    const model::Host model(open_root(globals));
    const host::Root& root = model.root();
    const auto findings = proxmox::check_mappings(
        model, opt.name.empty() ? std::nullopt : std::optional<std::string>(opt.name));
    int counts[4] = {0, 0, 0, 0};
    for (const auto& f : findings) {
        ++counts[static_cast<int>(f.status)];
    }
    const bool failed = counts[static_cast<int>(check::Status::fail)] > 0;
    const auto node = proxmox::local_node(root).value_or("");
    if (globals.json) {
        auto list = out::Json::array();
        for (const auto& f : findings) {
            list.push_back(out::Json{{"id", f.id},
                                     {"status", check::to_string(f.status)},
                                     {"summary", f.summary},
                                     {"evidence", f.evidence},
                                     {"fix", f.fix}});
        }
        print_json(out::Json{
            {"node", node},
            {"file", proxmox::k_mapping_file},
            {"findings", list},
            {"summary",
             {{"pass", counts[0]}, {"warn", counts[1]}, {"fail", counts[2]}, {"skip", counts[3]}}},
            {"ok", !failed}});
    } else {
        const auto style = text_style(globals);
        fmt::print("node {}: {}\n", node, proxmox::k_mapping_file);
        for (const auto& f : findings) {
            fmt::print("  {:<4}  {}  {}\n", check::to_string(f.status), f.id, f.summary);
            if (!style.quiet && f.status != check::Status::pass) {
                fmt::print("        at:  {}\n", f.evidence);
                if (!f.fix.empty()) {
                    fmt::print("        fix: {}\n", f.fix);
                }
            }
        }
        if (!style.quiet) {
            fmt::print("{} fail, {} warn, {} pass\n", counts[2], counts[1], counts[0]);
        }
    }
    return to_int(failed ? ExitCode::checks_failed : ExitCode::ok);
}

int run(const Globals& globals, const Options& opt) {
    if (opt.check) {
        if (!opt.selector.empty() || opt.writer.apply) {
            throw UsageError("--check only reads: it takes at most a mapping NAME");
        }
        return run_check(globals, opt);
    }
    if (opt.name.empty() || opt.selector.empty()) {
        throw UsageError("give the mapping and the device: pt mapping NAME SEL (or pt mapping "
                         "--check)");
    }
    const model::Host model(open_root(globals));
    const auto plan = proxmox::plan_mapping(
        model, opt.name, opt.selector, fmt::format("pt mapping {} {}", opt.name, opt.selector));
    return run_plan(globals, model.root(), plan, opt.writer);
}

} // namespace

Command register_mapping(CLI::App& parent, Globals& globals) {
    auto opt = std::make_shared<Options>();
    auto* sub = parent.add_subcommand(
        "mapping",
        "Add or check this node's entry of a cluster-wide PCI mapping (/etc/pve/mapping/pci.cfg)");
    add_global_options(*sub, globals);
    sub->add_option("NAME", opt->name, "The mapping ID (what VMs name with hostpciN: mapping=ID)")
        ->check(non_empty_validator());
    sub->add_option(
           "SEL", opt->selector, "This node's device: 0000:0b:00 (every function) or 0000:0b:00.0")
        ->check(non_empty_validator())
        ->check(selector_validator());
    sub->add_flag("--check",
                  opt->check,
                  "Compare this node's entries (of NAME, or of every mapping) with the hardware "
                  "as Proxmox does at VM start; exit 3 on a mismatch");
    sub->add_flag("--apply",
                  opt->writer.apply,
                  "Write /etc/pve/mapping/pci.cfg atomically (the previous version goes to the "
                  "journal; pt undo restores it). Without it, only show the diff");
    sub->footer("Other nodes' entries and other mappings stay byte for byte. See pt-mapping(1).");
    return {sub, [opt](const Globals& parsed) {
                return run(parsed, *opt);
            }};
}

} // namespace pt::cmd
