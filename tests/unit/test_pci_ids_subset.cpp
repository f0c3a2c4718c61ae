// SPDX-License-Identifier: MIT
#include "pt/pci/ids_subset.hpp"
#include "support/catch.hpp"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

using pt::pci::reduce_ids;

TEST_CASE("pci::reduce_ids keeps the header, the vendors present and the classes", "[pci][names]") {
    const std::string ids = "#\n"
                            "#\tList of PCI ID's\n"
                            "#\tVersion: 2024.01.01\n"
                            "\n"
                            "0001  SafeNet (wrong ID)\n"
                            "10de  NVIDIA Corporation\n"
                            "\t2204  GA102 [GeForce RTX 3090]\n"
                            "\t\t1458 403b  GeForce RTX 3090 GAMING OC\n"
                            "# comment inside\n"
                            "1458  Gigabyte Technology Co., Ltd\n"
                            "1af4  Red Hat, Inc.\n"
                            "\t1000  Virtio network device\n"
                            "\n"
                            "# List of known device classes\n"
                            "C 03  Display controller\n"
                            "\t00  VGA compatible controller\n";
    const std::set<std::uint16_t> vendors = {0x10de, 0x1458};
    const auto subset = reduce_ids(ids, &vendors, true);
    CHECK(subset.text
          == "#\n"
             "#\tList of PCI ID's\n"
             "#\tVersion: 2024.01.01\n"
             "\n"
             "10de  NVIDIA Corporation\n"
             "\t2204  GA102 [GeForce RTX 3090]\n"
             "\t\t1458 403b  GeForce RTX 3090 GAMING OC\n"
             "1458  Gigabyte Technology Co., Ltd\n"
             "C 03  Display controller\n"
             "\t00  VGA compatible controller\n");
    CHECK(subset.line_numbers == std::vector<unsigned>{1, 2, 3, 4, 6, 7, 8, 10, 15, 16});
    // Without the header, as NameDb hands it to libpci.
    CHECK(reduce_ids(ids, &vendors).text.starts_with("10de  NVIDIA Corporation\n"));
}

TEST_CASE("pci::reduce_ids keeps what libpci must see", "[pci][names]") {
    const std::set<std::uint16_t> nvidia = {0x10de};
    SECTION("every vendor when none is named, without comments or blank lines") {
        const auto subset =
            reduce_ids("# c\n10de  NVIDIA\n\n1af4  Red Hat\n\t1000  Virtio\n", nullptr);
        CHECK(subset.text == "10de  NVIDIA\n1af4  Red Hat\n\t1000  Virtio\n");
        CHECK(subset.line_numbers == std::vector<unsigned>{2, 4, 5});
    }
    SECTION("a malformed top-level line stays, with its line number") {
        const auto subset = reduce_ids("1af4  Red Hat\nbogus line\n\tunder it\n", &nvidia);
        CHECK(subset.text == "bogus line\n\tunder it\n");
        CHECK(subset.line_numbers == std::vector<unsigned>{2, 3});
    }
    SECTION("a generic subsystem block goes with its vendor") {
        const std::string ids =
            "10de  NVIDIA\n1af4  Red Hat\nS 1af4\n\t0001  x\nS 10de\n\t0002  y\n";
        CHECK(reduce_ids(ids, &nvidia).text == "10de  NVIDIA\nS 10de\n\t0002  y\n");
    }
    SECTION("a last line without a newline gets one") {
        CHECK(reduce_ids("10de  NVIDIA", &nvidia).text == "10de  NVIDIA\n");
    }
    SECTION("a vendor line with a tab after the ID is a vendor line too") {
        CHECK(reduce_ids("1af4\tRed Hat\n\t1000  Virtio\n", &nvidia).text.empty());
    }
}

TEST_CASE("pci::reduce_ids keeps the lines a host's devices need", "[pci][names]") {
    const std::string ids = "10de  NVIDIA Corporation\n"         // 1
                            "\t1aef  GA102 Audio\n"              // 2
                            "\t\t1458 403b  Audio OC\n"          // 3
                            "\t2204  GA102 [GeForce RTX 3090]\n" // 4
                            "\t\t1458 1234  Other card\n"        // 5
                            "\t\t1458 403b  RTX 3090 OC\n"       // 6
                            "\tzzzz  not a device line\n"        // 7
                            "\t\t1458 403b  under it\n"          // 8
                            "1458  Gigabyte\n"                   // 9
                            "\t5000  a Gigabyte device\n"        // 10
                            "8086  Intel\n"                      // 11
                            "\t1901  PCIe port\n"                // 12
                            "C 03  Display controller\n"         // 13
                            "\t00  VGA compatible controller\n"; // 14
    pt::pci::IdsWanted wanted;
    wanted.vendors = {0x10de, 0x1458};
    wanted.devices = {0x10de2204};
    wanted.subsystems = {0x10de22041458403bULL};
    const auto subset = reduce_ids(ids, wanted);
    CHECK(subset.text
          == "10de  NVIDIA Corporation\n"
             "\t2204  GA102 [GeForce RTX 3090]\n"
             "\t\t1458 403b  RTX 3090 OC\n"
             "\tzzzz  not a device line\n"
             "1458  Gigabyte\n"
             "C 03  Display controller\n"
             "\t00  VGA compatible controller\n");
    CHECK(subset.line_numbers == std::vector<unsigned>{1, 4, 6, 7, 9, 13, 14});
}
