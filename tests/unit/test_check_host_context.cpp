// SPDX-License-Identifier: MIT
#include "pt/check/host_context.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <string>
#include <vector>

using pt::check::HostContext;
using pt::check::Status;
using pt::test::DeviceSpec;
using pt::test::TempRoot;

TEST_CASE("check::host_context: every part read from the model", "[check][host_context]") {
    TempRoot tmp;
    tmp.write("/proc/cpuinfo", "vendor_id\t: AuthenticAMD\nflags\t\t: fpu svm\n");
    tmp.write("/proc/sys/kernel/osrelease", "6.8.12-4-pve\n");
    tmp.write("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz ro quiet iommu=pt\n");
    tmp.write("/proc/modules",
              "vfio_pci 16384 0 - Live 0x0000000000000000\n"
              "kvm 1327104 0 - Live 0x0000000000000000\n");
    tmp.mkdir("/sys/module/vfio"); // built in
    tmp.mkdir("/sys/class/iommu/ivhd0");
    tmp.write("/var/lib/pt/snapshot/dmesg",
              "[    0.500000] AMD-Vi: Interrupt remapping enabled\n"
              "[    0.600000] AMD-Vi: Unknown option - 'on'\n");
    tmp.write("/etc/modprobe.d/vfio.conf", "options vfio-pci ids=10de:2204\n");
    DeviceSpec gpu;
    gpu.address = "0000:01:00.0";
    gpu.driver = "vfio-pci";
    gpu.iommu_group = 12;
    tmp.add_device(gpu);

    const pt::model::Host model{pt::host::Root(tmp.path())};
    const HostContext ctx(model);
    CHECK(ctx.root.prefix() == model.root().prefix());
    CHECK(ctx.facts.cpu == pt::kernel::CpuVendor::amd);
    REQUIRE(ctx.facts.release);
    CHECK(ctx.facts.release->text == "6.8.12-4-pve");
    CHECK(ctx.facts.cmdline_text == "BOOT_IMAGE=/boot/vmlinuz ro quiet iommu=pt");
    REQUIRE(ctx.topology.devices.size() == 1);
    CHECK(ctx.topology.devices[0].driver == "vfio-pci");
    CHECK(ctx.iommu.units == std::vector<std::string>{"ivhd0"});
    REQUIRE(ctx.iommu.groups.size() == 1);
    CHECK(ctx.iommu.groups[0].number == 12);
    CHECK(ctx.log_available());
    CHECK(ctx.log.source == "/var/lib/pt/snapshot/dmesg");
    CHECK(ctx.log_facts.interrupt_remapping == true);
    CHECK(ctx.log_facts.unknown_options
          == std::vector<std::string>{"AMD-Vi: Unknown option - 'on'"});
    CHECK(ctx.proc_modules == std::vector<std::string>{"vfio_pci", "kvm"});
    CHECK(ctx.vm_devices.empty()); // check_vms fills it
    const auto ids = ctx.modprobe().option("vfio_pci", "ids");
    REQUIRE(ids);
    CHECK(ids->value == "10de:2204");
    CHECK(ids->source.describe() == "/etc/modprobe.d/vfio.conf:1");

    SECTION("module_loaded: /proc/modules, then /sys/module, either spelling") {
        CHECK(ctx.module_loaded("vfio-pci") == true);
        CHECK(ctx.module_loaded("vfio_pci") == true);
        CHECK(ctx.module_loaded("vfio") == true); // built in: only /sys/module says so
        CHECK(ctx.module_loaded("vfio_iommu_type1") == false);
    }
}

TEST_CASE("check::host_context: empty running parts over a root", "[check][host_context]") {
    TempRoot tmp;
    tmp.mkdir("/sys/module/vfio");
    const HostContext ctx{pt::host::Root(tmp.path())};
    CHECK(ctx.facts.cpu == pt::kernel::CpuVendor::unknown);
    CHECK(ctx.topology.devices.empty());
    CHECK_FALSE(ctx.iommu.enabled());
    CHECK_FALSE(ctx.log_available());
    CHECK_FALSE(ctx.proc_modules);
    // Without /proc/modules only a /sys/module entry says anything.
    CHECK(ctx.module_loaded("vfio") == true);
    CHECK_FALSE(ctx.module_loaded("vfio_pci").has_value());
}

TEST_CASE("check::host_context: make builds a check", "[check][host_context]") {
    const auto c = pt::check::make("/dev/kvm",
                                   "kvm.device",
                                   Status::fail,
                                   "/dev/kvm is missing",
                                   "/dev/kvm: absent",
                                   "modprobe kvm_intel");
    CHECK(c.what == "/dev/kvm");
    CHECK(c.finding.id == "kvm.device");
    CHECK(c.finding.status == Status::fail);
    CHECK(c.finding.summary == "/dev/kvm is missing");
    CHECK(c.finding.evidence == "/dev/kvm: absent");
    CHECK(c.finding.fix == "modprobe kvm_intel");
    CHECK_FALSE(c.layers);
    const auto bare = pt::check::make("x", "y", Status::pass, "z");
    CHECK(bare.finding.evidence.empty());
    CHECK(bare.finding.fix.empty());
}
