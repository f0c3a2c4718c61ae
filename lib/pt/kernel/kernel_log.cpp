// SPDX-License-Identifier: MIT
#include "pt/kernel/kernel_log.hpp"

#include "pt/host/root.hpp"
#include "pt/strings.hpp"

#include <sys/klog.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace pt::kernel {
namespace {

// syslog(2) actions; glibc's <sys/klog.h> declares klogctl without naming them.
constexpr int k_syslog_read_all = 3;
constexpr int k_syslog_size_buffer = 10;

bool contains(std::string_view text, std::string_view needle) {
    return text.find(needle) != std::string_view::npos;
}

bool contains_nocase(std::string_view text, std::string_view needle) {
    const auto it =
        std::search(text.begin(), text.end(), needle.begin(), needle.end(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a))
                   == std::tolower(static_cast<unsigned char>(b));
        });
    return it != text.end();
}

// "<6>[    1.23] msg", "[    1.23] msg", "Jan 02 03:04:05 pve kernel: msg" -> "msg".
std::string_view strip_prefixes(std::string_view line) {
    line = trim(line);
    if (line.size() > 2 && line.front() == '<') {
        const auto close = line.find('>');
        if (close != std::string_view::npos && close <= 4
            && std::all_of(line.begin() + 1, line.begin() + static_cast<long>(close), [](char c) {
                   return std::isdigit(static_cast<unsigned char>(c)) != 0;
               })) {
            line.remove_prefix(close + 1);
        }
    }
    if (!line.empty() && line.front() == '[') {
        const auto close = line.find(']');
        if (close != std::string_view::npos) {
            line.remove_prefix(close + 1);
        }
    } else if (const auto kernel = line.find(" kernel: ");
               kernel != std::string_view::npos && kernel < 64) {
        line.remove_prefix(kernel + 9);
    }
    return trim(line);
}

} // namespace

std::vector<std::string> split_kernel_log(std::string_view text) {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto end = std::min(text.find('\n', pos), text.size());
        const auto message = strip_prefixes(text.substr(pos, end - pos));
        if (!message.empty()) {
            lines.emplace_back(message);
        }
        pos = end + 1;
    }
    return lines;
}

KernelLog read_kernel_log(const host::Root& root) {
    KernelLog log;
    if (root.is_live()) {
        log.source = "the kernel ring buffer (klogctl)";
        const int size = klogctl(k_syslog_size_buffer, nullptr, 0);
        if (size <= 0) {
            log.unavailable = "run as root: the kernel log cannot be read ("
                              + std::string(std::strerror(errno)) + ")";
            return log;
        }
        std::string buffer(static_cast<std::size_t>(size), '\0');
        const int got = klogctl(k_syslog_read_all, buffer.data(), size);
        if (got < 0) {
            log.unavailable =
                (errno == EPERM || errno == EACCES)
                    ? std::string("run as root: the kernel log is restricted "
                                  "(kernel.dmesg_restrict)")
                    : "the kernel log cannot be read (" + std::string(std::strerror(errno)) + ")";
            return log;
        }
        buffer.resize(static_cast<std::size_t>(got));
        log.lines = split_kernel_log(buffer);
        return log;
    }
    log.source = std::string(k_snapshot_dmesg);
    const auto text = root.read_attr(k_snapshot_dmesg);
    if (!text) {
        log.unavailable = "no kernel log in this root (" + std::string(k_snapshot_dmesg)
                          + "; pt snapshot stores it there)";
        return log;
    }
    log.lines = split_kernel_log(*text);
    return log;
}

KernelLogFacts read_log_facts(const std::vector<std::string>& lines) {
    KernelLogFacts facts;
    for (const auto& line : lines) {
        const std::string_view l = line;
        if (contains(l, "DMAR") || contains(l, "AMD-Vi") || contains(l, "IOMMU")
            || contains_nocase(l, "remapping")) {
            facts.iommu_messages.push_back(line);
        }
        if (contains(l, "Enabled IRQ remapping") || contains(l, "Interrupt remapping enabled")) {
            facts.interrupt_remapping = true;
            facts.remapping_message = line;
        } else if ((contains(l, "IRQ remapping doesn't support")
                    || contains(l, "No interrupt remapping support")
                    || contains(l, "Not enabling interrupt remapping")
                    || contains(l, "IRQ remapping disabled")
                    || contains(l, "Failed to enable irq remapping"))
                   && facts.interrupt_remapping != true) {
            facts.interrupt_remapping = false;
            facts.remapping_message = line;
        }
        if (contains(l, "Unknown option")
            && (contains(l, "AMD-Vi") || contains(l, "DMAR") || contains(l, "iommu"))) {
            facts.unknown_options.push_back(line);
        }
        if (contains(l, "BAR")
            && (contains(l, "can't reserve") || contains(l, "failed to assign")
                || contains(l, "no space for"))) {
            facts.bar_problems.push_back(line);
        }
        if (contains(l, "Invalid PCI ROM header signature")) {
            facts.rom_problems.push_back(line);
        }
        if ((contains(l, "vfio-pci") || contains(l, "vfio_pci") || contains(l, "vfio "))
            && (contains_nocase(l, "fail") || contains_nocase(l, "error")
                || contains(l, "not ready") || contains(l, "No interrupt remapping"))) {
            facts.vfio_problems.push_back(line);
        }
    }
    return facts;
}

std::vector<std::string> messages_about(const std::vector<std::string>& lines,
                                        std::string_view address) {
    std::vector<std::string> out;
    for (const auto& line : lines) {
        if (contains(line, address)) {
            out.push_back(line);
        }
    }
    return out;
}

} // namespace pt::kernel
