// SPDX-License-Identifier: MIT
// pt lxc CTID SEL: a container shares a card through the host's driver (its device nodes in the
// container's config).
#include "cmd/common.hpp"
#include "pt/lxc/plan.hpp"
#include "pt/model/host.hpp"

#include <fmt/format.h>

#include <memory>
#include <string>

namespace pt::cmd {
namespace {

struct Options {
    int ctid = 0;
    std::string selector;
    bool remove = false;
    WriterOptions writer;
};

int run(const Globals& globals, const Options& opt) {
    lxc::Request request;
    request.ctid = opt.ctid;
    request.selector = opt.selector;
    request.remove = opt.remove;
    request.title =
        fmt::format("pt lxc {} {}{}", opt.ctid, opt.selector, opt.remove ? " --remove" : "");
    const model::Host model(open_root(globals));
    const auto planned = lxc::plan_lxc(model, request);
    return run_plan(globals, model.root(), planned.plan, opt.writer, [&](out::Json& json) {
        lxc::add_to_json(json, planned);
    });
}

} // namespace

Command register_lxc(CLI::App& parent, Globals& globals) {
    auto opt = std::make_shared<Options>();
    auto* sub = parent.add_subcommand(
        "lxc",
        "Share a card into a container through the host's driver: its device nodes as devN: "
        "lines of the container's config");
    add_global_options(*sub, globals);
    sub->add_option("CTID", opt->ctid, "The container")
        ->required()
        ->check(CLI::Range(100, 999'999'999));
    sub->add_option(
           "SEL", opt->selector, "The card: its slot, one of its functions, or vendor:device")
        ->required()
        ->check(selector_validator());
    sub->add_flag(
        "--remove", opt->remove, "Take the card's device nodes out of the container again");
    add_writer_options(*sub, opt->writer);
    sub->footer("Without --apply pt only shows the diff of the container's config. See pt-lxc(1).");
    return {sub, [opt](const Globals& parsed) {
                return run(parsed, *opt);
            }};
}

} // namespace pt::cmd
