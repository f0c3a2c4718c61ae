// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace pt::pci {
struct Device;
}

namespace pt::iommu {
struct Listing;
struct VfioIds;
} // namespace pt::iommu

namespace pt::out {

// JSON renderings of the library's models. Keys are snake_case in a fixed order, hex IDs are
// lower-case strings without "0x", addresses are full "0000:01:00.0" strings, and an unknown
// value is null rather than a missing key. The schemas are documented in pt-iommu-groups(1).
using Json = nlohmann::ordered_json;

Json to_json(const pci::Device& dev);
Json to_json(const iommu::Listing& listing);
Json to_json(const iommu::VfioIds& ids);

class JsonWriter;

// The same documents written straight to text: `dump_json(listing)` is byte for byte
// `to_json(listing).dump(2, ' ', false, error_handler_t::replace)`, without the tree in between
// (on a host with thousands of SR-IOV functions the tree cost more than reading sysfs).
void write_json(JsonWriter& out, const pci::Device& dev);
std::string dump_json(const iommu::Listing& listing);

} // namespace pt::out
