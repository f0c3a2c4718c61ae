// SPDX-License-Identifier: MIT
#include "pt/strings.hpp"
#include "support/catch.hpp"

TEST_CASE("trim drops the C locale's blanks at both ends only") {
    CHECK(pt::trim("  vfio-pci\n") == "vfio-pci");
    CHECK(pt::trim("\t\r\f\vhostpci0: 0000:01:00 \n") == "hostpci0: 0000:01:00");
    CHECK(pt::trim("a b") == "a b");
    CHECK(pt::trim(" \n\t").empty());
    CHECK(pt::trim("").empty());
    CHECK(pt::trim("\xc2\xa0x") == "\xc2\xa0x"); // a UTF-8 no-break space is not a blank
}

TEST_CASE("to_lower lower-cases ASCII letters and leaves other bytes") {
    CHECK(pt::to_lower("0000:0B:00.0") == "0000:0b:00.0");
    CHECK(pt::to_lower("AMD-Vi: Interrupt Remapping") == "amd-vi: interrupt remapping");
    CHECK(pt::to_lower("\xc3\x84") == "\xc3\x84"); // UTF-8 bytes untouched
    CHECK(pt::to_lower("").empty());
}
