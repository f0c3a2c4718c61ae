// SPDX-License-Identifier: MIT
#include "pt/proxmox/vm_config.hpp"

#include "pt/pci/hex.hpp"
#include "pt/strings.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace pt::proxmox {
namespace {

bool is_lower_alpha(char c) {
    return c >= 'a' && c <= 'z';
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// A section header: "[NAME]" followed only by whitespace (qemu-server: m/^\[(...)\]\s*$/).
std::optional<std::string> header_name(std::string_view line) {
    if (line.empty() || line.front() != '[') {
        return std::nullopt;
    }
    const auto close = line.find(']');
    if (close == std::string_view::npos || !trim(line.substr(close + 1)).empty()) {
        return std::nullopt;
    }
    return std::string(line.substr(1, close - 1));
}

// qemu-server's snapshot names: [a-z][a-z0-9_\-]+, case-insensitive.
bool is_snapshot_name(std::string_view name) {
    if (name.size() < 2 || !std::isalpha(static_cast<unsigned char>(name.front()))) {
        return false;
    }
    return std::all_of(name.begin() + 1, name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
    });
}

SectionKind kind_of_header(std::string_view name) {
    const auto low = to_lower(name);
    if (low == "pending") {
        return SectionKind::pending;
    }
    if (low.starts_with("special:") && low.size() > 8) {
        return SectionKind::special;
    }
    return is_snapshot_name(name) ? SectionKind::snapshot : SectionKind::unknown;
}

std::string line_ending(std::string_view line) {
    if (line.ends_with("\r\n")) {
        return "\r\n";
    }
    return line.ends_with('\n') ? "\n" : "";
}

std::vector<std::string> split_list(std::string_view text, char sep) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        const auto next = std::min(text.find(sep, pos), text.size());
        const auto part = trim(text.substr(pos, next - pos));
        if (!part.empty()) {
            out.emplace_back(part);
        }
        pos = next + 1;
    }
    return out;
}

// Parts of a property string, empty ones skipped, not trimmed (a rewrite keeps every byte).
std::vector<std::string> split_parts(std::string_view text, char sep) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        const auto next = std::min(text.find(sep, pos), text.size());
        if (next > pos) {
            out.emplace_back(text.substr(pos, next - pos));
        }
        pos = next + 1;
    }
    return out;
}

} // namespace

std::string set_property(std::string_view text,
                         std::string_view default_key,
                         std::string_view key,
                         std::string_view value) {
    auto parts = split_parts(text, ',');
    const auto bare = [](const std::string& p) {
        return p.find('=') == std::string::npos;
    };
    if (key == default_key) {
        for (auto& part : parts) {
            if (bare(part) || part.starts_with(fmt::format("{}=", default_key))) {
                part = std::string(value);
                return fmt::format("{}", fmt::join(parts, ","));
            }
        }
        parts.insert(parts.begin(), std::string(value));
        return fmt::format("{}", fmt::join(parts, ","));
    }
    const auto prefix = fmt::format("{}=", key);
    for (auto& part : parts) {
        if (part.starts_with(prefix)) {
            part = prefix + std::string(value);
            return fmt::format("{}", fmt::join(parts, ","));
        }
    }
    auto at = parts.begin();
    while (at != parts.end()
           && (bare(*at) || at->starts_with(fmt::format("{}=", default_key))
               || at->substr(0, at->find('=')) < key)) {
        ++at;
    }
    parts.insert(at, prefix + std::string(value));
    return fmt::format("{}", fmt::join(parts, ","));
}

std::optional<std::string>
get_property(std::string_view text, std::string_view default_key, std::string_view key) {
    for (const auto& part : split_parts(text, ',')) {
        const auto eq = part.find('=');
        if (eq == std::string::npos) {
            if (key == default_key) {
                return part;
            }
        } else if (part.substr(0, eq) == key) {
            return part.substr(eq + 1);
        }
    }
    return std::nullopt;
}

std::string machine_type(const std::optional<std::string>& machine) {
    return machine ? get_property(*machine, "type", "type").value_or("") : "";
}

bool is_option_key(std::string_view key) {
    std::size_t i = 0;
    if (key.empty() || !is_lower_alpha(key[0])) {
        return false;
    }
    ++i;
    while (i < key.size() && (is_lower_alpha(key[i]) || key[i] == '_' || key[i] == '-')) {
        ++i;
    }
    while (i < key.size() && is_digit(key[i])) {
        ++i;
    }
    return i == key.size();
}

std::optional<int> hostpci_index(std::string_view key) {
    constexpr std::string_view prefix = "hostpci";
    if (!key.starts_with(prefix) || key.size() == prefix.size() || key.size() > prefix.size() + 3) {
        return std::nullopt;
    }
    const auto digits = key.substr(prefix.size());
    if (!std::all_of(digits.begin(), digits.end(), is_digit)
        || (digits.size() > 1 && digits[0] == '0')) {
        return std::nullopt;
    }
    int n = 0;
    for (const char c : digits) {
        n = n * 10 + (c - '0');
    }
    return n;
}

std::optional<bool> parse_bool(std::string_view text) {
    const auto low = to_lower(text);
    if (low == "1" || low == "on" || low == "yes" || low == "true") {
        return true;
    }
    if (low == "0" || low == "off" || low == "no" || low == "false") {
        return false;
    }
    return std::nullopt;
}

VmConfig VmConfig::parse(std::string text) {
    VmConfig config;
    config.m_text = std::move(text);
    config.reparse();
    return config;
}

void VmConfig::reparse() {
    m_lines.clear();
    m_sections.clear();
    m_sections.push_back(Section{SectionKind::main, "", 0, 0});
    std::size_t pos = 0;
    int number = 0;
    while (pos < m_text.size()) {
        const auto newline = m_text.find('\n', pos);
        const auto end = newline == std::string::npos ? m_text.size() : newline + 1;
        std::string_view raw(m_text.data() + pos, end - pos);
        std::string_view line = raw;
        if (line.ends_with('\n')) {
            line.remove_suffix(1);
        }
        ConfigLine entry;
        entry.number = ++number;
        entry.offset = pos;
        entry.length = end - pos;
        if (trim(line).empty()) {
            entry.kind = ConfigLine::Kind::blank;
        } else if (const auto name = header_name(line)) {
            entry.kind = ConfigLine::Kind::header;
            m_sections.back().end_line = m_lines.size();
            m_sections.push_back(Section{kind_of_header(*name), *name, m_lines.size(), 0});
        } else if (line.front() == '#') {
            entry.kind = ConfigLine::Kind::comment;
        } else {
            // m/^([a-z][a-z_\-]*\d*):\s*(.+?)\s*$/ (and description/args/delete, same shape)
            const auto colon = line.find(':');
            const auto value =
                colon == std::string_view::npos ? std::string_view{} : trim(line.substr(colon + 1));
            if (colon != std::string_view::npos && is_option_key(line.substr(0, colon))
                && !value.empty()) {
                entry.kind = ConfigLine::Kind::option;
                entry.key = std::string(line.substr(0, colon));
                entry.value = std::string(value);
            } else {
                entry.kind = ConfigLine::Kind::invalid;
            }
        }
        entry.section = m_sections.size() - 1;
        m_lines.push_back(std::move(entry));
        pos = end;
    }
    m_sections.back().end_line = m_lines.size();
}

std::optional<std::string> VmConfig::lookup(std::size_t section, std::string_view key) const {
    std::optional<std::string> found;
    const auto& sec = m_sections[section];
    for (std::size_t i = sec.first_line; i < sec.end_line; ++i) {
        if (m_lines[i].kind == ConfigLine::Kind::option && m_lines[i].key == key) {
            found = m_lines[i].value;
        }
    }
    return found;
}

std::optional<std::string> VmConfig::get(std::string_view key) const {
    return lookup(0, key);
}

std::optional<Option> VmConfig::find(std::string_view key) const {
    std::optional<Option> found;
    const auto& sec = m_sections[0];
    for (std::size_t i = sec.first_line; i < sec.end_line; ++i) {
        if (m_lines[i].kind == ConfigLine::Kind::option && m_lines[i].key == key) {
            found = Option{m_lines[i].key, m_lines[i].value, m_lines[i].number};
        }
    }
    return found;
}

std::vector<Option> VmConfig::options() const {
    std::vector<Option> out;
    const auto& sec = m_sections[0];
    for (std::size_t i = sec.first_line; i < sec.end_line; ++i) {
        if (m_lines[i].kind == ConfigLine::Kind::option) {
            out.push_back(Option{m_lines[i].key, m_lines[i].value, m_lines[i].number});
        }
    }
    return out;
}

std::optional<std::size_t> VmConfig::pending_section() const {
    for (std::size_t i = 1; i < m_sections.size(); ++i) {
        if (m_sections[i].kind == SectionKind::pending) {
            return i;
        }
    }
    return std::nullopt;
}

std::optional<std::string> VmConfig::get_pending(std::string_view key) const {
    const auto pending = pending_section();
    return pending ? lookup(*pending, key) : std::nullopt;
}

std::vector<std::string> VmConfig::pending_deletes() const {
    const auto list = get_pending("delete");
    return list ? split_list(*list, ',') : std::vector<std::string>{};
}

std::vector<std::pair<std::string, std::string>> VmConfig::effective() const {
    std::map<std::string, std::string> merged;
    for (const auto& option : options()) {
        merged[option.key] = option.value;
    }
    if (const auto pending = pending_section()) {
        const auto& sec = m_sections[*pending];
        for (std::size_t i = sec.first_line; i < sec.end_line; ++i) {
            if (m_lines[i].kind == ConfigLine::Kind::option && m_lines[i].key != "delete") {
                merged[m_lines[i].key] = m_lines[i].value;
            }
        }
        for (const auto& key : pending_deletes()) {
            merged.erase(key);
        }
    }
    return {merged.begin(), merged.end()};
}

std::vector<Option> VmConfig::effective_options() const {
    std::map<std::string, Option> merged;
    for (const auto& option : options()) {
        merged[option.key] = option;
    }
    if (const auto pending = pending_section()) {
        const auto& sec = m_sections[*pending];
        for (std::size_t i = sec.first_line; i < sec.end_line; ++i) {
            const auto& line = m_lines[i];
            if (line.kind == ConfigLine::Kind::option && line.key != "delete") {
                merged[line.key] = Option{line.key, line.value, line.number, true};
            }
        }
        for (const auto& key : pending_deletes()) {
            merged.erase(key);
        }
    }
    std::vector<Option> out;
    for (auto& [key, option] : merged) {
        out.push_back(std::move(option));
    }
    return out;
}

bool VmConfig::has_pending_changes() const {
    const auto pending = pending_section();
    if (!pending) {
        return false;
    }
    const auto& sec = m_sections[*pending];
    for (std::size_t i = sec.first_line; i < sec.end_line; ++i) {
        if (m_lines[i].kind == ConfigLine::Kind::option) {
            return true;
        }
    }
    return false;
}

void VmConfig::splice(std::size_t offset, std::size_t length, std::string_view replacement) {
    m_text.replace(offset, length, replacement);
    reparse();
}

bool VmConfig::set_in(std::size_t section, std::string_view key, std::string_view value) {
    const auto& sec = m_sections[section];
    std::optional<std::size_t> last_same;
    std::optional<std::size_t> first_greater;
    std::optional<std::size_t> last_option;
    std::optional<std::size_t> last_comment;
    for (std::size_t i = sec.first_line; i < sec.end_line; ++i) {
        const auto& line = m_lines[i];
        if (line.kind == ConfigLine::Kind::comment) {
            last_comment = i;
        }
        if (line.kind != ConfigLine::Kind::option) {
            continue;
        }
        last_option = i;
        if (line.key == key) {
            last_same = i;
        } else if (!first_greater && line.key > key) {
            first_greater = i;
        }
    }
    const std::string content = fmt::format("{}: {}", key, value);
    if (last_same) {
        const auto& line = m_lines[*last_same];
        const std::string_view raw(m_text.data() + line.offset, line.length);
        const std::string replacement = content + line_ending(raw);
        if (raw == replacement) {
            return false;
        }
        splice(line.offset, line.length, replacement);
        return true;
    }
    // Where qemu-server's writer (keys sorted) would put it: before the first greater key, else
    // after the last option, else after the header or the description.
    if (first_greater) {
        splice(m_lines[*first_greater].offset, 0, content + "\n");
        return true;
    }
    std::optional<std::size_t> after = last_option;
    if (!after) {
        after = section == 0 ? last_comment : std::optional<std::size_t>(sec.first_line);
    }
    if (!after) {
        splice(0, 0, content + "\n");
        return true;
    }
    const auto& line = m_lines[*after];
    const auto end = line.offset + line.length;
    if (m_text[end - 1] != '\n') {
        // The file ends without a newline: keep it that way.
        splice(end, 0, "\n" + content);
    } else {
        splice(end, 0, content + "\n");
    }
    return true;
}

bool VmConfig::remove_in(std::size_t section, std::string_view key) {
    bool changed = false;
    for (;;) {
        const auto& sec = m_sections[section];
        std::optional<std::size_t> hit;
        for (std::size_t i = sec.first_line; i < sec.end_line && !hit; ++i) {
            if (m_lines[i].kind == ConfigLine::Kind::option && m_lines[i].key == key) {
                hit = i;
            }
        }
        if (!hit) {
            return changed;
        }
        const auto& line = m_lines[*hit];
        auto offset = line.offset;
        auto length = line.length;
        if (m_text[offset + length - 1] != '\n' && offset > 0) {
            // The last line of a file without a final newline: take the newline before it.
            --offset;
            ++length;
        }
        splice(offset, length, "");
        changed = true;
    }
}

bool VmConfig::set(std::string_view key, std::string_view value) {
    return set_in(0, key, value);
}

bool VmConfig::remove(std::string_view key) {
    return remove_in(0, key);
}

bool VmConfig::set_pending(std::string_view key, std::string_view value) {
    if (const auto pending = pending_section()) {
        return set_in(*pending, key, value);
    }
    const std::string block = fmt::format("[PENDING]\n{}: {}\n", key, value);
    if (m_sections.size() > 1) {
        // Before the first [special:...] or snapshot section, where qemu-server writes it.
        splice(m_lines[m_sections[1].first_line].offset, 0, block + "\n");
        return true;
    }
    std::string tail;
    if (!m_text.empty() && m_text.back() != '\n') {
        tail += "\n";
    }
    if (!m_text.empty()) {
        tail += "\n";
    }
    splice(m_text.size(), 0, tail + block);
    return true;
}

bool VmConfig::remove_pending(std::string_view key) {
    const auto pending = pending_section();
    return pending ? remove_in(*pending, key) : false;
}

bool VmConfig::add_pending_delete(std::string_view key) {
    auto list = pending_deletes();
    if (std::find(list.begin(), list.end(), key) != list.end()) {
        return false;
    }
    list.emplace_back(key);
    return set_pending("delete", fmt::format("{}", fmt::join(list, ",")));
}

bool VmConfig::remove_pending_delete(std::string_view key) {
    auto list = pending_deletes();
    const auto it = std::find(list.begin(), list.end(), key);
    if (it == list.end()) {
        return false;
    }
    list.erase(it);
    if (list.empty()) {
        return remove_pending("delete");
    }
    return set_pending("delete", fmt::format("{}", fmt::join(list, ",")));
}

std::optional<HostId> parse_host_id(std::string_view text) {
    HostId id;
    id.text = std::string(text);
    std::string_view rest = text;
    // [DDDD:]BB:DD[.F]
    const auto colons = std::count(rest.begin(), rest.end(), ':');
    if (colons == 2) {
        const auto colon = rest.find(':');
        const auto domain = rest.substr(0, colon);
        if (domain.size() < 4 || domain.size() > 8) {
            return std::nullopt;
        }
        const auto value = pci::parse_hex_digits(domain);
        if (!value) {
            return std::nullopt;
        }
        id.address.domain = *value;
        id.domain_given = true;
        rest.remove_prefix(colon + 1);
    } else if (colons != 1) {
        return std::nullopt;
    }
    const auto bus = rest.substr(0, 2);
    if (rest.size() < 5 || rest[2] != ':') {
        return std::nullopt;
    }
    const auto dev = rest.substr(3, 2);
    const auto b = pci::parse_hex_digits(bus);
    const auto d = pci::parse_hex_digits(dev);
    if (!b || !d || bus.size() != 2 || dev.size() != 2) {
        return std::nullopt;
    }
    id.address.bus = static_cast<std::uint8_t>(*b);
    id.address.device = static_cast<std::uint8_t>(*d);
    rest.remove_prefix(5);
    if (rest.empty()) {
        id.all_functions = true;
    } else {
        if (rest.size() != 2 || rest[0] != '.') {
            return std::nullopt;
        }
        const auto f = pci::parse_hex_digits(rest.substr(1));
        if (!f) {
            return std::nullopt;
        }
        id.address.function = static_cast<std::uint8_t>(*f);
    }
    id.upper_case =
        std::any_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'F'; });
    return id;
}

namespace {

// PCI.pm $hostpci_fmt's pattern for the ID overrides: ^0x[0-9a-fA-F]{4}$.
bool is_hex_id(std::string_view text) {
    return text.size() == 6 && text.starts_with("0x")
           && std::all_of(text.begin() + 2, text.end(), [](char c) {
                  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
              });
}

} // namespace

HostPci parse_hostpci(std::string_view value) {
    static const std::set<std::string, std::less<>> bools = {
        "pcie", "x-vga", "rombar", "legacy-igd"};
    static const std::set<std::string, std::less<>> strings = {"mapping",
                                                               "romfile",
                                                               "mdev",
                                                               "vendor-id",
                                                               "device-id",
                                                               "sub-vendor-id",
                                                               "sub-device-id",
                                                               "driver"};
    HostPci out;
    std::set<std::string> seen;
    std::size_t pos = 0;
    while (pos <= value.size()) {
        const auto next = std::min(value.find(',', pos), value.size());
        const auto part = value.substr(pos, next - pos);
        pos = next + 1;
        if (trim(part).empty()) {
            continue;
        }
        const auto eq = part.find('=');
        const bool bare = eq == std::string_view::npos;
        const std::string key = bare ? "host" : std::string(part.substr(0, eq));
        const std::string val = std::string(bare ? part : part.substr(eq + 1));
        out.items.push_back(HostPciItem{key, val, bare});
        if (!seen.insert(key).second) {
            out.problems.push_back(key == "host"
                                       ? fmt::format("{:?}: the host IDs are given twice", part)
                                       : fmt::format("duplicate key {:?}", key));
            continue;
        }
        if (key == "host") {
            for (const auto& text : split_list(val, ';')) {
                if (auto id = parse_host_id(text)) {
                    out.hosts.push_back(std::move(*id));
                } else {
                    out.problems.push_back(
                        fmt::format("{:?} is not a host PCI ID ([DDDD:]BB:DD[.F])", text));
                }
            }
            if (split_list(val, ';').empty()) {
                out.problems.push_back("host= is empty");
            }
        } else if (bools.count(key) != 0) {
            const auto b = parse_bool(val);
            if (!b) {
                out.problems.push_back(
                    fmt::format("{}={:?} is not a boolean (use 1 or 0)", key, val));
            } else if (key == "pcie") {
                out.pcie = b;
            } else if (key == "x-vga") {
                out.x_vga = b;
            } else if (key == "rombar") {
                out.rombar = b;
            } else {
                out.legacy_igd = b;
            }
        } else if (strings.count(key) != 0) {
            if (key == "mapping") {
                if (trim(val).empty()) {
                    out.problems.push_back("mapping= is empty (give a mapping ID)");
                } else {
                    out.mapping = val;
                }
            } else if (key == "driver") {
                if (val == "vfio" || val == "keep") {
                    out.driver = val;
                } else {
                    out.problems.push_back(
                        fmt::format("driver={:?} is not one of vfio, keep", val));
                }
            } else if (key == "romfile") {
                // PCI.pm $hostpci_fmt: romfile pattern '[^,;]+'.
                if (val.empty() || val.find(';') != std::string::npos) {
                    out.problems.push_back(fmt::format(
                        "romfile={:?} does not match qemu-server's pattern [^,;]+", val));
                } else {
                    out.romfile = val;
                }
            } else if (key == "mdev") {
                // PCI.pm $hostpci_fmt: mdev pattern '[^/\.:]+' (a type name such as
                // nvidia-63 or i915-GVTg_V5_4, never a path).
                if (val.empty() || val.find_first_of("/.:") != std::string::npos) {
                    out.problems.push_back(fmt::format(
                        "mdev={:?} does not match qemu-server's pattern [^/.:]+ (a type name "
                        "such as nvidia-63)",
                        val));
                } else {
                    out.mdev = val;
                }
            } else if (is_hex_id(val)) {
                out.id_overrides.emplace_back(key, val);
            } else {
                // PCI.pm $hostpci_fmt: vendor-id, device-id, sub-vendor-id, sub-device-id all
                // have the pattern ^0x[0-9a-fA-F]{4}$.
                out.problems.push_back(
                    fmt::format("{}={:?} is not 0x and four hex digits (qemu-server's pattern "
                                "^0x[0-9a-fA-F]{{4}}$, e.g. 0x10de)",
                                key,
                                val));
            }
        } else {
            out.problems.push_back(fmt::format("unknown key {:?}", key));
        }
    }
    if (seen.count("host") != 0 && out.mapping) {
        out.problems.push_back("host and mapping are both set (qemu-server: \"Cannot set both\")");
    }
    if (seen.count("host") == 0 && seen.count("mapping") == 0) {
        out.problems.push_back("neither host nor mapping is set");
    }
    return out;
}

std::string format_hostpci(const HostPci& hostpci) {
    std::string out;
    for (const auto& item : hostpci.items) {
        if (!out.empty()) {
            out += ',';
        }
        out += item.bare ? item.value : fmt::format("{}={}", item.key, item.value);
    }
    return out;
}

void set_item(HostPci& hostpci, std::string_view key, std::string_view value) {
    auto& items = hostpci.items;
    if (key == "host" || key == "mapping") {
        const std::string_view other = key == "host" ? "mapping" : "host";
        remove_item(hostpci, other);
        const auto it = std::find_if(
            items.begin(), items.end(), [&](const auto& item) { return item.key == key; });
        // The device comes first, written bare as the GUI and qm set write it.
        const bool bare = key == "host";
        if (it != items.end()) {
            *it = HostPciItem{std::string(key), std::string(value), bare};
        } else {
            items.insert(items.begin(), HostPciItem{std::string(key), std::string(value), bare});
        }
        return;
    }
    const auto it =
        std::find_if(items.begin(), items.end(), [&](const auto& item) { return item.key == key; });
    if (it != items.end()) {
        it->value = std::string(value);
        return;
    }
    // PVE::JSONSchema::print_property_string: the default key, then the others sorted.
    auto at = items.begin();
    while (at != items.end() && (at->key == "host" || at->key == "mapping" || at->key < key)) {
        ++at;
    }
    items.insert(at, HostPciItem{std::string(key), std::string(value)});
}

void remove_item(HostPci& hostpci, std::string_view key) {
    auto& items = hostpci.items;
    items.erase(std::remove_if(
                    items.begin(), items.end(), [&](const auto& item) { return item.key == key; }),
                items.end());
}

} // namespace pt::proxmox
