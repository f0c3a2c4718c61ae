// SPDX-License-Identifier: MIT
#include "pt/profile/profile.hpp"

#include "pt/error.hpp"
#include "pt/grub/plan.hpp"
#include "pt/host/root.hpp"
#include "pt/pci/hex.hpp"
#include "pt/snapshot/archive.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <initializer_list>
#include <iterator>
#include <set>

namespace pt::profile {
namespace {

// Where a problem is: "FILE:LINE" (yaml-cpp counts lines from 0).
class Reader {
public:
    explicit Reader(std::string_view source)
        : m_source(source) {}

    [[noreturn]] void fail(const YAML::Node& node, std::string_view what) const {
        const auto mark = node.Mark();
        throw UsageError(fmt::format("{}:{}: {}; pt-profile(5) describes the file",
                                     m_source,
                                     mark.line >= 0 ? mark.line + 1 : 0,
                                     what));
    }

    void expect_map(const YAML::Node& node, std::string_view what) const {
        if (!node.IsMap()) {
            fail(node, fmt::format("{} must be a mapping (KEY: VALUE lines)", what));
        }
    }

    // Every key of `node` must be one of `known`: a misspelt key would otherwise be a setting
    // silently not applied.
    void only_keys(const YAML::Node& node,
                   std::initializer_list<std::string_view> known,
                   std::string_view where) const {
        std::set<std::string> seen;
        for (const auto& item : node) {
            const auto key = item.first.as<std::string>();
            // yaml-cpp keeps the first of two equal keys: the second would be silently lost.
            if (!seen.insert(key).second) {
                fail(item.first, fmt::format("{:?} is given twice in {}", key, where));
            }
            if (std::find(known.begin(), known.end(), key) == known.end()) {
                std::string list;
                for (const auto k : known) {
                    list += list.empty() ? "" : ", ";
                    list += k;
                }
                fail(item.first,
                     fmt::format("unknown key {:?} in {} (known: {})", key, where, list));
            }
        }
    }

    std::string scalar(const YAML::Node& node, std::string_view key) const {
        if (!node.IsScalar()) {
            fail(node, fmt::format("{} must be a single value", key));
        }
        return node.Scalar();
    }

    bool flag(const YAML::Node& map, std::string_view key) const {
        const auto node = map[std::string(key)];
        if (!node) {
            return false;
        }
        const auto text = scalar(node, key);
        if (text == "true" || text == "yes") {
            return true;
        }
        if (text == "false" || text == "no") {
            return false;
        }
        fail(node, fmt::format("{} must be true or false, not {:?}", key, text));
    }

    int number(const YAML::Node& node, std::string_view key, long low, long high) const {
        const auto text = scalar(node, key);
        const bool digits =
            !text.empty() && text.size() <= 10
            && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
        const long value = digits ? std::stol(text) : -1;
        if (!digits || value < low || value > high) {
            fail(node,
                 fmt::format("{} must be a number from {} to {}, not {:?}", key, low, high, text));
        }
        return static_cast<int>(value);
    }

    // "10de:2204" -> {0x10de, 0x2204}.
    std::pair<std::uint16_t, std::uint16_t> id_pair(const YAML::Node& node,
                                                    std::string_view key) const {
        const auto text = scalar(node, key);
        const auto colon = text.find(':');
        const auto half = [&](std::string_view part) -> std::optional<std::uint16_t> {
            if (part.size() != 4) {
                return std::nullopt;
            }
            const auto value = pci::parse_hex_digits(part);
            return value ? std::optional<std::uint16_t>(static_cast<std::uint16_t>(*value))
                         : std::nullopt;
        };
        const auto first = colon == std::string::npos
                               ? std::nullopt
                               : half(std::string_view(text).substr(0, colon));
        const auto second = colon == std::string::npos
                                ? std::nullopt
                                : half(std::string_view(text).substr(colon + 1));
        if (!first || !second) {
            fail(node,
                 fmt::format(
                     "{} must be VENDOR:DEVICE in hex, e.g. 10de:2204, not {:?}", key, text));
        }
        return {*first, *second};
    }

    // "0000:81:00" or "81:00"; a function is not a slot.
    pci::Address slot(const YAML::Node& node) const {
        const auto text = scalar(node, "address");
        const auto colons = std::count(text.begin(), text.end(), ':');
        const bool has_function = text.find('.') != std::string::npos;
        const auto parsed = has_function
                                ? std::nullopt
                                : pci::parse_address((colons == 1 ? "0000:" : "") + text + ".0");
        if (!parsed) {
            fail(node,
                 fmt::format("address must be the card's slot, DDDD:BB:DD or BB:DD (e.g. "
                             "0000:81:00), not {:?}",
                             text));
        }
        return *parsed;
    }

    // The keys that name a card, in a device or a container.
    void identity(const YAML::Node& node, CardIdentity& out) const {
        out.slot = slot(node["address"]);
        std::tie(out.vendor, out.device) = id_pair(node["id"], "id");
        if (node["subsystem"]) {
            const auto [vendor, device] = id_pair(node["subsystem"], "subsystem");
            out.subsystem_vendor = vendor;
            out.subsystem_device = device;
        }
        if (node["physical-slot"]) {
            auto name = scalar(node["physical-slot"], "physical-slot");
            // A kobject name: no '/', and pt prints it, so no control characters either.
            const bool printable = std::all_of(
                name.begin(), name.end(), [](char c) { return c >= ' ' && c != '/' && c != 0x7f; });
            if (name.empty() || !printable || name == "." || name == "..") {
                fail(node["physical-slot"],
                     fmt::format("physical-slot must name a folder of /sys/bus/pci/slots "
                                 "(\"2\"), not {:?}",
                                 name));
            }
            out.physical_slot = std::move(name);
        }
        if (node["name"]) {
            out.name = scalar(node["name"], "name");
        }
    }

    void required(const YAML::Node& node,
                  std::initializer_list<const char*> keys,
                  std::string_view what) const {
        for (const auto* key : keys) {
            if (!node[key]) {
                fail(node, fmt::format("{} needs {}:", what, key));
            }
        }
    }

    Device device(const YAML::Node& node) const {
        expect_map(node, "a device");
        only_keys(node,
                  {"address",
                   "id",
                   "subsystem",
                   "physical-slot",
                   "name",
                   "vm",
                   "use",
                   "keep-cpu",
                   "ovmf",
                   "set-machine",
                   "mapping",
                   "include-group",
                   "force"},
                  "a device");
        required(node, {"address", "id", "vm"}, "a device");
        Device out;
        identity(node, out);
        out.vmid = number(node["vm"], "vm", 100, 999'999'999);
        if (node["use"]) {
            const auto use = scalar(node["use"], "use");
            if (use == "compute") {
                out.role = proxmox::GpuRole::compute;
            } else if (use == "display") {
                out.role = proxmox::GpuRole::display;
            } else {
                fail(node["use"], fmt::format("use must be compute or display, not {:?}", use));
            }
        }
        out.keep_cpu = flag(node, "keep-cpu");
        if (out.keep_cpu && out.role == proxmox::GpuRole::display) {
            fail(node["keep-cpu"],
                 "keep-cpu goes with use: compute (use: display leaves the CPU "
                 "type alone)");
        }
        out.ovmf = flag(node, "ovmf");
        out.set_machine = flag(node, "set-machine");
        if (node["mapping"]) {
            const auto mapping = scalar(node["mapping"], "mapping");
            if (mapping.empty()) {
                fail(node["mapping"], "mapping must name the mapping (or be left out)");
            }
            out.mapping = mapping;
        }
        out.include_group = flag(node, "include-group");
        out.force = flag(node, "force");
        return out;
    }

    Container container(const YAML::Node& node) const {
        expect_map(node, "a container");
        only_keys(
            node, {"address", "id", "subsystem", "physical-slot", "name", "ct"}, "a container");
        required(node, {"address", "id", "ct"}, "a container");
        Container out;
        identity(node, out);
        out.ctid = number(node["ct"], "ct", 100, 999'999'999);
        return out;
    }

    Kernel kernel(const YAML::Node& node) const {
        expect_map(node, "kernel");
        only_keys(node, {"iommu-pt", "sysfb-off", "add"}, "kernel");
        Kernel out;
        out.iommu_pt = flag(node, "iommu-pt");
        out.sysfb_off = flag(node, "sysfb-off");
        if (const auto add = node["add"]) {
            if (!add.IsSequence()) {
                fail(add, "kernel add must be a list of parameters, e.g. [iommu=pt]");
            }
            for (const auto& item : add) {
                out.add.push_back(scalar(item, "a kernel parameter"));
                // pt grub's rules for --add, said at the parameter's line.
                try {
                    grub::Request one;
                    one.add.push_back(grub::parse_request_param(out.add.back(), "add"));
                    grub::check_request(one);
                } catch (const UsageError& e) {
                    fail(item, fmt::format("kernel add {:?}: {}", out.add.back(), e.what()));
                }
            }
        }
        return out;
    }

    Node node_section(const YAML::Node& node, const std::string& name) const {
        if (node.IsNull()) {
            return {};
        }
        expect_map(node, fmt::format("node {}", name));
        only_keys(node, {"kernel", "devices", "containers"}, fmt::format("node {}", name));
        Node out;
        if (node["kernel"]) {
            out.kernel = kernel(node["kernel"]);
        }
        if (const auto devices = node["devices"]) {
            if (!devices.IsSequence()) {
                fail(devices, "devices must be a list (- address: ... lines)");
            }
            for (const auto& item : devices) {
                out.devices.push_back(device(item));
            }
        }
        if (const auto containers = node["containers"]) {
            if (!containers.IsSequence()) {
                fail(containers, "containers must be a list (- ct: ... lines)");
            }
            for (const auto& item : containers) {
                out.containers.push_back(container(item));
            }
        }
        return out;
    }

private:
    std::string m_source;
};

// YAML scalars pt writes: plain where YAML reads them back as the same string, else quoted.
std::string yaml_quoted(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "\"";
}

// A node name as a plain key where YAML reads it back as that string (host names are), else
// quoted.
std::string yaml_key(std::string_view name) {
    static constexpr std::string_view k_special[] = {
        "true", "false", "yes", "no", "on", "off", "null", "y", "n"};
    const bool plain =
        !name.empty() && std::isalpha(static_cast<unsigned char>(name.front()))
        && std::all_of(name.begin(),
                       name.end(),
                       [](char c) {
                           return std::isalnum(static_cast<unsigned char>(c)) || c == '-'
                                  || c == '_';
                       })
        && std::none_of(std::begin(k_special), std::end(k_special), [&](std::string_view word) {
               return word.size() == name.size()
                      && std::equal(word.begin(), word.end(), name.begin(), [](char a, char b) {
                             return a == std::tolower(static_cast<unsigned char>(b));
                         });
           });
    return plain ? std::string(name) : yaml_quoted(name);
}

// A list item's keys that name its card ("      - address: ...").
std::string identity_yaml(const CardIdentity& card) {
    std::string out = fmt::format("      - address: \"{}\"\n", pci::format_slot(card.slot));
    out += fmt::format("        id: \"{:04x}:{:04x}\"\n", card.vendor, card.device);
    if (card.subsystem_vendor && card.subsystem_device) {
        out += fmt::format("        subsystem: \"{:04x}:{:04x}\"\n",
                           *card.subsystem_vendor,
                           *card.subsystem_device);
    }
    if (card.physical_slot) {
        out += fmt::format("        physical-slot: {}\n", yaml_quoted(*card.physical_slot));
    }
    if (!card.name.empty()) {
        out += fmt::format("        name: {}\n", yaml_quoted(card.name));
    }
    return out;
}

std::string bool_text(bool value) {
    return value ? "true" : "false";
}

} // namespace

std::string format_id(std::uint16_t vendor, std::uint16_t device) {
    return fmt::format("{:04x}:{:04x}", vendor, device);
}

Profile parse(std::string_view text, std::string_view source) {
    const Reader reader(source);
    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        throw UsageError(fmt::format("{}:{}: not valid YAML ({}); pt-profile(5) describes the file",
                                     source,
                                     e.mark.line >= 0 ? e.mark.line + 1 : 0,
                                     e.msg));
    }
    if (!root.IsMap()) {
        throw UsageError(fmt::format("{}: not a pt profile (expected version: {} and nodes:); "
                                     "pt setup SEL --vm VMID --save {} writes one",
                                     source,
                                     k_version,
                                     source));
    }
    try {
        reader.only_keys(root, {"version", "nodes"}, "the profile");
        if (!root["version"]) {
            reader.fail(root, fmt::format("the profile needs version: {}", k_version));
        }
        const int version = reader.number(root["version"], "version", 1, 1'000'000);
        if (version != k_version) {
            reader.fail(root["version"],
                        fmt::format("version {} is newer than this pt reads ({}); update pt",
                                    version,
                                    k_version));
        }
        const auto nodes = root["nodes"];
        if (!nodes) {
            reader.fail(root, "the profile needs nodes: with a section per node");
        }
        reader.expect_map(nodes, "nodes");
        Profile out;
        for (const auto& item : nodes) {
            const auto name = reader.scalar(item.first, "a node name");
            if (name.empty()) {
                reader.fail(item.first, "a node needs a name");
            }
            if (out.nodes.count(name) != 0) {
                reader.fail(item.first, fmt::format("node {} has two sections", name));
            }
            out.nodes[name] = reader.node_section(item.second, name);
        }
        return out;
    } catch (const YAML::Exception& e) {
        // A value of the wrong shape where yaml-cpp converts (a list used as a key).
        throw UsageError(fmt::format("{}:{}: {}; pt-profile(5) describes the file",
                                     source,
                                     e.mark.line >= 0 ? e.mark.line + 1 : 0,
                                     e.msg));
    }
}

std::string to_yaml(const Profile& profile) {
    std::string out =
        "# pt profile: the GPU passthrough state of these Proxmox VE nodes (pt-profile(5)).\n"
        "# pt profile FILE shows what would change on this node, --apply makes it so,\n"
        "# --check says whether the node still matches.\n";
    out += fmt::format("version: {}\nnodes:\n", k_version);
    for (const auto& [name, node] : profile.nodes) {
        out += fmt::format("  {}:\n", yaml_key(name));
        const auto& kernel = node.kernel;
        if (kernel.iommu_pt || kernel.sysfb_off || !kernel.add.empty()) {
            out += "    kernel:\n";
            if (kernel.iommu_pt) {
                out += "      iommu-pt: true\n";
            }
            if (kernel.sysfb_off) {
                out += "      sysfb-off: true\n";
            }
            if (!kernel.add.empty()) {
                out += "      add:\n";
                for (const auto& param : kernel.add) {
                    out += fmt::format("        - {}\n", yaml_quoted(param));
                }
            }
        }
        if (!node.devices.empty()) {
            out += "    devices:\n";
        }
        for (const auto& dev : node.devices) {
            out += identity_yaml(dev);
            out += fmt::format("        vm: {}\n", dev.vmid);
            out += fmt::format("        use: {}\n",
                               dev.role == proxmox::GpuRole::display ? "display" : "compute");
            const std::pair<const char*, bool> flags[] = {{"keep-cpu", dev.keep_cpu},
                                                          {"ovmf", dev.ovmf},
                                                          {"set-machine", dev.set_machine},
                                                          {"include-group", dev.include_group},
                                                          {"force", dev.force}};
            for (const auto& [key, on] : flags) {
                if (on) {
                    out += fmt::format("        {}: {}\n", key, bool_text(on));
                }
            }
            if (dev.mapping) {
                out += fmt::format("        mapping: {}\n", yaml_quoted(*dev.mapping));
            }
        }
        if (!node.containers.empty()) {
            out += "    containers:\n";
        }
        for (const auto& container : node.containers) {
            out += identity_yaml(container);
            out += fmt::format("        ct: {}\n", container.ctid);
        }
    }
    return out;
}

std::string read_file(const std::string& path) {
    const std::filesystem::path target = std::filesystem::absolute(path);
    std::error_code ec;
    if (!std::filesystem::exists(target, ec)) {
        throw Error(fmt::format("cannot read the profile {}: no such file (pt setup SEL --vm VMID "
                                "--save {} writes one)",
                                path,
                                path));
    }
    // Root's reader refuses FIFOs, folders and oversized files with a message naming them.
    const host::Root folder(target.parent_path());
    return folder.read_file("/" + target.filename().string());
}

void save(const std::string& path, const Profile& profile) {
    // pmxcfs (/etc/pve) allows no mode but 0640 (cfs_fuse_chmod): a profile there, the one
    // place every node of a cluster reads, must be written with it.
    const bool on_pmxcfs = std::filesystem::absolute(path).string().starts_with("/etc/pve/");
    snapshot::write_output_file(path, to_yaml(profile), "--save", on_pmxcfs ? 0640 : 0644);
}

std::optional<Profile> load_if_exists(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::absolute(path), ec)) {
        return std::nullopt;
    }
    return parse(read_file(path), path);
}

} // namespace pt::profile
