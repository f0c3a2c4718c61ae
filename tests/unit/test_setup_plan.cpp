// SPDX-License-Identifier: MIT
#include "pt/driver/bind.hpp"
#include "pt/driver/blacklist.hpp"
#include "pt/error.hpp"
#include "pt/grub/plan.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/selector.hpp"
#include "pt/proxmox/vmconf_plan.hpp"
#include "pt/setup/plan.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

using pt::setup::plan_setup;
using pt::setup::Request;
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

// An AMD host on kernel 6.8 with GRUB (nothing to add to the command line), an ASPEED BMC as the
// boot display, an RTX 3090 with its audio alone in group 31 on nouveau, and VM 100 on node pve1
// with Proxmox's defaults. `cpu` is VM 100's cpu: line, if any.
void seed_host(TempRoot& tmp, std::optional<std::string> cpu = std::nullopt) {
    tmp.write("/proc/cpuinfo", "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: svm\n");
    tmp.write("/proc/sys/kernel/osrelease", "6.8.12-4-pve\n");
    tmp.write("/proc/cmdline",
              "BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve root=/dev/mapper/pve-root ro quiet\n");
    tmp.write("/etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
    tmp.write("/proc/sys/kernel/hostname", "pve1\n");
    tmp.add_device(function("0000:81:00.0", "2204", "030000", 31));
    tmp.add_device(function("0000:81:00.1", "1aef", "040300", 31));
    DeviceSpec bmc;
    bmc.address = "0000:c2:00.0";
    bmc.vendor = "1a03";
    bmc.device = "2000";
    bmc.driver = "ast";
    bmc.iommu_group = 41;
    bmc.attrs = {{"boot_vga", "1\n"}};
    tmp.add_device(bmc);
    std::string vm = "boot: order=scsi0\ncores: 8\nmemory: 32768\nname: ollama\nostype: l26\n"
                     "scsi0: local-lvm:vm-100-disk-0,size=128G\n";
    if (cpu) {
        vm = "cpu: " + *cpu + "\n" + vm;
    }
    tmp.write(k_vm, vm);
}

Request request_for(std::string selector, int vmid = 100) {
    Request request;
    request.title = fmt::format("pt setup {} --vm {}", selector, vmid);
    pt::setup::Card card;
    card.selector = std::move(selector);
    card.vmid = vmid;
    request.cards.push_back(std::move(card));
    return request;
}

const pt::edit::FileEdit* find_file(const pt::edit::Plan& plan, const std::string& path) {
    const auto it = std::find_if(
        plan.files.begin(), plan.files.end(), [&](const auto& file) { return file.path == path; });
    return it == plan.files.end() ? nullptr : &*it;
}

std::vector<std::string> paths(const pt::edit::Plan& plan) {
    std::vector<std::string> out;
    for (const auto& file : plan.files) {
        out.push_back(file.path);
    }
    return out;
}

} // namespace

TEST_CASE("setup::plan_setup is the single planners' plans, in the story's order",
          "[setup][plan]") {
    TempRoot tmp;
    seed_host(tmp);
    const pt::model::Host host{pt::host::Root(tmp.path())};
    const auto planned = plan_setup(host, request_for("81:00"));

    CHECK(pt::pci::format_slot(planned.slots.at(0)) == "0000:81:00");
    std::vector<std::string> names;
    for (const auto& step : planned.steps) {
        names.push_back(step.name);
    }
    CHECK(names
          == std::vector<std::string>{"kernel command line", "host drivers", "vfio-pci", "VM 100"});

    // Each step is exactly what its planner makes on the same model.
    pt::driver::BlacklistRequest blacklist;
    blacklist.selectors = {"0000:81:00"};
    CHECK(paths(planned.steps[1].plan) == paths(pt::driver::plan_blacklist(host, blacklist)));
    pt::driver::BindRequest bind;
    bind.selectors = {pt::pci::parse_selector("0000:81:00")};
    const auto bound = pt::driver::plan_bind(host, bind);
    CHECK(paths(planned.steps[2].plan) == paths(bound));
    CHECK(planned.steps[0].plan.files.empty()); // AMD on 6.8: nothing for the command line

    // The whole plan: every step's files once, the initramfs follow-up once, a reboot.
    std::vector<std::string> all;
    for (const auto& step : planned.steps) {
        const auto step_paths = paths(step.plan);
        all.insert(all.end(), step_paths.begin(), step_paths.end());
    }
    CHECK(paths(planned.plan) == all);
    CHECK(planned.plan.follow_ups == std::vector{pt::edit::FollowUp::update_initramfs});
    CHECK(planned.plan.reboot_needed);
    CHECK(planned.plan.title == "pt setup 81:00 --vm 100");
    CHECK(planned.remaining == std::vector<std::string>{"reboot the host", "pt verify --vm 100"});

    const auto* vm = find_file(planned.plan, k_vm);
    REQUIRE(vm);
    REQUIRE(vm->after);
    CHECK_THAT(*vm->after, Catch::Contains("hostpci0: 0000:81:00,pcie=1\n"));
    CHECK_THAT(*vm->after, Catch::Contains("machine: q35\n"));
    CHECK_THAT(*vm->after, Catch::Contains("cpu: host\n"));
    CHECK_THAT(*vm->after, !Catch::Contains("x-vga"));
    CHECK(std::find(planned.plan.locks.begin(),
                    planned.plan.locks.end(),
                    "/var/lock/qemu-server/lock-100.conf")
          != planned.plan.locks.end());
}

TEST_CASE("setup::plan_setup predicts the next boot once, from the whole plan", "[setup][plan]") {
    TempRoot tmp;
    seed_host(tmp);
    const pt::model::Host host{pt::host::Root(tmp.path())};
    const auto planned = plan_setup(host, request_for("81:00.0"));
    std::vector<std::string> predictions;
    for (const auto& note : planned.plan.notes) {
        if (note.find("next boot: ") != std::string::npos) {
            predictions.push_back(note);
        }
    }
    // The blacklist alone predicts "no driver"; with the binding in the same plan, vfio-pci.
    REQUIRE(predictions.size() == 2);
    CHECK_THAT(predictions[0], Catch::StartsWith("next boot: 0000:81:00.0 -> vfio-pci"));
    CHECK_THAT(predictions[1], Catch::StartsWith("next boot: 0000:81:00.1 -> vfio-pci"));
}

TEST_CASE("setup::plan_setup uses", "[setup][plan]") {
    TempRoot tmp;

    SECTION("compute keeps a CPU type the VM names") {
        seed_host(tmp, "x86-64-v2-AES");
        const pt::model::Host host{pt::host::Root(tmp.path())};
        const auto planned = plan_setup(host, request_for("81:00"));
        const auto* vm = find_file(planned.plan, k_vm);
        REQUIRE(vm);
        CHECK_THAT(*vm->after, Catch::Contains("cpu: x86-64-v2-AES\n"));
        CHECK(planned.steps.back().command == "pt vmconf 100 0000:81:00 --compute --apply");
    }
    SECTION("compute without a CPU type names --cpu host in the single command") {
        seed_host(tmp);
        const pt::model::Host host{pt::host::Root(tmp.path())};
        const auto planned = plan_setup(host, request_for("81:00"));
        CHECK(planned.steps.back().command
              == "pt vmconf 100 0000:81:00 --compute --cpu host --apply");
    }
    SECTION("--keep-cpu leaves the CPU alone") {
        seed_host(tmp);
        const pt::model::Host host{pt::host::Root(tmp.path())};
        auto request = request_for("81:00");
        request.cards[0].keep_cpu = true;
        const auto planned = plan_setup(host, request);
        const auto* vm = find_file(planned.plan, k_vm);
        REQUIRE(vm);
        CHECK_THAT(*vm->after, !Catch::Contains("cpu:"));
    }
    SECTION("display adds x-vga=1 on SeaBIOS and names pt rom-dump") {
        seed_host(tmp);
        const pt::model::Host host{pt::host::Root(tmp.path())};
        auto request = request_for("81:00");
        request.cards[0].role = pt::proxmox::GpuRole::display;
        const auto planned = plan_setup(host, request);
        const auto* vm = find_file(planned.plan, k_vm);
        REQUIRE(vm);
        CHECK_THAT(*vm->after, Catch::Contains("hostpci0: 0000:81:00,pcie=1,x-vga=1\n"));
        CHECK_THAT(*vm->after, !Catch::Contains("cpu:"));
        CHECK(std::any_of(planned.plan.notes.begin(), planned.plan.notes.end(), [](const auto& n) {
            return n.find("pt rom-dump 0000:81:00") != std::string::npos;
        }));
    }
}

TEST_CASE("setup::plan_setup with --mapping plans the mapping and the VM entry together",
          "[setup][plan]") {
    TempRoot tmp;
    seed_host(tmp);
    const pt::model::Host host{pt::host::Root(tmp.path())};
    auto request = request_for("81:00");
    request.cards[0].mapping = "rtx3090";
    const auto planned = plan_setup(host, request);
    REQUIRE(planned.steps.size() == 5);
    CHECK(planned.steps[3].name == "mapping");
    CHECK(planned.steps[3].command == "pt mapping rtx3090 0000:81:00 --apply");
    const auto* cfg = find_file(planned.plan, "/etc/pve/mapping/pci.cfg");
    REQUIRE(cfg);
    CHECK_THAT(*cfg->after, Catch::StartsWith("rtx3090\n"));
    const auto* vm = find_file(planned.plan, k_vm);
    REQUIRE(vm);
    CHECK_THAT(*vm->after, Catch::Contains("hostpci0: mapping=rtx3090,pcie=1\n"));
}

TEST_CASE("setup::plan_setup refuses as a whole", "[setup][plan]") {
    TempRoot tmp;
    seed_host(tmp);

    SECTION("a selector that matches nothing") {
        const pt::model::Host host{pt::host::Root(tmp.path())};
        CHECK_THROWS_WITH(plan_setup(host, request_for("99:00")),
                          Catch::Contains("no PCI device on this host matches 99:00"));
    }
    SECTION("vendor:device of two cards is a usage error naming both slots") {
        tmp.add_device(function("0000:82:00.0", "2204", "030000", 32));
        const pt::model::Host host{pt::host::Root(tmp.path())};
        CHECK_THROWS_AS(plan_setup(host, request_for("10de:2204")), pt::UsageError);
        CHECK_THROWS_WITH(plan_setup(host, request_for("10de:2204")),
                          Catch::Contains("0000:81:00, 0000:82:00"));
    }
    SECTION("a group shared with another slot: pt bind's refusal") {
        tmp.add_device(function("0000:81:01.0", "1aef", "040300", 31));
        const pt::model::Host host{pt::host::Root(tmp.path())};
        CHECK_THROWS_WITH(plan_setup(host, request_for("81:00")),
                          Catch::Contains("--include-group"));
    }
    SECTION("a locked VM: pt vmconf's refusal") {
        tmp.write(k_vm, pt::host::Root(tmp.path()).read_file(k_vm) + "lock: backup\n");
        const pt::model::Host host{pt::host::Root(tmp.path())};
        CHECK_THROWS_AS(plan_setup(host, request_for("81:00")), pt::Error);
    }
    SECTION("no VM") {
        const pt::model::Host host{pt::host::Root(tmp.path())};
        auto request = request_for("81:00");
        request.cards[0].vmid = 0;
        CHECK_THROWS_AS(plan_setup(host, request), pt::UsageError);
    }
}
