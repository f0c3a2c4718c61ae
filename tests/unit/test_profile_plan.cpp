// SPDX-License-Identifier: MIT
#include "pt/driver/bind.hpp"
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/selector.hpp"
#include "pt/profile/plan.hpp"
#include "pt/profile/profile.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

using pt::profile::check_profile;
using pt::profile::plan_profile;
using pt::test::DeviceSpec;
using pt::test::TempRoot;

namespace {

constexpr const char* k_vm = "/etc/pve/nodes/pve1/qemu-server/100.conf";

DeviceSpec function(std::string address, std::string device, std::string class_code, int group) {
    DeviceSpec spec;
    spec.address = std::move(address);
    spec.device = std::move(device);
    spec.class_code = std::move(class_code);
    spec.iommu_group = group;
    spec.driver = spec.class_code == "030000" ? "nouveau" : "snd_hda_intel";
    spec.attrs = {{"boot_vga", "0\n"}};
    return spec;
}

// An AMD host on 6.8 with GRUB, an ASPEED BMC as the boot display, the RTX 3090 (10de:2204,
// subsystem 1458:403b) with its audio at `bus`:00 on nouveau, and VM 100 on node pve1 that
// `hostpci` (if any) passes.
void host_with_card(TempRoot& tmp, const std::string& bus, const std::string& hostpci = "") {
    tmp.write("/proc/cpuinfo", "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: svm\n");
    tmp.write("/proc/sys/kernel/osrelease", "6.8.12-4-pve\n");
    tmp.write("/proc/cmdline",
              "BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve root=/dev/mapper/pve-root ro quiet\n");
    tmp.write("/etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
    tmp.write("/proc/sys/kernel/hostname", "pve1\n");
    tmp.add_device(function("0000:" + bus + ":00.0", "2204", "030000", 31));
    tmp.add_device(function("0000:" + bus + ":00.1", "1aef", "040300", 31));
    DeviceSpec bmc;
    bmc.address = "0000:c2:00.0";
    bmc.vendor = "1a03";
    bmc.device = "2000";
    bmc.driver = "ast";
    bmc.iommu_group = 41;
    bmc.attrs = {{"boot_vga", "1\n"}};
    tmp.add_device(bmc);
    std::string vm = "boot: order=scsi0\ncores: 8\ncpu: host\n";
    if (!hostpci.empty()) {
        vm += "hostpci0: " + hostpci + "\nmachine: q35\n";
    }
    vm += "memory: 32768\nname: ollama\nostype: l26\nscsi0: local-lvm:vm-100-disk-0,size=128G\n";
    tmp.write(k_vm, vm);
}

pt::profile::Profile seed_profile(const std::string& extra = "") {
    return pt::profile::parse("version: 1\nnodes:\n  pve1:\n    devices:\n      - address: "
                              "\"0000:81:00\"\n        id: \"10de:2204\"\n        subsystem: "
                              "\"1458:403b\"\n        name: \"GeForce RTX 3090\"\n        vm: 100\n"
                                  + extra,
                              "p.yaml");
}

const pt::edit::FileEdit* find_file(const pt::edit::Plan& plan, const std::string& path) {
    const auto it = std::find_if(
        plan.files.begin(), plan.files.end(), [&](const auto& file) { return file.path == path; });
    return it == plan.files.end() ? nullptr : &*it;
}

} // namespace

TEST_CASE("profile::plan_profile plans pt setup's chain for the card at its address",
          "[profile][plan]") {
    TempRoot tmp;
    host_with_card(tmp, "81");
    const pt::model::Host host{pt::host::Root(tmp.path())};
    const auto planned = plan_profile(host, seed_profile(), "p.yaml", "pt profile p.yaml", 0);
    CHECK(planned.node == "pve1");
    CHECK_FALSE(planned.located.at(0).moved_from);
    CHECK(planned.hardware.empty());
    CHECK(pt::pci::format_slot(planned.setup.slots.at(0)) == "0000:81:00");
    REQUIRE(planned.setup.steps.size() == 4);
    CHECK(planned.setup.steps[2].command == "pt bind 0000:81:00 --apply");
    const auto* vm = find_file(planned.setup.plan, k_vm);
    REQUIRE(vm);
    CHECK(vm->after->find("hostpci0: 0000:81:00,pcie=1\n") != std::string::npos);
    CHECK(planned.setup.plan.title == "pt profile p.yaml");
}

TEST_CASE("profile::plan_profile re-targets a card that moved, and the VM entry with it",
          "[profile][plan]") {
    TempRoot tmp;
    host_with_card(tmp, "82", "0000:81:00,pcie=1");
    const pt::model::Host host{pt::host::Root(tmp.path())};
    const auto planned = plan_profile(host, seed_profile(), "p.yaml", "t", 0);
    REQUIRE(planned.located.at(0).moved_from);
    CHECK(pt::pci::format_slot(*planned.located.at(0).moved_from) == "0000:81:00");
    CHECK(pt::pci::format_slot(planned.located.at(0).slot) == "0000:82:00");
    REQUIRE(planned.hardware.size() == 1);
    CHECK(planned.hardware[0].expected
          == "the GeForce RTX 3090 (10de:2204 subsystem 1458:403b) at 0000:81:00");
    CHECK(planned.hardware[0].found
          == "at 0000:82:00; VM 100 still points at 0000:81:00 (hostpci0)");
    const auto* vm = find_file(planned.setup.plan, k_vm);
    REQUIRE(vm);
    // The entry is re-pointed in place: no second entry, no trace of the old address.
    CHECK(vm->after->find("hostpci0: 0000:82:00,pcie=1\n") != std::string::npos);
    CHECK(vm->after->find("hostpci1") == std::string::npos);
    CHECK(vm->after->find("81:00") == std::string::npos);
}

TEST_CASE("profile::plan_profile finds the card by its physical slot when identical cards swapped "
          "addresses",
          "[profile][plan]") {
    TempRoot tmp;
    // A BIOS update renumbered the buses: the profile's card (physical slot 2, once at 81:00)
    // is at 82:00 now, and an identical card from slot 1 took 81:00.
    host_with_card(tmp, "82", "0000:81:00,pcie=1");
    tmp.add_device(function("0000:81:00.0", "2204", "030000", 33));
    tmp.add_device(function("0000:81:00.1", "1aef", "040300", 33));
    tmp.write("/sys/bus/pci/slots/2/address", "0000:82:00\n");
    tmp.write("/sys/bus/pci/slots/1/address", "0000:81:00\n");
    const pt::model::Host host{pt::host::Root(tmp.path())};
    REQUIRE(host.topology().find(pt::pci::Address{0, 0x82, 0, 1}));
    CHECK(host.topology().find(pt::pci::Address{0, 0x82, 0, 1})->physical_slot
          == std::optional<std::string>("2"));

    auto by_slot = seed_profile("        physical-slot: \"2\"\n");
    const auto planned = plan_profile(host, by_slot, "p.yaml", "t", 0);
    CHECK(pt::pci::format_slot(planned.located.at(0).slot) == "0000:82:00");
    REQUIRE(planned.located.at(0).moved_from);
    CHECK(pt::pci::format_slot(*planned.located.at(0).moved_from) == "0000:81:00");
    REQUIRE(planned.hardware.size() == 1);
    CHECK(planned.hardware[0].found
          == "at 0000:82:00 (physical slot 2); VM 100 still points at 0000:81:00 (hostpci0)");

    // Without the physical slot, the card at the profile's address has the IDs: it is taken.
    const auto by_address = plan_profile(host, seed_profile(), "p.yaml", "t", 0);
    CHECK(pt::pci::format_slot(by_address.located.at(0).slot) == "0000:81:00");
    CHECK_FALSE(by_address.located.at(0).moved_from);

    // A physical slot that holds no such card falls back to the address.
    const auto empty_slot =
        plan_profile(host, seed_profile("        physical-slot: \"7\"\n"), "p.yaml", "t", 0);
    CHECK(pt::pci::format_slot(empty_slot.located.at(0).slot) == "0000:81:00");
}

TEST_CASE("profile::plan_profile refuses what it cannot plan, naming the fix", "[profile][plan]") {
    TempRoot tmp;
    host_with_card(tmp, "81");
    const pt::model::Host host{pt::host::Root(tmp.path())};
    // Subsystem IDs of another board: the card at 81:00 is not the profile's card.
    auto other_board = seed_profile();
    other_board.nodes.at("pve1").devices.front().subsystem_device = 0x1234;
    CHECK_THROWS_WITH(plan_profile(host, other_board, "p.yaml", "t", 0),
                      Catch::Contains("is not on this host (0000:81:00 holds 10de:2204 now")
                          && Catch::Contains("put the card back, or edit p.yaml"));
    auto elsewhere = seed_profile();
    elsewhere.nodes["pve2"] = elsewhere.nodes.at("pve1");
    elsewhere.nodes.erase("pve1");
    CHECK_THROWS_WITH(plan_profile(host, elsewhere, "p.yaml", "t", 0),
                      Catch::Contains("has no section for this node, pve1 (it has: pve2)"));
    auto twice = seed_profile();
    twice.nodes.at("pve1").devices.push_back(twice.nodes.at("pve1").devices.front());
    twice.nodes.at("pve1").devices.back().vmid = 101;
    CHECK_THROWS_WITH(plan_profile(host, twice, "p.yaml", "t", 0),
                      Catch::Contains("names the card at 0000:81:00 twice (for VM 100 and VM "
                                      "101)"));
    auto none = seed_profile();
    none.nodes.at("pve1").devices.clear();
    CHECK_THROWS_WITH(plan_profile(host, none, "p.yaml", "t", 0),
                      Catch::Contains("node pve1 of the profile p.yaml names no card"));
}

TEST_CASE("profile::check_profile: drift per file on a fresh host, none once applied",
          "[profile][plan]") {
    TempRoot tmp;
    host_with_card(tmp, "81");
    {
        const pt::model::Host host{pt::host::Root(tmp.path())};
        const auto result = check_profile(host, seed_profile(), "p.yaml", 0);
        CHECK(result.node == "pve1");
        CHECK_FALSE(result.converged);
        CHECK_FALSE(result.reboot_pending);
        const auto vfio = std::find_if(result.drift.begin(), result.drift.end(), [](const auto& d) {
            return d.what == "vfio-pci: /etc/modprobe.d/pt-vfio.conf";
        });
        REQUIRE(vfio != result.drift.end());
        CHECK(vfio->found == "no such file");
        CHECK(vfio->expected.find("options vfio-pci ids=10de:1aef,10de:2204") != std::string::npos);
        CHECK(vfio->fix == "pt bind 0000:81:00 --apply");
        // Comments are not settings: they never show as expected lines.
        for (const auto& item : result.drift) {
            CHECK(item.expected.find('#') == std::string::npos);
        }
    }
    // The card nowhere: drift, not an error.
    auto missing = seed_profile();
    missing.nodes.at("pve1").devices.front().device = 0x2684;
    const pt::model::Host host{pt::host::Root(tmp.path())};
    const auto result = check_profile(host, missing, "p.yaml", 0);
    REQUIRE(result.drift.size() == 1);
    CHECK(result.drift[0].what == "hardware");
    CHECK(result.drift[0].fix.starts_with("put the card back, or edit p.yaml"));
}

TEST_CASE("profile::describe_setup records the card, its IDs and the request; other nodes stay",
          "[profile][plan]") {
    TempRoot tmp;
    host_with_card(tmp, "81");
    const pt::model::Host host{pt::host::Root(tmp.path())};
    pt::setup::Request request;
    pt::setup::Card wanted;
    wanted.selector = "81:00";
    wanted.vmid = 100;
    wanted.role = pt::proxmox::GpuRole::display;
    wanted.mapping = "rtx";
    request.cards.push_back(wanted);
    const auto planned = pt::setup::plan_setup(host, request);
    auto existing = seed_profile();
    existing.nodes.at("pve1").kernel.iommu_pt = true;
    existing.nodes["pve2"] = existing.nodes.at("pve1");
    const auto profile = pt::profile::describe_setup(host, request, planned, existing).profile;
    REQUIRE(profile.nodes.size() == 2);
    const auto& section = profile.nodes.at("pve1");
    CHECK(section.kernel.iommu_pt); // the user's kernel options stay
    REQUIRE(section.devices.size() == 1);
    const auto& card = section.devices.front();
    CHECK(pt::pci::format_slot(card.slot) == "0000:81:00");
    CHECK(card.vendor == 0x10de);
    CHECK(card.device == 0x2204);
    CHECK(card.subsystem_vendor == std::uint16_t{0x1458});
    CHECK(card.subsystem_device == std::uint16_t{0x403b});
    CHECK(card.role == pt::proxmox::GpuRole::display);
    CHECK(card.mapping == std::string("rtx"));
    CHECK(card.vmid == 100);
    CHECK_FALSE(card.physical_slot); // the platform describes no slots here

    tmp.write("/sys/bus/pci/slots/4/address", "0000:81:00\n");
    const pt::model::Host slotted{pt::host::Root(tmp.path())};
    const auto with_slot =
        pt::profile::describe_setup(slotted, request, planned, std::nullopt).profile;
    CHECK(with_slot.nodes.at("pve1").devices.front().physical_slot
          == std::optional<std::string>("4"));
}

TEST_CASE("profile::plan_profile takes a moved card's old address out of pt bind's hook",
          "[profile][plan]") {
    TempRoot tmp;
    host_with_card(tmp, "82", "0000:81:00,pcie=1");
    // A card of the same chip from another board stays with the host at 83:00, so pt binds by
    // address; the hook still names the card's old address, where another device may sit now.
    auto twin = function("0000:83:00.0", "2204", "030000", 33);
    twin.subsystem_device = "0001";
    tmp.add_device(twin);
    const std::vector<pt::pci::Address> old_functions = {pt::pci::Address{0, 0x81, 0, 0},
                                                         pt::pci::Address{0, 0x81, 0, 1}};
    tmp.write(std::string(pt::driver::k_hook), pt::driver::render_hook(old_functions));
    const pt::model::Host host{pt::host::Root(tmp.path())};
    const auto planned = plan_profile(host, seed_profile(), "p.yaml", "t", 0);
    REQUIRE(planned.located.at(0).moved_from);
    const auto* hook = find_file(planned.setup.plan, std::string(pt::driver::k_hook));
    REQUIRE(hook);
    REQUIRE(hook->after);
    const auto addresses = pt::driver::parse_hook(*hook->after);
    REQUIRE(addresses);
    for (const auto& address : *addresses) {
        CHECK(address.bus != 0x81);
    }
    CHECK(std::any_of(
        addresses->begin(), addresses->end(), [](const auto& a) { return a.bus == 0x82; }));
    // Its single command would add a second entry: the VM step names the profile's.
    CHECK(planned.setup.steps.back().command == "pt profile p.yaml --apply");
}

namespace {

constexpr const char* k_vm_101 = "/etc/pve/nodes/pve1/qemu-server/101.conf";

// host_with_card's host with a second RTX 3090 at 82:00 and VM 101.
void host_with_two_cards(TempRoot& tmp) {
    host_with_card(tmp, "81");
    tmp.add_device(function("0000:82:00.0", "2204", "030000", 32));
    tmp.add_device(function("0000:82:00.1", "1aef", "040300", 32));
    tmp.write(k_vm_101, "cores: 8\nmemory: 32768\nname: comfy\nostype: l26\n");
}

pt::profile::Profile two_card_profile(int second_vm) {
    return pt::profile::parse(fmt::format("version: 1\nnodes:\n  pve1:\n    devices:\n"
                                          "      - address: \"0000:81:00\"\n"
                                          "        id: \"10de:2204\"\n"
                                          "        vm: 100\n"
                                          "      - address: \"0000:82:00\"\n"
                                          "        id: \"10de:2204\"\n"
                                          "        vm: {}\n",
                                          second_vm),
                              "p.yaml");
}

} // namespace

TEST_CASE("profile::plan_profile plans two cards for two VMs as one chain", "[profile][plan]") {
    TempRoot tmp;
    host_with_two_cards(tmp);
    const pt::model::Host host{pt::host::Root(tmp.path())};
    const auto planned = plan_profile(host, two_card_profile(101), "p.yaml", "t", 0);
    REQUIRE(planned.located.size() == 2);
    CHECK(pt::pci::format_slot(planned.setup.slots.at(1)) == "0000:82:00");
    std::vector<std::string> names;
    for (const auto& step : planned.setup.steps) {
        names.push_back(step.name);
    }
    CHECK(names
          == std::vector<std::string>{
              "kernel command line", "host drivers", "vfio-pci", "VM 100", "VM 101"});
    // One binding for both cards: what pt bind with both slots plans, by IDs (no other card has
    // them), and one blacklist (no NVIDIA card stays with the host).
    CHECK(planned.setup.steps[2].command == "pt bind 0000:81:00 0000:82:00 --apply");
    CHECK(planned.setup.steps[1].command == "pt blacklist 0000:81:00 0000:82:00 --apply");
    pt::driver::BindRequest bind;
    bind.selectors = {pt::pci::parse_selector("0000:81:00"), pt::pci::parse_selector("0000:82:00")};
    const auto bound = pt::driver::plan_bind(host, bind);
    const auto* conf = find_file(planned.setup.plan, std::string(pt::driver::k_vfio_conf));
    REQUIRE(conf);
    CHECK(conf->after == find_file(bound, std::string(pt::driver::k_vfio_conf))->after);
    CHECK(conf->after->find("options vfio-pci ids=10de:1aef,10de:2204\n") != std::string::npos);
    const auto* vm100 = find_file(planned.setup.plan, k_vm);
    const auto* vm101 = find_file(planned.setup.plan, k_vm_101);
    REQUIRE(vm100);
    REQUIRE(vm101);
    CHECK(vm100->after->find("hostpci0: 0000:81:00,pcie=1\n") != std::string::npos);
    CHECK(vm101->after->find("hostpci0: 0000:82:00,pcie=1\n") != std::string::npos);
    CHECK(planned.setup.remaining.back() == "pt verify --vm 101");
}

TEST_CASE("profile::plan_profile passes two cards to one VM in one edit of its config",
          "[profile][plan]") {
    TempRoot tmp;
    host_with_two_cards(tmp);
    const pt::model::Host host{pt::host::Root(tmp.path())};
    const auto planned = plan_profile(host, two_card_profile(100), "p.yaml", "t", 0);
    const auto edits = std::count_if(planned.setup.plan.files.begin(),
                                     planned.setup.plan.files.end(),
                                     [](const auto& file) { return file.path == k_vm; });
    CHECK(edits == 1);
    const auto* vm = find_file(planned.setup.plan, k_vm);
    REQUIRE(vm);
    CHECK(vm->before == pt::host::Root(tmp.path()).read_file(k_vm));
    CHECK(vm->after->find("hostpci0: 0000:81:00,pcie=1\nhostpci1: 0000:82:00,pcie=1\n")
          != std::string::npos);
    // The second card's single command, run after the first, plans the rest of that edit.
    CHECK(planned.setup.steps.back().command == "pt vmconf 100 0000:82:00 --compute --apply");
    CHECK(planned.setup.remaining
          == std::vector<std::string>{"reboot the host", "pt verify --vm 100"});
}

TEST_CASE("profile::describe_setup adds a second card to this node's section", "[profile][plan]") {
    TempRoot tmp;
    host_with_two_cards(tmp);
    const pt::model::Host host{pt::host::Root(tmp.path())};
    const auto setup_for = [&](const char* slot, int vmid) {
        pt::setup::Request request;
        pt::setup::Card card;
        card.selector = slot;
        card.vmid = vmid;
        request.cards.push_back(card);
        return std::pair{request, pt::setup::plan_setup(host, request)};
    };
    const auto [first, first_planned] = setup_for("81:00", 100);
    const auto one = pt::profile::describe_setup(host, first, first_planned, std::nullopt).profile;
    const auto [second, second_planned] = setup_for("82:00", 101);
    const auto two = pt::profile::describe_setup(host, second, second_planned, one).profile;
    REQUIRE(two.nodes.at("pve1").devices.size() == 2);
    CHECK(two.nodes.at("pve1").devices[0].vmid == 100);
    CHECK(two.nodes.at("pve1").devices[1].vmid == 101);
    // The same card again, for another VM: its entry is replaced, not doubled.
    const auto [again, again_planned] = setup_for("82:00", 100);
    const auto replaced = pt::profile::describe_setup(host, again, again_planned, two).profile;
    REQUIRE(replaced.nodes.at("pve1").devices.size() == 2);
    CHECK(pt::pci::format_slot(replaced.nodes.at("pve1").devices[1].slot) == "0000:82:00");
    CHECK(replaced.nodes.at("pve1").devices[1].vmid == 100);
    // A card that is on no address of this host is dropped and named.
    auto stale = two;
    stale.nodes.at("pve1").devices[0].device = 0x2684;
    const auto described = pt::profile::describe_setup(host, second, second_planned, stale);
    REQUIRE(described.profile.nodes.at("pve1").devices.size() == 1);
    CHECK(described.dropped
          == std::vector<std::string>{"0000:81:00 (10de:2684) for VM 100: not on this host"});
    // The profile with both plans as one chain.
    CHECK(plan_profile(host, two, "p.yaml", "t", 0).setup.slots.size() == 2);
}

TEST_CASE("setup::plan_setup writes two cards' mappings in one edit of pci.cfg", "[setup][plan]") {
    TempRoot tmp;
    host_with_two_cards(tmp);
    const pt::model::Host host{pt::host::Root(tmp.path())};
    pt::setup::Request request;
    for (const auto& [slot, vmid, mapping] :
         {std::tuple{"81:00", 100, "gpu-a"}, std::tuple{"82:00", 101, "gpu-b"}}) {
        pt::setup::Card card;
        card.selector = slot;
        card.vmid = vmid;
        card.mapping = mapping;
        request.cards.push_back(card);
    }
    const auto planned = pt::setup::plan_setup(host, request);
    const auto edits =
        std::count_if(planned.plan.files.begin(), planned.plan.files.end(), [](const auto& file) {
            return file.path == "/etc/pve/mapping/pci.cfg";
        });
    REQUIRE(edits == 1);
    const auto* cfg = find_file(planned.plan, "/etc/pve/mapping/pci.cfg");
    REQUIRE(cfg->after);
    CHECK(cfg->after->find("gpu-a\n") != std::string::npos);
    CHECK(cfg->after->find("gpu-b\n") != std::string::npos);
    CHECK(find_file(planned.plan, k_vm)->after->find("hostpci0: mapping=gpu-a,pcie=1\n")
          != std::string::npos);
    CHECK(find_file(planned.plan, k_vm_101)->after->find("hostpci0: mapping=gpu-b,pcie=1\n")
          != std::string::npos);
}

TEST_CASE("profile::plan_profile re-points two identical cards whose buses swapped, and keeps "
          "both addresses in pt bind's hook",
          "[profile][plan]") {
    TempRoot tmp;
    host_with_two_cards(tmp);
    // A third card of the same chip stays with the host, so pt binds by address (the hook).
    tmp.add_device(function("0000:83:00.0", "2204", "030000", 33));
    const std::vector<pt::pci::Address> bound = {pt::pci::Address{0, 0x81, 0, 0},
                                                 pt::pci::Address{0, 0x81, 0, 1},
                                                 pt::pci::Address{0, 0x82, 0, 0},
                                                 pt::pci::Address{0, 0x82, 0, 1}};
    tmp.write(std::string(pt::driver::k_hook), pt::driver::render_hook(bound));
    tmp.write(k_vm, "hostpci0: 0000:81:00,pcie=1\nmachine: q35\n");
    tmp.write(k_vm_101, "hostpci0: 0000:82:00,pcie=1\nmachine: q35\n");
    // The profile's card for VM 100 sat in physical slot 1 at 81:00; slot 1 is at 82:00 now.
    tmp.write("/sys/bus/pci/slots/1/address", "0000:82:00\n");
    tmp.write("/sys/bus/pci/slots/2/address", "0000:81:00\n");
    const pt::model::Host host{pt::host::Root(tmp.path())};
    const auto profile = pt::profile::parse("version: 1\nnodes:\n  pve1:\n    devices:\n"
                                            "      - {address: \"0000:81:00\", id: \"10de:2204\", "
                                            "physical-slot: \"1\", vm: 100}\n"
                                            "      - {address: \"0000:82:00\", id: \"10de:2204\", "
                                            "physical-slot: \"2\", vm: 101}\n",
                                            "p.yaml");
    const auto planned = plan_profile(host, profile, "p.yaml", "t", 0);
    CHECK(pt::pci::format_slot(planned.located.at(0).slot) == "0000:82:00");
    CHECK(pt::pci::format_slot(planned.located.at(1).slot) == "0000:81:00");
    // Each VM's entry is re-pointed; neither is told that the other VM passes its new slot.
    CHECK(*find_file(planned.setup.plan, k_vm)->after
          == "cpu: host\nhostpci0: 0000:82:00,pcie=1\nmachine: q35\n");
    CHECK(*find_file(planned.setup.plan, k_vm_101)->after
          == "cpu: host\nhostpci0: 0000:81:00,pcie=1\nmachine: q35\n");
    CHECK(std::none_of(
        planned.setup.plan.notes.begin(), planned.setup.plan.notes.end(), [](const auto& note) {
            return note.find("also pass") != std::string::npos;
        }));
    for (const auto& drift : planned.hardware) {
        CHECK(drift.found.find(" pass") == std::string::npos);
    }
    // Both slots still hold a card for vfio-pci: the hook keeps both GPUs' addresses (their
    // audio functions go by ID: no card that stays has those IDs).
    const auto* hook = find_file(planned.setup.plan, std::string(pt::driver::k_hook));
    const auto text =
        hook ? hook->after
             : pt::host::Root(tmp.path()).read_file_if_exists(std::string(pt::driver::k_hook));
    REQUIRE(text);
    const auto addresses = pt::driver::parse_hook(*text);
    REQUIRE(addresses);
    CHECK(*addresses == std::vector<pt::pci::Address>{bound[0], bound[2]});
}
