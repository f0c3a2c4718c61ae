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

#include <algorithm>
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
    bool display = false;
    bool compute = false;
    std::string cpu;
    bool force = false;
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

check::Status vm_status(const std::vector<check::Finding>& findings) {
    const auto has = [&](check::Status status) {
        return std::any_of(findings.begin(), findings.end(), [&](const check::Finding& f) {
            return f.status == status;
        });
    };
    for (const auto status : {check::Status::fail, check::Status::warn, check::Status::pass}) {
        if (has(status)) {
            return status;
        }
    }
    return check::Status::skip;
}

std::string count_text(const int (&counts)[4]) {
    std::string out = fmt::format("{} fail, {} warn, {} pass", counts[2], counts[1], counts[0]);
    if (counts[3] > 0) {
        out += fmt::format(", {} skip", counts[3]);
    }
    return out;
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
    // Findings by status, and VMs by their worst finding (fail, then warn, then pass; a VM
    // with only skipped findings, a template, counts as skip).
    int counts[4] = {0, 0, 0, 0};
    int vm_counts[4] = {0, 0, 0, 0};
    for (const auto& vm : results) {
        for (const auto& f : vm.findings) {
            ++counts[static_cast<int>(f.status)];
        }
        ++vm_counts[static_cast<int>(vm_status(vm.findings))];
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
                                    {"status", check::to_string(vm_status(vm.findings))},
                                    {"findings", findings}});
        }
        print_json(out::Json{{"vms", vms},
                             {"summary",
                              {{"vms", results.size()},
                               {"pass", counts[0]},
                               {"warn", counts[1]},
                               {"fail", counts[2]},
                               {"skip", counts[3]},
                               {"vms_by_status",
                                {{"pass", vm_counts[0]},
                                 {"warn", vm_counts[1]},
                                 {"fail", vm_counts[2]},
                                 {"skip", vm_counts[3]}}}}},
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
            fmt::print("{} VM{}: {}; findings: {}\n",
                       results.size(),
                       results.size() == 1 ? "" : "s",
                       count_text(vm_counts),
                       count_text(counts));
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
                                                  {"--display", opt.display},
                                                  {"--compute", opt.compute},
                                                  {"--force", opt.force},
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
    if (!opt.cpu.empty()) {
        title += " --cpu " + opt.cpu;
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
        if (!opt.selector.empty() || opt.function_only || opt.no_x_vga || opt.display || opt.compute
            || opt.set_machine || opt.ovmf || opt.rombar || !opt.romfile.empty()
            || opt.hide_hypervisor || !opt.cpu.empty() || opt.force || !opt.mapping.empty()
            || !opt.remove.empty() || opt.qm || opt.writer.apply) {
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
    if (opt.display && (opt.compute || opt.no_x_vga)) {
        throw UsageError("--display makes the GPU the VM's display (x-vga=1) and --compute "
                         "(--no-x-vga) keeps it compute-only: give one of them");
    }
    if (opt.display) {
        request.role = proxmox::GpuRole::display;
    } else if (opt.compute || opt.no_x_vga) {
        request.role = proxmox::GpuRole::compute;
    }
    if (!opt.cpu.empty()) {
        request.cpu = opt.cpu;
    }
    request.force = opt.force;
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
    sub->add_flag("--display",
                  opt->display,
                  "Make the GPU the VM's display: x-vga=1 on SeaBIOS (the Proxmox console then "
                  "shows nothing); the default is a compute-only entry");
    sub->add_flag("--compute",
                  opt->compute,
                  "A compute-only entry (the default for a new one): removes an existing x-vga=1");
    sub->add_flag("--no-x-vga", opt->no_x_vga, "The same as --compute");
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
                  "Set hidden=1 in cpu:, keeping other cpu options; a CPU type that names "
                  "itself QEMU's (kvm64, the default, qemu64, x86-64-v*) becomes host; never "
                  "args: -cpu");
    sub->add_option("--cpu",
                    opt->cpu,
                    "Set the VM's CPU type in cpu: (host, x86-64-v3, custom-NAME), keeping its "
                    "other cpu options")
        ->type_name("TYPE")
        ->check(non_empty_validator());
    sub->add_flag("--force",
                  opt->force,
                  "Edit a template (template: 1); clones made from it afterwards inherit the "
                  "change");
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
