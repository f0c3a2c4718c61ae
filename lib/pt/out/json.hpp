// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>

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

} // namespace pt::out
