// SPDX-License-Identifier: MIT
#include "pt/host/root.hpp"
#include "pt/iommu/groups.hpp"
#include "support/catch.hpp"
#include "support/devices.hpp"
#include "support/temp_root.hpp"

#include <optional>
#include <string>
#include <vector>

using pt::test::DeviceSpec;
using pt::test::formatted;
using pt::test::TempRoot;

TEST_CASE("iommu::read_iommu", "[iommu][groups]") {
    TempRoot tmp;

    SECTION("groups sorted numerically, members sorted by address") {
        for (const auto& [address, group] :
             std::vector<std::pair<const char*, int>>{{"0000:01:00.1", 10},
                                                      {"0000:01:00.0", 10},
                                                      {"0000:00:02.0", 2},
                                                      {"10000:e1:00.0", 1}}) {
            DeviceSpec spec;
            spec.address = address;
            spec.iommu_group = group;
            tmp.add_device(spec);
        }
        tmp.write("/sys/kernel/iommu_groups/10/type", "DMA-FQ\n");
        tmp.mkdir("/sys/kernel/iommu_groups/notanumber/devices");
        tmp.mkdir("/sys/kernel/iommu_groups/2/devices/junk");
        tmp.mkdir("/sys/class/iommu/dmar1");
        tmp.mkdir("/sys/class/iommu/dmar0");
        const pt::host::Root root(tmp.path());
        const auto state = pt::iommu::read_iommu(root);
        CHECK(state.enabled());
        CHECK(state.units == std::vector<std::string>{"dmar0", "dmar1"});
        REQUIRE(state.groups.size() == 3);
        CHECK(state.groups[0].number == 1);
        CHECK(formatted(state.groups[0].members) == std::vector<std::string>{"10000:e1:00.0"});
        CHECK_FALSE(state.groups[0].type.has_value());
        CHECK(state.groups[1].number == 2);
        CHECK(formatted(state.groups[1].members) == std::vector<std::string>{"0000:00:02.0"});
        CHECK(state.groups[2].number == 10);
        CHECK(state.groups[2].type == std::optional<std::string>("DMA-FQ"));
        CHECK(formatted(state.groups[2].members)
              == std::vector<std::string>{"0000:01:00.0", "0000:01:00.1"});
    }
    SECTION("no IOMMU") {
        const pt::host::Root root(tmp.path());
        const auto state = pt::iommu::read_iommu(root);
        CHECK_FALSE(state.enabled());
        CHECK(state.units.empty());
        CHECK(state.groups.empty());
    }
    SECTION("units without groups are not enabled") {
        tmp.mkdir("/sys/class/iommu/ivhd0");
        tmp.mkdir("/sys/kernel/iommu_groups");
        const pt::host::Root root(tmp.path());
        const auto state = pt::iommu::read_iommu(root);
        CHECK_FALSE(state.enabled());
        CHECK(state.units == std::vector<std::string>{"ivhd0"});
    }
}
