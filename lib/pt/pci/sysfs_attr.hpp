// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::pci {

// Parsers for the text of PCI sysfs attributes, in the kernel's formats
// (drivers/pci/pci-sysfs.c). They take the text, never a path, and return nullopt for anything
// that is not in the expected format, so a damaged snapshot yields "unknown", not a crash.

// "0x10de\n" or "0x030000": the kernel's "0x%04x" / "0x%06x" / "0x%02x" attributes.
std::optional<std::uint32_t> parse_hex_attr(std::string_view text);

// "16", "-1": decimal attributes such as current_link_width or numa_node.
std::optional<long> parse_decimal_attr(std::string_view text);

// "1" or "0" (boot_vga, enable).
std::optional<bool> parse_bool_attr(std::string_view text);

// "flr bus" -> {"flr", "bus"}; an empty attribute (every method disabled) gives {}.
std::vector<std::string> parse_reset_methods(std::string_view text);

// driver_override: the kernel prints "(null)" when none is set.
std::optional<std::string> parse_driver_override(std::string_view text);

// What a PCI device's `uevent` attribute says (drivers/pci/hotplug.c pci_uevent, plus the driver
// core's DRIVER= line): one read instead of five.
struct Uevent {
    std::optional<std::string> driver;       // DRIVER=, absent when unbound
    std::optional<std::uint32_t> class_code; // PCI_CLASS=30000 (%04X of the 24-bit class)
    std::optional<std::uint16_t> vendor;     // PCI_ID=10DE:2204
    std::optional<std::uint16_t> device;
    std::optional<std::uint16_t> subsystem_vendor; // PCI_SUBSYS_ID=1458:403B
    std::optional<std::uint16_t> subsystem_device;
};

// Parses the text of a PCI device's uevent file; unknown lines are ignored, malformed values
// stay nullopt.
Uevent parse_uevent(std::string_view text);

// "16.0 GT/s PCIe" -> "16.0 GT/s"; "Unknown" or "Unknown speed" -> nullopt.
std::optional<std::string> parse_link_speed(std::string_view text);

} // namespace pt::pci
