// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::kernel {

// One kernel command-line parameter: "intel_iommu=on" -> {"intel_iommu", "on"},
// "quiet" -> {"quiet", nullopt}.
struct Param {
    std::string name;
    std::optional<std::string> value;
    bool operator==(const Param&) const = default;
};

// One parameter of a command line and where it is written, so an editor can replace or remove
// it without touching the rest.
struct ParamToken {
    std::size_t begin = 0; // first byte of the token
    std::size_t end = 0;   // one past the last byte
    Param param;           // name and value, double quotes removed
};

// Splits a command line the way the kernel does (lib/cmdline.c next_arg): whitespace separates
// parameters, double quotes group (and are dropped), and only the first '=' splits name from
// value. The one tokenizer of pt: every reader and editor of a command line uses it.
std::vector<ParamToken> tokenize_cmdline(std::string_view text);

// The parameters of tokenize_cmdline, without their places.
std::vector<Param> parse_cmdline(std::string_view text);

// The kernel treats '-' and '_' in parameter names alike ("vfio-pci.ids" == "vfio_pci.ids").
bool same_param_name(std::string_view a, std::string_view b);

// The value of the last occurrence of `name` (the kernel's early params use the last one).
// Outer nullopt: absent; inner nullopt: present without a value.
std::optional<std::optional<std::string>> find_param(const std::vector<Param>& params,
                                                     std::string_view name);

} // namespace pt::kernel
