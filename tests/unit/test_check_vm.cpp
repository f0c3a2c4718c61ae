// SPDX-License-Identifier: MIT
#include "pt/check/host_context.hpp"
#include "pt/error.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using pt::check::Check;
using pt::check::HostContext;
using pt::check::Status;
using pt::test::DeviceSpec;
using pt::test::TempRoot;

namespace {

// Node pve1 with a GPU (two functions, one group, on vfio-pci) at 01:00.
void node(TempRoot& tmp) {
    tmp.write("/proc/sys/kernel/hostname", "pve1\n");
    DeviceSpec gpu;
    gpu.address = "0000:01:00.0";
    gpu.device = "2204";
    gpu.driver = "vfio-pci";
    gpu.iommu_group = 1;
    tmp.add_device(gpu);
    DeviceSpec audio;
    audio.address = "0000:01:00.1";
    audio.device = "1aef";
    audio.class_code = "040300";
    audio.driver = "vfio-pci";
    audio.iommu_group = 1;
    tmp.add_device(audio);
}

std::string vm_conf(int vmid, const std::string& node_name = "pve1") {
    return "/etc/pve/nodes/" + node_name + "/qemu-server/" + std::to_string(vmid) + ".conf";
}

struct Run {
    std::vector<Check> checks;
    std::vector<pt::check::VmDevice> devices;
    std::vector<std::string> notes;
};

Run run(const TempRoot& tmp, std::optional<int> vmid = std::nullopt) {
    const pt::model::Host model{pt::host::Root(tmp.path())};
    HostContext ctx(model);
    Run r;
    r.checks = pt::check::check_vms(ctx, vmid, r.notes);
    r.devices = ctx.vm_devices;
    return r;
}

std::vector<std::string> ids(const std::vector<Check>& checks) {
    std::vector<std::string> out;
    for (const auto& c : checks) {
        out.push_back(c.finding.id);
    }
    return out;
}

Check find(const std::vector<Check>& checks, std::string_view id) {
    for (const auto& c : checks) {
        if (c.finding.id == id) {
            return c;
        }
    }
    FAIL("no check " << id);
    return {};
}

} // namespace

TEST_CASE("check::vm: the VMs in scope and what they pass through", "[check][vm]") {
    TempRoot tmp;
    node(tmp);
    tmp.write(vm_conf(100), "bios: ovmf\nmachine: q35\nhostpci0: 0000:01:00,pcie=1\n");
    tmp.write(vm_conf(101), "memory: 2048\n");                   // no hostpci
    tmp.write(vm_conf(102, "pve2"), "hostpci0: 0000:01:00.0\n"); // another node's

    SECTION("default scope: local VMs with a hostpci entry") {
        const auto r = run(tmp);
        CHECK(r.notes.empty());
        REQUIRE_FALSE(r.checks.empty());
        for (const auto& c : r.checks) {
            CAPTURE(c.finding.id, c.finding.summary);
            CHECK(c.what.starts_with("VM 100 config"));
            CHECK(c.finding.status != Status::fail);
        }
        CHECK(find(r.checks, "vm.ok").what == "VM 100 config");
        // The slot is expanded to its functions; pve2's config names no device of this host.
        REQUIRE(r.devices.size() == 2);
        CHECK(r.devices[0].vmid == 100);
        CHECK(r.devices[0].key == "hostpci0");
        CHECK(pt::pci::format(r.devices[0].address) == "0000:01:00.0");
        CHECK(pt::pci::format(r.devices[1].address) == "0000:01:00.1");
        CHECK(r.devices[0].ovmf);
        CHECK_FALSE(r.devices[0].romfile);
    }
    SECTION("--vm: that VM alone, even without hostpci") {
        const auto r = run(tmp, 101);
        CHECK(ids(r.checks) == std::vector<std::string>{"vm.ok"});
        CHECK(r.checks[0].what == "VM 101 config");
        CHECK(r.devices.empty());
    }
    SECTION("--vm of a VM that has no config: pt::Error naming it") {
        CHECK_THROWS_AS(run(tmp, 999), pt::Error);
        CHECK_THROWS_WITH(run(tmp, 999), Catch::StartsWith("VM 999 does not exist"));
    }
    SECTION("a config that cannot be read is a note") {
        tmp.symlink(vm_conf(103), "/nonexistent/103.conf");
        const auto r = run(tmp);
        CHECK(r.notes == std::vector<std::string>{vm_conf(103) + ": cannot be read"});
    }
}

TEST_CASE("check::vm: bios spelled other than Proxmox accepts", "[check][vm]") {
    TempRoot tmp;
    node(tmp);
    tmp.write(vm_conf(100), "bios: OVMF\nmachine: q35\nhostpci0: 0000:01:00,pcie=1\n");
    const auto r = run(tmp);
    const auto c = find(r.checks, "vm.bios-invalid");
    CHECK(c.what == "VM 100 config: bios invalid");
    CHECK(c.finding.status == Status::fail);
    CHECK_THAT(c.finding.summary,
               Catch::StartsWith("VM 100: bios: OVMF is not a value Proxmox accepts")
                   && Catch::EndsWith("the VM boots SeaBIOS, not OVMF"));
    CHECK(c.finding.evidence == vm_conf(100) + ": bios: OVMF");
    CHECK(c.finding.fix == "qm set 100 --bios ovmf");
    // The VM has a problem, so the lint's "no problem" is dropped; the devices are not OVMF's.
    const auto all = ids(r.checks);
    CHECK(std::find(all.begin(), all.end(), "vm.ok") == all.end());
    REQUIRE_FALSE(r.devices.empty());
    CHECK_FALSE(r.devices[0].ovmf);
}

TEST_CASE("check::vm: mappings the VMs use", "[check][vm]") {
    TempRoot tmp;
    node(tmp);
    tmp.write(vm_conf(100), "bios: ovmf\nmachine: q35\nhostpci0: mapping=gpu,pcie=1\n");
    SECTION("a mapping with this node's entry: its device is the VM's, and it is checked") {
        tmp.write("/etc/pve/mapping/pci.cfg",
                  "gpu\n"
                  "\tmap id=10de:2204,iommugroup=1,node=pve1,path=0000:01:00.0,"
                  "subsystem-id=1458:403b\n"
                  "\tmap id=10de:2204,iommugroup=7,node=pve2,path=0000:41:00.0\n");
        const auto r = run(tmp);
        REQUIRE(r.devices.size() == 1);
        CHECK(pt::pci::format(r.devices[0].address) == "0000:01:00.0");
        const auto c = find(r.checks, "mapping.valid");
        CHECK(c.what == "mapping gpu");
        CHECK(c.finding.status == Status::pass);
    }
    SECTION("a mapping that does not exist: mapping.invalid with the command that makes it") {
        tmp.write("/etc/pve/mapping/pci.cfg",
                  "other\n\tmap id=10de:2204,iommugroup=1,node=pve1,path=0000:01:00.0\n");
        const auto r = run(tmp);
        CHECK(r.devices.empty());
        const auto c = find(r.checks, "mapping.invalid");
        CHECK(c.what == "mapping gpu: invalid");
        CHECK(c.finding.status == Status::fail);
        CHECK(c.finding.fix == "pt mapping gpu SEL --apply");
    }
}
