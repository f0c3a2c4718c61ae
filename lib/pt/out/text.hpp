// SPDX-License-Identifier: MIT
#pragma once

#include <string>

namespace pt::pci {
struct Device;
}

namespace pt::iommu {
struct Listing;
struct VfioIds;
} // namespace pt::iommu

namespace pt::out {

// How text is drawn. The command decides (terminal, NO_COLOR, --no-color, -q); the renderers
// never look at the environment.
struct TextStyle {
    bool color = false;
    bool quiet = false; // leave out explanations and the summary, keep the facts
};

// "VGA compatible controller [0300]: NVIDIA Corporation GA102 [GeForce RTX 3090] [10de:2204]
// (rev a1)", lspci -nn style; without names, "class 0300 [10de:2204] (rev a1)".
std::string describe_device(const pci::Device& dev);

// The human rendering of `pt iommu-groups`.
std::string render_text(const iommu::Listing& listing, const TextStyle& style);

// "10de:2204,10de:1aef\n", ready for vfio-pci.ids=.
std::string render_text(const iommu::VfioIds& ids);

} // namespace pt::out
