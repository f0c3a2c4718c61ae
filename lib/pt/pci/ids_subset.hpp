// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pt::pci {

// pci.ids reduced to what names the devices of one host: the vendors in `vendors` (each with its
// devices and subsystems; every vendor when `vendors` is null) and the device class list. Subsystem
// vendors must be in `vendors` too for their names to resolve.
//
// Kept: the leading comment block when `keep_header` (the file's version and date), every vendor
// block and generic subsystem block ("S vvvv") of a vendor in `vendors`, and every other top-level
// block: the classes ("C cc") and any line libpci cannot parse, so that a reader still reports it.
// Left out: comments and blank lines after the header, and the blocks of other vendors, a
// malformed line inside them included.
struct IdsSubset {
    std::string text;
    // For each line of `text`, its line number (from 1) in the full file: libpci's parse errors
    // name a line of what it read.
    std::vector<unsigned> line_numbers;
};

IdsSubset
reduce_ids(std::string_view ids, const std::set<std::uint16_t>* vendors, bool keep_header = false);

// The names a set of devices needs, and no more (NameDb::name_all): their vendors' and their
// subsystem vendors' lines, of each vendor's devices only theirs, of each device's subsystems
// only theirs, every generic subsystem block of those vendors, and the class list.
struct IdsWanted {
    std::set<std::uint16_t> vendors;    // vendors and subsystem vendors
    std::set<std::uint32_t> devices;    // vendor << 16 | device
    std::set<std::uint64_t> subsystems; // vendor << 48 | device << 32 | subvendor << 16 | subdevice
};

// As reduce_ids(), down to single lines: a device line is kept when `wanted.devices` holds it, a
// subsystem line when its device line is kept and `wanted.subsystems` holds it. A line in a kept
// vendor block that is not a device or subsystem line as pci.ids writes them is kept (libpci then
// reports it).
IdsSubset reduce_ids(std::string_view ids, const IdsWanted& wanted);

} // namespace pt::pci
