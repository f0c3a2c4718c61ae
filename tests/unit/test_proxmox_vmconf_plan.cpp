// SPDX-License-Identifier: MIT
#include "pt/edit/apply.hpp"
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/host/write.hpp"
#include "pt/pci/topology.hpp"
#include "pt/proxmox/lint.hpp"
#include "pt/proxmox/vm_files.hpp"
#include "pt/proxmox/vmconf_plan.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <chrono>
#include <string>

using pt::proxmox::plan_vmconf;
using pt::proxmox::VmconfRequest;
using pt::test::DeviceSpec;
using pt::test::TempRoot;

namespace {

const char* const k_vm = "/etc/pve/nodes/pve1/qemu-server/100.conf";

void add_host(TempRoot& tmp) {
    tmp.write("/proc/sys/kernel/hostname", "pve1\n");
    DeviceSpec gpu;
    gpu.address = "0000:0b:00.0";
    gpu.driver = "vfio-pci";
    gpu.iommu_group = 16;
    tmp.add_device(gpu);
    DeviceSpec audio = gpu;
    audio.address = "0000:0b:00.1";
    audio.class_code = "040300";
    audio.device = "1aef";
    tmp.add_device(audio);
    DeviceSpec nic;
    nic.address = "0000:05:00.0";
    nic.vendor = "8086";
    nic.device = "1539";
    nic.class_code = "020000";
    nic.driver = "vfio-pci";
    nic.iommu_group = 5;
    tmp.add_device(nic);
    tmp.write("/usr/share/kvm/gpu.rom", "rom");
}

std::string after(const pt::proxmox::VmconfPlan& planned) {
    REQUIRE(planned.plan.files.size() == 1);
    REQUIRE(planned.plan.files[0].after);
    return *planned.plan.files[0].after;
}

pt::proxmox::VmconfPlan plan(const TempRoot& tmp, VmconfRequest request) {
    const pt::host::Root root(tmp.path());
    const auto topology = pt::pci::scan(root, nullptr);
    request.vmid = request.vmid == 0 ? 100 : request.vmid;
    return plan_vmconf(root, topology, request);
}

VmconfRequest add(std::string sel) {
    VmconfRequest r;
    r.selector = std::move(sel);
    return r;
}

} // namespace

TEST_CASE("vmconf adds a GPU with the defaults", "[proxmox][vmconf_plan]") {
    TempRoot tmp;
    add_host(tmp);
    SECTION("a fresh entry, q35, compute-only, whole slot; the lock is in the plan") {
        tmp.write(k_vm, "# my VM\nbios: seabios\nmemory: 4096\n");
        const auto p = plan(tmp, add("0b:00.0"));
        CHECK(after(p)
              == "# my VM\nbios: seabios\nhostpci0: 0000:0b:00,pcie=1\nmachine: "
                 "q35\nmemory: 4096\n");
        CHECK(p.hostpci_key == "hostpci0");
        CHECK(p.plan.locks == std::vector<std::string>{"/var/lock/qemu-server/lock-100.conf"});
        CHECK(pt::proxmox::qm_command(p)
              == "qm set 100 --hostpci0 0000:0b:00,pcie=1 --machine q35");
        CHECK(std::any_of(p.plan.notes.begin(), p.plan.notes.end(), [](const std::string& n) {
            return n.find("compute-only entry") != std::string::npos
                   && n.find("--display") != std::string::npos;
        }));
    }
    SECTION("--display: x-vga=1 on SeaBIOS; --compute removes it; not on a NIC") {
        tmp.write(k_vm, "bios: seabios\nmachine: q35\n");
        auto r = add("0b:00");
        r.role = pt::proxmox::GpuRole::display;
        CHECK(after(plan(tmp, r))
              == "bios: seabios\nhostpci0: 0000:0b:00,pcie=1,x-vga=1\nmachine: q35\n");
        tmp.write(k_vm, "hostpci0: 0000:0b:00,pcie=1,x-vga=1\nmachine: q35\n");
        CHECK(plan(tmp, add("0b:00")).plan.empty()); // the default keeps an existing x-vga
        r.role = pt::proxmox::GpuRole::compute;
        CHECK(after(plan(tmp, r)) == "hostpci0: 0000:0b:00,pcie=1\nmachine: q35\n");
        tmp.write(k_vm, "machine: q35\n");
        auto nic = add("05:00.0");
        nic.role = pt::proxmox::GpuRole::display;
        CHECK(after(plan(tmp, nic)) == "hostpci0: 0000:05:00,pcie=1\nmachine: q35\n");
    }
    SECTION("--function-only, an existing entry updated in place, spelling kept") {
        tmp.write(k_vm, "hostpci0: 0000:05:00.0\nhostpci1: 0b:00.0,rombar=0\nmachine: q35\n");
        auto r = add("0000:0b:00.0");
        r.function_only = true;
        const auto p = plan(tmp, r);
        CHECK(after(p)
              == "hostpci0: 0000:05:00.0\nhostpci1: 0b:00.0,pcie=1,rombar=0\n"
                 "machine: q35\n");
    }
    SECTION("a slot split over entries is merged into one") {
        tmp.write(k_vm, "hostpci0: 0b:00.0\nhostpci1: 0b:00.1\nmachine: q35\n");
        const auto p = plan(tmp, add("0b:00"));
        CHECK(after(p) == "hostpci0: 0000:0b:00,pcie=1\nmachine: q35\n");
    }
    SECTION("OVMF: no x-vga; a missing efidisk0 gives the qm command") {
        tmp.write(k_vm, "memory: 4096\n");
        auto r = add("0b:00");
        r.ovmf = true;
        const auto p = plan(tmp, r);
        CHECK(after(p) == "bios: ovmf\nhostpci0: 0000:0b:00,pcie=1\nmachine: q35\nmemory: 4096\n");
        const auto& notes = p.plan.notes;
        CHECK(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
            return n.find("qm set 100 --efidisk0 STORAGE:1,efitype=4m") != std::string::npos;
        }));
    }
    SECTION("i440fx needs --set-machine") {
        tmp.write(k_vm, "machine: pc-i440fx-8.1,viommu=virtio\n");
        CHECK_THROWS_AS(plan(tmp, add("0b:00")), pt::Error);
        auto r = add("0b:00");
        r.set_machine = true;
        CHECK(after(plan(tmp, r)) == "hostpci0: 0000:0b:00,pcie=1\nmachine: q35,viommu=virtio\n");
    }
    SECTION("romfile, rombar, hide-hypervisor, compute") {
        tmp.write(k_vm, "cpu: x86-64-v2-AES,flags=+aes\nhostpci0: 0b:00,x-vga=1\nmachine: q35\n");
        auto r = add("0b:00");
        r.romfile = "gpu.rom";
        r.rombar = false;
        r.hide_hypervisor = true;
        r.role = pt::proxmox::GpuRole::compute;
        // x86-64-v2-AES names itself a QEMU CPU to the guest: --hide-hypervisor makes it host.
        CHECK(after(plan(tmp, r))
              == "cpu: host,flags=+aes,hidden=1\nhostpci0: "
                 "0b:00,pcie=1,rombar=0,romfile=gpu.rom\nmachine: q35\n");
        r.romfile = "/var/lib/vz/gpu.rom";
        CHECK_THROWS_AS(plan(tmp, r), pt::UsageError);
        r.romfile = "missing.rom";
        CHECK_THROWS_AS(plan(tmp, r), pt::Error);
        r.romfile = "..";
        CHECK_THROWS_AS(plan(tmp, r), pt::UsageError);
        r.romfile = "sub/../../x.rom";
        CHECK_THROWS_AS(plan(tmp, r), pt::UsageError);
        tmp.write("/usr/share/kvm/sub/x.rom", "rom");
        r.romfile = "sub"; // a folder, not a ROM
        CHECK_THROWS_AS(plan(tmp, r), pt::Error);
        r.romfile = "sub/x.rom";
        CHECK_THAT(after(plan(tmp, r)), Catch::Contains("romfile=sub/x.rom"));
    }
    SECTION("--mapping writes mapping=ID") {
        tmp.write("/etc/pve/mapping/pci.cfg",
                  "gpu0\n\tmap id=10de:2204,node=pve1,path=0000:0b:00\n");
        tmp.write(k_vm, "hostpci0: 0000:0b:00,pcie=1,x-vga=1\nmachine: q35\n");
        VmconfRequest r;
        r.mapping = "gpu0";
        r.selector = "0b:00";
        CHECK(after(plan(tmp, r)) == "hostpci0: mapping=gpu0,pcie=1,x-vga=1\nmachine: q35\n");
        r.mapping = "nosuch";
        CHECK_THROWS_AS(plan(tmp, r), pt::Error);
    }
    SECTION("the lowest free index, and none past hostpci15") {
        std::string text = "hostpci0: 0000:05:00.0\nhostpci2: 01:00.0\nmachine: q35\n";
        tmp.write(k_vm, text);
        CHECK(plan(tmp, add("0b:00")).hostpci_key == "hostpci1");
        text.clear();
        for (int i = 0; i < 16; ++i) {
            text += "hostpci" + std::to_string(i) + ": 0" + std::to_string(i % 10) + ":1f.0\n";
        }
        tmp.write(k_vm, text + "machine: q35\n");
        CHECK_THROWS_AS(plan(tmp, add("0b:00")), pt::Error);
    }
    SECTION("idempotent: a second plan is empty") {
        tmp.write(k_vm, "hostpci0: 0000:0b:00,pcie=1,x-vga=1\nmachine: q35\n");
        CHECK(plan(tmp, add("0b:00.0")).plan.empty());
    }
    SECTION("--remove") {
        tmp.write(k_vm, "hostpci0: 0000:05:00.0\nhostpci1: 0b:00,pcie=1\nmachine: q35\n");
        VmconfRequest r;
        r.remove = "0b:00.1";
        CHECK(after(plan(tmp, r)) == "hostpci0: 0000:05:00.0\nmachine: q35\n");
    }
    SECTION("a VM on no node or on two is an error") {
        CHECK_THROWS_AS(plan(tmp, add("0b:00")), pt::Error);
        tmp.write(k_vm, "memory: 1\n");
        tmp.write("/etc/pve/nodes/pve2/qemu-server/100.conf", "memory: 1\n");
        CHECK_THROWS_WITH(plan(tmp, add("0b:00")), Catch::Contains("2 nodes"));
    }
    SECTION("a missing device on this node is an error") {
        tmp.write(k_vm, "memory: 1\n");
        CHECK_THROWS_AS(plan(tmp, add("0c:00")), pt::Error);
    }
    SECTION("a VM of another node: refused, except for --qm") {
        const char* const remote = "/etc/pve/nodes/pve2/qemu-server/100.conf";
        tmp.write(remote, "hostpci0: 0000:05:00.0\nmachine: q35\n\n[PENDING]\nmemory: 2\n");
        CHECK_THROWS_WITH(plan(tmp, add("0b:00")),
                          Catch::Contains("VM 100 is on node pve2; run pt there, or use --qm"));
        auto r = add("0b:00");
        r.qm = true;
        const auto p = plan(tmp, r);
        CHECK(p.plan.locks.empty());
        CHECK(pt::proxmox::qm_command(p) == "qm set 100 --hostpci1 0000:0b:00,pcie=1");
    }
    SECTION("a missing machine becomes q35, with a note about the new chipset") {
        tmp.write(k_vm, "memory: 1\n");
        const auto p = plan(tmp, add("0b:00"));
        CHECK(after(p) == "hostpci0: 0000:0b:00,pcie=1\nmachine: q35\nmemory: 1\n");
        const auto& notes = p.plan.notes;
        CHECK(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
            return n.find("i440fx to q35") != std::string::npos
                   && n.find("ens18") != std::string::npos;
        }));
        tmp.write(k_vm, "machine: q35\nmemory: 1\n");
        const auto q = plan(tmp, add("0b:00"));
        CHECK(std::none_of(q.plan.notes.begin(), q.plan.notes.end(), [](const std::string& n) {
            return n.find("i440fx to q35") != std::string::npos;
        }));
    }
}

TEST_CASE("vmconf sets the CPU type; --hide-hypervisor keeps no self-naming QEMU CPU",
          "[proxmox][vmconf_plan]") {
    TempRoot tmp;
    add_host(tmp);
    tmp.write(k_vm, "cpu: x86-64-v2-AES,flags=+aes\nmachine: q35\n");
    VmconfRequest r;
    r.cpu = "host";
    CHECK(after(plan(tmp, r)) == "cpu: host,flags=+aes\nmachine: q35\n");
    r.hide_hypervisor = true;
    CHECK(after(plan(tmp, r)) == "cpu: host,flags=+aes,hidden=1\nmachine: q35\n");
    r.cpu = "kvm64";
    CHECK_THROWS_WITH(plan(tmp, r), Catch::Contains("reports itself to the guest as a QEMU CPU"));
    r.cpu = "host,hidden=1";
    CHECK_THROWS_AS(plan(tmp, r), pt::UsageError);
    VmconfRequest hide;
    hide.hide_hypervisor = true;
    tmp.write(k_vm, "machine: q35\n"); // no cpu: line is kvm64
    const auto p = plan(tmp, hide);
    CHECK(after(p) == "cpu: host,hidden=1\nmachine: q35\n");
    CHECK(std::any_of(p.plan.notes.begin(), p.plan.notes.end(), [](const std::string& n) {
        return n.find("kvm64 (no cpu: line) names itself a QEMU CPU") != std::string::npos;
    }));
    tmp.write(k_vm, "cpu: Skylake-Client\nmachine: q35\n"); // a named model stays
    CHECK(after(plan(tmp, hide)) == "cpu: Skylake-Client,hidden=1\nmachine: q35\n");
}

TEST_CASE("vmconf refuses locked VMs and templates; plans with [PENDING] values",
          "[proxmox][vmconf_plan]") {
    TempRoot tmp;
    add_host(tmp);
    tmp.write(k_vm, "lock: backup\nmachine: q35\n");
    CHECK_THROWS_WITH(plan(tmp, add("0b:00")),
                      Catch::Contains("VM 100 is locked (backup)")
                          && Catch::Contains("qm unlock 100"));
    auto qm = add("0b:00");
    qm.qm = true;
    CHECK_THROWS_AS(plan(tmp, qm), pt::Error);
    tmp.write(k_vm, "lock: suspended\nmachine: q35\n");
    CHECK_THROWS_WITH(plan(tmp, add("0b:00")), Catch::Contains("qm start 100"));

    tmp.write(k_vm, "machine: q35\ntemplate: 1\n");
    CHECK_THROWS_WITH(plan(tmp, add("0b:00")),
                      Catch::Contains("is a template") && Catch::Contains("--force"));
    auto forced = add("0b:00");
    forced.force = true;
    const auto p = plan(tmp, forced);
    CHECK(after(p) == "hostpci0: 0000:0b:00,pcie=1\nmachine: q35\ntemplate: 1\n");
    CHECK(std::any_of(p.plan.notes.begin(), p.plan.notes.end(), [](const std::string& n) {
        return n.find("clones made from now on inherit") != std::string::npos;
    }));

    // Stopped, [PENDING] bios: ovmf: Proxmox starts it with OVMF, so --display adds no x-vga.
    tmp.write(k_vm, "machine: q35\n\n[PENDING]\nbios: ovmf\n");
    auto display = add("0b:00");
    display.role = pt::proxmox::GpuRole::display;
    const auto q = plan(tmp, display);
    CHECK(after(q) == "hostpci0: 0000:0b:00,pcie=1\nmachine: q35\n\n[PENDING]\nbios: ovmf\n");
    CHECK(std::any_of(q.plan.notes.begin(), q.plan.notes.end(), [](const std::string& n) {
        return n.find("[PENDING] changes (bios: ovmf)") != std::string::npos;
    }));
}

TEST_CASE("vmconf does not edit an entry qemu-server rejects, and removes it",
          "[proxmox][vmconf_plan]") {
    TempRoot tmp;
    add_host(tmp);
    // Two hosts in one entry (a fuzz finding): an edit could not keep what was meant.
    tmp.write(k_vm, "hostpci0: 0000:0b:00,host=0000:05:00,x-vga=0\nmachine: q35\n");
    CHECK_THROWS_WITH(plan(tmp, add("0b:00")),
                      Catch::Contains(std::string(k_vm) + ": hostpci0: 0000:0b:00,host=0000:05:00")
                          && Catch::Contains("the host IDs are given twice")
                          && Catch::Contains("qm set 100 --delete hostpci0"));
    VmconfRequest remove;
    remove.remove = "0b:00";
    CHECK(after(plan(tmp, remove)) == "machine: q35\n");
}

TEST_CASE("vmconf on a running VM writes [PENDING]", "[proxmox][vmconf_plan]") {
    TempRoot tmp;
    add_host(tmp);
    tmp.write("/var/run/qemu-server/100.pid", "4242\n");
    tmp.write("/proc/4242/comm", "kvm\n");
    tmp.write(k_vm, "hostpci0: 0000:05:00.0\nmachine: q35\n\n[snap]\nmemory: 1\n");
    auto p = plan(tmp, add("0b:00"));
    CHECK(p.running);
    CHECK(after(p)
          == "hostpci0: 0000:05:00.0\nmachine: q35\n\n[PENDING]\nhostpci1: "
             "0000:0b:00,pcie=1\n\n[snap]\nmemory: 1\n");
    VmconfRequest r;
    r.remove = "05:00.0";
    CHECK(after(plan(tmp, r))
          == "hostpci0: 0000:05:00.0\nmachine: q35\n\n[PENDING]\ndelete: hostpci0\n\n[snap]\n"
             "memory: 1\n");
    // A stale pid file: the VM is stopped.
    tmp.write("/var/run/qemu-server/100.pid", "999999\n");
    CHECK_FALSE(plan(tmp, add("0b:00")).running);
}

TEST_CASE("edit::apply holds the plan's locks", "[proxmox][vmconf_plan][edit]") {
    TempRoot tmp;
    add_host(tmp);
    tmp.write(k_vm, "memory: 1\n");
    const auto p = plan(tmp, add("0b:00"));
    const pt::host::Root root(tmp.path());
    pt::edit::ApplyOptions options;
    options.lock_notify_after = std::chrono::milliseconds(10);
    options.lock_timeout = std::chrono::milliseconds(200);
    std::string waited;
    options.on_lock_wait = [&] {
        waited = "pt's own lock";
    };
    options.on_plan_lock_wait = [&](const std::string& path) {
        waited = path;
    };
    {
        // qm holds the VM's lock: pt waits, then gives up without writing.
        const auto held = pt::host::lock_file(root,
                                              pt::proxmox::vm_lock_path(100),
                                              std::chrono::milliseconds(0),
                                              std::chrono::milliseconds(100),
                                              nullptr,
                                              pt::host::ForeignLock{});
        CHECK_THROWS_WITH(pt::edit::apply(p.plan, root, options),
                          Catch::Contains("VM 100's config is locked by another process"));
        CHECK(waited == "/var/lock/qemu-server/lock-100.conf");
        CHECK(root.read_file("/var/lock/qemu-server/lock-100.conf").empty());
        CHECK(root.read_file(k_vm) == "memory: 1\n");
    }
    const auto result = pt::edit::apply(p.plan, root, options);
    CHECK(result.files_written == 1);
    CHECK(root.read_file(k_vm) == after(p));
    CHECK(root.exists("/var/lock/qemu-server/lock-100.conf"));
    CHECK(plan(tmp, add("0b:00")).plan.empty());
}
