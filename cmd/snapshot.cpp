// SPDX-License-Identifier: MIT
// pt snapshot: capture what pt reads into a .tar.gz, for offline verify and bug reports.
#include "cmd/common.hpp"
#include "pt/exit_code.hpp"
#include "pt/host/root.hpp"
#include "pt/snapshot/archive.hpp"
#include "pt/snapshot/collect.hpp"
#include "pt/snapshot/manifest.hpp"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string_view>

namespace pt::cmd {
namespace {

struct Options {
    std::string output;
};

// SOURCE_DATE_EPOCH (reproducible-builds.org) fixes the creation time recorded in the manifest,
// so two snapshots of the same tree are byte for byte equal; otherwise it is now.
std::int64_t creation_time() {
    if (const char* env = std::getenv("SOURCE_DATE_EPOCH")) {
        const std::string_view text(env);
        std::int64_t value = 0;
        const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec == std::errc() && ptr == text.data() + text.size() && value >= 0) {
            return value;
        }
    }
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int run(const Globals& globals, const Options& opt) {
    const host::Root root = open_root(globals);
    snapshot::Options options;
    options.now = creation_time();
    const snapshot::Snapshot snap = snapshot::collect(root, options);
    std::size_t members = 0;
    const std::string bytes = snapshot::archive(snap, members);
    snapshot::write_output_file(opt.output, bytes);
    if (globals.json) {
        out::Json json = snapshot::manifest(snap);
        json["archive"] = {{"path", opt.output}, {"bytes", bytes.size()}, {"members", members}};
        print_json(json);
    } else {
        fmt::print("{}", snapshot::summary(snap, opt.output, bytes.size(), members, globals.quiet));
    }
    return to_int(ExitCode::ok);
}

} // namespace

Command register_snapshot(CLI::App& parent, Globals& globals) {
    auto opt = std::make_shared<Options>();
    auto* sub = parent.add_subcommand(
        "snapshot",
        "Capture what pt reads from this host into a .tar.gz, for offline verify and bug reports");
    add_global_options(*sub, globals);
    sub->add_option("-o,--output",
                    opt->output,
                    "The archive to write (FILE.tar.gz); replaced atomically if it exists")
        ->required()
        ->type_name("FILE");
    sub->footer("Nothing secret is collected: never /etc/pve/priv, keys or passwords; VM config "
                "secrets and notes are redacted.\nRead it offline: tar xzf FILE -C DIR, then pt "
                "--root DIR verify (or iommu-groups). See pt-snapshot(1).");
    return {sub, [opt](const Globals& parsed) {
                return run(parsed, *opt);
            }};
}

} // namespace pt::cmd
