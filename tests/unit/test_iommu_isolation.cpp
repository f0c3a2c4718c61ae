// SPDX-License-Identifier: MIT
#include "pt/iommu/isolation.hpp"
#include "pt/pci/topology.hpp"
#include "support/catch.hpp"
#include "support/devices.hpp"

#include <optional>
#include <string>
#include <vector>

using pt::iommu::Danger;
using pt::iommu::judge;
using pt::test::addr;
using pt::test::make_device;

namespace {

std::vector<std::string> foreign_addresses(const pt::iommu::Verdict& verdict) {
    std::vector<std::string> out;
    for (const auto& f : verdict.foreign) {
        out.push_back(pt::pci::format(f.address));
    }
    return out;
}

std::vector<std::string> blocker_addresses(const pt::iommu::Verdict& verdict) {
    std::vector<std::string> out;
    for (const auto& b : verdict.blockers) {
        out.push_back(pt::pci::format(b.address));
    }
    return out;
}

const pt::iommu::Foreign* find_foreign(const pt::iommu::Verdict& verdict, const char* address) {
    for (const auto& f : verdict.foreign) {
        if (f.address == addr(address)) {
            return &f;
        }
    }
    return nullptr;
}

} // namespace

TEST_CASE("iommu::judge: a GPU with its own functions is isolated", "[iommu][isolation]") {
    const std::vector<pt::pci::Device> group = {
        make_device("0000:00:01.0", 0x060400, "pcieport", 0x8086, 0x1901),
        make_device("0000:01:00.0", 0x030000, "vfio-pci"),
        make_device("0000:01:00.1", 0x040300, "vfio-pci", 0x10de, 0x1aef),
        make_device("0000:01:00.2", 0x0c0330, "vfio-pci", 0x10de, 0x1aec),
        make_device("0000:01:00.3", 0x0c8000, std::nullopt, 0x10de, 0x1aed),
    };

    SECTION("subject: the GPU") {
        const auto verdict = judge(group, addr("0000:01:00.0"));
        CHECK(verdict.subject == addr("0000:01:00.0"));
        CHECK(verdict.isolated);
        CHECK(verdict.viable);
        CHECK(verdict.foreign.empty());
        CHECK(verdict.blockers.empty());
    }
    SECTION("subject: the audio function judges the same slot") {
        const auto verdict = judge(group, addr("0000:01:00.1"));
        CHECK(verdict.subject == addr("0000:01:00.1"));
        CHECK(verdict.isolated);
        CHECK(verdict.viable);
    }
    SECTION("host drivers on the GPU's own functions block, but do not make it foreign") {
        auto bound = group;
        bound[1].driver = "nvidia";
        bound[2].driver = "snd_hda_intel";
        const auto verdict = judge(bound, addr("0000:01:00.0"));
        CHECK(verdict.isolated);
        CHECK_FALSE(verdict.viable);
        CHECK(blocker_addresses(verdict)
              == std::vector<std::string>{"0000:01:00.0", "0000:01:00.1"});
        REQUIRE(verdict.blockers.size() == 2);
        CHECK(verdict.blockers[0].driver == "nvidia");
        CHECK_FALSE(verdict.blockers[0].bridge);
        CHECK(verdict.blockers[1].driver == "snd_hda_intel");
    }
}

TEST_CASE("iommu::judge: chipset devices in the group are foreign", "[iommu][isolation]") {
    const std::vector<pt::pci::Device> group = {
        make_device("0000:00:01.0", 0x060400, "pcieport", 0x8086, 0x1901),
        make_device("0000:00:14.0", 0x0c0330, "xhci_hcd", 0x8086, 0xa36d),
        make_device("0000:00:17.0", 0x010601, "ahci", 0x8086, 0xa352),
        make_device("0000:00:1c.0", 0x060400, std::nullopt, 0x8086, 0xa338),
        make_device("0000:00:1f.4", 0x0c0500, "i801_smbus", 0x8086, 0xa323),
        make_device("0000:00:1f.6", 0x020000, "e1000e", 0x8086, 0x15bc),
        make_device("0000:01:00.0", 0x030000, "vfio-pci"),
        make_device("0000:01:00.1", 0x040300, "vfio-pci", 0x10de, 0x1aef),
    };
    const auto verdict = judge(group, addr("0000:01:00.0"));
    CHECK_FALSE(verdict.isolated);
    CHECK_FALSE(verdict.viable);
    // Bridges are never foreign.
    CHECK(foreign_addresses(verdict)
          == std::vector<std::string>{
              "0000:00:14.0", "0000:00:17.0", "0000:00:1f.4", "0000:00:1f.6"});

    const auto* usb = find_foreign(verdict, "0000:00:14.0");
    REQUIRE(usb != nullptr);
    CHECK(usb->danger == Danger::usb);
    CHECK(usb->class_code == 0x0c0330);
    CHECK(usb->driver == std::optional<std::string>("xhci_hcd"));
    const auto* sata = find_foreign(verdict, "0000:00:17.0");
    REQUIRE(sata != nullptr);
    CHECK(sata->danger == Danger::storage);
    CHECK(sata->driver == std::optional<std::string>("ahci"));
    const auto* smbus = find_foreign(verdict, "0000:00:1f.4");
    REQUIRE(smbus != nullptr);
    CHECK(smbus->danger == Danger::none);
    const auto* nic = find_foreign(verdict, "0000:00:1f.6");
    REQUIRE(nic != nullptr);
    CHECK(nic->danger == Danger::network);

    CHECK(blocker_addresses(verdict)
          == std::vector<std::string>{
              "0000:00:14.0", "0000:00:17.0", "0000:00:1f.4", "0000:00:1f.6"});
    for (const auto& blocker : verdict.blockers) {
        CHECK_FALSE(blocker.bridge);
    }

    SECTION("foreign devices handed to vfio-pci make the group viable, not isolated") {
        auto claimed = group;
        for (auto& dev : claimed) {
            if (!dev.is_bridge()) {
                dev.driver = "vfio-pci";
            }
        }
        const auto claimed_verdict = judge(claimed, addr("0000:01:00.0"));
        CHECK_FALSE(claimed_verdict.isolated);
        CHECK(claimed_verdict.viable);
        CHECK(claimed_verdict.foreign.size() == 4);
        const auto* claimed_usb = find_foreign(claimed_verdict, "0000:00:14.0");
        REQUIRE(claimed_usb != nullptr);
        CHECK(claimed_usb->driver == std::optional<std::string>("vfio-pci"));
        CHECK(claimed_usb->danger == Danger::usb);
    }
}

TEST_CASE("iommu::judge: viability by driver", "[iommu][isolation]") {
    SECTION("vfio-pci, pci-stub, vendor variants and unbound endpoints are viable") {
        const std::vector<pt::pci::Device> group = {
            make_device("0000:00:01.0", 0x060400, "pcieport"),
            make_device("0000:00:01.1", 0x060400, std::nullopt),
            make_device("0000:01:00.0", 0x030200, "nvgrace-gpu-vfio-pci"),
            make_device("0000:01:00.1", 0x020000, "mlx5_vfio_pci"),
            make_device("0000:01:00.2", 0x040300, "pci-stub"),
            make_device("0000:01:00.3", 0x0c0330, std::nullopt),
            make_device("0000:01:00.4", 0x010802, "vfio-pci"),
        };
        const auto verdict = judge(group, addr("0000:01:00.0"));
        CHECK(verdict.viable);
        CHECK(verdict.isolated);
        CHECK(verdict.blockers.empty());
    }
    SECTION("a bridge on another driver is a blocker marked bridge") {
        const std::vector<pt::pci::Device> group = {
            make_device("0000:00:01.0", 0x060400, "shpchp"),
            make_device("0000:01:00.0", 0x030000, "vfio-pci"),
        };
        const auto verdict = judge(group, addr("0000:01:00.0"));
        CHECK_FALSE(verdict.viable);
        CHECK(verdict.isolated);
        CHECK(verdict.foreign.empty());
        REQUIRE(verdict.blockers.size() == 1);
        CHECK(verdict.blockers[0].address == addr("0000:00:01.0"));
        CHECK(verdict.blockers[0].driver == "shpchp");
        CHECK(verdict.blockers[0].bridge);
    }
    SECTION("a bridge on vfio-pci is not on pcieport either") {
        const std::vector<pt::pci::Device> group = {
            make_device("0000:00:01.0", 0x060400, "vfio-pci"),
            make_device("0000:01:00.0", 0x030000, "vfio-pci"),
        };
        const auto verdict = judge(group, addr("0000:01:00.0"));
        CHECK_FALSE(verdict.viable);
        REQUIRE(verdict.blockers.size() == 1);
        CHECK(verdict.blockers[0].bridge);
    }
    SECTION("the subject alone") {
        const auto verdict =
            judge({make_device("0000:01:00.0", 0x030000, "nouveau")}, addr("0000:01:00.0"));
        CHECK(verdict.isolated);
        CHECK_FALSE(verdict.viable);
        REQUIRE(verdict.blockers.size() == 1);
        CHECK(verdict.blockers[0].driver == "nouveau");
    }
}

TEST_CASE("iommu::judge: a second GPU in the group is display danger", "[iommu][isolation]") {
    const std::vector<pt::pci::Device> group = {
        make_device("0000:00:01.0", 0x060400, "pcieport"),
        make_device("0000:00:01.1", 0x060400, "pcieport"),
        make_device("0000:01:00.0", 0x030000, "vfio-pci"),
        make_device("0000:01:00.1", 0x040300, "vfio-pci", 0x10de, 0x1aef),
        make_device("0000:02:00.0", 0x030000, "nvidia", 0x10de, 0x2484),
        make_device("0000:02:00.1", 0x040300, "snd_hda_intel", 0x10de, 0x228b),
        make_device("0000:02:00.2", 0x0c0330, "xhci_hcd", 0x10de, 0x1ada),
        make_device("0000:02:00.3", 0x0c8000, "nvidia-gpu", 0x10de, 0x1adb),
    };
    const auto verdict = judge(group, addr("0000:01:00.0"));
    CHECK_FALSE(verdict.isolated);
    CHECK(foreign_addresses(verdict)
          == std::vector<std::string>{
              "0000:02:00.0", "0000:02:00.1", "0000:02:00.2", "0000:02:00.3"});
    for (const auto& f : verdict.foreign) {
        INFO(pt::pci::format(f.address));
        CHECK(f.danger == Danger::display);
    }
    CHECK(blocker_addresses(verdict)
          == std::vector<std::string>{
              "0000:02:00.0", "0000:02:00.1", "0000:02:00.2", "0000:02:00.3"});

    SECTION("judged from the second GPU, the first is the foreign one") {
        const auto other = judge(group, addr("0000:02:00.0"));
        CHECK(foreign_addresses(other) == std::vector<std::string>{"0000:01:00.0", "0000:01:00.1"});
        for (const auto& f : other.foreign) {
            CHECK(f.danger == Danger::display);
        }
    }
}

TEST_CASE("iommu::is_vfio_safe_endpoint_driver", "[iommu][isolation]") {
    for (const char* driver :
         {"vfio-pci", "pci-stub", "mlx5_vfio_pci", "nvgrace-gpu-vfio-pci", "hisi_acc_vfio_pci"}) {
        INFO(driver);
        CHECK(pt::iommu::is_vfio_safe_endpoint_driver(driver));
    }
    for (const char* driver :
         {"nvidia", "nouveau", "amdgpu", "snd_hda_intel", "xhci_hcd", "pcieport", "vfio", ""}) {
        INFO(driver);
        CHECK_FALSE(pt::iommu::is_vfio_safe_endpoint_driver(driver));
    }
}

TEST_CASE("iommu::is_vfio_safe_bridge_driver", "[iommu][isolation]") {
    CHECK(pt::iommu::is_vfio_safe_bridge_driver("pcieport"));
    CHECK_FALSE(pt::iommu::is_vfio_safe_bridge_driver("shpchp"));
    CHECK_FALSE(pt::iommu::is_vfio_safe_bridge_driver("vfio-pci"));
    CHECK_FALSE(pt::iommu::is_vfio_safe_bridge_driver(""));
}

TEST_CASE("iommu::danger_of", "[iommu][isolation]") {
    CHECK(pt::iommu::danger_of(0x010601) == Danger::storage);
    CHECK(pt::iommu::danger_of(0x010802) == Danger::storage);
    CHECK(pt::iommu::danger_of(0x020000) == Danger::network);
    CHECK(pt::iommu::danger_of(0x028000) == Danger::network);
    CHECK(pt::iommu::danger_of(0x0c0330) == Danger::usb);
    CHECK(pt::iommu::danger_of(0x030000) == Danger::display);
    CHECK(pt::iommu::danger_of(0x030200) == Danger::display);
    CHECK(pt::iommu::danger_of(0x040300) == Danger::none);
    CHECK(pt::iommu::danger_of(0x0c0500) == Danger::none);
    CHECK(pt::iommu::danger_of(0x0c8000) == Danger::none);
}

namespace {

pt::pci::Device below(pt::pci::Device dev, const char* parent) {
    dev.parent = addr(parent);
    return dev;
}

pt::pci::Device port(const char* address, std::uint16_t vendor = 0x8086) {
    return make_device(address, 0x060400, "pcieport", vendor, 0x1901);
}

} // namespace

TEST_CASE("iommu::judge tells why a group is shared from the topology", "[iommu][isolation]") {
    using pt::iommu::Sharing;
    SECTION("two cards behind two functions of one CPU root port device (Z370 x8/x8)") {
        const std::vector<pt::pci::Device> members = {
            port("0000:00:01.0"),
            port("0000:00:01.1"),
            below(make_device("0000:01:00.0", 0x030000, "nvidia"), "0000:00:01.0"),
            below(make_device("0000:01:00.1", 0x040300, "snd_hda_intel"), "0000:00:01.0"),
            below(make_device("0000:02:00.0", 0x030000, "vfio-pci"), "0000:00:01.1"),
            below(make_device("0000:02:00.1", 0x040300, "vfio-pci"), "0000:00:01.1"),
        };
        const auto v = judge(members, addr("0000:02:00.0"));
        CHECK_FALSE(v.isolated);
        CHECK(v.sharing == Sharing::cpu_root_ports);
        CHECK(v.root_port == std::optional(addr("0000:00:01.1")));
        CHECK(pt::test::formatted(v.other_root_ports) == std::vector<std::string>{"0000:00:01.0"});
        CHECK(pt::iommu::to_string(v.sharing) == "cpu_root_ports");
    }
    SECTION("an Intel PCH root port") {
        const std::vector<pt::pci::Device> members = {
            make_device("0000:00:14.0", 0x0c0330, "xhci_hcd", 0x8086, 0xa2af),
            port("0000:00:1c.0"),
            port("0000:00:1c.4"),
            below(make_device("0000:03:00.0", 0x030000, "vfio-pci"), "0000:00:1c.4"),
        };
        const auto v = judge(members, addr("0000:03:00.0"));
        CHECK(v.sharing == Sharing::chipset_port);
        CHECK(v.root_port == std::optional(addr("0000:00:1c.4")));
    }
    SECTION("behind one switch whose downstream ports lack ACS (an AMD chipset)") {
        const std::vector<pt::pci::Device> members = {
            below(port("0000:02:00.0", 0x1022), "0000:00:01.2"),
            below(port("0000:03:08.0", 0x1022), "0000:02:00.0"),
            below(port("0000:03:09.0", 0x1022), "0000:02:00.0"),
            below(make_device("0000:0a:00.0", 0x030000, "vfio-pci"), "0000:03:08.0"),
            below(make_device("0000:0b:00.0", 0x0c0330, "xhci_hcd", 0x1022, 0x149c),
                  "0000:03:09.0"),
        };
        // The CPU's GPP bridge 00:01.2 above the switch is in a group of its own: the topology
        // resolves it, so the walk ends there and not at the switch's upstream port.
        pt::pci::Topology topology;
        topology.devices.push_back(port("0000:00:01.2", 0x1022));
        topology.devices.insert(topology.devices.end(), members.begin(), members.end());
        const auto v = judge(members, addr("0000:0a:00.0"), &topology);
        CHECK(v.sharing == Sharing::switch_ports);
        CHECK(v.root_port == std::optional(addr("0000:00:01.2")));
        CHECK(v.other_root_ports.empty());
    }
    SECTION("integrated functions on the root bus") {
        const std::vector<pt::pci::Device> members = {
            make_device("0000:00:02.0", 0x030000, "i915", 0x8086, 0x3e92),
            make_device("0000:00:08.0", 0x088000, std::nullopt, 0x8086, 0x1911),
        };
        const auto v = judge(members, addr("0000:00:02.0"));
        CHECK(v.sharing == Sharing::root_complex);
        CHECK_FALSE(v.root_port);
    }
    SECTION("isolated: no cause") {
        const std::vector<pt::pci::Device> members = {
            port("0000:00:01.0"),
            below(make_device("0000:01:00.0", 0x030000, "vfio-pci"), "0000:00:01.0"),
        };
        const auto v = judge(members, addr("0000:01:00.0"));
        CHECK(v.isolated);
        CHECK(v.sharing == Sharing::none);
        CHECK(v.root_port == std::optional(addr("0000:00:01.0")));
    }
}

TEST_CASE("iommu::is_bmc_display", "[iommu][isolation]") {
    const auto aspeed = make_device("0000:06:00.0", 0x030000, "ast", 0x1a03, 0x2000);
    CHECK(pt::iommu::is_bmc_display(aspeed, {aspeed}));
    // HP iLO: the Matrox G200EH is function 1 of the iLO device.
    const auto ilo = make_device("0000:01:00.0", 0x088000, "hpilo", 0x103c, 0x3306);
    const auto g200eh = make_device("0000:01:00.1", 0x030000, "mgag200", 0x102b, 0x0533);
    CHECK(pt::iommu::is_bmc_display(g200eh, {ilo, g200eh}));
    const auto v = judge({ilo, g200eh}, g200eh.address);
    CHECK(v.isolated);
    CHECK(v.bmc_display);
    // Any display function beside an iLO function, whatever its IDs.
    const auto other_vga = make_device("0000:01:00.1", 0x030000, std::nullopt, 0x1234, 0x1111);
    CHECK(pt::iommu::is_bmc_display(other_vga, {ilo, other_vga}));
    // A Matrox card that is no BMC (G400), a GPU, and a non-display function.
    CHECK_FALSE(pt::iommu::is_bmc_display(
        make_device("0000:05:00.0", 0x030000, std::nullopt, 0x102b, 0x0525), {}));
    CHECK_FALSE(pt::iommu::is_bmc_display(make_device("0000:05:00.0", 0x030000), {}));
    CHECK_FALSE(pt::iommu::is_bmc_display(ilo, {ilo}));
}

TEST_CASE("iommu::sharing_cause and sharing_options fit the shape", "[iommu][isolation]") {
    using Catch::Contains;
    pt::iommu::Verdict v;
    v.subject = addr("0000:02:00.0");
    v.root_port = addr("0000:00:01.1");
    const auto joined = [](const std::vector<std::string>& options) {
        std::string out;
        for (const auto& o : options) {
            out += o + "\n";
        }
        return out;
    };
    SECTION("cpu_root_ports: the card is on a CPU slot already; no 'move it to the CPU'") {
        v.sharing = pt::iommu::Sharing::cpu_root_ports;
        v.other_root_ports = {addr("0000:00:01.0")};
        CHECK_THAT(pt::iommu::sharing_cause(v),
                   Contains("0000:02:00 is already in a slot wired to the CPU: its root port "
                            "0000:00:01.1 and 0000:00:01.0 are functions of one CPU PCIe "
                            "controller"));
        const auto options = joined(pt::iommu::sharing_options(v));
        CHECK_THAT(options, Contains("pass both cards to the same VM"));
        CHECK_THAT(options, !Contains("slot on a CPU root port of its own"));
        CHECK_THAT(options, Contains("pcie_acs_override=downstream,multifunction"));
        CHECK_THAT(options, Contains("peer-to-peer DMA"));
        CHECK_THAT(options, Contains("bare metal"));
    }
    SECTION("chipset_port: another slot first") {
        v.sharing = pt::iommu::Sharing::chipset_port;
        v.root_port = addr("0000:00:1c.4");
        CHECK_THAT(pt::iommu::sharing_cause(v),
                   Contains("0000:00:1c.4 is a chipset (PCH) root port"));
        const auto options = pt::iommu::sharing_options(v);
        REQUIRE(options.size() == 4);
        CHECK_THAT(options[0], Contains("move the card to a slot on a CPU root port of its own"));
    }
    SECTION("root_complex: nothing moves") {
        v.sharing = pt::iommu::Sharing::root_complex;
        v.root_port.reset();
        CHECK_THAT(joined(pt::iommu::sharing_options(v)), !Contains("move the card"));
    }
}
