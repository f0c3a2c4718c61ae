// SPDX-License-Identifier: MIT
// pt grub: the kernel command line, whatever the bootloader.
#include "cmd/common.hpp"
#include "pt/boot/detect.hpp"
#include "pt/driver/next_boot.hpp"
#include "pt/edit/plan.hpp"
#include "pt/error.hpp"
#include "pt/exit_code.hpp"
#include "pt/grub/plan.hpp"
#include "pt/grub/report.hpp"
#include "pt/grub/report_render.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"

#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

namespace pt::cmd {
namespace {

struct Options {
    bool iommu_pt = false;
    bool sysfb_off = false;
    std::vector<std::string> vfio_ids;
    bool acs_override = false;
    std::vector<std::string> add;
    std::vector<std::string> remove;
    WriterOptions writer;
};

std::string title(const Options& opt) {
    std::string out = "pt grub";
    if (opt.iommu_pt) {
        out += " --iommu-pt";
    }
    if (opt.sysfb_off) {
        out += " --sysfb-off";
    }
    for (const auto& sel : opt.vfio_ids) {
        out += " --vfio-ids " + sel;
    }
    if (opt.acs_override) {
        out += " --acs-override";
    }
    for (const auto& p : opt.add) {
        out += " --add " + p;
    }
    for (const auto& p : opt.remove) {
        out += " --remove " + p;
    }
    return out;
}

grub::Request make_request(const Options& opt) {
    grub::Request request;
    request.iommu_pt = opt.iommu_pt;
    request.sysfb_off = opt.sysfb_off;
    request.acs_override = opt.acs_override;
    for (const auto& text : opt.vfio_ids) {
        request.vfio_devices.push_back(pci::parse_selector(text));
    }
    for (const auto& text : opt.add) {
        request.add.push_back(grub::parse_request_param(text, "--add"));
    }
    for (const auto& text : opt.remove) {
        request.remove.push_back(grub::parse_request_param(text, "--remove"));
    }
    grub::check_request(request);
    return request;
}

int run(const Globals& globals, const Options& opt) {
    grub::Request request = make_request(opt);
    const model::Host model(open_root(globals));
    if (!request.any_option() && !opt.writer.apply) {
        const grub::Report report = grub::read_report(model);
        if (globals.json) {
            print_json(grub::to_json(report));
        } else {
            fmt::print("{}", grub::render_text(report, text_style(globals)));
        }
        return to_int(ExitCode::ok);
    }
    grub::Planned planned = grub::plan_cmdline_changes(model, request);
    for (const auto& text : planned.warnings) {
        warn(text);
    }
    planned.plan.title = title(opt);
    driver::add_next_boot_notes(model, planned.plan, planned.vfio_devices, planned.next_cmdline);
    return run_plan(globals, model.root(), planned.plan, opt.writer);
}

} // namespace

Command register_grub(CLI::App& parent, Globals& globals) {
    auto opt = std::make_shared<Options>();
    auto* sub = parent.add_subcommand(
        "grub",
        "Show or change the kernel command line, whatever the bootloader (GRUB, "
        "proxmox-boot-tool with GRUB or systemd-boot)");
    add_global_options(*sub, globals);
    sub->add_flag("--iommu-pt",
                  opt->iommu_pt,
                  "Add iommu=pt: identity DMA for host devices (changes no IOMMU group)");
    sub->add_flag("--sysfb-off",
                  opt->sysfb_off,
                  "Add initcall_blacklist=sysfb_init: no firmware framebuffer on the boot GPU");
    sub->add_option("--vfio-ids",
                    opt->vfio_ids,
                    "Add vfio-pci.ids= with the IDs of the IOMMU group endpoints of the devices "
                    "SEL matches (repeatable)")
        ->type_name("SEL")
        ->check(non_empty_validator())
        ->check(selector_validator())
        ->take_all();
    sub->add_flag("--acs-override",
                  opt->acs_override,
                  "Add pcie_acs_override=downstream,multifunction (weakens isolation; read the "
                  "warning)");
    sub->add_option("--add", opt->add, "Add kernel parameter PARAM, or set its value (repeatable)")
        ->type_name("PARAM")
        ->check(non_empty_validator())
        ->take_all();
    sub->add_option("--remove",
                    opt->remove,
                    "Remove PARAM (name=value: that value only; name: every occurrence) "
                    "(repeatable)")
        ->type_name("PARAM")
        ->check(non_empty_validator())
        ->take_all();
    add_writer_options(*sub, opt->writer);
    sub->footer("Without options or --apply, pt grub shows the bootloader, the configured and the "
                "running command line and what the defaults would change.\nSEL is 0000:01:00.0, "
                "01:00.0, 01:00 (every function of the slot) or 10de:2204 (vendor:device).\nSee "
                "pt-grub(1).");
    return {sub, [opt](const Globals& parsed) {
                return run(parsed, *opt);
            }};
}

} // namespace pt::cmd
