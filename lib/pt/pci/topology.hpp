// SPDX-License-Identifier: MIT
#pragma once

#include "pt/pci/device.hpp"

#include <string>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::pci {

class NameDb;

// Every PCI function of a host, sorted by address, plus what could not be read.
struct Topology {
    std::vector<Device> devices;
    // One sentence per entry of /sys/bus/pci/devices that was skipped, naming it and why.
    std::vector<std::string> warnings;

    // The device at `address`, or nullptr.
    const Device* find(const Address& address) const;
};

// Reads /sys/bus/pci/devices through `root`, and /sys/bus/pci/slots for the physical slots. A
// device whose identity cannot be read is skipped with a warning rather than ending the scan.
// `names` may be null (no names wanted); `detail` leaves out attributes the caller does not show.
Topology scan(const host::Root& root, NameDb* names, const DeviceDetail& detail = {});

} // namespace pt::pci
