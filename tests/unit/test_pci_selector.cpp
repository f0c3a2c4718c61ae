// SPDX-License-Identifier: MIT
#include "pt/error.hpp"
#include "pt/pci/device.hpp"
#include "pt/pci/selector.hpp"
#include "support/catch.hpp"

#include <cstdint>
#include <string>
#include <vector>

using pt::pci::Address;
using pt::pci::parse_selector;
using pt::pci::Selector;

namespace {

pt::pci::Device make_device(Address address, std::uint16_t vendor, std::uint16_t device) {
    pt::pci::Device dev;
    dev.address = address;
    dev.vendor = vendor;
    dev.device = device;
    return dev;
}

} // namespace

TEST_CASE("pci::parse_selector accepted forms", "[pci][selector]") {
    struct Case {
        const char* text;
        Selector::Kind kind;
        Address address;
    };

    const std::vector<Case> address_cases = {
        {"0000:81:00.0", Selector::Kind::function, {0x0000, 0x81, 0x00, 0}},
        {"81:00.0", Selector::Kind::function, {0x0000, 0x81, 0x00, 0}},
        {"81:00.1", Selector::Kind::function, {0x0000, 0x81, 0x00, 1}},
        {"0001:81:1f.7", Selector::Kind::function, {0x0001, 0x81, 0x1f, 7}},
        {"10000:e1:00.0", Selector::Kind::function, {0x10000, 0xe1, 0x00, 0}},
        {"0000:81:00", Selector::Kind::slot, {0x0000, 0x81, 0x00, 0}},
        {"81:00", Selector::Kind::slot, {0x0000, 0x81, 0x00, 0}},
        {"10000:E1:00", Selector::Kind::slot, {0x10000, 0xe1, 0x00, 0}},
        {"0A:1F.3", Selector::Kind::function, {0x0000, 0x0a, 0x1f, 3}},
    };
    for (const auto& c : address_cases) {
        INFO(c.text);
        const Selector sel = parse_selector(c.text);
        CHECK(sel.kind == c.kind);
        CHECK(sel.text == c.text);
        CHECK(sel.address.domain == c.address.domain);
        CHECK(sel.address.bus == c.address.bus);
        CHECK(sel.address.device == c.address.device);
        if (c.kind == Selector::Kind::function) {
            CHECK(sel.address.function == c.address.function);
        }
    }

    SECTION("vendor:device IDs") {
        const Selector sel = parse_selector("10de:2204");
        CHECK(sel.kind == Selector::Kind::ids);
        CHECK(sel.vendor == 0x10de);
        CHECK(sel.device == 0x2204);
        CHECK(sel.text == "10de:2204");
        const Selector upper = parse_selector("10DE:22BB");
        CHECK(upper.kind == Selector::Kind::ids);
        CHECK(upper.vendor == 0x10de);
        CHECK(upper.device == 0x22bb);
    }
}

TEST_CASE("pci::parse_selector rejects malformed selectors", "[pci][selector]") {
    for (const char* text : {"",
                             "81:0",
                             "8:00",
                             "81:00.8",
                             "81:00.",
                             "81:00.00",
                             "81:20.0",
                             "81:ff",
                             "10de:22",
                             "10de:22044",
                             "10de:2204.0",
                             "zz:00.0",
                             "81:zz.0",
                             "000:81:00.0",
                             "123456789:81:00.0",
                             "0000:0000:81:00.0",
                             "81",
                             "81:00:00",
                             "gpu",
                             ":",
                             "81:00.0 ",
                             " 81:00.0"}) {
        INFO('"' << text << '"');
        CHECK_THROWS_AS(parse_selector(text), pt::UsageError);
    }

    SECTION("the message names the text and lists the accepted forms") {
        try {
            parse_selector("81:0");
            FAIL("81:0 was accepted");
        } catch (const pt::UsageError& e) {
            const std::string what = e.what();
            CHECK_THAT(what, Catch::Contains("'81:0'"));
            CHECK_THAT(what, Catch::Contains(pt::pci::k_selector_forms));
            for (const char* form :
                 {"0000:81:00.0", "81:00.0", "0000:81:00", "81:00", "10de:2204"}) {
                CHECK_THAT(what, Catch::Contains(form));
            }
        }
    }
}

TEST_CASE("pci::Selector::matches", "[pci][selector]") {
    const auto gpu = make_device(Address{0, 0x81, 0x00, 0}, 0x10de, 0x2204);
    const auto audio = make_device(Address{0, 0x81, 0x00, 1}, 0x10de, 0x1aef);
    const auto other_slot = make_device(Address{0, 0x81, 0x01, 0}, 0x10de, 0x2204);
    const auto other_domain = make_device(Address{1, 0x81, 0x00, 0}, 0x10de, 0x2204);
    const auto vmd = make_device(Address{0x10000, 0xe1, 0x00, 0}, 0x144d, 0xa80a);

    SECTION("function") {
        const auto sel = parse_selector("81:00.0");
        CHECK(sel.matches(gpu));
        CHECK_FALSE(sel.matches(audio));
        CHECK_FALSE(sel.matches(other_slot));
        CHECK_FALSE(sel.matches(other_domain));
        CHECK(parse_selector("0000:81:00.1").matches(audio));
        CHECK_FALSE(parse_selector("0000:81:00.1").matches(gpu));
        CHECK(parse_selector("0001:81:00.0").matches(other_domain));
        CHECK(parse_selector("10000:e1:00.0").matches(vmd));
        CHECK_FALSE(parse_selector("e1:00.0").matches(vmd));
    }
    SECTION("slot") {
        const auto sel = parse_selector("81:00");
        CHECK(sel.matches(gpu));
        CHECK(sel.matches(audio));
        CHECK_FALSE(sel.matches(other_slot));
        CHECK_FALSE(sel.matches(other_domain));
        CHECK(parse_selector("0000:81:01").matches(other_slot));
        CHECK(parse_selector("10000:e1:00").matches(vmd));
    }
    SECTION("ids") {
        const auto sel = parse_selector("10de:2204");
        CHECK(sel.matches(gpu));
        CHECK(sel.matches(other_slot));
        CHECK(sel.matches(other_domain));
        CHECK_FALSE(sel.matches(audio));
        CHECK_FALSE(sel.matches(vmd));
        CHECK_FALSE(parse_selector("2204:10de").matches(gpu));
    }
}
