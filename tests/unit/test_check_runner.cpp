// SPDX-License-Identifier: MIT
#include "pt/check/runner.hpp"
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <algorithm>
#include <string>
#include <vector>

using pt::check::HostRequest;
using pt::check::Report;
using pt::check::Status;
using pt::test::DeviceSpec;
using pt::test::TempRoot;

namespace {

// An Intel host on 6.8 (plain GRUB) with a GPU on nvidia, a second one on vfio-pci, and VM 100
// that passes the first.
void host(TempRoot& tmp) {
    tmp.write("/proc/cpuinfo", "vendor_id\t: GenuineIntel\nflags\t\t: fpu vmx\n");
    tmp.write("/proc/sys/kernel/osrelease", "6.8.12-4-pve\n");
    tmp.write("/proc/sys/kernel/hostname", "pve1\n");
    tmp.write("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve ro quiet\n");
    tmp.write("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
    tmp.mkdir("/sys/firmware/efi");
    tmp.mkdir("/sys/class/iommu/dmar0");
    DeviceSpec first;
    first.address = "0000:01:00.0";
    first.driver = "nvidia";
    first.iommu_group = 1;
    tmp.add_device(first);
    DeviceSpec second;
    second.address = "0000:02:00.0";
    second.driver = "vfio-pci";
    second.iommu_group = 2;
    tmp.add_device(second);
    tmp.write("/etc/pve/nodes/pve1/qemu-server/100.conf",
              "bios: ovmf\nmachine: q35\nhostpci0: 0000:01:00.0,pcie=1\n");
    tmp.write("/etc/pve/nodes/pve1/qemu-server/101.conf",
              "bios: ovmf\nmachine: q35\nhostpci0: 0000:02:00.0,pcie=1\n");
}

Report verify(const TempRoot& tmp, const HostRequest& request = {}) {
    return pt::check::verify_host(pt::host::Root(tmp.path()), request);
}

std::vector<std::string> ids(const Report& r) {
    std::vector<std::string> out;
    for (const auto& c : r.checks) {
        out.push_back(c.finding.id);
    }
    return out;
}

// The checks of one id, with the subject (the words after "Checking ").
std::vector<std::string> subjects(const Report& r, const std::string& id) {
    std::vector<std::string> out;
    for (const auto& c : r.checks) {
        if (c.finding.id == id) {
            out.push_back(c.what);
        }
    }
    return out;
}

} // namespace

TEST_CASE("check::runner: every area in order, VM checks last", "[check][runner]") {
    TempRoot tmp;
    host(tmp);
    const auto r = verify(tmp);
    CHECK(r.on_host);
    CHECK(r.notes.empty());
    const auto all = ids(r);
    const std::vector<std::string> host_part = {"cpu.virtualization",
                                                "kvm.device",
                                                "iommu.enabled",
                                                "iommu.interrupt-remapping",
                                                "cmdline.iommu",
                                                "cmdline.invalid",
                                                "cmdline.folklore",
                                                "cmdline.configured",
                                                "modules.loaded",
                                                "modules.early-load",
                                                "modules.vfio-virqfd",
                                                "modprobe.vfio-ids",
                                                "initramfs.fresh"};
    REQUIRE(all.size() > host_part.size());
    CHECK(std::vector<std::string>(all.begin(), all.begin() + 13) == host_part);
    // Then the GPUs (both: VM 100's, and the one on vfio-pci), then the VMs.
    CHECK(all[13] == "gpu.driver");
    CHECK(subjects(r, "gpu.driver")
          == std::vector<std::string>{"0000:01:00.0 driver in use", "0000:02:00.0 driver in use"});
    CHECK(all.back().starts_with("vm."));
    std::size_t first_vm = 0;
    while (!all[first_vm].starts_with("vm.")) {
        ++first_vm;
    }
    for (std::size_t i = first_vm; i < all.size(); ++i) {
        CAPTURE(i);
        CHECK(all[i].starts_with("vm."));
    }
    // VM 100's GPU is on nvidia: the GPU check fails, so the report fails.
    CHECK(r.failed());
}

TEST_CASE("check::runner: the request narrows the GPUs and the VMs", "[check][runner]") {
    TempRoot tmp;
    host(tmp);
    SECTION("SEL: that GPU alone") {
        HostRequest request;
        request.selector = "02:00";
        const auto r = verify(tmp, request);
        CHECK(subjects(r, "gpu.driver") == std::vector<std::string>{"0000:02:00.0 driver in use"});
    }
    SECTION("--vm: that VM's GPU and config alone") {
        HostRequest request;
        request.vmid = 101;
        const auto r = verify(tmp, request);
        CHECK(subjects(r, "gpu.driver") == std::vector<std::string>{"0000:02:00.0 driver in use"});
        for (const auto& c : r.checks) {
            if (c.finding.id.starts_with("vm.")) {
                CHECK(c.what.starts_with("VM 101 config"));
            }
        }
    }
    SECTION("a SEL that matches nothing, a VM without config: pt::Error") {
        HostRequest request;
        request.selector = "05:00";
        CHECK_THROWS_AS(verify(tmp, request), pt::Error);
        HostRequest vm;
        vm.vmid = 999;
        CHECK_THROWS_WITH(verify(tmp, vm), Catch::StartsWith("VM 999 does not exist"));
    }
    SECTION("a malformed SEL: pt::UsageError") {
        HostRequest request;
        request.selector = "not-a-slot";
        CHECK_THROWS_AS(verify(tmp, request), pt::UsageError);
    }
}

TEST_CASE("check::runner: platform, PVE 9 check and scan notes", "[check][runner]") {
    TempRoot tmp;
    host(tmp);
    tmp.write("/var/lib/dpkg/status",
              "Package: pve-manager\nStatus: install ok installed\nVersion: 9.1.4\n\n"
              "Package: systemd-boot\nStatus: install ok installed\nVersion: 257.9-1~deb13u1\n");
    tmp.symlink("/sys/bus/pci/devices/garbage", "../../../devices/nowhere");
    const auto r = verify(tmp);
    REQUIRE(r.platform);
    const auto all = ids(r);
    // boot.systemd-boot-meta comes after the host areas, before the GPUs.
    const auto meta = std::find(all.begin(), all.end(), "boot.systemd-boot-meta");
    REQUIRE(meta != all.end());
    CHECK(*(meta - 1) == "initramfs.fresh");
    CHECK(*(meta + 1) == "gpu.driver");
    CHECK(r.checks[static_cast<std::size_t>(meta - all.begin())].finding.status == Status::warn);
    REQUIRE(r.notes.size() == 1);
    CHECK_THAT(r.notes[0], Catch::StartsWith("skipped /sys/bus/pci/devices/garbage"));
}
