// SPDX-License-Identifier: MIT
// Catch2 for the unit tests, whichever major version the distribution has: 2.x (Debian 12:
// the single header <catch2/catch.hpp>) or 3.x (Debian 13: <catch2/catch_all.hpp> and a compiled
// library). Every test file includes this instead of a Catch2 header. PT_CATCH2_MAJOR says which.
#pragma once

#if __has_include(<catch2/catch_all.hpp>)
#define PT_CATCH2_MAJOR 3
#include <catch2/catch_all.hpp>

#include <string>

// Catch2 2.x brings its matchers into namespace Catch (Catch::Contains, Catch::StartsWith,
// Catch::EndsWith); 3.x keeps them in Catch::Matchers and renamed Contains to ContainsSubstring
// (Catch::Matchers::Contains is now the range matcher). The tests use the 2.x names.
namespace Catch {
inline Matchers::StringContainsMatcher
Contains(const std::string& str, CaseSensitive case_sensitivity = CaseSensitive::Yes) {
    return Matchers::ContainsSubstring(str, case_sensitivity);
}

using Matchers::EndsWith;
using Matchers::StartsWith;
} // namespace Catch
#else
#define PT_CATCH2_MAJOR 2
#include <catch2/catch.hpp>
#endif
