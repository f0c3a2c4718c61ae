// SPDX-License-Identifier: MIT
#include "pt/host/root.hpp"
#include "pt/pci/names.hpp"
#include "pt/pci/topology.hpp"
#include "support/catch.hpp"
#include "support/devices.hpp"
#include "support/temp_root.hpp"

#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

using pt::test::DeviceSpec;
using pt::test::TempRoot;

namespace {

void add(TempRoot& tmp,
         const char* address,
         const std::optional<std::string>& parent = std::nullopt,
         const char* vendor = "10de") {
    DeviceSpec spec;
    spec.address = address;
    spec.parent = parent;
    spec.vendor = vendor;
    spec.attrs["numa_node"] = "0\n";
    spec.attrs["current_link_speed"] = "8.0 GT/s PCIe\n";
    spec.attrs["current_link_width"] = "16\n";
    spec.attrs["max_link_speed"] = "16.0 GT/s PCIe\n";
    spec.attrs["max_link_width"] = "16\n";
    tmp.add_device(spec);
}

std::vector<std::string> addresses(const pt::pci::Topology& topology) {
    std::vector<std::string> out;
    for (const auto& d : topology.devices) {
        out.push_back(pt::pci::format(d.address));
    }
    return out;
}

} // namespace

TEST_CASE("pci::topology: scan reads every device, sorted by address", "[pci][topology]") {
    TempRoot tmp;
    CHECK(pt::pci::scan(pt::host::Root(tmp.path()), nullptr).devices.empty());
    // Added out of order, in two domains.
    add(tmp, "0000:00:01.0");
    add(tmp, "0001:00:00.0");
    add(tmp, "0000:01:00.1", std::string("0000:00:01.0"));
    add(tmp, "0000:01:00.0", std::string("0000:00:01.0"));
    const pt::host::Root root(tmp.path());
    const auto topology = pt::pci::scan(root, nullptr);
    CHECK(topology.warnings.empty());
    CHECK(addresses(topology)
          == std::vector<std::string>{
              "0000:00:01.0", "0000:01:00.0", "0000:01:00.1", "0001:00:00.0"});
    const auto* gpu = topology.find(pt::test::addr("0000:01:00.0"));
    REQUIRE(gpu != nullptr);
    CHECK(gpu->parent == pt::test::addr("0000:00:01.0"));
    CHECK(gpu->numa_node == 0L);
    CHECK(gpu->link.max_width == 16L);
    CHECK_FALSE(gpu->names.vendor); // no name database asked for
    CHECK(topology.find(pt::test::addr("0000:01:00.2")) == nullptr);
    CHECK(topology.find(pt::test::addr("0000:00:00.0")) == nullptr);
    CHECK(topology.find(pt::test::addr("0002:00:00.0")) == nullptr);

    SECTION("detail: NUMA node and maximum link left out") {
        pt::pci::DeviceDetail detail;
        detail.numa_node = false;
        detail.max_link = false;
        const auto lean = pt::pci::scan(root, nullptr, detail);
        const auto* d = lean.find(pt::test::addr("0000:01:00.0"));
        REQUIRE(d != nullptr);
        CHECK_FALSE(d->numa_node);
        CHECK_FALSE(d->link.max_width);
    }
    SECTION("names from the root's pci.ids") {
        tmp.write("/usr/share/misc/pci.ids", "10de  NVIDIA Corporation\n\t2204  GA102\n");
        pt::pci::NameDb names(root, true);
        const auto named = pt::pci::scan(root, &names);
        const auto* d = named.find(pt::test::addr("0000:01:00.0"));
        REQUIRE(d != nullptr);
        CHECK(d->names.vendor == "NVIDIA Corporation");
        CHECK(d->names.device == "GA102");
    }
}

TEST_CASE("pci::topology: entries that cannot be read are skipped with a warning",
          "[pci][topology]") {
    TempRoot tmp;
    add(tmp, "0000:01:00.0");
    add(tmp, "0000:02:00.0", std::nullopt, "zz"); // garbled vendor
    tmp.symlink("/sys/bus/pci/devices/garbage", "../../../devices/pci0000:00/garbage");
    tmp.relative_symlink("/sys/bus/pci/devices/0000:03:00.0",
                         "/sys/devices/pci0000:03/0000:03:00.0");
    const pt::host::Root root(tmp.path());
    const auto topology = pt::pci::scan(root, nullptr);
    CHECK(addresses(topology) == std::vector<std::string>{"0000:01:00.0"});
    REQUIRE(topology.warnings.size() == 3);
    CHECK_THAT(topology.warnings[0], Catch::StartsWith("skipped 0000:02:00.0: "));
    CHECK(topology.warnings[1]
          == "skipped /sys/bus/pci/devices/0000:03:00.0: the link leads nowhere inside "
                 + root.prefix().string());
    CHECK(topology.warnings[2]
          == "skipped /sys/bus/pci/devices/garbage: not a PCI address (DDDD:BB:DD.F)");
}

// From 128 entries on, scan reads the devices on two threads, one half each
// (topology.cpp, read_entries); devices and warnings must come out as one thread gives them.
TEST_CASE("pci::topology: a large host reads the same on two threads", "[pci][topology]") {
    TempRoot tmp;
    std::vector<std::string> expected;
    for (int bus = 1; bus <= 150; ++bus) {
        const std::string address = fmt::format("0000:{:02x}:00.0", bus);
        if (bus == 7 || bus == 140) {
            // One broken entry in each half.
            tmp.relative_symlink("/sys/bus/pci/devices/" + address,
                                 "/sys/devices/nowhere/" + address);
            continue;
        }
        add(tmp, address.c_str());
        expected.push_back(address);
    }
    const pt::host::Root root(tmp.path());
    const auto topology = pt::pci::scan(root, nullptr);
    CHECK(addresses(topology) == expected);
    REQUIRE(topology.warnings.size() == 2);
    CHECK_THAT(topology.warnings[0],
               Catch::StartsWith("skipped /sys/bus/pci/devices/0000:07:00.0"));
    CHECK_THAT(topology.warnings[1],
               Catch::StartsWith("skipped /sys/bus/pci/devices/0000:8c:00.0"));
    for (const auto& dev : topology.devices) {
        CHECK(dev.vendor == 0x10de);
    }
}
