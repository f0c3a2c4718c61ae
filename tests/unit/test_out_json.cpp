// SPDX-License-Identifier: MIT
#include "pt/error.hpp"
#include "pt/iommu/listing.hpp"
#include "pt/out/json.hpp"
#include "support/catch.hpp"
#include "support/sample_host.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

using pt::iommu::build_listing;
using pt::iommu::Filter;
using pt::out::Json;
using pt::test::addr;

namespace {

std::vector<std::string> keys(const Json& object) {
    std::vector<std::string> out;
    for (const auto& item : object.items()) {
        out.push_back(item.key());
    }
    return out;
}

const Json& group_json(const Json& listing, int number) {
    for (const auto& group : listing.at("groups")) {
        if (group.at("group") == number) {
            return group;
        }
    }
    FAIL("group " << number << " is not in the JSON");
    throw std::logic_error("unreachable");
}

const Json& device_json(const Json& group, const char* address) {
    for (const auto& dev : group.at("devices")) {
        if (dev.at("address") == address) {
            return dev;
        }
    }
    FAIL(address << " is not in the group");
    throw std::logic_error("unreachable");
}

} // namespace

TEST_CASE("out::to_json(Listing) top level", "[out][json]") {
    const auto host = pt::test::sample_host();
    const Json j = pt::out::to_json(build_listing(host.topology, host.iommu, host.facts, Filter{}));

    CHECK(keys(j)
          == std::vector<std::string>{
              "iommu_enabled", "iommu_units", "groups", "ungrouped", "diagnosis", "warnings"});
    CHECK(j.at("iommu_enabled") == true);
    CHECK(j.at("iommu_units") == Json::array({"dmar0", "dmar1"}));
    CHECK(j.at("groups").is_array());
    CHECK(j.at("groups").size() == 7);
    CHECK(j.at("ungrouped").is_array());
    REQUIRE(j.at("ungrouped").size() == 1);
    CHECK(j.at("ungrouped")[0].at("address") == "0000:05:00.0");
    CHECK(j.at("diagnosis").is_null());
    CHECK(j.at("warnings") == Json::array());
}

TEST_CASE("out::to_json(Listing) groups", "[out][json]") {
    const auto host = pt::test::sample_host();
    const Json j = pt::out::to_json(build_listing(host.topology, host.iommu, host.facts, Filter{}));

    SECTION("a group with a verdict") {
        const Json& g = group_json(j, 1);
        CHECK(keys(g)
              == std::vector<std::string>{"group",
                                          "type",
                                          "subject",
                                          "isolated",
                                          "viable",
                                          "sharing",
                                          "root_port",
                                          "other_root_ports",
                                          "bmc_display",
                                          "foreign",
                                          "foreign_devices",
                                          "blockers",
                                          "devices"});
        CHECK(g.at("group") == 1);
        CHECK(g.at("type") == "DMA-FQ");
        CHECK(g.at("subject") == "0000:01:00.0");
        CHECK(g.at("isolated") == true);
        CHECK(g.at("viable") == false);
        CHECK(g.at("sharing").is_null()); // isolated
        CHECK(g.at("bmc_display") == false);
        CHECK(g.at("other_root_ports") == Json::array());
        CHECK(g.at("foreign") == Json::array());
        CHECK(g.at("foreign_devices") == Json::array());
        REQUIRE(g.at("blockers").size() == 2);
        CHECK(g.at("blockers")[0]
              == Json{{"address", "0000:01:00.0"}, {"driver", "nvidia"}, {"bridge", false}});
        CHECK(g.at("blockers")[1].at("driver") == "snd_hda_intel");
        CHECK(g.at("devices").size() == 3);
    }
    SECTION("a group without a verdict has nulls") {
        const Json& g = group_json(j, 3);
        CHECK(g.at("subject").is_null());
        CHECK(g.at("isolated").is_null());
        CHECK(g.at("viable").is_null());
        CHECK(g.at("sharing").is_null());
        CHECK(g.at("root_port").is_null());
        CHECK(g.at("bmc_display").is_null());
        CHECK(g.at("foreign").is_null());
        CHECK(g.at("foreign_devices").is_null());
        CHECK(g.at("blockers").is_null());
        CHECK(g.at("devices").size() == 2);
    }
}

TEST_CASE("out::to_json(Listing) foreign devices", "[out][json]") {
    auto host = pt::test::sample_host();
    // Put the chipset USB controller and the SATA controller into the GPU's group.
    host.iommu.groups[1].members.push_back(addr("0000:00:14.0"));
    host.iommu.groups[1].members.push_back(addr("0000:00:17.0"));
    std::sort(host.iommu.groups[1].members.begin(), host.iommu.groups[1].members.end());
    Filter filter;
    filter.groups = {1};
    const Json j = pt::out::to_json(build_listing(host.topology, host.iommu, host.facts, filter));
    const Json& g = group_json(j, 1);
    CHECK(g.at("isolated") == false);
    CHECK(g.at("foreign") == Json::array({"0000:00:14.0", "0000:00:17.0"}));
    REQUIRE(g.at("foreign_devices").size() == 2);
    CHECK(g.at("foreign_devices")[0]
          == Json{{"address", "0000:00:14.0"},
                  {"class", "0c0330"},
                  {"driver", "xhci_hcd"},
                  {"danger", "usb"}});
    CHECK(g.at("foreign_devices")[1].at("danger") == "storage");
    CHECK(keys(g.at("foreign_devices")[0])
          == std::vector<std::string>{"address", "class", "driver", "danger"});
}

TEST_CASE("out::to_json(Listing) devices", "[out][json]") {
    auto host = pt::test::sample_host();
    const Json j = pt::out::to_json(build_listing(host.topology, host.iommu, host.facts, Filter{}));

    SECTION("a named GPU") {
        const Json& dev = device_json(group_json(j, 1), "0000:01:00.0");
        // Every key of pt-iommu-groups(1) is present, in a fixed order.
        CHECK(keys(dev)
              == std::vector<std::string>{
                  "address",          "vendor",         "device",     "subsystem_vendor",
                  "subsystem_device", "class",          "revision",   "vendor_name",
                  "device_name",      "subsystem_name", "class_name", "driver",
                  "driver_override",  "iommu_group",    "bridge",     "display",
                  "boot_vga",         "reset_methods",  "link",       "numa_node",
                  "parent",           "physfn",         "virtfns",    "sysfs_path"});
        CHECK(dev.at("address") == "0000:01:00.0");
        CHECK(dev.at("vendor") == "10de");
        CHECK(dev.at("device") == "2204");
        CHECK(dev.at("subsystem_vendor") == "1458");
        CHECK(dev.at("subsystem_device") == "403b");
        CHECK(dev.at("class") == "030000");
        CHECK(dev.at("revision") == "a1");
        CHECK(dev.at("vendor_name") == "NVIDIA Corporation");
        CHECK(dev.at("device_name") == "GA102 [GeForce RTX 3090]");
        CHECK(dev.at("class_name") == "VGA compatible controller");
        CHECK(dev.at("driver") == "nvidia");
        CHECK(dev.at("bridge") == false);
        CHECK(dev.at("boot_vga") == true);
        CHECK(dev.at("reset_methods") == Json::array({"flr", "bus"}));
        CHECK(dev.at("iommu_group") == 1);
    }
    SECTION("a bridge with no names and unknown attributes") {
        const Json& dev = device_json(group_json(j, 1), "0000:00:01.0");
        CHECK(dev.at("bridge") == true);
        CHECK(dev.at("class") == "060400");
        CHECK(dev.at("driver") == "pcieport");
        CHECK(dev.at("vendor_name").is_null());
        CHECK(dev.at("device_name").is_null());
        CHECK(dev.at("class_name").is_null());
        CHECK(dev.at("subsystem_vendor").is_null());
        CHECK(dev.at("subsystem_device").is_null());
        CHECK(dev.at("revision").is_null());
        CHECK(dev.at("boot_vga").is_null());
        CHECK(dev.at("reset_methods").is_null());
    }
    SECTION("an unbound device has a null driver") {
        const Json& dev = device_json(group_json(j, 0), "0000:00:00.0");
        CHECK(dev.contains("driver"));
        CHECK(dev.at("driver").is_null());
        CHECK(dev.at("bridge") == false);
    }
    SECTION("the second GPU is not the boot VGA device") {
        CHECK(device_json(group_json(j, 5), "0000:02:00.0").at("boot_vga") == false);
    }
}

TEST_CASE("out::to_json(Device) formats", "[out][json]") {
    pt::pci::Device dev;
    dev.address = addr("10000:E1:00.0");
    dev.vendor = 0xABCD;
    dev.device = 0x000f;
    dev.subsystem_vendor = 0x00A0;
    dev.subsystem_device = 0x0001;
    dev.class_code = 0x010802;
    dev.revision = 0x0b;
    dev.reset_methods = std::vector<std::string>{};
    const Json j = pt::out::to_json(dev);
    CHECK(j.at("address") == "10000:e1:00.0");
    CHECK(j.at("vendor") == "abcd");
    CHECK(j.at("device") == "000f");
    CHECK(j.at("subsystem_vendor") == "00a0");
    CHECK(j.at("subsystem_device") == "0001");
    CHECK(j.at("class") == "010802");
    CHECK(j.at("revision") == "0b");
    CHECK(j.at("reset_methods") == Json::array());
    CHECK(j.at("bridge") == false);
    CHECK(j.at("boot_vga").is_null());
    CHECK(j.at("driver").is_null());
    CHECK(j.at("link").is_null());
    CHECK(j.at("parent").is_null());
    CHECK(j.at("physfn").is_null());
    CHECK(j.at("virtfns") == Json::array());
    CHECK(j.at("numa_node").is_null());
    CHECK(j.at("iommu_group").is_null());

    SECTION("link, parent and SR-IOV relations") {
        dev.link.current_speed = "8.0 GT/s";
        dev.link.max_width = 16;
        dev.parent = addr("10000:e0:06.0");
        dev.physfn = addr("0000:02:00.0");
        dev.virtfns = {addr("0000:02:10.0"), addr("0000:02:10.4")};
        dev.numa_node = -1;
        const Json k = pt::out::to_json(dev);
        CHECK(k.at("link")
              == Json{{"current_speed", "8.0 GT/s"},
                      {"current_width", nullptr},
                      {"max_speed", nullptr},
                      {"max_width", 16}});
        CHECK(k.at("parent") == "10000:e0:06.0");
        CHECK(k.at("physfn") == "0000:02:00.0");
        CHECK(k.at("virtfns") == Json::array({"0000:02:10.0", "0000:02:10.4"}));
        CHECK(k.at("numa_node") == -1);
    }
}

TEST_CASE("out::to_json(Listing) with the IOMMU off", "[out][json]") {
    const auto host = pt::test::sample_host_without_iommu();
    const Json j = pt::out::to_json(build_listing(host.topology, host.iommu, host.facts, Filter{}));
    CHECK(j.at("iommu_enabled") == false);
    CHECK(j.at("iommu_units") == Json::array());
    CHECK(j.at("groups") == Json::array());
    CHECK(j.at("ungrouped").size() == host.topology.devices.size());
    const Json& diagnosis = j.at("diagnosis");
    REQUIRE(diagnosis.is_object());
    CHECK(keys(diagnosis) == std::vector<std::string>{"cause", "fix", "evidence"});
    CHECK(diagnosis.at("cause").get<std::string>().find("intel_iommu=on") != std::string::npos);
    CHECK(diagnosis.at("evidence").is_array());
    CHECK_THAT(diagnosis.at("evidence").dump(), Catch::Contains("/proc/cmdline"));
}

TEST_CASE("out::to_json(VfioIds)", "[out][json]") {
    const auto host = pt::test::sample_host();
    Filter filter;
    filter.devices.push_back(pt::pci::parse_selector("01:00.0"));
    const auto listing = build_listing(host.topology, host.iommu, host.facts, filter);
    const Json j = pt::out::to_json(pt::iommu::vfio_ids(listing, host.topology));
    CHECK(keys(j) == std::vector<std::string>{"vfio_ids", "ids", "devices", "also_match"});
    CHECK(j.at("vfio_ids") == "10de:2204,10de:1aef");
    CHECK(j.at("ids") == Json::array({"10de:2204", "10de:1aef"}));
    CHECK(j.at("devices") == Json::array({"0000:01:00.0", "0000:01:00.1"}));
    CHECK(j.at("also_match") == Json::array({"0000:02:00.0", "0000:02:00.1"}));
}

namespace {

std::string tree_text(const pt::iommu::Listing& listing) {
    return pt::out::to_json(listing).dump(2, ' ', false, Json::error_handler_t::replace);
}

} // namespace

TEST_CASE("out::dump_json(Listing) is the tree's text byte for byte", "[out][json]") {
    SECTION("every group of the sample host, verdicts, links and SR-IOV relations") {
        const auto host = pt::test::sample_host();
        const auto listing = build_listing(host.topology, host.iommu, host.facts, Filter{});
        REQUIRE(!listing.groups.empty());
        CHECK(pt::out::dump_json(listing) == tree_text(listing));
    }
    SECTION("a non-isolated group with foreign devices and blockers") {
        const auto host = pt::test::sample_host();
        Filter filter;
        filter.gpu_only = true;
        const auto listing = build_listing(host.topology, host.iommu, host.facts, filter);
        CHECK(pt::out::dump_json(listing) == tree_text(listing));
    }
    SECTION("the IOMMU off: ungrouped devices and a diagnosis") {
        const auto host = pt::test::sample_host_without_iommu();
        const auto listing = build_listing(host.topology, host.iommu, host.facts, Filter{});
        REQUIRE(listing.diagnosis.has_value());
        CHECK(pt::out::dump_json(listing) == tree_text(listing));
    }
    SECTION("strings that need escaping, invalid UTF-8 and empty containers") {
        const auto host = pt::test::sample_host();
        auto listing = build_listing(host.topology, host.iommu, host.facts, Filter{});
        listing.units.clear();
        listing.warnings = {"quote \" backslash \\ tab \t newline \n esc \x1b del \x7f",
                            "UTF-8 \xc3\xa9 and a bad byte \xff and a cut \xe2\x82",
                            ""};
        listing.groups.front().devices.front().names.vendor = std::string("NUL \0 inside", 12);
        listing.groups.front().type = std::nullopt;
        CHECK(pt::out::dump_json(listing) == tree_text(listing));
    }
}

TEST_CASE("out::split_error_message: SUBJECT: CAUSE; FIX", "[out][json][error]") {
    const auto parts = pt::out::split_error_message(
        "--root /nowhere: not a directory; give the top of a host tree, or / for this machine");
    CHECK(parts.cause == "not a directory");
    REQUIRE(parts.fix.has_value());
    CHECK(*parts.fix == "give the top of a host tree, or / for this machine");
}

TEST_CASE("out::split_error_message: the fix is after the last \"; \", with the lines below",
          "[out][json][error]") {
    const auto parts = pt::out::split_error_message(
        "no PCI device matches '42:00.0' under /sys/bus/pci/devices; display devices on this "
        "host:\n  0000:0b:00.0 VGA compatible controller [10de:2204]\n  0000:0c:00.0 VGA");
    CHECK(parts.cause == "no PCI device matches '42:00.0' under /sys/bus/pci/devices");
    REQUIRE(parts.fix.has_value());
    CHECK(*parts.fix
          == "display devices on this host:\n0000:0b:00.0 VGA compatible controller "
             "[10de:2204]\n0000:0c:00.0 VGA");
}

TEST_CASE("out::split_error_message: no fix in the text is null, not a guess",
          "[out][json][error]") {
    const auto parts = pt::out::split_error_message("/etc/modules: permission denied");
    CHECK(parts.cause == "permission denied");
    CHECK_FALSE(parts.fix.has_value());
}

TEST_CASE("out::error_json: the document --json prints on failure", "[out][json][error]") {
    const auto doc = pt::out::error_json(1, "/etc/x: gone; restore it");
    CHECK(keys(doc) == std::vector<std::string>{"error"});
    CHECK(keys(doc.at("error")) == std::vector<std::string>{"code", "message", "cause", "fix"});
    CHECK(doc.at("error").at("code") == 1);
    CHECK(doc.at("error").at("message") == "/etc/x: gone; restore it");
    CHECK(doc.at("error").at("cause") == "gone");
    CHECK(doc.at("error").at("fix") == "restore it");

    const auto given = pt::out::error_json(2, "a: b; c", "the cause", "the fix");
    CHECK(given.at("error").at("cause") == "the cause");
    CHECK(given.at("error").at("fix") == "the fix");
    CHECK(pt::out::error_json(1, "bad").at("error").at("fix").is_null());
}

TEST_CASE("pt::Error with a cause and a fix keeps them and prints SUBJECT: CAUSE; FIX",
          "[out][json][error]") {
    const pt::Error error("/etc/default/grub", "does not exist", "restore it");
    CHECK(std::string(error.what()) == "/etc/default/grub: does not exist; restore it");
    CHECK(error.cause() == "does not exist");
    CHECK(error.fix() == "restore it");
    CHECK(pt::Error("plain").cause().empty());
}
