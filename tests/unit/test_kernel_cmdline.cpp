// SPDX-License-Identifier: MIT
#include "pt/kernel/cmdline.hpp"
#include "support/catch.hpp"

#include <optional>
#include <string>
#include <vector>

using pt::kernel::find_param;
using pt::kernel::Param;
using pt::kernel::parse_cmdline;
using pt::kernel::same_param_name;

using Value = std::optional<std::string>;
using Found = std::optional<std::optional<std::string>>;

TEST_CASE("kernel::parse_cmdline", "[kernel][cmdline]") {
    SECTION("a Proxmox command line") {
        const auto params = parse_cmdline(
            "BOOT_IMAGE=/boot/vmlinuz-6.8 root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet\n");
        CHECK(params
              == std::vector<Param>{{"BOOT_IMAGE", Value("/boot/vmlinuz-6.8")},
                                    {"root", Value("ZFS=rpool/ROOT/pve-1")},
                                    {"boot", Value("zfs")},
                                    {"quiet", Value()}});
    }
    SECTION("only the first = splits") {
        CHECK(parse_cmdline("a=b=c") == std::vector<Param>{{"a", Value("b=c")}});
        CHECK(parse_cmdline("a=") == std::vector<Param>{{"a", Value("")}});
        CHECK(parse_cmdline("=x") == std::vector<Param>{{"", Value("x")}});
    }
    SECTION("double quotes group") {
        CHECK(parse_cmdline("dyndbg=\"file vfio_pci_core.c +p\" quiet")
              == std::vector<Param>{{"dyndbg", Value("file vfio_pci_core.c +p")},
                                    {"quiet", Value()}});
    }
    SECTION("any run of whitespace separates") {
        CHECK(parse_cmdline("  intel_iommu=on\t iommu=pt\n\nquiet  ")
              == std::vector<Param>{
                  {"intel_iommu", Value("on")}, {"iommu", Value("pt")}, {"quiet", Value()}});
    }
    SECTION("comma lists stay one value") {
        CHECK(parse_cmdline("vfio-pci.ids=10de:2204,10de:1aef")
              == std::vector<Param>{{"vfio-pci.ids", Value("10de:2204,10de:1aef")}});
    }
    SECTION("empty") {
        CHECK(parse_cmdline("").empty());
        CHECK(parse_cmdline(" \n").empty());
    }
}

TEST_CASE("kernel::same_param_name", "[kernel][cmdline]") {
    CHECK(same_param_name("vfio-pci.ids", "vfio_pci.ids"));
    CHECK(same_param_name("vfio_pci.ids", "vfio-pci.ids"));
    CHECK(same_param_name("intel_iommu", "intel-iommu"));
    CHECK(same_param_name("quiet", "quiet"));
    CHECK(same_param_name("", ""));
    CHECK_FALSE(same_param_name("intel_iommu", "amd_iommu"));
    CHECK_FALSE(same_param_name("iommu", "iommu_"));
    CHECK_FALSE(same_param_name("iommu", "IOMMU"));
    CHECK_FALSE(same_param_name("vfio-pci.ids", "vfio-pci-ids"));
}

TEST_CASE("kernel::find_param", "[kernel][cmdline]") {
    const auto params = parse_cmdline("quiet intel_iommu=off vfio-pci.ids=10de:2204 iommu "
                                      "intel_iommu=on,igfx_off nomodeset= iommu=pt");
    SECTION("the last occurrence wins") {
        CHECK(find_param(params, "intel_iommu") == Found(Value("on,igfx_off")));
        CHECK(find_param(params, "iommu") == Found(Value("pt")));
    }
    SECTION("dash and underscore are the same") {
        CHECK(find_param(params, "vfio_pci.ids") == Found(Value("10de:2204")));
        CHECK(find_param(params, "intel-iommu") == Found(Value("on,igfx_off")));
    }
    SECTION("present without a value") {
        const auto quiet = find_param(params, "quiet");
        REQUIRE(quiet.has_value());
        CHECK_FALSE(quiet->has_value());
    }
    SECTION("present with an empty value") {
        CHECK(find_param(params, "nomodeset") == Found(Value("")));
    }
    SECTION("a flag after a value") {
        const auto later = find_param(parse_cmdline("iommu=pt iommu"), "iommu");
        REQUIRE(later.has_value());
        CHECK_FALSE(later->has_value());
    }
    SECTION("absent") {
        CHECK_FALSE(find_param(params, "amd_iommu").has_value());
        CHECK_FALSE(find_param(params, "quie").has_value());
        CHECK_FALSE(find_param({}, "quiet").has_value());
    }
}
