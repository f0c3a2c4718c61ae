// SPDX-License-Identifier: MIT
// pt grub: the kernel command line, whatever the bootloader.
#include "cmd/common.hpp"
#include "pt/boot/cmdline_plan.hpp"
#include "pt/boot/detect.hpp"
#include "pt/edit/plan.hpp"
#include "pt/error.hpp"
#include "pt/exit_code.hpp"
#include "pt/host/root.hpp"

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

boot::Request make_request(const Options& opt) {
    boot::Request request;
    request.iommu_pt = opt.iommu_pt;
    request.sysfb_off = opt.sysfb_off;
    request.acs_override = opt.acs_override;
    for (const auto& text : opt.vfio_ids) {
        request.vfio_devices.push_back(pci::parse_selector(text));
    }
    for (const auto& text : opt.add) {
        request.add.push_back(boot::parse_request_param(text, "--add"));
    }
    for (const auto& text : opt.remove) {
        request.remove.push_back(boot::parse_request_param(text, "--remove"));
    }
    boot::check_request(request);
    return request;
}

std::string_view action_name(conf::ParamChange::Kind kind) {
    switch (kind) {
    case conf::ParamChange::Kind::add:
        return "add";
    case conf::ParamChange::Kind::replace:
        return "replace";
    case conf::ParamChange::Kind::remove:
        return "remove";
    }
    return {};
}

out::Json nullable(const std::optional<std::string>& value) {
    return value ? out::Json(*value) : out::Json(nullptr);
}

out::Json to_json(const boot::Status& status) {
    out::Json sources = out::Json::array();
    for (const auto& s : status.sources) {
        sources.push_back(
            {{"path", s.path},
             {"line", s.line},
             {"variable", s.variable.empty() ? out::Json(nullptr) : out::Json(s.variable)},
             {"value", s.value}});
    }
    out::Json needed = out::Json::array();
    for (const auto& c : status.needed) {
        needed.push_back({{"action", action_name(c.change.kind)},
                          {"name", c.change.name},
                          {"old_value", nullable(c.change.old_value)},
                          {"new_value", nullable(c.change.new_value)},
                          {"path", c.path},
                          {"line", c.line},
                          {"reason", c.change.reason}});
    }
    out::Json follow_ups = out::Json::array();
    for (const auto f : status.follow_ups) {
        follow_ups.push_back(std::string(edit::command_line(f)));
    }
    return {
        {"bootloader", boot::to_string(status.detection.kind)},
        {"bootloader_name", boot::describe(status.detection.kind)},
        {"evidence", status.detection.evidence},
        {"doubts", status.detection.doubts},
        {"cpu", kernel::to_string(status.cpu)},
        {"kernel", nullable(status.kernel_release)},
        {"sources", sources},
        {"configured", nullable(status.configured)},
        {"running", nullable(status.running)},
        {"pending_reboot", status.pending},
        {"not_configured", status.not_configured},
        {"notes", status.notes},
        {"problems", status.problems},
        {"needed", needed},
        {"follow_ups", follow_ups},
    };
}

std::string render_text(const boot::Status& status, const out::TextStyle& style) {
    constexpr int width = 12;
    std::string out;
    const auto row = [&](std::string_view label, std::string_view value) {
        out += fmt::format("{:<{}} {}\n", label, width, value);
    };
    row("Bootloader:", boot::describe(status.detection.kind));
    if (!style.quiet) {
        for (const auto& line : status.detection.evidence) {
            row("", "because " + line);
        }
    }
    for (const auto& line : status.detection.doubts) {
        row("", "but " + line);
    }
    row("CPU:",
        fmt::format("{}, kernel {}",
                    kernel::to_string(status.cpu),
                    status.kernel_release.value_or("unknown")));
    row("Configured:", status.configured ? *status.configured : "unknown");
    for (const auto& s : status.sources) {
        row("",
            s.variable.empty()
                ? fmt::format("from {} line {}", s.path, s.line)
                : fmt::format("from {} line {}: {}=\"{}\"", s.path, s.line, s.variable, s.value));
    }
    row("Running:", status.running ? *status.running : "unknown (no /proc/cmdline)");
    if (status.notes.empty()) {
        row("Differences:",
            status.configured && status.running ? "none: the running kernel has the "
                                                  "configured parameters"
                                                : "cannot compare");
    } else {
        bool first = true;
        for (const auto& note : status.notes) {
            row(first ? "Differences:" : "", note);
            first = false;
        }
    }
    for (const auto& problem : status.problems) {
        row("Problem:", problem);
    }
    if (!status.problems.empty()) {
        return out;
    }
    if (status.needed.empty()) {
        row("Needed:",
            "nothing by default for this CPU and kernel (options: --iommu-pt, --sysfb-off, "
            "--vfio-ids, --acs-override, --add, --remove)");
        return out;
    }
    bool first = true;
    for (const auto& c : status.needed) {
        row(first ? "Needed:" : "",
            fmt::format(
                "{} ({} line {}): {}", c.change.describe(), c.path, c.line, c.change.reason));
        first = false;
    }
    std::string then;
    for (const auto f : status.follow_ups) {
        then += fmt::format("{}, ", edit::command_line(f));
    }
    row("",
        fmt::format("pt grub --apply makes these changes, then runs {}a reboot is needed", then));
    return out;
}

int run(const Globals& globals, const Options& opt) {
    boot::Request request = make_request(opt);
    const host::Root root = open_root(globals);
    if (!request.any_option() && !opt.writer.apply) {
        const boot::Status status = boot::read_status(root);
        if (globals.json) {
            print_json(to_json(status));
        } else {
            fmt::print("{}", render_text(status, text_style(globals)));
        }
        return to_int(ExitCode::ok);
    }
    boot::Planned planned = boot::plan_cmdline_changes(root, request);
    for (const auto& text : planned.warnings) {
        warn(text);
    }
    planned.plan.title = title(opt);
    return run_plan(globals, root, planned.plan, opt.writer);
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
