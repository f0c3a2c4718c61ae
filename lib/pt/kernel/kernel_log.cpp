// SPDX-License-Identifier: MIT
#include "pt/kernel/kernel_log.hpp"

#include "pt/host/fd.hpp"
#include "pt/host/root.hpp"
#include "pt/strings.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/klog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
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

std::string syslog_to_text(std::string_view buffer) {
    std::string out;
    std::size_t pos = 0;
    while (pos < buffer.size()) {
        const auto end = std::min(buffer.find('\n', pos), buffer.size());
        std::string_view line = buffer.substr(pos, end - pos);
        pos = end + 1;
        if (line.starts_with('<')) {
            const auto close = line.find('>');
            if (close != std::string_view::npos && close <= 4) {
                line.remove_prefix(close + 1);
            }
        }
        out += line;
        out += '\n';
    }
    return out;
}

std::string kmsg_record_to_text(std::string_view record) {
    // Documentation/ABI/testing/dev-kmsg: "prefix,seq,timestamp_us,flags[,...];message", then
    // continuation lines starting with a space that carry KEY=value pairs.
    const auto semi = record.find(';');
    if (semi == std::string_view::npos) {
        return {};
    }
    const std::string_view head = record.substr(0, semi);
    std::string_view message = record.substr(semi + 1);
    message = message.substr(0, message.find('\n'));
    const auto first = head.find(',');
    const auto second = first == std::string_view::npos ? first : head.find(',', first + 1);
    if (second == std::string_view::npos) {
        return {};
    }
    const auto third = head.find(',', second + 1);
    const std::string_view stamp = head.substr(
        second + 1, (third == std::string_view::npos ? head.size() : third) - second - 1);
    std::uint64_t usec = 0;
    const auto [ptr, ec] = std::from_chars(stamp.data(), stamp.data() + stamp.size(), usec);
    if (ec != std::errc() || ptr != stamp.data() + stamp.size()) {
        return {};
    }
    return fmt::format("[{:5}.{:06}] {}", usec / 1000000, usec % 1000000, message);
}

std::optional<std::string> read_live_kernel_log(std::string& why) {
    const int size = klogctl(k_syslog_size_buffer, nullptr, 0);
    if (size > 0) {
        std::string buffer(static_cast<std::size_t>(size), '\0');
        const int n = klogctl(k_syslog_read_all, buffer.data(), size);
        if (n >= 0) {
            buffer.resize(static_cast<std::size_t>(n));
            return syslog_to_text(buffer);
        }
    }
    const std::string klog_error = std::strerror(errno);
    // /dev/kmsg hands out one record per read(), and EAGAIN once the buffer is drained
    // (Documentation/ABI/testing/dev-kmsg); EPIPE means records were overwritten meanwhile, and
    // the next read goes on with the oldest one left.
    host::Fd fd(::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd) {
        why = fmt::format("run as root: the kernel log is not readable (klogctl: {}; /dev/kmsg: "
                          "{})",
                          klog_error,
                          std::strerror(errno));
        return std::nullopt;
    }
    std::string text;
    std::array<char, 8192> record{};
    for (;;) {
        const ssize_t n = ::read(fd.get(), record.data(), record.size());
        if (n < 0) {
            if (errno == EINTR || errno == EPIPE) {
                continue;
            }
            break;
        }
        if (n == 0) {
            break;
        }
        const auto line =
            kmsg_record_to_text(std::string_view(record.data(), static_cast<std::size_t>(n)));
        if (!line.empty()) {
            text += line;
            text += '\n';
        }
    }
    return text;
}

KernelLog read_kernel_log(const host::Root& root) {
    KernelLog log;
    if (root.is_live()) {
        log.source = "the kernel ring buffer (klogctl, else /dev/kmsg)";
        std::string why;
        if (const auto text = read_live_kernel_log(why)) {
            log.lines = split_kernel_log(*text);
        } else {
            log.unavailable = why;
        }
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
