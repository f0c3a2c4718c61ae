// SPDX-License-Identifier: MIT
#include "pt/proxmox/mapping.hpp"

#include "pt/error.hpp"
#include "pt/host/root.hpp"
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
    bool in_section = false;
    for (const auto& line : split_lines(text)) {
        if (trim(line.text).empty()) {
            in_section = false; // a blank line ends the section
            continue;
        }
        if (line.text.front() == '#') {
            continue;
        }
        if (!is_blank(line.text.front())) {
            file.mappings.push_back(PciMapping{std::string(trim(line.text)), line.number, {}});
            in_section = true;
            continue;
        }
        if (!in_section) {
            continue; // SectionConfig ignores property lines outside a section
        }
        const auto body = trim(line.text);
        const auto space = std::min(body.find_first_of(" \t"), body.size());
        if (body.substr(0, space) == "map") {
            file.mappings.back().maps.push_back(parse_map(trim(body.substr(space)), line.number));
        }
    }
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
    // The section's lines: from its header to the blank line (or the end).
    std::optional<std::size_t> header;
    std::size_t end = lines.size();
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto& t = lines[i].text;
        if (!header) {
            if (!t.empty() && !is_blank(t.front()) && t.front() != '#' && trim(t) == mapping_id) {
                header = i;
            }
            continue;
        }
        if (trim(t).empty()) {
            end = i;
            break;
        }
    }
    std::string out(text);
    if (!header) {
        std::string block;
        if (!out.empty() && out.back() != '\n') {
            block += "\n";
        }
        if (!out.empty()) {
            block += "\n";
        }
        block += fmt::format("{}\n\tmap {}\n", mapping_id, value);
        return out + block;
    }
    std::vector<std::size_t> node_lines;
    std::optional<std::size_t> same_path;
    std::size_t last = *header;
    for (std::size_t i = *header + 1; i < end; ++i) {
        const auto& t = lines[i].text;
        if (t.empty() || t.front() == '#') {
            continue;
        }
        last = i;
        const auto body = trim(t);
        const auto space = std::min(body.find_first_of(" \t"), body.size());
        if (body.substr(0, space) != "map") {
            continue;
        }
        const auto entry = parse_map(trim(body.substr(space)), lines[i].number);
        if (entry.node == node) {
            node_lines.push_back(i);
            if (to_lower(entry.path) == to_lower(path)) {
                same_path = i;
            }
        }
    }
    std::optional<std::size_t> target = same_path;
    if (!target && node_lines.size() == 1) {
        target = node_lines.front();
    }
    if (target) {
        const auto& line = lines[*target];
        // Keep the line's own indentation and ending.
        const auto indent = line.text.substr(0, line.text.find_first_not_of(" \t"));
        const std::string replacement = fmt::format("{}map {}", indent, value);
        return out.replace(line.offset, line.text.size(), replacement);
    }
    const auto& after = lines[last];
    if (after.end == after.offset + after.text.size()) {
        // the last line of a file without a final newline
        return out.insert(after.end, fmt::format("\n\tmap {}", value));
    }
    return out.insert(after.end, fmt::format("\tmap {}\n", value));
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

std::vector<check::Finding> check_mappings(const host::Root& root,
                                           const std::optional<std::string>& only) {
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
    const auto topology = pci::scan(root, nullptr);
    return check_mappings(
        parse_mapping_file(root.read_file(std::string(k_mapping_file))), topology, *node, only);
}

edit::Plan plan_mapping(const host::Root& root,
                        const pci::Topology& topology,
                        std::string_view mapping_id,
                        std::string_view selector,
                        std::string title) {
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
    const auto before =
        root.exists(k_mapping_file) ? std::optional(root.read_file(k_mapping_file)) : std::nullopt;
    const auto after = set_node_map(before.value_or(""), mapping_id, *node, path, value);
    edit::Plan plan;
    plan.title = std::move(title);
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
