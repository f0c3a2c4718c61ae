// SPDX-License-Identifier: MIT
// Writes the fuzzers' seed corpora into DIR/TARGET/, one file per seed: for rom, the synthetic
// ROM shapes of the unit tests (tests/unit/support/rom_builder.hpp); for the text targets, files
// in the shapes of real ones (written here for pt, not copied from any host) behind a control
// line with a realistic edit (see each fuzz/TARGET_fuzz.cpp for the control grammar).
#include "support/rom_builder.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

void save(const std::string& dir, const std::string& name, const std::vector<std::uint8_t>& b) {
    std::filesystem::create_directories(dir);
    std::ofstream out(dir + "/" + name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void save_text(const std::string& dir, const std::string& name, const std::string& text) {
    save(dir, name, std::vector<std::uint8_t>(text.begin(), text.end()));
}

// A Debian 12 /etc/default/grub after the Proxmox installer.
const std::string k_grub = R"(# If you change this file, run 'update-grub' afterwards to update
# /boot/grub/grub.cfg.
# For full documentation of the options in this file, see:
#   info -f grub -n 'Simple configuration'

GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX=""

# If your computer has multiple video cards, ...
#GRUB_GFXMODE=640x480

# Uncomment to disable generation of recovery mode menu entries
#GRUB_DISABLE_RECOVERY="true"
)";

void text_seeds(const std::string& dir) {
    // grub_default: OPS \n MAIN [\0 DROPIN]
    const std::string g = dir + "/grub_default";
    save_text(g, "debian.txt", "+intel_iommu=on +iommu=pt\n" + k_grub);
    save_text(g,
              "selfref.txt",
              "+vfio-pci.ids=10de:2204,10de:1aef -nomodeset\n"
              "GRUB_CMDLINE_LINUX_DEFAULT='quiet splash'\n"
              "export GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX intel_iommu=off nomodeset\"\n"
              "GRUB_CMDLINE_LINUX_DEFAULT=\"${GRUB_CMDLINE_LINUX_DEFAULT} iommu=nopt\" # pt\n");
    save_text(g,
              "dropin.txt",
              "+initcall_blacklist=sysfb_init +pcie_acs_override=downstream,multifunction\n"
                  + k_grub + std::string(1, '\0')
                  + "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT "
                    "video=efifb:off\"\n");
    save_text(g,
              "unquoted.txt",
              "+quiet -amd_iommu=on\nGRUB_CMDLINE_LINUX_DEFAULT=amd_iommu=on\n"
              "if [ -e /etc/foo ]; then\n  GRUB_TIMEOUT=1\nfi\n");
    save_text(g, "empty.txt", "+intel_iommu=on\n");

    // kernel_cmdline_file: OPS \n FILE
    const std::string k = dir + "/kernel_cmdline_file";
    save_text(k, "zfs.txt", "+intel_iommu=on +iommu=pt\nroot=ZFS=rpool/ROOT/pve-1 boot=zfs\n");
    save_text(k,
              "lvm.txt",
              "+initcall_blacklist=sysfb_init -quiet\nroot=/dev/mapper/pve-root ro quiet "
              "intel_iommu=off,igfx_off\n# not read\nsecond line\n");
    save_text(k,
              "quoted.txt",
              "+vfio_pci.ids=1002:73bf -video=efifb:off\nroot=ZFS=\"rpool/ROOT/pve 1\" "
              "boot=zfs video=efifb:off vfio-pci.ids=10de:2204");
    save_text(k, "noroot.txt", "+iommu=pt\nquiet splash\n");

    // modprobe: MODULE KEY VALUE PRE \n FILE
    const std::string m = dir + "/modprobe";
    save_text(m,
              "vfio.txt",
              "vfio-pci ids 10de:2204,10de:1aef nvidia\n"
              "# pt: vfio-pci claims the GPU first\n"
              "options vfio-pci ids=10de:2204,10de:1aef disable_vga=1\n"
              "softdep nvidia pre: vfio-pci\n"
              "softdep snd_hda_intel pre: vfio-pci post: foo\n");
    save_text(m,
              "blacklist.txt",
              "nouveau modeset 0 vfio_pci\nblacklist nouveau\nblacklist nvidiafb\n"
              "install radeon /bin/false\n"
              "install nvidia /sbin/modprobe --ignore-install nvidia $CMDLINE_OPTS\n"
              "options nouveau modeset=0\n");
    save_text(m,
              "continued.txt",
              "kvm ignore_msrs 1 kvm_intel\noptions kvm \\\n  ignore_msrs=1 \\\n"
              "  report_ignored_msrs=0\n  # indented comment\nalias pci:v000010DEd* nvidia\n"
              "options vfio_iommu_type1 allow_unsafe_interrupts=\"1\"");

    // modules_file: OPS \n FILE
    const std::string mf = dir + "/modules_file";
    save_text(mf,
              "etc_modules.txt",
              "+vfio +vfio_iommu_type1 +vfio_pci -vfio_virqfd\n"
              "# /etc/modules: kernel modules to load at boot time.\n#\n"
              "# This file contains the names of kernel modules that should be loaded\n"
              "# at boot time, one per line. Lines beginning with \"#\" are ignored.\n"
              "vfio\nvfio_virqfd\n");
    save_text(mf,
              "initramfs.txt",
              "+vfio-pci -vfio_pci\n# List of modules that you want to include in your "
              "initramfs.\n;modules-load.d comment\nraid1\nvfio_pci ids=10de:2204\nsd_mod");
    save_text(mf, "empty.txt", "+vfio\n");

    // vm_config: OPS \n CONFIG
    const std::string v = dir + "/vm_config";
    const std::string vm = "#Windows 11 gaming VM\n#with the RTX 3090\nagent: 1\nbios: ovmf\n"
                           "boot: order=scsi0;net0\ncores: 8\ncpu: host,hidden=1\n"
                           "efidisk0: local-lvm:vm-101-disk-0,efitype=4m,size=4M\n"
                           "hostpci0: 0000:01:00,pcie=1,x-vga=1,romfile=gpu.rom\n"
                           "machine: pc-q35-8.1\nmemory: 16384\nname: win11\n"
                           "net0: virtio=BC:24:11:00:00:01,bridge=vmbr0\nostype: win11\n"
                           "scsi0: local-lvm:vm-101-disk-1,size=128G\nsockets: 1\n"
                           "vga: none\nvmgenid: 3f2c0e52-0d6b-4bb1-9a43-1c1c2a4d1b9a\n";
    save_text(v,
              "win11.txt",
              "shostpci1=0000:01:00.1 rballoon hhostpci0=rombar=0 pmachine=q35\n" + vm
                  + "\n[PENDING]\nhostpci1: mapping=gpu,pcie=1\ndelete: vga\n"
                    "\n[before-gpu]\nbios: seabios\nmemory: 8192\n"
                    "snaptime: 1700000000\n\n[special:cloudinit]\nipconfig0: ip=dhcp\n");
    save_text(v,
              "pending.txt",
              "dhostpci2 eballoon qvga shostpci0=mapping=rtx,pcie=1\n"
              "hostpci0: host=01:00.0;01:00.1,pcie=on\nhostpci1: 02:00,legacy-igd=1,"
              "driver=vfio\nhostpci2: mapping=nic\r\nmemory: 4096\r\n[PENDING]\r\n"
              "delete: balloon,hostpci2\r\nmemory: 8192");
    save_text(v,
              "snapshots_only.txt",
              "sbios=ovmf hhostpci3=host=0000:81:00.0 rnet0\n[snap1]\nparent: x\n"
              "hostpci0: 0000:81:00,x-vga=yes\n[Pending]\nbios: seabios\n");

    // mapping: MAPPING NODE PATH [ID [GROUP [SUBSYS]]] \n FILE
    const std::string p = dir + "/mapping";
    const std::string cfg = "rtx3090\n"
                            "\tmap id=10de:2204,iommugroup=15,node=pve1,path=0000:01:00,"
                            "subsystem-id=1458:403b\n"
                            "\tmap id=10de:2204,iommugroup=32,node=pve2,path=0000:41:00.0\n"
                            "\tdescription RTX 3090 on both nodes\n\n"
                            "nic-x710\n# a comment\n"
                            "\tmap id=8086:1572,node=pve1,path=0000:03:00.0;0000:03:00.1\n";
    save_text(p, "two.txt", "rtx3090 pve1 0000:01:00 10de:2204 16 1458:403b\n" + cfg);
    save_text(p, "new_node.txt", "nic-x710 pve3 0000:05:00.0 8086:1572 7\n" + cfg);
    save_text(p, "new_mapping.txt", "gpu2 pve1 0000:02:00 1002:73bf\n" + cfg);
    save_text(p, "empty.txt", "gpu pve1 0000:01:00.0\n");
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    const std::string top = argv[1];
    text_seeds(top);
    const std::string dir = top + "/rom";
    using namespace pt::test; // NOLINT(google-build-using-namespace): a tiny tool
    for (const char* kind : {"legacy", "legacy+efi", "nvidia", "efi"}) {
        std::string name = kind;
        for (auto& c : name) {
            c = c == '+' ? '_' : c;
        }
        save(dir, name + ".rom", build_rom_kind(kind, 0x10de, 0x2204));
    }
    auto rom = build_rom_kind("legacy+efi", 0x10de, 0x2484);
    std::vector<std::uint8_t> header = {'N', 'V', 'G', 'I', 0x20, 0x01, 0x00, 0x00};
    header.resize(0x123, 0x5A);
    header.insert(header.end(), rom.begin(), rom.end());
    save(dir, "vendor_header.rom", header);
    save(dir, "truncated.rom", std::vector<std::uint8_t>(rom.begin(), rom.begin() + 1300));
    auto padded = rom;
    padded.resize(8192, 0xFF);
    save(dir, "padded.rom", padded);
    auto bad = rom_legacy(0x10de, 0x1180);
    bad.last = true;
    bad.good_checksum = false;
    save(dir, "bad_checksum.rom", build_rom({bad}));
    auto listed = rom_legacy(0x1002, 0x6798);
    listed.device_list = {0x6799, 0x679a};
    listed.indicator_extra = 0x7F;
    auto arm = rom_efi(0x1002, 0x6798);
    arm.efi_machine = 0xAA64;
    arm.last = true;
    save(dir, "device_list_aarch64.rom", build_rom({listed, arm}));
    return 0;
}
