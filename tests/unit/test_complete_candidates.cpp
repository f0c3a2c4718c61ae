// SPDX-License-Identifier: MIT
#include "pt/complete/candidates.hpp"
#include "pt/edit/journal.hpp"
#include "pt/edit/plan.hpp"
#include "pt/host/root.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

using pt::complete::Candidate;
using pt::complete::Devices;

namespace {

std::vector<std::string> values(const std::vector<Candidate>& candidates) {
    std::vector<std::string> out;
    for (const auto& c : candidates) {
        out.push_back(c.value);
    }
    return out;
}

// A root port with a GPU (VGA + audio) behind it, a host bridge, and a VMD domain NVMe drive.
void add_host(pt::test::TempRoot& t) {
    const auto add = [&t](const std::string& address,
                          const std::string& ids,
                          const std::string& class_code,
                          std::optional<std::string> driver = std::nullopt) {
        pt::test::DeviceSpec spec;
        spec.address = address;
        spec.vendor = ids.substr(0, 4);
        spec.device = ids.substr(5);
        spec.class_code = class_code;
        spec.driver = std::move(driver);
        t.add_device(spec);
    };
    add("0000:00:00.0", "1022:1480", "060000");
    add("0000:00:01.1", "1022:1483", "060400");
    add("0000:81:00.0", "10de:2204", "030000", "vfio-pci");
    add("0000:81:00.1", "10de:1aef", "040300");
    add("10000:e1:00.0", "144d:a80a", "010802");
}

} // namespace

TEST_CASE("complete::device_selectors: short forms, endpoints only, full forms on request",
          "[complete]") {
    pt::test::TempRoot t;
    add_host(t);
    const pt::host::Root root(t.path());

    CHECK(
        values(pt::complete::device_selectors(root, "", Devices::endpoints))
        == std::vector<std::string>{"81:00", "81:00.0", "81:00.1", "10000:e1:00", "10000:e1:00.0"});
    CHECK(values(pt::complete::device_selectors(root, "", Devices::any))
          == std::vector<std::string>{"00:00",
                                      "00:00.0",
                                      "00:01",
                                      "00:01.1",
                                      "81:00",
                                      "81:00.0",
                                      "81:00.1",
                                      "10000:e1:00",
                                      "10000:e1:00.0"});
    CHECK(values(pt::complete::device_selectors(root, "81:00.", Devices::endpoints))
          == std::vector<std::string>{"81:00.0", "81:00.1"});
    // "000" can only start a full domain-0000 address.
    CHECK(values(pt::complete::device_selectors(root, "0000:8", Devices::endpoints))
          == std::vector<std::string>{"0000:81:00", "0000:81:00.0", "0000:81:00.1"});
    CHECK(pt::complete::device_selectors(root, "00:", Devices::endpoints).empty());

    const auto gpu = pt::complete::device_selectors(root, "81:00.0", Devices::endpoints);
    REQUIRE(gpu.size() == 1);
    CHECK(gpu[0].description == "0300 10de:2204 vfio-pci");
}

TEST_CASE("complete::params_to_add: what pt writes, never folklore", "[complete][folklore]") {
    pt::test::TempRoot t;
    add_host(t);
    const pt::host::Root root(t.path());

    t.write("/proc/cpuinfo", "vendor_id\t: AuthenticAMD\n");
    const auto amd = values(pt::complete::params_to_add(root, ""));
    CHECK(
        amd
        == std::vector<std::string>{"iommu=pt", "initcall_blacklist=sysfb_init", "vfio-pci.ids="});
    t.write("/proc/cpuinfo", "vendor_id\t: GenuineIntel\n");
    CHECK(values(pt::complete::params_to_add(root, "intel"))
          == std::vector<std::string>{"intel_iommu=on"});
    CHECK(pt::complete::params_to_add(root, "video").empty());
    CHECK(pt::complete::params_to_add(root, "amd_iommu").empty());
    CHECK(pt::complete::params_to_add(root, "vfio_virqfd").empty());
    // vfio-pci.ids= with the endpoints' IDs, once each; the typed items stay.
    CHECK(values(pt::complete::params_to_add(root, "vfio-pci.ids="))
          == std::vector<std::string>{
              "vfio-pci.ids=10de:2204", "vfio-pci.ids=10de:1aef", "vfio-pci.ids=144d:a80a"});
    CHECK(values(pt::complete::params_to_add(root, "vfio-pci.ids=10de:2204,10de:1"))
          == std::vector<std::string>{"vfio-pci.ids=10de:2204,10de:1aef"});
}

TEST_CASE("complete: groups in numeric order, VMIDs, CTIDs, mappings, ROM files", "[complete]") {
    pt::test::TempRoot t;
    const pt::host::Root root(t.path());
    CHECK(pt::complete::iommu_groups(root).empty());
    CHECK(pt::complete::vmids(root).empty());
    CHECK(pt::complete::mapping_ids(root).empty());
    CHECK(pt::complete::journal_entries(root).empty());

    for (const char* n : {"1", "10", "2"}) {
        t.mkdir(std::string("/sys/kernel/iommu_groups/") + n + "/devices");
    }
    CHECK(values(pt::complete::iommu_groups(root)) == std::vector<std::string>{"1", "2", "10"});

    t.write("/etc/pve/nodes/pve1/qemu-server/101.conf", "memory: 1024\n");
    t.write("/etc/pve/nodes/pve2/qemu-server/100.conf", "memory: 1024\n");
    t.write("/etc/pve/nodes/pve2/qemu-server/notes.txt", "");
    const auto vms = pt::complete::vmids(root);
    CHECK(values(vms) == std::vector<std::string>{"100", "101"});
    CHECK(vms[0].description == "pve2");

    CHECK(pt::complete::ctids(root).empty());
    t.write("/etc/pve/nodes/pve1/lxc/200.conf", "arch: amd64\n");
    t.write("/etc/pve/nodes/pve2/lxc/201.conf", "arch: amd64\n");
    const auto cts = pt::complete::ctids(root);
    CHECK(values(cts) == std::vector<std::string>{"200", "201"});
    CHECK(cts[1].description == "pve2");

    t.write("/etc/pve/mapping/pci.cfg",
            "gpu\n\tmap id=10de:2204,node=pve1,path=0000:81:00.0\n\nnic\n\tmap "
            "id=8086:1533,node=pve1,path=0000:41:00.0\n");
    CHECK(values(pt::complete::mapping_ids(root)) == std::vector<std::string>{"gpu", "nic"});

    t.write("/usr/share/kvm/gpu.rom", "");
    CHECK(values(pt::complete::rom_files(root)) == std::vector<std::string>{"gpu.rom"});

    CHECK(values(pt::complete::starting_with({{"ab", ""}, {"b", ""}, {"a", ""}}, "a"))
          == std::vector<std::string>{"ab", "a"});
}

TEST_CASE("complete::journal_entries: entries pt undo can take, newest first, with titles",
          "[complete]") {
    pt::test::TempRoot t;
    const pt::host::Root root(t.path());
    const auto at = [](long seconds) {
        return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
    };
    pt::edit::Plan first;
    first.title = "pt grub --iommu-pt";
    auto older = pt::edit::create_entry(root, first, {}, at(1'700'000'000));
    older.status = pt::edit::EntryStatus::applied;
    pt::edit::update_entry(root, older);
    pt::edit::Plan second;
    second.title = "pt blacklist";
    auto newer = pt::edit::create_entry(root, second, {}, at(1'700'000'100));
    newer.status = pt::edit::EntryStatus::applied;
    pt::edit::update_entry(root, newer);

    auto entries = pt::complete::journal_entries(root);
    CHECK(values(entries) == std::vector<std::string>{newer.id, older.id});
    CHECK(entries[0].description == "pt blacklist (applied)");

    older.status = pt::edit::EntryStatus::undone;
    pt::edit::update_entry(root, older);
    CHECK(values(pt::complete::journal_entries(root)) == std::vector<std::string>{newer.id});
}
