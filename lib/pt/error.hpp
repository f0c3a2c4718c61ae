// SPDX-License-Identifier: MIT
#pragma once

#include <stdexcept>
#include <string>

namespace pt {

// The one exception type that reaches users. The message is a lower-case fragment that names the
// file or device, the cause and, where there is one, the fix; main prints it after "pt: error: ".
// It maps to exit code 1.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A semantic argument error that CLI11 validators cannot express (a malformed selector, flags that
// do not go together). It maps to exit code 2.
class UsageError : public Error {
public:
    using Error::Error;
};

} // namespace pt
