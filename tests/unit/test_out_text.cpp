// SPDX-License-Identifier: MIT
#include "pt/iommu/listing.hpp"
#include "pt/out/text.hpp"
#include "support/catch.hpp"
#include "support/sample_host.hpp"

#include <string>

using pt::iommu::build_listing;
using pt::iommu::Filter;
using pt::out::TextStyle;

namespace {

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("out::describe_device: lspci -nn style, and without names", "[out][text]") {
    const auto host = pt::test::sample_host();
    const auto* gpu = host.topology.find(pt::test::addr("0000:01:00.0"));
    REQUIRE(gpu != nullptr);
    const auto text = pt::out::describe_device(*gpu);
    CHECK(has(text, "[10de:2204]"));
    CHECK(text.find('\n') == std::string::npos);
}

TEST_CASE("out::render_text(Listing): every group, its devices and verdict", "[out][text]") {
    const auto host = pt::test::sample_host();
    const auto listing = build_listing(host.topology, host.iommu, host.facts, Filter{});
    const auto text = pt::out::render_text(listing, TextStyle{});
    CHECK(has(text, "0000:01:00.0"));
    CHECK(has(text, "0000:02:00.1"));
    CHECK(has(text, "0000:05:00.0")); // in no group, still listed
    CHECK_FALSE(has(text, "\033["));  // no colour unless asked
    const auto coloured = pt::out::render_text(listing, TextStyle{true, false});
    CHECK(has(coloured, "\033["));
    const auto quiet = pt::out::render_text(listing, TextStyle{false, true});
    CHECK(quiet.size() < text.size()); // explanations left out
    CHECK(has(quiet, "0000:01:00.0")); // the facts kept
}

TEST_CASE("out::render_text(VfioIds): the ids= list, comma-separated, one line", "[out][text]") {
    pt::iommu::VfioIds ids;
    ids.ids = {"10de:2204", "10de:1aef"};
    CHECK(pt::out::render_text(ids) == "10de:2204,10de:1aef\n");
}
