// SPDX-License-Identifier: MIT
#include "pt/host/root.hpp"
#include "pt/pci/device.hpp"
#include "pt/pci/names.hpp"
#include "pt/pci/topology.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <optional>
#include <string>
#include <vector>

using pt::pci::NameDb;
using pt::test::TempRoot;

namespace {

constexpr const char* k_ids_path = "/usr/share/misc/pci.ids";

// A tiny pci.ids in the real file's format. Vendors that every real pci.ids lists (Red Hat 1af4,
// AMD 1002/1022) are deliberately absent, so finding them would prove the real file was read.
constexpr const char* k_small_ids = "# pci.ids for pt's unit tests\n"
                                    "#\n"
                                    "10de  NVIDIA Corporation\n"
                                    "\t2204  GA102 [GeForce RTX 3090]\n"
                                    "\t\t1458 403b  GeForce RTX 3090 GAMING OC 24G\n"
                                    "\t1aef  GA102 High Definition Audio Controller\n"
                                    "1458  Gigabyte Technology Co., Ltd\n"
                                    "8086  Intel Corporation\n"
                                    "\t1901  6th-10th Gen Core Processor PCIe Controller (x16)\n"
                                    "\n"
                                    "C 03  Display controller\n"
                                    "\t00  VGA compatible controller\n"
                                    "\t\t00  VGA controller\n"
                                    "\t02  3D controller\n"
                                    "C 04  Multimedia controller\n"
                                    "\t03  Audio device\n"
                                    "C 0c  Serial bus controller\n"
                                    "\t03  USB controller\n";

using Name = std::optional<std::string>;

} // namespace

TEST_CASE("pci::NameDb looks names up in the root's pci.ids", "[pci][names]") {
    TempRoot tmp;
    tmp.write(k_ids_path, k_small_ids);
    const pt::host::Root root(tmp.path());
    NameDb names(root, true);

    SECTION("vendor") {
        CHECK(names.vendor(0x10de) == Name("NVIDIA Corporation"));
        CHECK(names.vendor(0x8086) == Name("Intel Corporation"));
        CHECK(names.vendor(0x1234) == Name());
    }
    SECTION("device") {
        CHECK(names.device(0x10de, 0x2204) == Name("GA102 [GeForce RTX 3090]"));
        CHECK(names.device(0x10de, 0x1aef) == Name("GA102 High Definition Audio Controller"));
        CHECK(names.device(0x10de, 0xffff) == Name());
        CHECK(names.device(0x8086, 0x2204) == Name());
    }
    SECTION("class_name") {
        CHECK(names.class_name(0x030000) == Name("VGA compatible controller"));
        CHECK(names.class_name(0x030200) == Name("3D controller"));
        CHECK(names.class_name(0x040300) == Name("Audio device"));
        CHECK(names.class_name(0x0c0330) == Name("USB controller"));
        CHECK(names.class_name(0xff0000) == Name());
        CHECK(names.class_name(0x020000) == Name());
    }
    SECTION("subsystem") {
        const auto name = names.subsystem(0x10de, 0x2204, 0x1458, 0x403b);
        REQUIRE(name.has_value());
        CHECK_THAT(*name, Catch::Contains("GeForce RTX 3090 GAMING OC 24G"));
        // Without an entry for the subsystem, lspci's form: the subsystem vendor and the number.
        CHECK(names.subsystem(0x10de, 0x2204, 0x1458, 0x1234)
              == Name("Gigabyte Technology Co., Ltd Device 1234"));
        // Neither an entry nor a known subsystem vendor.
        CHECK(names.subsystem(0x10de, 0x2204, 0x1234, 0x5678) == Name());
    }
    SECTION("the real pci.ids is never consulted") {
        CHECK(names.vendor(0x1af4) == Name());
        CHECK(names.vendor(0x1002) == Name());
        CHECK(names.device(0x1af4, 0x1000) == Name());
        CHECK(names.class_name(0x010802) == Name());
    }
    SECTION("name() fills a device's names") {
        pt::pci::Device dev;
        dev.vendor = 0x10de;
        dev.device = 0x2204;
        dev.class_code = 0x030000;
        dev.subsystem_vendor = 0x1458;
        dev.subsystem_device = 0x403b;
        names.name(dev);
        CHECK(dev.names.vendor == Name("NVIDIA Corporation"));
        CHECK(dev.names.device == Name("GA102 [GeForce RTX 3090]"));
        CHECK(dev.names.class_name == Name("VGA compatible controller"));
        REQUIRE(dev.names.subsystem.has_value());
        CHECK_THAT(*dev.names.subsystem, Catch::Contains("GAMING OC 24G"));
    }
    CHECK_FALSE(names.problem().has_value());
}

// names.hpp: "The subclass name ("VGA compatible controller"), or the base class name when pci.ids
// lists no subclass." libpci appends the class number ("Serial bus controller [0c80]") when only
// the base class is known.
TEST_CASE("pci::NameDb::class_name falls back to the bare base class name", "[pci][names]") {
    TempRoot tmp;
    tmp.write(k_ids_path, k_small_ids);
    const pt::host::Root root(tmp.path());
    NameDb names(root, true);
    CHECK(names.class_name(0x0c8000) == Name("Serial bus controller"));
    CHECK(names.class_name(0x048000) == Name("Multimedia controller"));
}

TEST_CASE("pci::NameDb without a pci.ids", "[pci][names]") {
    TempRoot tmp;
    const pt::host::Root root(tmp.path());
    NameDb names(root, true);
    REQUIRE(names.problem().has_value());
    CHECK_THAT(*names.problem(), Catch::Contains(root.map(k_ids_path).string()));
    // Every real pci.ids knows NVIDIA; nothing may come from the machine the tests run on.
    CHECK(names.vendor(0x10de) == Name());
    CHECK(names.device(0x10de, 0x2204) == Name());
    CHECK(names.class_name(0x030000) == Name());
    CHECK(names.subsystem(0x10de, 0x2204, 0x1458, 0x403b) == Name());
    pt::pci::Device dev;
    dev.vendor = 0x10de;
    names.name(dev);
    CHECK_FALSE(dev.names.vendor.has_value());
}

TEST_CASE("pci::NameDb falls back to this machine's pci.ids", "[pci][names]") {
    TempRoot tmp;
    TempRoot machine;
    machine.write(k_ids_path, k_small_ids);
    const pt::host::Root root(tmp.path());

    SECTION("a root without pci.ids names devices from the fallback, with a note") {
        NameDb names(root, true, machine.host(k_ids_path));
        CHECK_FALSE(names.problem().has_value());
        REQUIRE(names.note().has_value());
        CHECK_THAT(*names.note(), Catch::Contains(root.map(k_ids_path).string()));
        CHECK_THAT(*names.note(), Catch::Contains(machine.host(k_ids_path).string()));
        CHECK(names.vendor(0x10de) == Name("NVIDIA Corporation"));
    }
    SECTION("the root's own pci.ids wins over the fallback") {
        tmp.write(k_ids_path, "10de  Root's own name for NVIDIA\n");
        NameDb names(root, true, machine.host(k_ids_path));
        CHECK_FALSE(names.note().has_value());
        CHECK(names.vendor(0x10de) == Name("Root's own name for NVIDIA"));
    }
    SECTION("a missing fallback leaves the problem as it was") {
        NameDb names(root, true, machine.host("/nope/pci.ids"));
        CHECK_FALSE(names.note().has_value());
        REQUIRE(names.problem().has_value());
        CHECK(names.vendor(0x10de) == Name());
    }
    SECTION("--numeric reads neither") {
        NameDb names(root, false, machine.host(k_ids_path));
        CHECK_FALSE(names.note().has_value());
        CHECK(names.vendor(0x10de) == Name());
    }
}

TEST_CASE("pci::NameDb disabled", "[pci][names]") {
    TempRoot tmp;
    tmp.write(k_ids_path, k_small_ids);
    const pt::host::Root root(tmp.path());
    NameDb names(root, false);
    CHECK_FALSE(names.problem().has_value());
    CHECK(names.vendor(0x10de) == Name());
    CHECK(names.device(0x10de, 0x2204) == Name());
    CHECK(names.class_name(0x030000) == Name());
    CHECK(names.subsystem(0x10de, 0x2204, 0x1458, 0x403b) == Name());
    CHECK_FALSE(names.problem().has_value());

    SECTION("even without a pci.ids there is no problem to report") {
        TempRoot bare;
        const pt::host::Root bare_root(bare.path());
        NameDb off(bare_root, false);
        CHECK_FALSE(off.problem().has_value());
        CHECK(off.vendor(0x10de) == Name());
    }
}

TEST_CASE("pci::NameDb with a malformed pci.ids does not end the process", "[pci][names]") {
    TempRoot tmp;
    SECTION("a bogus line at the top") {
        tmp.write(k_ids_path, std::string("bogus line here\n") + k_small_ids);
    }
    SECTION("a bogus line after valid entries") {
        tmp.write(k_ids_path, std::string(k_small_ids) + "\t\t\tthree tabs deep\n");
    }
    const pt::host::Root root(tmp.path());
    NameDb names(root, true);
    CHECK(names.vendor(0x10de) == Name());
    REQUIRE(names.problem().has_value());
    CHECK_THAT(*names.problem(), Catch::Contains(root.map(k_ids_path).string()));
    CHECK_THAT(*names.problem(), Catch::Contains("Parse error"));
    // Later lookups neither crash nor find anything.
    CHECK(names.device(0x10de, 0x2204) == Name());
    CHECK(names.class_name(0x030000) == Name());
    CHECK(names.subsystem(0x10de, 0x2204, 0x1458, 0x403b) == Name());
    CHECK(names.vendor(0x8086) == Name());
    REQUIRE(names.problem().has_value());
}

// The problem is printed as a one-line warning; libpci's message ends with "\n", which must not
// end up inside it.
TEST_CASE("pci::NameDb::problem for a malformed pci.ids is a single line", "[pci][names]") {
    TempRoot tmp;
    tmp.write(k_ids_path, std::string("bogus line here\n") + k_small_ids);
    const pt::host::Root root(tmp.path());
    NameDb names(root, true);
    CHECK(names.vendor(0x10de) == Name());
    REQUIRE(names.problem().has_value());
    INFO(*names.problem());
    CHECK(names.problem()->find('\n') == std::string::npos);
}

TEST_CASE("pci::scan fills names when a NameDb is given", "[pci][names][topology]") {
    TempRoot tmp;
    tmp.write(k_ids_path, k_small_ids);
    pt::test::DeviceSpec gpu;
    gpu.address = "0000:01:00.0";
    tmp.add_device(gpu);
    pt::test::DeviceSpec unknown;
    unknown.address = "0000:02:00.0";
    unknown.vendor = "1af4";
    unknown.device = "1041";
    unknown.class_code = "020000";
    tmp.add_device(unknown);
    const pt::host::Root root(tmp.path());
    NameDb names(root, true);
    const auto topology = pt::pci::scan(root, &names);
    REQUIRE(topology.devices.size() == 2);
    CHECK(topology.devices[0].names.vendor == Name("NVIDIA Corporation"));
    CHECK(topology.devices[0].names.device == Name("GA102 [GeForce RTX 3090]"));
    CHECK(topology.devices[0].names.class_name == Name("VGA compatible controller"));
    CHECK_FALSE(topology.devices[1].names.vendor.has_value());
    CHECK_FALSE(topology.devices[1].names.device.has_value());
    CHECK_FALSE(topology.devices[1].names.class_name.has_value());
}

// name_all hands libpci only the lines the devices need: the rest of pci.ids is never parsed.
TEST_CASE("pci::NameDb::name_all loads the devices' lines only", "[pci][names]") {
    TempRoot tmp;
    tmp.write(k_ids_path, k_small_ids);
    const pt::host::Root root(tmp.path());
    NameDb names(root, true);
    std::vector<pt::pci::Device> devices(1);
    devices[0].vendor = 0x10de;
    devices[0].device = 0x2204;
    devices[0].class_code = 0x030000;
    devices[0].subsystem_vendor = 0x1458;
    devices[0].subsystem_device = 0x1234;
    names.name_all(devices);
    CHECK(devices[0].names.vendor == Name("NVIDIA Corporation"));
    CHECK(devices[0].names.device == Name("GA102 [GeForce RTX 3090]"));
    CHECK(devices[0].names.class_name == Name("VGA compatible controller"));
    // The subsystem vendor's block is loaded too: lspci's "<vendor> Device <id>" form needs it.
    CHECK(devices[0].names.subsystem == Name("Gigabyte Technology Co., Ltd Device 1234"));
    // Every class is kept; a vendor, a device or a subsystem no device names is not.
    CHECK(names.class_name(0x040300) == Name("Audio device"));
    CHECK(names.vendor(0x8086) == Name());
    CHECK(names.device(0x10de, 0x1aef) == Name());
    CHECK(names.subsystem(0x10de, 0x2204, 0x1458, 0x403b)
          == Name("Gigabyte Technology Co., Ltd Device 403b"));
    CHECK_FALSE(names.problem().has_value());

    SECTION("a lookup before name_all loads every vendor") {
        NameDb whole(root, true);
        CHECK(whole.vendor(0x8086) == Name("Intel Corporation"));
        whole.name_all(devices);
        CHECK(devices[0].names.vendor == Name("NVIDIA Corporation"));
        CHECK(whole.vendor(0x8086) == Name("Intel Corporation"));
    }
}

// libpci is handed a subset without comments; its "Parse error at FILE, line N" must still name
// the line of the real file, and a malformed top-level line is kept so that libpci sees it.
TEST_CASE("pci::NameDb names the real line of a parse error", "[pci][names]") {
    TempRoot tmp;
    tmp.write(k_ids_path, std::string(k_small_ids) + "# a comment\n\n8086x  not a vendor line\n");
    const pt::host::Root root(tmp.path());
    NameDb names(root, true);
    std::vector<pt::pci::Device> devices(1);
    devices[0].vendor = 0x10de;
    names.name_all(devices);
    CHECK_FALSE(devices[0].names.vendor.has_value());
    REQUIRE(names.problem().has_value());
    CHECK_THAT(*names.problem(),
               Catch::Contains(root.map(k_ids_path).string() + " cannot be parsed"));
    CHECK_THAT(*names.problem(), Catch::Contains("Parse error at line 21"));
    CHECK_THAT(*names.problem(), !Catch::Contains("/proc/self/fd"));
}

// pci.ids is read through the root like every other file; a link to outside is re-rooted (and
// here leads nowhere), never followed to the machine's file.
TEST_CASE("pci::NameDb reads pci.ids inside the root", "[pci][names][escape]") {
    TempRoot tmp;
    TempRoot outside;
    outside.write(k_ids_path, k_small_ids);
    tmp.symlink(k_ids_path, outside.host(k_ids_path).string());
    const pt::host::Root root(tmp.path());
    NameDb names(root, true);
    CHECK(names.vendor(0x10de) == Name());
    REQUIRE(names.problem().has_value());
    CHECK_THAT(*names.problem(), Catch::Contains("does not exist"));
}
