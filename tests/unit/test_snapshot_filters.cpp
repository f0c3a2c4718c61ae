// SPDX-License-Identifier: MIT
#include "pt/snapshot/filters.hpp"
#include "support/catch.hpp"

#include <string>
#include <vector>

using pt::snapshot::filter_kernel_log;
using pt::snapshot::k_redacted;
using pt::snapshot::redact_args;
using pt::snapshot::redact_mapping;
using pt::snapshot::redact_vm_config;
using pt::snapshot::Redaction;
using pt::snapshot::reduce_cpuinfo;
using pt::snapshot::refusal_reason;
using pt::snapshot::romfiles;

TEST_CASE("reduce_cpuinfo keeps the first CPU's vendor, model and flags") {
    const std::string cpuinfo = "processor\t: 0\n"
                                "vendor_id\t: AuthenticAMD\n"
                                "cpu family\t: 25\n"
                                "model\t\t: 33\n"
                                "model name\t: AMD Ryzen 9 5950X 16-Core Processor\n"
                                "stepping\t: 0\n"
                                "microcode\t: 0xa201016\n"
                                "cpu MHz\t\t: 3400.000\n"
                                "physical id\t: 0\n"
                                "flags\t\t: fpu vme svm npt\n"
                                "bugs\t\t: sysret_ss_attrs\n"
                                "\n"
                                "processor\t: 1\n"
                                "vendor_id\t: AuthenticAMD\n"
                                "flags\t\t: fpu vme svm npt\n";
    CHECK(reduce_cpuinfo(cpuinfo)
          == "processor\t: 0\n"
             "vendor_id\t: AuthenticAMD\n"
             "cpu family\t: 25\n"
             "model\t\t: 33\n"
             "model name\t: AMD Ryzen 9 5950X 16-Core Processor\n"
             "stepping\t: 0\n"
             "flags\t\t: fpu vme svm npt\n");
    CHECK(reduce_cpuinfo("") == "");
    CHECK(reduce_cpuinfo("garbage without colons\n") == "");
}

TEST_CASE("filter_kernel_log keeps the IOMMU, vfio, BAR and framebuffer lines only") {
    const std::string log = "[    0.000000] Linux version 6.8.12-4-pve (build@proxmox)\n"
                            "[    0.000000] Command line: BOOT_IMAGE=/vmlinuz intel_iommu=on\n"
                            "[    0.008035] ACPI: DMAR 0x0000000087ACAD28 000070 (v01 INTEL  SKL)\n"
                            "[    0.019700] DMAR: IOMMU enabled\n"
                            "[    0.050125] DMAR-IR: Enabled IRQ remapping in x2apic mode\n"
                            "[    0.300000] AMD-Vi: Unknown option - 'on'\n"
                            "[    0.400000] pci 0000:01:00.0: Adding to iommu group 14\n"
                            "[    0.500000] pci 0000:01:00.0: BAR 1: assigned [mem 0x...]\n"
                            "[    0.510000] pci 0000:01:00.0: Invalid PCI ROM header signature\n"
                            "[    0.600000] e1000e 0000:00:1f.6 eth0: 00:11:22:33:44:55\n"
                            "[    0.700000] sd 0:0:0:0: [sda] Serial number WD-WCC4E1234567\n"
                            "[    0.800000] embargo chromium barrel\n"
                            "[    1.000000] vfio-pci 0000:01:00.0: vgaarb: deactivate vga console\n"
                            "[    1.100000] efifb: probing for efifb\n"
                            "[    1.200000] kvm: disabled by bios\n"
                            "[    1.300000] kvm-clock: using sched offset of 639 cycles\n"
                            "[    1.400000] kvm_amd: SVM not supported by CPU\n"
                            "[    1.500000] Hypervisor detected: KVM\n";
    CHECK(filter_kernel_log(log)
          == "[    0.000000] Command line: BOOT_IMAGE=/vmlinuz intel_iommu=on\n"
             "[    0.008035] ACPI: DMAR 0x0000000087ACAD28 000070 (v01 INTEL  SKL)\n"
             "[    0.019700] DMAR: IOMMU enabled\n"
             "[    0.050125] DMAR-IR: Enabled IRQ remapping in x2apic mode\n"
             "[    0.300000] AMD-Vi: Unknown option - 'on'\n"
             "[    0.400000] pci 0000:01:00.0: Adding to iommu group 14\n"
             "[    0.500000] pci 0000:01:00.0: BAR 1: assigned [mem 0x...]\n"
             "[    0.510000] pci 0000:01:00.0: Invalid PCI ROM header signature\n"
             "[    1.000000] vfio-pci 0000:01:00.0: vgaarb: deactivate vga console\n"
             "[    1.100000] efifb: probing for efifb\n"
             "[    1.200000] kvm: disabled by bios\n"
             "[    1.400000] kvm_amd: SVM not supported by CPU\n"
             "[    1.500000] Hypervisor detected: KVM\n");
    CHECK(filter_kernel_log("") == "");
}

TEST_CASE("redact_vm_config replaces secrets and notes line for line") {
    const std::string conf = "#My Windows VM%3A admin password hunter2\n"
                             "#\n"
                             "bios: ovmf\n"
                             "cipassword: $5$abc$hashhashhash\n"
                             "ciuser: admin\n"
                             "hostpci0: 0000:01:00,pcie=1,x-vga=1\n"
                             "sshkeys: ssh-rsa%20AAAAB3Nza\n"
                             "\n"
                             "[snap1]\n"
                             "cipassword: $5$old\n"
                             "description: old notes\n"
                             "api_token_x: abc\n"
                             "net0: virtio=BC:24:11:00:00:01,bridge=vmbr0";
    std::vector<Redaction> redactions;
    const std::string out =
        redact_vm_config(conf, "/etc/pve/nodes/pve/qemu-server/100.conf", redactions);
    const std::string marker(k_redacted);
    CHECK(out
          == "# " + marker
                 + "\n"
                   "#\n"
                   "bios: ovmf\n"
                   "cipassword: "
                 + marker
                 + "\n"
                   "ciuser: admin\n"
                   "hostpci0: 0000:01:00,pcie=1,x-vga=1\n"
                   "sshkeys: "
                 + marker
                 + "\n"
                   "\n"
                   "[snap1]\n"
                   "cipassword: "
                 + marker
                 + "\n"
                   "description: "
                 + marker
                 + "\n"
                   "api_token_x: "
                 + marker
                 + "\n"
                   "net0: virtio=BC:24:11:00:00:01,bridge=vmbr0");
    REQUIRE(redactions.size() == 6);
    CHECK(redactions[0].line == 1);
    CHECK(redactions[0].key == "#");
    CHECK(redactions[1].line == 4);
    CHECK(redactions[1].key == "cipassword");
    CHECK(redactions[1].path == "/etc/pve/nodes/pve/qemu-server/100.conf");
    CHECK(redactions[2].key == "sshkeys");
    CHECK(redactions[3].line == 10);
    CHECK(redactions[4].key == "description");
    CHECK(redactions[5].key == "api_token_x");

    std::vector<Redaction> none;
    CHECK(redact_vm_config("boot: order=scsi0\nmemory: 8192\n", "/x", none)
          == "boot: order=scsi0\nmemory: 8192\n");
    CHECK(none.empty());
}

TEST_CASE("redact_args keeps the option names and -cpu's value, nothing else") {
    const std::string marker(k_redacted);
    CHECK(redact_args("-spice port=5901,password=hunter2 -object secret,id=s0,data=TOPSECRET")
          == "-spice " + marker + " -object " + marker);
    // -cpu and its value stay: pt's lint looks for them, and a CPU model holds no secret.
    CHECK(redact_args("-cpu host,kvm=off,hv_vendor_id=GenuineIntel")
          == "-cpu host,kvm=off,hv_vendor_id=GenuineIntel");
    CHECK(redact_args("--cpu=host -device vfio-pci,host=01:00.0")
          == "--cpu=host -device vfio-pci," + marker);
    // A -device keeps its driver name (the lint tells macOS guests by it), never its properties.
    CHECK(redact_args("-device isa-applesmc,osk=\"OURHARDWORK\" -device usb-kbd")
          == "-device isa-applesmc," + marker + " -device usb-kbd");
    // An option's own "=value" goes, its name stays; quotes group a word.
    CHECK(redact_args("-fw_cfg 'name=opt/x,string=my secret' -token=abc")
          == "-fw_cfg " + marker + " -token=" + marker);
    CHECK(redact_args("'-cpu' 'host,kvm=off' 'TOPSECRET'") == "'-cpu' 'host,kvm=off' " + marker);
    CHECK(redact_args("-cpu 'host,+kvm_pv_eoi,hv_vendor_id=NV43FIX'")
          == "-cpu 'host,+kvm_pv_eoi,hv_vendor_id=NV43FIX'");
    CHECK(redact_args("-no-hpet  -nodefaults") == "-no-hpet  -nodefaults");
    CHECK(redact_args("") == "");
    for (const auto* args : {"-spice port=1,password=hunter2", "x -object data=TOPSECRET"}) {
        const std::string out = redact_args(args);
        CHECK(out.find("hunter2") == std::string::npos);
        CHECK(out.find("TOPSECRET") == std::string::npos);
    }
}

TEST_CASE("redact_vm_config redacts args: values, line for line") {
    const std::string conf = "bios: ovmf\n"
                             "args: -spice port=5901,password=hunter2 -cpu host,kvm=off\n"
                             "args: -no-hpet\n"
                             "[snap]\n"
                             "args: -object secret,id=s0,data=TOPSECRET\n";
    std::vector<Redaction> redactions;
    const std::string out = redact_vm_config(conf, "/c", redactions);
    const std::string marker(k_redacted);
    CHECK(out
          == "bios: ovmf\nargs: -spice " + marker + " -cpu host,kvm=off\nargs: -no-hpet\n[snap]\n"
                 + "args: -object " + marker + "\n");
    REQUIRE(redactions.size() == 2);
    CHECK(redactions[0].line == 2);
    CHECK(redactions[0].key == "args");
    CHECK(redactions[1].line == 5);
}

TEST_CASE("redact_mapping removes the free text of pci.cfg, line for line") {
    const std::string cfg = "# admin pw hunter2\n"
                            "gpu\n"
                            "\tdescription the password is hunter2\n"
                            "\tmap id=10de:2204,node=pve,path=0000:01:00,description=hunter2\n"
                            "\tmap id=10de:2204,node=pve2,path=0000:02:00\n";
    std::vector<Redaction> redactions;
    const std::string marker(k_redacted);
    CHECK(redact_mapping(cfg, "/etc/pve/mapping/pci.cfg", redactions)
          == "# " + marker + "\ngpu\n\tdescription " + marker
                 + "\n\tmap id=10de:2204,node=pve,path=0000:01:00,description=" + marker
                 + "\n\tmap id=10de:2204,node=pve2,path=0000:02:00\n");
    REQUIRE(redactions.size() == 3);
    CHECK(redactions[1].line == 3);
    CHECK(redactions[1].key == "description");
    CHECK(redactions[2].key == "map");
}

TEST_CASE("refusal_reason names keys, private folders and password files") {
    for (const auto* path : {"/etc/pve/priv",
                             "/etc/pve/priv/authkey.key",
                             "/etc/pve/priv/storage/nas.pw",
                             "/etc/pve/nodes/pve/pve-ssl.key",
                             "/etc/pve/pve-root-ca.pem",
                             "/var/lib/pve-cluster/config.db",
                             "/etc/corosync/authkey",
                             "/etc/ssh/ssh_host_ed25519_key",
                             "/etc/ssl/private/x",
                             "/etc/shadow",
                             "/etc/gshadow-",
                             "/root",
                             "/root/.ssh/id_rsa",
                             "/home/alice/notes",
                             "/proc/1/environ",
                             "/proc/kcore"}) {
        CAPTURE(path);
        CHECK_FALSE(refusal_reason(path).empty());
    }
    for (const auto* path : {"/etc/pve/privileges",
                             "/etc/pve/nodes/pve/qemu-server/100.conf",
                             "/etc/modprobe.d/vfio.conf",
                             "/etc/shadows",
                             "/rootfs",
                             "/homes",
                             "/proc/cmdline",
                             "/proc/4242",
                             "/sys/bus/pci/devices/0000:01:00.0/vendor"}) {
        CAPTURE(path);
        CHECK(refusal_reason(path).empty());
    }
}

TEST_CASE("romfiles lists the romfile= values of hostpci lines") {
    const std::string conf = "hostpci0: 0000:01:00,pcie=1,romfile=gpu.rom,x-vga=1\n"
                             "hostpci1: 02:00.0,romfile=gpu.rom\n"
                             "hostpci2: mapping=igpu,romfile=igd.rom\n"
                             "hostpci3: 03:00,romfile=/root/abs.rom\n"
                             "hostpci4: 04:00,romfile=../../etc/shadow\n"
                             "args: -device romfile=nope.rom\n";
    CHECK(romfiles(conf) == std::vector<std::string>{"gpu.rom", "igd.rom"});
    CHECK(romfiles("").empty());
}

TEST_CASE("keep_btime keeps only the boot time of /proc/stat") {
    CHECK(pt::snapshot::keep_btime("cpu  1 2 3\nintr 5\nbtime 1732258800\nprocesses 9\n")
          == "btime 1732258800\n");
    CHECK(pt::snapshot::keep_btime("cpu  1 2 3\nbtime_x 1\n").empty());
    CHECK(pt::snapshot::keep_btime("").empty());
}

TEST_CASE("reduce_grub_cfg keeps the menu and the linux lines, in place, and no password") {
    const std::string cfg =
        "set default=\"0\"\n"
        "set superusers=\"root\"\n"
        "password_pbkdf2 root grub.pbkdf2.sha512.10000.ABC\n"
        "menuentry 'Proxmox VE GNU/Linux' --class proxmox {\n"
        "\tinsmod gzio\n"
        "\tlinux\t/boot/vmlinuz-6.8.12-4-pve root=/dev/mapper/pve-root ro  quiet\n"
        "\tinitrd\t/boot/initrd.img-6.8.12-4-pve\n"
        "}\n"
        "linuxefi_not_this x\n";
    CHECK(pt::snapshot::reduce_grub_cfg(cfg)
          == "set default=\"0\"\n"
             "\n"
             "\n"
             "menuentry 'Proxmox VE GNU/Linux' --class proxmox {\n"
             "\n"
             "\tlinux\t/boot/vmlinuz-6.8.12-4-pve root=/dev/mapper/pve-root ro  quiet\n"
             "\tinitrd\t/boot/initrd.img-6.8.12-4-pve\n"
             "}\n"
             "\n");
    CHECK(pt::snapshot::reduce_grub_cfg("").empty());
    CHECK(pt::snapshot::reduce_grub_cfg("no newline") == "");
}

TEST_CASE("keep_render_video keeps the gids pt lxc writes, not the members") {
    CHECK(pt::snapshot::keep_render_video(
              "root:x:0:\nvideo:x:44:alice\nrender:x:993:alice,bob\nrenderers:x:5:\n")
          == "video:x:44:\nrender:x:993:\n");
    CHECK(pt::snapshot::keep_render_video("render:x:993:") == "render:x:993:\n");
    CHECK(pt::snapshot::keep_render_video("").empty());
}

TEST_CASE("reduce_storage_cfg keeps what locates a subvolume, no servers or users") {
    CHECK(pt::snapshot::reduce_storage_cfg("NOT A HEADER\nstray: two words\n") == "");
    CHECK(pt::snapshot::reduce_storage_cfg("# comment\n"
                                           "dir: local\n"
                                           "\tpath /var/lib/vz\n"
                                           "\tcontent iso,vztmpl\n"
                                           "\n"
                                           "zfspool: tank\n"
                                           "\tpool tank/ct\n"
                                           "\tmountpoint /mnt/tank\n"
                                           "\n"
                                           "cifs: share\n"
                                           "\tserver 192.0.2.10\n"
                                           "\tusername alice\n"
                                           "\tshare backups\n"
                                           "\tpath /mnt/pve/share\n")
          == "dir: local\n\tpath /var/lib/vz\nzfspool: tank\n\tpool tank/ct\n\tmountpoint "
             "/mnt/tank\ncifs: share\n\tpath /mnt/pve/share\n");
}
