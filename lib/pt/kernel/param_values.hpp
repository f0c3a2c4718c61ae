// SPDX-License-Identifier: MIT
#pragma once

#include "pt/kernel/cmdline.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pt::kernel {

// What the kernel does with a parameter value it does not accept, judged by the kernel's own
// parsers: parse_amd_iommu_options (drivers/iommu/amd/init.c), intel_iommu_setup
// (drivers/iommu/intel/iommu.c), iommu_setup and gart_parse_options (arch/x86/kernel/pci-dma.c,
// amd_gart_64.c), kstrtobool for iommu.passthrough/iommu.strict (drivers/iommu/iommu.c) and
// vfio_pci_fill_ids (drivers/vfio/pci/vfio_pci.c).
struct ValueProblem {
    std::string param;   // as written: "amd_iommu=1"
    std::string option;  // the rejected comma option or word: "1"
    std::string problem; // one sentence: what the kernel does with it and what it accepts
};

// The problems of one parameter; empty when the kernel takes it (or pt does not know the
// parameter's values).
std::vector<ValueProblem> invalid_values(const Param& param);

// Every problem of a command line, including a list value that a stray space split in two
// ("vfio-pci.ids=10de:2204, 10de:1aef": the second ID is a separate word the kernel passes to
// init, and vfio-pci never sees it).
std::vector<ValueProblem> invalid_values(const std::vector<Param>& params);

// A vfio-pci ids= item as vfio_pci_fill_ids reads it ("VVVV:DDDD[:SVVV:SDDD[:CCCCCC:MMMMMM]]",
// hex); false for anything sscanf would not fill.
bool valid_vfio_id(std::string_view item);

// Command-line folklore: what the guides tell people to put on the kernel command line and what
// does nothing, or harm, on Proxmox VE 8 and 9 (ground truth: the kernel parameters table and
// the seed-guide verdicts). The one list: pt grub --add warns on (or refuses) these, pt verify
// reports them, and completion never offers them.
enum class FolkloreKind {
    rejected_value, // the kernel's parser rejects the value (verify: cmdline.invalid)
    no_effect,      // accepted, but does nothing on these kernels (verify: cmdline.folklore)
    module_name,    // a module name, not a parameter: the kernel hands it to init
};

struct Folklore {
    std::string_view name;  // as the guides write it: "video", "amd_iommu", "vfio_virqfd"
    std::string_view value; // "efifb:off"; empty for a bare word (module names)
    FolkloreKind kind = FolkloreKind::no_effect;
    std::string_view why; // the sentence after the parameter: "does nothing on ..."
};

// Every folklore item, in the order pt reports them.
const std::vector<Folklore>& cmdline_folklore();

// The folklore item `param` is (names compared as the kernel does, '-' and '_' alike; values
// without regard to case), or nullptr.
const Folklore* find_folklore(const Param& param);

// "video=efifb:off", "vfio_virqfd".
std::string folklore_text(const Folklore& item);

// Splits "a,b,,c" into its non-empty comma options.
std::vector<std::string> comma_options(std::string_view value);

} // namespace pt::kernel
