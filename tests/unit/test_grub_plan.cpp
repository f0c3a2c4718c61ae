// SPDX-License-Identifier: MIT
#include "pt/error.hpp"
#include "pt/grub/plan.hpp"
#include "pt/grub/report.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <string>
#include <vector>

using pt::edit::FollowUp;
using pt::grub::Request;
using pt::test::DeviceSpec;
using pt::test::TempRoot;

namespace {

// One command's model of the fixture root, as pt grub reads it.
pt::grub::Planned plan_cmdline_changes(const TempRoot& tmp, const Request& request) {
    return pt::grub::plan_cmdline_changes(pt::model::Host(pt::host::Root(tmp.path())), request);
}

pt::edit::Plan plan_cmdline(const TempRoot& tmp, const Request& request) {
    return plan_cmdline_changes(tmp, request).plan;
}

pt::grub::Report read_report(const TempRoot& tmp) {
    return pt::grub::read_report(pt::model::Host(pt::host::Root(tmp.path())));
}

const std::string k_grub = "GRUB_DEFAULT=0\n"
                           "GRUB_TIMEOUT=5\n"
                           "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n"
                           "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
                           "GRUB_CMDLINE_LINUX=\"\"\n";

// A host: CPU vendor, kernel, running command line, EFI.
void host(const TempRoot& tmp,
          const std::string& vendor,
          const std::string& release,
          const std::string& cmdline,
          bool efi = true) {
    tmp.write("/proc/cpuinfo", "processor\t: 0\nvendor_id\t: " + vendor + "\nflags\t\t: fpu\n");
    tmp.write("/proc/sys/kernel/osrelease", release + "\n");
    tmp.write("/proc/cmdline", cmdline + "\n");
    if (efi) {
        tmp.mkdir("/sys/firmware/efi");
    }
}

void intel_65(const TempRoot& tmp) {
    host(tmp,
         "GenuineIntel",
         "6.5.13-6-pve",
         "BOOT_IMAGE=/boot/vmlinuz-6.5.13-6-pve root=/dev/mapper/pve-root ro quiet");
}

void amd_68(const TempRoot& tmp, const std::string& cmdline) {
    host(tmp, "AuthenticAMD", "6.8.12-4-pve", cmdline);
}

// Writes every planned file, as apply would.
void write_plan(const TempRoot& tmp, const pt::edit::Plan& plan) {
    for (const auto& file : plan.files) {
        REQUIRE(file.after);
        tmp.write(file.path, *file.after);
    }
}

std::string read(const TempRoot& tmp, const std::string& path) {
    return pt::host::Root(tmp.path()).read_file(path);
}

} // namespace

TEST_CASE("boot::default_ops: what the CPU and kernel need", "[boot][plan]") {
    pt::kernel::HostFacts facts;
    facts.cpu = pt::kernel::CpuVendor::intel;
    facts.release = pt::kernel::parse_release("6.5.13-6-pve");
    auto ops = pt::grub::default_ops(facts, {});
    REQUIRE(ops.size() == 1);
    CHECK(ops[0].param == pt::kernel::Param{"intel_iommu", "on"});
    CHECK_THAT(ops[0].reason, Catch::Contains("before kernel 6.8"));

    facts.release = pt::kernel::parse_release("6.8.12-4-pve");
    CHECK(pt::grub::default_ops(facts, {}).empty());
    CHECK(pt::grub::default_ops(facts, {{"intel_iommu", "off"}}).size() == 1);
    CHECK(pt::grub::default_ops(facts, {{"intel_iommu", "igfx_off"}}).empty());

    facts.release.reset();
    CHECK(pt::grub::default_ops(facts, {}).size() == 1);

    facts.cpu = pt::kernel::CpuVendor::amd;
    ops = pt::grub::default_ops(facts, {});
    REQUIRE(ops.size() == 1);
    CHECK(ops[0].kind == pt::conf::ParamOp::Kind::remove);
    CHECK(ops[0].param == pt::kernel::Param{"amd_iommu", "on"});

    facts.cpu = pt::kernel::CpuVendor::unknown;
    CHECK(pt::grub::default_ops(facts, {}).empty());
}

TEST_CASE("boot request parameters", "[boot][plan]") {
    CHECK(pt::grub::parse_request_param("iommu=pt", "--add") == pt::kernel::Param{"iommu", "pt"});
    CHECK(pt::grub::parse_request_param("quiet", "--add") == pt::kernel::Param{"quiet", {}});
    for (const char* bad : {"", "a b", "x=\"y\"", "x=$y", "x=`y`", "x='y'", "=on", "a\\b"}) {
        INFO(bad);
        CHECK_THROWS_AS(pt::grub::parse_request_param(bad, "--add"), pt::UsageError);
    }
    // Characters that end a command or redirect in /bin/sh and in grub.cfg, control characters
    // and a leading '#' (a grub.cfg comment): refused with the reason.
    for (const char* bad : {"foo=x;reboot", "a&b", "a|b", "a<b", "a>b"}) {
        INFO(bad);
        CHECK_THROWS_WITH(pt::grub::parse_request_param(bad, "--add"),
                          Catch::StartsWith(std::string("--add '") + bad + "'")
                              && Catch::Contains("ends a command or redirects"));
    }
    CHECK_THROWS_WITH(pt::grub::parse_request_param("a\x01"
                                                    "b",
                                                    "--add"),
                      Catch::Contains("control character 0x01"));
    CHECK_THROWS_WITH(pt::grub::parse_request_param("#x", "--add"), Catch::Contains("comment"));
    // Other punctuation of real parameters is accepted (pt quotes it where sh needs that).
    for (const char* good : {"acpi_osi=!Windows2015",
                             "crashkernel=512M-2G:64M,2G-:128M",
                             "netconsole=4444@10.0.0.1/eth1,9353@10.0.0.2/12:34:56:78:9a:bc",
                             "a#b"}) {
        INFO(good);
        CHECK_NOTHROW(pt::grub::parse_request_param(good, "--add"));
    }
    Request request;
    request.add = {{"iommu", "pt"}};
    request.remove = {{"iommu", {}}};
    CHECK_THROWS_AS(pt::grub::check_request(request), pt::UsageError);
    request.remove = {{"amd_iommu", "on"}};
    CHECK_NOTHROW(pt::grub::check_request(request));
    CHECK(request.any_option());
    CHECK_FALSE(Request{}.any_option());
}

TEST_CASE("boot::check_request refuses root=, BOOT_IMAGE= and initrd= on every path",
          "[boot][plan]") {
    for (const char* text :
         {"root=", "root", "root=/dev/sda1", "BOOT_IMAGE=/x", "initrd=/x.img", "initrd"}) {
        INFO(text);
        const auto param = pt::grub::parse_request_param(text, "--add");
        Request add;
        add.add = {param};
        CHECK_THROWS_AS(pt::grub::check_request(add), pt::UsageError);
        CHECK_THROWS_WITH(pt::grub::check_request(add),
                          Catch::StartsWith(std::string("--add ") + text)
                              && Catch::Contains("pt does not add, change or remove"));
        Request remove;
        remove.remove = {param};
        CHECK_THROWS_AS(pt::grub::check_request(remove), pt::UsageError);
        CHECK_THROWS_WITH(pt::grub::check_request(remove), Catch::StartsWith("--remove "));
    }
    CHECK(pt::grub::reserved_param_reason("root"));
    CHECK_FALSE(pt::grub::reserved_param_reason("rootwait"));
    CHECK_FALSE(pt::grub::reserved_param_reason("boot"));
    TempRoot tmp;
    SECTION("GRUB: the planner refuses before reading anything") {
        tmp.write("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
        Request request;
        request.add = {{"root", "/dev/sdb1"}};
        CHECK_THROWS_AS(plan_cmdline(tmp, request), pt::UsageError);
    }
}

TEST_CASE("boot::plan_cmdline on GRUB hosts", "[boot][plan]") {
    TempRoot tmp;
    SECTION("Intel 6.5: intel_iommu=on, update-grub, reboot; a second run plans nothing") {
        intel_65(tmp);
        tmp.write("/etc/default/grub", k_grub);
        const auto plan = plan_cmdline(tmp, Request{});
        REQUIRE(plan.files.size() == 1);
        CHECK(plan.files[0].path == "/etc/default/grub");
        CHECK(plan.files[0].before == k_grub);
        CHECK(plan.files[0].after
              == "GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\n"
                 "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n"
                 "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on\"\n"
                 "GRUB_CMDLINE_LINUX=\"\"\n");
        CHECK(plan.follow_ups == std::vector<FollowUp>{FollowUp::update_grub});
        CHECK(plan.reboot_needed);
        write_plan(tmp, plan);
        const auto again = plan_cmdline(tmp, Request{});
        CHECK(again.empty());
        CHECK(again.follow_ups.empty());
        CHECK_FALSE(again.reboot_needed);
    }
    SECTION("options add in a fixed order; idempotent") {
        intel_65(tmp);
        tmp.write("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT='quiet intel_iommu=off'");
        Request request;
        request.iommu_pt = true;
        request.sysfb_off = true;
        request.add = {{"kvm.ignore_msrs", "1"}};
        const auto planned = plan_cmdline_changes(tmp, request);
        REQUIRE(planned.plan.files.size() == 1);
        CHECK(planned.plan.files[0].after
              == "GRUB_CMDLINE_LINUX_DEFAULT='quiet intel_iommu=on iommu=pt "
                 "initcall_blacklist=sysfb_init kvm.ignore_msrs=1'");
        REQUIRE(planned.changes.size() == 4);
        CHECK(planned.changes[0].change.describe()
              == "replace intel_iommu=off with intel_iommu=on");
        CHECK(planned.changes[0].line == 1);
        write_plan(tmp, planned.plan);
        CHECK(plan_cmdline(tmp, request).empty());
    }
    SECTION("a drop-in that reassigns the variable is edited; proxmox-boot-tool refreshes") {
        intel_65(tmp);
        tmp.write("/etc/kernel/proxmox-boot-uuids", "1234-ABCD\n");
        tmp.write("/etc/default/grub", k_grub);
        tmp.write("/etc/default/grub.d/local.cfg",
                  "# mine\nGRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT splash\"\n");
        tmp.write("/etc/default/grub.d/proxmox-kernel-pin.cfg", "GRUB_DEFAULT=\"x\"\n");
        tmp.write("/etc/default/grub.d/ignored.conf", "GRUB_CMDLINE_LINUX_DEFAULT=\"$(x)\"\n");
        const auto plan = plan_cmdline(tmp, Request{});
        REQUIRE(plan.files.size() == 1);
        CHECK(plan.files[0].path == "/etc/default/grub.d/local.cfg");
        CHECK(plan.files[0].after
              == "# mine\nGRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT splash "
                 "intel_iommu=on\"\n");
        CHECK(plan.follow_ups == std::vector<FollowUp>{FollowUp::proxmox_boot_refresh});
    }
    SECTION("AMD: amd_iommu=on is removed, never added") {
        amd_68(tmp, "BOOT_IMAGE=/boot/vmlinuz root=/dev/x ro quiet amd_iommu=on iommu=pt");
        tmp.write("/etc/default/grub",
                  "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet amd_iommu=on iommu=pt\"\n");
        const auto planned = plan_cmdline_changes(tmp, Request{});
        REQUIRE(planned.plan.files.size() == 1);
        CHECK(planned.plan.files[0].after == "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt\"\n");
        REQUIRE(planned.changes.size() == 1);
        CHECK_THAT(planned.changes[0].change.reason, Catch::Contains("AMD-Vi: Unknown option"));
        write_plan(tmp, planned.plan);
        CHECK(plan_cmdline(tmp, Request{}).empty());
    }
    SECTION("--acs-override warns") {
        amd_68(tmp, "BOOT_IMAGE=/boot/vmlinuz root=/dev/x ro quiet");
        tmp.write("/etc/default/grub", k_grub);
        Request request;
        request.acs_override = true;
        const auto planned = plan_cmdline_changes(tmp, request);
        REQUIRE(planned.warnings.size() == 1);
        CHECK_THAT(planned.warnings[0], Catch::Contains("SECURITY"));
        CHECK_THAT(*planned.plan.files[0].after,
                   Catch::Contains("pcie_acs_override=downstream,multifunction"));
    }
    SECTION("unparsable files are refused with the path and line, before anything") {
        intel_65(tmp);
        tmp.write("/etc/default/grub", k_grub);
        tmp.write("/etc/default/grub.d/x.cfg",
                  "if [ -e /x ]; then\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nfi\n");
        CHECK_THROWS_WITH(plan_cmdline(tmp, Request{}),
                          Catch::StartsWith("/etc/default/grub.d/x.cfg line 2: ")
                              && Catch::Contains("by hand"));
        const auto report = read_report(tmp);
        const auto& status = report.status;
        REQUIRE_FALSE(status.problems.empty());
        CHECK_FALSE(status.configured);
    }
    SECTION("a missing /etc/default/grub is an error") {
        intel_65(tmp);
        CHECK_THROWS_WITH(plan_cmdline(tmp, Request{}),
                          Catch::Contains("/etc/default/grub does not exist"));
    }
}

TEST_CASE("boot::plan_cmdline on systemd-boot hosts", "[boot][plan]") {
    TempRoot tmp;
    const std::string proc = "initrd=\\EFI\\proxmox\\6.5.13-6-pve\\initrd.img-6.5.13-6-pve "
                             "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet";
    host(tmp, "GenuineIntel", "6.5.13-6-pve", proc);
    tmp.write("/etc/kernel/proxmox-boot-uuids", "1234-ABCD\n");
    SECTION("edits the first line of /etc/kernel/cmdline") {
        tmp.write("/etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet\n");
        tmp.write("/etc/default/grub", k_grub);
        const auto plan = plan_cmdline(tmp, Request{});
        REQUIRE(plan.files.size() == 1);
        CHECK(plan.files[0].path == "/etc/kernel/cmdline");
        CHECK(plan.files[0].after == "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet intel_iommu=on\n");
        CHECK(plan.follow_ups == std::vector<FollowUp>{FollowUp::proxmox_boot_refresh});
        write_plan(tmp, plan);
        CHECK(plan_cmdline(tmp, Request{}).empty());
    }
    SECTION("a missing /etc/kernel/cmdline is started from /proc/cmdline without initrd=") {
        const auto plan = plan_cmdline(tmp, Request{});
        REQUIRE(plan.files.size() == 1);
        CHECK_FALSE(plan.files[0].before);
        CHECK(plan.files[0].after == "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet intel_iommu=on\n");
    }
    SECTION("refuses to drop root=") {
        tmp.write("/etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet\n");
        Request request;
        request.remove = {{"root", {}}};
        CHECK_THROWS_WITH(plan_cmdline(tmp, request), Catch::Contains("root="));
    }
    SECTION("status: configured, running, wrong file") {
        tmp.write("/etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet iommu=pt\n");
        tmp.write("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on\"\n");
        const auto report = read_report(tmp);
        const auto& status = report.status;
        CHECK(status.detection.kind == pt::boot::Bootloader::proxmox_systemd_boot);
        CHECK(status.configured == "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet iommu=pt");
        CHECK(status.pending == std::vector<std::string>{"iommu=pt"});
        CHECK(status.not_configured.empty());
        REQUIRE(status.notes.size() == 2);
        CHECK_THAT(status.notes[1], Catch::Contains("intel_iommu=on") && Catch::Contains("wrong"));
        REQUIRE(report.needed.size() == 1);
        CHECK(report.needed[0].change.describe() == "add intel_iommu=on");
        CHECK(report.needed[0].path == "/etc/kernel/cmdline");
    }
}

TEST_CASE("boot::plan_cmdline refuses an unknown bootloader", "[boot][plan]") {
    TempRoot tmp;
    host(tmp, "GenuineIntel", "6.5.13-6-pve", "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet");
    tmp.write("/etc/kernel/proxmox-boot-uuids", "1234-ABCD\n");
    tmp.write("/etc/default/grub", k_grub);
    CHECK_THROWS_WITH(plan_cmdline(tmp, Request{}), Catch::Contains("proxmox-boot-tool status"));
    const auto report = read_report(tmp);
    const auto& status = report.status;
    CHECK(status.detection.kind == pt::boot::Bootloader::unknown);
    CHECK_FALSE(status.problems.empty());
}

TEST_CASE("boot::plan_cmdline --vfio-ids", "[boot][plan]") {
    TempRoot tmp;
    intel_65(tmp);
    tmp.write("/etc/default/grub", k_grub);
    tmp.mkdir("/sys/class/iommu/dmar0");
    DeviceSpec gpu;
    gpu.address = "0000:01:00.0";
    gpu.device = "2504";
    gpu.iommu_group = 1;
    tmp.add_device(gpu);
    DeviceSpec audio = gpu;
    audio.address = "0000:01:00.1";
    audio.device = "228e";
    audio.class_code = "040300";
    tmp.add_device(audio);
    DeviceSpec twin = gpu;
    twin.address = "0000:02:00.0";
    twin.iommu_group = 2;
    tmp.add_device(twin);
    Request request;
    request.vfio_devices = {pt::pci::parse_selector("01:00")};
    const auto planned = plan_cmdline_changes(tmp, request);
    REQUIRE(planned.plan.files.size() == 1);
    CHECK_THAT(*planned.plan.files[0].after,
               Catch::Contains("intel_iommu=on vfio-pci.ids=10de:2504,10de:228e\""));
    REQUIRE(planned.warnings.size() == 1);
    CHECK_THAT(planned.warnings[0], Catch::Contains("0000:02:00.0 has the ID 10de:2504"));
    write_plan(tmp, planned.plan);
    CHECK(plan_cmdline(tmp, request).empty());
    CHECK(read(tmp, "/etc/default/grub").ends_with("GRUB_CMDLINE_LINUX=\"\"\n"));
}
