// SPDX-License-Identifier: MIT
#include "pt/pci/hex.hpp"
#include "support/catch.hpp"

using pt::pci::parse_hex_digits;

TEST_CASE("pci::parse_hex_digits: 1 to 8 hex digits of either case", "[pci][hex]") {
    CHECK(parse_hex_digits("0") == 0U);
    CHECK(parse_hex_digits("10de") == 0x10deU);
    CHECK(parse_hex_digits("10DE") == 0x10deU);
    CHECK(parse_hex_digits("aBcD") == 0xabcdU);
    CHECK(parse_hex_digits("ffffffff") == 0xffffffffU);
    CHECK(parse_hex_digits("030000") == 0x030000U);
}

TEST_CASE("pci::parse_hex_digits: anything else is refused, never half read", "[pci][hex]") {
    CHECK_FALSE(parse_hex_digits(""));
    CHECK_FALSE(parse_hex_digits("100000000")); // 9 digits do not fit 32 bits
    CHECK_FALSE(parse_hex_digits("0x10de"));
    CHECK_FALSE(parse_hex_digits("10de\n"));
    CHECK_FALSE(parse_hex_digits(" 10de"));
    CHECK_FALSE(parse_hex_digits("-1"));
    CHECK_FALSE(parse_hex_digits("10dg"));
    CHECK_FALSE(parse_hex_digits("1:0"));
}
