// SPDX-License-Identifier: MIT
#include "pt/grub/report_render.hpp"

#include "pt/boot/detect.hpp"
#include "pt/edit/plan.hpp"
#include "pt/grub/report.hpp"
#include "pt/out/text.hpp"

#include <fmt/format.h>

namespace pt::grub {

using boot::describe;
using boot::to_string;

namespace {

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

} // namespace

out::Json to_json(const Report& report) {
    const boot::Status& status = report.status;
    out::Json sources = out::Json::array();
    for (const auto& s : status.sources) {
        sources.push_back(
            {{"path", s.path},
             {"line", s.line},
             {"variable", s.variable.empty() ? out::Json(nullptr) : out::Json(s.variable)},
             {"value", s.value}});
    }
    out::Json needed = out::Json::array();
    for (const auto& c : report.needed) {
        needed.push_back({{"action", action_name(c.change.kind)},
                          {"name", c.change.name},
                          {"old_value", nullable(c.change.old_value)},
                          {"new_value", nullable(c.change.new_value)},
                          {"path", c.path},
                          {"line", c.line},
                          {"reason", c.change.reason}});
    }
    out::Json follow_ups = out::Json::array();
    for (const auto f : report.follow_ups) {
        follow_ups.push_back(std::string(edit::command_line(f)));
    }
    out::Json warnings = out::Json::array();
    for (const auto& w : report.warnings) {
        warnings.push_back(
            {{"id", w.id}, {"summary", w.summary}, {"evidence", w.evidence}, {"fix", w.fix}});
    }
    return {
        {"platform", proxmox::to_json(report.platform)},
        {"bootloader", to_string(status.detection.kind)},
        {"bootloader_name", describe(status.detection.kind)},
        {"evidence", status.detection.evidence},
        {"doubts", status.detection.doubts},
        {"cpu", kernel::to_string(status.cpu)},
        {"kernel", nullable(status.kernel_release)},
        {"sources", sources},
        {"configured", nullable(status.configured)},
        {"staged",
         status.staged ? out::Json{{"path", status.staged->path},
                                   {"line", status.staged->line},
                                   {"cmdline", status.staged->cmdline}}
                       : out::Json(nullptr)},
        {"not_staged", status.not_staged},
        {"running", nullable(status.running)},
        {"pending_reboot", status.pending},
        {"not_configured", status.not_configured},
        {"notes", status.notes},
        {"problems", status.problems},
        {"needed", needed},
        {"follow_ups", follow_ups},
        {"warnings", warnings},
    };
}

std::string render_text(const Report& report, const out::TextStyle& style) {
    const boot::Status& status = report.status;
    constexpr int width = 12;
    std::string out;
    const auto row = [&](std::string_view label, std::string_view value) {
        out += fmt::format("{:<{}} {}\n", label, width, value);
    };
    row("Platform:", proxmox::describe(report.platform));
    row("Bootloader:", describe(status.detection.kind));
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
    if (status.staged) {
        row("Staged:", status.staged->cmdline);
        row("", fmt::format("from {} line {}", status.staged->path, status.staged->line));
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
    for (const auto& w : report.warnings) {
        row("Warning:", w.summary);
        row("", "evidence: " + w.evidence);
        row("", "fix: " + w.fix);
    }
    if (!status.problems.empty()) {
        return out;
    }
    if (report.needed.empty()) {
        row("Needed:",
            "nothing by default for this CPU and kernel (options: --iommu-pt, --sysfb-off, "
            "--vfio-ids, --acs-override, --add, --remove)");
        return out;
    }
    bool first = true;
    for (const auto& c : report.needed) {
        row(first ? "Needed:" : "",
            fmt::format(
                "{} ({} line {}): {}", c.change.describe(), c.path, c.line, c.change.reason));
        first = false;
    }
    std::string then;
    for (const auto f : report.follow_ups) {
        then += fmt::format("{}, ", edit::command_line(f));
    }
    row("",
        fmt::format("pt grub --apply makes these changes, then runs {}a reboot is needed", then));
    return out;
}

} // namespace pt::grub
