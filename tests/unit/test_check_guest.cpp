// SPDX-License-Identifier: MIT
#include "pt/check/guest.hpp"
#include "pt/host/root.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <string>
#include <string_view>

using pt::check::Status;

namespace {

// `id` by value: GCC 14 (trixie) warns of a dangling reference when a temporary std::string is
// bound to a reference parameter of a function that returns a reference.
const pt::check::Finding& find(const pt::check::Report& r, std::string_view id) {
    for (const auto& c : r.checks) {
        if (c.finding.id == id) {
            return c.finding;
        }
    }
    FAIL("no check " << id);
    return r.checks.front().finding;
}

} // namespace

TEST_CASE("check::verify_guest", "[check][guest]") {
    pt::test::TempRoot tmp;
    tmp.write("/proc/cpuinfo", "vendor_id\t: GenuineIntel\nflags\t\t: fpu vme hypervisor\n");
    pt::test::DeviceSpec vga;
    vga.address = "0000:00:01.0";
    vga.vendor = "1234";
    vga.device = "1111";
    vga.driver = "bochs-drm";
    tmp.add_device(vga);

    SECTION("only the emulated display: not passed through") {
        const auto r = pt::check::verify_guest(pt::host::Root(tmp.path()));
        CHECK(find(r, "guest.hypervisor").status == Status::pass);
        CHECK(find(r, "guest.gpu-visible").status == Status::fail);
        CHECK(find(r, "guest.gpu-visible").evidence.find("0000:00:01.0 [1234:1111]")
              != std::string::npos);
        CHECK(find(r, "guest.host-checks").status == Status::skip);
        CHECK(r.failed());
    }

    pt::test::DeviceSpec gpu;
    gpu.address = "0000:01:00.0";
    gpu.device = "2504";
    SECTION("visible, no driver, no link") {
        tmp.add_device(gpu);
        const auto r = pt::check::verify_guest(pt::host::Root(tmp.path()));
        CHECK(find(r, "guest.gpu-visible").status == Status::pass);
        CHECK(find(r, "guest.driver").status == Status::fail);
        CHECK(find(r, "guest.pcie-link").status == Status::warn);
        CHECK(find(r, "guest.device-nodes").status == Status::skip);
        CHECK(find(r, "guest.nvidia-smi").status == Status::skip); // never run under a root
    }
    SECTION("working") {
        gpu.driver = "nvidia";
        gpu.attrs["current_link_speed"] = "8.0 GT/s PCIe\n";
        gpu.attrs["current_link_width"] = "16\n";
        tmp.add_device(gpu);
        tmp.write("/dev/nvidia0", "");
        tmp.write("/dev/nvidiactl", "");
        const auto r = pt::check::verify_guest(pt::host::Root(tmp.path()));
        CHECK(find(r, "guest.driver").status == Status::pass);
        CHECK(find(r, "guest.pcie-link").status == Status::pass);
        CHECK(find(r, "guest.device-nodes").status == Status::pass);
        CHECK_FALSE(r.failed());
    }
    SECTION("bare metal: the host, not a guest; no guest checks") {
        tmp.write("/proc/cpuinfo", "vendor_id\t: GenuineIntel\nflags\t\t: fpu vme\n");
        tmp.add_device(gpu);
        const auto r = pt::check::verify_guest(pt::host::Root(tmp.path()));
        const auto& hv = find(r, "guest.hypervisor");
        CHECK(hv.status == Status::fail);
        CHECK_THAT(hv.summary, Catch::StartsWith("this is the host, not a guest"));
        CHECK_THAT(hv.evidence, Catch::Contains("/proc/cpuinfo flags: no hypervisor"));
        CHECK_THAT(hv.fix, Catch::Contains("pt verify --guest inside the VM"));
        CHECK(find(r, "guest.gpu-visible").status == Status::skip);
        for (const auto& c : r.checks) {
            CHECK(c.finding.id != "guest.driver");
            CHECK(c.finding.id != "guest.device-nodes");
        }
    }
    SECTION("a Proxmox host with the GPU on vfio-pci: said so, not 'renderD* is missing'") {
        tmp.write("/etc/pve/.version", "1\n");
        gpu.driver = "vfio-pci";
        tmp.add_device(gpu);
        const auto r = pt::check::verify_guest(pt::host::Root(tmp.path()));
        const auto& hv = find(r, "guest.hypervisor");
        CHECK(hv.status == Status::fail);
        // The hypervisor flag is there (a nested Proxmox): the other signs decide.
        CHECK_THAT(hv.summary, Catch::StartsWith("this is a Proxmox host (a nested one"));
        CHECK_THAT(hv.evidence,
                   Catch::Contains("/etc/pve: present")
                       && Catch::Contains("/sys/bus/pci/devices/0000:01:00.0/driver: vfio-pci"));
        for (const auto& c : r.checks) {
            CHECK(c.finding.id != "guest.device-nodes");
        }
        CHECK(r.failed());
    }
}
