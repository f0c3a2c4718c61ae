// SPDX-License-Identifier: MIT
#include "pt/error.hpp"
#include "pt/iommu/listing.hpp"
#include "support/catch.hpp"
#include "support/sample_host.hpp"

#include <algorithm>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

using pt::iommu::build_listing;
using pt::iommu::Filter;
using pt::iommu::Listing;
using pt::iommu::vfio_ids;
using pt::test::addr;
using pt::test::formatted;

namespace {

std::vector<int> group_numbers(const Listing& listing) {
    std::vector<int> out;
    for (const auto& group : listing.groups) {
        out.push_back(group.number);
    }
    return out;
}

const pt::iommu::GroupReport& group(const Listing& listing, int number) {
    for (const auto& report : listing.groups) {
        if (report.number == number) {
            return report;
        }
    }
    FAIL("group " << number << " is not in the listing");
    throw std::logic_error("unreachable");
}

std::vector<std::string> device_addresses(const std::vector<pt::pci::Device>& devices) {
    std::vector<pt::pci::Address> list;
    for (const auto& dev : devices) {
        list.push_back(dev.address);
    }
    return formatted(list);
}

Filter devices_filter(std::initializer_list<const char*> selectors) {
    Filter filter;
    for (const char* text : selectors) {
        filter.devices.push_back(pt::pci::parse_selector(text));
    }
    return filter;
}

} // namespace

TEST_CASE("iommu::build_listing with an empty filter shows every group", "[iommu][listing]") {
    const auto host = pt::test::sample_host();
    const auto listing = build_listing(host.topology, host.iommu, host.facts, Filter{});

    CHECK(listing.iommu_enabled);
    CHECK(listing.units == std::vector<std::string>{"dmar0", "dmar1"});
    CHECK_FALSE(listing.diagnosis.has_value());
    CHECK(listing.selected.empty());
    CHECK(listing.warnings.empty());
    CHECK(group_numbers(listing) == std::vector<int>{0, 1, 2, 3, 4, 5, 6});
    CHECK(group(listing, 1).type == std::optional<std::string>("DMA-FQ"));
    CHECK(device_addresses(group(listing, 1).devices)
          == std::vector<std::string>{"0000:00:01.0", "0000:01:00.0", "0000:01:00.1"});
    CHECK(device_addresses(listing.ungrouped) == std::vector<std::string>{"0000:05:00.0"});

    SECTION("verdicts only for groups with a display device, judged from it") {
        for (const int number : {0, 3, 4, 6}) {
            INFO("group " << number);
            CHECK_FALSE(group(listing, number).verdict.has_value());
        }
        const auto& gpu = group(listing, 1).verdict;
        REQUIRE(gpu.has_value());
        CHECK(gpu->subject == addr("0000:01:00.0"));
        CHECK(gpu->isolated);
        CHECK_FALSE(gpu->viable); // nvidia and snd_hda_intel hold it
        const auto& igpu = group(listing, 2).verdict;
        REQUIRE(igpu.has_value());
        CHECK(igpu->subject == addr("0000:00:02.0"));
        const auto& second = group(listing, 5).verdict;
        REQUIRE(second.has_value());
        CHECK(second->subject == addr("0000:02:00.0"));
        CHECK(second->isolated);
        CHECK(second->viable);
    }
}

TEST_CASE("iommu::build_listing filters", "[iommu][listing]") {
    const auto host = pt::test::sample_host();
    const auto build = [&](const Filter& filter) {
        return build_listing(host.topology, host.iommu, host.facts, filter);
    };

    SECTION("gpu_only") {
        Filter filter;
        filter.gpu_only = true;
        const auto listing = build(filter);
        CHECK(group_numbers(listing) == std::vector<int>{1, 2, 5});
        CHECK(listing.ungrouped.empty());
        for (const auto& report : listing.groups) {
            CHECK(report.verdict.has_value());
        }
    }
    SECTION("groups") {
        Filter filter;
        filter.groups = {3, 0};
        const auto listing = build(filter);
        CHECK(group_numbers(listing) == std::vector<int>{0, 3});
        CHECK_FALSE(group(listing, 3).verdict.has_value());
        CHECK(device_addresses(group(listing, 3).devices)
              == std::vector<std::string>{"0000:00:14.0", "0000:00:14.2"});
        CHECK(listing.ungrouped.empty());
    }
    SECTION("a slot selector: every function is selected, the first is the subject") {
        const auto listing = build(devices_filter({"02:00"}));
        CHECK(group_numbers(listing) == std::vector<int>{5});
        CHECK(formatted(listing.selected)
              == std::vector<std::string>{"0000:02:00.0", "0000:02:00.1"});
        REQUIRE(group(listing, 5).verdict.has_value());
        CHECK(group(listing, 5).verdict->subject == addr("0000:02:00.0"));
        CHECK(listing.ungrouped.empty());
    }
    SECTION("a selected device is the subject even when it is not the display device") {
        const auto listing = build(devices_filter({"0000:02:00.1"}));
        CHECK(group_numbers(listing) == std::vector<int>{5});
        REQUIRE(group(listing, 5).verdict.has_value());
        CHECK(group(listing, 5).verdict->subject == addr("0000:02:00.1"));
    }
    SECTION("a selected non-display device gets a verdict") {
        const auto listing = build(devices_filter({"00:17.0"}));
        CHECK(group_numbers(listing) == std::vector<int>{4});
        REQUIRE(group(listing, 4).verdict.has_value());
        CHECK(group(listing, 4).verdict->subject == addr("0000:00:17.0"));
        CHECK_FALSE(group(listing, 4).verdict->viable);
    }
    SECTION("an ID selector matches both identical GPUs") {
        const auto listing = build(devices_filter({"10de:2204"}));
        CHECK(group_numbers(listing) == std::vector<int>{1, 5});
        CHECK(formatted(listing.selected)
              == std::vector<std::string>{"0000:01:00.0", "0000:02:00.0"});
    }
    SECTION("several selectors: the union, each device once") {
        const auto listing = build(devices_filter({"01:00.0", "0000:01:00", "03:00.0"}));
        CHECK(group_numbers(listing) == std::vector<int>{1, 6});
        CHECK(formatted(listing.selected)
              == std::vector<std::string>{"0000:01:00.0", "0000:01:00.1", "0000:03:00.0"});
        CHECK(group(listing, 6).verdict.has_value());
    }
    SECTION("a class prefix") {
        Filter filter;
        filter.class_prefix = "0c03";
        const auto listing = build(filter);
        CHECK(group_numbers(listing) == std::vector<int>{3});
        CHECK_FALSE(group(listing, 3).verdict.has_value());
        filter.class_prefix = "0880";
        CHECK(device_addresses(build(filter).ungrouped)
              == std::vector<std::string>{"0000:05:00.0"});
        CHECK(build(filter).groups.empty());
    }
    SECTION("criteria combine with AND") {
        Filter filter;
        filter.class_prefix = "03";
        filter.groups = {1, 3};
        CHECK(group_numbers(build(filter)) == std::vector<int>{1});

        Filter none = devices_filter({"00:14.0"});
        none.gpu_only = true;
        const auto listing = build(none);
        CHECK(listing.groups.empty());
        CHECK(listing.ungrouped.empty());

        // On the same device: group 1 holds a display device and the selected audio function,
        // but no device is both (pt-iommu-groups(1), Selection).
        Filter same = devices_filter({"01:00.1"});
        same.gpu_only = true;
        CHECK(build(same).groups.empty());
        Filter audio_and_gpu;
        audio_and_gpu.gpu_only = true;
        audio_and_gpu.class_prefix = "0403";
        CHECK(build(audio_and_gpu).groups.empty());

        Filter both = devices_filter({"10de:2204"});
        both.groups = {5};
        CHECK(group_numbers(build(both)) == std::vector<int>{5});
    }
}

TEST_CASE("iommu::build_listing errors", "[iommu][listing]") {
    const auto host = pt::test::sample_host();

    SECTION("a selector that matches nothing lists the display devices") {
        try {
            build_listing(host.topology, host.iommu, host.facts, devices_filter({"0000:0a:00.0"}));
            FAIL("no error for a selector that matches nothing");
        } catch (const pt::Error& e) {
            const std::string what = e.what();
            CHECK_THAT(what, Catch::Contains("0000:0a:00.0"));
            CHECK_THAT(what, Catch::Contains("0000:00:02.0"));
            CHECK_THAT(what, Catch::Contains("0000:01:00.0"));
            CHECK_THAT(what, Catch::Contains("0000:02:00.0"));
            CHECK_THAT(what, Catch::Contains("[10de:2204]"));
            CHECK_THAT(what, Catch::Contains("GA102 [GeForce RTX 3090]"));
            CHECK_THAT(what, !Catch::Contains("0000:00:14.0"));
        }
    }
    SECTION("an ID selector that matches nothing") {
        CHECK_THROWS_AS(
            build_listing(host.topology, host.iommu, host.facts, devices_filter({"1002:73bf"})),
            pt::Error);
    }
    SECTION("a group that does not exist") {
        Filter filter;
        filter.groups = {1, 42};
        CHECK_THROWS_AS(build_listing(host.topology, host.iommu, host.facts, filter), pt::Error);
        CHECK_THROWS_WITH(build_listing(host.topology, host.iommu, host.facts, filter),
                          Catch::Contains("42"));
    }
    SECTION("a group asked for while the IOMMU is off") {
        const auto off = pt::test::sample_host_without_iommu();
        Filter filter;
        filter.groups = {1};
        CHECK_THROWS_WITH(build_listing(off.topology, off.iommu, off.facts, filter),
                          Catch::Contains("IOMMU is off"));
    }
}

TEST_CASE("iommu::build_listing with the IOMMU off", "[iommu][listing]") {
    const auto host = pt::test::sample_host_without_iommu();

    SECTION("every device is ungrouped and the cause is diagnosed") {
        const auto listing = build_listing(host.topology, host.iommu, host.facts, Filter{});
        CHECK_FALSE(listing.iommu_enabled);
        CHECK(listing.groups.empty());
        CHECK(listing.ungrouped.size() == host.topology.devices.size());
        REQUIRE(listing.diagnosis.has_value());
        CHECK_THAT(listing.diagnosis->fix, Catch::Contains("intel_iommu=on"));
    }
    SECTION("filters still apply to the ungrouped devices") {
        Filter filter;
        filter.gpu_only = true;
        const auto listing = build_listing(host.topology, host.iommu, host.facts, filter);
        CHECK(device_addresses(listing.ungrouped)
              == std::vector<std::string>{"0000:00:02.0", "0000:01:00.0", "0000:02:00.0"});
        CHECK(listing.diagnosis.has_value());
    }
    SECTION("a selector") {
        const auto listing =
            build_listing(host.topology, host.iommu, host.facts, devices_filter({"01:00"}));
        CHECK(device_addresses(listing.ungrouped)
              == std::vector<std::string>{"0000:01:00.0", "0000:01:00.1"});
    }
}

TEST_CASE("iommu::build_listing warnings", "[iommu][listing]") {
    auto host = pt::test::sample_host();
    host.topology.warnings.push_back("skipped 0000:09:00.0: broken");
    host.iommu.groups[6].members.push_back(addr("0000:04:00.0"));
    const auto listing = build_listing(host.topology, host.iommu, host.facts, Filter{});
    REQUIRE(listing.warnings.size() == 2);
    CHECK(listing.warnings[0] == "skipped 0000:09:00.0: broken");
    CHECK_THAT(listing.warnings[1], Catch::Contains("0000:04:00.0"));
    CHECK_THAT(listing.warnings[1], Catch::Contains("group 6"));
    CHECK(device_addresses(group(listing, 6).devices) == std::vector<std::string>{"0000:03:00.0"});
}

TEST_CASE("iommu::vfio_ids", "[iommu][listing]") {
    const auto host = pt::test::sample_host();

    SECTION("one GPU: its IDs, and the identical second GPU that would match too") {
        const auto listing =
            build_listing(host.topology, host.iommu, host.facts, devices_filter({"01:00.0"}));
        const auto ids = vfio_ids(listing, host.topology);
        CHECK(ids.ids == std::vector<std::string>{"10de:2204", "10de:1aef"});
        CHECK(formatted(ids.endpoints) == std::vector<std::string>{"0000:01:00.0", "0000:01:00.1"});
        CHECK(formatted(ids.also_match)
              == std::vector<std::string>{"0000:02:00.0", "0000:02:00.1"});
    }
    SECTION("both GPUs: nothing else matches") {
        const auto listing =
            build_listing(host.topology, host.iommu, host.facts, devices_filter({"10de:2204"}));
        const auto ids = vfio_ids(listing, host.topology);
        CHECK(ids.ids == std::vector<std::string>{"10de:2204", "10de:1aef"});
        CHECK(formatted(ids.endpoints)
              == std::vector<std::string>{
                  "0000:01:00.0", "0000:01:00.1", "0000:02:00.0", "0000:02:00.1"});
        CHECK(ids.also_match.empty());
    }
    SECTION("bridges are left out") {
        Filter filter;
        filter.groups = {1};
        const auto listing = build_listing(host.topology, host.iommu, host.facts, filter);
        const auto ids = vfio_ids(listing, host.topology);
        CHECK(std::find(ids.ids.begin(), ids.ids.end(), "8086:1901") == ids.ids.end());
        CHECK(formatted(ids.endpoints) == std::vector<std::string>{"0000:01:00.0", "0000:01:00.1"});
    }
    SECTION("nothing listed") {
        Filter filter;
        filter.gpu_only = true;
        const auto off = pt::test::sample_host_without_iommu();
        const auto ids =
            vfio_ids(build_listing(off.topology, off.iommu, off.facts, filter), off.topology);
        CHECK(ids.ids.empty());
        CHECK(ids.endpoints.empty());
        CHECK(ids.also_match.empty());
    }
}

// listing.hpp and pt-iommu-groups(1) promise the IDs "unique, in address order". Group numbers do
// not follow addresses: on this Intel host group 1 holds 0000:01:00.0 (behind the root port
// 00:01.0) while group 2 holds the iGPU 0000:00:02.0, as on real hardware.
TEST_CASE("iommu::vfio_ids lists IDs in address order across groups", "[iommu][listing]") {
    const auto host = pt::test::sample_host();
    Filter filter;
    filter.groups = {1, 2};
    const auto listing = build_listing(host.topology, host.iommu, host.facts, filter);
    const auto ids = vfio_ids(listing, host.topology);
    CHECK(formatted(ids.endpoints)
          == std::vector<std::string>{"0000:00:02.0", "0000:01:00.0", "0000:01:00.1"});
    CHECK(ids.ids == std::vector<std::string>{"8086:3e92", "10de:2204", "10de:1aef"});
}

TEST_CASE("iommu::describe_display_devices", "[iommu][listing]") {
    const auto host = pt::test::sample_host();
    const auto text = pt::iommu::describe_display_devices(host.topology);
    CHECK_THAT(text, Catch::Contains("0000:00:02.0 class 0300 [8086:3e92]"));
    CHECK_THAT(text,
               Catch::Contains("0000:01:00.0 VGA compatible controller [10de:2204] GA102 "
                               "[GeForce RTX 3090]"));
    CHECK_THAT(text, !Catch::Contains("0000:00:14.0"));
    CHECK_THAT(pt::iommu::describe_display_devices(pt::pci::Topology{}), Catch::Contains("none"));
}
