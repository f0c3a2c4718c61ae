// SPDX-License-Identifier: MIT
// libFuzzer target for pt::rom::analyze_rom: any bytes must give a report without reading out
// of bounds (ASan), without undefined behaviour (UBSan), and with a self-consistent report.
#include "pt/rom/parse.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace {

void require(bool ok) {
    if (!ok) {
        __builtin_trap();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> bytes(data, size);
    const auto report = pt::rom::analyze_rom(bytes);
    require(report.size == size);
    require(report.start <= size);
    require(report.trailing_bytes <= size);
    for (const auto& img : report.images) {
        require(img.offset < size);
        require(img.truncated || img.length == 0 || !img.pcir_ok
                || img.offset + img.length <= size);
    }
    const auto part = pt::rom::strip_header(bytes, report);
    require(part.empty() || (part.data() >= data && part.data() + part.size() <= data + size));
    if (!report.images.empty()) {
        const auto& first = report.images.front();
        (void)pt::rom::ids_match(report, first.vendor_id, first.device_id);
    }
    // Re-analysing the stripped part must not find a vendor header again.
    if (!part.empty() && report.start > 0) {
        const auto again = pt::rom::analyze_rom(part);
        require(again.start == 0);
    }
    return 0;
}
