// SPDX-License-Identifier: MIT
// libFuzzer target for /etc/pve/mapping/pci.cfg (pt/proxmox/mapping): parse_mapping_file and
// set_node_map. Input: `MAPPING NODE PATH [ID [GROUP [SUBSYS]]]\nFILE`, the arguments of
// `pt mapping` as plan_mapping builds them (a config ID, a node name, DDDD:BB:DD[.F] paths joined
// by ';', vvvv:dddd IDs, a group number); a control line that is not such a request only runs
// the parser. Properties:
//   - mappings and map entries come in line order;
//   - after set_node_map the file parses to mapping MAPPING holding a map entry for NODE with
//     exactly the new value, every other mapping keeps its entries, and a second set_node_map
//     gives back the same bytes.
#include "pt/proxmox/mapping.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include "fuzz_support.hpp"

using namespace pt;       // NOLINT(google-build-using-namespace): a fuzz target
using namespace pt::fuzz; // NOLINT(google-build-using-namespace)

namespace {

bool node_name(std::string_view n) {
    return !n.empty() && std::all_of(n.begin(), n.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-';
    });
}

// vvvv:dddd exactly, as plan_mapping prints IDs (hex4 + ':' + hex4): a ':' anywhere else
// ("145::403b") is no ID pt would write.
bool vendor_device(std::string_view t) {
    if (t.size() != 9 || t[4] != ':') {
        return false;
    }
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (i != 4 && std::isxdigit(static_cast<unsigned char>(t[i])) == 0) {
            return false;
        }
    }
    return true;
}

bool mapping_path(std::string_view path) {
    std::size_t pos = 0;
    while (pos <= path.size()) {
        const auto next = std::min(path.find(';', pos), path.size());
        const auto id = proxmox::parse_host_id(path.substr(pos, next - pos));
        if (!id || !id->domain_given) {
            return false;
        }
        pos = next + 1;
    }
    return true;
}

using Entries = std::vector<std::pair<std::string, std::vector<std::string>>>;

Entries entries(const proxmox::MappingFile& file, std::string_view skip) {
    Entries out;
    for (const auto& m : file.mappings) {
        if (m.id == skip) {
            continue;
        }
        std::vector<std::string> values;
        for (const auto& e : m.maps) {
            values.push_back(e.value);
        }
        out.emplace_back(m.id, std::move(values));
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto [control, file] = split_input(data, size);
    const std::string text(file);
    const auto parsed = proxmox::parse_mapping_file(text);
    int prev = 0;
    for (const auto& m : parsed.mappings) {
        require(m.line > prev, "mappings out of line order");
        prev = m.line;
        for (const auto& e : m.maps) {
            require(e.line > prev, "map entries out of line order");
            prev = e.line;
        }
    }

    const auto w = words(control, 6);
    if (w.size() < 3 || !proxmox::is_config_id(w[0]) || !node_name(w[1]) || !mapping_path(w[2])) {
        return 0;
    }
    const std::string mapping_id(w[0]);
    const std::string node(w[1]);
    const std::string path(w[2]);
    const std::string id = w.size() > 3 && vendor_device(w[3]) ? std::string(w[3]) : "10de:2204";
    std::optional<int> group;
    if (w.size() > 4 && !w[4].empty() && w[4].size() < 5
        && std::all_of(w[4].begin(), w[4].end(), [](char c) { return c >= '0' && c <= '9'; })) {
        group = std::stoi(std::string(w[4]));
    }
    std::optional<std::string> subsystem;
    if (w.size() > 5 && vendor_device(w[5])) {
        subsystem = std::string(w[5]);
    }
    const auto value = proxmox::format_map_value(id, group, node, path, subsystem);

    const auto out = proxmox::set_node_map(text, mapping_id, node, path, value);
    const auto detail = std::string(control) + " on " + show(text) + " -> " + show(out);
    const auto after = proxmox::parse_mapping_file(out);
    const auto* mapping = after.find(mapping_id);
    require(mapping != nullptr, "the mapping is missing after set_node_map", detail);
    require(std::any_of(mapping->maps.begin(),
                        mapping->maps.end(),
                        [&](const proxmox::MapEntry& e) {
                            return e.node == node && e.value == value && e.problems.empty();
                        }),
            "the mapping has no entry for the node with the new value",
            detail);
    require(entries(after, mapping_id) == entries(parsed, mapping_id),
            "set_node_map changed another mapping",
            detail);
    require(proxmox::set_node_map(out, mapping_id, node, path, value) == out,
            "set_node_map is not idempotent",
            detail);
    return 0;
}
