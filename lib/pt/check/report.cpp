// SPDX-License-Identifier: MIT
#include "pt/check/report.hpp"

#include "pt/host/root.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pt::check {
namespace {

std::string_view word(Status status) {
    switch (status) {
    case Status::pass:
        return "PASS";
    case Status::warn:
        return "WARN";
    case Status::fail:
        return "FAIL";
    case Status::skip:
        return "SKIP";
    }
    return "FAIL";
}

std::string_view color(Status status) {
    switch (status) {
    case Status::pass:
        return "\033[32m";
    case Status::warn:
        return "\033[33m";
    case Status::fail:
        return "\033[31m";
    case Status::skip:
        return "\033[2m";
    }
    return "";
}

// Continuation lines of a multi-line value are indented under the first.
std::string indent(std::string_view text, std::string_view pad) {
    std::string out;
    for (const char c : text) {
        out += c;
        if (c == '\n') {
            out += pad;
        }
    }
    return out;
}

std::string_view layer_word(const std::optional<bool>& b) {
    return !b ? "unknown" : *b ? "yes" : "no";
}

} // namespace

std::string describe(const Layers& layers) {
    return fmt::format("configured {}, staged {}, running {}",
                       layer_word(layers.configured),
                       layer_word(layers.staged),
                       layer_word(layers.running));
}

Summary Report::summary() const {
    Summary s;
    for (const auto& c : checks) {
        switch (c.finding.status) {
        case Status::pass:
            ++s.pass;
            break;
        case Status::warn:
            ++s.warn;
            break;
        case Status::fail:
            ++s.fail;
            break;
        case Status::skip:
            ++s.skip;
            break;
        }
    }
    return s;
}

bool Report::reboot_pending() const {
    return std::any_of(checks.begin(), checks.end(), [](const Check& c) {
        // A failed check says something a reboot would not mend.
        return c.layers && c.layers->reboot_pending() && c.finding.status != Status::fail;
    });
}

out::Json to_json(const Layers& layers) {
    const auto value = [](const std::optional<bool>& b) {
        return b ? out::Json(*b) : out::Json(nullptr);
    };
    return {{"configured", value(layers.configured)},
            {"staged", value(layers.staged)},
            {"running", value(layers.running)}};
}

out::Json to_json(const Report& report) {
    out::Json checks = out::Json::array();
    for (const auto& c : report.checks) {
        out::Json check = {{"id", c.finding.id},
                           {"status", std::string(to_string(c.finding.status))},
                           {"summary", c.finding.summary},
                           {"evidence", c.finding.evidence},
                           {"fix", c.finding.fix}};
        if (c.layers) {
            check["layers"] = to_json(*c.layers);
        }
        checks.push_back(std::move(check));
    }
    const Summary s = report.summary();
    out::Json json = out::Json::object();
    if (report.on_host) {
        json["platform"] = proxmox::to_json(report.platform);
    }
    json["checks"] = std::move(checks);
    json["reboot_pending"] = report.reboot_pending();
    json["summary"] = {{"pass", s.pass}, {"warn", s.warn}, {"fail", s.fail}, {"skip", s.skip}};
    return json;
}

void add_platform(const host::Root& root, Report& report) {
    report.on_host = true;
    report.platform = proxmox::read_platform(root);
    if (!report.platform) {
        return;
    }
    if (auto meta = proxmox::check_systemd_boot_meta(*report.platform)) {
        report.checks.push_back({"systemd-boot packages (Proxmox VE 9)", std::move(*meta)});
    }
}

std::string render_text(const Report& report, const out::TextStyle& style) {
    std::string out;
    if (report.on_host && !style.quiet) {
        out += fmt::format("Platform: {}\n\n", proxmox::describe(report.platform));
    }
    for (const auto& c : report.checks) {
        const auto& f = c.finding;
        const std::string status = style.color
                                       ? fmt::format("{}{}\033[0m", color(f.status), word(f.status))
                                       : std::string(word(f.status));
        out += fmt::format("{:<64} : {}\n", "Checking " + c.what, status);
        const bool explain = f.status == Status::warn || f.status == Status::fail;
        if (style.quiet && !explain) {
            continue;
        }
        if (explain) {
            out += fmt::format("    cause:    {}\n", indent(f.summary, "              "));
            if (!f.evidence.empty()) {
                out += fmt::format("    evidence: {}\n", indent(f.evidence, "              "));
            }
            if (c.layers) {
                out += fmt::format("    layers:   {}\n", describe(*c.layers));
            }
            if (!f.fix.empty()) {
                out += fmt::format("    fix:      {}\n", indent(f.fix, "              "));
            }
        } else if (f.status == Status::skip && !f.summary.empty()) {
            out += fmt::format("    note:     {}\n", indent(f.summary, "              "));
        }
    }
    if (report.reboot_pending() && !style.quiet) {
        out += "\nreboot pending: what is configured (and, where it matters, in the initramfs) "
               "is not running yet; a reboot finishes it\n";
    }
    if (!style.quiet) {
        const Summary s = report.summary();
        out += fmt::format(
            "\n{} passed, {} warned, {} failed, {} skipped\n", s.pass, s.warn, s.fail, s.skip);
    }
    return out;
}

} // namespace pt::check
