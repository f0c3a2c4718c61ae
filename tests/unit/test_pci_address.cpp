// SPDX-License-Identifier: MIT
#include "pt/pci/address.hpp"
#include "support/catch.hpp"

#include <algorithm>
#include <string>
#include <vector>

using pt::pci::Address;
using pt::pci::parse_address;

TEST_CASE("pci::parse_address", "[pci][address]") {
    SECTION("accepted forms") {
        struct Case {
            const char* text;
            Address want;
            const char* formatted;
        };

        const std::vector<Case> cases = {
            {"0000:01:00.0", {0x0000, 0x01, 0x00, 0}, "0000:01:00.0"},
            {"0000:00:1f.3", {0x0000, 0x00, 0x1f, 3}, "0000:00:1f.3"},
            {"0000:ff:1f.7", {0x0000, 0xff, 0x1f, 7}, "0000:ff:1f.7"},
            {"0001:81:00.1", {0x0001, 0x81, 0x00, 1}, "0001:81:00.1"},
            {"10000:e1:00.0", {0x10000, 0xe1, 0x00, 0}, "10000:e1:00.0"},
            {"ffffffff:00:00.0", {0xffffffff, 0x00, 0x00, 0}, "ffffffff:00:00.0"},
            {"0000:0A:1F.7", {0x0000, 0x0a, 0x1f, 7}, "0000:0a:1f.7"},
            {"ABCD:EF:1e.6", {0xabcd, 0xef, 0x1e, 6}, "abcd:ef:1e.6"},
            {"00000:01:00.0", {0x0000, 0x01, 0x00, 0}, "0000:01:00.0"},
        };
        for (const auto& c : cases) {
            INFO(c.text);
            const auto got = parse_address(c.text);
            REQUIRE(got.has_value());
            CHECK(got->domain == c.want.domain);
            CHECK(static_cast<unsigned>(got->bus) == static_cast<unsigned>(c.want.bus));
            CHECK(static_cast<unsigned>(got->device) == static_cast<unsigned>(c.want.device));
            CHECK(static_cast<unsigned>(got->function) == static_cast<unsigned>(c.want.function));
            CHECK(*got == c.want);
            CHECK(pt::pci::format(*got) == c.formatted);
        }
    }
    SECTION("rejected forms") {
        for (const char* text : {"",
                                 "01:00.0",
                                 "0000:01:00",
                                 "0000:01:00.",
                                 "000:01:00.0",
                                 "123456789:01:00.0",
                                 "0000:1:00.0",
                                 "0000:001:00.0",
                                 "0000:01:0.0",
                                 "0000:01:000.0",
                                 "0000:01:20.0",
                                 "0000:01:ff.0",
                                 "0000:01:00.8",
                                 "0000:01:00.f",
                                 "0000:01:00.00",
                                 "0000:01-00.0",
                                 "0000:01:00:0",
                                 "0000.01:00.0",
                                 "zzzz:01:00.0",
                                 "0000:0g:00.0",
                                 "0000:01:00.0 ",
                                 " 0000:01:00.0",
                                 "0000:01:00.0\n",
                                 "0x00:01:00.0",
                                 "+000:01:00.0",
                                 "pci0000:00",
                                 "garbage",
                                 "10de:2204"}) {
            INFO('"' << text << '"');
            CHECK_FALSE(parse_address(text).has_value());
        }
    }
}

TEST_CASE("pci::format and format_slot", "[pci][address]") {
    CHECK(pt::pci::format(Address{0, 1, 0, 0}) == "0000:01:00.0");
    CHECK(pt::pci::format(Address{0x1, 0xab, 0x1f, 7}) == "0001:ab:1f.7");
    CHECK(pt::pci::format(Address{0x10000, 0xe1, 0x00, 0}) == "10000:e1:00.0");
    CHECK(pt::pci::format(Address{}) == "0000:00:00.0");
    CHECK(pt::pci::format_slot(Address{0, 0x81, 0x00, 1}) == "0000:81:00");
    CHECK(pt::pci::format_slot(Address{0x10000, 0xe1, 0x1f, 7}) == "10000:e1:1f");
}

TEST_CASE("pci::Address ordering", "[pci][address]") {
    const Address a{0x0000, 0x00, 0x01, 0};
    const Address b{0x0000, 0x00, 0x01, 1};
    const Address c{0x0000, 0x00, 0x02, 0};
    const Address d{0x0000, 0x01, 0x00, 0};
    const Address e{0x0001, 0x00, 0x00, 0};
    const Address vmd{0x10000, 0x00, 0x00, 0};

    CHECK(a < b);
    CHECK(b < c);
    CHECK(c < d);
    CHECK(d < e);
    CHECK(e < vmd);
    CHECK(Address{0x0000, 0xff, 0x1f, 7} < vmd);
    CHECK_FALSE(vmd < a);
    CHECK(a == Address{0, 0, 1, 0});
    CHECK(a != b);

    SECTION("sorting parsed addresses puts domain 10000 after 0000") {
        std::vector<Address> list;
        for (const char* text :
             {"10000:e1:00.0", "0000:c1:00.0", "0000:01:00.1", "10000:e0:06.0", "0000:01:00.0"}) {
            list.push_back(*parse_address(text));
        }
        std::sort(list.begin(), list.end());
        std::vector<std::string> formatted;
        for (const auto& address : list) {
            formatted.push_back(pt::pci::format(address));
        }
        CHECK(
            formatted
            == std::vector<std::string>{
                "0000:01:00.0", "0000:01:00.1", "0000:c1:00.0", "10000:e0:06.0", "10000:e1:00.0"});
    }
}

TEST_CASE("pci::Address::same_slot", "[pci][address]") {
    const Address gpu{0, 0x01, 0x00, 0};
    CHECK(gpu.same_slot(Address{0, 0x01, 0x00, 1}));
    CHECK(gpu.same_slot(Address{0, 0x01, 0x00, 7}));
    CHECK(gpu.same_slot(gpu));
    CHECK_FALSE(gpu.same_slot(Address{0, 0x01, 0x01, 0}));
    CHECK_FALSE(gpu.same_slot(Address{0, 0x02, 0x00, 0}));
    CHECK_FALSE(gpu.same_slot(Address{1, 0x01, 0x00, 0}));
    CHECK_FALSE(gpu.same_slot(Address{0x10000, 0x01, 0x00, 0}));
}
