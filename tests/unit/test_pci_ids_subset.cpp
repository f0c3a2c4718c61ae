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
