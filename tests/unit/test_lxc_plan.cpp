// SPDX-License-Identifier: MIT
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/lxc/plan.hpp"
#include "pt/model/host.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <string>

using pt::lxc::plan_lxc;
using pt::lxc::Request;
using pt::lxc::Style;
using pt::test::DeviceSpec;
using pt::test::TempRoot;

namespace {

constexpr const char* k_ct = "/etc/pve/nodes/pve1/lxc/200.conf";
constexpr const char* k_ct_text = "arch: amd64\ncores: 4\nhostname: ollama\nmemory: 8192\n"
                                  "rootfs: local-lvm:vm-200-disk-0,size=32G\nunprivileged: 1\n";

// Node pve1 with an AMD card at 81:00 on amdgpu, its DRM nodes and /dev/kfd, and container 200.
void amd_host(TempRoot& tmp) {
    tmp.write("/proc/cpuinfo", "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: svm\n");
    tmp.write("/proc/sys/kernel/osrelease", "6.8.12-4-pve\n");
    tmp.write("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve root=/dev/sda1 ro\n");
    tmp.write("/proc/sys/kernel/hostname", "pve1\n");
    DeviceSpec gpu;
    gpu.address = "0000:81:00.0";
    gpu.vendor = "1002";
    gpu.device = "744c";
    gpu.driver = "amdgpu";
    gpu.iommu_group = 31;
    tmp.add_device(gpu);
    tmp.write("/sys/bus/pci/devices/0000:81:00.0/drm/card0/dev", "226:0\n");
    tmp.write("/sys/bus/pci/devices/0000:81:00.0/drm/renderD128/dev", "226:128\n");
    for (const char* node : {"/dev/dri/card0", "/dev/dri/renderD128", "/dev/kfd"}) {
        tmp.write(node, "");
    }
    tmp.write("/proc/devices", "Character devices:\n226 drm\n235 kfd\n");
    tmp.write(k_ct, k_ct_text);
}

pt::lxc::Planned plan(const TempRoot& tmp, bool remove = false) {
    const pt::model::Host host{pt::host::Root(tmp.path())};
    return plan_lxc(host, Request{200, "81:00", remove, "pt lxc 200 81:00", std::nullopt});
}

} // namespace

TEST_CASE("lxc::plan_lxc: devN lines for the card's nodes, in the lowest free indices",
          "[lxc][plan]") {
    TempRoot tmp;
    amd_host(tmp);
    tmp.write(k_ct,
              "arch: amd64\ncores: 4\ndev0: /dev/net/tun\nhostname: ollama\nmemory: 8192\n"
              "rootfs: local-lvm:vm-200-disk-0,size=32G\nunprivileged: 1\n");
    const auto planned = plan(tmp);
    CHECK(planned.style == Style::dev);
    REQUIRE(planned.plan.files.size() == 1);
    const auto& edit = planned.plan.files.front();
    CHECK(edit.path == k_ct);
    CHECK(*edit.after
          == "arch: amd64\ncores: 4\ndev0: /dev/net/tun\ndev1: /dev/dri/renderD128\n"
             "dev2: /dev/dri/card0\ndev3: /dev/kfd\nhostname: ollama\nmemory: 8192\n"
             "rootfs: local-lvm:vm-200-disk-0,size=32G\nunprivileged: 1\n");
    CHECK(planned.plan.locks == std::vector<std::string>{"/run/lock/lxc/pve-config-200.lock"});
    // Not running: no /etc/group to read, so no gid= and a note that says how to add one.
    CHECK(std::any_of(planned.plan.notes.begin(), planned.plan.notes.end(), [](const auto& n) {
        return n.find("getent group render") != std::string::npos;
    }));
}

TEST_CASE("lxc::plan_lxc: the running container's render and video groups; a second run plans "
          "nothing; --remove takes them out",
          "[lxc][plan]") {
    TempRoot tmp;
    amd_host(tmp);
    tmp.write("/var/lib/lxc/200/rootfs/etc/group", "root:x:0:\nvideo:x:44:\nrender:x:993:\n");
    const auto planned = plan(tmp);
    REQUIRE(planned.plan.files.size() == 1);
    const auto after = *planned.plan.files.front().after;
    CHECK(after.find("dev0: /dev/dri/renderD128,gid=993\n") != std::string::npos);
    CHECK(after.find("dev1: /dev/dri/card0,gid=44\n") != std::string::npos);
    CHECK(after.find("dev2: /dev/kfd,gid=993\n") != std::string::npos);

    tmp.write(k_ct, after);
    CHECK(plan(tmp).plan.files.empty());
    const auto removed = plan(tmp, true);
    REQUIRE(removed.plan.files.size() == 1);
    CHECK(*removed.plan.files.front().after == k_ct_text);
}

TEST_CASE("lxc::plan_lxc: before Proxmox VE 8.1 the raw lxc.cgroup2 and mount lines",
          "[lxc][plan]") {
    TempRoot tmp;
    amd_host(tmp);
    tmp.write("/var/lib/dpkg/status",
              "Package: pve-manager\nStatus: install ok installed\nVersion: 8.0.4\n\n");
    const auto planned = plan(tmp);
    CHECK(planned.style == Style::raw);
    REQUIRE(planned.plan.files.size() == 1);
    const auto after = *planned.plan.files.front().after;
    CHECK(after
          == std::string(k_ct_text)
                 + "lxc.cgroup2.devices.allow: c 226:128 rwm\n"
                   "lxc.mount.entry: /dev/dri/renderD128 dev/dri/renderD128 none "
                   "bind,optional,create=file\n"
                   "lxc.cgroup2.devices.allow: c 226:0 rwm\n"
                   "lxc.mount.entry: /dev/dri/card0 dev/dri/card0 none bind,optional,create=file\n"
                   "lxc.cgroup2.devices.allow: c 235:0 rwm\n"
                   "lxc.mount.entry: /dev/kfd dev/kfd none bind,optional,create=file\n");
    tmp.write(k_ct, after);
    CHECK(plan(tmp).plan.files.empty());
    CHECK(*plan(tmp, true).plan.files.front().after == k_ct_text);
}

TEST_CASE("lxc::plan_lxc refuses what a container cannot share, naming the fix", "[lxc][plan]") {
    TempRoot tmp;
    amd_host(tmp);
    const pt::model::Host host{pt::host::Root(tmp.path())};
    CHECK_THROWS_WITH(plan_lxc(host, Request{201, "81:00", false, "t", std::nullopt}),
                      Catch::Contains("container 201 does not exist"));
    CHECK_THROWS_WITH(plan_lxc(host, Request{200, "05:00", false, "t", std::nullopt}),
                      Catch::Contains("05:00 names no GPU of this host"));

    TempRoot vm;
    amd_host(vm);
    vm.write("/etc/pve/nodes/pve1/qemu-server/100.conf", "hostpci0: 0000:81:00,pcie=1\n");
    CHECK_THROWS_WITH(plan(vm),
                      Catch::Contains("is passed to VM 100 (hostpci0)")
                          && Catch::Contains("pt vmconf 100 --remove 0000:81:00 --apply"));

    TempRoot ids;
    amd_host(ids);
    ids.write("/etc/modprobe.d/vfio.conf", "options vfio-pci ids=1002:744c\n");
    CHECK_THROWS_WITH(plan(ids),
                      Catch::Contains("after the next boot 0000:81:00.0 goes to vfio-pci")
                          && Catch::Contains("pt unbind 0000:81:00 --apply"));

    TempRoot missing;
    amd_host(missing);
    std::filesystem::remove(missing.path() / "dev/dri/renderD128");
    CHECK_THROWS_WITH(plan(missing), Catch::Contains("/dev/dri/renderD128 does not exist"));

    TempRoot privileged;
    amd_host(privileged);
    privileged.write(k_ct, "arch: amd64\nhostname: ollama\n");
    const auto planned = plan(privileged);
    CHECK(std::any_of(planned.plan.notes.begin(), planned.plan.notes.end(), [](const auto& n) {
        return n.find("container 200 is privileged") != std::string::npos;
    }));
}

TEST_CASE("lxc::add_to_json names the container, the card, the style and each node",
          "[lxc][plan]") {
    TempRoot tmp;
    amd_host(tmp);
    pt::out::Json json;
    pt::lxc::add_to_json(json, plan(tmp));
    CHECK(json["ctid"] == 200);
    CHECK(json["card"] == "0000:81:00");
    CHECK(json["style"] == "dev");
    REQUIRE(json["nodes"].size() == 3);
    CHECK(json["nodes"][0].dump()
          == R"({"path":"/dev/dri/renderD128","major":226,"minor":128,"gid":null})");
}

TEST_CASE("lxc::plan_lxc: nodes a raw lxc.mount.entry already passes get no devN line beside it",
          "[lxc][plan]") {
    TempRoot tmp;
    amd_host(tmp);
    tmp.write(k_ct,
              std::string(k_ct_text)
                  + "lxc.cgroup2.devices.allow: c 226:* rwm\n"
                    "lxc.mount.entry: /dev/dri/renderD128 dev/dri/renderD128 none "
                    "bind,optional,create=file\n");
    const auto planned = plan(tmp);
    REQUIRE(planned.plan.files.size() == 1);
    const auto after = *planned.plan.files.front().after;
    CHECK(after.find("/dev/dri/renderD128,") == std::string::npos);
    CHECK(after.find("dev0: /dev/dri/renderD128") == std::string::npos);
    CHECK(after.find("dev0: /dev/dri/card0") != std::string::npos);
    CHECK(std::any_of(planned.plan.notes.begin(), planned.plan.notes.end(), [](const auto& n) {
        return n.find("already passed by a raw lxc.mount.entry") != std::string::npos;
    }));
}
