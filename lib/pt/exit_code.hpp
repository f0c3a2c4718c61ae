// SPDX-License-Identifier: MIT
#pragma once

namespace pt {

// pt's exit codes are an API: scripts test them. Documented in pt(1) and the README.
enum class ExitCode : int {
    ok = 0,            // success, including "nothing to do"
    error = 1,         // runtime error: I/O, missing device, not root
    usage = 2,         // bad flag or malformed argument
    checks_failed = 3, // verify found a failure, or a listing found nothing usable (IOMMU off)
};

constexpr int to_int(ExitCode code) {
    return static_cast<int>(code);
}

} // namespace pt
