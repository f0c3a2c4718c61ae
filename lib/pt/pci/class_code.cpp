// SPDX-License-Identifier: MIT
#include "pt/pci/class_code.hpp"

#include <fmt/format.h>

namespace pt::pci {

std::string format_class(std::uint32_t cls) {
    return fmt::format("{:06x}", cls & 0xffffffU);
}

std::string format_class_short(std::uint32_t cls) {
    return fmt::format("{:04x}", class_and_subclass(cls));
}

} // namespace pt::pci
