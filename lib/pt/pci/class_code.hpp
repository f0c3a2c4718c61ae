// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pt::pci {

// Helpers over the 24-bit class code (base class, subclass, programming interface), as in the
// sysfs `class` attribute. Values from the PCI Code and ID Assignment Specification.

constexpr std::uint8_t base_class(std::uint32_t cls) {
    return static_cast<std::uint8_t>(cls >> 16);
}

constexpr std::uint16_t class_and_subclass(std::uint32_t cls) {
    return static_cast<std::uint16_t>(cls >> 8);
}

// Class 03xx: VGA compatible, XGA, 3D controller (0302) or other display controller (0380).
constexpr bool is_display(std::uint32_t cls) {
    return base_class(cls) == 0x03;
}

// Class 0604, a PCI-to-PCI bridge: root ports, switch ports, chipset bridges. Everything else in
// an IOMMU group is an endpoint that Proxmox hands to vfio-pci with the GPU.
constexpr bool is_pci_bridge(std::uint32_t cls) {
    return class_and_subclass(cls) == 0x0604;
}

// Class 01xx, mass storage (SATA, NVMe, SAS, RAID, IDE).
constexpr bool is_storage(std::uint32_t cls) {
    return base_class(cls) == 0x01;
}

// Class 02xx, network controllers.
constexpr bool is_network(std::uint32_t cls) {
    return base_class(cls) == 0x02;
}

// Class 0c03, USB host controllers.
constexpr bool is_usb(std::uint32_t cls) {
    return class_and_subclass(cls) == 0x0c03;
}

// "030000": six lower-case hex digits, the form the JSON output and `--class` use.
std::string format_class(std::uint32_t cls);

// "0300": class and subclass, the form lspci prints in brackets.
std::string format_class_short(std::uint32_t cls);

} // namespace pt::pci
