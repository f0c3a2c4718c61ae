// SPDX-License-Identifier: MIT
#pragma once

#include "pt/pci/address.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pt::host {
class Dir;
class Root;
} // namespace pt::host

namespace pt::pci {

// The PCIe link as sysfs reports it; absent on conventional PCI devices.
struct Link {
    std::optional<std::string> current_speed; // "16.0 GT/s"
    std::optional<long> current_width;        // lanes
    std::optional<std::string> max_speed;
    std::optional<long> max_width;
};

// Names from pci.ids; each is nullopt when the database has no entry or names are off.
struct Names {
    std::optional<std::string> vendor;
    std::optional<std::string> device;
    std::optional<std::string> subsystem;
    std::optional<std::string> class_name;
};

// One PCI function as the kernel shows it under /sys/bus/pci/devices/<address>.
struct Device {
    Address address;
    std::uint16_t vendor = 0;
    std::uint16_t device = 0;
    std::optional<std::uint16_t> subsystem_vendor;
    std::optional<std::uint16_t> subsystem_device;
    std::uint32_t class_code = 0; // 24 bits
    std::optional<std::uint8_t> revision;
    std::optional<std::string> driver;          // bound driver, from the `driver` link
    std::optional<std::string> driver_override; // nullopt when none is set
    std::optional<int> iommu_group;             // nullopt without an IOMMU
    std::optional<bool> boot_vga;               // only VGA-class devices have the attribute
    // Enabled reset methods (Linux 5.15+). Empty when the device has none; nullopt when the
    // kernel predates the attribute but a `reset` file shows some method exists.
    std::optional<std::vector<std::string>> reset_methods;
    Link link;
    std::optional<long> numa_node;
    std::optional<Address> parent; // upstream bridge, from the resolved sysfs path
    std::optional<Address> physfn; // SR-IOV: the physical function of a virtual function
    std::vector<Address> virtfns;  // SR-IOV: the virtual functions of a physical function
    std::string sysfs_path;        // resolved host path, /sys/devices/pci0000:00/...
    // The physical slot the function sits in, by the name the platform gives it (the folder of
    // /sys/bus/pci/slots, lspci -v's "Physical Slot"): it stays when a BIOS update renumbers
    // the buses. nullopt where the platform describes no slot (pci::scan sets it).
    std::optional<std::string> physical_slot;
    Names names;

    bool is_bridge() const;
    bool is_display() const;
};

// Attributes a caller may go without: each is one more file per function, and `pt iommu-groups`
// in text or `pt verify` show neither. Identity, driver, group, reset methods, the current link
// and the SR-IOV relations are always read.
struct DeviceDetail {
    bool numa_node = true; // numa_node
    bool max_link = true;  // max_link_speed, max_link_width
};

// Reads one device through `root`. Returns nullopt when /sys/bus/pci/devices/<address> does not
// exist. Throws pt::Error when the device directory exists but its identity (vendor, device,
// class) cannot be read, naming the file.
std::optional<Device> read_device(const host::Root& root, const Address& address);

// The same, with /sys/bus/pci/devices already open (what a scan of every device uses).
std::optional<Device> read_device(const host::Root& root,
                                  const host::Dir& bus_devices,
                                  const Address& address,
                                  const DeviceDetail& detail = {});

} // namespace pt::pci
