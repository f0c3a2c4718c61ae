// SPDX-License-Identifier: MIT
#include "pt/host/root.hpp"
#include "pt/snapshot/collect.hpp"
#include "pt/snapshot/manifest.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <fmt/format.h>

#include <sys/stat.h>
#include <utime.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

using pt::snapshot::collect;
using pt::snapshot::Entry;
using pt::snapshot::Options;
using pt::snapshot::Snapshot;
using pt::test::DeviceSpec;
using pt::test::TempRoot;

namespace {

const Entry* find(const Snapshot& snap, const std::string& path) {
    const auto it = std::find_if(
        snap.entries.begin(), snap.entries.end(), [&](const Entry& e) { return e.path == path; });
    return it == snap.entries.end() ? nullptr : &*it;
}

bool has_prefix(const Snapshot& snap, const std::string& prefix) {
    return std::any_of(snap.entries.begin(), snap.entries.end(), [&](const Entry& e) {
        return e.path.starts_with(prefix);
    });
}

void set_mtime(const TempRoot& root, const std::string& host_path, std::int64_t seconds) {
    const utimbuf times{static_cast<time_t>(seconds), static_cast<time_t>(seconds)};
    REQUIRE(::utime(root.host(host_path).c_str(), &times) == 0);
}

// A link target longer than the first readlink buffer.
std::string long_target() {
    std::string target;
    for (int i = 0; i < 200; ++i) {
        target += "d/";
    }
    return target + "x.conf";
}

// A small Proxmox host: a GPU on vfio-pci behind a root port, an IOMMU unit, configuration, a VM
// with a secret and a ROM file, and things that must never be taken.
void build_host(TempRoot& root) {
    root.write("/sys/bus/pci/slots/4/address", "0000:01:00\n");
    DeviceSpec port;
    port.address = "0000:00:01.0";
    port.vendor = "8086";
    port.device = "1901";
    port.class_code = "060400";
    port.driver = "pcieport";
    port.iommu_group = 1;
    root.add_device(port);
    DeviceSpec gpu;
    gpu.address = "0000:01:00.0";
    gpu.parent = "0000:00:01.0";
    gpu.driver = "vfio-pci";
    gpu.iommu_group = 14;
    gpu.attrs = {{"boot_vga", "0\n"},
                 {"reset_method", "flr bus\n"},
                 {"reset", ""},
                 {"rom", "\x55\xaa ROM BYTES"},
                 {"config", "binary config space"},
                 {"current_link_speed", "16.0 GT/s PCIe\n"}};
    root.add_device(gpu);
    root.write("/sys/kernel/iommu_groups/14/type", "DMA\n");
    root.mkdir("/sys/devices/virtual/iommu/dmar0");
    root.relative_symlink("/sys/class/iommu/dmar0", "/sys/devices/virtual/iommu/dmar0");
    root.mkdir("/sys/module/vfio_pci/parameters");
    root.write("/sys/module/vfio_pci/parameters/ids", "\n");
    root.relative_symlink("/sys/bus/pci/drivers/vfio-pci/module", "/sys/module/vfio_pci");
    root.mkdir("/sys/module/nvme/parameters");
    root.write("/sys/module/nvme/parameters/x", "1\n");
    root.write("/run/qemu-server/100.pid", "4242\n");
    root.symlink("/var/run", "../run");
    root.write("/proc/4242/status", "Name: kvm\n");
    root.write("/proc/1/status", "Name: init\n");
    root.write("/dev/nvidia0", "");
    root.write("/dev/sda", "");
    root.write("/dev/dri/renderD128", "");
    root.mkdir("/sys/firmware/efi");
    root.write("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve intel_iommu=on\n");
    root.write("/proc/cpuinfo",
               "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: vmx\n\n"
               "processor\t: 1\nvendor_id\t: GenuineIntel\nflags\t\t: vmx\n");
    root.write("/proc/sys/kernel/osrelease", "6.8.12-4-pve\n");
    root.write("/proc/modules", "vfio_pci 16384 0 - Live 0x0\n");
    root.write("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on\"\n");
    root.write("/etc/modprobe.d/vfio.conf", "options vfio-pci ids=10de:2204\n");
    root.write("/etc/modules", "vfio\nvfio_iommu_type1\nvfio_pci\n");
    root.symlink("/etc/modules-load.d/modules.conf", "../modules");
    root.symlink("/etc/modules-load.d/long.conf", long_target());
    root.write("/etc/initramfs-tools/hooks/pt", "#!/bin/sh\n");
    REQUIRE(::chmod(root.host("/etc/initramfs-tools/hooks/pt").c_str(), 0755) == 0);
    root.write("/boot/initrd.img-6.8.12-4-pve", "THE INITRD CONTENT");
    set_mtime(root, "/boot/initrd.img-6.8.12-4-pve", 1700000000);
    root.write("/boot/grub/grub.cfg", "set superusers=root\n");
    root.mkdir("/lib/modules/6.8.12-4-pve/kernel");
    root.write("/lib/modules/6.8.12-4-pve/modules.dep", "x");
    root.write("/etc/hostname", "pve\n");
    root.write("/etc/pve/nodes/pve/qemu-server/100.conf",
               "#secret notes\nbios: ovmf\ncipassword: hash\n"
               "hostpci0: 0000:01:00,pcie=1,romfile=gpu.rom\n");
    root.write("/etc/pve/nodes/pve/qemu-server/100.conf.tmp", "junk");
    root.symlink("/etc/pve/local", "nodes/pve");
    root.symlink("/etc/pve/qemu-server", "nodes/pve/qemu-server");
    root.write("/etc/pve/priv/authkey.key", "PRIVATE KEY");
    root.write("/etc/pve/mapping/pci.cfg", "gpu\n\tmap node=pve,path=0000:01:00.0\n");
    root.write("/usr/share/kvm/gpu.rom", "ROMFILE");
    root.write("/usr/share/kvm/other.rom", "OTHER");
    root.write("/usr/share/misc/pci.ids",
               "# header\n10de  NVIDIA Corporation\n8086  Intel Corporation\n"
               "1002  Advanced Micro Devices, Inc. [AMD/ATI]\nC 03  Display controller\n");
    root.write("/var/lib/pt/snapshot/dmesg", "[    0.1] DMAR: IOMMU enabled\n");
}

} // namespace

TEST_CASE("collect takes what pt reads, as the root has it") {
    TempRoot root;
    build_host(root);
    Options options;
    options.now = 1800000000;
    const Snapshot snap = collect(pt::host::Root(root.path()), options);

    CHECK(snap.source_root == root.path().string());
    CHECK_FALSE(snap.live);
    // Sorted, each folder before its entries.
    CHECK(std::is_sorted(snap.entries.begin(),
                         snap.entries.end(),
                         [](const Entry& a, const Entry& b) { return a.path < b.path; }));

    const Entry* bus_link = find(snap, "/sys/bus/pci/devices/0000:01:00.0");
    REQUIRE(bus_link != nullptr);
    CHECK(bus_link->type == Entry::Type::symlink);
    CHECK(bus_link->link_target == "../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0");
    const std::string gpu = "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0";
    REQUIRE(find(snap, gpu + "/vendor") != nullptr);
    CHECK(find(snap, gpu + "/vendor")->content == "0x10de\n");
    CHECK(find(snap, gpu + "/reset_method")->content == "flr bus\n");
    CHECK(find(snap, gpu + "/current_link_speed")->content == "16.0 GT/s PCIe\n");
    REQUIRE(find(snap, gpu + "/driver") != nullptr);
    CHECK(find(snap, gpu + "/driver")->link_target == "../../../../bus/pci/drivers/vfio-pci");
    CHECK(find(snap, gpu + "/iommu_group")->type == Entry::Type::symlink);
    // Presence only: the ROM's bytes never leave the host.
    REQUIRE(find(snap, gpu + "/rom") != nullptr);
    CHECK(find(snap, gpu + "/rom")->content.empty());
    REQUIRE(find(snap, gpu + "/reset") != nullptr);
    CHECK(find(snap, gpu + "/config") == nullptr);

    // A fraction of a second only where pt compares mtimes (/boot against /etc), not on the
    // kernel's file systems.
    CHECK(find(snap, gpu + "/vendor")->mtime_nsec == 0);
    CHECK(find(snap, "/proc/cmdline")->mtime_nsec == 0);

    struct stat conf {};

    REQUIRE(::stat((root.path() / "etc/modprobe.d/vfio.conf").c_str(), &conf) == 0);
    CHECK(find(snap, "/etc/modprobe.d/vfio.conf")->mtime_nsec == conf.st_mtim.tv_nsec);

    CHECK(find(snap, "/sys/bus/pci/slots/4/address")->content == "0000:01:00\n");
    CHECK(find(snap, "/sys/bus/pci/drivers/vfio-pci")->type == Entry::Type::directory);
    CHECK(find(snap, "/sys/bus/pci/drivers/vfio-pci/module")->link_target
          == "../../../../module/vfio_pci");
    CHECK(find(snap, "/sys/bus/pci/drivers/vfio-pci/0000:01:00.0")->type == Entry::Type::symlink);
    CHECK(find(snap, "/sys/kernel/iommu_groups/14/type")->content == "DMA\n");
    CHECK(find(snap, "/sys/kernel/iommu_groups/14/devices/0000:01:00.0")->type
          == Entry::Type::symlink);
    CHECK(find(snap, "/sys/class/iommu/dmar0")->type == Entry::Type::symlink);
    CHECK(find(snap, "/sys/devices/virtual/iommu/dmar0")->type == Entry::Type::directory);
    CHECK(find(snap, "/sys/module/vfio_pci/parameters/ids") != nullptr);
    REQUIRE(find(snap, "/sys/module/nvme") != nullptr);
    CHECK(find(snap, "/sys/module/nvme")->type == Entry::Type::directory);
    CHECK_FALSE(has_prefix(snap, "/sys/module/nvme/"));
    // Running VMs: /var/run is a link to /run, and the pid's /proc folder comes along.
    CHECK(find(snap, "/var/run")->link_target == "../run");
    CHECK(find(snap, "/run/qemu-server/100.pid")->content == "4242\n");
    CHECK(find(snap, "/proc/4242")->type == Entry::Type::directory);
    CHECK_FALSE(has_prefix(snap, "/proc/4242/"));
    CHECK(find(snap, "/proc/1") == nullptr);
    // Device nodes as empty files.
    CHECK(find(snap, "/dev/nvidia0")->content.empty());
    CHECK(find(snap, "/dev/dri/renderD128") != nullptr);
    CHECK(find(snap, "/dev/sda") == nullptr);
    CHECK(find(snap, "/sys/firmware/efi")->type == Entry::Type::directory);

    CHECK(find(snap, "/proc/cpuinfo")->content
          == "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: vmx\n");
    CHECK(find(snap, "/proc/cmdline") != nullptr);
    CHECK(find(snap, "/proc/modules") != nullptr);
    CHECK(find(snap, "/etc/modprobe.d/vfio.conf")->content == "options vfio-pci ids=10de:2204\n");
    CHECK(find(snap, "/etc/modules-load.d/modules.conf")->link_target == "../modules");
    CHECK(find(snap, "/etc/modules-load.d/long.conf")->link_target == long_target());
    CHECK((find(snap, "/etc/initramfs-tools/hooks/pt")->mode & 0111U) != 0);

    const Entry* initrd = find(snap, "/boot/initrd.img-6.8.12-4-pve");
    REQUIRE(initrd != nullptr);
    CHECK(initrd->content.empty());
    CHECK(initrd->mtime == 1700000000);
    // Only the menu structure: the superuser line is emptied, the line count kept.
    CHECK(find(snap, "/boot/grub/grub.cfg")->content == "\n");
    CHECK(find(snap, "/lib/modules/6.8.12-4-pve")->type == Entry::Type::directory);
    CHECK_FALSE(has_prefix(snap, "/lib/modules/6.8.12-4-pve/"));

    const Entry* vm = find(snap, "/etc/pve/nodes/pve/qemu-server/100.conf");
    REQUIRE(vm != nullptr);
    CHECK(vm->content.find("hash") == std::string::npos);
    CHECK(vm->content.find("secret notes") == std::string::npos);
    CHECK(vm->content.find("hostpci0: 0000:01:00,pcie=1,romfile=gpu.rom") != std::string::npos);
    CHECK(find(snap, "/etc/pve/nodes/pve/qemu-server/100.conf.tmp") == nullptr);
    CHECK(find(snap, "/etc/pve/local")->link_target == "nodes/pve");
    CHECK(find(snap, "/etc/pve/qemu-server")->type == Entry::Type::symlink);
    CHECK_FALSE(has_prefix(snap, "/etc/pve/priv"));
    CHECK(find(snap, "/etc/pve/mapping/pci.cfg") != nullptr);
    CHECK(find(snap, "/usr/share/kvm/gpu.rom")->content == "ROMFILE");
    CHECK(find(snap, "/usr/share/kvm/other.rom") == nullptr);
    REQUIRE(snap.redacted.size() == 2);
    CHECK(snap.redacted[1].key == "cipassword");
    CHECK(snap.redacted[1].line == 3);

    // pci.ids keeps only the vendors present (10de for the GPU and its subsystem 1458 would be
    // kept if listed, 8086 for the port) and drops AMD.
    const std::string ids = find(snap, "/usr/share/misc/pci.ids")->content;
    CHECK(ids.find("NVIDIA") != std::string::npos);
    CHECK(ids.find("Intel") != std::string::npos);
    CHECK(ids.find("Advanced Micro Devices") == std::string::npos);
    CHECK(ids.find("C 03  Display controller") != std::string::npos);

    // Under a root that is not the live host, the kernel log is the copy the root has.
    CHECK(find(snap, "/var/lib/pt/snapshot/dmesg")->content == "[    0.1] DMAR: IOMMU enabled\n");
    CHECK(snap.kernel_log_lines == 1);

    const auto missing = [&](const std::string& path) {
        return std::any_of(snap.missing.begin(), snap.missing.end(), [&](const auto& m) {
            return m.path == path;
        });
    };
    CHECK(missing("/etc/kernel/cmdline"));
    CHECK_FALSE(missing("/etc/default/grub"));

    const auto manifest = pt::snapshot::manifest(snap);
    CHECK(manifest["source_root"] == root.path().string());
    CHECK(manifest["created"] == "2027-01-15T08:00:00Z");
    const auto& collected = manifest["collected"];
    const auto devices = std::find_if(collected.begin(), collected.end(), [](const auto& c) {
        return c["what"] == "pci devices";
    });
    REQUIRE(devices != collected.end());
    CHECK((*devices)["count"] == 2);
}

TEST_CASE("collect filters a kernel log it reads itself, and says when it cannot") {
    TempRoot root;
    root.write("/proc/cmdline", "quiet\n");
    Options options;
    options.now = 1800000000;
    options.read_kernel_log = [](std::string&) -> std::optional<std::string> {
        return std::string(
            "[    0.1] DMAR: IOMMU enabled\n[    0.2] eth0: MAC 00:11:22:33:44:55\n");
    };
    Snapshot snap = collect(pt::host::Root(root.path()), options);
    REQUIRE(find(snap, "/var/lib/pt/snapshot/dmesg") != nullptr);
    CHECK(find(snap, "/var/lib/pt/snapshot/dmesg")->content == "[    0.1] DMAR: IOMMU enabled\n");
    CHECK(find(snap, "/var/lib/pt/snapshot")->type == Entry::Type::directory);
    CHECK(snap.kernel_log_lines == 1);

    options.read_kernel_log = [](std::string& why) -> std::optional<std::string> {
        why = "not permitted";
        return std::nullopt;
    };
    snap = collect(pt::host::Root(root.path()), options);
    CHECK(find(snap, "/var/lib/pt/snapshot/dmesg") == nullptr);
    CHECK(std::any_of(snap.missing.begin(), snap.missing.end(), [](const auto& m) {
        return m.path == "kernel log" && m.reason == "not permitted";
    }));
}

TEST_CASE("an archive of the snapshot holds the manifest and extracts into a readable root") {
    TempRoot root;
    build_host(root);
    Options options;
    options.now = 1800000000;
    const Snapshot snap = collect(pt::host::Root(root.path()), options);
    std::size_t members = 0;
    const std::string bytes = pt::snapshot::archive(snap, members);
    CHECK(members == snap.entries.size() + 1);
    const std::string plain = pt::snapshot::gunzip(bytes);
    CHECK(plain.find("var/lib/pt/snapshot/manifest.json") != std::string::npos);
    CHECK(plain.find("PRIVATE KEY") == std::string::npos);
    CHECK(plain.find("THE INITRD CONTENT") == std::string::npos);
    CHECK(plain.find("ROM BYTES") == std::string::npos);
    // Same tree, same time: the same bytes.
    std::size_t again = 0;
    CHECK(pt::snapshot::archive(collect(pt::host::Root(root.path()), options), again) == bytes);
}

TEST_CASE("collect never takes keys or private files, even through links") {
    TempRoot root;
    root.write("/etc/pve/priv/authkey.key", "PRIVATE AUTHKEY");
    root.write("/etc/pve/priv/token.cfg", "TOKEN SECRET");
    root.write("/etc/pve/user.cfg", "user:root@pam:1:0::");
    root.write("/etc/pve/storage.cfg",
               "STORAGE CONFIG\ncifs: nas\n\tserver STORAGE-SERVER\n\tusername STORAGE-USER\n");
    root.write("/root/.ssh/id_rsa", "SSH PRIVATE");
    root.write("/home/alice/conf/x.conf", "ALICE");
    root.write("/etc/shadow", "root:$6$PASSWORDHASH");
    root.write("/lib/modprobe.d/nvidia.conf", "blacklist nouveau\n");
    root.write("/dev/null", "");
    // The confirmed leak: a modprobe.d file linked to the cluster's authkey.
    root.symlink("/etc/modprobe.d/vfio.conf", "/etc/pve/priv/authkey.key");
    root.symlink("/etc/modprobe.d/key.conf", "../../root/.ssh/id_rsa");
    root.symlink("/etc/modprobe.d/users.conf", "/etc/pve/user.cfg");
    root.symlink("/etc/modprobe.d/priv", "/etc/pve/priv");
    root.symlink("/etc/modprobe.d/nvidia.conf", "/lib/modprobe.d/nvidia.conf");
    root.symlink("/etc/modprobe.d/masked.conf", "/dev/null");
    root.symlink("/etc/modules-load.d", "/home/alice/conf");
    root.symlink("/etc/default/grub", "/etc/shadow");
    root.symlink("/var/run", "../run");
    root.symlink("/run/qemu-server/100.pid", "/etc/pve/storage.cfg");
    root.symlink("/etc/pve/nodes/pve/qemu-server/101.conf", "/etc/pve/priv/token.cfg");
    root.symlink("/etc/pve/nodes/pve/qemu-server/102.conf", "/etc/pve/user.cfg");
    // A device folder whose attributes were replaced by links (they are read relative to the
    // folder, which never follows a link).
    const std::string device = "/sys/devices/pci0000:00/0000:00:02.0";
    root.write(device + "/class", "0x030000\n");
    root.relative_symlink("/sys/bus/pci/devices/0000:00:02.0", device);
    root.symlink(device + "/uevent", "/etc/pve/priv/authkey.key");
    root.symlink(device + "/vendor", "/etc/shadow");
    Options options;
    options.now = 1800000000;
    const Snapshot snap = collect(pt::host::Root(root.path()), options);

    for (const auto& entry : snap.entries) {
        CAPTURE(entry.path);
        for (const auto* secret : {"PRIVATE", "TOKEN", "user:root", "STORAGE", "ALICE", "HASH"}) {
            CHECK(entry.content.find(secret) == std::string::npos);
        }
        for (const auto* place : {"/etc/pve/priv", "/root", "/home", "/etc/shadow"}) {
            CHECK_FALSE((entry.path == place || entry.path.starts_with(std::string(place) + "/")));
        }
    }
    // The links stay, as links.
    CHECK(find(snap, device + "/class")->content == "0x030000\n");
    REQUIRE(find(snap, device + "/uevent") != nullptr);
    CHECK(find(snap, device + "/uevent")->type == Entry::Type::symlink);
    CHECK(find(snap, device + "/vendor")->link_target == "/etc/shadow");
    REQUIRE(find(snap, "/etc/modprobe.d/vfio.conf") != nullptr);
    CHECK(find(snap, "/etc/modprobe.d/vfio.conf")->link_target == "/etc/pve/priv/authkey.key");
    CHECK(find(snap, "/etc/modprobe.d/users.conf")->type == Entry::Type::symlink);
    CHECK(find(snap, "/etc/default/grub")->type == Entry::Type::symlink);
    // Links between the configuration folders are followed.
    REQUIRE(find(snap, "/lib/modprobe.d/nvidia.conf") != nullptr);
    CHECK(find(snap, "/lib/modprobe.d/nvidia.conf")->content == "blacklist nouveau\n");
    // Out of a folder pt reads: the target is not taken, not even a plain config file.
    CHECK(find(snap, "/etc/pve/user.cfg") == nullptr);
    // storage.cfg is taken for pt verify --ct, reduced to what locates a subvolume.
    REQUIRE(find(snap, "/etc/pve/storage.cfg") != nullptr);
    CHECK(find(snap, "/etc/pve/storage.cfg")->content == "cifs: nas\n");

    const auto refused = [&](const std::string& path) {
        return std::any_of(snap.refused.begin(), snap.refused.end(), [&](const auto& r) {
            return r.path == path && !r.reason.empty();
        });
    };
    CHECK(refused("/etc/pve/priv/authkey.key"));
    CHECK(refused("/etc/pve/priv/token.cfg"));
    CHECK(refused("/root/.ssh/id_rsa"));
    CHECK(refused("/etc/shadow"));
    CHECK(refused("/home"));
    CHECK(refused("/etc/pve/user.cfg"));
    CHECK(refused("/etc/pve/storage.cfg"));
    CHECK_FALSE(refused("/dev/null"));
    CHECK_FALSE(refused("/lib/modprobe.d/nvidia.conf"));

    const auto manifest = pt::snapshot::manifest(snap);
    CHECK(manifest["refused"].size() == snap.refused.size());
    const std::string text = pt::snapshot::summary(snap, "out.tar.gz", 1, 1, false);
    CHECK(text.find("refused (") != std::string::npos);
    CHECK(text.find("/etc/pve/priv/authkey.key: ") != std::string::npos);
    std::size_t members = 0;
    const std::string plain = pt::snapshot::gunzip(pt::snapshot::archive(snap, members));
    CHECK(plain.find("PRIVATE AUTHKEY") == std::string::npos);
    CHECK(plain.find("SSH PRIVATE") == std::string::npos);
}

TEST_CASE("collect takes what pt lxc and pt verify --ct read: DRM node numbers, the NVIDIA "
          "module's version, a running container's render group and NVIDIA library names") {
    TempRoot root;
    DeviceSpec gpu;
    gpu.address = "0000:81:00.0";
    gpu.vendor = "1002";
    gpu.driver = "amdgpu";
    gpu.attrs = {{"drm/card0/dev", "226:0\n"},
                 {"drm/renderD128/dev", "226:128\n"},
                 {"drm/renderD128/uevent", "MAJOR=226\n"}};
    const std::string dir = root.add_device(gpu);
    root.write("/proc/driver/nvidia/version",
               "NVRM version: NVIDIA UNIX x86_64 Kernel Module  "
               "550.127.05\n");
    // Container 200 runs; 201 is stopped on a ZFS subvolume; 202 is stopped on LVM (nothing to
    // read).
    root.write("/etc/hostname", "pve\n");
    root.write("/etc/pve/nodes/pve/lxc/200.conf", "rootfs: local-lvm:vm-200-disk-0,size=8G\n");
    root.write("/etc/pve/nodes/pve/lxc/201.conf", "rootfs: local-zfs:subvol-201-disk-0,size=8G\n");
    root.write("/etc/pve/nodes/pve/lxc/202.conf", "rootfs: local-lvm:vm-202-disk-0,size=8G\n");
    root.write("/etc/pve/storage.cfg",
               "zfspool: local-zfs\n\tpool rpool/data\n\tcontent rootdir\n"
               "cifs: nas\n\tserver 192.0.2.1\n\tusername alice\n\tpath /mnt/pve/nas\n");
    root.write("/rpool/data/subvol-201-disk-0/etc/group", "render:x:990:\n");
    root.write("/rpool/data/subvol-201-disk-0/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    root.write("/var/lib/lxc/202/rootfs/.keep", "");
    const std::string rootfs = "/var/lib/lxc/200/rootfs";
    root.write(rootfs + "/etc/group", "root:x:0:\nvideo:x:44:alice\nrender:x:993:alice,bob\n");
    root.write(rootfs + "/etc/shadow", "alice:SECRET\n");
    root.write(rootfs + "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.127.05", "ELF BYTES");
    root.symlink(rootfs + "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1",
                 "libnvidia-ml.so.550.127.05");
    root.write(rootfs + "/usr/lib/x86_64-linux-gnu/libc.so.6", "ELF");

    Options options;
    options.now = 1;
    const auto snap = collect(pt::host::Root(root.path()), options);
    REQUIRE(find(snap, dir + "/drm/card0/dev") != nullptr);
    CHECK(find(snap, dir + "/drm/renderD128/dev")->content == "226:128\n");
    CHECK(find(snap, dir + "/drm/renderD128/uevent") == nullptr);
    REQUIRE(find(snap, "/proc/driver/nvidia/version") != nullptr);
    REQUIRE(find(snap, rootfs + "/etc/group") != nullptr);
    // The gids pt lxc writes, without who is in the groups.
    CHECK(find(snap, rootfs + "/etc/group")->content == "video:x:44:\nrender:x:993:\n");
    CHECK(find(snap, rootfs + "/etc/shadow") == nullptr);
    const Entry* library =
        find(snap, rootfs + "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.127.05");
    REQUIRE(library != nullptr);
    CHECK(library->content.empty());
    const Entry* link = find(snap, rootfs + "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1");
    REQUIRE(link != nullptr);
    CHECK(link->link_target == "libnvidia-ml.so.550.127.05");
    CHECK(find(snap, rootfs + "/usr/lib/x86_64-linux-gnu/libc.so.6") == nullptr);
    // The stopped container's subvolume, located through the reduced storage.cfg.
    REQUIRE(find(snap, "/etc/pve/storage.cfg") != nullptr);
    CHECK(find(snap, "/etc/pve/storage.cfg")->content
          == "zfspool: local-zfs\n\tpool rpool/data\ncifs: nas\n\tpath /mnt/pve/nas\n");
    REQUIRE(find(snap, "/rpool/data/subvol-201-disk-0/etc/group") != nullptr);
    CHECK(find(snap, "/rpool/data/subvol-201-disk-0/etc/group")->content == "render:x:990:\n");
    CHECK(find(snap, "/rpool/data/subvol-201-disk-0/etc/passwd") == nullptr);
    CHECK_FALSE(has_prefix(snap, "/var/lib/lxc/202"));
}

// collect takes the devices and the IOMMU groups on two threads, one half of each per thread
// (collect.cpp, take_devices_and_groups). Whatever the split, the snapshot must be the one a
// single pass gives: every device and group, the categories in the bus's order, and the missing
// paths in the order a single pass meets them.
TEST_CASE("collect's two threads give the snapshot of one pass", "[snapshot]") {
    TempRoot tmp;
    std::vector<std::string> addresses;
    for (int bus = 1; bus <= 9; ++bus) {
        DeviceSpec dev;
        dev.address = fmt::format("0000:{:02x}:00.0", bus);
        dev.iommu_group = bus;
        dev.driver = bus % 2 == 0 ? "vfio-pci" : "nvidia";
        tmp.add_device(dev);
        addresses.push_back(dev.address);
    }
    // Links that lead nowhere at both ends of the bus's listing, so in each thread's half.
    tmp.symlink("/sys/bus/pci/devices/0000:00:00.0", "../../../devices/gone-first");
    tmp.symlink("/sys/bus/pci/devices/0000:ff:00.0", "../../../devices/gone-last");
    const pt::host::Root root(tmp.path());
    Options options;
    options.read_kernel_log = [](std::string& why) -> std::optional<std::string> {
        why = "not in this test";
        return std::nullopt;
    };
    const Snapshot snap = collect(root, options);

    for (const auto& address : addresses) {
        INFO(address);
        CHECK(find(snap, "/sys/bus/pci/devices/" + address) != nullptr);
        CHECK(has_prefix(
            snap, "/sys/devices/pci0000:" + address.substr(5, 2) + "/" + address + "/vendor"));
    }
    for (int group = 1; group <= 9; ++group) {
        CHECK(find(snap, fmt::format("/sys/kernel/iommu_groups/{}/devices", group)) != nullptr);
    }
    CHECK(find(snap, "/sys/bus/pci/drivers/vfio-pci") != nullptr);
    CHECK(find(snap, "/sys/bus/pci/drivers/nvidia") != nullptr);

    const auto category = [&](std::string_view name) -> std::vector<std::string> {
        for (const auto& cat : snap.collected) {
            if (cat.name == name) {
                return cat.paths;
            }
        }
        return {};
    };
    const auto devices = category("pci devices");
    REQUIRE(devices.size() == addresses.size());
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        CHECK(devices[i].ends_with("/" + addresses[i]));
    }
    std::vector<std::string> groups;
    for (int group = 1; group <= 9; ++group) {
        groups.push_back(fmt::format("/sys/kernel/iommu_groups/{}", group));
    }
    std::sort(groups.begin(), groups.end()); // the folder's order: "1" < "10"-style, bytewise
    CHECK(category("iommu groups") == groups);

    std::vector<std::string> missing;
    for (const auto& m : snap.missing) {
        if (m.path.starts_with("/sys/bus/pci/devices/")) {
            missing.push_back(m.path);
        }
    }
    CHECK(missing
          == std::vector<std::string>{"/sys/bus/pci/devices/0000:00:00.0",
                                      "/sys/bus/pci/devices/0000:ff:00.0"});
    // The sorted entries hold each path once, parents before their children.
    for (std::size_t i = 1; i < snap.entries.size(); ++i) {
        CHECK(snap.entries[i - 1].path < snap.entries[i].path);
    }
}
