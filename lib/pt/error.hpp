// SPDX-License-Identifier: MIT
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace pt {

// The one exception type that reaches users. The message is a lower-case fragment that names the
// file or device, the cause and, where there is one, the fix; main prints it after "pt: error: ".
// It maps to exit code 1.
//
// Most messages follow "SUBJECT: CAUSE; FIX" in one string; with --json, main reports the cause
// and the fix apart (out::error_json). An error that knows them apart says so with the
// three-part constructor, and then the JSON carries them exactly rather than split from the text.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;

    // "SUBJECT: CAUSE; FIX" on stderr; cause() and fix() return the parts.
    Error(std::string_view subject, std::string_view cause, std::string_view fix)
        : std::runtime_error(std::string(subject) + ": " + std::string(cause) + "; "
                             + std::string(fix))
        , cause_(cause)
        , fix_(fix) {}

    // Empty when the error was built from one message.
    [[nodiscard]] const std::string& cause() const noexcept { return cause_; }

    [[nodiscard]] const std::string& fix() const noexcept { return fix_; }

private:
    std::string cause_;
    std::string fix_;
};

// A semantic argument error that CLI11 validators cannot express (a malformed selector, flags that
// do not go together). It maps to exit code 2.
class UsageError : public Error {
public:
    using Error::Error;
};

} // namespace pt
