// SPDX-License-Identifier: MIT
#include "pt/check/host_context.hpp"
#include "support/catch.hpp"
#include "support/devices.hpp"
#include "support/temp_root.hpp"

#include <string>
#include <vector>

using pt::check::Check;
using pt::check::HostContext;
using pt::check::Status;
using pt::test::DeviceSpec;
using pt::test::TempRoot;

namespace {

// A GPU (10de:2204 + 10de:1aef), an Intel NIC (8086:1533) and a SATA controller (8086:a352).
void devices(TempRoot& tmp, bool gpu_boot_vga = false) {
    DeviceSpec gpu;
    gpu.address = "0000:01:00.0";
    if (gpu_boot_vga) {
        gpu.attrs["boot_vga"] = "1\n";
    }
    tmp.add_device(gpu);
    DeviceSpec audio;
    audio.address = "0000:01:00.1";
    audio.device = "1aef";
    audio.class_code = "040300";
    tmp.add_device(audio);
    DeviceSpec nic;
    nic.address = "0000:03:00.0";
    nic.vendor = "8086";
    nic.device = "1533";
    nic.class_code = "020000";
    tmp.add_device(nic);
    DeviceSpec sata;
    sata.address = "0000:00:17.0";
    sata.vendor = "8086";
    sata.device = "a352";
    sata.class_code = "010601";
    tmp.add_device(sata);
}

Check run(const TempRoot& tmp, const std::vector<std::string>& vm_devices = {}) {
    const pt::model::Host model{pt::host::Root(tmp.path())};
    HostContext ctx(model);
    for (const auto& address : vm_devices) {
        ctx.vm_devices.push_back({100, "hostpci0", pt::test::addr(address.c_str()), true, {}});
    }
    std::vector<Check> out;
    pt::check::check_vfio_ids(ctx, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].finding.id == "modprobe.vfio-ids");
    return out[0];
}

} // namespace

TEST_CASE("check::vfio_ids: none, or one good value", "[check][vfio_ids]") {
    TempRoot tmp;
    devices(tmp);
    SECTION("no ids=: pass") {
        const auto c = run(tmp);
        CHECK(c.finding.status == Status::pass);
        CHECK_THAT(c.finding.summary, Catch::StartsWith("no vfio-pci ids= is configured"));
        CHECK(c.finding.evidence == "modprobe.d and the configured command line: no vfio-pci ids=");
    }
    SECTION("the GPU's IDs, in upper case too: pass, naming the file and line") {
        tmp.write("/etc/modprobe.d/vfio.conf",
                  "# pass the GPU\noptions vfio-pci ids=10DE:2204,10de:1aef\n");
        const auto c = run(tmp);
        CHECK(c.finding.status == Status::pass);
        CHECK(c.finding.summary
              == "vfio-pci gets ids=10DE:2204,10de:1aef (/etc/modprobe.d/vfio.conf:2)");
        CHECK(c.finding.evidence
              == "/etc/modprobe.d/vfio.conf:2: options vfio-pci ids=10DE:2204,10de:1aef");
    }
    SECTION("on the command line: the last value, shown as the parameter") {
        tmp.write("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz ro quiet vfio-pci.ids=10de:2204\n");
        tmp.write("/etc/modprobe.d/vfio.conf", "options vfio_pci ids=10de:2204\n");
        const auto c = run(tmp);
        CHECK(c.finding.status == Status::pass);
        CHECK(c.finding.summary == "vfio-pci gets ids=10de:2204 (/proc/cmdline)");
        CHECK(c.finding.evidence
              == "/etc/modprobe.d/vfio.conf:1: options vfio-pci ids=10de:2204\n"
                 "/proc/cmdline: vfio-pci.ids=10de:2204");
    }
    SECTION("a file hidden by one of the same name is evidence") {
        tmp.write("/etc/modprobe.d/vfio.conf", "options vfio-pci ids=10de:2204\n");
        tmp.write("/lib/modprobe.d/vfio.conf", "options vfio-pci ids=10de:1aef\n");
        const auto c = run(tmp);
        CHECK(c.finding.status == Status::pass);
        CHECK_THAT(c.finding.evidence,
                   Catch::EndsWith("\n/lib/modprobe.d/vfio.conf: hidden by "
                                   "/etc/modprobe.d/vfio.conf (kmod reads only the first file of "
                                   "a name)"));
    }
}

TEST_CASE("check::vfio_ids: values that lose to a later one", "[check][vfio_ids]") {
    TempRoot tmp;
    devices(tmp);
    SECTION("two files: the IDs only the first one names are lost") {
        tmp.write("/etc/modprobe.d/a.conf", "options vfio-pci ids=10de:2204,10de:1aef\n");
        tmp.write("/etc/modprobe.d/b.conf", "options vfio-pci ids=10de:2204\n");
        const auto c = run(tmp);
        CHECK(c.finding.status == Status::warn);
        CHECK_THAT(c.finding.summary,
                   Catch::StartsWith("2 ids= values: vfio-pci gets only the last one, 10de:2204 "
                                     "(/etc/modprobe.d/b.conf:1); /etc/modprobe.d/a.conf:1 lose")
                       && Catch::EndsWith("so 10de:1aef is not claimed at boot"));
        CHECK(c.finding.fix
              == "keep one ids= line: sed -i '1d' /etc/modprobe.d/a.conf, and make "
                 "/etc/modprobe.d/b.conf:1 read ids=10de:2204,10de:1aef; then update-initramfs "
                 "-u -k all");
    }
    SECTION("pt's own file loses: the other line goes") {
        tmp.write("/etc/modprobe.d/pt-vfio.conf", "options vfio-pci ids=10de:2204\n");
        tmp.write("/etc/modprobe.d/vfio.conf", "\noptions vfio-pci ids=10de:2204,10de:1aef\n");
        const auto c = run(tmp);
        CHECK(c.finding.status == Status::warn);
        CHECK(c.finding.fix
              == "sed -i '2d' /etc/modprobe.d/vfio.conf (pt's own file then lists every device "
                 "pt binds), and pt bind SLOT --apply for the devices of 10de:1aef, which only "
                 "that line claimed; then update-initramfs -u -k all");
    }
    SECTION("the same value twice is no conflict") {
        tmp.write("/etc/modprobe.d/a.conf", "options vfio-pci ids=10de:2204\n");
        tmp.write("/etc/modprobe.d/b.conf", "options vfio-pci ids=10de:2204\n");
        CHECK(run(tmp).finding.status == Status::pass);
    }
}

TEST_CASE("check::vfio_ids: items that claim nothing, or too much", "[check][vfio_ids]") {
    TempRoot tmp;
    SECTION("a space splits the list: the word after it is lost") {
        devices(tmp);
        tmp.write("/etc/modprobe.d/vfio.conf", "options vfio-pci ids=10de:2204, 10de:1aef\n");
        const auto c = run(tmp);
        CHECK(c.finding.status == Status::warn);
        CHECK_THAT(c.finding.summary,
                   Catch::StartsWith("a space splits the ids= list at "
                                     "/etc/modprobe.d/vfio.conf:1: \"ids=10de:2204, 10de:1aef\""));
        CHECK_THAT(c.finding.fix,
                   Catch::StartsWith("sed -i '1s/,[[:space:]]*/,/g' /etc/modprobe.d/vfio.conf "
                                     "(removes the space after each comma)"));
    }
    SECTION("a malformed ID and one that matches nothing") {
        devices(tmp);
        tmp.write("/etc/modprobe.d/vfio.conf", "options vfio-pci ids=10de,1234:5678,10de:2204\n");
        const auto c = run(tmp);
        CHECK(c.finding.status == Status::warn);
        CHECK_THAT(c.finding.summary,
                   Catch::StartsWith("\"10de\" is not a vendor:device ID")
                       && Catch::Contains("; 1234:5678 matches no PCI device of this host"));
        CHECK_THAT(c.finding.fix,
                   Catch::StartsWith("correct or remove 10de in /etc/modprobe.d/vfio.conf:1; ")
                       && Catch::Contains("correct 1234:5678 in /etc/modprobe.d/vfio.conf:1"));
    }
    SECTION("a network and a storage controller the host needs") {
        devices(tmp);
        tmp.write("/etc/modprobe.d/vfio.conf", "options vfio-pci ids=8086:1533,8086:a352\n");
        const auto c = run(tmp);
        CHECK(c.finding.status == Status::warn);
        CHECK_THAT(c.finding.summary,
                   Catch::Contains("8086:1533 also matches 0000:03:00.0, a network controller "
                                   "the host needs")
                       && Catch::Contains("8086:a352 also matches 0000:00:17.0, a storage "
                                          "controller the host needs"));
        CHECK_THAT(c.finding.fix,
                   Catch::Contains("remove 8086:1533 from /etc/modprobe.d/vfio.conf:1"));
    }
    SECTION("the boot display, unless a VM passes it") {
        devices(tmp, true);
        tmp.write("/etc/modprobe.d/vfio.conf", "options vfio-pci ids=10de:2204\n");
        const auto c = run(tmp);
        CHECK(c.finding.status == Status::warn);
        CHECK(c.finding.summary
              == "10de:2204 also matches 0000:01:00.0, the boot display the host needs: vfio-pci "
                 "takes it at boot");
        CHECK(run(tmp, {"0000:01:00.0"}).finding.status == Status::pass);
    }
}
