// SPDX-License-Identifier: MIT
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/proxmox/vm_files.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <string>
#include <vector>

using pt::proxmox::VmFile;
using pt::test::TempRoot;

namespace {

pt::host::Root root(const TempRoot& tmp) {
    return pt::host::Root(tmp.path());
}

// "vmid node path local" per file, for one comparison.
std::vector<std::string> listed(const TempRoot& tmp) {
    std::vector<std::string> out;
    for (const auto& vm : pt::proxmox::find_vms(root(tmp))) {
        out.push_back(std::to_string(vm.vmid) + " " + vm.node + " " + vm.path
                      + (vm.local ? " local" : ""));
    }
    return out;
}

} // namespace

TEST_CASE("proxmox::vm_files: local_node", "[proxmox][vm_files]") {
    TempRoot tmp;
    CHECK_FALSE(pt::proxmox::local_node(root(tmp)));
    SECTION("the /etc/pve/local link names it when nothing else does") {
        tmp.mkdir("/etc/pve/nodes/pve3");
        tmp.symlink("/etc/pve/local", "nodes/pve3");
        CHECK(pt::proxmox::local_node(root(tmp)) == "pve3");
        SECTION("/etc/hostname comes before it, the first label only") {
            tmp.write("/etc/hostname", "pve2.example.com\n");
            CHECK(pt::proxmox::local_node(root(tmp)) == "pve2");
            SECTION("/proc/sys/kernel/hostname comes first") {
                tmp.write("/proc/sys/kernel/hostname", "pve1 \n");
                CHECK(pt::proxmox::local_node(root(tmp)) == "pve1");
            }
            SECTION("an empty hostname file does not count") {
                tmp.write("/proc/sys/kernel/hostname", "\n");
                CHECK(pt::proxmox::local_node(root(tmp)) == "pve2");
            }
        }
    }
}

TEST_CASE("proxmox::vm_files: find_vms over the cluster's nodes", "[proxmox][vm_files]") {
    TempRoot tmp;
    tmp.write("/proc/sys/kernel/hostname", "pve1\n");
    tmp.write("/etc/pve/nodes/pve1/qemu-server/100.conf", "");
    tmp.write("/etc/pve/nodes/pve1/qemu-server/20.conf", "");
    tmp.write("/etc/pve/nodes/pve2/qemu-server/100.conf", "");
    tmp.write("/etc/pve/nodes/pve2/qemu-server/101.conf", "");
    // Not VM configs: a leading zero, no digits, another suffix, too long.
    tmp.write("/etc/pve/nodes/pve1/qemu-server/0100.conf", "");
    tmp.write("/etc/pve/nodes/pve1/qemu-server/template.conf", "");
    tmp.write("/etc/pve/nodes/pve1/qemu-server/102.conf.bak", "");
    tmp.write("/etc/pve/nodes/pve1/qemu-server/1234567890.conf", "");
    tmp.write("/etc/pve/nodes/pve1/qemu-server/.conf", "");

    SECTION("pmxcfs's link: listed once, by vmid then path") {
        tmp.symlink("/etc/pve/qemu-server", "nodes/pve1/qemu-server");
        CHECK(listed(tmp)
              == std::vector<std::string>{
                  "20 pve1 /etc/pve/nodes/pve1/qemu-server/20.conf local",
                  "100 pve1 /etc/pve/nodes/pve1/qemu-server/100.conf local",
                  "100 pve2 /etc/pve/nodes/pve2/qemu-server/100.conf",
                  "101 pve2 /etc/pve/nodes/pve2/qemu-server/101.conf",
              });
    }
    SECTION("a real qemu-server folder (a copied tree) holds local VMs; nodes/ wins a tie") {
        tmp.write("/etc/pve/qemu-server/100.conf", "");
        tmp.write("/etc/pve/qemu-server/300.conf", "");
        CHECK(listed(tmp)
              == std::vector<std::string>{
                  "20 pve1 /etc/pve/nodes/pve1/qemu-server/20.conf local",
                  "100 pve1 /etc/pve/nodes/pve1/qemu-server/100.conf local",
                  "100 pve2 /etc/pve/nodes/pve2/qemu-server/100.conf",
                  "101 pve2 /etc/pve/nodes/pve2/qemu-server/101.conf",
                  "300 pve1 /etc/pve/qemu-server/300.conf local",
              });
    }
    SECTION("find_vm: one file, or an error naming the reason") {
        const VmFile vm = pt::proxmox::find_vm(root(tmp), 101);
        CHECK(vm.node == "pve2");
        CHECK(vm.path == "/etc/pve/nodes/pve2/qemu-server/101.conf");
        CHECK_FALSE(vm.local);
        CHECK_THROWS_AS(pt::proxmox::find_vm(root(tmp), 100), pt::Error);
        CHECK_THROWS_WITH(pt::proxmox::find_vm(root(tmp), 100),
                          Catch::StartsWith("VM 100 is configured on 2 nodes")
                              && Catch::Contains("/etc/pve/nodes/pve2/qemu-server/100.conf"));
        CHECK_THROWS_WITH(pt::proxmox::find_vm(root(tmp), 555),
                          Catch::StartsWith("VM 555 does not exist: no node has "
                                            "qemu-server/555.conf")
                              && Catch::Contains("`qm list`"));
    }
}

TEST_CASE("proxmox::vm_files: a copied tree without node name", "[proxmox][vm_files]") {
    TempRoot tmp;
    tmp.write("/etc/pve/qemu-server/100.conf", "");
    const auto vms = pt::proxmox::find_vms(root(tmp));
    REQUIRE(vms.size() == 1);
    CHECK(vms[0].node == "localhost");
    CHECK(vms[0].local);
}

TEST_CASE("proxmox::vm_files: lock and pid files, running_pid", "[proxmox][vm_files]") {
    CHECK(pt::proxmox::vm_lock_path(100) == "/var/lock/qemu-server/lock-100.conf");
    CHECK(pt::proxmox::vm_pid_path(100) == "/var/run/qemu-server/100.pid");
    TempRoot tmp;
    CHECK_FALSE(pt::proxmox::running_pid(root(tmp), 100)); // no pid file: stopped
    tmp.write("/var/run/qemu-server/100.pid", "4242\n");
    CHECK_FALSE(pt::proxmox::running_pid(root(tmp), 100)); // stale: no /proc/4242
    tmp.mkdir("/proc/4242");
    CHECK(pt::proxmox::running_pid(root(tmp), 100) == 4242L);
    tmp.write("/var/run/qemu-server/101.pid", "not a pid\n");
    CHECK_FALSE(pt::proxmox::running_pid(root(tmp), 101));
    tmp.write("/var/run/qemu-server/102.pid", "0\n");
    tmp.mkdir("/proc/0");
    CHECK_FALSE(pt::proxmox::running_pid(root(tmp), 102));
}

TEST_CASE("proxmox::vm_files: containers (find_cts, find_ct, their lock)", "[proxmox][vm_files]") {
    TempRoot tmp;
    tmp.write("/proc/sys/kernel/hostname", "pve1\n");
    tmp.write("/etc/pve/nodes/pve1/lxc/200.conf", "arch: amd64\n");
    tmp.write("/etc/pve/nodes/pve2/lxc/201.conf", "arch: amd64\n");
    tmp.write("/etc/pve/nodes/pve1/qemu-server/100.conf", "cores: 1\n");
    const auto cts = pt::proxmox::find_cts(root(tmp));
    REQUIRE(cts.size() == 2);
    CHECK(cts[0].vmid == 200);
    CHECK(cts[0].local);
    CHECK(cts[0].path == "/etc/pve/nodes/pve1/lxc/200.conf");
    CHECK(cts[1].node == "pve2");
    CHECK_FALSE(cts[1].local);
    CHECK(pt::proxmox::find_ct(root(tmp), 201).node == "pve2");
    CHECK_THROWS_WITH(pt::proxmox::find_ct(root(tmp), 100),
                      Catch::Contains("container 100 does not exist"));
    CHECK(pt::proxmox::ct_lock_path(200) == "/run/lock/lxc/pve-config-200.lock");
}

TEST_CASE("proxmox::vm_files: vms_passing finds hostpci entries and this node's mappings",
          "[proxmox][vm_files]") {
    TempRoot tmp;
    tmp.write("/proc/sys/kernel/hostname", "pve1\n");
    tmp.write("/etc/pve/nodes/pve1/qemu-server/100.conf", "hostpci0: 0000:81:00.0,pcie=1\n");
    tmp.write("/etc/pve/nodes/pve1/qemu-server/101.conf",
              "hostpci0: 0000:05:00\nhostpci1: mapping=rtx,pcie=1\n");
    tmp.write("/etc/pve/nodes/pve1/qemu-server/102.conf", "cores: 1\n[snap]\nhostpci0: 81:00\n");
    tmp.write("/etc/pve/nodes/pve2/qemu-server/103.conf", "hostpci0: 0000:81:00\n");
    tmp.write("/etc/pve/mapping/pci.cfg",
              "rtx\n\tmap id=10de:2204,node=pve1,path=0000:81:00\n"
              "\tmap id=10de:2204,node=pve2,path=0000:05:00\n");
    const pt::pci::Address card{0, 0x81, 0, 0};
    const auto vms = pt::proxmox::vms_passing(root(tmp), card);
    REQUIRE(vms.size() == 2);
    CHECK(vms[0] == std::pair<int, std::string>{100, "hostpci0"});
    CHECK(vms[1] == std::pair<int, std::string>{101, "hostpci1"}); // by the mapping
    // 05:00 is pve2's in the mapping, so only the direct entry of VM 101 counts here.
    CHECK(pt::proxmox::vms_passing(root(tmp), pt::pci::Address{0, 0x05, 0, 0})
          == std::vector<std::pair<int, std::string>>{{101, "hostpci0"}});
}
