// SPDX-License-Identifier: MIT
// pt setup SEL --vm VMID: the kernel command line, the host drivers, vfio-pci, an optional cluster
// mapping and the VM's config, planned as one and applied as one journal entry.
#include "cmd/common.hpp"
#include "pt/error.hpp"
#include "pt/model/host.hpp"
#include "pt/profile/plan.hpp"
#include "pt/setup/plan.hpp"
#include "pt/setup/render.hpp"

#include <fmt/format.h>

#include <ctime>
#include <memory>
#include <string>
#include <utility>

namespace pt::cmd {
namespace {

struct Options {
    std::string selector;
    int vmid = 0;
    bool compute = false;
    bool display = false;
    bool keep_cpu = false;
    bool ovmf = false;
    bool set_machine = false;
    std::string mapping;
    bool include_group = false;
    bool force = false;
    std::string save;
    WriterOptions writer;
};

std::string title_of(const Options& opt) {
    std::string title = fmt::format("pt setup {} --vm {}", opt.selector, opt.vmid);
    const std::pair<const char*, bool> flags[] = {{"--compute", opt.compute},
                                                  {"--display", opt.display},
                                                  {"--keep-cpu", opt.keep_cpu},
                                                  {"--ovmf", opt.ovmf},
                                                  {"--set-machine", opt.set_machine},
                                                  {"--include-group", opt.include_group},
                                                  {"--force", opt.force}};
    for (const auto& [flag, on] : flags) {
        if (on) {
            title += std::string(" ") + flag;
        }
    }
    if (!opt.mapping.empty()) {
        title += " --mapping " + opt.mapping;
    }
    return title;
}

setup::Request request_of(const Options& opt) {
    if (opt.compute && opt.display) {
        throw UsageError("--compute (headless: no x-vga, cpu: host) and --display (the card is "
                         "the VM's screen) exclude each other: give one of them");
    }
    if (opt.keep_cpu && opt.display) {
        throw UsageError("--keep-cpu goes with --compute: --display leaves the CPU type alone");
    }
    setup::Card card;
    card.selector = opt.selector;
    card.vmid = opt.vmid;
    card.role = opt.display ? proxmox::GpuRole::display : proxmox::GpuRole::compute;
    card.keep_cpu = opt.keep_cpu;
    card.ovmf = opt.ovmf;
    card.set_machine = opt.set_machine;
    if (!opt.mapping.empty()) {
        card.mapping = opt.mapping;
    }
    setup::Request request;
    request.cards.push_back(std::move(card));
    request.include_group = opt.include_group;
    request.force = opt.force;
    request.time = static_cast<std::int64_t>(std::time(nullptr));
    request.title = title_of(opt);
    return request;
}

int run(const Globals& globals, const Options& opt) {
    const setup::Request request = request_of(opt);
    // A broken profile at --save is said before anything is planned or written.
    const auto existing = opt.save.empty() ? std::nullopt : profile::load_if_exists(opt.save);
    const model::Host model(open_root(globals));
    const setup::Planned planned = setup::plan_setup(model, request);
    if (!opt.save.empty()) {
        const auto described = profile::describe_setup(model, request, planned, existing);
        profile::save(opt.save, described.profile);
        if (!globals.quiet) {
            for (const auto& entry : described.dropped) {
                warn(fmt::format(
                    "{}: dropped the entry of {} from this node's section", opt.save, entry));
            }
        }
        if (!globals.quiet && !globals.json) {
            note(fmt::format("wrote the profile {}{}: pt profile {} --check says whether this "
                             "node matches it",
                             opt.save,
                             opt.writer.apply
                                 ? ""
                                 : " (it describes the plan; the host changes only with --apply)",
                             opt.save));
        }
    }
    if (!globals.quiet) {
        for (const auto& text : model.topology().warnings) {
            warn(text);
        }
    }
    if (!globals.json) {
        fmt::print("{}", setup::render_steps(request, planned));
    }
    const int code =
        run_plan(globals, model.root(), planned.plan, opt.writer, [&](out::Json& json) {
            setup::add_to_json(json, request, planned);
        });
    if (!globals.json) {
        // Nothing left to apply once --apply ran, or when the host already has it all.
        const bool nothing_to_apply = opt.writer.apply || planned.plan.empty();
        fmt::print("\n{}", setup::render_remaining(planned, nothing_to_apply));
    }
    return code;
}

} // namespace

Command register_setup(CLI::App& parent, Globals& globals) {
    auto opt = std::make_shared<Options>();
    auto* sub = parent.add_subcommand(
        "setup",
        "Pass a card to a VM in one reviewed step: kernel command line, host drivers, vfio-pci, "
        "mapping and VM config as one plan");
    add_global_options(*sub, globals);
    sub->add_option("SEL",
                    opt->selector,
                    "The card: its slot (81:00), one of its functions, or "
                    "vendor:device when only one card has it")
        ->required()
        ->check(selector_validator());
    sub->add_option("--vm", opt->vmid, "The VM that gets the card")
        ->required()
        ->type_name("VMID")
        ->check(CLI::Range(1, 999'999'999));
    sub->add_flag("--compute",
                  opt->compute,
                  "Headless use, the default (inference, transcoding): no x-vga, cpu: host "
                  "unless the VM names a CPU type");
    sub->add_flag("--display",
                  opt->display,
                  "The card is the VM's screen: x-vga=1 on SeaBIOS (the Proxmox console then "
                  "shows nothing)");
    sub->add_flag("--keep-cpu", opt->keep_cpu, "With --compute, leave the VM's CPU type alone");
    sub->add_flag("--ovmf",
                  opt->ovmf,
                  "Set bios: ovmf (UEFI); prints the qm set command for a missing efidisk0");
    sub->add_flag("--set-machine",
                  opt->set_machine,
                  "Switch an explicit i440fx machine to q35, which pcie=1 needs");
    sub->add_option("--mapping",
                    opt->mapping,
                    "Also write this node's entry of the cluster PCI mapping NAME and pass "
                    "mapping=NAME instead of the host address")
        ->type_name("NAME")
        ->check(non_empty_validator());
    sub->add_flag("--include-group",
                  opt->include_group,
                  "Also bind the endpoints of other slots in the card's IOMMU group (as pt bind)");
    sub->add_flag("--force",
                  opt->force,
                  "Bind even a device the host needs (as pt bind --force), and edit a template");
    sub->add_option("--save",
                    opt->save,
                    "Also write the profile of this setup to FILE (this node's section; other "
                    "nodes' sections stay), for pt profile FILE --check")
        ->type_name("FILE")
        ->check(non_empty_validator());
    add_writer_options(*sub, opt->writer);
    sub->footer("Without --apply pt only shows the plan: each step with the single command that "
                "plans the same, then one diff. --apply writes it as one journal entry (pt undo "
                "restores every file). See pt-setup(1).");
    return {sub, [opt](const Globals& parsed) {
                return run(parsed, *opt);
            }};
}

} // namespace pt::cmd
