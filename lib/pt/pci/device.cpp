// SPDX-License-Identifier: MIT
#include "pt/pci/device.hpp"

#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/pci/class_code.hpp"
#include "pt/pci/sysfs_attr.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pt::pci {
namespace {

std::uint32_t required_hex(const host::Root& root, const std::string& dir, const char* name) {
    const std::string path = host::join(dir, name);
    const auto text = root.read_attr(path);
    if (!text) {
        throw Error(fmt::format("{} is missing: a PCI device directory always has it; the tree "
                                "under {} is incomplete (re-capture it with pt snapshot)",
                                root.map(path).string(),
                                root.prefix().string()));
    }
    const auto value = parse_hex_attr(*text);
    if (!value) {
        throw Error(fmt::format(
            "{}: expected a hex value like 0x10de, found '{}'", root.map(path).string(), *text));
    }
    return *value;
}

template <typename T>
std::optional<T> optional_hex(const host::Root& root, const std::string& dir, const char* name) {
    if (const auto text = root.read_attr(host::join(dir, name))) {
        if (const auto value = parse_hex_attr(*text)) {
            return static_cast<T>(*value);
        }
    }
    return std::nullopt;
}

std::optional<long>
optional_decimal(const host::Root& root, const std::string& dir, const char* name) {
    if (const auto text = root.read_attr(host::join(dir, name))) {
        return parse_decimal_attr(*text);
    }
    return std::nullopt;
}

// The nearest ancestor directory of a device that is itself a PCI function. For a device behind
// an Intel VMD controller the chain passes through "pci10000:e0", and the VMD endpoint above it
// is the parent.
std::optional<Address> parent_of(const std::string& sysfs_path) {
    std::string_view path = sysfs_path;
    auto slash = path.rfind('/');
    while (slash != std::string_view::npos && slash > 0) {
        path = path.substr(0, slash);
        slash = path.rfind('/');
        if (auto address = parse_address(path.substr(slash + 1))) {
            return address;
        }
    }
    return std::nullopt;
}

} // namespace

bool Device::is_bridge() const {
    return is_pci_bridge(class_code);
}

bool Device::is_display() const {
    return pci::is_display(class_code);
}

std::optional<Device> read_device(const host::Root& root, const Address& address) {
    const std::string link = host::join("/sys/bus/pci/devices", format(address));
    const auto resolved = root.resolve(link);
    if (!resolved) {
        return std::nullopt;
    }
    // Attributes are read from the resolved directory: plain files, no further links.
    const std::string& dir = *resolved;
    Device dev;
    dev.address = address;
    dev.sysfs_path = dir;
    dev.vendor = static_cast<std::uint16_t>(required_hex(root, dir, "vendor"));
    dev.device = static_cast<std::uint16_t>(required_hex(root, dir, "device"));
    dev.class_code = required_hex(root, dir, "class") & 0xffffffU;
    dev.subsystem_vendor = optional_hex<std::uint16_t>(root, dir, "subsystem_vendor");
    dev.subsystem_device = optional_hex<std::uint16_t>(root, dir, "subsystem_device");
    dev.revision = optional_hex<std::uint8_t>(root, dir, "revision");
    dev.driver = root.link_name(host::join(dir, "driver"));
    if (const auto text = root.read_attr(host::join(dir, "driver_override"))) {
        dev.driver_override = parse_driver_override(*text);
    }
    if (const auto group = root.link_name(host::join(dir, "iommu_group"))) {
        if (const auto number = parse_decimal_attr(*group); number && *number >= 0) {
            dev.iommu_group = static_cast<int>(*number);
        }
    }
    if (const auto text = root.read_attr(host::join(dir, "boot_vga"))) {
        dev.boot_vga = parse_bool_attr(*text);
    }
    if (const auto text = root.read_attr(host::join(dir, "reset_method"))) {
        dev.reset_methods = parse_reset_methods(*text);
    } else if (!root.exists(host::join(dir, "reset"))) {
        // reset_method is hidden when no method exists (pci_dev_reset_method_attr_is_visible);
        // without `reset` either, the device cannot be reset at all.
        dev.reset_methods = std::vector<std::string>{};
    }
    if (const auto text = root.read_attr(host::join(dir, "current_link_speed"))) {
        dev.link.current_speed = parse_link_speed(*text);
    }
    if (const auto text = root.read_attr(host::join(dir, "max_link_speed"))) {
        dev.link.max_speed = parse_link_speed(*text);
    }
    dev.link.current_width = optional_decimal(root, dir, "current_link_width");
    dev.link.max_width = optional_decimal(root, dir, "max_link_width");
    dev.numa_node = optional_decimal(root, dir, "numa_node");
    dev.parent = parent_of(dir);
    if (const auto pf = root.link_name(host::join(dir, "physfn"))) {
        dev.physfn = parse_address(*pf);
    }
    if (root.exists(host::join(dir, "sriov_totalvfs"))) {
        for (const auto& entry : root.list(dir)) {
            if (entry.starts_with("virtfn")) {
                if (const auto vf = root.link_name(host::join(dir, entry))) {
                    if (const auto vf_address = parse_address(*vf)) {
                        dev.virtfns.push_back(*vf_address);
                    }
                }
            }
        }
        std::sort(dev.virtfns.begin(), dev.virtfns.end());
    }
    return dev;
}

} // namespace pt::pci
