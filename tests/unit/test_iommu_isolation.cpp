// SPDX-License-Identifier: MIT
#include "pt/iommu/isolation.hpp"
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
