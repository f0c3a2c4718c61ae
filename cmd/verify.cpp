// SPDX-License-Identifier: MIT
// pt verify: check the whole passthrough chain, on the host or in the guest.
#include "cmd/common.hpp"
#include "pt/check/container.hpp"
#include "pt/check/guest.hpp"
#include "pt/check/report.hpp"
#include "pt/check/runner.hpp"
#include "pt/error.hpp"
#include "pt/exit_code.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"

#include <fmt/format.h>

#include <memory>

namespace pt::cmd {
namespace {

struct Options {
    std::string selector;
    int vmid = 0;
    int ctid = 0;
    bool guest = false;
};

int run(const Globals& globals, const Options& opt, bool vm_given, bool ct_given) {
    if (opt.guest && (vm_given || ct_given || !opt.selector.empty())) {
        throw UsageError(
            "--guest checks the GPU from inside the VM; SEL, --vm and --ct are host options");
    }
    if (vm_given && ct_given) {
        throw UsageError("--vm checks a VM and --ct a container: give one of them");
    }
    const host::Root root = open_root(globals);
    check::Report report;
    if (opt.guest) {
        report = check::verify_guest(root);
    } else if (ct_given) {
        check::ContainerRequest request;
        request.ctid = opt.ctid;
        if (!opt.selector.empty()) {
            request.selector = opt.selector;
        }
        report = check::verify_container(model::Host(root), request);
    } else {
        check::HostRequest request;
        if (!opt.selector.empty()) {
            request.selector = opt.selector;
        }
        if (vm_given) {
            request.vmid = opt.vmid;
        }
        report = check::verify_host(root, request);
    }
    if (!globals.quiet) {
        for (const auto& note : report.notes) {
            warn(note);
        }
    }
    if (globals.json) {
        print_json(check::to_json(report));
    } else {
        fmt::print("{}", check::render_text(report, text_style(globals)));
    }
    return report.failed() ? to_int(ExitCode::checks_failed) : to_int(ExitCode::ok);
}

} // namespace

Command register_verify(CLI::App& parent, Globals& globals) {
    auto opt = std::make_shared<Options>();
    auto* sub = parent.add_subcommand("verify",
                                      "Check the whole passthrough chain, on the host or in the "
                                      "guest, with cause and fix for every failure");
    add_global_options(*sub, globals);
    sub->add_option("SEL",
                    opt->selector,
                    "The GPU to check (default: every display device on vfio-pci or named in a "
                    "VM config)")
        ->check(selector_validator());
    auto* vm = sub->add_option("--vm",
                               opt->vmid,
                               "Check only this VM's config and mappings (default: every VM with "
                               "hostpci entries)")
                   ->check(CLI::Range(100, 999999999));
    auto* ct = sub->add_option("--ct",
                               opt->ctid,
                               "Check container CTID's share of a card instead (pt lxc): host "
                               "driver, device nodes, its config lines, NVIDIA userspace version")
                   ->type_name("CTID")
                   ->check(CLI::Range(100, 999999999));
    sub->add_flag("--guest",
                  opt->guest,
                  "Run inside the VM: the passed-through GPU as the guest sees it (bus, PCIe "
                  "link, driver, device nodes, nvidia-smi)");
    sub->footer("SEL is 0000:01:00.0, 01:00.0, 01:00 (every function of the slot) or 10de:2204 "
                "(vendor:device).\nRead-only. Exit status 0: nothing failed (warnings allowed); "
                "3: a check failed. Check ids: pt-verify(1).");
    return {sub, [opt, vm, ct](const Globals& parsed) {
                return run(parsed, *opt, vm->count() > 0, ct->count() > 0);
            }};
}

} // namespace pt::cmd
