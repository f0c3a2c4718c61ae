// SPDX-License-Identifier: MIT
#include "pt/conf/modules_file.hpp"
#include "support/catch.hpp"

#include <string>
#include <vector>

using pt::conf::parse_modules;
using pt::conf::with_modules;

namespace {

using Strings = std::vector<std::string>;

const char* const k_debian_header = "# /etc/modules: kernel modules to load at boot time.\n"
                                    "#\n"
                                    "# This file contains the names of kernel modules that should "
                                    "be loaded\n"
                                    "# at boot time, one per line. Lines beginning with \"#\" are "
                                    "ignored.\n";

} // namespace

TEST_CASE("conf::parse_modules", "[conf][modules_file]") {
    SECTION("names in order, normalised, comments and blanks skipped") {
        CHECK(parse_modules("# c\n\nvfio\n  vfio-iommu-type1\n; semicolon comment\nvfio_pci\n")
              == Strings{"vfio", "vfio_iommu_type1", "vfio_pci"});
    }
    SECTION("arguments after the name are not modules") {
        CHECK(parse_modules("vfio_pci ids=10de:2204\nvfio vfio_iommu_type1 vfio_pci ids=x \n")
              == Strings{"vfio_pci", "vfio"});
    }
    SECTION("the Debian header with vfio_virqfd and no final newline") {
        CHECK(parse_modules(std::string(k_debian_header)
                            + "\nvfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd")
              == Strings{"vfio", "vfio_iommu_type1", "vfio_pci", "vfio_virqfd"});
    }
    SECTION("empty") {
        CHECK(parse_modules("").empty());
        CHECK(parse_modules("\n\n").empty());
    }
}

TEST_CASE("conf::with_modules", "[conf][modules_file]") {
    SECTION("appends what is missing, keeps the header") {
        const std::string before = std::string(k_debian_header) + "\nvfio\n";
        CHECK(with_modules(before, {"vfio", "vfio_iommu_type1", "vfio_pci"}, {})
              == before + "vfio_iommu_type1\nvfio_pci\n");
    }
    SECTION("nothing to do returns the text unchanged, byte for byte") {
        const std::string before = "# x\r\nvfio  \n\tvfio-pci\nvfio_iommu_type1";
        CHECK(with_modules(before, {"vfio_pci", "vfio", "vfio-iommu-type1"}, {}) == before);
        CHECK(with_modules("", {}, {}).empty());
    }
    SECTION("an append onto a file without a final newline adds one first") {
        CHECK(with_modules("vfio", {"vfio_pci"}, {}) == "vfio\nvfio_pci\n");
        CHECK(with_modules("", {"vfio_pci"}, {}) == "vfio_pci\n");
        CHECK(with_modules("# only a comment", {"vfio"}, {}) == "# only a comment\nvfio\n");
    }
    SECTION("duplicates within `add` are written once") {
        CHECK(with_modules("", {"vfio-pci", "vfio_pci"}, {}) == "vfio-pci\n");
    }
    SECTION("removes every line naming a removed module, in either spelling") {
        CHECK(with_modules("vfio\nvfio_virqfd\n# vfio_virqfd\nvfio-virqfd opt=1\nvfio_pci\n",
                           {},
                           {"vfio_virqfd"})
              == "vfio\n# vfio_virqfd\nvfio_pci\n");
    }
    SECTION("removing the last line keeps the missing final newline missing") {
        CHECK(with_modules("vfio\nvfio_pci\nvfio_virqfd", {}, {"vfio_virqfd"}) == "vfio\nvfio_pci");
        CHECK(with_modules("vfio\nvfio_virqfd\n", {}, {"vfio_virqfd"}) == "vfio\n");
        CHECK(with_modules("vfio_virqfd", {}, {"vfio_virqfd"}).empty());
    }
    SECTION("remove and add together") {
        CHECK(with_modules(std::string(k_debian_header) + "\nvfio\nvfio_iommu_type1\nvfio_pci\n"
                               + "vfio_virqfd",
                           {"vfio", "vfio_iommu_type1", "vfio_pci"},
                           {"vfio_virqfd"})
              == std::string(k_debian_header) + "\nvfio\nvfio_iommu_type1\nvfio_pci");
        CHECK(with_modules("vfio_virqfd\n", {"kvmgt"}, {"vfio_virqfd"}) == "kvmgt\n");
    }
    SECTION("idempotent") {
        const std::string once = with_modules("# c\nvfio", {"vfio_pci", "vfio"}, {"x"});
        CHECK(with_modules(once, {"vfio_pci", "vfio"}, {"x"}) == once);
    }
}
