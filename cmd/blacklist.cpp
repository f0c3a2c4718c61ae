// SPDX-License-Identifier: MIT
// pt blacklist: keep a GPU vendor's host drivers off the GPU being passed through.
#include "pt/driver/blacklist.hpp"

#include "cmd/common.hpp"
#include "pt/edit/plan.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/topology.hpp"

#include <memory>
#include <string>
#include <vector>

namespace pt::cmd {
namespace {

struct Options {
    std::vector<std::string> selectors;
    bool softdep = false;
    bool hard = false;
    bool remove = false;
    WriterOptions writer;
};

int run(const Globals& globals, const Options& opt) {
    const model::Host model(open_root(globals));

    driver::BlacklistRequest request;
    request.selectors = opt.selectors;
    request.softdep = opt.softdep;
    request.hard = opt.hard;
    request.remove = opt.remove;
    request.title = "pt blacklist";
    for (const auto& selector : opt.selectors) {
        request.title += " " + selector;
    }
    for (const auto& [flag, on] : {std::pair{"--softdep", opt.softdep},
                                   std::pair{"--hard", opt.hard},
                                   std::pair{"--remove", opt.remove}}) {
        if (on) {
            request.title += std::string(" ") + flag;
        }
    }

    const edit::Plan plan = driver::plan_blacklist(model, request);
    if (!globals.quiet) {
        for (const auto& text : model.topology().warnings) {
            warn(text);
        }
    }
    return run_plan(globals, model.root(), plan, opt.writer);
}

} // namespace

Command register_blacklist(CLI::App& parent, Globals& globals) {
    auto opt = std::make_shared<Options>();
    auto* sub = parent.add_subcommand(
        "blacklist",
        "Keep the host's GPU drivers off the GPU being passed through (one modprobe.d file)");
    add_global_options(*sub, globals);
    sub->add_option(
           "SEL",
           opt->selectors,
           "The GPU, or several (default: the display devices on vfio-pci, else the only one that "
           "is not the boot VGA)")
        ->check(selector_validator());
    sub->add_flag("--softdep",
                  opt->softdep,
                  "Write softdep DRIVER pre: vfio-pci instead of blacklisting (vfio-pci loads "
                  "first; the driver stays usable)");
    sub->add_flag("--hard",
                  opt->hard,
                  "Also write install DRIVER /bin/false: blacklist only stops loading by device "
                  "alias, this stops every load");
    sub->add_flag(
        "--remove",
        opt->remove,
        "Take pt's entries out: remove pt's file, or with SEL only that GPU vendor's entries");
    add_writer_options(*sub, opt->writer);
    sub->footer("SEL is 0000:01:00.0, 01:00.0, 01:00 (every function of the slot) or 10de:2204 "
                "(vendor:device).\npt writes only /etc/modprobe.d/pt-blacklist.conf. See "
                "pt-blacklist(1).");
    return {sub, [opt](const Globals& parsed) {
                return run(parsed, *opt);
            }};
}

} // namespace pt::cmd
