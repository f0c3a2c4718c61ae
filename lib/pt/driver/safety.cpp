// SPDX-License-Identifier: MIT
#include "pt/driver/safety.hpp"

#include "pt/host/root.hpp"
#include "pt/pci/class_code.hpp"
#include "pt/pci/device.hpp"
#include "pt/pci/topology.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace pt::driver {
namespace {

// Stacked block devices (dm on md on partitions) and stacked interfaces (VLAN on bridge on bond)
// are never deeper than a handful of levels; the limit only guards against a looping snapshot.
constexpr int k_max_depth = 8;

std::vector<std::string> split_ws(std::string_view line) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
            ++i;
        }
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
            ++i;
        }
        if (i > start) {
            out.emplace_back(line.substr(start, i - start));
        }
    }
    return out;
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        out.push_back(text.substr(0, nl));
        if (nl == std::string_view::npos) {
            break;
        }
        text.remove_prefix(nl + 1);
    }
    return out;
}

// The kernel escapes space, tab, newline and backslash in mount table fields as \ooo
// (fs/proc_namespace.c, mangle() / seq_escape).
std::string unescape_octal(std::string_view field) {
    std::string out;
    out.reserve(field.size());
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size()) {
            const std::string_view digits = field.substr(i + 1, 3);
            if (digits.size() == 3 && std::all_of(digits.begin(), digits.end(), [](char c) {
                    return c >= '0' && c <= '7';
                })) {
                out.push_back(static_cast<char>((digits[0] - '0') * 64 + (digits[1] - '0') * 8
                                                + (digits[2] - '0')));
                i += 3;
                continue;
            }
        }
        out.push_back(field[i]);
    }
    return out;
}

std::optional<long> parse_long(std::string_view text) {
    long value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end) {
        return std::nullopt;
    }
    return value;
}

std::optional<unsigned long> parse_hex(std::string_view text) {
    unsigned long value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value, 16);
    if (ec != std::errc() || ptr != end || text.empty()) {
        return std::nullopt;
    }
    return value;
}

std::string basename_of(std::string_view path) {
    const auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// Follows one block device (`link`, e.g. /sys/class/block/NAME) down to the PCI functions above
// its disks. Device-mapper and md list their backing devices in slaves/ (Documentation/ABI/
// stable/sysfs-block); an NVMe multipath head lives under /sys/devices/virtual/nvme-subsystem
// and links its per-controller paths (hidden disks) in multipath/. Each entry is a link to the
// lower device's own directory, so it is followed directly.
void trace_block(const host::Root& root,
                 const std::string& link,
                 std::vector<std::string> via,
                 int depth,
                 std::vector<std::pair<std::vector<pci::Address>, std::vector<std::string>>>& out) {
    if (depth > k_max_depth) {
        return;
    }
    via.push_back(basename_of(link));
    const auto resolved = root.resolve(link);
    if (!resolved) {
        return;
    }
    auto path = pci_addresses_in_path(*resolved);
    if (!path.empty()) {
        out.emplace_back(std::move(path), via);
    }
    for (const char* sub : {"slaves", "multipath"}) {
        const std::string dir = host::join(*resolved, sub);
        for (const auto& lower : root.list(dir)) {
            trace_block(root, host::join(dir, lower), via, depth + 1, out);
        }
    }
}

// The name under /sys/class/block for a mount source, or nullopt when the source names none.
std::optional<std::string> block_name(const host::Root& root, const MountEntry& mount) {
    const std::string_view source = mount.source;
    if (source.starts_with("/dev/mapper/")) {
        // LVM and dm-crypt names: /dev/mapper/NAME is a link to ../dm-N, but the snapshot has no
        // /dev; each dm-N carries its name in dm/name (drivers/md/dm-sysfs.c).
        const std::string wanted(source.substr(std::string_view("/dev/mapper/").size()));
        for (const auto& entry : root.list("/sys/class/block")) {
            if (entry.starts_with("dm-")) {
                const auto name =
                    root.read_attr(host::join("/sys/class/block", entry + "/dm/name"));
                if (name && *name == wanted) {
                    return entry;
                }
            }
        }
    } else if (source.starts_with("/dev/") && source.find('/', 5) == std::string_view::npos) {
        const std::string name(source.substr(5));
        if (root.exists(host::join("/sys/class/block", name))) {
            return name;
        }
    }
    // /dev/root, /dev/disk/by-*/..., /dev/md/NAME: the device number is the reliable key.
    if (mount.dev_major_minor && !mount.dev_major_minor->starts_with("0:")) {
        if (const auto target =
                root.resolve(host::join("/sys/dev/block", *mount.dev_major_minor))) {
            return basename_of(*target);
        }
    }
    return std::nullopt;
}

bool is_traced_fstype(std::string_view fstype) {
    // File systems whose source is not one block device that holds all of the data.
    return fstype != "zfs" && fstype != "btrfs";
}

std::string pool_of(std::string_view dataset) {
    return std::string(dataset.substr(0, dataset.find('/')));
}

// Every whole disk under /sys/class/block whose path passes a storage controller (class 01xx),
// keyed by that controller: the candidates for a pool that sysfs cannot name.
std::vector<std::pair<std::vector<pci::Address>, std::string>>
storage_controllers_with_disks(const host::Root& root, const pci::Topology& topology) {
    std::vector<std::pair<std::vector<pci::Address>, std::string>> out;
    std::set<pci::Address> seen;
    for (const auto& name : root.list("/sys/class/block")) {
        const auto resolved = root.resolve(host::join("/sys/class/block", name));
        if (!resolved || root.exists(host::join(*resolved, "partition"))) {
            continue;
        }
        const auto path = pci_addresses_in_path(*resolved);
        for (auto it = path.rbegin(); it != path.rend(); ++it) {
            const pci::Device* dev = topology.find(*it);
            if (dev != nullptr && pci::is_storage(dev->class_code)) {
                if (seen.insert(*it).second) {
                    out.emplace_back(std::vector<pci::Address>(path.begin(), it.base()), name);
                }
                break;
            }
        }
    }
    return out;
}

} // namespace

std::vector<pci::Address> pci_addresses_in_path(std::string_view sysfs_path) {
    std::vector<pci::Address> out;
    std::size_t i = 0;
    while (i < sysfs_path.size()) {
        auto slash = sysfs_path.find('/', i);
        if (slash == std::string_view::npos) {
            slash = sysfs_path.size();
        }
        if (const auto address = pci::parse_address(sysfs_path.substr(i, slash - i))) {
            out.push_back(*address);
        }
        i = slash + 1;
    }
    return out;
}

// /proc/self/mountinfo, proc(5): "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root
// rw,errors=continue"; a variable number of optional fields ends at the "-" separator.
std::vector<MountEntry> parse_mountinfo(std::string_view text) {
    std::vector<MountEntry> out;
    for (const auto line : lines_of(text)) {
        const auto fields = split_ws(line);
        if (fields.size() < 10) {
            continue;
        }
        const auto sep = std::find(fields.begin() + 6, fields.end(), "-");
        if (sep == fields.end() || std::distance(sep, fields.end()) < 3) {
            continue;
        }
        MountEntry entry;
        entry.dev_major_minor = fields[2];
        entry.mount_point = unescape_octal(fields[4]);
        entry.fstype = *(sep + 1);
        entry.source = unescape_octal(*(sep + 2));
        out.push_back(std::move(entry));
    }
    return out;
}

std::vector<MountEntry> parse_proc_mounts(std::string_view text) {
    std::vector<MountEntry> out;
    for (const auto line : lines_of(text)) {
        const auto fields = split_ws(line);
        if (fields.size() < 3) {
            continue;
        }
        MountEntry entry;
        entry.source = unescape_octal(fields[0]);
        entry.mount_point = unescape_octal(fields[1]);
        entry.fstype = fields[2];
        out.push_back(std::move(entry));
    }
    return out;
}

// /proc/swaps (mm/swapfile.c swap_show): a header, then "Filename Type Size Used Priority".
std::vector<MountEntry> parse_swaps(std::string_view text) {
    std::vector<MountEntry> out;
    for (const auto line : lines_of(text)) {
        const auto fields = split_ws(line);
        if (fields.size() < 2 || fields[0] == "Filename") {
            continue;
        }
        MountEntry entry;
        entry.source = unescape_octal(fields[0]);
        entry.mount_point = "[swap]";
        entry.fstype = "swap";
        out.push_back(std::move(entry));
    }
    return out;
}

MountScan scan_mounts(const host::Root& root, const pci::Topology& topology) {
    MountScan scan;
    std::vector<MountEntry> mounts;
    if (const auto text = root.read_attr("/proc/self/mountinfo")) {
        scan.readable = true;
        scan.file = "/proc/self/mountinfo";
        mounts = parse_mountinfo(*text);
    } else if (const auto mounts_text = root.read_attr("/proc/mounts")) {
        scan.readable = true;
        scan.file = "/proc/mounts";
        mounts = parse_proc_mounts(*mounts_text);
    } else {
        scan.notes.emplace_back("cannot tell which controllers hold mounted file systems: neither "
                                "/proc/self/mountinfo nor /proc/mounts exists under the root");
        return scan;
    }
    if (const auto swaps = root.read_attr("/proc/swaps")) {
        const auto entries = parse_swaps(*swaps);
        mounts.insert(mounts.end(), entries.begin(), entries.end());
    }

    std::set<std::string> untraced_pools;
    std::vector<std::pair<std::vector<pci::Address>, std::string>> candidates;
    bool candidates_read = false;
    for (const auto& mount : mounts) {
        const bool block_source = mount.source.starts_with("/dev/");
        if (block_source && is_traced_fstype(mount.fstype)) {
            const auto name = block_name(root, mount);
            if (!name) {
                scan.notes.push_back(fmt::format("cannot trace {} (mounted at {}) to a block "
                                                 "device under /sys/class/block",
                                                 mount.source,
                                                 mount.mount_point));
                continue;
            }
            std::vector<std::pair<std::vector<pci::Address>, std::vector<std::string>>> traced;
            trace_block(root, host::join("/sys/class/block", *name), {}, 0, traced);
            for (auto& [path, via] : traced) {
                MountHold hold;
                hold.controller = path.back();
                hold.path = std::move(path);
                hold.mount_point = mount.mount_point;
                hold.source = mount.source;
                hold.fstype = mount.fstype;
                hold.via = std::move(via);
                scan.holds.push_back(std::move(hold));
            }
            continue;
        }
        if (mount.fstype != "zfs" && !(block_source && mount.fstype == "btrfs")) {
            continue; // proc, tmpfs, overlay, nfs, fuse, swap files: no local PCI disk to lose
        }
        // ZFS datasets name a pool, not a disk, and a btrfs mount names one of its member
        // disks only; the pool's vdevs are not in sysfs. Every storage controller with a disk
        // is a possible holder.
        const std::string key = mount.fstype == "zfs" ? pool_of(mount.source) : mount.source;
        if (!untraced_pools.insert(key).second) {
            // One hold per controller and pool is enough evidence; prefer "/" as the mount shown.
            if (mount.mount_point == "/") {
                for (auto& hold : scan.holds) {
                    if (hold.assumed && hold.source.starts_with(key)) {
                        hold.mount_point = "/";
                        hold.source = mount.source;
                    }
                }
            }
            continue;
        }
        if (!candidates_read) {
            candidates = storage_controllers_with_disks(root, topology);
            candidates_read = true;
        }
        scan.notes.push_back(
            fmt::format("{} {} (mounted at {}) cannot be traced to its disks through sysfs: every "
                        "storage controller with a disk is assumed to hold it",
                        mount.fstype == "zfs" ? "ZFS pool" : "btrfs file system",
                        key,
                        mount.mount_point));
        for (const auto& [path, disk] : candidates) {
            MountHold hold;
            hold.controller = path.back();
            hold.path = path;
            hold.mount_point = mount.mount_point;
            hold.source = mount.source;
            hold.fstype = mount.fstype;
            hold.via = {disk};
            hold.assumed = true;
            scan.holds.push_back(std::move(hold));
        }
    }
    return scan;
}

// /proc/net/route (net/ipv4/fib_trie.c fib_route_seq_show): "Iface Destination Gateway Flags
// RefCnt Use Metric Mask MTU Window IRTT", addresses as 8 hex digits.
std::vector<std::string> parse_default_routes_v4(std::string_view text) {
    std::vector<std::string> out;
    for (const auto line : lines_of(text)) {
        const auto fields = split_ws(line);
        if (fields.size() < 8 || fields[0] == "Iface") {
            continue;
        }
        const auto flags = parse_hex(fields[3]);
        const bool up = flags && (*flags & 0x1U) != 0; // RTF_UP
        if (fields[1] == "00000000" && fields[7] == "00000000" && up
            && std::find(out.begin(), out.end(), fields[0]) == out.end()) {
            out.push_back(fields[0]);
        }
    }
    return out;
}

// /proc/net/ipv6_route (net/ipv6/route.c ipv6_route_native_seq_show): destination, prefix
// length, source, source prefix length, next hop, metric, refcount, use, flags, interface.
std::vector<std::string> parse_default_routes_v6(std::string_view text) {
    std::vector<std::string> out;
    for (const auto line : lines_of(text)) {
        const auto fields = split_ws(line);
        if (fields.size() < 10) {
            continue;
        }
        const auto flags = parse_hex(fields[8]);
        const bool up = flags && (*flags & 0x1U) != 0;       // RTF_UP
        const bool reject = flags && (*flags & 0x200U) != 0; // RTF_REJECT: "unreachable"
        if (fields[0] == std::string(32, '0') && fields[1] == "00" && up && !reject
            && fields[9] != "lo" && std::find(out.begin(), out.end(), fields[9]) == out.end()) {
            out.push_back(fields[9]);
        }
    }
    return out;
}

namespace {

// A physical interface has a `device` link into /sys/devices (for a USB adapter: the USB
// interface, whose path passes the USB controller). Bridges, bonds, VLANs and macvlans have
// none; netdev_upper_dev_link() gives the upper device a lower_<name> link per port
// (net/core/dev.c), and a bridge lists its ports in brif/ as well.
void trace_interface(
    const host::Root& root,
    const std::string& name,
    std::vector<std::string> via,
    int depth,
    std::vector<std::pair<std::vector<pci::Address>, std::vector<std::string>>>& out) {
    if (depth > k_max_depth) {
        return;
    }
    via.push_back(name);
    const std::string dir = host::join("/sys/class/net", name);
    if (const auto device = root.resolve(host::join(dir, "device"))) {
        auto path = pci_addresses_in_path(*device);
        if (!path.empty()) {
            out.emplace_back(std::move(path), via);
        }
        return;
    }
    std::vector<std::string> lowers;
    for (const auto& entry : root.list(dir)) {
        if (entry.starts_with("lower_")) {
            lowers.push_back(entry.substr(6));
        }
    }
    for (const auto& port : root.list(host::join(dir, "brif"))) {
        if (std::find(lowers.begin(), lowers.end(), port) == lowers.end()) {
            lowers.push_back(port);
        }
    }
    for (const auto& lower : lowers) {
        trace_interface(root, lower, via, depth + 1, out);
    }
}

} // namespace

RouteScan scan_default_route(const host::Root& root) {
    RouteScan scan;
    std::vector<std::pair<std::string, std::string>> routes; // family, interface
    if (const auto v4 = root.read_attr("/proc/net/route")) {
        scan.readable = true;
        for (auto& name : parse_default_routes_v4(*v4)) {
            routes.emplace_back("IPv4", std::move(name));
        }
    }
    if (const auto v6 = root.read_attr("/proc/net/ipv6_route")) {
        scan.readable = true;
        for (auto& name : parse_default_routes_v6(*v6)) {
            routes.emplace_back("IPv6", std::move(name));
        }
    }
    if (!scan.readable) {
        scan.notes.emplace_back("cannot tell which NIC carries the default route: "
                                "/proc/net/route does not exist under the root");
        return scan;
    }
    for (const auto& [family, name] : routes) {
        if (std::find(scan.interfaces.begin(), scan.interfaces.end(), name)
            == scan.interfaces.end()) {
            scan.interfaces.push_back(name);
        }
        std::vector<std::pair<std::vector<pci::Address>, std::vector<std::string>>> traced;
        trace_interface(root, name, {}, 0, traced);
        if (traced.empty()) {
            scan.notes.push_back(fmt::format("the {} default route uses {}, which leads to no PCI "
                                             "device under /sys/class/net",
                                             family,
                                             name));
        }
        for (auto& [path, via] : traced) {
            RouteNic nic;
            nic.device = path.back();
            nic.path = std::move(path);
            nic.family = family;
            nic.via = std::move(via);
            scan.nics.push_back(std::move(nic));
        }
    }
    return scan;
}

DisplayCheck check_displays(const pci::Topology& topology,
                            const std::vector<pci::Address>& leaving,
                            const std::vector<pci::Address>& already_away) {
    DisplayCheck check;
    const auto contains = [](const std::vector<pci::Address>& list, const pci::Address& a) {
        return std::find(list.begin(), list.end(), a) != list.end();
    };
    for (const auto& dev : topology.devices) {
        if (!dev.is_display()) {
            continue;
        }
        // A device already on vfio-pci (or pci-stub) shows nothing on the host: binding it
        // takes no screen away, whether it is selected or not.
        const bool away_now =
            dev.driver && (*dev.driver == "vfio-pci" || *dev.driver == "pci-stub");
        if (contains(leaving, dev.address) && !away_now) {
            check.leaving.push_back(dev.address);
        } else if (contains(already_away, dev.address) || away_now) {
            check.given_away.push_back(dev.address);
        } else {
            check.staying.push_back(dev.address);
        }
    }
    return check;
}

// qemu-server's pattern: m/^($PCIRE)\s(\d+)\s(time|pid)\:(\d+)$/ (PVE::QemuServer::PCI), with
// $PCIRE an address whose domain and function may be left out (PVE::JSONSchema).
std::vector<Reservation> parse_reservations(std::string_view text) {
    std::vector<Reservation> out;
    for (const auto line : lines_of(text)) {
        const auto fields = split_ws(line);
        if (fields.size() != 3) {
            continue;
        }
        Reservation r;
        r.id = fields[0];
        std::string full = r.id;
        if (std::count(full.begin(), full.end(), ':') == 1) {
            full = "0000:" + full;
        }
        if (full.find('.') == std::string::npos) {
            r.whole_slot = true;
            full += ".0";
        }
        const auto address = pci::parse_address(full);
        const auto vmid = parse_long(fields[1]);
        if (!address || !vmid) {
            continue;
        }
        r.address = *address;
        r.vmid = static_cast<int>(*vmid);
        const std::string_view kind = fields[2];
        if (kind.starts_with("pid:")) {
            r.pid = parse_long(kind.substr(4));
        } else if (kind.starts_with("time:")) {
            r.expires = parse_long(kind.substr(5));
        }
        if (!r.pid && !r.expires) {
            continue;
        }
        out.push_back(std::move(r));
    }
    return out;
}

std::vector<Reservation> read_reservations(const host::Root& root, std::int64_t now) {
    const auto text = root.read_attr("/run/qemu-server/pci-id-reservations");
    if (!text) {
        return {};
    }
    auto reservations = parse_reservations(*text);
    for (auto& r : reservations) {
        if (r.pid) {
            // qemu-server compares the pid with the VM's running QEMU
            // (PVE::QemuServer::Helpers::vm_running_locally); a pid that no longer exists is a
            // leftover it takes over with a warning.
            r.active = root.exists(fmt::format("/proc/{}", *r.pid));
            r.why = r.active ? fmt::format("VM {} runs as pid {}", r.vmid, *r.pid)
                             : fmt::format("leftover reservation of VM {}: pid {} is not running",
                                           r.vmid,
                                           *r.pid);
        } else {
            r.active = *r.expires > now;
            r.why = r.active
                        ? fmt::format("VM {} is starting (reserved until {})", r.vmid, *r.expires)
                        : fmt::format("expired reservation of VM {}", r.vmid);
        }
    }
    return reservations;
}

} // namespace pt::driver
