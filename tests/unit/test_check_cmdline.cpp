// SPDX-License-Identifier: MIT
#include "pt/check/host_context.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <string>
#include <string_view>
#include <vector>

using pt::check::Check;
using pt::check::Status;
using pt::test::TempRoot;

namespace {

const std::string k_grub = "GRUB_DEFAULT=0\n"
                           "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
                           "GRUB_CMDLINE_LINUX=\"\"\n";

// A plain GRUB host (EFI, no proxmox-boot-tool): CPU vendor, kernel, running command line.
void host(const TempRoot& tmp,
          const std::string& vendor,
          const std::string& release,
          const std::string& cmdline) {
    tmp.write("/proc/cpuinfo", "processor\t: 0\nvendor_id\t: " + vendor + "\nflags\t\t: fpu\n");
    tmp.write("/proc/sys/kernel/osrelease", release + "\n");
    tmp.write("/proc/cmdline", cmdline + "\n");
    tmp.mkdir("/sys/firmware/efi");
}

std::vector<Check> run(const TempRoot& tmp) {
    const pt::model::Host model{pt::host::Root(tmp.path())};
    const pt::check::HostContext ctx(model);
    std::vector<Check> out;
    pt::check::check_cmdline(ctx, out);
    return out;
}

// `id` by value (see test_check_gpu.cpp); the checks are returned by value, so a copy.
Check find(const std::vector<Check>& checks, std::string_view id) {
    for (const auto& c : checks) {
        if (c.finding.id == id) {
            return c;
        }
    }
    FAIL("no check " << id);
    return {};
}

std::size_t count(const std::string& text, std::string_view part) {
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
        ++n;
    }
    return n;
}

} // namespace

TEST_CASE("check::cmdline: the four checks in order", "[check][cmdline]") {
    TempRoot tmp;
    host(tmp, "GenuineIntel", "6.8.12-4-pve", "BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve ro quiet");
    tmp.write("/etc/default/grub", k_grub);
    const auto checks = run(tmp);
    std::vector<std::string> ids;
    for (const auto& c : checks) {
        ids.push_back(c.finding.id);
    }
    CHECK(ids
          == std::vector<std::string>{
              "cmdline.iommu", "cmdline.invalid", "cmdline.folklore", "cmdline.configured"});
    for (const auto& c : checks) {
        CAPTURE(c.finding.id, c.finding.summary);
        CHECK(c.finding.status == Status::pass);
    }
    CHECK_THAT(find(checks, "cmdline.iommu").finding.summary,
               Catch::Contains("kernel 6.8.12-4-pve enables the Intel IOMMU by default"));
    CHECK(find(checks, "cmdline.configured").finding.summary
          == "the next boot gets the same parameters as this one");
    CHECK(find(checks, "cmdline.configured").what == "configured command line (GRUB)");
}

TEST_CASE("check::cmdline: cmdline.iommu follows the CPU and the kernel", "[check][cmdline]") {
    TempRoot tmp;
    tmp.write("/etc/default/grub", k_grub);
    SECTION("no /proc/cmdline: skip") {
        tmp.write("/proc/cpuinfo", "vendor_id\t: GenuineIntel\n");
        const auto c = find(run(tmp), "cmdline.iommu");
        CHECK(c.finding.status == Status::skip);
        CHECK(c.finding.summary == "/proc/cmdline is missing");
    }
    SECTION("Intel before 6.8 without intel_iommu=on: fail, pt grub --apply runs update-grub") {
        host(tmp, "GenuineIntel", "6.5.13-6-pve", "BOOT_IMAGE=/boot/vmlinuz ro quiet");
        const auto c = find(run(tmp), "cmdline.iommu");
        CHECK(c.finding.status == Status::fail);
        CHECK_THAT(c.finding.summary,
                   Catch::StartsWith("kernel 6.5.13-6-pve needs intel_iommu=on"));
        CHECK_THAT(c.finding.evidence, Catch::Contains("/proc/sys/kernel/osrelease: 6.5.13-6-pve"));
        CHECK(c.finding.fix == "pt grub --apply (it runs update-grub), then reboot");
    }
    SECTION("Intel before 6.8 with intel_iommu=on: pass") {
        host(tmp, "GenuineIntel", "6.5.13-6-pve", "BOOT_IMAGE=/boot/vmlinuz ro intel_iommu=on");
        const auto c = find(run(tmp), "cmdline.iommu");
        CHECK(c.finding.status == Status::pass);
        CHECK(c.finding.summary == "intel_iommu=on is set");
    }
    SECTION("Intel 6.8 with intel_iommu=on: pass, not needed") {
        host(tmp, "GenuineIntel", "6.8.12-4-pve", "BOOT_IMAGE=/boot/vmlinuz ro intel_iommu=on");
        const auto c = find(run(tmp), "cmdline.iommu");
        CHECK(c.finding.status == Status::pass);
        CHECK_THAT(c.finding.summary,
                   Catch::Contains("does not need it") && Catch::Contains("harmless"));
    }
    SECTION("intel_iommu=off among other options: fail") {
        host(tmp, "GenuineIntel", "6.8.12-4-pve", "ro intel_iommu=igfx_off,off");
        const auto c = find(run(tmp), "cmdline.iommu");
        CHECK(c.finding.status == Status::fail);
        CHECK(c.finding.summary == "intel_iommu=off switches the Intel IOMMU off");
    }
    SECTION("iommu=off on any CPU: fail, with the removal") {
        host(tmp, "AuthenticAMD", "6.8.12-4-pve", "ro iommu=off");
        const auto c = find(run(tmp), "cmdline.iommu");
        CHECK(c.finding.status == Status::fail);
        CHECK(c.finding.fix == "pt grub --remove iommu=off --apply, then reboot");
    }
    SECTION("AMD without a parameter: pass") {
        host(tmp, "AuthenticAMD", "6.8.12-4-pve", "ro quiet iommu=pt");
        const auto c = find(run(tmp), "cmdline.iommu");
        CHECK(c.finding.status == Status::pass);
        CHECK_THAT(c.finding.summary, Catch::Contains("no parameter is needed"));
    }
    SECTION("AMD with amd_iommu=off: fail") {
        host(tmp, "AuthenticAMD", "6.8.12-4-pve", "ro amd_iommu=off");
        const auto c = find(run(tmp), "cmdline.iommu");
        CHECK(c.finding.status == Status::fail);
        CHECK(c.finding.summary == "amd_iommu=off switches the AMD IOMMU off");
    }
    SECTION("AMD with the guides' intel_iommu=on: warn, remove it") {
        host(tmp, "AuthenticAMD", "6.8.12-4-pve", "ro quiet intel_iommu=on");
        const auto c = find(run(tmp), "cmdline.iommu");
        CHECK(c.finding.status == Status::warn);
        CHECK_THAT(c.finding.summary,
                   Catch::StartsWith("intel_iommu=on does nothing on this AMD CPU"));
        CHECK_THAT(c.finding.fix, Catch::Contains("pt grub --remove intel_iommu=on --apply"));
    }
    SECTION("an unknown CPU vendor: skip") {
        host(tmp, "CentaurHauls", "6.8.12-4-pve", "ro quiet");
        const auto c = find(run(tmp), "cmdline.iommu");
        CHECK(c.finding.status == Status::skip);
        CHECK_THAT(c.finding.summary, Catch::StartsWith("unknown CPU vendor"));
    }
}

TEST_CASE("check::cmdline: cmdline.invalid names what the kernel rejects", "[check][cmdline]") {
    TempRoot tmp;
    SECTION("amd_iommu=on, running and configured: one offender, pt grub removes it") {
        host(tmp, "AuthenticAMD", "6.8.12-4-pve", "BOOT_IMAGE=/boot/vmlinuz ro quiet amd_iommu=on");
        tmp.write("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet amd_iommu=on\"\n");
        const auto c = find(run(tmp), "cmdline.invalid");
        CHECK(c.finding.status == Status::warn);
        CHECK_THAT(c.finding.summary, Catch::StartsWith("amd_iommu=on is not a valid value"));
        // One summary for the one offender, although both files carry it.
        CHECK(count(c.finding.summary, "The AMD IOMMU needs no parameter") == 1);
        CHECK(c.finding.fix
              == "pt grub --apply (it runs update-grub), then reboot (pt grub removes "
                 "amd_iommu=on)");
    }
    SECTION("a value the kernel logged as unknown: removed with its whole value") {
        host(tmp,
             "GenuineIntel",
             "6.8.12-4-pve",
             "BOOT_IMAGE=/boot/vmlinuz ro intel_iommu=bogus,igfx_off");
        tmp.write("/etc/default/grub",
                  "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=bogus,igfx_off\"\n");
        tmp.write("/var/lib/pt/snapshot/dmesg",
                  "[    0.000000] DMAR: Unknown option - 'bogus,igfx_off'\n");
        const auto c = find(run(tmp), "cmdline.invalid");
        CHECK(c.finding.status == Status::warn);
        CHECK_THAT(c.finding.evidence,
                   Catch::Contains("/var/lib/pt/snapshot/dmesg: DMAR: Unknown option - "
                                   "'bogus,igfx_off'"));
        CHECK_THAT(c.finding.fix,
                   Catch::StartsWith("pt grub --remove intel_iommu=bogus,igfx_off --apply"));
    }
    SECTION("nothing rejected: pass") {
        host(tmp, "GenuineIntel", "6.8.12-4-pve", "BOOT_IMAGE=/boot/vmlinuz ro quiet");
        tmp.write("/etc/default/grub", k_grub);
        const auto c = find(run(tmp), "cmdline.invalid");
        CHECK(c.finding.status == Status::pass);
        CHECK(c.finding.summary == "no parameter the kernel rejects");
    }
}

TEST_CASE("check::cmdline: cmdline.folklore warns of the framebuffer switches",
          "[check][cmdline]") {
    TempRoot tmp;
    host(tmp,
         "GenuineIntel",
         "6.8.12-4-pve",
         "BOOT_IMAGE=/boot/vmlinuz ro quiet video=efifb:off video=vesafb:off");
    tmp.write("/etc/default/grub",
              "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet video=efifb:off video=vesafb:off\"\n");
    const auto c = find(run(tmp), "cmdline.folklore");
    CHECK(c.finding.status == Status::warn);
    CHECK_THAT(c.finding.summary,
               Catch::StartsWith("video=efifb:off and video=vesafb:off does nothing on Proxmox "
                                 "kernels"));
    CHECK_THAT(c.finding.evidence,
               Catch::Contains("/proc/cmdline: video=efifb:off")
                   && Catch::Contains("/etc/default/grub: video=vesafb:off"));
    CHECK_THAT(c.finding.fix,
               Catch::StartsWith("pt grub --remove video=efifb:off --remove video=vesafb:off "
                                 "--apply")
                   && Catch::Contains("pt grub --sysfb-off --apply"));
}

TEST_CASE("check::cmdline: cmdline.configured compares the next boot with this one",
          "[check][cmdline]") {
    TempRoot tmp;
    host(tmp, "GenuineIntel", "6.8.12-4-pve", "BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve ro quiet");
    SECTION("configured, not running, no grub.cfg: reboot pending") {
        tmp.write("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt\"\n");
        const auto c = find(run(tmp), "cmdline.configured");
        CHECK(c.finding.status == Status::warn);
        CHECK(c.finding.summary
              == "reboot pending: configured but not in the running kernel: iommu=pt");
        CHECK(c.finding.fix == "update-grub, then reboot");
        CHECK_THAT(c.finding.evidence,
                   Catch::Contains("/etc/default/grub line 1: "
                                   "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt\""));
        REQUIRE(c.layers);
        CHECK(c.layers->configured == true);
        CHECK_FALSE(c.layers->staged.has_value());
        CHECK(c.layers->running == false);
    }
    SECTION("configured, not in grub.cfg: update-grub has not run") {
        tmp.write("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt\"\n");
        tmp.write("/boot/grub/grub.cfg",
                  "menuentry 'Proxmox VE GNU/Linux' {\n"
                  "\tlinux\t/boot/vmlinuz-6.8.12-4-pve root=/dev/mapper/pve-root ro quiet\n"
                  "}\n");
        const auto c = find(run(tmp), "cmdline.configured");
        CHECK(c.finding.status == Status::fail);
        CHECK_THAT(c.finding.summary,
                   Catch::StartsWith("configured but not in /boot/grub/grub.cfg: iommu=pt"));
        CHECK(c.finding.fix == "update-grub, then reboot");
        CHECK_THAT(c.finding.evidence, Catch::Contains("staged: /boot/grub/grub.cfg line 2: "));
        REQUIRE(c.layers);
        CHECK(c.layers->staged == false);
    }
    SECTION("in grub.cfg too: only the reboot is left") {
        tmp.write("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt\"\n");
        tmp.write("/boot/grub/grub.cfg",
                  "\tlinux\t/boot/vmlinuz-6.8.12-4-pve root=/dev/mapper/pve-root ro quiet "
                  "iommu=pt\n");
        const auto c = find(run(tmp), "cmdline.configured");
        CHECK(c.finding.status == Status::warn);
        CHECK(c.finding.fix == "reboot");
        REQUIRE(c.layers);
        CHECK(c.layers->staged == true);
        CHECK(c.layers->running == false);
    }
    SECTION("running, no longer configured: the next boot drops it") {
        host(tmp, "GenuineIntel", "6.8.12-4-pve", "BOOT_IMAGE=/boot/vmlinuz ro quiet iommu=pt");
        tmp.write("/etc/default/grub", k_grub);
        const auto c = find(run(tmp), "cmdline.configured");
        CHECK(c.finding.status == Status::warn);
        CHECK_THAT(c.finding.summary,
                   Catch::StartsWith("in the running kernel but no longer configured: iommu=pt"));
    }
    SECTION("no /etc/default/grub: pt cannot tell") {
        const auto c = find(run(tmp), "cmdline.configured");
        CHECK(c.finding.status == Status::warn);
        CHECK_THAT(c.finding.summary,
                   Catch::StartsWith("pt cannot tell what the next boot gets: "));
        CHECK(c.finding.fix == "see pt grub for the details");
    }
    SECTION("systemd-boot host with the parameter in /etc/default/grub: the wrong file") {
        const std::string proc = "initrd=\\EFI\\proxmox\\6.8.12-4-pve\\initrd.img-6.8.12-4-pve "
                                 "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet";
        host(tmp, "GenuineIntel", "6.8.12-4-pve", proc);
        tmp.write("/etc/kernel/proxmox-boot-uuids", "1234-ABCD\n");
        tmp.write("/etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet\n");
        tmp.write("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt\"\n");
        const auto c = find(run(tmp), "cmdline.configured");
        CHECK(c.what == "configured command line (proxmox-boot-tool + systemd-boot)");
        CHECK(c.finding.status == Status::fail);
        CHECK_THAT(c.finding.summary,
                   Catch::StartsWith("edited a file this bootloader does not read: ")
                       && Catch::Contains("iommu=pt"));
        CHECK_THAT(
            c.finding.fix,
            Catch::StartsWith("put the parameters on the first line of /etc/kernel/cmdline"));
    }
}
