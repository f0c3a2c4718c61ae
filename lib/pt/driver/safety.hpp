// SPDX-License-Identifier: MIT
#pragma once

#include "pt/pci/address.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::pci {
struct Topology;
}

namespace pt::driver {

// What the host would lose if a device went to vfio-pci. Each reader returns data with the
// evidence that produced it (the mount point and block devices, the interface chain, the
// reservation line), so a refusal can say exactly why; none of them refuses anything itself.
// Absence of the source file is a value: `readable` false plus a note, never a silent "safe".

// ---------------------------------------------------------------------------------------------
// Mounted file systems

// One line of /proc/self/mountinfo (proc(5)) or /proc/mounts (fstab(5) fields), octal escapes
// (\040 for a space) decoded.
struct MountEntry {
    std::string mount_point; // "/", "/boot/efi"
    std::string fstype;      // "ext4", "zfs", "swap" for /proc/swaps entries
    std::string source;      // "/dev/nvme0n1p2", "/dev/mapper/pve-root", "rpool/ROOT/pve-1"
    std::optional<std::string> dev_major_minor; // "259:2" (mountinfo only; "0:25" for ZFS)
};

// Parses /proc/self/mountinfo text. Malformed lines are skipped.
std::vector<MountEntry> parse_mountinfo(std::string_view text);

// Parses /proc/mounts text ("source mountpoint fstype options dump pass"). Malformed lines are
// skipped.
std::vector<MountEntry> parse_proc_mounts(std::string_view text);

// Parses /proc/swaps text; each active swap device or file becomes an entry with mount point
// "[swap]" and fstype "swap". The header line is skipped.
std::vector<MountEntry> parse_swaps(std::string_view text);

// A PCI device under which a mounted file system (or swap) lives.
struct MountHold {
    pci::Address controller;        // the nearest PCI function above the disk
    std::vector<pci::Address> path; // every PCI function from the root port down to it
    std::string mount_point;        // "/", "/boot/efi", "[swap]"
    std::string source;             // as mounted: "/dev/mapper/pve-root", "rpool/ROOT/pve-1"
    std::string fstype;             // "ext4", "zfs", ...
    std::vector<std::string> via;   // block devices followed: {"dm-0", "nvme0n1p3"}
    // True when the disk could not be traced (ZFS and other sources that are not block
    // devices): every storage controller with a disk under it is assumed to hold the mount.
    bool assumed = false;
};

struct MountScan {
    bool readable = false; // a mount table was found under the root
    std::string file;      // the host path read: /proc/self/mountinfo or /proc/mounts
    std::vector<MountHold> holds;
    std::vector<std::string> notes; // what could not be traced, and why
};

// Reads the mount table (/proc/self/mountinfo, else /proc/mounts) and /proc/swaps through `root`
// and traces every mount whose source is a block device to its PCI functions:
//   source /dev/NAME -> /sys/class/block/NAME (/dev/mapper/NAME -> the dm-N whose dm/name is
//   NAME; otherwise /sys/dev/block/MAJ:MIN) -> the resolved /sys/devices/pci.../ADDR/... path,
//   whose PCI address components are the controller and its bridges; device-mapper, md and
//   NVMe multipath devices are followed through their slaves/ and multipath/ entries.
// ZFS (and btrfs, whose other member disks are not in the mount table) cannot be traced from
// sysfs, so for them every storage controller (class 01xx) that has a block device under it is
// reported with `assumed` true. Virtual file systems (proc, tmpfs, overlay, network file
// systems) are skipped. Throws pt::Error only on I/O errors other than absence.
MountScan scan_mounts(const host::Root& root, const pci::Topology& topology);

// ---------------------------------------------------------------------------------------------
// Default-route NIC

// The interfaces of the default routes in /proc/net/route text (destination and mask
// 00000000), in file order, without duplicates.
std::vector<std::string> parse_default_routes_v4(std::string_view text);

// The same for /proc/net/ipv6_route text (destination ::/0), ignoring the loopback's
// unreachable default entries.
std::vector<std::string> parse_default_routes_v6(std::string_view text);

// A PCI function that carries a default route.
struct RouteNic {
    pci::Address device;            // the NIC (for a USB NIC: the USB controller)
    std::vector<pci::Address> path; // every PCI function from the root port down to it
    std::string family;             // "IPv4" or "IPv6"
    std::vector<std::string> via;   // interfaces followed: {"vmbr0", "bond0", "enp2s0"}
};

struct RouteScan {
    bool readable = false;               // /proc/net/route (or ipv6_route) exists
    std::vector<std::string> interfaces; // default-route interfaces, "vmbr0"
    std::vector<RouteNic> nics;
    std::vector<std::string> notes;
};

// Reads /proc/net/route and /proc/net/ipv6_route, and maps each default-route interface to PCI
// functions: /sys/class/net/IF/device resolves into /sys/devices/pci.../ADDR; bridges, bonds
// and VLANs have no device link and are followed through their lower_* links (and brif/).
RouteScan scan_default_route(const host::Root& root);

// ---------------------------------------------------------------------------------------------
// Only display

struct DisplayCheck {
    std::vector<pci::Address> leaving; // display devices (class 03xx) going to vfio-pci
    std::vector<pci::Address> staying; // display devices that stay with the host
    // Display devices that are neither: already on vfio-pci or pci-stub, or bound by pt's
    // persistent configuration; they are not the host's either.
    std::vector<pci::Address> given_away;

    // The host would be left without any display device.
    bool only_display() const { return !leaving.empty() && staying.empty(); }
};

// Judges which display devices the host keeps when `leaving` go to vfio-pci; `already_away`
// lists devices pt has already bound persistently (they count as gone).
DisplayCheck check_displays(const pci::Topology& topology,
                            const std::vector<pci::Address>& leaving,
                            const std::vector<pci::Address>& already_away);

// ---------------------------------------------------------------------------------------------
// Running VMs

// One line of /run/qemu-server/pci-id-reservations, which qemu-server writes when a VM with
// hostpci devices starts (PVE::QemuServer::PCI reserve_pci_usage): "<pciid> <vmid> pid:<pid>"
// once QEMU runs, "<pciid> <vmid> time:<epoch>" while it starts.
struct Reservation {
    std::string id;          // as written: "0000:01:00.0" (the domain may be left out)
    pci::Address address;    // function 0 for a slot id
    bool whole_slot = false; // "0000:01:00" reserves every function
    int vmid = 0;
    std::optional<long> pid;     // pid:N
    std::optional<long> expires; // time:N, seconds since the epoch
    bool active = false;         // set by read_reservations
    std::string why;             // "VM 100 runs as pid 4242", "leftover: pid 4242 is not running"

    bool covers(const pci::Address& dev) const {
        return whole_slot ? address.same_slot(dev) : address == dev;
    }
};

// Parses the reservation file; lines that do not match qemu-server's own pattern are skipped,
// as qemu-server skips them.
std::vector<Reservation> parse_reservations(std::string_view text);

// Reads /run/qemu-server/pci-id-reservations (empty when absent) and judges each entry as
// qemu-server does: a pid reservation is active while /proc/PID exists under the root, a time
// reservation while `now` (seconds since the epoch) is before its expiry.
std::vector<Reservation> read_reservations(const host::Root& root, std::int64_t now);

// ---------------------------------------------------------------------------------------------
// Helpers shared with the bind planner

// The PCI addresses among the components of a sysfs path, outermost first
// ("/sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0/nvme/nvme0" -> {00:01.1, 01:00.0}).
std::vector<pci::Address> pci_addresses_in_path(std::string_view sysfs_path);

} // namespace pt::driver
