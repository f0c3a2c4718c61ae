// SPDX-License-Identifier: MIT
// pt advise [SEL]: VM passthrough, LXC sharing or bare metal for a card, from this host's facts.
#include "pt/advise/advise.hpp"

#include "cmd/common.hpp"
#include "pt/exit_code.hpp"
#include "pt/model/host.hpp"

#include <fmt/format.h>

#include <memory>
#include <string>

namespace pt::cmd {
namespace {

struct Options {
    std::string selector;
    bool display = false;
    bool share = false;
};

int run(const Globals& globals, const Options& opt) {
    advise::Request request;
    if (!opt.selector.empty()) {
        request.selector = opt.selector;
    }
    request.display = opt.display;
    request.share = opt.share;
    const model::Host model(open_root(globals));
    const auto advice = advise::advise(model, request);
    if (globals.json) {
        print_json(advise::to_json(advice));
    } else {
        fmt::print("{}", advise::render_text(advice));
    }
    return to_int(ExitCode::ok);
}

} // namespace

Command register_advise(CLI::App& parent, Globals& globals) {
    auto opt = std::make_shared<Options>();
    auto* sub = parent.add_subcommand(
        "advise",
        "Say whether to pass a card to a VM, share it into containers or keep it on the host, "
        "from this host's facts");
    add_global_options(*sub, globals);
    sub->add_option("SEL",
                    opt->selector,
                    "The card (default: the one GPU the host can spare): its slot, a function, "
                    "or vendor:device")
        ->check(selector_validator());
    sub->add_flag("--display",
                  opt->display,
                  "The card is to drive a screen (gaming, a desktop), not only compute");
    sub->add_flag("--share",
                  opt->share,
                  "Several containers or services are to use the card at the same time");
    sub->footer("Read-only. Prints the recommendation (vm, lxc or bare-metal), the reasons from "
                "this host, the risks and the first command. See pt-advise(1).");
    return {sub, [opt](const Globals& parsed) {
                return run(parsed, *opt);
            }};
}

} // namespace pt::cmd
