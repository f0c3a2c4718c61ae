// SPDX-License-Identifier: MIT
#include "pt/check/container.hpp"
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <string>
#include <vector>

using pt::check::ContainerRequest;
using pt::check::Status;
using pt::check::verify_container;
using pt::test::DeviceSpec;
using pt::test::TempRoot;

namespace {

constexpr const char* k_ct = "/etc/pve/nodes/pve1/lxc/200.conf";
constexpr const char* k_lib = "/var/lib/lxc/200/rootfs/usr/lib/x86_64-linux-gnu";

void base_host(TempRoot& tmp) {
    tmp.write("/proc/cpuinfo", "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: svm\n");
    tmp.write("/proc/sys/kernel/osrelease", "6.8.12-4-pve\n");
    tmp.write("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve root=/dev/sda1 ro\n");
    tmp.write("/proc/sys/kernel/hostname", "pve1\n");
}

// Node pve1: an RTX 3090 at 81:00 on nvidia as minor 0, nvidia-uvm loaded (major 507), its nodes
// (plain files: the stand-in of a root that is not live), and container 200 with `lines`.
void nvidia_host(TempRoot& tmp, const std::string& lines, const std::string& driver = "nvidia") {
    base_host(tmp);
    DeviceSpec gpu;
    gpu.address = "0000:81:00.0";
    gpu.driver = driver;
    gpu.iommu_group = 31;
    tmp.add_device(gpu);
    if (driver == "nvidia") {
        tmp.write("/proc/driver/nvidia/gpus/0000:81:00.0/information",
                  "Model: \t\t NVIDIA GeForce RTX 3090\nDevice Minor: \t 0\n");
        tmp.write("/proc/driver/nvidia/version",
                  "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.127.05  Tue Oct  8 "
                  "03:12:45 UTC 2024\nGCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n");
    }
    tmp.write("/proc/devices", "Character devices:\n195 nvidia-frontend\n507 nvidia-uvm\n");
    for (const char* node :
         {"/dev/nvidia0", "/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"}) {
        tmp.write(node, "");
    }
    tmp.write(k_ct, "arch: amd64\nhostname: ollama\n" + lines + "unprivileged: 1\n");
}

constexpr const char* k_dev_lines = "dev0: /dev/nvidia0\ndev1: /dev/nvidiactl\n"
                                    "dev2: /dev/nvidia-uvm\ndev3: /dev/nvidia-uvm-tools\n";

pt::check::Report verify(const TempRoot& tmp, std::optional<std::string> selector = {}) {
    const pt::model::Host host{pt::host::Root(tmp.path())};
    return verify_container(host, ContainerRequest{200, std::move(selector)});
}

std::vector<const pt::check::Finding*> all(const pt::check::Report& report, std::string_view id) {
    std::vector<const pt::check::Finding*> out;
    for (const auto& check : report.checks) {
        if (check.finding.id == id) {
            out.push_back(&check.finding);
        }
    }
    return out;
}

// A copy: the report is often a temporary (one(verify(tmp), ...)).
pt::check::Finding one(const pt::check::Report& report, std::string_view id) {
    const auto found = all(report, id);
    REQUIRE(found.size() == 1);
    return *found.front();
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("check::verify_container: a working share passes every check", "[check][container]") {
    TempRoot tmp;
    nvidia_host(tmp, k_dev_lines);
    tmp.write(std::string(k_lib) + "/libnvidia-ml.so.550.127.05", "");
    tmp.symlink(std::string(k_lib) + "/libnvidia-ml.so.1", "libnvidia-ml.so.550.127.05");
    tmp.write("/var/lib/lxc/200/rootfs/etc/group", "root:x:0:\n");
    const auto report = verify(tmp);
    CHECK(report.summary().fail == 0);
    CHECK(report.summary().warn == 0);
    CHECK(one(report, "ct.config").status == Status::pass);
    CHECK(contains(one(report, "ct.config").summary, "0000:81:00"));
    CHECK(one(report, "ct.host-driver").status == Status::pass);
    CHECK(one(report, "ct.device-nodes").status == Status::pass);
    CHECK(all(report, "ct.config-nodes").size() == 4);
    const auto userspace = one(report, "ct.nvidia-userspace");
    CHECK(userspace.status == Status::pass);
    CHECK(contains(userspace.evidence, "libnvidia-ml.so.550.127.05"));
    // A root that is not live holds plain files for nodes: said, not hidden.
    CHECK(contains(all(report, "ct.config-nodes").front()->evidence, "standing in"));
}

TEST_CASE("check::verify_container: the container's NVIDIA userspace against the host module",
          "[check][container]") {
    TempRoot tmp;
    nvidia_host(tmp, k_dev_lines);
    SECTION("not running: skipped, with how to check") {
        const auto f = one(verify(tmp), "ct.nvidia-userspace");
        CHECK(f.status == Status::skip);
        CHECK(contains(f.summary, "pct start 200"));
        CHECK(contains(f.summary, "550.127.05"));
    }
    SECTION("another version: the mismatch nvidia-smi reports, and the exact install") {
        tmp.write("/var/lib/lxc/200/rootfs/etc/group", "root:x:0:\n");
        tmp.write(std::string(k_lib) + "/libnvidia-ml.so.550.120", "");
        const auto f = one(verify(tmp), "ct.nvidia-userspace");
        CHECK(f.status == Status::fail);
        CHECK(contains(f.summary, "Driver/library version mismatch"));
        CHECK(contains(f.fix, "NVIDIA-Linux-x86_64-550.127.05.run --no-kernel-module"));
    }
    SECTION("stopped, on a ZFS subvolume: read where the storage keeps it mounted") {
        tmp.write(k_ct,
                  std::string("arch: amd64\nrootfs: local-zfs:subvol-200-disk-0,size=8G\n")
                      + k_dev_lines + "unprivileged: 1\n");
        tmp.write("/etc/pve/storage.cfg", "zfspool: local-zfs\n\tpool rpool/data\n");
        tmp.write("/rpool/data/subvol-200-disk-0/etc/group", "root:x:0:\n");
        tmp.write("/rpool/data/subvol-200-disk-0/usr/lib/x86_64-linux-gnu/"
                  "libnvidia-ml.so.550.127.05",
                  "");
        const auto f = one(verify(tmp), "ct.nvidia-userspace");
        CHECK(f.status == Status::pass);
        CHECK(contains(f.evidence, "zfspool subvolume subvol-200-disk-0"));
    }
    SECTION("none installed: a warning") {
        tmp.write("/var/lib/lxc/200/rootfs/etc/group", "root:x:0:\n");
        CHECK(one(verify(tmp), "ct.nvidia-userspace").status == Status::warn);
    }
}

TEST_CASE("check::verify_container: lines the container cannot start with, nodes it lacks",
          "[check][container]") {
    TempRoot tmp;
    // nvidia1 belongs to no card; nvidia-uvm is not passed.
    nvidia_host(tmp, "dev0: /dev/nvidia0\ndev1: /dev/nvidiactl\ndev2: /dev/nvidia1\n");
    const auto report = verify(tmp);
    bool stale = false;
    bool missing = false;
    for (const auto* f : all(report, "ct.config-nodes")) {
        if (contains(f->summary, "/dev/nvidia1 does not exist")) {
            stale = f->status == Status::fail && f->fix == "pct set 200 --delete dev2";
        }
        if (contains(f->summary, "does not pass /dev/nvidia-uvm")) {
            missing =
                f->status == Status::fail && contains(f->fix, "pt lxc 200 0000:81:00 --apply");
        }
    }
    CHECK(stale);
    CHECK(missing);
}

TEST_CASE("check::verify_container: raw lxc.cgroup2 lines must allow the node's numbers",
          "[check][container]") {
    TempRoot tmp;
    const std::string mounts =
        "lxc.mount.entry: /dev/nvidia0 dev/nvidia0 none bind,optional,create=file\n"
        "lxc.mount.entry: /dev/nvidiactl dev/nvidiactl none bind,optional,create=file\n"
        "lxc.mount.entry: /dev/nvidia-uvm dev/nvidia-uvm none bind,optional,create=file\n";
    SECTION("nvidia-uvm's major changed (it is dynamic): the stale allow no longer covers it") {
        nvidia_host(tmp,
                    "lxc.cgroup2.devices.allow: c 195:* rwm\n"
                    "lxc.cgroup2.devices.allow: c 508:* rwm\n"
                        + mounts);
        const auto report = verify(tmp);
        int failed = 0;
        for (const auto* f : all(report, "ct.config-nodes")) {
            if (f->status == Status::fail) {
                ++failed;
                CHECK(contains(f->summary, "allows c 507:0"));
                CHECK(contains(f->fix, "pct set 200 --dev0 /dev/nvidia-uvm"));
            }
        }
        CHECK(failed == 1);
    }
    SECTION("before Proxmox VE 8.1 (no devN lines) the fix is the allow line itself") {
        nvidia_host(tmp,
                    "lxc.cgroup2.devices.allow: c 195:* rwm\n"
                    "lxc.cgroup2.devices.allow: c 508:* rwm\n"
                        + mounts);
        tmp.write("/var/lib/dpkg/status",
                  "Package: pve-manager\nStatus: install ok installed\nVersion: 8.0.4\n\n");
        const auto report = verify(tmp);
        REQUIRE(report.summary().fail == 1);
        for (const auto* f : all(report, "ct.config-nodes")) {
            if (f->status == Status::fail) {
                CHECK(contains(f->fix, "\"lxc.cgroup2.devices.allow: c 507:0 rwm\""));
                CHECK_FALSE(contains(f->fix, "pct set"));
            }
        }
    }
    SECTION("cgroup v1 lines are named as ignored") {
        nvidia_host(tmp, "lxc.cgroup.devices.allow: c 195:* rwm\n" + mounts);
        const auto report = verify(tmp);
        CHECK(report.summary().fail == 3);
        REQUIRE_FALSE(all(report, "ct.config-nodes").empty());
        CHECK(contains(all(report, "ct.config-nodes").front()->summary, "cgroup v1"));
    }
    SECTION("covered") {
        nvidia_host(tmp,
                    "lxc.cgroup2.devices.allow: c 195:* rwm\n"
                    "lxc.cgroup2.devices.allow: c 507:* rwm\n"
                        + mounts);
        CHECK(verify(tmp).summary().fail == 0);
    }
}

TEST_CASE("check::verify_container: a card the host's driver does not have", "[check][container]") {
    TempRoot tmp;
    nvidia_host(tmp, k_dev_lines, "vfio-pci");
    const auto report = verify(tmp, "81:00");
    CHECK(one(report, "ct.config").status == Status::fail);
    const auto driver = one(report, "ct.host-driver");
    CHECK(driver.status == Status::fail);
    CHECK(driver.fix == "pt unbind 0000:81:00 --apply");
    CHECK(one(report, "ct.device-nodes").status == Status::skip);
    // Without SEL no card is in use: the config check says so and names a card to share.
    const auto unselected = verify(tmp);
    CHECK(one(unselected, "ct.config").status == Status::fail);
    CHECK(all(unselected, "ct.host-driver").empty());
}

TEST_CASE("check::verify_container: a VM that passes the card, and nvidia-uvm not loaded",
          "[check][container]") {
    TempRoot tmp;
    nvidia_host(tmp, k_dev_lines);
    tmp.write("/etc/pve/nodes/pve1/qemu-server/100.conf", "hostpci0: 0000:81:00,pcie=1\n");
    tmp.write("/proc/devices", "Character devices:\n195 nvidia-frontend\n");
    const auto report = verify(tmp);
    const auto driver = one(report, "ct.host-driver");
    CHECK(driver.status == Status::fail);
    CHECK(driver.fix == "pt vmconf 100 --remove 0000:81:00 --apply");
    const auto nodes = one(report, "ct.device-nodes");
    CHECK(nodes.status == Status::fail);
    CHECK(contains(nodes.fix, "nvidia-modprobe -u -c=0"));
}

TEST_CASE("check::verify_container: an AMD render node without gid= in an unprivileged container",
          "[check][container]") {
    TempRoot tmp;
    base_host(tmp);
    DeviceSpec gpu;
    gpu.address = "0000:81:00.0";
    gpu.vendor = "1002";
    gpu.device = "744c";
    gpu.driver = "amdgpu";
    gpu.iommu_group = 31;
    tmp.add_device(gpu);
    tmp.write("/sys/bus/pci/devices/0000:81:00.0/drm/card0/dev", "226:0\n");
    tmp.write("/sys/bus/pci/devices/0000:81:00.0/drm/renderD128/dev", "226:128\n");
    tmp.write("/dev/dri/card0", "");
    tmp.write("/dev/dri/renderD128", "");
    tmp.write(k_ct, "arch: amd64\ndev0: /dev/dri/renderD128\nunprivileged: 1\n");
    const auto report = verify(tmp);
    const auto line = one(report, "ct.config-nodes");
    CHECK(line.status == Status::warn);
    CHECK(contains(line.fix, "pct set 200 --dev0 /dev/dri/renderD128,gid=GID"));
    CHECK(all(report, "ct.nvidia-userspace").empty());
    tmp.write(k_ct, "arch: amd64\ndev0: /dev/dri/renderD128,gid=993\nunprivileged: 1\n");
    CHECK(verify(tmp).summary().warn == 0);
}

TEST_CASE("check::verify_container refuses a container that is missing or on another node",
          "[check][container]") {
    TempRoot tmp;
    nvidia_host(tmp, k_dev_lines);
    const pt::model::Host host{pt::host::Root(tmp.path())};
    CHECK_THROWS_AS(verify_container(host, ContainerRequest{299, {}}), pt::Error);
    tmp.write("/etc/pve/nodes/pve2/lxc/300.conf", "arch: amd64\n");
    try {
        verify_container(host, ContainerRequest{300, {}});
        FAIL("no error for a container of node pve2");
    } catch (const pt::Error& e) {
        CHECK(contains(e.what(), "on node pve2"));
    }
}
