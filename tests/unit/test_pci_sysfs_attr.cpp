// SPDX-License-Identifier: MIT
#include "pt/pci/sysfs_attr.hpp"
#include "support/catch.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

using namespace pt::pci;

TEST_CASE("pci::parse_hex_attr", "[pci][sysfs_attr]") {
    SECTION("the kernel's 0x formats") {
        CHECK(parse_hex_attr("0x10de\n") == std::optional<std::uint32_t>(0x10de));
        CHECK(parse_hex_attr("0x10de") == std::optional<std::uint32_t>(0x10de));
        CHECK(parse_hex_attr("0x030000") == std::optional<std::uint32_t>(0x030000));
        CHECK(parse_hex_attr("0x060400\n") == std::optional<std::uint32_t>(0x060400));
        CHECK(parse_hex_attr("0xa1\n") == std::optional<std::uint32_t>(0xa1));
        CHECK(parse_hex_attr("0x00") == std::optional<std::uint32_t>(0));
        CHECK(parse_hex_attr("0xFFFF") == std::optional<std::uint32_t>(0xffff));
        CHECK(parse_hex_attr("0X8086") == std::optional<std::uint32_t>(0x8086));
        CHECK(parse_hex_attr("0xffffffff") == std::optional<std::uint32_t>(0xffffffffU));
        CHECK(parse_hex_attr("  0x1022 \n") == std::optional<std::uint32_t>(0x1022));
    }
    SECTION("rejected") {
        for (const char* text : {"10de",
                                 "0x",
                                 "0x\n",
                                 "0xzz",
                                 "0x10de garbage",
                                 "0x-1",
                                 "0x123456789",
                                 "",
                                 "\n",
                                 "x10de",
                                 "00x10",
                                 "garbage"}) {
            INFO('"' << text << '"');
            CHECK_FALSE(parse_hex_attr(text).has_value());
        }
    }
}

TEST_CASE("pci::parse_decimal_attr", "[pci][sysfs_attr]") {
    CHECK(parse_decimal_attr("16") == std::optional<long>(16));
    CHECK(parse_decimal_attr("16\n") == std::optional<long>(16));
    CHECK(parse_decimal_attr("-1") == std::optional<long>(-1));
    CHECK(parse_decimal_attr("-1\n") == std::optional<long>(-1));
    CHECK(parse_decimal_attr("0") == std::optional<long>(0));
    CHECK(parse_decimal_attr("104") == std::optional<long>(104));
    for (const char* text : {"", "\n", "1a", "a1", "0x10", "1.5", "1 2", "-", "one"}) {
        INFO('"' << text << '"');
        CHECK_FALSE(parse_decimal_attr(text).has_value());
    }
}

TEST_CASE("pci::parse_bool_attr", "[pci][sysfs_attr]") {
    CHECK(parse_bool_attr("1") == std::optional<bool>(true));
    CHECK(parse_bool_attr("1\n") == std::optional<bool>(true));
    CHECK(parse_bool_attr("0") == std::optional<bool>(false));
    CHECK(parse_bool_attr("0\n") == std::optional<bool>(false));
    for (const char* text : {"", "2", "yes", "true", "01", "-1"}) {
        INFO('"' << text << '"');
        CHECK_FALSE(parse_bool_attr(text).has_value());
    }
}

TEST_CASE("pci::parse_reset_methods", "[pci][sysfs_attr]") {
    using Methods = std::vector<std::string>;
    CHECK(parse_reset_methods("flr bus\n") == Methods{"flr", "bus"});
    CHECK(parse_reset_methods("flr bus") == Methods{"flr", "bus"});
    CHECK(parse_reset_methods("device_specific acpi flr af pm bus cxl_bus\n")
          == Methods{"device_specific", "acpi", "flr", "af", "pm", "bus", "cxl_bus"});
    CHECK(parse_reset_methods("pm\n") == Methods{"pm"});
    CHECK(parse_reset_methods("flr  bus ") == Methods{"flr", "bus"});
    CHECK(parse_reset_methods("").empty());
    CHECK(parse_reset_methods("\n").empty());
}

TEST_CASE("pci::parse_driver_override", "[pci][sysfs_attr]") {
    CHECK_FALSE(parse_driver_override("(null)\n").has_value());
    CHECK_FALSE(parse_driver_override("(null)").has_value());
    CHECK_FALSE(parse_driver_override("").has_value());
    CHECK(parse_driver_override("vfio-pci\n") == std::optional<std::string>("vfio-pci"));
    CHECK(parse_driver_override("pci-stub") == std::optional<std::string>("pci-stub"));
}

TEST_CASE("pci::parse_link_speed", "[pci][sysfs_attr]") {
    CHECK(parse_link_speed("16.0 GT/s PCIe") == std::optional<std::string>("16.0 GT/s"));
    CHECK(parse_link_speed("16.0 GT/s PCIe\n") == std::optional<std::string>("16.0 GT/s"));
    CHECK(parse_link_speed("8.0 GT/s PCIe") == std::optional<std::string>("8.0 GT/s"));
    CHECK(parse_link_speed("2.5 GT/s") == std::optional<std::string>("2.5 GT/s"));
    CHECK(parse_link_speed("5 GT/s\n") == std::optional<std::string>("5 GT/s"));
    CHECK(parse_link_speed("32.0 GT/s PCIe") == std::optional<std::string>("32.0 GT/s"));
    CHECK_FALSE(parse_link_speed("Unknown").has_value());
    CHECK_FALSE(parse_link_speed("Unknown\n").has_value());
    CHECK_FALSE(parse_link_speed("Unknown speed").has_value());
    CHECK_FALSE(parse_link_speed("Unknown speed\n").has_value());
    CHECK_FALSE(parse_link_speed("").has_value());
}

TEST_CASE("pci::parse_uevent", "[pci][sysfs_attr]") {
    SECTION("a bound GPU, as drivers/pci/hotplug.c writes it") {
        const auto ue = pt::pci::parse_uevent("DRIVER=vfio-pci\nPCI_CLASS=30000\n"
                                              "PCI_ID=10DE:2204\nPCI_SUBSYS_ID=1458:403B\n"
                                              "PCI_SLOT_NAME=0000:0b:00.0\n"
                                              "MODALIAS=pci:v000010DEd00002204sv00001458sd0000403B"
                                              "bc03sc00i00\n");
        CHECK(ue.driver == std::optional<std::string>("vfio-pci"));
        CHECK(ue.class_code == std::optional<std::uint32_t>(0x030000));
        CHECK(ue.vendor == std::optional<std::uint16_t>(0x10de));
        CHECK(ue.device == std::optional<std::uint16_t>(0x2204));
        CHECK(ue.subsystem_vendor == std::optional<std::uint16_t>(0x1458));
        CHECK(ue.subsystem_device == std::optional<std::uint16_t>(0x403b));
    }
    SECTION("an unbound bridge has no DRIVER line") {
        const auto ue = pt::pci::parse_uevent("PCI_CLASS=60400\nPCI_ID=1022:1483\n"
                                              "PCI_SUBSYS_ID=0000:0000\n");
        CHECK_FALSE(ue.driver.has_value());
        CHECK(ue.class_code == std::optional<std::uint32_t>(0x060400));
    }
    SECTION("malformed values stay unknown") {
        const auto ue = pt::pci::parse_uevent("PCI_CLASS=zz\nPCI_ID=10DE2204\nDRIVER=\n");
        CHECK_FALSE(ue.class_code.has_value());
        CHECK_FALSE(ue.vendor.has_value());
        CHECK_FALSE(ue.driver.has_value());
    }
    SECTION("empty text") {
        const auto ue = pt::pci::parse_uevent("");
        CHECK_FALSE(ue.vendor.has_value());
    }
}
