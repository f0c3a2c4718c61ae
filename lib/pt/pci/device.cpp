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

std::uint32_t required_hex(const host::Dir& dir, const char* name) {
    const auto text = dir.read_attr(name);
    const std::string shown = host::join(dir.host_path(), name);
    if (!text) {
        throw Error(fmt::format("{} is missing: a PCI device directory always has it, so this "
                                "tree is incomplete (capture it again from the host)",
                                shown));
    }
    const auto value = parse_hex_attr(*text);
    if (!value) {
        throw Error(fmt::format("{}: expected a hex value like 0x10de, found '{}'", shown, *text));
    }
    return *value;
}

template <typename T>
std::optional<T> optional_hex(const host::Dir& dir, const char* name) {
    if (const auto text = dir.read_attr(name)) {
        if (const auto value = parse_hex_attr(*text)) {
            return static_cast<T>(*value);
        }
    }
    return std::nullopt;
}

std::optional<long> optional_decimal(const host::Dir& dir, const char* name) {
    if (const auto text = dir.read_attr(name)) {
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

// /sys/bus/pci/devices/<address> is a relative link into /sys/devices. Reading it once and
// joining lexically costs one system call; the full chase is the fallback for trees whose
// directories are themselves links (never the case in a real sysfs).
std::optional<host::Dir>
open_device_dir(const host::Root& root, const host::Dir& bus_devices, const std::string& name) {
    if (const auto target = bus_devices.link_target(name)) {
        if (auto dir = root.open_dir(*target)) {
            return dir;
        }
    }
    if (const auto resolved = root.resolve(host::join(bus_devices.host_path(), name))) {
        return root.open_dir(*resolved);
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
    const auto bus_devices = root.open_dir("/sys/bus/pci/devices");
    if (!bus_devices) {
        return std::nullopt;
    }
    return read_device(root, *bus_devices, address);
}

std::optional<Device> read_device(const host::Root& root,
                                  const host::Dir& bus_devices,
                                  const Address& address,
                                  const DeviceDetail& detail) {
    const auto opened = open_device_dir(root, bus_devices, format(address));
    if (!opened) {
        return std::nullopt;
    }
    const host::Dir& dir = *opened;
    Device dev;
    dev.address = address;
    dev.sysfs_path = dir.host_path();
    // uevent carries the IDs, the class and the driver in one file; the separate attributes are
    // the fallback for trees that lack it or carry an incomplete one.
    const auto uevent = dir.read_attr("uevent");
    const Uevent ue = uevent ? parse_uevent(*uevent) : Uevent{};
    if (ue.vendor && ue.device && ue.class_code) {
        dev.vendor = *ue.vendor;
        dev.device = *ue.device;
        dev.class_code = *ue.class_code;
        dev.subsystem_vendor = ue.subsystem_vendor;
        dev.subsystem_device = ue.subsystem_device;
        dev.driver = ue.driver;
    } else {
        dev.vendor = static_cast<std::uint16_t>(required_hex(dir, "vendor"));
        dev.device = static_cast<std::uint16_t>(required_hex(dir, "device"));
        dev.class_code = required_hex(dir, "class") & 0xffffffU;
        dev.subsystem_vendor = optional_hex<std::uint16_t>(dir, "subsystem_vendor");
        dev.subsystem_device = optional_hex<std::uint16_t>(dir, "subsystem_device");
        dev.driver = dir.link_name("driver");
    }
    dev.revision = optional_hex<std::uint8_t>(dir, "revision");
    if (const auto text = dir.read_attr("driver_override")) {
        dev.driver_override = parse_driver_override(*text);
    }
    if (const auto group = dir.link_name("iommu_group")) {
        if (const auto number = parse_decimal_attr(*group); number && *number >= 0) {
            dev.iommu_group = static_cast<int>(*number);
        }
    }
    if (pci::is_display(dev.class_code)) {
        // The kernel creates boot_vga for VGA-class devices only (pci_dev_attr_is_visible).
        if (const auto text = dir.read_attr("boot_vga")) {
            dev.boot_vga = parse_bool_attr(*text);
        }
    }
    if (const auto text = dir.read_attr("reset_method")) {
        dev.reset_methods = parse_reset_methods(*text);
    } else if (!dir.has("reset")) {
        // reset_method is hidden when no method exists (pci_dev_reset_method_attr_is_visible);
        // without `reset` either, the device cannot be reset at all.
        dev.reset_methods = std::vector<std::string>{};
    }
    if (const auto text = dir.read_attr("current_link_speed")) {
        dev.link.current_speed = parse_link_speed(*text);
        dev.link.current_width = optional_decimal(dir, "current_link_width");
        if (detail.max_link) {
            if (const auto max = dir.read_attr("max_link_speed")) {
                dev.link.max_speed = parse_link_speed(*max);
            }
            dev.link.max_width = optional_decimal(dir, "max_link_width");
        }
    }
    if (detail.numa_node) {
        dev.numa_node = optional_decimal(dir, "numa_node");
    }
    dev.parent = parent_of(dev.sysfs_path);
    if (const auto pf = dir.link_name("physfn")) {
        dev.physfn = parse_address(*pf);
    } else if (dir.has("sriov_totalvfs")) {
        for (const auto& entry : dir.list()) {
            if (entry.starts_with("virtfn")) {
                if (const auto vf = dir.link_name(entry)) {
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
