// SPDX-License-Identifier: MIT
#include "pt/kernel/host_facts.hpp"

#include "pt/host/root.hpp"

#include <charconv>

namespace pt::kernel {
namespace {

std::optional<int> leading_number(std::string_view& text) {
    int value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr == text.data()) {
        return std::nullopt;
    }
    text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
    return value;
}

} // namespace

std::optional<Release> parse_release(std::string_view text) {
    Release release;
    release.text = std::string(text);
    const auto major = leading_number(text);
    if (!major || text.empty() || text.front() != '.') {
        return std::nullopt;
    }
    text.remove_prefix(1);
    const auto minor = leading_number(text);
    if (!minor) {
        return std::nullopt;
    }
    release.major = *major;
    release.minor = *minor;
    return release;
}

CpuVendor parse_cpu_vendor(std::string_view cpuinfo) {
    std::size_t pos = 0;
    while (pos < cpuinfo.size()) {
        const auto end = std::min(cpuinfo.find('\n', pos), cpuinfo.size());
        const std::string_view line = cpuinfo.substr(pos, end - pos);
        if (line.starts_with("vendor_id")) {
            if (line.find("GenuineIntel") != std::string_view::npos) {
                return CpuVendor::intel;
            }
            if (line.find("AuthenticAMD") != std::string_view::npos
                || line.find("HygonGenuine") != std::string_view::npos) {
                return CpuVendor::amd;
            }
            return CpuVendor::other;
        }
        pos = end + 1;
    }
    return CpuVendor::unknown;
}

bool parse_hypervisor_flag(std::string_view cpuinfo) {
    std::size_t pos = 0;
    while (pos < cpuinfo.size()) {
        const auto end = std::min(cpuinfo.find('\n', pos), cpuinfo.size());
        const std::string_view line = cpuinfo.substr(pos, end - pos);
        if (line.starts_with("flags")) {
            const std::string padded = std::string(line) + " ";
            return padded.find(" hypervisor ") != std::string::npos;
        }
        pos = end + 1;
    }
    return false;
}

std::string_view to_string(CpuVendor vendor) {
    switch (vendor) {
    case CpuVendor::intel:
        return "intel";
    case CpuVendor::amd:
        return "amd";
    case CpuVendor::other:
        return "other";
    case CpuVendor::unknown:
        break;
    }
    return "unknown";
}

HostFacts read_host_facts(const host::Root& root) {
    HostFacts facts;
    if (const auto cpuinfo = root.read_attr("/proc/cpuinfo")) {
        facts.cpu = parse_cpu_vendor(*cpuinfo);
        facts.hypervisor = parse_hypervisor_flag(*cpuinfo);
    }
    if (const auto release = root.read_attr("/proc/sys/kernel/osrelease")) {
        facts.release = parse_release(*release);
    }
    if (const auto cmdline = root.read_attr("/proc/cmdline")) {
        facts.cmdline_text = *cmdline;
        facts.cmdline = parse_cmdline(*cmdline);
    }
    facts.efi = root.exists("/sys/firmware/efi");
    return facts;
}

} // namespace pt::kernel
