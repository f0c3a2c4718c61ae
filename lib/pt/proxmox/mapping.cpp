// SPDX-License-Identifier: MIT
#include "pt/proxmox/mapping.hpp"

#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/selector.hpp"
#include "pt/pci/topology.hpp"
#include "pt/proxmox/vm_files.hpp"
#include "pt/strings.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

namespace pt::proxmox {
namespace {

// One physical line with its place in the text.
struct RawLine {
    std::string_view text; // without the newline
    std::size_t offset = 0;
    std::size_t end = 0; // one past its newline (or the text's end)
    int number = 0;
};

std::vector<RawLine> split_lines(std::string_view text) {
    std::vector<RawLine> out;
    std::size_t pos = 0;
    int number = 0;
    while (pos < text.size()) {
        const auto nl = text.find('\n', pos);
        const auto end = nl == std::string_view::npos ? text.size() : nl + 1;
        auto line = text.substr(pos, end - pos);
        if (line.ends_with('\n')) {
            line.remove_suffix(1);
        }
        out.push_back(RawLine{line, pos, end, ++number});
        pos = end;
    }
    return out;
}

// ---- PVE::SectionConfig::parse_config (pve-common src/PVE/SectionConfig.pm), with the section
// header of PVE::Mapping::PCI::parse_section_header (pve-guest-common src/PVE/Mapping/PCI.pm),
// followed line by line, because where Proxmox sees a section decides where a map line counts:
//   - the text is split at "\n" only; a "\r" stays in its line;
//   - a line matching /^\s*#/ is skipped everywhere, even inside a section, and ends nothing;
//   - outside a section, an empty line (or "0": Perl's false) is skipped; /^(\S+)\s*$/ starts a
//     section named $1 (skipped whole when $1 is not a pve-configid); any other line is warned
//     about and ignored;
//   - inside a section, the next false line (empty or "0") ends it; /^\s+(\S+)(\s+(.*\S))?\s*$/
//     is a property (key $1, value $3); any other line, a stray unindented one or a
//     whitespace-only one (a CRLF file's "\r" too), is warned about and ignored and the section
//     goes on;
//   - `map` is an array property, so every map line is one more entry; a later section with the
//     same ID replaces the earlier one.

// Perl's \s (ASCII): space, \t, \n, \r, \f, \v.
bool perl_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view perl_trim(std::string_view text) {
    while (!text.empty() && perl_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && perl_space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

bool is_comment(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && perl_space(line[i])) {
        ++i;
    }
    return i < line.size() && line[i] == '#';
}

// A property line: key and value (empty when the line has none).
struct Property {
    std::string_view key;
    std::string_view value;
};

std::optional<Property> parse_property(std::string_view line) {
    if (line.empty() || !perl_space(line.front())) {
        return std::nullopt;
    }
    const auto body = perl_trim(line);
    if (body.empty()) {
        return std::nullopt;
    }
    std::size_t key_end = 0;
    while (key_end < body.size() && !perl_space(body[key_end])) {
        ++key_end;
    }
    return Property{body.substr(0, key_end), perl_trim(body.substr(key_end))};
}

// The section ID of a header line, or nullopt.
std::optional<std::string_view> parse_header(std::string_view line) {
    if (line.empty() || perl_space(line.front())) {
        return std::nullopt;
    }
    std::size_t end = 0;
    while (end < line.size() && !perl_space(line[end])) {
        ++end;
    }
    if (!perl_trim(line.substr(end)).empty()) {
        return std::nullopt;
    }
    return line.substr(0, end);
}

bool perl_false(std::string_view line) {
    return line.empty() || line == "0";
}

struct CfgSection {
    std::string id;
    std::size_t header = 0;              // index into the lines
    bool skipped = false;                // not a pve-configid: Proxmox skips the whole section
    std::vector<std::size_t> properties; // indices of its property lines
};

struct Sections {
    std::vector<CfgSection> sections;                         // in file order, duplicates included
    std::vector<std::pair<std::size_t, std::string>> ignored; // line index, why
};

Sections scan_sections(const std::vector<RawLine>& lines) {
    Sections out;
    std::size_t i = 0;
    const auto next = [&]() -> std::optional<std::size_t> {
        while (i < lines.size()) {
            const std::size_t index = i++;
            if (!is_comment(lines[index].text)) {
                return index;
            }
        }
        return std::nullopt;
    };
    while (i < lines.size()) {
        const auto at = next();
        if (!at) {
            break;
        }
        const auto text = lines[*at].text;
        if (perl_false(text)) {
            continue;
        }
        const auto id = parse_header(text);
        if (!id) {
            out.ignored.emplace_back(*at, "not a section header (a mapping ID alone on its line)");
            continue;
        }
        CfgSection section{std::string(*id), *at, !is_config_id(*id), {}};
        if (section.skipped) {
            out.ignored.emplace_back(*at, "not a valid mapping ID: Proxmox skips the section");
        }
        while (const auto inner = next()) {
            const auto line = lines[*inner].text;
            if (perl_false(line)) {
                break;
            }
            if (section.skipped) {
                continue;
            }
            if (parse_property(line)) {
                section.properties.push_back(*inner);
            } else {
                out.ignored.emplace_back(*inner,
                                         fmt::format("not a property line of section {} (those "
                                                     "start with whitespace); the section goes on",
                                                     section.id));
            }
        }
        out.sections.push_back(std::move(section));
    }
    return out;
}

// The section Proxmox uses for `id` (the last one of that ID), or nullptr.
const CfgSection* effective_section(const Sections& sections, std::string_view id) {
    const CfgSection* found = nullptr;
    for (const auto& section : sections.sections) {
        if (!section.skipped && section.id == id) {
            found = &section;
        }
    }
    return found;
}

bool is_vendor_device(std::string_view text) {
    if (text.size() != 9 || text[4] != ':') {
        return false;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (i != 4 && std::isxdigit(static_cast<unsigned char>(text[i])) == 0) {
            return false;
        }
    }
    return true;
}

MapEntry parse_map(std::string_view value, int line) {
    MapEntry entry;
    entry.line = line;
    entry.value = std::string(value);
    std::size_t pos = 0;
    while (pos <= value.size()) {
        const auto next = std::min(value.find(',', pos), value.size());
        const auto part = trim(value.substr(pos, next - pos));
        pos = next + 1;
        if (part.empty()) {
            continue;
        }
        const auto eq = part.find('=');
        if (eq == std::string_view::npos) {
            entry.problems.push_back(fmt::format("{:?} is not key=value", part));
            continue;
        }
        const auto key = part.substr(0, eq);
        const auto val = std::string(part.substr(eq + 1));
        if (key == "node") {
            entry.node = val;
        } else if (key == "path") {
            entry.path = val;
            std::size_t p = 0;
            while (p <= val.size()) {
                const auto n = std::min(val.find(';', p), val.size());
                const auto one = val.substr(p, n - p);
                p = n + 1;
                const auto id = parse_host_id(one);
                // The domain is mandatory here, unlike hostpci's host= (PCI.pm $PCI_RE).
                if (!id || !id->domain_given) {
                    entry.problems.push_back(fmt::format(
                        "path {:?} is not DDDD:BB:DD[.F] (the domain is required)", one));
                } else {
                    entry.paths.push_back(*id);
                }
            }
        } else if (key == "id") {
            entry.id = val;
            if (!is_vendor_device(val)) {
                entry.problems.push_back(fmt::format("id={:?} is not vvvv:dddd", val));
            }
        } else if (key == "subsystem-id") {
            entry.subsystem_id = val;
            if (!is_vendor_device(val)) {
                entry.problems.push_back(fmt::format("subsystem-id={:?} is not vvvv:dddd", val));
            }
        } else if (key == "iommugroup") {
            const bool digits =
                !val.empty() && val.size() < 9
                && std::all_of(val.begin(), val.end(), [](char c) { return c >= '0' && c <= '9'; });
            if (digits) {
                entry.iommugroup = std::stoi(val);
            } else {
                entry.problems.push_back(fmt::format("iommugroup={:?} is not a number", val));
            }
        } else if (key != "description") {
            entry.problems.push_back(fmt::format("unknown key {:?}", key));
        }
    }
    for (const auto* required : {"node", "path", "id"}) {
        const bool missing = (std::string_view(required) == "node" && entry.node.empty())
                             || (std::string_view(required) == "path" && entry.path.empty())
                             || (std::string_view(required) == "id" && !entry.id);
        if (missing) {
            entry.problems.push_back(fmt::format("{}= is missing", required));
        }
    }
    return entry;
}

std::string hex4(std::uint16_t v) {
    return fmt::format("{:04x}", v);
}

std::optional<std::string> subsystem_of(const pci::Device& dev) {
    if (!dev.subsystem_vendor || !dev.subsystem_device
        || (*dev.subsystem_vendor == 0 && *dev.subsystem_device == 0)) {
        return std::nullopt;
    }
    return hex4(*dev.subsystem_vendor) + ":" + hex4(*dev.subsystem_device);
}

} // namespace

const PciMapping* MappingFile::find(std::string_view id) const {
    const auto it = std::find_if(
        mappings.begin(), mappings.end(), [&](const PciMapping& m) { return m.id == id; });
    return it == mappings.end() ? nullptr : &*it;
}

MappingFile parse_mapping_file(std::string_view text) {
    MappingFile file;
    const auto lines = split_lines(text);
    const auto scanned = scan_sections(lines);
    for (const auto& section : scanned.sections) {
        if (section.skipped) {
            continue;
        }
        PciMapping mapping{section.id, lines[section.header].number, {}};
        for (const auto index : section.properties) {
            const auto property = parse_property(lines[index].text);
            if (property && property->key == "map") {
                mapping.maps.push_back(parse_map(property->value, lines[index].number));
            }
        }
        // A later section of the same ID replaces the earlier one (parse_config: $ids->{$id}).
        std::erase_if(file.mappings, [&](const PciMapping& m) { return m.id == mapping.id; });
        file.mappings.push_back(std::move(mapping));
    }
    for (const auto& [index, why] : scanned.ignored) {
        file.ignored.push_back({lines[index].number, std::string(lines[index].text), why});
    }
    std::sort(file.ignored.begin(),
              file.ignored.end(),
              [](const IgnoredLine& a, const IgnoredLine& b) { return a.line < b.line; });
    return file;
}

bool is_config_id(std::string_view id) {
    if (id.size() < 2 || std::isalpha(static_cast<unsigned char>(id.front())) == 0) {
        return false;
    }
    return std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
    });
}

std::string format_map_value(std::string_view id,
                             std::optional<int> iommugroup,
                             std::string_view node,
                             std::string_view path,
                             const std::optional<std::string>& subsystem_id) {
    std::string out = fmt::format("id={}", id);
    if (iommugroup) {
        out += fmt::format(",iommugroup={}", *iommugroup);
    }
    out += fmt::format(",node={},path={}", node, path);
    if (subsystem_id) {
        out += fmt::format(",subsystem-id={}", *subsystem_id);
    }
    return out;
}

std::string set_node_map(std::string_view text,
                         std::string_view mapping_id,
                         std::string_view node,
                         std::string_view path,
                         std::string_view value) {
    const auto lines = split_lines(text);
    const auto scanned = scan_sections(lines);
    const CfgSection* section = effective_section(scanned, mapping_id);
    std::string out(text);
    if (!section) {
        // A new section after an empty line, which ends whatever section the file ends in (a
        // whitespace-only or "\r" line would not).
        std::string block;
        if (!out.empty() && out.back() != '\n') {
            block += "\n";
        }
        if (!out.empty() && !(out + block).ends_with("\n\n")) {
            block += "\n";
        }
        block += fmt::format("{}\n\tmap {}\n", mapping_id, value);
        return out + block;
    }
    std::vector<std::size_t> node_lines;
    std::optional<std::size_t> same_path;
    for (const auto index : section->properties) {
        const auto property = parse_property(lines[index].text);
        if (!property || property->key != "map") {
            continue;
        }
        const auto entry = parse_map(property->value, lines[index].number);
        if (entry.node == node) {
            node_lines.push_back(index);
            if (to_lower(entry.path) == to_lower(path)) {
                same_path = index;
            }
        }
    }
    std::optional<std::size_t> target = same_path;
    if (!target && node_lines.size() == 1) {
        target = node_lines.front();
    }
    if (target) {
        const auto& line = lines[*target];
        if (parse_property(line.text)->value == value) {
            return out;
        }
        // Keep the line's own indentation and ending (a "\r" of CRLF included).
        std::size_t indent = 0;
        while (indent < line.text.size() && perl_space(line.text[indent])) {
            ++indent;
        }
        const std::string_view cr = line.text.ends_with('\r') ? "\r" : "";
        const std::string replacement =
            fmt::format("{}map {}{}", line.text.substr(0, indent), value, cr);
        return out.replace(line.offset, line.text.size(), replacement);
    }
    // After the section's last property line (or its header), before whatever ends it.
    const std::size_t last =
        section->properties.empty() ? section->header : section->properties.back();
    const auto& after = lines[last];
    const std::string_view eol = after.text.ends_with('\r') ? "\r\n" : "\n";
    if (after.end == after.offset + after.text.size()) {
        // the last line of a file without a final newline
        return out.insert(after.end, fmt::format("{}\tmap {}", eol, value));
    }
    return out.insert(after.end, fmt::format("\tmap {}{}", value, eol));
}

std::vector<check::Finding> check_mappings(const MappingFile& file,
                                           const pci::Topology& topology,
                                           std::string_view node,
                                           const std::optional<std::string>& only) {
    std::vector<check::Finding> out;
    if (only && !file.find(*only)) {
        throw Error(fmt::format("{} has no mapping {:?}; `pt mapping {} SEL` creates it",
                                k_mapping_file,
                                *only,
                                *only));
    }
    const std::string file_name(k_mapping_file);
    for (const auto& mapping : file.mappings) {
        if (only && mapping.id != *only) {
            continue;
        }
        bool any = false;
        for (const auto& entry : mapping.maps) {
            if (entry.node != node) {
                continue;
            }
            any = true;
            const auto where =
                fmt::format("{}:{}: {} map {}", file_name, entry.line, mapping.id, entry.value);
            const auto redo = fmt::format("pt mapping {} {} --apply", mapping.id, entry.path);
            auto finding =
                [&](std::string id, check::Status status, std::string summary, std::string fix) {
                    out.push_back(check::Finding{
                        std::move(id), status, std::move(summary), where, std::move(fix)});
                };
            if (!entry.problems.empty()) {
                finding("mapping.invalid",
                        check::Status::fail,
                        fmt::format("mapping {} has an entry for {} that Proxmox rejects: {}",
                                    mapping.id,
                                    node,
                                    fmt::join(entry.problems, "; ")),
                        entry.paths.empty()
                            ? fmt::format("fix line {} of {}", entry.line, file_name)
                            : redo);
                continue;
            }
            bool failed = false;
            for (std::size_t i = 0; i < entry.paths.size(); ++i) {
                const auto& host = entry.paths[i];
                const auto* dev = topology.find(host.address);
                if (!dev) {
                    finding("mapping.device-missing",
                            check::Status::fail,
                            fmt::format("mapping {}: device {} does not exist on {} (a moved card "
                                        "or a BIOS update that renumbered the buses); VMs using "
                                        "it will not start here",
                                        mapping.id,
                                        host.text,
                                        node),
                            fmt::format("find the device with `pt iommu-groups --gpu`, then run "
                                        "`pt mapping {} NEW-ADDRESS --apply`",
                                        mapping.id));
                    failed = true;
                    break;
                }
                if (i > 0) {
                    continue; // qemu-server compares the first device only
                }
                const auto actual_id = hex4(dev->vendor) + ":" + hex4(dev->device);
                if (entry.id && to_lower(*entry.id) != actual_id) {
                    finding("mapping.id-mismatch",
                            check::Status::fail,
                            fmt::format("mapping {}: {} is {} but the mapping says id={} (Proxmox "
                                        "refuses to start: \"PCI device mapping invalid (hardware "
                                        "probably changed)\")",
                                        mapping.id,
                                        host.text,
                                        actual_id,
                                        *entry.id),
                            redo);
                    failed = true;
                    break;
                }
                const auto actual_sub = subsystem_of(*dev);
                const auto want_sub = entry.subsystem_id
                                          ? std::optional(to_lower(*entry.subsystem_id))
                                          : std::nullopt;
                if (actual_sub != want_sub) {
                    finding(
                        "mapping.subsystem-mismatch",
                        check::Status::fail,
                        fmt::format("mapping {}: {} reports subsystem {} but the mapping says "
                                    "{} (Proxmox refuses to start the VM)",
                                    mapping.id,
                                    host.text,
                                    actual_sub.value_or("none"),
                                    want_sub ? "subsystem-id=" + *want_sub : std::string("none")),
                        redo);
                    failed = true;
                    break;
                }
                if (entry.iommugroup && dev->iommu_group != entry.iommugroup) {
                    finding("mapping.iommugroup-mismatch",
                            check::Status::fail,
                            fmt::format("mapping {}: {} is in IOMMU group {} but the mapping says "
                                        "iommugroup={} (groups were renumbered, e.g. by a BIOS "
                                        "update; Proxmox refuses to start the VM)",
                                        mapping.id,
                                        host.text,
                                        dev->iommu_group ? fmt::format("{}", *dev->iommu_group)
                                                         : std::string("none"),
                                        *entry.iommugroup),
                            redo);
                    failed = true;
                    break;
                }
            }
            if (!failed) {
                finding(
                    "mapping.valid",
                    check::Status::pass,
                    fmt::format(
                        "mapping {} matches the hardware of {} ({})", mapping.id, node, entry.path),
                    "");
            }
        }
        if (!any) {
            out.push_back(check::Finding{
                "mapping.no-node-entry",
                check::Status::warn,
                fmt::format("mapping {} has no entry for this node ({}): a VM that uses it cannot "
                            "start here",
                            mapping.id,
                            node),
                fmt::format("{}:{}: {}", file_name, mapping.line, mapping.id),
                fmt::format("pt mapping {} SEL --apply", mapping.id)});
        }
    }
    return out;
}

std::vector<check::Finding> check_mappings(const model::Host& host,
                                           const std::optional<std::string>& only) {
    const host::Root& root = host.root();
    if (!root.exists(k_mapping_file)) {
        if (only) {
            throw Error(fmt::format("{} does not exist, so there is no mapping {:?}; `pt mapping "
                                    "{} SEL` creates it",
                                    root.map(std::string(k_mapping_file)).string(),
                                    *only,
                                    *only));
        }
        return {check::Finding{"mapping.file",
                               check::Status::skip,
                               "no PCI resource mappings on this cluster",
                               fmt::format("{} does not exist", k_mapping_file),
                               ""}};
    }
    const auto node = local_node(root);
    if (!node) {
        throw Error(fmt::format("cannot tell this node's name: none of {}, {} or {} exists",
                                root.map("/proc/sys/kernel/hostname").string(),
                                root.map("/etc/hostname").string(),
                                root.map("/etc/pve/local").string()));
    }
    return check_mappings(parse_mapping_file(root.read_file(std::string(k_mapping_file))),
                          host.topology(),
                          *node,
                          only);
}

edit::Plan plan_mapping(const model::Host& host,
                        std::string_view mapping_id,
                        std::string_view selector,
                        std::string title,
                        const std::optional<std::string>& planned_cfg) {
    const host::Root& root = host.root();
    const pci::Topology& topology = host.topology();
    if (!is_config_id(mapping_id)) {
        throw UsageError(fmt::format("{:?} is not a mapping ID: use a letter, then letters, "
                                     "digits, '_' or '-' (at least 2 characters)",
                                     mapping_id));
    }
    const auto sel = pci::parse_selector(selector);
    if (sel.kind == pci::Selector::Kind::ids) {
        throw UsageError(fmt::format("{} is a vendor:device ID; a mapping names one address: "
                                     "give 0000:BB:DD (every function) or 0000:BB:DD.F",
                                     selector));
    }
    const auto node = local_node(root);
    if (!node) {
        throw Error(fmt::format("cannot tell this node's name: none of {}, {} or {} exists",
                                root.map("/proc/sys/kernel/hostname").string(),
                                root.map("/etc/hostname").string(),
                                root.map("/etc/pve/local").string()));
    }
    pci::Address first = sel.address;
    if (sel.kind == pci::Selector::Kind::slot) {
        first.function = 0;
    }
    const auto* dev = topology.find(first);
    if (!dev) {
        throw Error(
            fmt::format("no PCI device {} on this host ({} does not exist); `pt "
                        "iommu-groups` lists the devices",
                        sel.kind == pci::Selector::Kind::slot ? pci::format(first) : sel.text,
                        root.map("/sys/bus/pci/devices/" + pci::format(first)).string()));
    }
    const auto path =
        sel.kind == pci::Selector::Kind::slot ? pci::format_slot(first) : pci::format(first);
    const auto value = format_map_value(hex4(dev->vendor) + ":" + hex4(dev->device),
                                        dev->iommu_group,
                                        *node,
                                        path,
                                        subsystem_of(*dev));
    const auto before = planned_cfg ? planned_cfg
                        : root.exists(k_mapping_file)
                            ? std::optional(root.read_file(k_mapping_file))
                            : std::nullopt;
    const auto after = set_node_map(before.value_or(""), mapping_id, *node, path, value);
    // What Proxmox will read back must be the entry just written (SectionConfig's rules, not the
    // look of the text): otherwise refuse rather than write a line that lands elsewhere.
    const auto reread = parse_mapping_file(after);
    const auto* written = reread.find(mapping_id);
    if (written == nullptr
        || std::none_of(written->maps.begin(), written->maps.end(), [&](const MapEntry& e) {
               return e.node == *node && e.value == value;
           })) {
        throw Error(fmt::format("cannot place the entry of node {} in mapping {} of {} so that "
                                "Proxmox reads it there; add the line \"\tmap {}\" to that "
                                "section by hand",
                                *node,
                                mapping_id,
                                k_mapping_file,
                                value));
    }
    edit::Plan plan;
    plan.title = std::move(title);
    if (before) {
        for (const auto& ignored : parse_mapping_file(*before).ignored) {
            plan.notes.push_back(fmt::format("{} line {} ({:?}) is ignored by Proxmox: {} "
                                             "(pve-common PVE::SectionConfig::parse_config)",
                                             k_mapping_file,
                                             ignored.line,
                                             ignored.text,
                                             ignored.why));
        }
    }
    edit::add_file(
        plan,
        edit::FileEdit{std::string(k_mapping_file),
                       before,
                       after,
                       0640,
                       fmt::format("mapping {} on node {}: {}", mapping_id, *node, path)});
    if (!dev->iommu_group) {
        plan.notes.push_back(fmt::format("{} is in no IOMMU group (the IOMMU is off): Proxmox "
                                         "cannot pass it through until it is on (`pt grub`)",
                                         pci::format(first)));
    }
    if (!plan.empty()) {
        plan.notes.push_back("pmxcfs replicates /etc/pve/mapping/pci.cfg to every node; the other "
                             "nodes' entries are kept byte for byte");
    }
    return plan;
}

} // namespace pt::proxmox
