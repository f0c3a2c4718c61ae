// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

namespace pt::kernel {
struct HostFacts;
}

namespace pt::iommu {

struct IommuState;

// Why there are no IOMMU groups, and what to do about it.
struct Diagnosis {
    std::string cause;
    std::string fix;
    std::vector<std::string> evidence; // "file: value seen" lines
};

// Explains an IOMMU with no groups from the CPU vendor, kernel release and command line.
// Follows the kernel, not the guides: AMD needs no parameter (amd_iommu=on is not a valid
// value), Intel needs intel_iommu=on only before Linux 6.8.
Diagnosis diagnose_no_groups(const IommuState& state, const kernel::HostFacts& facts);

} // namespace pt::iommu
