// SPDX-License-Identifier: MIT
#include "pt/pci/class_code.hpp"
#include "support/catch.hpp"

using namespace pt::pci;

TEST_CASE("pci::class_code predicates", "[pci][class_code]") {
    SECTION("is_display") {
        CHECK(is_display(0x030000));       // VGA
        CHECK(is_display(0x030001));       // 8514
        CHECK(is_display(0x030100));       // XGA
        CHECK(is_display(0x030200));       // 3D controller
        CHECK(is_display(0x038000));       // other display controller
        CHECK_FALSE(is_display(0x040300)); // HD audio
        CHECK_FALSE(is_display(0x000300));
        CHECK_FALSE(is_display(0x0c0330));
        CHECK_FALSE(is_display(0x060400));
    }
    SECTION("is_pci_bridge") {
        CHECK(is_pci_bridge(0x060400));
        CHECK(is_pci_bridge(0x060401));       // subtractive decode
        CHECK_FALSE(is_pci_bridge(0x060000)); // host bridge
        CHECK_FALSE(is_pci_bridge(0x060100)); // ISA bridge
        CHECK_FALSE(is_pci_bridge(0x060900)); // semi-transparent PCI bridge is not 0604
        CHECK_FALSE(is_pci_bridge(0x030000));
        CHECK_FALSE(is_pci_bridge(0x000604));
    }
    SECTION("is_storage") {
        CHECK(is_storage(0x010601)); // AHCI
        CHECK(is_storage(0x010802)); // NVMe
        CHECK(is_storage(0x010400)); // RAID
        CHECK_FALSE(is_storage(0x020000));
        CHECK_FALSE(is_storage(0x000100));
    }
    SECTION("is_network") {
        CHECK(is_network(0x020000)); // Ethernet
        CHECK(is_network(0x028000)); // other network (Wi-Fi)
        CHECK_FALSE(is_network(0x010802));
        CHECK_FALSE(is_network(0x0c0330));
    }
    SECTION("is_usb") {
        CHECK(is_usb(0x0c0330));       // xHCI
        CHECK(is_usb(0x0c0320));       // EHCI
        CHECK(is_usb(0x0c0300));       // UHCI
        CHECK_FALSE(is_usb(0x0c0500)); // SMBus
        CHECK_FALSE(is_usb(0x0c8000)); // USB-C UCSI is "other serial bus", not a host controller
        CHECK_FALSE(is_usb(0x030000));
    }
    SECTION("base_class and class_and_subclass") {
        CHECK(base_class(0x0c0330) == 0x0c);
        CHECK(class_and_subclass(0x0c0330) == 0x0c03);
        STATIC_REQUIRE(is_display(0x030000));
        STATIC_REQUIRE_FALSE(is_display(0x040300));
    }
}

TEST_CASE("pci::format_class", "[pci][class_code]") {
    CHECK(format_class(0x030000) == "030000");
    CHECK(format_class(0x0c0330) == "0c0330");
    CHECK(format_class(0x060400) == "060400");
    CHECK(format_class(0x000000) == "000000");
    CHECK(format_class(0xff0000) == "ff0000");
    CHECK(format_class(0x01030000) == "030000"); // only 24 bits
}

TEST_CASE("pci::format_class_short", "[pci][class_code]") {
    CHECK(format_class_short(0x030000) == "0300");
    CHECK(format_class_short(0x030200) == "0302");
    CHECK(format_class_short(0x0c0330) == "0c03");
    CHECK(format_class_short(0x040300) == "0403");
    CHECK(format_class_short(0x000000) == "0000");
}
