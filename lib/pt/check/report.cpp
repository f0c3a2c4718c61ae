// SPDX-License-Identifier: MIT
#include "pt/check/verify.hpp"

#include <fmt/format.h>

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

} // namespace

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

out::Json to_json(const Report& report) {
    out::Json checks = out::Json::array();
    for (const auto& c : report.checks) {
        checks.push_back({{"id", c.finding.id},
                          {"status", std::string(to_string(c.finding.status))},
                          {"summary", c.finding.summary},
                          {"evidence", c.finding.evidence},
                          {"fix", c.finding.fix}});
    }
    const Summary s = report.summary();
    return {{"checks", std::move(checks)},
            {"summary", {{"pass", s.pass}, {"warn", s.warn}, {"fail", s.fail}, {"skip", s.skip}}}};
}

std::string render_text(const Report& report, const out::TextStyle& style) {
    std::string out;
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
            if (!f.fix.empty()) {
                out += fmt::format("    fix:      {}\n", indent(f.fix, "              "));
            }
        } else if (f.status == Status::skip && !f.summary.empty()) {
            out += fmt::format("    note:     {}\n", indent(f.summary, "              "));
        }
    }
    if (!style.quiet) {
        const Summary s = report.summary();
        out += fmt::format(
            "\n{} passed, {} warned, {} failed, {} skipped\n", s.pass, s.warn, s.fail, s.skip);
    }
    return out;
}

} // namespace pt::check
