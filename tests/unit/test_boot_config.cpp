// SPDX-License-Identifier: MIT
#include "pt/boot/config.hpp"
#include "pt/host/root.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <string>
#include <vector>

using pt::boot::Bootloader;
using pt::test::TempRoot;

namespace {

using Strings = std::vector<std::string>;

pt::boot::Status status(const TempRoot& tmp, Bootloader kind, const std::string& running) {
    pt::boot::Detection detection;
    detection.kind = kind;
    pt::kernel::HostFacts facts;
    facts.cpu = pt::kernel::CpuVendor::intel;
    facts.release = pt::kernel::parse_release("6.8.12-4-pve");
    facts.cmdline_text = running;
    facts.cmdline = pt::kernel::parse_cmdline(running);
    return pt::boot::describe_status(
        detection, facts, pt::boot::read_boot_files(pt::host::Root(tmp.path())));
}

} // namespace

TEST_CASE("boot::cmdline_from_proc drops what the loader added", "[boot][config]") {
    CHECK(
        pt::boot::cmdline_from_proc("initrd=\\EFI\\proxmox\\6.8.12-4-pve\\initrd.img-6.8.12-4-pve "
                                    "root=ZFS=rpool/ROOT/pve-1 boot=zfs  quiet")
        == "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet");
    CHECK(pt::boot::cmdline_from_proc("BOOT_IMAGE=/boot/vmlinuz root=/dev/x ro quiet\n")
          == "root=/dev/x ro quiet");
    CHECK(pt::boot::cmdline_from_proc("").empty());
}

TEST_CASE("boot::read_grub_cfg: the first linux line", "[boot][config]") {
    TempRoot tmp;
    const pt::host::Root root(tmp.path());
    CHECK_FALSE(pt::boot::read_grub_cfg(root));
    tmp.write("/boot/grub/grub.cfg", "set default=0\nmenuentry 'x' {\n\tinitrd\t/boot/initrd\n}\n");
    CHECK_FALSE(pt::boot::read_grub_cfg(root));
    tmp.write("/boot/grub/grub.cfg",
              "set linux=1\n"
              "menuentry 'Proxmox VE' {\n"
              "\tlinux\t/boot/vmlinuz-6.8.12-4-pve root=/dev/mapper/pve-root ro  quiet  \n"
              "}\n"
              "\tlinux\t/boot/vmlinuz-6.5.13-6-pve root=/dev/mapper/pve-root ro\n");
    const auto staged = pt::boot::read_grub_cfg(root);
    REQUIRE(staged);
    CHECK(staged->path == "/boot/grub/grub.cfg");
    CHECK(staged->line == 3);
    CHECK(staged->cmdline == "root=/dev/mapper/pve-root ro  quiet");
    tmp.write("/boot/grub/grub.cfg", "linux /boot/vmlinuz\n");
    REQUIRE(pt::boot::read_grub_cfg(root));
    CHECK(pt::boot::read_grub_cfg(root)->cmdline.empty());
}

TEST_CASE("boot::read_boot_files", "[boot][config]") {
    TempRoot tmp;
    const pt::host::Root root(tmp.path());
    SECTION("nothing there") {
        const auto files = pt::boot::read_boot_files(root);
        CHECK_FALSE(files.grub);
        CHECK_FALSE(files.grub_error);
        CHECK_FALSE(files.kernel_cmdline);
        CHECK_FALSE(files.grub_cfg);
    }
    SECTION("the main file, then the .cfg drop-ins in name order, not hidden ones") {
        tmp.write("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
        tmp.write("/etc/default/grub.d/b.cfg",
                  "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT b\"\n");
        tmp.write("/etc/default/grub.d/a.cfg",
                  "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT a\"\n");
        tmp.write("/etc/default/grub.d/.c.cfg", "GRUB_CMDLINE_LINUX_DEFAULT=\"c\"\n");
        tmp.write("/etc/default/grub.d/d.conf", "GRUB_CMDLINE_LINUX_DEFAULT=\"d\"\n");
        tmp.write("/etc/kernel/cmdline", "root=/dev/x quiet\n");
        const auto files = pt::boot::read_boot_files(root);
        REQUIRE(files.grub);
        Strings paths;
        for (const auto& f : files.grub->files) {
            paths.push_back(f.path);
        }
        CHECK(paths
              == Strings{
                  "/etc/default/grub", "/etc/default/grub.d/a.cfg", "/etc/default/grub.d/b.cfg"});
        CHECK(files.grub->cmdline() == "quiet a b");
        CHECK(files.kernel_cmdline == "root=/dev/x quiet\n");
    }
    SECTION("a main file that cannot be read: the error, not an exception") {
        tmp.mkdir("/etc/default/grub");
        const auto files = pt::boot::read_boot_files(root);
        CHECK_FALSE(files.grub);
        REQUIRE(files.grub_error);
        CHECK_THAT(*files.grub_error, Catch::Contains("/etc/default/grub"));
    }
}

TEST_CASE("boot::describe_status on GRUB", "[boot][config]") {
    TempRoot tmp;
    tmp.write("/etc/default/grub",
              "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on\"\nGRUB_CMDLINE_LINUX=\"\"\n");
    SECTION("the same parameters: the loader's own ones do not count") {
        const auto s = status(
            tmp, Bootloader::grub, "BOOT_IMAGE=/boot/vmlinuz root=/dev/x ro quiet intel_iommu=on");
        CHECK(s.problems.empty());
        CHECK(s.cpu == pt::kernel::CpuVendor::intel);
        CHECK(s.kernel_release == "6.8.12-4-pve");
        CHECK(s.configured == "quiet intel_iommu=on");
        REQUIRE(s.sources.size() == 2);
        CHECK(s.sources[0].variable == "GRUB_CMDLINE_LINUX");
        CHECK(s.sources[0].line == 2);
        CHECK(s.sources[1].variable == "GRUB_CMDLINE_LINUX_DEFAULT");
        CHECK(s.sources[1].value == "quiet intel_iommu=on");
        CHECK(s.pending.empty());
        CHECK(s.not_configured.empty());
        CHECK(s.notes.empty());
        CHECK_FALSE(s.staged);
    }
    SECTION("configured, not running; running, not configured") {
        const auto s = status(tmp, Bootloader::grub, "BOOT_IMAGE=/boot/vmlinuz ro quiet iommu=pt");
        CHECK(s.pending == Strings{"intel_iommu=on"});
        CHECK(s.not_configured == Strings{"iommu=pt"});
        REQUIRE(s.notes.size() == 2);
        CHECK(s.notes[0]
              == "configured but not in the running kernel: intel_iommu=on; a reboot is pending "
                 "(after update-grub)");
        CHECK_THAT(s.notes[1],
                   Catch::StartsWith("in the running kernel but not configured: iommu=pt;"));
    }
    SECTION("grub.cfg is staged on plain GRUB only") {
        tmp.write("/boot/grub/grub.cfg", "\tlinux\t/boot/vmlinuz root=/dev/x ro quiet\n");
        const auto s =
            status(tmp, Bootloader::grub, "BOOT_IMAGE=/boot/vmlinuz ro quiet intel_iommu=on");
        REQUIRE(s.staged);
        CHECK(s.not_staged == Strings{"intel_iommu=on"});
        REQUIRE_FALSE(s.notes.empty());
        CHECK_THAT(s.notes[0],
                   Catch::StartsWith("configured but not in /boot/grub/grub.cfg (line 1): "
                                     "intel_iommu=on; update-grub has not run"));
        const auto managed = status(tmp, Bootloader::proxmox_grub, "ro quiet intel_iommu=on");
        CHECK_FALSE(managed.staged);
        CHECK(managed.not_staged.empty());
    }
    SECTION("parameters in /etc/kernel/cmdline, which GRUB never reads") {
        tmp.write("/etc/kernel/cmdline", "root=/dev/x quiet intel_iommu=on iommu=pt\n");
        const auto s = status(tmp, Bootloader::grub, "ro quiet intel_iommu=on");
        REQUIRE(s.notes.size() == 1);
        CHECK(s.notes[0]
              == "/etc/kernel/cmdline sets iommu=pt, but GRUB does not read that file (only "
                 "systemd-boot under proxmox-boot-tool does); the wrong file was edited");
    }
    SECTION("a drop-in pt cannot follow is a problem, and nothing is configured") {
        tmp.write("/etc/default/grub.d/x.cfg",
                  "if [ -e /x ]; then\nGRUB_CMDLINE_LINUX=\"x\"\nfi\n");
        const auto s = status(tmp, Bootloader::grub, "ro quiet");
        REQUIRE_FALSE(s.problems.empty());
        CHECK_THAT(s.problems[0], Catch::StartsWith("/etc/default/grub.d/x.cfg line 2: "));
        CHECK_FALSE(s.configured);
    }
}

TEST_CASE("boot::describe_status without a usable configuration", "[boot][config]") {
    TempRoot tmp;
    SECTION("GRUB without /etc/default/grub") {
        const auto s = status(tmp, Bootloader::grub, "ro quiet");
        CHECK(s.problems == Strings{"/etc/default/grub does not exist"});
        CHECK_FALSE(s.configured);
        CHECK(s.running == "ro quiet");
    }
    SECTION("an unknown bootloader") {
        const auto s = status(tmp, Bootloader::unknown, "ro quiet");
        REQUIRE(s.problems.size() == 1);
        CHECK_THAT(s.problems[0], Catch::StartsWith("the bootloader is unknown"));
    }
}

TEST_CASE("boot::describe_status on systemd-boot", "[boot][config]") {
    TempRoot tmp;
    const std::string proc = "initrd=\\EFI\\proxmox\\6.8.12-4-pve\\initrd.img-6.8.12-4-pve "
                             "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet";
    SECTION("the first line of /etc/kernel/cmdline") {
        tmp.write("/etc/kernel/cmdline",
                  "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet iommu=pt\n# x\n");
        const auto s = status(tmp, Bootloader::proxmox_systemd_boot, proc);
        CHECK(s.configured == "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet iommu=pt");
        REQUIRE(s.sources.size() == 1);
        CHECK(s.sources[0].path == "/etc/kernel/cmdline");
        CHECK(s.sources[0].line == 1);
        CHECK(s.sources[0].variable.empty());
        CHECK(s.pending == Strings{"iommu=pt"});
        CHECK_THAT(s.notes[0], Catch::EndsWith("(after proxmox-boot-tool refresh)"));
        CHECK(s.problems.empty());
    }
    SECTION("no root=: proxmox-boot-tool refuses it") {
        tmp.write("/etc/kernel/cmdline", "quiet iommu=pt\n");
        const auto s = status(tmp, Bootloader::proxmox_systemd_boot, proc);
        CHECK(s.problems
              == Strings{"/etc/kernel/cmdline line 1 has no root=: proxmox-boot-tool refresh "
                         "refuses it"});
    }
    SECTION("no /etc/kernel/cmdline: /proc/cmdline without initrd=") {
        const auto s = status(tmp, Bootloader::proxmox_systemd_boot, proc);
        CHECK(s.configured == "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet");
        CHECK(s.sources.empty());
        CHECK(s.notes
              == Strings{"/etc/kernel/cmdline does not exist: proxmox-boot-tool refresh uses "
                         "/proc/cmdline without initrd="});
        CHECK(s.pending.empty());
    }
    SECTION("/etc/default/grub, which systemd-boot never reads") {
        tmp.write("/etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet\n");
        tmp.write("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on\"\n");
        const auto s = status(tmp, Bootloader::proxmox_systemd_boot, proc);
        REQUIRE(s.notes.size() == 1);
        CHECK(s.notes[0]
              == "/etc/default/grub sets intel_iommu=on, but systemd-boot does not read it (it "
                 "uses the first line of /etc/kernel/cmdline); the wrong file was edited");
    }
}
