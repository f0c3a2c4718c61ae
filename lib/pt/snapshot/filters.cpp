// SPDX-License-Identifier: MIT
#include "pt/snapshot/filters.hpp"

#include "pt/strings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>

namespace pt::snapshot {
namespace {

// Calls `fn(line)` for every line of `text`, without its newline.
template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto end = std::min(text.find('\n', pos), text.size());
        fn(text.substr(pos, end - pos));
        pos = end + 1;
    }
}

// "BAR" or "ROM" as a word of its own ("BAR 0: assigned", "Invalid PCI ROM header"): these are
// upper case in the kernel's messages, and as lower-case substrings they would match "embargo"
// and "chromium".
bool has_upper_word(std::string_view line, std::string_view word) {
    std::size_t pos = 0;
    while ((pos = line.find(word, pos)) != std::string_view::npos) {
        const bool start = pos == 0 || std::isalpha(static_cast<unsigned char>(line[pos - 1])) == 0;
        const std::size_t after = pos + word.size();
        const bool end =
            after >= line.size() || std::isalpha(static_cast<unsigned char>(line[after])) == 0;
        if (start && end) {
            return true;
        }
        pos = after;
    }
    return false;
}

// "kvm:", "kvm_amd" and "kvm_intel" rather than "kvm", which would take every kvm-clock line of
// a guest; "hypervisor detected" tells a guest (pt verify --guest) apart.
constexpr std::array<std::string_view, 17> k_log_keywords = {
    "iommu",
    "dmar",
    "amd-vi",
    "ivrs",
    "vfio",
    "remapping",
    "x2apic",
    "kvm:",
    "kvm_amd",
    "kvm_intel",
    "hypervisor detected",
    "vgaarb",
    "efifb",
    "simplefb",
    "vesafb",
    "sysfb",
    "command line",
};

bool secret_key(std::string_view key) {
    const std::string name = to_lower(key);
    return name == "cipassword" || name == "sshkeys" || name.find("password") != std::string::npos
           || name.find("secret") != std::string::npos || name.find("token") != std::string::npos;
}

// `path` is `dir` or lies under it.
bool under(std::string_view path, std::string_view dir) {
    return path.starts_with(dir) && (path.size() == dir.size() || path[dir.size()] == '/');
}

struct Denied {
    std::string_view path;
    std::string_view why;
};

constexpr std::array<Denied, 13> k_denied = {{
    {"/etc/pve/priv", "Proxmox's private keys, tokens and passwords"},
    {"/var/lib/pve-cluster", "the pmxcfs database, which holds /etc/pve/priv"},
    {"/etc/corosync/authkey", "the cluster's private key"},
    {"/etc/ssh", "SSH host keys"},
    {"/etc/ssl/private", "TLS private keys"},
    {"/etc/shadow", "password hashes"},
    {"/etc/shadow-", "password hashes"},
    {"/etc/gshadow", "password hashes"},
    {"/etc/gshadow-", "password hashes"},
    {"/etc/security/opasswd", "password hashes"},
    {"/root", "a user's private files"},
    {"/home", "users' private files"},
    {"/proc/kcore", "the kernel's memory"},
}};

// A QEMU argument word without its quotes.
std::string unquoted(std::string_view word) {
    std::string out;
    for (const char ch : word) {
        if (ch != '\'' && ch != '"') {
            out += ch;
        }
    }
    return out;
}

} // namespace

std::string refusal_reason(std::string_view host_path) {
    for (const auto& denied : k_denied) {
        if (under(host_path, denied.path)) {
            return std::string(denied.why);
        }
    }
    const std::string_view base = host_path.substr(host_path.rfind('/') + 1);
    if (host_path.starts_with("/proc/") && (base == "environ" || base == "mem")) {
        return "a process's environment or memory";
    }
    if (base.ends_with(".key") || base.ends_with(".pem")) {
        return "a key or certificate file";
    }
    return {};
}

std::string redact_args(std::string_view value) {
    // Words as a shell splits them: quotes group. A word kept whole keeps its quotes.
    std::vector<std::string_view> words;
    std::size_t pos = 0;
    while (pos < value.size()) {
        while (pos < value.size() && (value[pos] == ' ' || value[pos] == '\t')) {
            ++pos;
        }
        if (pos >= value.size()) {
            break;
        }
        const std::size_t start = pos;
        char quote = 0;
        while (pos < value.size() && (quote != 0 || (value[pos] != ' ' && value[pos] != '\t'))) {
            if (quote != 0 && value[pos] == quote) {
                quote = 0;
            } else if (quote == 0 && (value[pos] == '\'' || value[pos] == '"')) {
                quote = value[pos];
            }
            ++pos;
        }
        words.push_back(value.substr(start, pos - start));
    }
    std::string out;
    bool changed = false;
    bool after_cpu = false;
    bool after_device = false;
    for (const auto word : words) {
        const std::string plain = unquoted(word);
        std::string kept;
        if (plain.starts_with('-')) {
            const auto eq = plain.find('=');
            const std::string name = plain.substr(0, eq);
            if (eq == std::string::npos || name == "-cpu" || name == "--cpu") {
                kept = word;
            } else {
                kept = fmt::format("{}={}", name, k_redacted);
                changed = true;
            }
            after_cpu = plain == "-cpu" || plain == "--cpu";
            after_device = plain == "-device" || plain == "--device";
        } else if (after_cpu) {
            kept = word;
            after_cpu = false;
        } else if (after_device) {
            // The device's driver name stays (pt's lint tells a macOS guest by isa-applesmc);
            // its properties (an OSK, serials) go.
            const auto comma = plain.find(',');
            kept = comma == std::string::npos
                       ? plain
                       : fmt::format("{},{}", plain.substr(0, comma), k_redacted);
            changed = changed || comma != std::string::npos || kept != word;
            after_device = false;
        } else {
            kept = k_redacted;
            changed = true;
        }
        out += out.empty() ? "" : " ";
        out += kept;
    }
    return changed ? out : std::string(value);
}

std::string reduce_cpuinfo(std::string_view cpuinfo) {
    static constexpr std::array<std::string_view, 7> k_keys = {
        "processor", "vendor_id", "cpu family", "model", "model name", "stepping", "flags"};
    std::string out;
    bool seen_processor = false;
    bool done = false;
    for_each_line(cpuinfo, [&](std::string_view line) {
        if (done) {
            return;
        }
        const auto colon = line.find(':');
        const std::string_view key = trim(line.substr(0, colon));
        if (key == "processor") {
            if (seen_processor) {
                done = true;
                return;
            }
            seen_processor = true;
        }
        if (colon != std::string_view::npos
            && std::find(k_keys.begin(), k_keys.end(), key) != k_keys.end()) {
            out += line;
            out += '\n';
        }
    });
    return out;
}

std::string filter_kernel_log(std::string_view log) {
    std::string out;
    for_each_line(log, [&](std::string_view line) {
        const std::string text = to_lower(line);
        const bool keep =
            std::any_of(k_log_keywords.begin(),
                        k_log_keywords.end(),
                        [&](std::string_view word) { return text.find(word) != std::string::npos; })
            || has_upper_word(line, "BAR") || has_upper_word(line, "ROM");
        if (keep) {
            out += line;
            out += '\n';
        }
    });
    return out;
}

std::string redact_vm_config(std::string_view text,
                             const std::string& path,
                             std::vector<Redaction>& redactions) {
    std::string out;
    int number = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto nl = text.find('\n', pos);
        const auto end = nl == std::string_view::npos ? text.size() : nl;
        const std::string_view line = text.substr(pos, end - pos);
        ++number;
        const std::string_view stripped = trim(line);
        const auto colon = line.find(':');
        if (stripped.starts_with('#') && trim(stripped.substr(1)).size() > 0) {
            out += fmt::format("# {}", k_redacted);
            redactions.push_back({path, number, "#"});
        } else if (!stripped.starts_with('#') && !stripped.starts_with('[')
                   && colon != std::string_view::npos
                   && (secret_key(trim(line.substr(0, colon)))
                       || trim(line.substr(0, colon)) == "description")) {
            const std::string key(trim(line.substr(0, colon)));
            out += fmt::format("{}: {}", key, k_redacted);
            redactions.push_back({path, number, key});
        } else if (!stripped.starts_with('[') && colon != std::string_view::npos
                   && trim(line.substr(0, colon)) == "args"
                   && redact_args(trim(line.substr(colon + 1))) != trim(line.substr(colon + 1))) {
            out += fmt::format("args: {}", redact_args(trim(line.substr(colon + 1))));
            redactions.push_back({path, number, "args"});
        } else {
            out += line;
        }
        if (nl != std::string_view::npos) {
            out += '\n';
        }
        pos = end + 1;
    }
    return out;
}

std::string
redact_mapping(std::string_view text, const std::string& path, std::vector<Redaction>& redactions) {
    std::string out;
    int number = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto nl = text.find('\n', pos);
        const auto end = nl == std::string_view::npos ? text.size() : nl;
        const std::string_view line = text.substr(pos, end - pos);
        ++number;
        const std::string_view stripped = trim(line);
        const std::string_view indent = line.substr(0, line.find_first_not_of(" \t"));
        const auto word_end = std::min(stripped.find_first_of(" \t"), stripped.size());
        const std::string_view key = stripped.substr(0, word_end);
        if (stripped.starts_with('#') && trim(stripped.substr(1)).size() > 0) {
            out += fmt::format("# {}", k_redacted);
            redactions.push_back({path, number, "#"});
        } else if (!indent.empty() && key == "description") {
            out += fmt::format("{}description {}", indent, k_redacted);
            redactions.push_back({path, number, "description"});
        } else if (!indent.empty() && key == "map"
                   && stripped.find("description=") != std::string_view::npos) {
            // A property string: key=value pairs separated by commas.
            std::string value(trim(stripped.substr(word_end)));
            std::string kept;
            std::size_t at = 0;
            while (at <= value.size()) {
                const auto comma = std::min(value.find(',', at), value.size());
                std::string pair = value.substr(at, comma - at);
                if (pair.starts_with("description=")) {
                    pair = fmt::format("description={}", k_redacted);
                }
                kept += kept.empty() ? "" : ",";
                kept += pair;
                at = comma + 1;
            }
            out += fmt::format("{}map {}", indent, kept);
            redactions.push_back({path, number, "map"});
        } else {
            out += line;
        }
        if (nl != std::string_view::npos) {
            out += '\n';
        }
        pos = end + 1;
    }
    return out;
}

std::vector<std::string> romfiles(std::string_view vm_config) {
    std::vector<std::string> out;
    for_each_line(vm_config, [&](std::string_view line) {
        if (!line.starts_with("hostpci")) {
            return;
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) {
            return;
        }
        std::string_view value = trim(line.substr(colon + 1));
        while (!value.empty()) {
            const auto comma = value.find(',');
            const std::string_view option = value.substr(0, comma);
            if (option.starts_with("romfile=")) {
                const std::string file(trim(option.substr(8)));
                if (!file.empty() && file.find('/') == std::string::npos
                    && file.find("..") == std::string::npos
                    && std::find(out.begin(), out.end(), file) == out.end()) {
                    out.push_back(file);
                }
            }
            if (comma == std::string_view::npos) {
                break;
            }
            value.remove_prefix(comma + 1);
        }
    });
    return out;
}

std::string reduce_grub_cfg(std::string_view cfg) {
    std::string out;
    std::size_t pos = 0;
    while (pos < cfg.size()) {
        const auto end = std::min(cfg.find('\n', pos), cfg.size());
        const auto line = cfg.substr(pos, end - pos);
        const auto text = trim(line);
        const auto first = text.substr(0, std::min(text.find_first_of(" \t"), text.size()));
        const bool kept = first == "menuentry" || first == "submenu" || first == "linux"
                          || first == "initrd" || text == "}" || text.starts_with("set default=");
        if (kept) {
            out += line;
        }
        if (end < cfg.size()) {
            out += '\n';
        }
        pos = end + 1;
    }
    return out;
}

std::string keep_btime(std::string_view stat) {
    std::size_t pos = 0;
    while (pos < stat.size()) {
        const auto end = std::min(stat.find('\n', pos), stat.size());
        const auto line = stat.substr(pos, end - pos);
        if (line.starts_with("btime ")) {
            return std::string(line) + "\n";
        }
        pos = end + 1;
    }
    return {};
}

namespace {

// Calls `keep` on each line (without its '\n') and returns the lines it kept, each with '\n'.
template <typename Keep>
std::string keep_lines(std::string_view text, Keep&& keep) {
    std::string out;
    while (!text.empty()) {
        const auto end = text.find('\n');
        const auto line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        if (auto kept = keep(line)) {
            out += *kept;
            out += '\n';
        }
    }
    return out;
}

} // namespace

std::string keep_render_video(std::string_view group) {
    return keep_lines(group, [](std::string_view line) -> std::optional<std::string> {
        if (!line.starts_with("render:") && !line.starts_with("video:")) {
            return std::nullopt;
        }
        return std::string(line.substr(0, line.rfind(':') + 1)); // name:x:gid: without members
    });
}

std::string reduce_storage_cfg(std::string_view storage_cfg) {
    return keep_lines(storage_cfg, [](std::string_view line) -> std::optional<std::string> {
        if (line.empty() || line.front() == '#') {
            return std::nullopt;
        }
        if (!is_blank(line.front())) {
            // "TYPE: ID" (pve-common SectionConfig: m/^(\S+):\s*(\S+)\s*$/); nothing else.
            const auto colon = line.find(':');
            const auto id =
                colon == std::string_view::npos ? std::string_view() : trim(line.substr(colon + 1));
            const bool header =
                colon != std::string_view::npos && colon > 0
                && line.substr(0, colon).find_first_of(" \t") == std::string_view::npos
                && !id.empty() && id.find_first_of(" \t") == std::string_view::npos;
            return header ? std::optional<std::string>(line) : std::nullopt;
        }
        const auto item = trim(line);
        const auto key = item.substr(0, item.find_first_of(" \t"));
        if (key == "path" || key == "pool" || key == "mountpoint") {
            return std::string(line);
        }
        return std::nullopt;
    });
}

} // namespace pt::snapshot
