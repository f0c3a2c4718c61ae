// SPDX-License-Identifier: MIT
#include "pt/error.hpp"
#include "pt/profile/profile.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <optional>
#include <string>

using pt::profile::Device;
using pt::profile::parse;
using pt::profile::Profile;
using pt::profile::to_yaml;

namespace {

constexpr const char* k_seed = R"(version: 1
nodes:
  pve:
    kernel:
      iommu-pt: true
      add: [pcie_aspm=off]
    devices:
      - address: "0000:81:00"
        id: "10de:2204"
        subsystem: "1458:403b"
        name: "GA102 [GeForce RTX 3090]"
        vm: 100
  pve2:
    devices:
      - {address: "03:00", id: "1002:744C", vm: 200, use: display, ovmf: true, mapping: rx7900}
)";

// The message parse() throws for `text`.
std::string error_of(const std::string& text) {
    try {
        parse(text, "p.yaml");
    } catch (const pt::UsageError& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST_CASE("profile::parse reads every key of both node sections", "[profile][profile]") {
    const Profile p = parse(k_seed, "p.yaml");
    REQUIRE(p.nodes.size() == 2);
    const auto& pve = p.nodes.at("pve");
    CHECK(pve.kernel.iommu_pt);
    CHECK_FALSE(pve.kernel.sysfb_off);
    CHECK(pve.kernel.add == std::vector<std::string>{"pcie_aspm=off"});
    REQUIRE(pve.devices.size() == 1);
    const Device& card = pve.devices.front();
    CHECK(pt::pci::format_slot(card.slot) == "0000:81:00");
    CHECK(card.vendor == 0x10de);
    CHECK(card.device == 0x2204);
    CHECK(card.subsystem_vendor == std::uint16_t{0x1458});
    CHECK(card.subsystem_device == std::uint16_t{0x403b});
    CHECK(card.name == "GA102 [GeForce RTX 3090]");
    CHECK(card.vmid == 100);
    CHECK(card.role == pt::proxmox::GpuRole::compute); // the default use
    CHECK_FALSE(card.mapping);

    const Device& amd = p.nodes.at("pve2").devices.front();
    CHECK(pt::pci::format_slot(amd.slot) == "0000:03:00"); // BB:DD takes domain 0
    CHECK(amd.device == 0x744c);                           // any case
    CHECK_FALSE(amd.subsystem_vendor);
    CHECK(amd.role == pt::proxmox::GpuRole::display);
    CHECK(amd.ovmf);
    CHECK(amd.mapping == std::string("rx7900"));
}

TEST_CASE("profile::to_yaml writes what parse reads back, the same", "[profile][profile]") {
    const Profile p = parse(k_seed, "p.yaml");
    const std::string text = to_yaml(p);
    CHECK(text.starts_with("# pt profile: "));
    CHECK(text.find("\n  pve:\n") != std::string::npos); // a host name stays a plain key
    const Profile again = parse(text, "again.yaml");
    CHECK(to_yaml(again) == text);
    REQUIRE(again.nodes.size() == 2);
    const auto& amd = again.nodes.at("pve2").devices.front();
    CHECK(amd.role == pt::proxmox::GpuRole::display);
    CHECK(amd.ovmf);
    CHECK(amd.mapping == std::string("rx7900"));
    CHECK(again.nodes.at("pve").kernel.add == std::vector<std::string>{"pcie_aspm=off"});

    // The physical slot, a name (a number to YAML), comes back as the same string.
    Profile slotted = p;
    slotted.nodes.at("pve").devices.front().physical_slot = "2";
    const std::string slotted_text = to_yaml(slotted);
    CHECK(slotted_text.find("        physical-slot: ") != std::string::npos);
    CHECK(parse(slotted_text, "s.yaml").nodes.at("pve").devices.front().physical_slot
          == std::optional<std::string>("2"));
    CHECK_FALSE(again.nodes.at("pve").devices.front().physical_slot);

    // Names YAML would read as something else are quoted, and come back as the same string.
    Profile odd;
    odd.nodes["yes"].devices.push_back(p.nodes.at("pve").devices.front());
    odd.nodes["yes"].devices.front().name = "a \"quoted\" \\ name";
    const Profile back = parse(to_yaml(odd), "odd.yaml");
    REQUIRE(back.nodes.count("yes") == 1);
    CHECK(back.nodes.at("yes").devices.front().name == "a \"quoted\" \\ name");
}

TEST_CASE("profile::parse and to_yaml: containers that share a host GPU", "[profile][profile]") {
    const Profile p = parse(R"(version: 1
nodes:
  pve:
    containers:
      - address: "0000:0a:00"
        id: "10de:2204"
        subsystem: "1458:403b"
        ct: 200
      - {address: "0b:00", id: "1002:744c", name: "Navi 31", ct: 201}
)",
                            "p.yaml");
    const auto& pve = p.nodes.at("pve");
    CHECK(pve.devices.empty());
    REQUIRE(pve.containers.size() == 2);
    CHECK(pt::pci::format_slot(pve.containers[0].slot) == "0000:0a:00");
    CHECK(pve.containers[0].ctid == 200);
    CHECK(pve.containers[0].subsystem_device == std::uint16_t{0x403b});
    CHECK(pve.containers[1].name == "Navi 31");
    const std::string text = to_yaml(p);
    CHECK(text.find("    devices:") == std::string::npos);
    CHECK(text.find("    containers:\n      - address: \"0000:0a:00\"\n") != std::string::npos);
    CHECK(to_yaml(parse(text, "again.yaml")) == text);

    CHECK_THAT(error_of("version: 1\nnodes:\n  pve:\n    containers:\n      - {address: "
                        "\"0a:00\", id: \"10de:2204\"}\n"),
               Catch::Contains("p.yaml:5: a container needs ct:"));
    CHECK_THAT(error_of("version: 1\nnodes:\n  pve:\n    containers:\n      - {address: "
                        "\"0a:00\", id: \"10de:2204\", ct: 200, vm: 100}\n"),
               Catch::Contains("unknown key \"vm\" in a container"));
    CHECK_THAT(error_of("version: 1\nnodes:\n  pve:\n    containers: 200\n"),
               Catch::Contains("p.yaml:4: containers must be a list"));
}

TEST_CASE("profile::parse names the file, the line and the fix for each mistake",
          "[profile][profile]") {
    CHECK(error_of("version: 1\nnodes:\n  pve:\n    devices:\n      - address: \"81:00\"\n"
                   "        id: \"10de:2204\"\n        vmid: 100\n")
          == "p.yaml:7: unknown key \"vmid\" in a device (known: address, id, subsystem, "
             "physical-slot, name, vm, "
             "use, keep-cpu, ovmf, set-machine, mapping, include-group, force); pt-profile(5) "
             "describes the file");
    CHECK(error_of("version: 1\nnodes:\n  pve:\n    devices:\n      - {address: \"81:00\", id: "
                   "\"10de:2204\"}\n")
              .starts_with("p.yaml:5: a device needs vm:"));
    CHECK(error_of("version: 1\nnodes:\n  pve:\n    devices:\n      - {address: \"81:00.0\", id: "
                   "\"10de:2204\", vm: 100}\n")
              .starts_with("p.yaml:5: address must be the card's slot"));
    CHECK(error_of("version: 1\nnodes:\n  pve:\n    devices:\n      - {address: \"81:00\", id: "
                   "\"10de\", vm: 100}\n")
              .starts_with("p.yaml:5: id must be VENDOR:DEVICE in hex"));
    CHECK(error_of("version: 1\nnodes:\n  pve:\n    devices:\n      - {address: \"81:00\", id: "
                   "\"10de:2204\", vm: 99}\n")
              .starts_with("p.yaml:5: vm must be a number from 100 to 999999999"));
    CHECK(error_of("version: 1\nnodes:\n  pve:\n    devices:\n      - {address: \"81:00\", id: "
                   "\"10de:2204\", vm: 100, ovmf: maybe}\n")
              .starts_with("p.yaml:5: ovmf must be true or false"));
    CHECK(error_of("version: 1\nnodes:\n  pve:\n    devices:\n      - {address: \"81:00\", id: "
                   "\"10de:2204\", vm: 100, use: display, keep-cpu: true}\n")
              .starts_with("p.yaml:5: keep-cpu goes with use: compute"));
    CHECK(error_of("version: 1\nnodes:\n  pve:\n    kernel:\n      add: iommu=pt\n")
              .starts_with("p.yaml:5: kernel add must be a list"));
    CHECK(error_of("version: 3\nnodes: {}\n")
              .starts_with("p.yaml:1: version 3 is newer than this pt reads (1)"));
    CHECK(error_of("nodes: {}\n").starts_with("p.yaml:1: the profile needs version: 1"));
    CHECK(error_of("version: 1\n").starts_with("p.yaml:1: the profile needs nodes:"));
    CHECK(error_of("version: 1\nnodes: {}\nnode: {}\n")
              .starts_with("p.yaml:3: unknown key \"node\" in the profile"));
    CHECK(error_of("version: 1\nnodes:\n  pve:\n    devices:\n      - {address: \"81:00\", id: "
                   "\"10de:2204\", vm: 100, physical-slot: \"../2\"}\n")
              .starts_with("p.yaml:5: physical-slot must name a folder of /sys/bus/pci/slots"));
    CHECK(error_of("- a\n- b\n").starts_with("p.yaml: not a pt profile"));
    CHECK(error_of("nodes: [\n").find("not valid YAML") != std::string::npos);
    // A key given twice would lose one of its values silently.
    CHECK(error_of("version: 1\nnodes:\n  pve:\n    devices:\n      - address: \"81:00\"\n"
                   "        id: \"10de:2204\"\n        vm: 100\n        vm: 101\n")
              .starts_with("p.yaml:8: \"vm\" is given twice in a device"));
    CHECK(error_of("version: 1\nnodes:\n  pve: {}\n  pve: {}\n")
              .starts_with("p.yaml:4: node pve has two sections"));
    // pt grub's refusals, at the parameter's line.
    CHECK(error_of("version: 1\nnodes:\n  pve:\n    kernel:\n      add:\n        - quiet\n"
                   "        - root=/dev/sda1\n")
              .starts_with("p.yaml:7: kernel add \"root=/dev/sda1\": "));
    // An empty section is allowed: it names no card (pt profile then says so for that node).
    CHECK(parse("version: 1\nnodes:\n  pve:\n", "p.yaml").nodes.at("pve").devices.empty());
}

TEST_CASE("profile::save writes atomically; load_if_exists reads it back or says there is none",
          "[profile][profile]") {
    pt::test::TempRoot tmp;
    const std::string path = (tmp.path() / "p.yaml").string();
    CHECK_FALSE(pt::profile::load_if_exists(path));
    pt::profile::save(path, parse(k_seed, "p.yaml"));
    const auto back = pt::profile::load_if_exists(path);
    REQUIRE(back);
    CHECK(to_yaml(*back) == to_yaml(parse(k_seed, "p.yaml")));
    CHECK_THROWS_AS(pt::profile::read_file((tmp.path() / "missing.yaml").string()), pt::Error);
    CHECK_THROWS_WITH(pt::profile::save((tmp.path() / "no/such/folder/p.yaml").string(), *back),
                      Catch::Contains("give --save a path in an existing folder"));
}
