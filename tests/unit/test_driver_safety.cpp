// SPDX-License-Identifier: MIT
#include "pt/driver/safety.hpp"
#include "pt/host/root.hpp"
#include "pt/pci/topology.hpp"
#include "support/catch.hpp"
#include "support/devices.hpp"
#include "support/temp_root.hpp"

#include <optional>
#include <string>
#include <vector>

using pt::driver::MountScan;
using pt::test::addr;
using pt::test::DeviceSpec;
using pt::test::formatted;
using pt::test::TempRoot;

namespace {

// A DeviceSpec built field by field (designated initializers would have to name every member).
DeviceSpec spec(const char* address,
                const char* vendor,
                const char* device,
                const char* class_code,
                const char* driver,
                std::optional<int> group = std::nullopt,
                std::optional<std::string> parent = std::nullopt) {
    DeviceSpec out;
    out.address = address;
    out.vendor = vendor;
    out.device = device;
    out.class_code = class_code;
    out.driver = driver;
    out.iommu_group = group;
    out.parent = std::move(parent);
    return out;
}

// A host with an NVMe disk (01:00.0 behind root port 00:01.1), a SATA controller with one disk,
// an Intel NIC (02:00.0), a USB controller without disks and one GPU.
struct StorageHost {
    TempRoot root;
    std::string nvme;
    std::string ahci;
    std::string nic;

    StorageHost() {
        root.add_device(spec("0000:00:01.1", "1022", "1483", "060400", "pcieport"));
        nvme = root.add_device(
            spec("0000:01:00.0", "144d", "a80a", "010802", "nvme", 14, "0000:00:01.1"));
        ahci = root.add_device(spec("0000:00:17.0", "8086", "a282", "010601", "ahci", 7));
        root.add_device(spec("0000:00:01.2", "1022", "1483", "060400", "pcieport"));
        nic = root.add_device(
            spec("0000:02:00.0", "8086", "1539", "020000", "igb", 15, "0000:00:01.2"));
        root.add_device(spec("0000:00:14.0", "8086", "a2af", "0c0330", "xhci_hcd", 3));
    }

    // A block device directory under `parent_dir` with its /sys/class/block and /sys/dev/block
    // links, as the kernel makes them.
    std::string block(const std::string& parent_dir,
                      const std::string& name,
                      const std::string& devt,
                      bool partition = false) const {
        const std::string dir = parent_dir + "/" + name;
        root.mkdir(dir);
        root.write(dir + "/dev", devt + "\n");
        if (partition) {
            root.write(dir + "/partition", "2\n");
        }
        root.relative_symlink("/sys/class/block/" + name, dir);
        root.relative_symlink("/sys/dev/block/" + devt, dir);
        return dir;
    }

    std::string nvme_disk() const { return block(nvme + "/nvme/nvme0", "nvme0n1", "259:0"); }

    std::string sata_disk() const {
        return block(ahci + "/ata1/host0/target0:0:0/0:0:0:0/block", "sda", "8:0");
    }

    pt::pci::Topology topology() const {
        return pt::pci::scan(pt::host::Root(root.path()), nullptr);
    }

    MountScan scan() const {
        return pt::driver::scan_mounts(pt::host::Root(root.path()), topology());
    }
};

std::vector<std::string> controllers(const MountScan& scan) {
    std::vector<std::string> out;
    for (const auto& hold : scan.holds) {
        out.push_back(pt::pci::format(hold.controller) + " " + hold.mount_point);
    }
    return out;
}

} // namespace

TEST_CASE("driver::parse_mountinfo", "[driver][safety]") {
    SECTION("optional fields, escapes, the separator") {
        const auto entries = pt::driver::parse_mountinfo(
            "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
            "30 22 0:26 / /mnt/my\\040disk rw shared:7 master:2 - xfs /dev/sdb1 rw\n"
            "31 22 0:44 / /rpool rw - zfs rpool rw,xattr\n");
        REQUIRE(entries.size() == 3);
        CHECK(entries[0].mount_point == "/");
        CHECK(entries[0].source == "/dev/nvme0n1p2");
        CHECK(entries[0].fstype == "ext4");
        CHECK(entries[0].dev_major_minor == "259:2");
        CHECK(entries[1].mount_point == "/mnt/my disk");
        CHECK(entries[1].fstype == "xfs");
        CHECK(entries[2].source == "rpool");
    }
    SECTION("malformed lines are skipped") {
        CHECK(pt::driver::parse_mountinfo("garbage\n1 2 3 4 5 6 7 8 9 10\n\n").empty());
    }
}

TEST_CASE("driver::parse_proc_mounts and parse_swaps", "[driver][safety]") {
    const auto mounts = pt::driver::parse_proc_mounts(
        "/dev/sda1 /boot\\040efi vfat rw 0 0\nproc /proc proc rw 0 0\n");
    REQUIRE(mounts.size() == 2);
    CHECK(mounts[0].mount_point == "/boot efi");
    CHECK_FALSE(mounts[0].dev_major_minor.has_value());

    const auto swaps = pt::driver::parse_swaps(
        "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
        "/dev/dm-1                               partition\t8388604\t\t0\t\t-2\n");
    REQUIRE(swaps.size() == 1);
    CHECK(swaps[0].source == "/dev/dm-1");
    CHECK(swaps[0].mount_point == "[swap]");
}

TEST_CASE("driver::pci_addresses_in_path", "[driver][safety]") {
    CHECK(formatted(pt::driver::pci_addresses_in_path(
              "/sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0/nvme/nvme0/nvme0n1"))
          == std::vector<std::string>{"0000:00:01.1", "0000:01:00.0"});
    CHECK(formatted(pt::driver::pci_addresses_in_path(
              "/sys/devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e1:00.0/nvme"))
          == std::vector<std::string>{"0000:00:0e.0", "10000:e1:00.0"});
    CHECK(pt::driver::pci_addresses_in_path("/sys/devices/virtual/block/dm-0").empty());
}

TEST_CASE("driver::scan_mounts traces mounts to PCI controllers", "[driver][safety]") {
    StorageHost host;

    SECTION("no mount table: not readable, and said so") {
        const auto scan = host.scan();
        CHECK_FALSE(scan.readable);
        CHECK(scan.holds.empty());
        REQUIRE(scan.notes.size() == 1);
        CHECK(scan.notes[0].find("/proc/self/mountinfo") != std::string::npos);
    }

    SECTION("a partition of an NVMe disk") {
        const auto disk = host.nvme_disk();
        host.block(disk, "nvme0n1p2", "259:2", true);
        host.root.write("/proc/self/mountinfo",
                        "22 1 259:2 / / rw - ext4 /dev/nvme0n1p2 rw\n"
                        "23 22 0:5 / /proc rw - proc proc rw\n");
        const auto scan = host.scan();
        CHECK(scan.readable);
        CHECK(scan.file == "/proc/self/mountinfo");
        REQUIRE(scan.holds.size() == 1);
        CHECK(scan.holds[0].controller == addr("0000:01:00.0"));
        CHECK(formatted(scan.holds[0].path)
              == std::vector<std::string>{"0000:00:01.1", "0000:01:00.0"});
        CHECK(scan.holds[0].mount_point == "/");
        CHECK(scan.holds[0].via == std::vector<std::string>{"nvme0n1p2"});
        CHECK_FALSE(scan.holds[0].assumed);
    }

    SECTION("LVM: /dev/mapper/pve-root is dm-0, whose slave is a SATA partition") {
        const auto disk = host.sata_disk();
        const auto part = host.block(disk, "sda3", "8:3", true);
        const auto dm = host.block("/sys/devices/virtual/block", "dm-0", "253:0");
        host.root.write(dm + "/dm/name", "pve-root\n");
        host.root.relative_symlink(dm + "/slaves/sda3", part);
        host.root.write("/proc/self/mountinfo",
                        "22 1 253:0 / / rw - ext4 /dev/mapper/pve-root rw\n");
        const auto scan = host.scan();
        REQUIRE(scan.holds.size() == 1);
        CHECK(scan.holds[0].controller == addr("0000:00:17.0"));
        CHECK(scan.holds[0].via == std::vector<std::string>{"dm-0", "sda3"});
        CHECK(scan.holds[0].source == "/dev/mapper/pve-root");
    }

    SECTION("md RAID over two controllers, found through /sys/dev/block for /dev/md/name") {
        const auto nvme_disk = host.nvme_disk();
        const auto sata_disk = host.sata_disk();
        const auto p1 = host.block(nvme_disk, "nvme0n1p1", "259:1", true);
        const auto p2 = host.block(sata_disk, "sda1", "8:1", true);
        const auto md = host.block("/sys/devices/virtual/block", "md0", "9:0");
        host.root.relative_symlink(md + "/slaves/nvme0n1p1", p1);
        host.root.relative_symlink(md + "/slaves/sda1", p2);
        host.root.write("/proc/self/mountinfo", "40 22 9:0 / /data rw - ext4 /dev/md/data rw\n");
        const auto scan = host.scan();
        CHECK(controllers(scan)
              == std::vector<std::string>{"0000:01:00.0 /data", "0000:00:17.0 /data"});
    }

    SECTION("/proc/mounts when mountinfo is absent; swap from /proc/swaps") {
        const auto disk = host.sata_disk();
        host.block(disk, "sda2", "8:2", true);
        const auto nvme = host.nvme_disk();
        host.block(nvme, "nvme0n1p1", "259:1", true);
        host.root.write("/proc/mounts", "/dev/sda2 / ext4 rw 0 0\ntmpfs /run tmpfs rw 0 0\n");
        host.root.write("/proc/swaps",
                        "Filename Type Size Used Priority\n/dev/nvme0n1p1 partition 1 0 -2\n");
        const auto scan = host.scan();
        CHECK(scan.file == "/proc/mounts");
        CHECK(controllers(scan)
              == std::vector<std::string>{"0000:00:17.0 /", "0000:01:00.0 [swap]"});
    }

    SECTION("ZFS: every storage controller with a disk is assumed, and a note says why") {
        host.nvme_disk();
        host.sata_disk();
        host.root.write("/proc/self/mountinfo",
                        "22 1 0:25 / / rw - zfs rpool/ROOT/pve-1 rw\n"
                        "23 22 0:26 / /rpool rw - zfs rpool rw\n");
        const auto scan = host.scan();
        CHECK(controllers(scan) == std::vector<std::string>{"0000:01:00.0 /", "0000:00:17.0 /"});
        for (const auto& hold : scan.holds) {
            CHECK(hold.assumed);
            CHECK(hold.source == "rpool/ROOT/pve-1");
        }
        REQUIRE(scan.notes.size() == 1);
        CHECK(scan.notes[0].find("ZFS pool rpool") != std::string::npos);
    }

    SECTION("a source that leads nowhere is a note, not a hold") {
        host.root.write("/proc/self/mountinfo", "22 1 0:0 / / rw - ext4 /dev/vanished rw\n");
        const auto scan = host.scan();
        CHECK(scan.holds.empty());
        REQUIRE(scan.notes.size() == 1);
        CHECK(scan.notes[0].find("/dev/vanished") != std::string::npos);
    }
}

TEST_CASE("driver::parse_default_routes", "[driver][safety]") {
    const std::string v4 =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "vmbr0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        "vmbr0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
        "wg0\t00000000\t00000000\t0000\t0\t0\t0\t00000000\t0\t0\t0\n";
    CHECK(pt::driver::parse_default_routes_v4(v4) == std::vector<std::string>{"vmbr0"});

    const std::string v6 =
        "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
        "fe800000000000000000000000000001 00000400 00000001 00000000 00000003 "
        "vmbr0\n"
        "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
        "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200 "
        "lo\n";
    CHECK(pt::driver::parse_default_routes_v6(v6) == std::vector<std::string>{"vmbr0"});
}

TEST_CASE("driver::scan_default_route follows bridges and bonds", "[driver][safety]") {
    StorageHost host;
    const pt::host::Root root(host.root.path());

    SECTION("no route table") {
        const auto scan = pt::driver::scan_default_route(root);
        CHECK_FALSE(scan.readable);
        CHECK(scan.notes.size() == 1);
    }

    // The kernel's shapes: /sys/class/net/IF -> ../../devices/.../net/IF; a physical NIC's
    // `device` points back at its PCI function; a bridge lists its ports as lower_* links.
    const std::string nic_net = host.nic + "/net/enp2s0";
    host.root.mkdir(nic_net);
    host.root.relative_symlink(nic_net + "/device", host.nic);
    host.root.relative_symlink("/sys/class/net/enp2s0", nic_net);
    const std::string bond = "/sys/devices/virtual/net/bond0";
    host.root.mkdir(bond);
    host.root.relative_symlink(bond + "/lower_enp2s0", nic_net);
    host.root.relative_symlink("/sys/class/net/bond0", bond);
    const std::string bridge = "/sys/devices/virtual/net/vmbr0";
    host.root.mkdir(bridge + "/brif");
    host.root.relative_symlink(bridge + "/brif/bond0", bond + "/brport");
    host.root.relative_symlink("/sys/class/net/vmbr0", bridge);

    SECTION("vmbr0 -> bond0 -> enp2s0") {
        host.root.write("/proc/net/route",
                        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow"
                        "\tIRTT\nvmbr0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
        const auto scan = pt::driver::scan_default_route(root);
        CHECK(scan.readable);
        CHECK(scan.interfaces == std::vector<std::string>{"vmbr0"});
        REQUIRE(scan.nics.size() == 1);
        CHECK(scan.nics[0].device == addr("0000:02:00.0"));
        CHECK(scan.nics[0].family == "IPv4");
        CHECK(scan.nics[0].via == std::vector<std::string>{"vmbr0", "bond0", "enp2s0"});
    }

    SECTION("a route over an interface with no PCI device is a note") {
        host.root.mkdir("/sys/devices/virtual/net/wg0");
        host.root.relative_symlink("/sys/class/net/wg0", "/sys/devices/virtual/net/wg0");
        host.root.write("/proc/net/route",
                        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow"
                        "\tIRTT\nwg0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n");
        const auto scan = pt::driver::scan_default_route(root);
        CHECK(scan.nics.empty());
        REQUIRE(scan.notes.size() == 1);
        CHECK(scan.notes[0].find("wg0") != std::string::npos);
    }
}

TEST_CASE("driver::check_displays", "[driver][safety]") {
    pt::pci::Topology topology;
    topology.devices.push_back(pt::test::make_device("0000:00:02.0", 0x030000, "i915", 0x8086));
    topology.devices.push_back(pt::test::make_device("0000:01:00.0", 0x030000, "nvidia"));
    topology.devices.push_back(pt::test::make_device("0000:01:00.1", 0x040300, "snd_hda_intel"));
    topology.devices.push_back(pt::test::make_device("0000:02:00.0", 0x030200, "vfio-pci"));

    SECTION("the iGPU stays") {
        const auto check = pt::driver::check_displays(topology, {addr("0000:01:00.0")}, {});
        CHECK_FALSE(check.only_display());
        CHECK(formatted(check.staying) == std::vector<std::string>{"0000:00:02.0"});
        CHECK(formatted(check.given_away) == std::vector<std::string>{"0000:02:00.0"});
    }
    SECTION("nothing stays: a device on vfio-pci or bound by pt does not count") {
        const auto check = pt::driver::check_displays(
            topology, {addr("0000:00:02.0")}, {addr("0000:01:00.0"), addr("0000:01:00.1")});
        CHECK(check.only_display());
        CHECK(formatted(check.given_away)
              == std::vector<std::string>{"0000:01:00.0", "0000:02:00.0"});
    }
    SECTION("no display device leaves") {
        CHECK_FALSE(
            pt::driver::check_displays(topology, {addr("0000:01:00.1")}, {}).only_display());
    }
    SECTION("a selected device already on vfio-pci takes no screen away") {
        pt::pci::Topology alone;
        alone.devices.push_back(pt::test::make_device("0000:03:00.0", 0x030000, "vfio-pci"));
        const auto check = pt::driver::check_displays(alone, {addr("0000:03:00.0")}, {});
        CHECK_FALSE(check.only_display());
        CHECK(check.leaving.empty());
        CHECK(formatted(check.given_away) == std::vector<std::string>{"0000:03:00.0"});
    }
}

TEST_CASE("driver::reservations", "[driver][safety]") {
    const auto parsed = pt::driver::parse_reservations("0000:01:00.0 100 pid:4242\n"
                                                       "02:00 101 time:2000\n"
                                                       "0000:03:00.0 102 pid:77\n"
                                                       "bogus line\n"
                                                       "0000:04:00.0 abc pid:1\n");
    REQUIRE(parsed.size() == 3);
    CHECK(parsed[0].vmid == 100);
    CHECK(parsed[0].pid == 4242);
    CHECK(parsed[1].whole_slot);
    CHECK(parsed[1].covers(addr("0000:02:00.1")));
    CHECK_FALSE(parsed[0].covers(addr("0000:01:00.1")));

    TempRoot tmp;
    tmp.write("/run/qemu-server/pci-id-reservations",
              "0000:01:00.0 100 pid:4242\n02:00 101 time:2000\n0000:03:00.0 102 pid:77\n");
    tmp.mkdir("/proc/4242");
    const pt::host::Root root(tmp.path());
    const auto judged = pt::driver::read_reservations(root, 1000);
    REQUIRE(judged.size() == 3);
    CHECK(judged[0].active);
    CHECK(judged[0].why == "VM 100 runs as pid 4242");
    CHECK(judged[1].active);
    CHECK_FALSE(judged[2].active);
    CHECK(judged[2].why.find("leftover") != std::string::npos);
    CHECK_FALSE(pt::driver::read_reservations(root, 3000)[1].active);

    TempRoot empty;
    CHECK(pt::driver::read_reservations(pt::host::Root(empty.path()), 0).empty());
}
