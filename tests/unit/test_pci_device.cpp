// SPDX-License-Identifier: MIT
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/pci/device.hpp"
#include "pt/pci/topology.hpp"
#include "support/catch.hpp"
#include "support/devices.hpp"
#include "support/temp_root.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

using pt::pci::Address;
using pt::pci::Device;
using pt::test::addr;
using pt::test::DeviceSpec;
using pt::test::formatted;
using pt::test::TempRoot;

namespace {

// A workstation: a GPU with its audio and USB functions behind a root port, an SR-IOV NIC, an
// Intel VMD controller with an NVMe drive behind it.
void build_host(TempRoot& tmp) {
    DeviceSpec port;
    port.address = "0000:00:01.0";
    port.vendor = "8086";
    port.device = "1901";
    port.class_code = "060400";
    port.subsystem_vendor = "1043";
    port.subsystem_device = "8694";
    port.revision = "07";
    port.driver = "pcieport";
    port.iommu_group = 1;
    port.attrs = {{"reset_method", "pm\n"}, {"reset", ""}};
    tmp.add_device(port);

    DeviceSpec gpu;
    gpu.address = "0000:01:00.0";
    gpu.parent = "0000:00:01.0";
    gpu.driver = "vfio-pci";
    gpu.iommu_group = 14;
    gpu.attrs = {{"boot_vga", "1\n"},
                 {"reset_method", "flr bus\n"},
                 {"reset", ""},
                 {"driver_override", "vfio-pci\n"},
                 {"current_link_speed", "8.0 GT/s PCIe\n"},
                 {"current_link_width", "16\n"},
                 {"max_link_speed", "16.0 GT/s PCIe\n"},
                 {"max_link_width", "16\n"},
                 {"numa_node", "-1\n"}};
    tmp.add_device(gpu);

    DeviceSpec audio;
    audio.address = "0000:01:00.1";
    audio.parent = "0000:00:01.0";
    audio.device = "1aef";
    audio.class_code = "040300";
    audio.driver = "snd_hda_intel";
    audio.iommu_group = 14;
    audio.attrs = {{"reset", ""}, {"numa_node", "0\n"}, {"current_link_speed", "Unknown\n"}};
    tmp.add_device(audio);

    DeviceSpec usb;
    usb.address = "0000:01:00.2";
    usb.parent = "0000:00:01.0";
    usb.device = "1aec";
    usb.class_code = "0c0330";
    usb.subsystem_vendor = "";
    usb.subsystem_device = "";
    usb.revision = "zz";
    usb.iommu_group = 14;
    tmp.add_device(usb);

    DeviceSpec nic_port;
    nic_port.address = "0000:00:1c.0";
    nic_port.vendor = "8086";
    nic_port.device = "a110";
    nic_port.class_code = "060400";
    nic_port.driver = "pcieport";
    nic_port.iommu_group = 2;
    tmp.add_device(nic_port);

    DeviceSpec pf;
    pf.address = "0000:02:00.0";
    pf.parent = "0000:00:1c.0";
    pf.vendor = "8086";
    pf.device = "1521";
    pf.class_code = "020000";
    pf.driver = "igb";
    pf.iommu_group = 3;
    pf.attrs = {{"sriov_totalvfs", "7\n"}, {"sriov_numvfs", "3\n"}};
    const std::string pf_dir = tmp.add_device(pf);
    const std::vector<std::pair<std::string, std::string>> vfs = {
        {"virtfn0", "0000:02:10.0"}, {"virtfn1", "0000:02:10.4"}, {"virtfn10", "0000:02:11.0"}};
    for (const auto& [link, vf_address] : vfs) {
        DeviceSpec vf;
        vf.address = vf_address;
        vf.parent = "0000:00:1c.0";
        vf.vendor = "8086";
        vf.device = "1520";
        vf.class_code = "020000";
        vf.iommu_group = 4;
        const std::string vf_dir = tmp.add_device(vf);
        tmp.relative_symlink(vf_dir + "/physfn", pf_dir);
        tmp.relative_symlink(pf_dir + "/" + link, vf_dir);
    }

    DeviceSpec vmd;
    vmd.address = "0000:00:0e.0";
    vmd.vendor = "8086";
    vmd.device = "467f";
    vmd.class_code = "010400";
    vmd.driver = "vmd";
    vmd.iommu_group = 5;
    tmp.add_device(vmd);

    DeviceSpec vmd_port;
    vmd_port.address = "10000:e0:06.0";
    vmd_port.parent = "0000:00:0e.0";
    vmd_port.host_bridge = "pci10000:e0";
    vmd_port.vendor = "8086";
    vmd_port.device = "464d";
    vmd_port.class_code = "060400";
    vmd_port.driver = "pcieport";
    tmp.add_device(vmd_port);

    DeviceSpec nvme;
    nvme.address = "10000:e1:00.0";
    nvme.parent = "10000:e0:06.0";
    nvme.vendor = "144d";
    nvme.device = "a80a";
    nvme.class_code = "010802";
    nvme.driver = "nvme";
    tmp.add_device(nvme);
}

} // namespace

TEST_CASE("pci::read_device reads every field", "[pci][device]") {
    TempRoot tmp;
    build_host(tmp);
    const pt::host::Root root(tmp.path());

    SECTION("a GPU behind a root port") {
        const auto dev = pt::pci::read_device(root, addr("0000:01:00.0"));
        REQUIRE(dev.has_value());
        CHECK(dev->address == addr("0000:01:00.0"));
        CHECK(dev->vendor == 0x10de);
        CHECK(dev->device == 0x2204);
        CHECK(dev->subsystem_vendor == std::optional<std::uint16_t>(0x1458));
        CHECK(dev->subsystem_device == std::optional<std::uint16_t>(0x403b));
        CHECK(dev->class_code == 0x030000);
        CHECK(dev->revision == std::optional<std::uint8_t>(0xa1));
        CHECK(dev->driver == std::optional<std::string>("vfio-pci"));
        CHECK(dev->driver_override == std::optional<std::string>("vfio-pci"));
        CHECK(dev->iommu_group == std::optional<int>(14));
        CHECK(dev->boot_vga == std::optional<bool>(true));
        CHECK(dev->reset_methods == std::optional<std::vector<std::string>>({"flr", "bus"}));
        CHECK(dev->link.current_speed == std::optional<std::string>("8.0 GT/s"));
        CHECK(dev->link.current_width == std::optional<long>(16));
        CHECK(dev->link.max_speed == std::optional<std::string>("16.0 GT/s"));
        CHECK(dev->link.max_width == std::optional<long>(16));
        CHECK(dev->numa_node == std::optional<long>(-1));
        CHECK(dev->parent == std::optional<Address>(addr("0000:00:01.0")));
        CHECK_FALSE(dev->physfn.has_value());
        CHECK(dev->virtfns.empty());
        CHECK(dev->sysfs_path == "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0");
        CHECK(dev->is_display());
        CHECK_FALSE(dev->is_bridge());
        CHECK_FALSE(dev->names.vendor.has_value());
    }
    SECTION("a function without boot_vga, reset_method or driver_override") {
        const auto dev = pt::pci::read_device(root, addr("0000:01:00.1"));
        REQUIRE(dev.has_value());
        CHECK(dev->device == 0x1aef);
        CHECK(dev->class_code == 0x040300);
        CHECK(dev->driver == std::optional<std::string>("snd_hda_intel"));
        CHECK_FALSE(dev->driver_override.has_value());
        CHECK_FALSE(dev->boot_vga.has_value());
        // `reset` without `reset_method`: a kernel before 5.15, methods unknown.
        CHECK_FALSE(dev->reset_methods.has_value());
        CHECK_FALSE(dev->link.current_speed.has_value());
        CHECK_FALSE(dev->link.max_speed.has_value());
        CHECK_FALSE(dev->link.current_width.has_value());
        CHECK(dev->numa_node == std::optional<long>(0));
        CHECK(dev->parent == std::optional<Address>(addr("0000:00:01.0")));
        CHECK_FALSE(dev->is_display());
    }
    SECTION("an unbound function without reset, subsystem or a valid revision") {
        const auto dev = pt::pci::read_device(root, addr("0000:01:00.2"));
        REQUIRE(dev.has_value());
        CHECK_FALSE(dev->driver.has_value());
        CHECK(dev->iommu_group == std::optional<int>(14));
        // Neither reset_method nor reset: the device cannot be reset at all.
        CHECK(dev->reset_methods
              == std::optional<std::vector<std::string>>(std::vector<std::string>{}));
        CHECK_FALSE(dev->subsystem_vendor.has_value());
        CHECK_FALSE(dev->subsystem_device.has_value());
        CHECK_FALSE(dev->revision.has_value());
        CHECK_FALSE(dev->numa_node.has_value());
    }
    SECTION("an empty reset_method means every method is disabled") {
        tmp.write(tmp.device_dir("0000:01:00.1") + "/reset_method", "\n");
        const auto dev = pt::pci::read_device(root, addr("0000:01:00.1"));
        REQUIRE(dev.has_value());
        REQUIRE(dev->reset_methods.has_value());
        CHECK(dev->reset_methods->empty());
    }
    SECTION("a root port has no parent") {
        const auto dev = pt::pci::read_device(root, addr("0000:00:01.0"));
        REQUIRE(dev.has_value());
        CHECK(dev->is_bridge());
        CHECK_FALSE(dev->parent.has_value());
        CHECK(dev->driver == std::optional<std::string>("pcieport"));
        CHECK(dev->iommu_group == std::optional<int>(1));
        CHECK(dev->revision == std::optional<std::uint8_t>(0x07));
        CHECK(dev->reset_methods == std::optional<std::vector<std::string>>({"pm"}));
        CHECK(dev->sysfs_path == "/sys/devices/pci0000:00/0000:00:01.0");
    }
    SECTION("devices behind Intel VMD") {
        const auto port = pt::pci::read_device(root, addr("10000:e0:06.0"));
        REQUIRE(port.has_value());
        CHECK(port->parent == std::optional<Address>(addr("0000:00:0e.0")));
        CHECK_FALSE(port->iommu_group.has_value());
        CHECK(port->sysfs_path == "/sys/devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:06.0");

        const auto nvme = pt::pci::read_device(root, addr("10000:e1:00.0"));
        REQUIRE(nvme.has_value());
        CHECK(nvme->address.domain == 0x10000);
        CHECK(nvme->vendor == 0x144d);
        CHECK(nvme->class_code == 0x010802);
        CHECK(nvme->parent == std::optional<Address>(addr("10000:e0:06.0")));
    }
    SECTION("SR-IOV: a physical function lists its virtual functions in address order") {
        const auto pf = pt::pci::read_device(root, addr("0000:02:00.0"));
        REQUIRE(pf.has_value());
        CHECK(formatted(pf->virtfns)
              == std::vector<std::string>{"0000:02:10.0", "0000:02:10.4", "0000:02:11.0"});
        CHECK_FALSE(pf->physfn.has_value());
        CHECK(pf->parent == std::optional<Address>(addr("0000:00:1c.0")));

        const auto vf = pt::pci::read_device(root, addr("0000:02:10.4"));
        REQUIRE(vf.has_value());
        CHECK(vf->physfn == std::optional<Address>(addr("0000:02:00.0")));
        CHECK(vf->virtfns.empty());
        CHECK(vf->iommu_group == std::optional<int>(4));
        CHECK(vf->parent == std::optional<Address>(addr("0000:00:1c.0")));
    }
    SECTION("an absent device is nullopt") {
        CHECK_FALSE(pt::pci::read_device(root, addr("0000:05:00.0")).has_value());
    }
}

TEST_CASE("pci::read_device rejects a device whose identity cannot be read", "[pci][device]") {
    TempRoot tmp;
    DeviceSpec spec;
    spec.address = "0000:03:00.0";

    SECTION("garbled vendor") {
        spec.vendor = "zz";
        tmp.add_device(spec);
        const pt::host::Root root(tmp.path());
        CHECK_THROWS_AS(pt::pci::read_device(root, addr("0000:03:00.0")), pt::Error);
        CHECK_THROWS_WITH(pt::pci::read_device(root, addr("0000:03:00.0")),
                          Catch::Contains("vendor") && Catch::Contains("0xzz"));
    }
    SECTION("missing class") {
        spec.class_code = "";
        tmp.add_device(spec);
        const pt::host::Root root(tmp.path());
        CHECK_THROWS_WITH(pt::pci::read_device(root, addr("0000:03:00.0")),
                          Catch::Contains("class") && Catch::Contains("missing"));
    }
    SECTION("missing device") {
        spec.device = "";
        tmp.add_device(spec);
        const pt::host::Root root(tmp.path());
        CHECK_THROWS_AS(pt::pci::read_device(root, addr("0000:03:00.0")), pt::Error);
    }
}

TEST_CASE("pci::scan", "[pci][topology]") {
    TempRoot tmp;
    build_host(tmp);

    SECTION("every device, sorted by address, with nothing to warn about") {
        const pt::host::Root root(tmp.path());
        const auto topology = pt::pci::scan(root, nullptr);
        CHECK(topology.warnings.empty());
        std::vector<Address> addresses;
        for (const auto& dev : topology.devices) {
            addresses.push_back(dev.address);
        }
        CHECK(formatted(addresses)
              == std::vector<std::string>{"0000:00:01.0",
                                          "0000:00:0e.0",
                                          "0000:00:1c.0",
                                          "0000:01:00.0",
                                          "0000:01:00.1",
                                          "0000:01:00.2",
                                          "0000:02:00.0",
                                          "0000:02:10.0",
                                          "0000:02:10.4",
                                          "0000:02:11.0",
                                          "10000:e0:06.0",
                                          "10000:e1:00.0"});
        const auto* gpu = topology.find(addr("0000:01:00.0"));
        REQUIRE(gpu != nullptr);
        CHECK(gpu->address == addr("0000:01:00.0"));
        CHECK(gpu->driver == std::optional<std::string>("vfio-pci"));
        const auto* nvme = topology.find(addr("10000:e1:00.0"));
        REQUIRE(nvme != nullptr);
        CHECK(nvme->vendor == 0x144d);
        CHECK(topology.find(addr("0000:01:00.3")) == nullptr);
        CHECK(topology.find(addr("ffff:ff:1f.7")) == nullptr);
        CHECK(topology.find(addr("0000:00:00.0")) == nullptr);
    }
    SECTION("a device with a garbled vendor is skipped with a warning") {
        DeviceSpec bad;
        bad.address = "0000:03:00.0";
        bad.vendor = "zz";
        tmp.add_device(bad);
        DeviceSpec after;
        after.address = "0000:04:00.0";
        tmp.add_device(after);
        const pt::host::Root root(tmp.path());
        const auto topology = pt::pci::scan(root, nullptr);
        CHECK(topology.devices.size() == 13);
        CHECK(topology.find(addr("0000:03:00.0")) == nullptr);
        CHECK(topology.find(addr("0000:04:00.0")) != nullptr);
        REQUIRE(topology.warnings.size() == 1);
        CHECK_THAT(topology.warnings[0], Catch::Contains("0000:03:00.0"));
        CHECK_THAT(topology.warnings[0], Catch::Contains("vendor"));
    }
    SECTION("an entry that is not a PCI address is skipped with a warning") {
        tmp.mkdir("/sys/bus/pci/devices/bogus");
        const pt::host::Root root(tmp.path());
        const auto topology = pt::pci::scan(root, nullptr);
        CHECK(topology.devices.size() == 12);
        REQUIRE(topology.warnings.size() == 1);
        CHECK_THAT(topology.warnings[0], Catch::Contains("bogus"));
    }
    SECTION("a link that leads nowhere is skipped with a warning") {
        tmp.symlink("/sys/bus/pci/devices/0000:09:00.0",
                    "../../../devices/pci0000:09/0000:09:00.0");
        const pt::host::Root root(tmp.path());
        const auto topology = pt::pci::scan(root, nullptr);
        CHECK(topology.devices.size() == 12);
        REQUIRE(topology.warnings.size() == 1);
        CHECK_THAT(topology.warnings[0], Catch::Contains("0000:09:00.0"));
    }
    SECTION("a root without PCI devices") {
        TempRoot empty;
        const pt::host::Root root(empty.path());
        const auto topology = pt::pci::scan(root, nullptr);
        CHECK(topology.devices.empty());
        CHECK(topology.warnings.empty());
        CHECK(topology.find(addr("0000:00:00.0")) == nullptr);
    }
}

TEST_CASE("pci::scan reads a device list whose links are absolute", "[pci][topology][escape]") {
    // Some snapshot tools store absolute links; they must be followed inside the root.
    TempRoot tmp;
    DeviceSpec gpu;
    gpu.address = "0000:01:00.0";
    const std::string dir = tmp.add_device(gpu);
    std::filesystem::remove(tmp.host("/sys/bus/pci/devices/0000:01:00.0"));
    tmp.symlink("/sys/bus/pci/devices/0000:01:00.0", dir);
    tmp.mkdir("/sys/bus/pci/drivers/nvidia");
    tmp.symlink(dir + "/driver", "/sys/bus/pci/drivers/nvidia");
    const pt::host::Root root(tmp.path());
    const auto topology = pt::pci::scan(root, nullptr);
    REQUIRE(topology.devices.size() == 1);
    CHECK(topology.devices[0].sysfs_path == dir);
    CHECK(topology.devices[0].driver == std::optional<std::string>("nvidia"));
    CHECK(topology.devices[0].vendor == 0x10de);
}
