// SPDX-License-Identifier: MIT
#include "pt/proxmox/platform.hpp"

#include "pt/host/root.hpp"
#include "pt/strings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <vector>

namespace pt::proxmox {
namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// dpkg's order() weight of one character; 0 stands for the end of the string and digits.
int weight(std::string_view text, std::size_t i) {
    if (i >= text.size()) {
        return 0;
    }
    const char c = text[i];
    if (is_digit(c)) {
        return 0;
    }
    if (is_alpha(c)) {
        return static_cast<unsigned char>(c);
    }
    if (c == '~') {
        return -1;
    }
    return static_cast<unsigned char>(c) + 256;
}

bool digit_at(std::string_view text, std::size_t i) {
    return i < text.size() && is_digit(text[i]);
}

// dpkg's verrevcmp: alternating non-digit runs (compared by weight) and digit runs (compared as
// numbers).
int verrevcmp(std::string_view a, std::string_view b) {
    std::size_t i = 0;
    std::size_t k = 0;
    while (i < a.size() || k < b.size()) {
        while ((i < a.size() && !is_digit(a[i])) || (k < b.size() && !is_digit(b[k]))) {
            const int wa = weight(a, i);
            const int wb = weight(b, k);
            if (wa != wb) {
                return wa - wb;
            }
            ++i;
            ++k;
        }
        while (i < a.size() && a[i] == '0') {
            ++i;
        }
        while (k < b.size() && b[k] == '0') {
            ++k;
        }
        int first_diff = 0;
        while (digit_at(a, i) && digit_at(b, k)) {
            if (first_diff == 0) {
                first_diff = a[i] - b[k];
            }
            ++i;
            ++k;
        }
        if (digit_at(a, i)) {
            return 1;
        }
        if (digit_at(b, k)) {
            return -1;
        }
        if (first_diff != 0) {
            return first_diff;
        }
    }
    return 0;
}

struct Version {
    unsigned long epoch = 0;
    std::string_view upstream;
    std::string_view revision;
};

// [epoch:]upstream[-revision]: the epoch before the first ':', the revision after the last '-'.
Version split_version(std::string_view text) {
    Version v;
    text = trim(text);
    if (const auto colon = text.find(':'); colon != std::string_view::npos) {
        const auto epoch = text.substr(0, colon);
        std::from_chars(epoch.data(), epoch.data() + epoch.size(), v.epoch);
        text.remove_prefix(colon + 1);
    }
    if (const auto dash = text.rfind('-'); dash != std::string_view::npos) {
        v.revision = text.substr(dash + 1);
        text = text.substr(0, dash);
    }
    v.upstream = text;
    return v;
}

// The major number of "9.1.4" or "13.1"; nullopt when it does not start with digits.
std::optional<int> leading_number(std::string_view text) {
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data()) {
        return std::nullopt;
    }
    return value;
}

std::optional<std::string> first_line(const std::optional<std::string>& text) {
    if (!text) {
        return std::nullopt;
    }
    const auto line = trim(std::string_view(*text).substr(0, text->find('\n')));
    if (line.empty()) {
        return std::nullopt;
    }
    return std::string(line);
}

// The "Field: value" lines of a dpkg status file, stanza by stanza: on_field(field in lower case,
// trimmed value, the whole line) for each, on_stanza_end() at each blank line and at the end.
// Continuation lines of multi-line fields (Description, Conffiles) are skipped.
template <class OnField, class OnStanzaEnd>
void walk_dpkg_status(std::string_view text, OnField on_field, OnStanzaEnd on_stanza_end) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto end = std::min(text.find('\n', pos), text.size());
        const auto line = text.substr(pos, end - pos);
        pos = end + 1;
        if (trim(line).empty()) {
            on_stanza_end();
            continue;
        }
        const auto colon = line.find(':');
        if (is_blank(line.front()) || colon == std::string_view::npos) {
            continue;
        }
        on_field(to_lower(line.substr(0, colon)), trim(line.substr(colon + 1)), line);
    }
    on_stanza_end();
}

} // namespace

int compare_versions(std::string_view a, std::string_view b) {
    const auto va = split_version(a);
    const auto vb = split_version(b);
    if (va.epoch != vb.epoch) {
        return va.epoch < vb.epoch ? -1 : 1;
    }
    if (const int up = verrevcmp(va.upstream, vb.upstream); up != 0) {
        return up;
    }
    return verrevcmp(va.revision, vb.revision);
}

std::map<std::string, std::string, std::less<>> parse_dpkg_status(std::string_view text) {
    std::map<std::string, std::string, std::less<>> out;
    std::string package;
    std::string status;
    std::string version;
    walk_dpkg_status(
        text,
        [&](const std::string& field, std::string_view value, std::string_view) {
            if (field == "package") {
                package = value;
            } else if (field == "status") {
                status = value;
            } else if (field == "version") {
                version = value;
            }
        },
        [&] {
            // "Status: want flag status": only a fully installed package counts (dpkg-query(1)).
            if (!package.empty() && !version.empty() && status == "install ok installed") {
                out[package] = version;
            }
            package.clear();
            status.clear();
            version.clear();
        });
    return out;
}

bool is_platform_package(std::string_view name) {
    static constexpr std::array<std::string_view, 12> k_named = {
        "pve-manager",
        "qemu-server",
        "proxmox-ve",
        "pve-qemu-kvm",
        "systemd-boot",
        "systemd-boot-tools",
        "systemd-boot-efi",
        "proxmox-kernel-helper",
        "grub-pc",
        "grub-efi-amd64",
        "grub-common",
        "grub2-common",
    };
    return std::find(k_named.begin(), k_named.end(), name) != k_named.end()
           || name.starts_with("proxmox-kernel-") || name.starts_with("pve-kernel-");
}

std::string reduce_dpkg_status(std::string_view text) {
    std::string out;
    std::string stanza;
    bool keep = false;
    walk_dpkg_status(
        text,
        [&](const std::string& field, std::string_view value, std::string_view line) {
            if (field == "package") {
                keep = is_platform_package(value);
            }
            if (field == "package" || field == "status" || field == "architecture"
                || field == "version") {
                stanza += std::string(line) + "\n";
            }
        },
        [&] {
            if (keep) {
                out += stanza + "\n";
            }
            stanza.clear();
            keep = false;
        });
    return out;
}

std::optional<std::string> Platform::version_of(std::string_view package) const {
    const auto it = packages.find(package);
    if (it == packages.end()) {
        return std::nullopt;
    }
    return it->second;
}

bool Platform::at_least(std::string_view package, std::string_view version) const {
    const auto installed_version = version_of(package);
    return installed_version && compare_versions(*installed_version, version) >= 0;
}

std::map<std::string, std::string> Platform::kernel_packages() const {
    std::map<std::string, std::string> out;
    for (const auto& [name, version] : packages) {
        if (name.starts_with("proxmox-kernel-") || name.starts_with("pve-kernel-")) {
            out.emplace(name, version);
        }
    }
    return out;
}

Platform make_platform(const std::optional<std::string>& dpkg_status,
                       const std::optional<std::string>& debian_version,
                       const std::optional<std::string>& osrelease) {
    Platform p;
    if (dpkg_status) {
        p.dpkg_status_read = true;
        p.packages = parse_dpkg_status(*dpkg_status);
    }
    p.pve_manager = p.version_of("pve-manager");
    p.qemu_server = p.version_of("qemu-server");
    p.kernel_running = first_line(osrelease);
    p.debian_version = first_line(debian_version);
    if (p.pve_manager) {
        p.pve_major = leading_number(*p.pve_manager);
    } else if (p.debian_version) {
        // Debian 12 (bookworm) is PVE 8's base, Debian 13 (trixie) PVE 9's. A testing or sid
        // root says "trixie/sid" here and stays unknown.
        const auto debian = leading_number(*p.debian_version);
        if (debian == 12) {
            p.pve_major = 8;
        } else if (debian == 13) {
            p.pve_major = 9;
        }
    }
    return p;
}

std::optional<Platform> read_platform(const host::Root& root) {
    const auto status = root.read_file_if_exists(k_dpkg_status);
    const auto debian = root.read_file_if_exists(k_debian_version);
    const auto osrelease = root.read_attr(k_osrelease);
    if (!status && !debian && !osrelease) {
        return std::nullopt;
    }
    return make_platform(status, debian, osrelease);
}

std::string describe(const std::optional<Platform>& platform) {
    if (!platform) {
        return fmt::format("Proxmox VE version unknown (no {}, {} or {})",
                           k_dpkg_status,
                           k_debian_version,
                           k_osrelease);
    }
    const auto& p = *platform;
    std::string out =
        p.pve_major ? fmt::format("Proxmox VE {}", *p.pve_major) : "Proxmox VE version unknown";
    std::vector<std::string> from;
    if (p.pve_manager) {
        from.push_back("pve-manager " + *p.pve_manager);
    }
    if (p.qemu_server) {
        from.push_back("qemu-server " + *p.qemu_server);
    }
    if (from.empty()) {
        if (p.debian_version && p.pve_major) {
            from.push_back(fmt::format(
                "from Debian {}; no pve-manager in {}", *p.debian_version, k_dpkg_status));
        } else {
            from.push_back(p.dpkg_status_read ? fmt::format("no pve-manager in {}", k_dpkg_status)
                                              : fmt::format("no {}", k_dpkg_status));
        }
    }
    out += " (";
    for (std::size_t i = 0; i < from.size(); ++i) {
        out += (i == 0 ? "" : ", ") + from[i];
    }
    out += ")";
    out += p.kernel_running ? ", running kernel " + *p.kernel_running : ", running kernel unknown";
    return out;
}

out::Json to_json(const std::optional<Platform>& platform) {
    const auto string_or_null = [](const std::optional<std::string>& value) {
        return value ? out::Json(*value) : out::Json(nullptr);
    };
    if (!platform) {
        return {{"pve_major", nullptr},
                {"pve_manager", nullptr},
                {"qemu_server", nullptr},
                {"kernel_running", nullptr}};
    }
    return {{"pve_major", platform->pve_major ? out::Json(*platform->pve_major) : out::Json()},
            {"pve_manager", string_or_null(platform->pve_manager)},
            {"qemu_server", string_or_null(platform->qemu_server)},
            {"kernel_running", string_or_null(platform->kernel_running)}};
}

std::optional<SystemdBootMeta> systemd_boot_meta(const Platform& platform) {
    // On PVE 8 (bookworm) the systemd-boot package still holds bootctl, which proxmox-boot-tool
    // needs; pve8to9 only objects once the host runs trixie.
    if (platform.pve_major != 9) {
        return std::nullopt;
    }
    const auto version = platform.version_of("systemd-boot");
    if (!version) {
        return std::nullopt;
    }
    SystemdBootMeta meta;
    meta.version = *version;
    meta.split_ok =
        platform.installed("systemd-boot-tools") && platform.installed("systemd-boot-efi");
    meta.fix = meta.split_ok ? "apt remove systemd-boot (systemd-boot-tools and "
                               "systemd-boot-efi stay: they are what proxmox-boot-tool uses)"
                             : "apt install systemd-boot-tools systemd-boot-efi, then apt "
                               "remove systemd-boot";
    return meta;
}

std::optional<out::Finding> check_systemd_boot_meta(const Platform& platform) {
    if (platform.pve_major != 9) {
        return std::nullopt;
    }
    const auto meta = systemd_boot_meta(platform);
    if (!meta) {
        return out::Finding{"boot.systemd-boot-meta",
                            out::Status::pass,
                            "the systemd-boot meta package is not installed",
                            fmt::format("{}: no systemd-boot", k_dpkg_status),
                            ""};
    }
    return out::Finding{
        "boot.systemd-boot-meta",
        out::Status::warn,
        "the systemd-boot meta package is installed; on Proxmox VE 9 it breaks upgrades of other "
        "boot packages, and pve8to9 refuses the upgrade while it is installed",
        fmt::format("{}: systemd-boot {} installed{}",
                    k_dpkg_status,
                    meta->version,
                    meta->split_ok ? ", with systemd-boot-tools and systemd-boot-efi" : ""),
        meta->fix};
}

} // namespace pt::proxmox
