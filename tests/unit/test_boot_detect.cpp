// SPDX-License-Identifier: MIT
#include "pt/boot/detect.hpp"
#include "pt/host/root.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <string>

using pt::boot::BootFacts;
using pt::boot::Bootloader;
using pt::boot::detect;
using pt::test::TempRoot;

namespace {

const std::string k_grub_proc =
    "BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve root=/dev/mapper/pve-root ro quiet";
const std::string k_sdboot_proc = "initrd=\\EFI\\proxmox\\6.8.12-4-pve\\initrd.img-6.8.12-4-pve "
                                  "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet";

} // namespace

TEST_CASE("boot::detect follows ground-truth section 4", "[boot][detect]") {
    SECTION("legacy BIOS: GRUB, under proxmox-boot-tool when the uuids file exists") {
        BootFacts facts;
        facts.proc_cmdline = k_grub_proc;
        auto d = detect(facts);
        CHECK(d.kind == Bootloader::grub);
        CHECK_THAT(d.evidence.front(), Catch::Contains("legacy BIOS"));
        facts.proxmox_boot_uuids = true;
        d = detect(facts);
        CHECK(d.kind == Bootloader::proxmox_grub);
        CHECK(d.evidence.size() == 2);
    }
    SECTION("UEFI without proxmox-boot-tool: plain GRUB, doubt on a systemd-boot initrd=") {
        BootFacts facts;
        facts.efi = true;
        facts.proc_cmdline = k_grub_proc;
        auto d = detect(facts);
        CHECK(d.kind == Bootloader::grub);
        CHECK(d.doubts.empty());
        facts.proc_cmdline = k_sdboot_proc;
        d = detect(facts);
        CHECK(d.kind == Bootloader::grub);
        CHECK(d.doubts.size() == 1);
    }
    SECTION("UEFI with proxmox-boot-tool: the running command line decides") {
        BootFacts facts;
        facts.efi = true;
        facts.proxmox_boot_uuids = true;
        facts.proc_cmdline = k_grub_proc;
        auto d = detect(facts);
        CHECK(d.kind == Bootloader::proxmox_grub);
        CHECK_THAT(d.evidence.back(), Catch::Contains("BOOT_IMAGE="));
        facts.proc_cmdline = k_sdboot_proc;
        d = detect(facts);
        CHECK(d.kind == Bootloader::proxmox_systemd_boot);
        CHECK_THAT(d.evidence.back(), Catch::Contains("initrd="));
        facts.proc_cmdline = "initrd=/EFI/proxmox/6.5.13-6-pve/initrd.img root=ZFS=rpool/x";
        CHECK(detect(facts).kind == Bootloader::proxmox_systemd_boot);
    }
    SECTION("then /etc/kernel/cmdline with root=, else unknown") {
        BootFacts facts;
        facts.efi = true;
        facts.proxmox_boot_uuids = true;
        facts.proc_cmdline = "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet";
        CHECK(detect(facts).kind == Bootloader::unknown);
        CHECK_THAT(detect(facts).evidence.back(), Catch::Contains("proxmox-boot-tool status"));
        facts.kernel_cmdline_file = "quiet intel_iommu=on\n";
        CHECK(detect(facts).kind == Bootloader::unknown);
        facts.kernel_cmdline_file = "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet\n";
        CHECK(detect(facts).kind == Bootloader::proxmox_systemd_boot);
        facts.proc_cmdline.reset();
        CHECK(detect(facts).kind == Bootloader::proxmox_systemd_boot);
    }
    SECTION("names") {
        CHECK(pt::boot::to_string(Bootloader::proxmox_systemd_boot)
              == "proxmox-boot-tool+systemd-boot");
        CHECK(pt::boot::describe(Bootloader::proxmox_grub) == "proxmox-boot-tool + GRUB");
    }
}

TEST_CASE("boot::read_boot_facts reads through the root", "[boot][detect]") {
    TempRoot tmp;
    SECTION("an empty root: BIOS, plain GRUB") {
        const pt::host::Root root(tmp.path());
        const auto facts = pt::boot::read_boot_facts(root);
        CHECK_FALSE(facts.efi);
        CHECK_FALSE(facts.proxmox_boot_uuids);
        CHECK_FALSE(facts.proc_cmdline);
        CHECK(detect(root).kind == Bootloader::grub);
    }
    SECTION("a ZFS host with systemd-boot") {
        tmp.mkdir("/sys/firmware/efi");
        tmp.write("/etc/kernel/proxmox-boot-uuids", "1234-ABCD\n");
        tmp.write("/etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n");
        tmp.write("/proc/cmdline", k_sdboot_proc + "\n");
        const pt::host::Root root(tmp.path());
        const auto facts = pt::boot::read_boot_facts(root);
        CHECK(facts.efi);
        CHECK(facts.proxmox_boot_uuids);
        CHECK(facts.proc_cmdline == k_sdboot_proc);
        CHECK(facts.kernel_cmdline_file == "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n");
        CHECK(detect(root).kind == Bootloader::proxmox_systemd_boot);
    }
}
