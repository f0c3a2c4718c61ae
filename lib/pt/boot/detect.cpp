// SPDX-License-Identifier: MIT
#include "pt/boot/detect.hpp"

#include "pt/conf/kernel_cmdline_file.hpp"
#include "pt/host/root.hpp"
#include "pt/kernel/cmdline.hpp"

#include <algorithm>
#include <cctype>

namespace pt::boot {
namespace {

bool starts_with_boot_image(std::string_view cmdline) {
    const auto params = kernel::parse_cmdline(cmdline);
    return !params.empty() && params.front().name == "BOOT_IMAGE";
}

// systemd-boot's Proxmox entries say "initrd /EFI/proxmox/<kver>/initrd.img-<kver>", which the
// EFI stub passes on as initrd=\EFI\proxmox\...; zz-proxmox-boot strips exactly that token when
// it derives a command line from /proc/cmdline.
bool has_systemd_boot_initrd(std::string_view cmdline) {
    for (const auto& param : kernel::parse_cmdline(cmdline)) {
        if (param.name != "initrd" || !param.value) {
            continue;
        }
        std::string value = *param.value;
        std::replace(value.begin(), value.end(), '/', '\\');
        std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) {
            return static_cast<char>(std::tolower(c));
        });
        if (value.starts_with("\\efi\\proxmox\\")) {
            return true;
        }
    }
    return false;
}

} // namespace

std::string_view to_string(Bootloader kind) {
    switch (kind) {
    case Bootloader::grub:
        return "grub";
    case Bootloader::proxmox_grub:
        return "proxmox-boot-tool+grub";
    case Bootloader::proxmox_systemd_boot:
        return "proxmox-boot-tool+systemd-boot";
    case Bootloader::unknown:
        break;
    }
    return "unknown";
}

std::string_view describe(Bootloader kind) {
    switch (kind) {
    case Bootloader::grub:
        return "GRUB";
    case Bootloader::proxmox_grub:
        return "proxmox-boot-tool + GRUB";
    case Bootloader::proxmox_systemd_boot:
        return "proxmox-boot-tool + systemd-boot";
    case Bootloader::unknown:
        break;
    }
    return "unknown";
}

BootFacts read_boot_facts(const host::Root& root) {
    BootFacts facts;
    facts.efi = root.exists("/sys/firmware/efi");
    facts.proxmox_boot_uuids = root.exists("/etc/kernel/proxmox-boot-uuids");
    facts.proc_cmdline = root.read_attr("/proc/cmdline");
    if (root.exists("/etc/kernel/cmdline")) {
        facts.kernel_cmdline_file = root.read_file("/etc/kernel/cmdline");
    }
    return facts;
}

Detection detect(const BootFacts& facts) {
    Detection out;
    const bool proc_grub = facts.proc_cmdline && starts_with_boot_image(*facts.proc_cmdline);
    const bool proc_sdboot = facts.proc_cmdline && has_systemd_boot_initrd(*facts.proc_cmdline);
    if (!facts.efi) {
        out.evidence.emplace_back("/sys/firmware/efi is absent: the host booted in legacy BIOS "
                                  "mode, where Proxmox VE always boots with GRUB");
        if (facts.proxmox_boot_uuids) {
            out.evidence.emplace_back("/etc/kernel/proxmox-boot-uuids exists: proxmox-boot-tool "
                                      "keeps the kernels and GRUB on its boot partitions");
            out.kind = Bootloader::proxmox_grub;
        } else {
            out.kind = Bootloader::grub;
        }
        if (proc_sdboot) {
            out.doubts.emplace_back("/proc/cmdline has an initrd=\\EFI\\proxmox\\... token, which "
                                    "systemd-boot passes; is /sys/firmware of this root complete?");
        }
        return out;
    }
    out.evidence.emplace_back("/sys/firmware/efi exists: the host booted in UEFI mode");
    if (!facts.proxmox_boot_uuids) {
        out.evidence.emplace_back(
            "/etc/kernel/proxmox-boot-uuids is absent: proxmox-boot-tool is not in use, so GRUB "
            "boots the host from /boot");
        out.kind = Bootloader::grub;
        if (proc_sdboot) {
            out.doubts.emplace_back(
                "/proc/cmdline has an initrd=\\EFI\\proxmox\\... token, which systemd-boot under "
                "proxmox-boot-tool passes; if this root lacks /etc/kernel/proxmox-boot-uuids "
                "only because it is a partial copy, the verdict is wrong");
        }
        return out;
    }
    out.evidence.emplace_back(
        "/etc/kernel/proxmox-boot-uuids exists: proxmox-boot-tool manages the boot partitions, "
        "with GRUB or systemd-boot (pt cannot mount them to look)");
    if (proc_grub) {
        out.evidence.emplace_back("/proc/cmdline starts with BOOT_IMAGE=, which GRUB prepends");
        out.kind = Bootloader::proxmox_grub;
        return out;
    }
    if (proc_sdboot) {
        out.evidence.emplace_back("/proc/cmdline has an initrd=\\EFI\\proxmox\\... token, which "
                                  "systemd-boot's Proxmox entries pass");
        out.kind = Bootloader::proxmox_systemd_boot;
        return out;
    }
    if (facts.kernel_cmdline_file
        && conf::has_root_param(
            conf::split_kernel_cmdline(*facts.kernel_cmdline_file).first_line)) {
        out.evidence.emplace_back("/proc/cmdline does not tell; /etc/kernel/cmdline exists with "
                                  "root=, which only systemd-boot hosts need");
        out.kind = Bootloader::proxmox_systemd_boot;
        return out;
    }
    out.evidence.emplace_back(
        "neither /proc/cmdline (no BOOT_IMAGE=, no initrd=\\EFI\\proxmox\\...) nor "
        "/etc/kernel/cmdline tells GRUB from systemd-boot; `proxmox-boot-tool status` does: it "
        "prints \"configured with: uefi\" for systemd-boot and \"grub\" for GRUB");
    out.kind = Bootloader::unknown;
    return out;
}

Detection detect(const host::Root& root) {
    return detect(read_boot_facts(root));
}

} // namespace pt::boot
