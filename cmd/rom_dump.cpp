// SPDX-License-Identifier: MIT
// pt rom-dump: dump a GPU's option ROM from sysfs and prove it is usable, or check a ROM file.
#include "cmd/common.hpp"
#include "pt/error.hpp"
#include "pt/exit_code.hpp"
#include "pt/host/root.hpp"
#include "pt/host/write.hpp"
#include "pt/pci/topology.hpp"
#include "pt/rom/dump.hpp"
#include "pt/rom/install.hpp"
#include "pt/rom/parse.hpp"
#include "pt/rom/render.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <filesystem>
#include <memory>

namespace pt::cmd {
namespace {

struct Options {
    std::string selector;
    std::string output;
    std::string check;
    std::string device;
    std::string install;
    bool strip_header = false;
    bool force = false;
    WriterOptions writer;
};

// The most pt reads from a ROM file given to --check (ROM BARs are at most 16 MiB).
constexpr std::size_t k_max_file = 64 * 1024 * 1024;

void validate(const Options& opt) {
    if (opt.check.empty() && opt.selector.empty()) {
        throw UsageError("give the GPU to dump (pt rom-dump SEL -o FILE) or a file to check "
                         "(pt rom-dump --check FILE)");
    }
    if (!opt.check.empty() && !opt.selector.empty()) {
        throw UsageError(fmt::format("{} and --check: dump a card (SEL) or check a file "
                                     "(--check FILE --device SEL), not both",
                                     opt.selector));
    }
    if (!opt.device.empty() && opt.check.empty()) {
        throw UsageError("--device goes with --check FILE; a dump compares with its own card");
    }
    if (opt.strip_header && opt.check.empty()) {
        throw UsageError("--strip-header goes with --check FILE: a sysfs dump has no header");
    }
    if (opt.strip_header && opt.output.empty() && opt.install.empty()) {
        throw UsageError("--strip-header needs -o FIXED (or --install NAME) to write the result");
    }
    if (!opt.check.empty() && !opt.output.empty() && !opt.strip_header) {
        throw UsageError("-o with --check writes the fixed ROM: add --strip-header");
    }
    if (opt.writer.apply && opt.install.empty()) {
        throw UsageError("--apply goes with --install NAME");
    }
    if (!opt.install.empty()) {
        (void)rom::rom_file_name(opt.install); // a bad NAME is a usage error before any work
    }
}

// The absolute form of a path on the machine pt runs on (-o and --check are never under --root).
std::string local_path(const std::string& path) {
    return std::filesystem::absolute(path).lexically_normal().string();
}

std::vector<std::uint8_t> read_local(const std::string& path) {
    const host::Root local("/");
    const auto bytes = local.read_bytes(local_path(path), k_max_file + 1);
    if (!bytes) {
        throw Error(fmt::format("cannot read {}: No such file or directory", path));
    }
    if (bytes->size() > k_max_file) {
        throw Error(
            fmt::format("{} is larger than {} MiB: not an option ROM", path, k_max_file >> 20));
    }
    return *bytes;
}

// -o FILE: a temporary file in FILE's directory, fsync'ed and renamed over FILE.
void write_local(const std::string& path, std::span<const std::uint8_t> bytes) {
    const host::Root local("/");
    const auto abs = local_path(path);
    host::FileMeta meta;
    meta.uid = ::geteuid();
    meta.gid = ::getegid();
    if (const auto existing = host::file_meta(local, abs)) {
        meta = *existing;
    }
    host::replace_file(local,
                       abs,
                       std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                       meta);
}

void print_report(const Globals& globals,
                  const rom::RomReport& report,
                  const rom::Verdict& verdict,
                  const rom::CheckContext& ctx,
                  const out::Json& extra) {
    if (globals.json) {
        auto json = rom::to_json(report, verdict, ctx);
        for (const auto& [key, value] : extra.items()) {
            json[key] = value;
        }
        print_json(json);
    } else {
        fmt::print("{}", rom::render_text(report, verdict, ctx, text_style(globals)));
    }
}

// With --install and --json, the plan is the one JSON document (pt-undo(1) PLAN JSON), so the
// report is left out, unless the ROM is refused and no plan follows.
bool plan_is_the_document(const Globals& globals, const Options& opt, bool usable) {
    return globals.json && !opt.install.empty() && (usable || opt.force);
}

std::string title_of(const Options& opt) {
    std::string title = "pt rom-dump";
    if (!opt.selector.empty()) {
        title += " " + opt.selector;
    }
    if (!opt.check.empty()) {
        title += " --check " + opt.check;
    }
    if (opt.strip_header) {
        title += " --strip-header";
    }
    if (opt.force) {
        title += " --force";
    }
    return title + " --install " + opt.install;
}

// Writes -o and plans --install for `bytes` that passed (or were forced past) validation.
// Returns the exit code.
int deliver(const Globals& globals,
            const host::Root& root,
            const Options& opt,
            std::span<const std::uint8_t> bytes,
            bool usable) {
    if (!usable && !opt.force) {
        if (!opt.output.empty() || !opt.install.empty()) {
            warn(fmt::format("the ROM is not usable, so {} was not written; --force writes it "
                             "anyway",
                             opt.output.empty() ? "--install " + opt.install : opt.output));
        }
        return to_int(ExitCode::checks_failed);
    }
    if (!opt.output.empty()) {
        write_local(opt.output, bytes);
        if (!globals.json && !globals.quiet) {
            fmt::print("wrote {} ({} bytes)\n", opt.output, bytes.size());
        }
    }
    if (!opt.install.empty()) {
        const auto plan = rom::plan_install(root, bytes, opt.install, title_of(opt));
        if (!globals.json) {
            fmt::print("\n");
        }
        const int code = run_plan(globals, root, plan, opt.writer);
        if (!globals.json) {
            fmt::print("{}\n", rom::romfile_fragment(opt.install));
        }
        if (code != to_int(ExitCode::ok)) {
            return code;
        }
    }
    return usable ? to_int(ExitCode::ok) : to_int(ExitCode::checks_failed);
}

int run_check(const Globals& globals, const Options& opt) {
    const auto bytes = read_local(opt.check);
    rom::CheckContext ctx;
    ctx.source = opt.check;
    std::optional<host::Root> root;
    if (!opt.device.empty() || !opt.install.empty()) {
        root = open_root(globals);
    }
    if (!opt.device.empty()) {
        const pci::Topology topology = pci::scan(*root, nullptr);
        ctx.device = rom::select_device(topology, opt.device);
    }
    const auto report = rom::analyze_rom(bytes);
    const auto verdict = rom::judge(report, ctx.device);
    if (!opt.strip_header) {
        if (!plan_is_the_document(globals, opt, verdict.usable())) {
            print_report(globals, report, verdict, ctx, out::Json::object());
        }
        if (opt.install.empty()) {
            return verdict.usable() ? to_int(ExitCode::ok) : to_int(ExitCode::checks_failed);
        }
        return deliver(globals, *root, opt, bytes, verdict.usable());
    }

    // --strip-header: the bytes from the first image on, checked again as they will be written.
    const auto fixed = rom::strip_header(bytes, report);
    if (fixed.empty()) {
        print_report(globals, report, verdict, ctx, out::Json::object());
        throw Error(fmt::format("{}: no option ROM image to keep, nothing written", opt.check));
    }
    const auto fixed_report = rom::analyze_rom(fixed);
    const auto fixed_verdict = rom::judge(fixed_report, ctx.device);
    rom::CheckContext fixed_ctx = ctx;
    fixed_ctx.source = fmt::format("{} without its first {} bytes", opt.check, report.start);
    if (!plan_is_the_document(globals, opt, fixed_verdict.usable())) {
        out::Json extra = out::Json::object();
        if (globals.json) {
            extra["stripped_bytes"] = report.start;
            extra["original"] = rom::to_json(report, verdict, ctx);
        } else if (report.start == 0) {
            fmt::print("{}: no vendor header, nothing to strip\n", opt.check);
        }
        print_report(globals, fixed_report, fixed_verdict, fixed_ctx, extra);
    }
    return deliver(globals, root ? *root : open_root(globals), opt, fixed, fixed_verdict.usable());
}

int run_dump(const Globals& globals, const Options& opt) {
    const host::Root root = open_root(globals);
    const pci::Topology topology = pci::scan(root, nullptr);
    const pci::Device& dev = rom::select_device(topology, opt.selector);
    const auto state = rom::read_state(root, dev);
    const auto dump = rom::dump_rom(root, state);

    rom::CheckContext ctx;
    ctx.source = fmt::format("{} rom", pci::format(dev.address));
    ctx.device = dev;
    ctx.access = rom::to_string(dump.access);
    const auto report = rom::analyze_rom(dump.bytes);
    // A read that ended inside an image, or before the last one, is an incomplete dump even
    // when what it holds would run: the verdict says so (rom::Verdict::complete).
    const auto verdict = rom::judge(report, ctx.device);
    if (!plan_is_the_document(globals, opt, verdict.usable())) {
        out::Json extra = out::Json::object();
        if (globals.json) {
            extra["output"] = opt.output.empty() ? out::Json(nullptr) : out::Json(opt.output);
            extra["written"] = !opt.output.empty() && (verdict.usable() || opt.force);
        }
        print_report(globals, report, verdict, ctx, extra);
    }
    return deliver(globals, root, opt, dump.bytes, verdict.usable());
}

int run(const Globals& globals, const Options& opt) {
    validate(opt);
    return opt.check.empty() ? run_dump(globals, opt) : run_check(globals, opt);
}

} // namespace

Command register_rom_dump(CLI::App& parent, Globals& globals) {
    auto opt = std::make_shared<Options>();
    auto* sub = parent.add_subcommand(
        "rom-dump",
        "Dump a GPU's option ROM from sysfs and validate it, or check a ROM file (--check)");
    add_global_options(*sub, globals);
    sub->add_option("SEL", opt->selector, "The GPU whose ROM to dump")->check(selector_validator());
    sub->add_option("-o,--output",
                    opt->output,
                    "Write the ROM to FILE (atomically), only if it validates (see --force); "
                    "with --check, the fixed ROM of --strip-header")
        ->type_name("FILE");
    sub->add_option("--check",
                    opt->check,
                    "Check a ROM file instead of dumping: every image, the problems, a verdict "
                    "(exit 3 when not usable)")
        ->type_name("FILE");
    sub->add_option("--device",
                    opt->device,
                    "With --check, compare the ROM's IDs with this card (under --root)")
        ->type_name("SEL")
        ->check(selector_validator());
    sub->add_flag("--strip-header",
                  opt->strip_header,
                  "With --check and -o FIXED, cut the vendor header (nvflash, GPU-Z) before the "
                  "first image and write the rest");
    sub->add_flag("--force",
                  opt->force,
                  "Write -o FILE / --install even when the ROM does not validate (exit 3 still)");
    sub->add_option("--install",
                    opt->install,
                    "Copy the validated ROM to /usr/share/kvm/NAME.rom (a plan; --apply writes "
                    "it) and print the romfile=NAME.rom fragment for pt vmconf --romfile")
        ->type_name("NAME");
    sub->add_flag("--apply",
                  opt->writer.apply,
                  "With --install, write the file (atomically, journalled: pt undo removes it); "
                  "without it, only show the plan");
    sub->footer("SEL is 0000:01:00.0, 01:00.0, 01:00 (the slot's GPU) or 10de:2204.\nThe dump "
                "writes 1 to /sys/bus/pci/devices/SEL/rom, reads it, writes 0 (always, also on "
                "errors and SIGINT/SIGTERM). Needs root. See pt-rom-dump(1).");
    return {sub, [opt](const Globals& parsed) {
                return run(parsed, *opt);
            }};
}

} // namespace pt::cmd
