// SPDX-License-Identifier: MIT
#include "pt/lxc/nodes.hpp"

#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/pci/device.hpp"
#include "pt/pci/selector.hpp"
#include "pt/pci/topology.hpp"
#include "pt/proxmox/vm_config.hpp"
#include "pt/strings.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>

namespace pt::lxc {
namespace {

// NVIDIA's fixed character major (nvidia.ko registers 195: the cards, nvidiactl 255,
// nvidia-modeset 254).
constexpr int k_nvidia_major = 195;

std::optional<int> number(std::string_view text) {
    int value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end) {
        return std::nullopt;
    }
    return value;
}

// The major of a character driver in /proc/devices ("510 nvidia-uvm").
std::optional<int> char_major(const host::Root& root, std::string_view name) {
    const auto text = root.read_attr("/proc/devices");
    if (!text) {
        return std::nullopt;
    }
    std::string_view rest = *text;
    bool in_char = false;
    while (!rest.empty()) {
        const auto end = rest.find('\n');
        std::string_view line = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        if (line.starts_with("Character devices")) {
            in_char = true;
            continue;
        }
        if (line.starts_with("Block devices")) {
            in_char = false;
            continue;
        }
        while (!line.empty() && line.front() == ' ') {
            line.remove_prefix(1);
        }
        const auto space = line.find(' ');
        if (in_char && space != std::string_view::npos && line.substr(space + 1) == name) {
            return number(line.substr(0, space));
        }
    }
    return std::nullopt;
}

// "226:128" -> {226, 128}.
std::pair<std::optional<int>, std::optional<int>>
dev_numbers(const std::optional<std::string>& text) {
    if (!text) {
        return {};
    }
    const auto colon = text->find(':');
    if (colon == std::string::npos) {
        return {};
    }
    return {number(std::string_view(*text).substr(0, colon)),
            number(std::string_view(*text).substr(colon + 1))};
}

Node node(const host::Root& root,
          std::string path,
          std::optional<int> major,
          std::optional<int> minor,
          std::string group,
          bool card_own) {
    const bool present = root.exists(path);
    return Node{std::move(path), major, minor, std::move(group), card_own, present};
}

CardNodes nvidia_nodes(const host::Root& root, const pci::Device& card) {
    CardNodes out;
    const auto info_path =
        fmt::format("/proc/driver/nvidia/gpus/{}/information", pci::format(card.address));
    const auto info = root.read_attr(info_path);
    std::optional<int> minor;
    if (info) {
        const auto at = info->find("Device Minor:");
        if (at != std::string::npos) {
            const auto digits = info->find_first_of("0123456789", at);
            if (digits != std::string::npos) {
                minor = number(std::string_view(*info).substr(
                    digits, info->find_first_not_of("0123456789", digits) - digits));
            }
        }
    }
    if (!minor) {
        out.problem = fmt::format("{} has no \"Device Minor\": the NVIDIA driver does not drive "
                                  "{} (it is on {})",
                                  root.map(info_path).string(),
                                  pci::format(card.address),
                                  card.driver.value_or("no driver"));
        return out;
    }
    out.nodes.push_back(
        node(root, fmt::format("/dev/nvidia{}", *minor), k_nvidia_major, minor, "", true));
    out.nodes.push_back(node(root, "/dev/nvidiactl", k_nvidia_major, 255, "", false));
    const auto uvm = char_major(root, "nvidia-uvm");
    out.nodes.push_back(node(root, "/dev/nvidia-uvm", uvm, 0, "", false));
    out.nodes.push_back(node(root, "/dev/nvidia-uvm-tools", uvm, 1, "", false));
    if (root.exists("/dev/nvidia-modeset")) {
        out.nodes.push_back(node(root, "/dev/nvidia-modeset", k_nvidia_major, 254, "", false));
    }
    const auto caps = char_major(root, "nvidia-caps");
    for (const auto& name : root.list("/dev/nvidia-caps")) {
        // nvidia-cap1, nvidia-cap2: the minor is the number in the name.
        const auto cap = name.starts_with("nvidia-cap") ? number(std::string_view(name).substr(10))
                                                        : std::nullopt;
        out.nodes.push_back(node(root, "/dev/nvidia-caps/" + name, caps, cap, "", false));
    }
    return out;
}

CardNodes dri_nodes(const host::Root& root, const pci::Device& card) {
    CardNodes out;
    const auto drm = fmt::format("/sys/bus/pci/devices/{}/drm", pci::format(card.address));
    std::vector<Node> render;
    std::vector<Node> primary;
    for (const auto& name : root.list(drm)) {
        const auto [major, minor] = dev_numbers(root.read_attr(drm + "/" + name + "/dev"));
        if (name.starts_with("renderD")) {
            render.push_back(node(root, "/dev/dri/" + name, major, minor, "render", true));
        } else if (name.starts_with("card")) {
            primary.push_back(node(root, "/dev/dri/" + name, major, minor, "video", true));
        }
    }
    if (render.empty() && primary.empty()) {
        out.problem = fmt::format("{} has no DRM nodes: no host driver drives {} (it is on {})",
                                  root.map(drm).string(),
                                  pci::format(card.address),
                                  card.driver.value_or("no driver"));
        return out;
    }
    out.nodes = std::move(render);
    out.nodes.insert(out.nodes.end(), primary.begin(), primary.end());
    if (card.vendor == 0x1002 && root.exists("/dev/kfd")) {
        out.nodes.push_back(node(root, "/dev/kfd", char_major(root, "kfd"), 0, "render", false));
    }
    return out;
}

} // namespace

CardNodes card_nodes(const host::Root& root, const pci::Device& card) {
    return card.vendor == 0x10de ? nvidia_nodes(root, card) : dri_nodes(root, card);
}

const pci::Device& find_card(const pci::Topology& topology, const std::string& text) {
    const pci::Selector selector = pci::parse_selector(text);
    std::vector<const pci::Device*> cards;
    for (const auto& dev : topology.devices) {
        if (!selector.matches(dev)) {
            continue;
        }
        // The display function of the matched function's slot.
        for (const auto& mate : topology.devices) {
            if (mate.address.same_slot(dev.address) && mate.is_display()
                && std::find(cards.begin(), cards.end(), &mate) == cards.end()) {
                cards.push_back(&mate);
            }
        }
    }
    if (cards.empty()) {
        throw Error(fmt::format("{} names no GPU of this host; pt iommu-groups --gpu lists the "
                                "cards",
                                text));
    }
    if (cards.size() > 1) {
        std::vector<std::string> slots;
        for (const auto* card : cards) {
            slots.push_back(pci::format_slot(card->address));
        }
        throw UsageError(fmt::format("{} matches {} cards ({}); give the slot of one",
                                     text,
                                     cards.size(),
                                     fmt::join(slots, ", ")));
    }
    return *cards.front();
}

std::vector<CtOption> ct_options(const proxmox::VmConfig& config) {
    std::vector<CtOption> out;
    for (const auto& line : config.lines()) {
        if (line.section != 0) {
            break;
        }
        if (line.kind == proxmox::ConfigLine::Kind::option) {
            out.push_back(CtOption{line.key, line.value, line.number});
            continue;
        }
        if (line.kind != proxmox::ConfigLine::Kind::invalid) {
            continue;
        }
        // m/^(lxc\.[a-z0-9_\-\.]+)(:|\s*=)\s*(.*?)\s*$/
        const std::string_view text =
            std::string_view(config.text()).substr(line.offset, line.length);
        if (!text.starts_with("lxc.")) {
            continue;
        }
        const auto end = text.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-.", 4);
        if (end == std::string_view::npos || end == 4) {
            continue;
        }
        std::string_view value;
        if (text[end] == ':') {
            value = text.substr(end + 1);
        } else {
            const auto equals = text.find_first_not_of(" \t", end);
            if (equals == std::string_view::npos || text[equals] != '=') {
                continue;
            }
            value = text.substr(equals + 1);
        }
        out.push_back(
            CtOption{std::string(text.substr(0, end)), std::string(trim(value)), line.number});
    }
    return out;
}

std::vector<ConfiguredNode> configured_nodes(const proxmox::VmConfig& config) {
    std::vector<ConfiguredNode> out;
    for (const auto& option : ct_options(config)) {
        const bool dev_key = option.key.size() > 3 && option.key.starts_with("dev")
                             && std::all_of(option.key.begin() + 3, option.key.end(), [](char c) {
                                    return c >= '0' && c <= '9';
                                });
        if (option.key == "lxc.mount.entry") {
            const std::string source = option.value.substr(0, option.value.find(' '));
            if (source.starts_with("/dev/")) {
                out.push_back(ConfiguredNode{option.key, source, std::nullopt, option.line});
            }
            continue;
        }
        if (!dev_key) {
            continue;
        }
        // "/dev/nvidia0,gid=44,mode=0666" or "path=/dev/nvidia0,...".
        ConfiguredNode node{option.key, "", std::nullopt, option.line};
        std::string_view rest = option.value;
        for (std::size_t index = 0; index == 0 || !rest.empty(); ++index) {
            const auto comma = rest.find(',');
            const auto item = rest.substr(0, comma);
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
            if (item.starts_with("path=")) {
                node.path = std::string(item.substr(5));
            } else if (item.starts_with("gid=")) {
                node.gid = std::string(item.substr(4));
            } else if (index == 0 && item.find('=') == std::string_view::npos) {
                node.path = std::string(item);
            }
        }
        out.push_back(std::move(node));
    }
    return out;
}

} // namespace pt::lxc
