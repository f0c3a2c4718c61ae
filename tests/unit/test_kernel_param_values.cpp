// SPDX-License-Identifier: MIT
#include "pt/kernel/param_values.hpp"
#include "support/catch.hpp"

#include <optional>
#include <string>
#include <vector>

using pt::kernel::invalid_values;
using pt::kernel::Param;
using pt::kernel::parse_cmdline;

namespace {

std::vector<std::string> options_of(const std::string& cmdline) {
    std::vector<std::string> out;
    for (const auto& p : invalid_values(parse_cmdline(cmdline))) {
        out.push_back(p.option);
    }
    return out;
}

} // namespace

TEST_CASE("kernel::invalid_values: the IOMMU parsers' own option lists", "[kernel][params]") {
    // Valid, including several options and the kernels' strncmp prefix matching.
    CHECK(
        options_of("amd_iommu=off amd_iommu=force_isolation,pgtbl_v2 amd_iommu=pgsize_4k").empty());
    CHECK(options_of("intel_iommu=on,igfx_off intel_iommu=sm_on intel_iommu=relax_rmrr").empty());
    CHECK(options_of("iommu=pt iommu=nopt iommu=off,nopanic iommu=soft").empty());
    CHECK(options_of("iommu.passthrough=1 iommu.passthrough=off iommu.strict=y").empty());

    CHECK(options_of("amd_iommu=on") == std::vector<std::string>{"on"});
    CHECK(options_of("amd_iommu=1") == std::vector<std::string>{"1"});
    CHECK(options_of("amd_iommu=off,on") == std::vector<std::string>{"on"});
    CHECK(options_of("intel_iommu=1") == std::vector<std::string>{"1"});
    CHECK(options_of("intel_iommu=sm_of") == std::vector<std::string>{"sm_of"});
    CHECK(options_of("iommu=on") == std::vector<std::string>{"on"});
    CHECK(options_of("iommu=1") == std::vector<std::string>{"1"});
    CHECK(options_of("iommu.passthrough=maybe") == std::vector<std::string>{"maybe"});
    CHECK(options_of("iommu.passthrough") == std::vector<std::string>{""});
    CHECK(options_of("amd_iommu") == std::vector<std::string>{""});

    const auto amd = invalid_values(Param{"amd_iommu", "1"});
    REQUIRE(amd.size() == 1);
    CHECK(amd[0].param == "amd_iommu=1");
    CHECK(amd[0].problem.find("AMD-Vi: Unknown option - '1'") != std::string::npos);
    CHECK(amd[0].problem.find("force_isolation") != std::string::npos);
    const auto intel = invalid_values(Param{"intel_iommu", "bogus"});
    REQUIRE(intel.size() == 1);
    CHECK(intel[0].problem.find("DMAR: Unknown option - 'bogus'") != std::string::npos);
    // Parameters pt knows no value list of are never judged.
    CHECK(invalid_values(Param{"pcie_acs_override", "whatever"}).empty());
}

TEST_CASE("kernel::invalid_values: vfio-pci ids, and a list split by a space", "[kernel][params]") {
    CHECK(options_of("vfio-pci.ids=10de:2204,10de:1aef").empty());
    CHECK(options_of("vfio_pci.ids=10de:2204,,10de:1aef").empty()); // empty items are skipped
    CHECK(options_of("vfio-pci.ids=1002:ffffffff:ffffffff:ffffffff:00030000:ffff00ff").empty());
    CHECK(options_of("vfio-pci.ids=10de:220g") == std::vector<std::string>{"10de:220g"});
    CHECK(options_of("vfio-pci.ids=10de") == std::vector<std::string>{"10de"});
    CHECK(options_of("vfio-pci.ids=10de:2204:1:2:3:4:5")
          == std::vector<std::string>{"10de:2204:1:2:3:4:5"});

    const auto split = invalid_values(parse_cmdline("quiet vfio-pci.ids=10de:2204, 10de:1aef"));
    REQUIRE(split.size() == 1);
    CHECK(split[0].option == "10de:1aef");
    CHECK(split[0].param == "vfio-pci.ids=10de:2204, 10de:1aef");
    CHECK(split[0].problem.find("a space splits vfio-pci.ids") != std::string::npos);
    // A trailing comma followed by an ordinary word is no split list.
    CHECK(invalid_values(parse_cmdline("vfio-pci.ids=10de:2204, quiet")).empty());
}

TEST_CASE("kernel::valid_vfio_id and comma_options", "[kernel][params]") {
    CHECK(pt::kernel::valid_vfio_id("10de:2204"));
    CHECK(pt::kernel::valid_vfio_id("8086:a7a0:ffffffff:ffffffff"));
    CHECK_FALSE(pt::kernel::valid_vfio_id(""));
    CHECK_FALSE(pt::kernel::valid_vfio_id("10de:"));
    CHECK_FALSE(pt::kernel::valid_vfio_id(":2204"));
    CHECK_FALSE(pt::kernel::valid_vfio_id("10de 2204"));
    CHECK(pt::kernel::comma_options("a,,b,") == std::vector<std::string>{"a", "b"});
    CHECK(pt::kernel::comma_options("").empty());
}

TEST_CASE("kernel::find_folklore: the one list grub --add, verify and completion share",
          "[kernel][params][folklore]") {
    using pt::kernel::find_folklore;
    using pt::kernel::FolkloreKind;
    const auto kind_of = [](const std::string& text) -> std::optional<FolkloreKind> {
        const auto* item = find_folklore(parse_cmdline(text).at(0));
        return item != nullptr ? std::optional(item->kind) : std::nullopt;
    };
    CHECK(kind_of("amd_iommu=on") == FolkloreKind::rejected_value);
    CHECK(kind_of("video=efifb:off") == FolkloreKind::no_effect);
    CHECK(kind_of("video=EFIFB:OFF") == FolkloreKind::no_effect); // values without regard to case
    CHECK(kind_of("video=vesafb:off") == FolkloreKind::no_effect);
    CHECK(kind_of("vfio_virqfd") == FolkloreKind::module_name);
    CHECK(kind_of("vfio-pci") == FolkloreKind::module_name); // '-' and '_' alike, as the kernel
    // Not folklore: the right values, and module parameters (name.param=value).
    CHECK_FALSE(kind_of("amd_iommu=off"));
    CHECK_FALSE(kind_of("iommu=pt"));
    CHECK_FALSE(kind_of("video=1024x768"));
    CHECK_FALSE(kind_of("vfio_virqfd=1"));
    CHECK_FALSE(kind_of("vfio-pci.ids=10de:2204"));
    CHECK_FALSE(kind_of("intel_iommu=on"));
    for (const auto& item : pt::kernel::cmdline_folklore()) {
        INFO(pt::kernel::folklore_text(item));
        CHECK_FALSE(item.why.empty());
        CHECK(find_folklore(parse_cmdline(pt::kernel::folklore_text(item)).at(0)) == &item);
    }
}
