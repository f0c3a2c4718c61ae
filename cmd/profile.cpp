// SPDX-License-Identifier: MIT
// pt profile FILE: the plan that makes this node match its section of a profile (--apply applies
// it), or with --check whether it matches.
#include "cmd/common.hpp"
#include "pt/error.hpp"
#include "pt/exit_code.hpp"
#include "pt/model/host.hpp"
#include "pt/profile/plan.hpp"
#include "pt/profile/render.hpp"
#include "pt/setup/render.hpp"

#include <fmt/format.h>

#include <ctime>
#include <memory>
#include <string>

namespace pt::cmd {
namespace {

struct Options {
    std::string file;
    bool check = false;
    WriterOptions writer;
};

int check(const Globals& globals,
          const model::Host& model,
          const profile::Profile& wanted,
          const Options& opt) {
    const auto result = profile::check_profile(
        model, wanted, opt.file, static_cast<std::int64_t>(std::time(nullptr)));
    if (globals.json) {
        print_json(profile::to_json(result));
    } else if (!globals.quiet || !result.converged) {
        fmt::print("{}", profile::render_check(result, opt.file));
    }
    return result.converged ? to_int(ExitCode::ok) : to_int(ExitCode::checks_failed);
}

int run(const Globals& globals, const Options& opt) {
    if (opt.check && opt.writer.apply) {
        throw UsageError("--check only reads: give --check or --apply, not both");
    }
    const auto wanted = profile::parse(profile::read_file(opt.file), opt.file);
    const model::Host model(open_root(globals));
    if (opt.check) {
        return check(globals, model, wanted, opt);
    }
    const auto planned = profile::plan_profile(model,
                                               wanted,
                                               opt.file,
                                               fmt::format("pt profile {}", opt.file),
                                               static_cast<std::int64_t>(std::time(nullptr)));
    if (!globals.quiet) {
        for (const auto& text : model.topology().warnings) {
            warn(text);
        }
    }
    if (!globals.json) {
        fmt::print("{}", profile::render_plan(planned, opt.file));
    }
    const int code =
        run_plan(globals, model.root(), planned.setup.plan, opt.writer, [&](out::Json& json) {
            profile::add_to_json(json, planned);
        });
    if (!globals.json) {
        const bool nothing_to_apply = opt.writer.apply || planned.setup.plan.empty();
        fmt::print("\n{}", setup::render_remaining(planned.setup, nothing_to_apply));
    }
    return code;
}

} // namespace

Command register_profile(CLI::App& parent, Globals& globals) {
    auto opt = std::make_shared<Options>();
    auto* sub = parent.add_subcommand(
        "profile",
        "Make this node match its section of a profile (a YAML file of the desired passthrough "
        "state), or --check whether it does");
    add_global_options(*sub, globals);
    sub->add_option("FILE", opt->file, "The profile (pt setup ... --save FILE writes one)")
        ->required()
        ->check(non_empty_validator());
    sub->add_flag("--check",
                  opt->check,
                  "Plan nothing: exit 0 when the host matches the profile (a pending reboot "
                  "included), 3 with the differences when it does not");
    add_writer_options(*sub, opt->writer);
    sub->footer("Without --apply or --check pt only shows the plan that would make this node "
                "match (the same chain as pt setup). See pt-profile(5) for the file and "
                "pt-setup(1).");
    return {sub, [opt](const Globals& parsed) {
                return run(parsed, *opt);
            }};
}

} // namespace pt::cmd
