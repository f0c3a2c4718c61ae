// SPDX-License-Identifier: MIT
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/lxc/nodes.hpp"
#include "pt/pci/device.hpp"
#include "pt/pci/topology.hpp"
#include "pt/proxmox/vm_config.hpp"
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

TEST_CASE("lxc::configured_nodes: devN paths with and without path=, gid=, raw mount entries",
          "[lxc][nodes]") {
    const auto config = pt::proxmox::VmConfig::parse(
        "arch: amd64\n"
        "dev0: /dev/nvidia0\n"
        "dev1: path=/dev/dri/renderD128,gid=993,mode=0660\n"
        "dev12: /dev/dri/card0,gid=44\n"
        "devices: not-a-dev-key\n"
        "lxc.mount.entry: /dev/nvidia-uvm dev/nvidia-uvm none bind,optional,create=file\n"
        "lxc.mount.entry: tmpfs tmp tmpfs defaults\n"
        "\n[snap]\ndev2: /dev/kfd\n");
    const auto nodes = pt::lxc::configured_nodes(config);
    REQUIRE(nodes.size() == 4);
    CHECK(nodes[0].key == "dev0");
    CHECK(nodes[0].path == "/dev/nvidia0");
    CHECK_FALSE(nodes[0].gid);
    CHECK(nodes[0].line == 2);
    CHECK(nodes[1].path == "/dev/dri/renderD128");
    CHECK(nodes[1].gid == std::optional<std::string>("993"));
    CHECK(nodes[2].key == "dev12");
    CHECK(nodes[2].gid == std::optional<std::string>("44"));
    CHECK(nodes[3].key == "lxc.mount.entry");
    CHECK(nodes[3].path == "/dev/nvidia-uvm");
    CHECK(nodes[3].line == 6);
}

TEST_CASE("lxc::find_card: the slot's display function, whichever function SEL names",
          "[lxc][nodes]") {
    pt::pci::Topology topology;
    auto gpu = card(0x10de, "nvidia");
    auto audio = card(0x10de, "snd_hda_intel");
    audio.address.function = 1;
    audio.class_code = 0x040300;
    topology.devices = {gpu, audio};
    CHECK(pt::lxc::find_card(topology, "81:00.1").address == gpu.address);
    CHECK(pt::lxc::find_card(topology, "10de:2204").address == gpu.address);
    CHECK_THROWS_AS(pt::lxc::find_card(topology, "41:00"), pt::Error);
    CHECK_THROWS_AS(pt::lxc::find_card(topology, "zz"), pt::UsageError);
    auto second = gpu;
    second.address.bus = 0x82;
    topology.devices.push_back(second);
    CHECK_THROWS_AS(pt::lxc::find_card(topology, "10de:2204"), pt::UsageError);
}

TEST_CASE("lxc::ct_options: the raw lxc.* keys pve-container reads, with ':' or '='",
          "[lxc][nodes]") {
    const auto config = pt::proxmox::VmConfig::parse(
        "arch: amd64\n"
        "lxc.cgroup2.devices.allow: c 195:* rwm\n"
        "lxc.cgroup2.devices.allow = c 507:* rwm\n"
        "lxc.mount.entry   =  /dev/kfd dev/kfd none bind,optional,create=file  \n"
        "lxc.UPPER: not a key\n"
        "lxc.x y: not a key either\n"
        "not-lxc.x: no\n"
        "[snap]\nlxc.mount.entry: /dev/nvidia0 dev/nvidia0 none bind\n");
    const auto options = pt::lxc::ct_options(config);
    REQUIRE(options.size() == 4);
    CHECK(options[0].key == "arch");
    CHECK(options[1].key == "lxc.cgroup2.devices.allow");
    CHECK(options[1].value == "c 195:* rwm");
    CHECK(options[2].value == "c 507:* rwm");
    CHECK(options[3].key == "lxc.mount.entry");
    CHECK(options[3].value == "/dev/kfd dev/kfd none bind,optional,create=file");
    CHECK(options[3].line == 4);
    const auto nodes = pt::lxc::configured_nodes(config);
    REQUIRE(nodes.size() == 1);
    CHECK(nodes[0].path == "/dev/kfd");
}
