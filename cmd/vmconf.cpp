// SPDX-License-Identifier: MIT
// pt vmconf: add a PCI device to a Proxmox VM config with the documented GPU defaults, or lint
// VM configs (--check).
#include "cmd/common.hpp"
#include "pt/error.hpp"
#include "pt/exit_code.hpp"
#include "pt/host/root.hpp"
#include "pt/pci/topology.hpp"
#include "pt/proxmox/lint.hpp"
#include "pt/proxmox/vmconf_plan.hpp"

#include <fmt/format.h>

#include <memory>
#include <optional>
#include <string>

namespace pt::cmd {
namespace {

struct Options {
    std::optional<int> vmid;
    std::string selector;
    bool check = false;
    bool all = false;
    bool function_only = false;
    bool no_x_vga = false;
    bool set_machine = false;
    bool ovmf = false;
    std::optional<int> rombar;
    std::string romfile;
    bool hide_hypervisor = false;
    std::string mapping;
    std::string remove;
    bool qm = false;
    WriterOptions writer;
};

out::Json finding_json(const check::Finding& f) {
    return out::Json{{"id", f.id},
                     {"status", check::to_string(f.status)},
                     {"summary", f.summary},
                     {"evidence", f.evidence},
                     {"fix", f.fix}};
}

int run_check(const Globals& globals, const Options& opt) {
    if (opt.vmid && opt.all) {
        throw UsageError("--check takes either VMID or --all");
    }
    if (!opt.vmid && !opt.all) {
        throw UsageError("--check needs a VMID, or --all for every VM");
    }
    const host::Root root = open_root(globals);
    const auto results = proxmox::lint_vms(root, opt.all ? std::nullopt : opt.vmid);
    int counts[4] = {0, 0, 0, 0};
    for (const auto& vm : results) {
        for (const auto& f : vm.findings) {
            ++counts[static_cast<int>(f.status)];
        }
    }
    const bool failed = counts[static_cast<int>(check::Status::fail)] > 0;
    if (globals.json) {
        auto vms = out::Json::array();
        for (const auto& vm : results) {
            auto findings = out::Json::array();
            for (const auto& f : vm.findings) {
                findings.push_back(finding_json(f));
            }
            vms.push_back(out::Json{{"vmid", vm.vm.vmid},
                                    {"node", vm.vm.node},
                                    {"path", vm.vm.path},
                                    {"local", vm.vm.local},
                                    {"findings", findings}});
        }
        print_json(out::Json{{"vms", vms},
                             {"summary",
                              {{"vms", results.size()},
                               {"pass", counts[0]},
                               {"warn", counts[1]},
                               {"fail", counts[2]},
                               {"skip", counts[3]}}},
                             {"ok", !failed}});
    } else {
        const auto style = text_style(globals);
        if (results.empty()) {
            fmt::print("no VM configs under {}\n", root.map("/etc/pve").string());
        }
        for (const auto& vm : results) {
            fmt::print("VM {} ({}{}): {}\n",
                       vm.vm.vmid,
                       vm.vm.node,
                       vm.vm.local ? "" : ", another node",
                       vm.vm.path);
            for (const auto& f : vm.findings) {
                fmt::print("  {:<4}  {}  {}\n", check::to_string(f.status), f.id, f.summary);
                if (!style.quiet && f.status != check::Status::pass) {
                    fmt::print("        at:  {}\n", f.evidence);
                    if (!f.fix.empty()) {
                        fmt::print("        fix: {}\n", f.fix);
                    }
                }
            }
        }
        if (!style.quiet) {
            fmt::print("{} VM{}: {} fail, {} warn, {} pass\n",
                       results.size(),
                       results.size() == 1 ? "" : "s",
                       counts[2],
                       counts[1],
                       counts[0]);
        }
    }
    return to_int(failed ? ExitCode::checks_failed : ExitCode::ok);
}

std::string title_of(const Options& opt) {
    std::string title = fmt::format("pt vmconf {}", opt.vmid.value_or(0));
    if (!opt.selector.empty()) {
        title += " " + opt.selector;
    }
    const std::pair<const char*, bool> flags[] = {{"--function-only", opt.function_only},
                                                  {"--no-x-vga", opt.no_x_vga},
                                                  {"--set-machine", opt.set_machine},
                                                  {"--ovmf", opt.ovmf},
                                                  {"--hide-hypervisor", opt.hide_hypervisor}};
    for (const auto& [flag, on] : flags) {
        if (on) {
            title += std::string(" ") + flag;
        }
    }
    if (opt.rombar) {
        title += fmt::format(" --rombar {}", *opt.rombar);
    }
    if (!opt.romfile.empty()) {
        title += " --romfile " + opt.romfile;
    }
    if (!opt.mapping.empty()) {
        title += " --mapping " + opt.mapping;
    }
    if (!opt.remove.empty()) {
        title += " --remove " + opt.remove;
    }
    return title;
}

int run(const Globals& globals, const Options& opt) {
    if (opt.check || opt.all) {
        if (!opt.check) {
            throw UsageError("--all goes with --check (pt vmconf --check --all)");
        }
        if (!opt.selector.empty() || opt.function_only || opt.no_x_vga || opt.set_machine
            || opt.ovmf || opt.rombar || !opt.romfile.empty() || opt.hide_hypervisor
            || !opt.mapping.empty() || !opt.remove.empty() || opt.qm || opt.writer.apply) {
            throw UsageError("--check only reads: it takes VMID or --all, and no device or edit "
                             "option");
        }
        return run_check(globals, opt);
    }
    if (!opt.vmid) {
        throw UsageError("give the VM: pt vmconf VMID SEL (or pt vmconf --check --all)");
    }
    if (opt.qm && opt.writer.apply) {
        throw UsageError("--qm prints the qm set command instead of editing: leave out --apply");
    }
    const host::Root root = open_root(globals);
    const pci::Topology topology = pci::scan(root, nullptr);

    proxmox::VmconfRequest request;
    request.vmid = *opt.vmid;
    if (!opt.selector.empty()) {
        request.selector = opt.selector;
    }
    if (!opt.remove.empty()) {
        request.remove = opt.remove;
    }
    if (!opt.mapping.empty()) {
        request.mapping = opt.mapping;
    }
    if (!opt.romfile.empty()) {
        request.romfile = opt.romfile;
    }
    if (opt.rombar) {
        request.rombar = *opt.rombar != 0;
    }
    request.function_only = opt.function_only;
    request.x_vga = !opt.no_x_vga;
    request.set_machine = opt.set_machine;
    request.ovmf = opt.ovmf;
    request.hide_hypervisor = opt.hide_hypervisor;
    request.qm = opt.qm;
    request.title = title_of(opt);

    const auto planned = proxmox::plan_vmconf(root, topology, request);
    if (!globals.quiet) {
        for (const auto& text : topology.warnings) {
            warn(text);
        }
    }
    if (opt.qm) {
        const auto command = proxmox::qm_command(planned);
        if (globals.json) {
            print_json(out::Json{
                {"vmid", planned.vm.vmid},
                {"node", planned.vm.node},
                {"command", command ? out::Json(*command) : out::Json(nullptr)},
                {"notes", planned.plan.notes},
            });
            return to_int(ExitCode::ok);
        }
        if (!command) {
            fmt::print("nothing to do: VM {} already has this\n", planned.vm.vmid);
            return to_int(ExitCode::ok);
        }
        fmt::print("{}\n", *command);
        if (!text_style(globals).quiet) {
            for (const auto& note : planned.plan.notes) {
                fmt::print("note: {}\n", note);
            }
            if (!planned.vm.local) {
                fmt::print("note: run it on node {} (qm edits the VMs of the node it runs on)\n",
                           planned.vm.node);
            }
        }
        return to_int(ExitCode::ok);
    }
    return run_plan(globals, root, planned.plan, opt.writer);
}

} // namespace

Command register_vmconf(CLI::App& parent, Globals& globals) {
    auto opt = std::make_shared<Options>();
    auto* sub = parent.add_subcommand(
        "vmconf",
        "Add a PCI device to a Proxmox VM config with GPU defaults, or lint VM configs (--check)");
    add_global_options(*sub, globals);
    sub->add_option("VMID", opt->vmid, "The VM (its file under /etc/pve/nodes/*/qemu-server)")
        ->check(non_empty_validator())
        ->check(CLI::Range(1, 999'999'999));
    sub->add_option("SEL",
                    opt->selector,
                    "The device to add: its whole slot by default (0000:0b:00), see "
                    "--function-only")
        ->check(non_empty_validator())
        ->check(selector_validator());
    sub->add_flag("--check",
                  opt->check,
                  "Lint the VM config instead of editing it (every VM with --all); exit 3 when "
                  "a finding is an error");
    sub->add_flag("--all", opt->all, "With --check, lint every VM of every node");
    sub->add_flag("--function-only",
                  opt->function_only,
                  "Pass only the function SEL names (0000:0b:00.0), not every function of its "
                  "slot");
    sub->add_flag("--no-x-vga",
                  opt->no_x_vga,
                  "No x-vga=1 (a compute-only GPU, not the VM's display); removes an existing one");
    sub->add_flag("--set-machine",
                  opt->set_machine,
                  "Switch an explicit i440fx machine to q35, which pcie=1 needs");
    sub->add_flag("--ovmf",
                  opt->ovmf,
                  "Set bios: ovmf (UEFI); prints the qm set command for a missing efidisk0");
    sub->add_option("--rombar", opt->rombar, "rombar=0 hides the device's ROM from the guest")
        ->check(non_empty_validator())
        ->check(CLI::IsMember({0, 1}))
        ->type_name("0|1");
    sub->add_option("--romfile",
                    opt->romfile,
                    "romfile=NAME: a ROM file under /usr/share/kvm/, relative to it (Proxmox "
                    "prefixes the directory)")
        ->type_name("NAME")
        ->check(non_empty_validator());
    sub->add_flag("--hide-hypervisor",
                  opt->hide_hypervisor,
                  "Set hidden=1 in cpu: (cpu: host,hidden=1 when absent), keeping other cpu "
                  "options; never args: -cpu");
    sub->add_option("--mapping",
                    opt->mapping,
                    "Write mapping=ID (a cluster PCI mapping, see pt-mapping(1)) instead of the "
                    "host address")
        ->type_name("ID")
        ->check(non_empty_validator());
    sub->add_option("--remove",
                    opt->remove,
                    "Remove the hostpci entries that pass this device instead of adding one")
        ->type_name("SEL")
        ->check(non_empty_validator())
        ->check(selector_validator());
    sub->add_flag(
        "--qm", opt->qm, "Print the equivalent qm set command instead of editing the file");
    sub->add_flag("--apply",
                  opt->writer.apply,
                  "Write the VM config atomically under the VM's lock (the previous version goes "
                  "to the journal; pt undo restores it). Without it, only show the diff");
    sub->footer("SEL is 0000:0b:00.0, 0b:00.0, 0b:00 (every function of the slot) or 10de:2204 "
                "(vendor:device).\nA running VM gets the change in [PENDING]; it applies at its "
                "next full stop and start. See pt-vmconf(1).");
    return {sub, [opt](const Globals& parsed) {
                return run(parsed, *opt);
            }};
}

} // namespace pt::cmd
