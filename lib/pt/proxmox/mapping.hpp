// SPDX-License-Identifier: MIT
#pragma once

#include "pt/edit/plan.hpp"
#include "pt/out/finding.hpp"
#include "pt/proxmox/vm_config.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::pci {
struct Topology;
}

namespace pt::model {
class Host;
}

namespace pt::proxmox {

// /etc/pve/mapping/pci.cfg, the cluster-wide PCI resource mappings of Proxmox VE 8 (ground truth
// §2; pve-guest-common src/PVE/Mapping/PCI.pm over pve-common src/PVE/SectionConfig.pm,
// parse_config). A section is a header line (the mapping ID alone, no leading whitespace), then
// property lines that start with whitespace
// (`\tmap id=10de:2204,iommugroup=15,node=pve1,path=0000:01:00,subsystem-id=1458:403b`), ended by
// an empty line only: a stray unindented line inside a section is ignored and the section goes on,
// '#' lines are skipped anywhere. mapping.cpp follows parse_config line by line.

inline constexpr std::string_view k_mapping_file = "/etc/pve/mapping/pci.cfg";

// One `map` line: one node's device (or devices passed together, `;`-separated paths).
struct MapEntry {
    int line = 0;
    std::string value;                       // the property string as written
    std::string node;                        // node=
    std::string path;                        // path=, as written
    std::vector<HostId> paths;               // path= parsed
    std::optional<std::string> id;           // id= "10de:2204"
    std::optional<std::string> subsystem_id; // subsystem-id= "1458:403b"
    std::optional<int> iommugroup;           // iommugroup=
    std::vector<std::string> problems;       // what qemu-server would reject
};

struct PciMapping {
    std::string id; // the section header
    int line = 0;
    std::vector<MapEntry> maps;
};

// A line Proxmox's parser warns about and ignores ("ignore config line").
struct IgnoredLine {
    int line = 0;
    std::string text;
    std::string why;
};

struct MappingFile {
    std::vector<PciMapping> mappings; // the sections Proxmox uses, a repeated ID only once
    std::vector<IgnoredLine> ignored; // in line order

    // The mapping named `id`, or nullptr.
    const PciMapping* find(std::string_view id) const;
};

// Parses the file's text; never throws (problems go to MapEntry::problems).
MappingFile parse_mapping_file(std::string_view text);

// True for a pve-configid: [a-z][a-z0-9_-]+, any case.
bool is_config_id(std::string_view id);

// The map value for `node` and the device(s) `path` as Proxmox's writer prints it: keys sorted
// (id, iommugroup, node, path, subsystem-id), optional ones left out when nullopt.
std::string format_map_value(std::string_view id,
                             std::optional<int> iommugroup,
                             std::string_view node,
                             std::string_view path,
                             const std::optional<std::string>& subsystem_id);

// `text` with mapping `mapping_id`'s entry for `node` set to `value`; every other byte is kept.
// The section is the one Proxmox uses for that ID (parse_config: the last of that ID). The line
// to update is the node's map line with the same path, else the node's only one; without one, a
// new map line goes right after the section's last property line (after its header when it has
// none), before the empty line that ends it, with the line ending of that line (CRLF stays
// CRLF). A missing mapping is appended as a new section after an empty line. Returns `text`
// unchanged when it already says so.
std::string set_node_map(std::string_view text,
                         std::string_view mapping_id,
                         std::string_view node,
                         std::string_view path,
                         std::string_view value);

// Compares every `map` entry for `node` with the live hardware the way qemu-server does at VM
// start (PVE::Mapping::PCI::assert_valid): each path's device exists, the first device's
// vendor:device is `id`, its subsystem-id is given exactly when the device reports one and
// matches, and its IOMMU group is `iommugroup`. One finding per entry (pass or fail, ids
// "mapping.valid", "mapping.invalid", "mapping.device-missing", "mapping.id-mismatch",
// "mapping.subsystem-mismatch", "mapping.iommugroup-mismatch"), plus "mapping.no-node-entry"
// (warn) for a mapping with no entry for `node`. Only mapping `only` when given; pt::Error when
// `only` names no mapping. Evidence names the file and line; fix gives the exact command.
std::vector<check::Finding> check_mappings(const MappingFile& file,
                                           const pci::Topology& topology,
                                           std::string_view node,
                                           const std::optional<std::string>& only);

// Reads /etc/pve/mapping/pci.cfg through the model's root and runs check_mappings with the
// model's PCI topology for the local node (local_node()). No file: one "mapping.file" finding
// with status skip. Throws pt::Error when the local node's name cannot be found.
std::vector<check::Finding> check_mappings(const model::Host& host,
                                           const std::optional<std::string>& only = std::nullopt);

// pt mapping NAME SEL: plans the edit of /etc/pve/mapping/pci.cfg that makes this node's entry
// of NAME pass the device(s) of `selector` (a slot: path without function, the vendor:device
// and subsystem of function 0; a function: that function). Throws pt::UsageError for a bad
// NAME or selector (vendor:device selectors are refused: a mapping names an address), pt::Error
// when the device does not exist or the local node is unknown.
// `planned_cfg`: pci.cfg as an earlier plan of the same run leaves it (pt setup with two
// cards' mappings), planned on instead of the file.
edit::Plan plan_mapping(const model::Host& host,
                        std::string_view mapping_id,
                        std::string_view selector,
                        std::string title,
                        const std::optional<std::string>& planned_cfg = std::nullopt);

} // namespace pt::proxmox
