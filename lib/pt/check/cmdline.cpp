// SPDX-License-Identifier: MIT
// cmdline.iommu, cmdline.invalid, cmdline.folklore, cmdline.configured.
#include "pt/boot/config.hpp"
#include "pt/check/host_context.hpp"
#include "pt/grub/report.hpp"
#include "pt/kernel/param_values.hpp"
#include "pt/strings.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace pt::check {
namespace {

// The comma options of every occurrence of `name` contain `value`.
bool has_option(const std::vector<kernel::Param>& params,
                std::string_view name,
                std::string_view value) {
    bool found = false;
    for (const auto& p : params) {
        if (!kernel::same_param_name(p.name, name) || !p.value) {
            continue;
        }
        std::string_view rest = *p.value;
        while (!rest.empty()) {
            const auto comma = std::min(rest.find(','), rest.size());
            if (rest.substr(0, comma) == value) {
                found = true;
            }
            rest.remove_prefix(std::min(comma + 1, rest.size()));
        }
    }
    return found;
}

std::string apply_fix(const boot::Status& status) {
    std::string fix = "pt grub --apply";
    if (status.detection.kind != boot::Bootloader::unknown) {
        fix += " (it runs ";
        fix += status.detection.kind == boot::Bootloader::grub ? "update-grub"
                                                               : "proxmox-boot-tool refresh";
        fix += "), then reboot";
    }
    return fix;
}

// One option the kernel rejects: `name` is amd_iommu or intel_iommu (empty: another option,
// known only by its log line), `token` the value the kernel did not know.
struct Offender {
    std::string name;
    std::string token;
    std::string line;
    std::string problem;  // from the kernel's value lists (kernel::invalid_values), else empty
    std::string fix_args; // pt grub arguments that mend it, when known ahead
};

void add_offender(std::vector<Offender>& offenders, Offender o) {
    for (const auto& known : offenders) {
        if (known.name == o.name && known.token == o.token
            && (!o.name.empty() || known.line == o.line)) {
            return;
        }
    }
    offenders.push_back(std::move(o));
}

// "AMD-Vi: Unknown option - 'on'" -> {amd_iommu, on}; "DMAR: Unknown option - 'foo,igfx_off'"
// -> {intel_iommu, foo} (the kernel prints the rest of the value, up to the end).
Offender offender_of(const std::string& line) {
    Offender o{{}, {}, line, {}, {}};
    const auto open = line.find("Unknown option - '");
    if (open == std::string::npos) {
        return o;
    }
    const auto start = open + std::string_view("Unknown option - '").size();
    const auto close = line.find('\'', start);
    std::string token = line.substr(start, close == std::string::npos ? close : close - start);
    token = token.substr(0, token.find(','));
    if (line.find("AMD-Vi") != std::string::npos) {
        o.name = "amd_iommu";
    } else if (line.find("DMAR") != std::string::npos) {
        o.name = "intel_iommu";
    } else {
        return o;
    }
    o.token = token;
    return o;
}

std::string offender_summary(const Offender& o) {
    if (!o.problem.empty()) {
        if (o.name == "amd_iommu" && o.token == "on") {
            return o.problem
                   + ". The AMD IOMMU needs no parameter: it is on whenever the "
                     "firmware enables it";
        }
        return o.problem;
    }
    if (o.name == "amd_iommu" || o.name == "intel_iommu") {
        // Known only from the kernel log ("Unknown option - 'x'"): judge the logged word.
        const auto problems = kernel::invalid_values(kernel::Param{o.name, o.token});
        if (!problems.empty()) {
            return offender_summary(
                Offender{o.name, o.token, o.line, problems.front().problem, {}});
        }
    }
    return fmt::format("the kernel rejected an IOMMU option (\"{}\")", o.line);
}

// The whole value of `name` that holds `token` among its comma options (for pt grub --remove).
std::optional<std::string> value_holding(const std::vector<kernel::Param>& params,
                                         std::string_view name,
                                         std::string_view token) {
    for (const auto& p : params) {
        if (kernel::same_param_name(p.name, name) && p.value) {
            std::vector<kernel::Param> one{p};
            if (has_option(one, name, token)) {
                return *p.value;
            }
        }
    }
    return std::nullopt;
}

std::string invalid_fix(const std::vector<Offender>& offenders,
                        const std::vector<kernel::Param>& running,
                        const std::vector<kernel::Param>& configured,
                        const boot::Status& status) {
    std::string removes;
    std::vector<std::string> notes;
    for (const auto& o : offenders) {
        if (!o.fix_args.empty()) {
            removes += " " + o.fix_args;
            continue;
        }
        if (o.name == "amd_iommu" && o.token == "on") {
            notes.emplace_back("pt grub removes amd_iommu=on");
            continue;
        }
        auto value = value_holding(configured, o.name, o.token);
        if (!value && !o.name.empty()) {
            value = value_holding(running, o.name, o.token);
        }
        if (value) {
            removes += fmt::format(" --remove {}={}", o.name, *value);
        } else if (!o.name.empty()) {
            notes.push_back(fmt::format("correct {} on the kernel command line", o.name));
        } else {
            notes.emplace_back("remove the option the kernel rejected");
        }
    }
    std::string fix = apply_fix(status);
    fix.insert(std::string_view("pt grub").size(), removes);
    if (!notes.empty()) {
        fix += fmt::format(" ({})", fmt::join(notes, "; "));
    }
    return fix;
}

// The values the kernel's own parsers reject (kernel::invalid_values), from one command line.
void add_value_problems(const std::vector<kernel::Param>& params,
                        const std::string& where,
                        std::vector<std::string>& invalid,
                        std::vector<Offender>& offenders) {
    for (const auto& problem : kernel::invalid_values(params)) {
        const auto eq = problem.param.find('=');
        const std::string name = problem.param.substr(0, eq);
        invalid.push_back(fmt::format("{}: {}", where, problem.param));
        Offender o{name, problem.option, {}, problem.problem, {}};
        if (const auto space = problem.param.find(' '); space != std::string::npos) {
            // A list split by a space: take both words out, put the joined list back.
            const std::string first = problem.param.substr(0, space);
            o.fix_args = fmt::format(
                "--remove {} --remove {} --add {}{}", first, problem.option, first, problem.option);
        }
        add_offender(offenders, std::move(o));
    }
}

} // namespace

// cmdline.folklore: the items of kernel::cmdline_folklore() that the kernel accepts and that do
// nothing on Proxmox kernels (the framebuffer switches; the reasons are in the list). Values the
// kernel rejects (amd_iommu=on) are cmdline.invalid's.
Check check_framebuffer_folklore(const std::vector<kernel::Param>& running,
                                 const std::vector<kernel::Param>& configured,
                                 const boot::Status& status) {
    const std::string what = "kernel command line for framebuffer folklore";
    std::vector<std::string> values; // as written, "video=efifb:off"
    std::vector<std::string> evidence;
    std::vector<std::string_view> reasons;
    const auto scan = [&](const std::vector<kernel::Param>& params, const std::string& where) {
        for (const auto& p : params) {
            const kernel::Folklore* item = kernel::find_folklore(p);
            if (item == nullptr || item->kind != kernel::FolkloreKind::no_effect) {
                continue;
            }
            const std::string written = fmt::format("{}={}", p.name, p.value.value_or(""));
            evidence.push_back(fmt::format("{}: {}", where, written));
            if (std::find(values.begin(), values.end(), written) == values.end()) {
                values.push_back(written);
            }
            if (std::find(reasons.begin(), reasons.end(), item->why) == reasons.end()) {
                reasons.push_back(item->why);
            }
        }
    };
    scan(running, "/proc/cmdline");
    if (!status.sources.empty()) {
        scan(configured, status.sources.back().path);
    }
    if (values.empty()) {
        std::vector<std::string> known;
        for (const auto& item : kernel::cmdline_folklore()) {
            if (item.kind == kernel::FolkloreKind::no_effect) {
                known.push_back(kernel::folklore_text(item));
            }
        }
        return make(
            what, "cmdline.folklore", Status::pass, fmt::format("no {}", fmt::join(known, " or ")));
    }
    std::string fix = "pt grub";
    for (const auto& value : values) {
        fix += " --remove " + value;
    }
    fix += " --apply; if the host's framebuffer still holds the GPU's memory (\"BAR can't "
           "reserve\" in the kernel log), pt grub --sysfb-off --apply instead";
    return make(what,
                "cmdline.folklore",
                Status::warn,
                fmt::format("{} {}", fmt::join(values, " and "), fmt::join(reasons, "; ")),
                fmt::format("{}", fmt::join(evidence, "\n")),
                fix);
}

// cmdline.iommu on an AMD CPU that carries an intel_iommu= option: the guides' intel_iommu=on
// does nothing there (only the Intel IOMMU driver parses it, and it finds no DMAR table on an
// AMD system); the AMD IOMMU needs no parameter (ground truth: amd_iommu is on whenever the
// firmware provides an IVRS table). nullopt when there is no such option.
std::optional<Check> intel_option_on_amd(const std::vector<kernel::Param>& running,
                                         const std::string& evidence) {
    std::optional<std::string> value;
    for (const auto& p : running) {
        if (kernel::same_param_name(p.name, "intel_iommu")) {
            value = p.value.value_or("");
        }
    }
    if (!value) {
        return std::nullopt;
    }
    const std::string option = "intel_iommu" + (value->empty() ? "" : "=" + *value);
    return make("kernel command line for the IOMMU",
                "cmdline.iommu",
                Status::warn,
                fmt::format("{} does nothing on this AMD CPU: only the Intel IOMMU driver reads "
                            "it, and there is no Intel IOMMU here. The AMD IOMMU needs no "
                            "parameter: it is on whenever the firmware enables it (\"IOMMU\" or "
                            "\"AMD-Vi\" in the firmware setup)",
                            option),
                evidence,
                fmt::format("nothing is needed for the IOMMU; to tidy up: pt grub --remove {} "
                            "--apply (it takes effect at the next boot)",
                            option));
}

void check_cmdline(const HostContext& ctx, std::vector<Check>& out) {
    // The model's command line; its problems include why the defaults cannot be planned.
    const grub::Report report = grub::read_report(ctx.host);
    const boot::Status& status = report.status;
    const std::string running_text = ctx.facts.cmdline_text.value_or("");
    const std::vector<kernel::Param> running =
        ctx.facts.cmdline.value_or(std::vector<kernel::Param>{});
    const std::vector<kernel::Param> configured = status.configured
                                                      ? kernel::parse_cmdline(*status.configured)
                                                      : std::vector<kernel::Param>{};
    const std::string release = ctx.facts.release ? ctx.facts.release->text : "(unknown)";
    const std::string evidence =
        "/proc/cmdline: " + running_text + "\n/proc/sys/kernel/osrelease: " + release;

    // cmdline.iommu: what this CPU and kernel need.
    const std::string what = "kernel command line for the IOMMU";
    if (!ctx.facts.cmdline) {
        out.push_back(make(what, "cmdline.iommu", Status::skip, "/proc/cmdline is missing"));
    } else if (has_option(running, "iommu", "off")) {
        out.push_back(make(what,
                           "cmdline.iommu",
                           Status::fail,
                           "iommu=off switches the IOMMU off",
                           evidence,
                           "pt grub --remove iommu=off --apply, then reboot"));
    } else if (ctx.facts.cpu == kernel::CpuVendor::intel) {
        const bool new_kernel = ctx.facts.release && ctx.facts.release->at_least(6, 8);
        if (has_option(running, "intel_iommu", "off")) {
            out.push_back(make(what,
                               "cmdline.iommu",
                               Status::fail,
                               "intel_iommu=off switches the Intel IOMMU off",
                               evidence,
                               apply_fix(status)));
        } else if (!new_kernel && !has_option(running, "intel_iommu", "on")) {
            out.push_back(make(what,
                               "cmdline.iommu",
                               Status::fail,
                               fmt::format("kernel {} needs intel_iommu=on (the Intel IOMMU is on "
                                           "by default only from 6.8)",
                                           release),
                               evidence,
                               apply_fix(status)));
        } else if (new_kernel && has_option(running, "intel_iommu", "on")) {
            out.push_back(make(what,
                               "cmdline.iommu",
                               Status::pass,
                               fmt::format("intel_iommu=on is set; kernel {} does not need it (on "
                                           "by default from 6.8), it is harmless",
                                           release),
                               evidence));
        } else {
            out.push_back(make(what,
                               "cmdline.iommu",
                               Status::pass,
                               new_kernel ? fmt::format("kernel {} enables the Intel IOMMU by "
                                                        "default; no parameter is needed",
                                                        release)
                                          : std::string("intel_iommu=on is set"),
                               evidence));
        }
    } else if (ctx.facts.cpu == kernel::CpuVendor::amd) {
        if (has_option(running, "amd_iommu", "off")) {
            out.push_back(make(what,
                               "cmdline.iommu",
                               Status::fail,
                               "amd_iommu=off switches the AMD IOMMU off",
                               evidence,
                               apply_fix(status)));
        } else if (auto intel = intel_option_on_amd(running, evidence)) {
            out.push_back(std::move(*intel));
        } else {
            out.push_back(make(what,
                               "cmdline.iommu",
                               Status::pass,
                               "the AMD IOMMU is on whenever the firmware enables it; no "
                               "parameter is needed",
                               evidence));
        }
    } else {
        out.push_back(make(what,
                           "cmdline.iommu",
                           Status::skip,
                           "unknown CPU vendor: pt does not know what the kernel needs"));
    }

    // cmdline.invalid: folklore that the kernel rejects. One summary per offending option:
    // amd_iommu=on (on the cmdline or "AMD-Vi: Unknown option - 'on'"), another amd_iommu or
    // intel_iommu value the kernel logged as unknown ("DMAR: Unknown option - 'x'"), or another
    // rejected IOMMU option.
    std::vector<std::string> invalid;
    std::vector<Offender> offenders;
    add_value_problems(running, "/proc/cmdline", invalid, offenders);
    if (!status.sources.empty()) {
        add_value_problems(configured, status.sources.back().path, invalid, offenders);
    }
    for (const auto& line : ctx.log_facts.unknown_options) {
        invalid.push_back(ctx.log.source + ": " + line);
        add_offender(offenders, offender_of(line));
    }
    const std::string what_invalid = "kernel command line for invalid values";
    if (invalid.empty()) {
        out.push_back(make(what_invalid,
                           "cmdline.invalid",
                           Status::pass,
                           "no parameter the kernel rejects",
                           "/proc/cmdline: " + running_text));
    } else {
        std::vector<std::string> summaries;
        for (const auto& o : offenders) {
            summaries.push_back(offender_summary(o));
        }
        out.push_back(make(what_invalid,
                           "cmdline.invalid",
                           Status::warn,
                           fmt::format("{}", fmt::join(summaries, "; ")),
                           fmt::format("{}", fmt::join(invalid, "\n")),
                           invalid_fix(offenders, running, configured, status)));
    }

    out.push_back(check_framebuffer_folklore(running, configured, status));

    // cmdline.configured: the next boot versus this one.
    const std::string what_conf =
        fmt::format("configured command line ({})", boot::describe(status.detection.kind));
    std::vector<std::string> source_lines;
    for (const auto& s : status.sources) {
        source_lines.push_back(
            s.variable.empty()
                ? fmt::format("{} line {}: {}", s.path, s.line, s.value)
                : fmt::format("{} line {}: {}=\"{}\"", s.path, s.line, s.variable, s.value));
    }
    if (status.staged) {
        source_lines.push_back(fmt::format("staged: {} line {}: {}",
                                           status.staged->path,
                                           status.staged->line,
                                           status.staged->cmdline));
    }
    source_lines.push_back("/proc/cmdline: " + running_text);
    const std::string conf_evidence = fmt::format("{}", fmt::join(source_lines, "\n"));
    // Layers of the configured parameters: staged only where pt can read the generated
    // configuration (plain GRUB's grub.cfg).
    const auto with_layers = [&](Check check) {
        if (status.configured) {
            Layers layers;
            layers.configured = true;
            if (status.staged) {
                layers.staged = status.not_staged.empty();
            }
            if (status.running) {
                layers.running = status.pending.empty();
            }
            check.layers = layers;
        }
        return check;
    };
    std::vector<std::string> wrong_file;
    for (const auto& note : status.notes) {
        if (note.find("wrong file") != std::string::npos) {
            wrong_file.push_back(note);
        }
    }
    if (!status.problems.empty()) {
        out.push_back(make(what_conf,
                           "cmdline.configured",
                           Status::warn,
                           "pt cannot tell what the next boot gets: "
                               + fmt::format("{}", fmt::join(status.problems, "; ")),
                           conf_evidence + "\n"
                               + fmt::format("{}", fmt::join(status.detection.evidence, "\n")),
                           "see pt grub for the details"));
    } else if (!wrong_file.empty()) {
        out.push_back(make(what_conf,
                           "cmdline.configured",
                           Status::fail,
                           "edited a file this bootloader does not read: "
                               + fmt::format("{}", fmt::join(wrong_file, "; ")),
                           conf_evidence,
                           status.detection.kind == boot::Bootloader::proxmox_systemd_boot
                               ? "put the parameters on the first line of /etc/kernel/cmdline "
                                 "(pt grub --add PARAM --apply does), then proxmox-boot-tool "
                                 "refresh and reboot"
                               : "put the parameters in GRUB_CMDLINE_LINUX_DEFAULT of "
                                 "/etc/default/grub (pt grub --add PARAM --apply does), then "
                                 "update-grub and reboot"));
    } else if (!status.not_staged.empty()) {
        out.push_back(with_layers(make(what_conf,
                                       "cmdline.configured",
                                       Status::fail,
                                       fmt::format("configured but not in {}: {}; update-grub has "
                                                   "not run since the change, so the next boot "
                                                   "does not get them",
                                                   status.staged->path,
                                                   fmt::join(status.not_staged, " ")),
                                       conf_evidence,
                                       "update-grub, then reboot")));
    } else if (!status.pending.empty()) {
        out.push_back(with_layers(make(what_conf,
                                       "cmdline.configured",
                                       Status::warn,
                                       fmt::format("reboot pending: configured but not in the "
                                                   "running kernel: {}",
                                                   fmt::join(status.pending, " ")),
                                       conf_evidence,
                                       status.staged ? "reboot"
                                       : status.detection.kind == boot::Bootloader::grub
                                           ? "update-grub, then reboot"
                                           : "proxmox-boot-tool refresh, then reboot")));
    } else if (!status.not_configured.empty()) {
        out.push_back(make(what_conf,
                           "cmdline.configured",
                           Status::warn,
                           fmt::format("in the running kernel but no longer configured: {}; the "
                                       "next boot drops them (reboot pending)",
                                       fmt::join(status.not_configured, " ")),
                           conf_evidence,
                           "reboot when the removal is intended; otherwise pt grub --add PARAM "
                           "--apply"));
    } else if (!status.configured) {
        out.push_back(make(
            what_conf, "cmdline.configured", Status::skip, "no configured command line found"));
    } else {
        out.push_back(with_layers(make(what_conf,
                                       "cmdline.configured",
                                       Status::pass,
                                       "the next boot gets the same parameters as this one",
                                       conf_evidence)));
    }
}

} // namespace pt::check
