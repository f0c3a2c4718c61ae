// SPDX-License-Identifier: MIT
#include "pt/host/root.hpp"
#include "pt/lxc/nodes.hpp"
#include "pt/pci/device.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <string>

using pt::lxc::card_nodes;
using pt::test::TempRoot;

namespace {

pt::pci::Device card(std::uint16_t vendor, std::string driver) {
    pt::pci::Device dev;
    dev.address = pt::pci::Address{0, 0x81, 0, 0};
    dev.vendor = vendor;
    dev.device = 0x2204;
    dev.class_code = 0x030000;
    dev.driver = std::move(driver);
    return dev;
}

} // namespace

TEST_CASE("lxc::card_nodes: NVIDIA's own minor from the driver, the shared nodes, majors",
          "[lxc][nodes]") {
    TempRoot tmp;
    tmp.write("/proc/driver/nvidia/gpus/0000:81:00.0/information",
              "Model: \t\t NVIDIA GeForce RTX 3090\nDevice Minor: \t 2\n");
    tmp.write("/proc/devices",
              "Character devices:\n  1 mem\n195 nvidia\n509 nvidia-uvm\n510 nvidia-caps\n\n"
              "Block devices:\n509 not-this\n");
    for (const char* node : {"/dev/nvidia2",
                             "/dev/nvidiactl",
                             "/dev/nvidia-uvm",
                             "/dev/nvidia-modeset",
                             "/dev/nvidia-caps/nvidia-cap1"}) {
        tmp.write(node, "");
    }
    const auto found = card_nodes(pt::host::Root(tmp.path()), card(0x10de, "nvidia"));
    REQUIRE_FALSE(found.problem);
    REQUIRE(found.nodes.size() == 6);
    CHECK(found.nodes[0].path == "/dev/nvidia2");
    CHECK(found.nodes[0].major == 195);
    CHECK(found.nodes[0].minor == 2);
    CHECK(found.nodes[0].card_own);
    CHECK(found.nodes[0].present);
    CHECK(found.nodes[1].path == "/dev/nvidiactl");
    CHECK(found.nodes[1].minor == 255);
    CHECK_FALSE(found.nodes[1].card_own);
    CHECK(found.nodes[2].path == "/dev/nvidia-uvm");
    CHECK(found.nodes[2].major == 509); // the character major, not the block one
    CHECK(found.nodes[3].path == "/dev/nvidia-uvm-tools");
    CHECK(found.nodes[3].minor == 1);
    CHECK_FALSE(found.nodes[3].present);
    CHECK(found.nodes[4].path == "/dev/nvidia-modeset");
    CHECK(found.nodes[5].path == "/dev/nvidia-caps/nvidia-cap1");
    CHECK(found.nodes[5].major == 510);
    CHECK(found.nodes[5].minor == 1);
}

TEST_CASE("lxc::card_nodes: DRM nodes from sysfs, kfd for AMD, and a card no driver has",
          "[lxc][nodes]") {
    TempRoot tmp;
    tmp.write("/sys/bus/pci/devices/0000:81:00.0/drm/card1/dev", "226:1\n");
    tmp.write("/sys/bus/pci/devices/0000:81:00.0/drm/renderD129/dev", "226:129\n");
    tmp.write("/dev/dri/renderD129", "");
    tmp.write("/dev/kfd", "");
    tmp.write("/proc/devices", "Character devices:\n235 kfd\n");
    const pt::host::Root root(tmp.path());
    const auto amd = card_nodes(root, card(0x1002, "amdgpu"));
    REQUIRE_FALSE(amd.problem);
    REQUIRE(amd.nodes.size() == 3);
    CHECK(amd.nodes[0].path == "/dev/dri/renderD129"); // the render node first
    CHECK(amd.nodes[0].group == "render");
    CHECK(amd.nodes[0].major == 226);
    CHECK(amd.nodes[0].minor == 129);
    CHECK(amd.nodes[1].path == "/dev/dri/card1");
    CHECK(amd.nodes[1].group == "video");
    CHECK_FALSE(amd.nodes[1].present);
    CHECK(amd.nodes[2].path == "/dev/kfd");
    CHECK(amd.nodes[2].major == 235);
    CHECK_FALSE(amd.nodes[2].card_own);
    // Intel has no kfd.
    CHECK(card_nodes(root, card(0x8086, "i915")).nodes.size() == 2);

    TempRoot bare;
    const auto none = card_nodes(pt::host::Root(bare.path()), card(0x10de, "vfio-pci"));
    REQUIRE(none.problem);
    CHECK(none.problem->find("it is on vfio-pci") != std::string::npos);
    CHECK(none.nodes.empty());
}
