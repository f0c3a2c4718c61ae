// SPDX-License-Identifier: MIT
#include "pt/snapshot/collect.hpp"

#include "pt/conf/module_config.hpp"
#include "pt/conf/modules_file.hpp"
#include "pt/error.hpp"
#include "pt/host/fd.hpp"
#include "pt/host/root.hpp"
#include "pt/kernel/kernel_log.hpp"
#include "pt/pci/address.hpp"
#include "pt/pci/ids_subset.hpp"
#include "pt/pci/sysfs_attr.hpp"
#include "pt/proxmox/ct_root.hpp"
#include "pt/proxmox/platform.hpp"
#include "pt/proxmox/vm_config.hpp"
#include "pt/proxmox/vm_files.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

namespace pt::snapshot {

// The contract with pt verify, which reads the kernel log from this file under a --root.
static_assert(kernel::k_snapshot_dmesg == std::string_view(k_dmesg_path));

namespace {

// The attributes of a PCI device folder that pt reads (pci/device.cpp, driver/bind.cpp and the
// checks of pt verify), taken with their content.
constexpr std::array<std::string_view, 22> k_device_attrs = {
    "uevent",
    "vendor",
    "device",
    "class",
    "subsystem_vendor",
    "subsystem_device",
    "revision",
    "driver_override",
    "boot_vga",
    "reset_method",
    "current_link_speed",
    "current_link_width",
    "max_link_speed",
    "max_link_width",
    "numa_node",
    "sriov_totalvfs",
    "sriov_numvfs",
    "enable",
    "irq",
    "power_state",
    "d3cold_allowed",
    "local_cpulist",
};

// Attributes whose presence is the fact (`reset` is write-only; reading `rom` needs enabling it
// first, which pt never does in a snapshot): taken as empty files.
constexpr std::array<std::string_view, 2> k_device_presence = {"reset", "rom"};

// Links of a device folder that pt follows or names.
constexpr std::array<std::string_view, 3> k_device_links = {"driver", "iommu_group", "physfn"};

// Write-only attributes of a PCI driver folder, whose presence the binding planner checks.
constexpr std::array<std::string_view, 4> k_driver_presence = {
    "bind", "unbind", "new_id", "remove_id"};

std::string parent_of(std::string_view path) {
    const auto slash = path.rfind('/');
    return slash == 0 || slash == std::string_view::npos ? "/" : std::string(path.substr(0, slash));
}

std::string base_of(std::string_view path) {
    return std::string(path.substr(path.rfind('/') + 1));
}

class Collector {
public:
    Collector(const host::Root& root, Snapshot& snap)
        : m_root(root)
        , m_snap(snap) {}

    // How a path is taken.
    struct How {
        bool presence = false; // an empty file with the real mtime, never the content
        bool follow = true;    // a link's target is taken too
        std::function<std::string(const std::string&)> transform; // applied to the content
        // When not empty, a link is followed only when its final target is one of these host
        // paths (as the root resolves them) or lies under one; else the link is kept alone and
        // its target goes to `refused`.
        std::vector<std::string> follow_within;
    };

    enum class Found { missing, file, directory, symlink };

    // Takes `host_path` as the root has it: a folder (without its entries), a file, or a link
    // (its target as readlink gives it; with `how.follow`, the target is taken too). Links on the
    // way to it are taken as links and followed. Returns what was found; a missing path is not
    // recorded anywhere (the caller knows whether it matters), an unreadable one goes to
    // `missing`.
    Found take(std::string_view host_path, const How& how) {
        if (refuse(std::string(host_path))) {
            return Found::missing;
        }
        const auto dir = canonical_dir(parent_of(host_path));
        if (!dir) {
            return Found::missing;
        }
        const std::string path = host::join(*dir, base_of(host_path));
        if (refuse(path)) {
            return Found::missing;
        }

        struct stat st {};

        if (!lstat_of(path, st)) {
            return Found::missing;
        }
        if (S_ISLNK(st.st_mode)) {
            record_link(path, st);
            if (how.follow) {
                if (const auto target = chase(path)) {
                    if (how.follow_within.empty() || within(*target, how.follow_within)) {
                        How inner = how;
                        inner.follow = false;
                        take(*target, inner);
                    } else if (!refuse(*target) && *target != "/dev/null") {
                        // (/dev/null: a masked file, with nothing to take)
                        note_refused(*target,
                                     fmt::format("the target of {}, which leads out of the "
                                                 "folders pt reads there (the link is kept)",
                                                 path));
                    }
                }
            }
            return Found::symlink;
        }
        if (S_ISDIR(st.st_mode)) {
            record_dir(path, st);
            return Found::directory;
        }
        Entry entry;
        entry.path = path;
        entry.type = Entry::Type::file;
        entry.mtime = st.st_mtim.tv_sec;
        entry.mtime_nsec = mtime_fraction(path, st);
        entry.mode = file_mode(st);
        if (!how.presence) {
            if (!S_ISREG(st.st_mode)) {
                return Found::missing;
            }
            try {
                entry.content = m_root.read_file(path);
            } catch (const Error& e) {
                m_snap.missing.push_back({path, e.what()});
                return Found::missing;
            }
            if (how.transform) {
                entry.content = how.transform(entry.content);
            }
        }
        m_entries[path] = std::move(entry);
        return Found::file;
    }

    Found take(std::string_view host_path) { return take(host_path, How{}); }

    // As take(), for the entry `name` of the folder `dir` (canonical_dir's path, opened once as
    // `opened`): a regular file is opened relative to the folder, without a lookup of its
    // path from the root; anything else is taken by path.
    Found take_in(const host::Dir& opened, const std::string& dir, std::string_view name) {
        const std::string path = host::join(dir, name);
        if (refuse(path)) {
            return Found::missing;
        }
        std::optional<host::Dir::File> file;
        try {
            file = opened.read_file(name);
        } catch (const Error& e) {
            m_snap.missing.push_back({path, e.what()});
            return Found::missing;
        }
        if (!file) {
            return take(path);
        }
        Entry entry;
        entry.path = path;
        entry.type = Entry::Type::file;
        entry.mtime = file->status.st_mtim.tv_sec;
        entry.mtime_nsec = mtime_fraction(path, file->status);
        entry.mode = file_mode(file->status);
        entry.content = std::move(file->content);
        m_entries[path] = std::move(entry);
        return Found::file;
    }

    std::optional<host::Dir> open_dir(const std::string& dir) {
        try {
            return m_root.open_dir(dir);
        } catch (const Error& e) {
            m_snap.missing.push_back({dir, e.what()});
            return std::nullopt;
        }
    }

    Found take_presence(std::string_view host_path) {
        How how;
        how.presence = true;
        return take(host_path, how);
    }

    // Takes a file with the given content instead of what the root has (the kernel log, read
    // from the live host rather than from a path).
    void put(const std::string& host_path, std::string content, std::int64_t mtime) {
        if (!canonical_dir(parent_of(host_path))) {
            make_dirs(parent_of(host_path), mtime);
        }
        Entry entry;
        entry.path = host_path;
        entry.content = std::move(content);
        entry.mtime = mtime;
        m_entries[host_path] = std::move(entry);
    }

    // Every file, link and folder directly in `host_dir` whose name `keep` accepts.
    template <typename Keep>
    std::vector<std::string> take_dir(std::string_view host_dir, Keep&& keep, const How& how) {
        std::vector<std::string> taken;
        const auto dir = canonical_dir(std::string(host_dir));
        if (!dir) {
            return taken;
        }
        for (const auto& name : list(*dir)) {
            if (keep(name) && take(host::join(*dir, name), how) != Found::missing) {
                taken.push_back(host::join(host_dir, name));
            }
        }
        return taken;
    }

    std::vector<std::string> list(std::string_view host_dir) {
        try {
            return m_root.list(host_dir);
        } catch (const Error& e) {
            m_snap.missing.push_back({std::string(host_dir), e.what()});
            return {};
        }
    }

    // The path a host folder has in the root with every link on the way resolved (and recorded),
    // or nullopt when it is not a folder there.
    std::optional<std::string> canonical_dir(const std::string& host_dir) {
        if (host_dir == "/") {
            return host_dir;
        }
        if (const auto it = m_canonical.find(host_dir); it != m_canonical.end()) {
            return it->second;
        }
        std::optional<std::string> result;
        if (const auto parent = canonical_dir(parent_of(host_dir))) {
            const std::string path = host::join(*parent, base_of(host_dir));

            struct stat st {};

            if (!refuse(path) && lstat_of(path, st)) {
                if (S_ISLNK(st.st_mode)) {
                    record_link(path, st);
                    if (const auto target = chase(path)) {
                        result = canonical_dir(*target);
                    }
                } else if (S_ISDIR(st.st_mode)) {
                    record_dir(path, st);
                    result = path;
                }
            }
        }
        m_canonical.emplace(host_dir, result);
        return result;
    }

    // The host path `host_path` designates after every link (Root::resolve), or nullopt when it
    // does not exist; a link loop goes to `missing`.
    std::optional<std::string> resolve(const std::string& host_path) {
        try {
            return m_root.resolve(host_path);
        } catch (const Error& e) {
            m_snap.missing.push_back({host_path, e.what()});
            return std::nullopt;
        }
    }

    // As resolve(), with the folders on the way looked up once per snapshot (canonical_dir's
    // cache) instead of once per path: a device's sysfs link climbs
    // "../../../devices/pci0000:00/..." through folders every other device shares. Whatever the
    // cache cannot settle alone is left to resolve(), which chases component by component: a
    // link whose target has a ".." after a name, a folder refusal_reason() names (so that what
    // is refused is the target, as resolve() finds it), a missing folder, a chain of more than
    // 40 links.
    std::optional<std::string> chase(const std::string& host_path) {
        std::string path = host_path;
        for (int links = 0; links <= 40; ++links) {
            const std::string parent = parent_of(path);
            if (!refusal_reason(parent).empty()) {
                break;
            }
            const auto dir = canonical_dir(parent);
            if (!dir) {
                break;
            }
            path = host::join(*dir, base_of(path));

            struct stat st {};

            if (!lstat_of(path, st)) {
                return std::nullopt;
            }
            if (!S_ISLNK(st.st_mode)) {
                return path;
            }
            const auto target = read_link(path, st);
            if (!target) {
                return std::nullopt;
            }
            const auto next = lexical_join(*dir, *target);
            if (!next) {
                break;
            }
            path = *next;
        }
        return resolve(host_path);
    }

    // Takes over what `other` collected (into its own Snapshot, `other_snap`): its entries and
    // its folder cache where this collector has none for the same path (the same path always
    // gives the same entry, whichever collector took it), its missing paths after this one's,
    // and its refused paths not refused here already.
    void absorb(Collector&& other, Snapshot&& other_snap) {
        m_entries.merge(other.m_entries);
        m_canonical.merge(other.m_canonical);
        for (auto& m : other_snap.missing) {
            m_snap.missing.push_back(std::move(m));
        }
        for (auto& r : other_snap.refused) {
            note_refused(r.path, r.reason);
        }
    }

    std::vector<Entry> entries() && {
        std::vector<Entry> out;
        out.reserve(m_entries.size());
        for (auto& [path, entry] : m_entries) {
            out.push_back(std::move(entry));
        }
        return out;
    }

    // As find(), for a path whose folders may be links (/var/run -> /run).
    const Entry* find_host(const std::string& host_path) {
        const auto dir = canonical_dir(parent_of(host_path));
        return dir ? find(host::join(*dir, base_of(host_path))) : nullptr;
    }

    const Entry* find(const std::string& host_path) const {
        const auto it = m_entries.find(host_path);
        return it == m_entries.end() ? nullptr : &it->second;
    }

private:
    // `target` (a link's, read in the folder `dir`, which has no link in it) as a host path, or
    // nullopt when a ".." follows a name in it: only a ".." that climbs out of `dir` can be
    // applied without knowing whether the names before it are links.
    static std::optional<std::string> lexical_join(const std::string& dir,
                                                   std::string_view target) {
        std::vector<std::string_view> parts;
        if (!target.starts_with('/')) {
            for (const auto part : split_path(dir)) {
                parts.push_back(part);
            }
        }
        bool climbing = true;
        for (const auto part : split_path(target)) {
            if (part == ".") {
                continue;
            }
            if (part == "..") {
                if (!climbing) {
                    return std::nullopt;
                }
                if (!parts.empty()) {
                    parts.pop_back(); // ".." at the top stays at the top, as in the kernel
                }
                continue;
            }
            climbing = false;
            parts.push_back(part);
        }
        std::string out;
        for (const auto part : parts) {
            out += '/';
            out += part;
        }
        return out.empty() ? "/" : out;
    }

    static std::vector<std::string_view> split_path(std::string_view path) {
        std::vector<std::string_view> parts;
        while (!path.empty()) {
            const auto slash = path.find('/');
            const auto part = path.substr(0, slash);
            if (!part.empty()) {
                parts.push_back(part);
            }
            if (slash == std::string_view::npos) {
                break;
            }
            path.remove_prefix(slash + 1);
        }
        return parts;
    }

    static bool within(const std::string& path, const std::vector<std::string>& places) {
        return std::any_of(places.begin(), places.end(), [&](const std::string& place) {
            return path.starts_with(place)
                   && (path.size() == place.size() || place == "/" || path[place.size()] == '/');
        });
    }

    // True (and noted in `refused`) when refusal_reason() names `path`.
    bool refuse(const std::string& path) {
        const std::string why = refusal_reason(path);
        if (why.empty()) {
            return false;
        }
        note_refused(path, why);
        return true;
    }

    void note_refused(const std::string& path, const std::string& why) {
        const bool known = std::any_of(m_snap.refused.begin(),
                                       m_snap.refused.end(),
                                       [&](const Refused& r) { return r.path == path; });
        if (!known) {
            m_snap.refused.push_back({path, why});
        }
    }

    bool lstat_of(const std::string& path, struct stat& st) {
        // A link is looked at up to three times in a row (taken, then resolved as a folder, then
        // chased), so the last few answers are kept.
        for (const auto& [known, status] : m_recent_lstat) {
            if (known == path) {
                st = status;
                return true;
            }
        }
        if (::lstat(m_root.map(path).c_str(), &st) == 0) {
            m_recent_lstat[m_recent_next] = {path, st};
            m_recent_next = (m_recent_next + 1) % m_recent_lstat.size();
            return true;
        }
        if (errno != ENOENT && errno != ENOTDIR) {
            m_snap.missing.push_back(
                {path, fmt::format("cannot inspect {}: {}", path, std::strerror(errno))});
        }
        return false;
    }

    // The fraction of a second of a file's mtime, which only the files pt compares by mtime
    // (/boot's images against /etc's configuration) need. The times of sysfs and procfs entries
    // say when the kernel made the inode, which no check reads; without a fraction their members
    // need no pax header, which halves the archive's uncompressed size.
    static long mtime_fraction(const std::string& path, const struct stat& st) {
        const bool kernel_fs = path == "/sys" || path == "/proc" || path.starts_with("/sys/")
                               || path.starts_with("/proc/");
        return kernel_fs ? 0 : st.st_mtim.tv_nsec;
    }

    // Owners are not kept and the modes are normalised, so whoever extracts a snapshot can read
    // and delete all of it; execute bits are kept (initramfs hooks must be executable).
    static unsigned file_mode(const struct stat& st) { return 0644U | (st.st_mode & 0111U); }

    // The target of the link `path` as readlink gives it; an unreadable link goes to `missing`.
    std::optional<std::string> read_link(const std::string& path, const struct stat& st) {
        if (const Entry* known = find(path); known && known->type == Entry::Type::symlink) {
            return known->link_target;
        }
        // sysfs reports a link's size as 0, so the buffer grows until readlink leaves room.
        std::string target(static_cast<std::size_t>(std::max<off_t>(st.st_size, 0)) + 256, '\0');
        ssize_t n = 0;
        while ((n = ::readlink(m_root.map(path).c_str(), target.data(), target.size()))
               == static_cast<ssize_t>(target.size())) {
            target.resize(target.size() * 2);
        }
        if (n < 0) {
            m_snap.missing.push_back(
                {path, fmt::format("cannot read the link {}: {}", path, std::strerror(errno))});
            return std::nullopt;
        }
        target.resize(static_cast<std::size_t>(n));
        return target;
    }

    void record_link(const std::string& path, const struct stat& st) {
        auto target = read_link(path, st);
        if (!target) {
            return;
        }
        Entry entry;
        entry.path = path;
        entry.type = Entry::Type::symlink;
        entry.link_target = std::move(*target);
        entry.mtime = st.st_mtim.tv_sec;
        entry.mtime_nsec = mtime_fraction(path, st);
        entry.mode = 0777;
        m_entries[path] = std::move(entry);
    }

    void record_dir(const std::string& path, const struct stat& st) {
        if (m_entries.contains(path)) {
            return;
        }
        Entry entry;
        entry.path = path;
        entry.type = Entry::Type::directory;
        entry.mtime = st.st_mtim.tv_sec;
        entry.mtime_nsec = mtime_fraction(path, st);
        entry.mode = 0755;
        m_entries[path] = std::move(entry);
    }

    void make_dirs(const std::string& path, std::int64_t mtime) {
        if (path == "/" || m_entries.contains(path)) {
            return;
        }
        make_dirs(parent_of(path), mtime);
        Entry entry;
        entry.path = path;
        entry.type = Entry::Type::directory;
        entry.mtime = mtime;
        entry.mode = 0755;
        m_entries[path] = std::move(entry);
    }

    const host::Root& m_root;
    Snapshot& m_snap;
    std::map<std::string, Entry> m_entries; // bytewise order: a folder before its entries
    std::unordered_map<std::string, std::optional<std::string>> m_canonical;
    std::array<std::pair<std::string, struct stat>, 4> m_recent_lstat{}; // lstat_of's last answers
    std::size_t m_recent_next = 0;
};

// The categories in the order they were first named.
class Categories {
public:
    explicit Categories(std::vector<Category>& out)
        : m_out(out) {}

    void add(std::string_view name, std::string_view detail, const std::string& path) {
        category(name, detail).paths.push_back(path);
    }

    void
    add(std::string_view name, std::string_view detail, const std::vector<std::string>& paths) {
        auto& cat = category(name, detail);
        cat.paths.insert(cat.paths.end(), paths.begin(), paths.end());
    }

private:
    Category& category(std::string_view name, std::string_view detail) {
        for (auto& cat : m_out) {
            if (cat.name == name) {
                return cat;
            }
        }
        m_out.push_back({std::string(name), std::string(detail), {}});
        return m_out.back();
    }

    std::vector<Category>& m_out;
};

bool always(const std::string&) {
    return true;
}

// Editor backups and dpkg leftovers are not configuration, but pt's parsers still see them
// when they read a whole folder, so they are taken like any other entry.
bool any_entry(const std::string& name) {
    return !name.empty();
}

// What the device folders and IOMMU groups gave, besides their entries.
struct SysfsFound {
    std::vector<std::string> device_dirs; // "pci devices", in the bus's order
    std::vector<std::string> group_dirs;  // "iommu groups", in their folder's order
    std::set<std::string> drivers;        // the drivers the devices' links name
    std::set<std::uint16_t> vendors;      // vendor and subsystem vendor IDs, for pci.ids
};

const std::string k_bus_devices = "/sys/bus/pci/devices";
const std::string k_iommu_groups = "/sys/kernel/iommu_groups";

// One device of /sys/bus/pci/devices: its link, its folder's attributes and links, its DRM nodes.
void take_device(Collector& c, Snapshot& snap, const std::string& name, SysfsFound& found) {
    const std::string link = host::join(k_bus_devices, name);
    Collector::How no_follow;
    no_follow.follow = false;
    if (c.take(link, no_follow) == Collector::Found::missing) {
        return;
    }
    const auto dir = c.canonical_dir(link);
    if (!dir) {
        snap.missing.push_back({link, "the link leads to no folder inside the root"});
        return;
    }
    // The folder is opened and listed once; an attribute it does not list costs nothing, one it
    // lists is read relative to it.
    const auto opened = c.open_dir(*dir);
    if (!opened) {
        return;
    }
    std::vector<std::string> names;
    try {
        names = opened->list();
    } catch (const Error& e) {
        snap.missing.push_back({*dir, e.what()});
        return;
    }
    const auto listed = [&names](std::string_view attr) {
        return std::binary_search(names.begin(), names.end(), attr);
    };
    for (const auto attr : k_device_attrs) {
        if (listed(attr)) {
            c.take_in(*opened, *dir, attr);
        }
    }
    for (const auto attr : k_device_presence) {
        if (listed(attr)) {
            c.take_presence(host::join(*dir, attr));
        }
    }
    for (const auto& entry : names) {
        const bool wanted =
            std::find(k_device_links.begin(), k_device_links.end(), entry) != k_device_links.end()
            || entry.starts_with("virtfn");
        if (wanted) {
            c.take(host::join(*dir, entry), no_follow);
        }
    }
    if (const auto driver = c.canonical_dir(host::join(*dir, "driver"))) {
        found.drivers.insert(*driver);
    }
    // A display device's DRM nodes and their major:minor (pt lxc, pt verify --ct).
    const std::string drm = host::join(*dir, "drm");
    for (const auto& node : c.list(drm)) {
        if (node.starts_with("card") || node.starts_with("renderD")) {
            c.take(host::join(host::join(drm, node), "dev"));
        }
    }
    for (const auto attr : {"vendor", "subsystem_vendor"}) {
        if (const Entry* e = c.find(host::join(*dir, attr))) {
            if (const auto id = pci::parse_hex_attr(e->content)) {
                found.vendors.insert(static_cast<std::uint16_t>(*id));
            }
        }
    }
    found.device_dirs.push_back(*dir);
}

// One IOMMU group: its folder, type, reserved regions and device links.
void take_group(Collector& c, const std::string& name, SysfsFound& found) {
    const std::string dir = host::join(k_iommu_groups, name);
    if (c.take(dir) != Collector::Found::directory) {
        return;
    }
    c.take(host::join(dir, "type"));
    c.take(host::join(dir, "reserved_regions"));
    const std::string devices = host::join(dir, "devices");
    Collector::How no_follow;
    no_follow.follow = false;
    if (c.take(devices) == Collector::Found::directory) {
        c.take_dir(devices, always, no_follow);
    }
    found.group_dirs.push_back(dir);
}

// The device folders and IOMMU groups: most of a snapshot (20 to 30 files and links per device,
// thousands of devices on a host with SR-IOV), each independent of the others. Two threads take
// one half of the devices and one half of the groups each, every thread with its own Collector;
// the halves are then merged in a fixed order, so the snapshot is the same whichever thread
// finishes first, and the same as one thread would collect (the entries are keyed by path).
SysfsFound take_devices_and_groups(Collector& c, Snapshot& snap, const host::Root& root) {
    const auto devices = c.list(k_bus_devices);
    const auto groups = c.list(k_iommu_groups);

    struct Half {
        Snapshot snap;
        std::optional<Collector> collector;
        SysfsFound found;
        std::size_t group_missing_from = 0; // where the groups' missing paths start
        std::exception_ptr failure;
    };

    std::array<Half, 2> halves;
    const auto work = [&](std::size_t index) {
        Half& half = halves.at(index);
        try {
            half.collector.emplace(root, half.snap);
            for (std::size_t i = index * devices.size() / 2; i < (index + 1) * devices.size() / 2;
                 ++i) {
                take_device(*half.collector, half.snap, devices[i], half.found);
            }
            half.group_missing_from = half.snap.missing.size();
            for (std::size_t i = index * groups.size() / 2; i < (index + 1) * groups.size() / 2;
                 ++i) {
                take_group(*half.collector, groups[i], half.found);
            }
        } catch (...) {
            half.failure = std::current_exception();
        }
    };
    std::thread second(work, 1);
    work(0);
    second.join();

    SysfsFound found;
    for (auto& half : halves) {
        if (half.failure) {
            std::rethrow_exception(half.failure);
        }
    }
    // The missing paths in the order one thread would meet them: devices, then groups.
    for (auto& half : halves) {
        const auto end =
            half.snap.missing.begin() + static_cast<std::ptrdiff_t>(half.group_missing_from);
        snap.missing.insert(snap.missing.end(), half.snap.missing.begin(), end);
        half.snap.missing.erase(half.snap.missing.begin(), end);
        const auto& dirs = half.found.device_dirs;
        found.device_dirs.insert(found.device_dirs.end(), dirs.begin(), dirs.end());
        found.drivers.merge(half.found.drivers);
        found.vendors.merge(half.found.vendors);
    }
    for (auto& half : halves) {
        const auto& dirs = half.found.group_dirs;
        found.group_dirs.insert(found.group_dirs.end(), dirs.begin(), dirs.end());
        c.absorb(std::move(*half.collector), std::move(half.snap));
    }
    return found;
}

void take_pci(Collector& c, Categories& cats, const SysfsFound& found) {
    if (!found.device_dirs.empty()) {
        cats.add(
            "pci devices", "sysfs attributes and links of each device folder", found.device_dirs);
    }
    std::set<std::string> drivers = found.drivers;
    c.take_presence("/sys/bus/pci/drivers_probe");

    // The physical slots (pci::scan's physical_slot; pt profile recognises a card by it).
    const std::string slots = "/sys/bus/pci/slots";
    for (const auto& name : c.list(slots)) {
        const std::string address = host::join(host::join(slots, name), "address");
        if (c.take(address) == Collector::Found::file) {
            cats.add("pci slots", "the address of each physical slot", address);
        }
    }

    // Every registered PCI driver (vfio-pci is looked for even when it drives nothing): its
    // folder, its module link, its write-only attributes and its device links.
    const std::string drivers_dir = "/sys/bus/pci/drivers";
    for (const auto& name : c.list(drivers_dir)) {
        drivers.insert(host::join(drivers_dir, name));
    }
    for (const auto& driver : drivers) {
        if (c.take(driver) == Collector::Found::missing) {
            continue;
        }
        const auto dir = c.canonical_dir(driver);
        if (!dir) {
            continue;
        }
        for (const auto& entry : c.list(*dir)) {
            if (entry == "module") {
                c.take(host::join(*dir, entry)); // the link and the module's folder
            } else if (pci::parse_address(entry)) {
                Collector::How no_follow;
                no_follow.follow = false;
                c.take(host::join(*dir, entry), no_follow);
            }
        }
        for (const auto attr : k_driver_presence) {
            c.take_presence(host::join(*dir, attr));
        }
        cats.add("pci drivers", "folder, module link and device links", *dir);
    }
}

constexpr std::string_view k_firmware_detail =
    "presence of /sys/firmware/efi (UEFI boot) and of the ACPI VFCT table (an AMD APU's VBIOS)";

void take_iommu(Collector& c, Categories& cats, const SysfsFound& found) {
    if (!found.group_dirs.empty()) {
        cats.add("iommu groups", "type, reserved_regions and device links", found.group_dirs);
    }
    // The units are links into /sys/devices; their targets are taken as empty folders so the
    // links resolve.
    const auto units = c.take_dir("/sys/class/iommu", always, Collector::How{});
    cats.add("iommu units", "links, with their target folders", units);
    if (c.take("/sys/firmware/efi") == Collector::Found::directory) {
        cats.add("firmware", k_firmware_detail, "/sys/firmware/efi");
    }
    if (c.take_presence("/sys/firmware/acpi/tables/VFCT") != Collector::Found::missing) {
        cats.add("firmware", k_firmware_detail, "/sys/firmware/acpi/tables/VFCT");
    }
    // Device nodes become empty files: their presence is what pt checks (/dev/kvm on the host,
    // the NVIDIA and DRM nodes in a guest), and an archive of device nodes would not extract
    // for a user who is not root.
    Collector::How presence;
    presence.presence = true;
    auto nodes = c.take_dir(
        "/dev",
        [](const std::string& name) {
            return name == "kvm" || name == "kfd" || name.starts_with("nvidia");
        },
        presence);
    const auto dri = c.take_dir("/dev/dri", always, presence);
    nodes.insert(nodes.end(), dri.begin(), dri.end());
    cats.add("device nodes",
             "/dev/kvm, /dev/kfd, /dev/nvidia*, /dev/dri/*: presence, as empty files",
             nodes);
}

constexpr std::string_view k_kernel_detail =
    "command line, release, loaded modules, boot time, and of cpuinfo the first CPU's vendor, "
    "model and flags";

void take_modules(Collector& c, Categories& cats) {
    // Every module folder, empty: pt counts a module as present when /sys/module/NAME exists,
    // which covers modules built into the kernel (absent from /proc/modules).
    const auto all = c.take_dir("/sys/module", always, {});
    cats.add("modules", "/sys/module/* folder names (loaded and built-in modules)", all);
    std::vector<std::string> vfio;
    for (const auto& dir : all) {
        if (base_of(dir).starts_with("vfio")) {
            c.take(host::join(dir, "initstate"));
            c.take_dir(host::join(dir, "parameters"), always, {});
            vfio.push_back(dir);
        }
    }
    cats.add("vfio modules", "/sys/module/vfio*: initstate and parameters", vfio);
    if (c.take("/proc/modules") == Collector::Found::file) {
        cats.add("kernel", k_kernel_detail, "/proc/modules");
    }
}

constexpr std::string_view k_driver_nodes_detail =
    "/proc/devices and the NVIDIA driver's per-card information (its device minor)";

void take_proc(Collector& c, Categories& cats) {
    if (c.take("/proc/cmdline") == Collector::Found::file) {
        cats.add("kernel", k_kernel_detail, "/proc/cmdline");
    }
    Collector::How cpu;
    cpu.transform = [](const std::string& text) {
        return reduce_cpuinfo(text);
    };
    if (c.take("/proc/cpuinfo", cpu) == Collector::Found::file) {
        cats.add("kernel", k_kernel_detail, "/proc/cpuinfo");
    }
    if (c.take("/proc/sys/kernel/osrelease") == Collector::Found::file) {
        cats.add("kernel", k_kernel_detail, "/proc/sys/kernel/osrelease");
    }
    // Only the boot time (model::Host::booted_at); the CPU counters say nothing about the setup.
    Collector::How boot_time;
    boot_time.transform = [](const std::string& text) {
        return keep_btime(text);
    };
    if (c.take("/proc/stat", boot_time) == Collector::Found::file) {
        cats.add("kernel", k_kernel_detail, "/proc/stat");
    }
    // What pt lxc and pt advise read of a host driver's device nodes: the character majors, and
    // the minor the NVIDIA driver gave each card.
    if (c.take("/proc/devices") == Collector::Found::file) {
        cats.add("device nodes", k_driver_nodes_detail, "/proc/devices");
    }
    for (const auto& gpu : c.list("/proc/driver/nvidia/gpus")) {
        const auto path = fmt::format("/proc/driver/nvidia/gpus/{}/information", gpu);
        if (c.take(path) == Collector::Found::file) {
            cats.add("device nodes", k_driver_nodes_detail, path);
        }
    }
    // The module's version (pt verify --ct compares the containers' userspace with it).
    if (c.take("/proc/driver/nvidia/version") == Collector::Found::file) {
        cats.add("device nodes", k_driver_nodes_detail, "/proc/driver/nvidia/version");
    }
}

// What pt lxc and pt verify --ct read of each container whose files the host can reach
// (proxmox::container_root: mounted while it runs, or a subvolume): the render and video groups
// (pt lxc's gid=) and which NVIDIA userspace is installed (libnvidia-ml.so.1's link and the
// versioned files, empty); and of /etc/pve/storage.cfg what locates a subvolume.
void take_containers(Collector& c, Categories& cats, const host::Root& root) {
    Collector::How storage;
    storage.transform = [](const std::string& text) {
        return reduce_storage_cfg(text);
    };
    if (c.take("/etc/pve/storage.cfg", storage) == Collector::Found::file) {
        cats.add("containers",
                 "storage.cfg: each storage's type, name, path, pool and mountpoint",
                 "/etc/pve/storage.cfg");
    }
    for (const auto& ct : proxmox::find_cts(root)) {
        std::optional<std::string> rootfs;
        try {
            rootfs = proxmox::VmConfig::parse(root.read_file(ct.path)).get("rootfs");
        } catch (const Error&) {
            continue; // take_pve notes the config it cannot read
        }
        const auto where = proxmox::container_root(root, ct.vmid, rootfs);
        if (!ct.local || !where) {
            continue;
        }
        c.take(where->path + "/etc"); // the folder that says the container's files are there
        Collector::How groups;
        groups.transform = [](const std::string& text) {
            return keep_render_video(text);
        };
        const std::string group = where->path + "/etc/group";
        if (c.take(group, groups) == Collector::Found::file) {
            cats.add("containers", "render and video lines of /etc/group, without members", group);
        }
        Collector::How presence;
        presence.presence = true;
        presence.follow = false;
        for (const char* dir : {"/usr/lib/x86_64-linux-gnu",
                                "/usr/lib/aarch64-linux-gnu",
                                "/usr/lib64",
                                "/usr/lib",
                                "/usr/local/lib"}) {
            const auto libraries = c.take_dir(
                where->path + dir,
                [](const std::string& name) { return name.starts_with("libnvidia-ml.so."); },
                presence);
            if (!libraries.empty()) {
                cats.add("containers",
                         "libnvidia-ml.so.* names (the NVIDIA userspace version)",
                         libraries);
            }
        }
    }
}

void take_kernel_log(Collector& c,
                     Categories& cats,
                     Snapshot& snap,
                     const host::Root& root,
                     const Options& options) {
    if (!root.is_live() && !options.read_kernel_log) {
        // A snapshot of a snapshot (or a fixture): the log is the file the first one wrote.
        if (c.take(k_dmesg_path) == Collector::Found::file) {
            cats.add("kernel log",
                     "lines, copied from the source root's own snapshot file",
                     k_dmesg_path);
            if (const Entry* e = c.find(k_dmesg_path)) {
                snap.kernel_log_lines = static_cast<std::size_t>(
                    std::count(e->content.begin(), e->content.end(), '\n'));
            }
        } else {
            snap.missing.push_back(
                {k_dmesg_path, "the source root is not the live host and has no kernel log file"});
        }
        return;
    }
    std::string why;
    const auto log =
        options.read_kernel_log ? options.read_kernel_log(why) : kernel::read_live_kernel_log(why);
    if (!log) {
        snap.missing.push_back({"kernel log", why});
        return;
    }
    std::string kept = filter_kernel_log(*log);
    snap.kernel_log_lines = static_cast<std::size_t>(std::count(kept.begin(), kept.end(), '\n'));
    c.put(k_dmesg_path, std::move(kept), options.now);
    cats.add(
        "kernel log",
        "lines about the IOMMU (DMAR, AMD-Vi), interrupt remapping, vfio, BAR and ROM, KVM and "
        "the boot framebuffer",
        k_dmesg_path);
}

void take_config(Collector& c, Categories& cats, Snapshot& snap) {
    struct File {
        const char* path;
        const char* category;
    };

    static constexpr std::array<File, 8> k_files = {{
        {"/etc/default/grub", "boot configuration"},
        {"/etc/kernel/cmdline", "boot configuration"},
        {"/etc/kernel/proxmox-boot-uuids", "boot configuration"},
        {"/etc/modules", "module configuration"},
        {"/etc/initramfs-tools/modules", "module configuration"},
        {"/etc/initramfs-tools/initramfs.conf", "initramfs hooks and scripts"},
        {"/etc/hostname", "host"},
        {"/proc/sys/kernel/hostname", "host"},
    }};

    struct Folder {
        std::string path;
        std::string_view category;
    };

    // The module configuration folders are the model's own lists (conf::k_modprobe_dirs,
    // conf::k_modules_load_dirs), so a snapshot holds every file a check reads.
    std::vector<Folder> folders = {
        {"/etc/default/grub.d", "boot configuration"},
        {"/etc/initramfs-tools/hooks", "initramfs hooks and scripts"},
        {"/etc/initramfs-tools/scripts/init-top", "initramfs hooks and scripts"},
        {"/etc/initramfs-tools/conf.d", "initramfs hooks and scripts"},
    };
    for (const auto dir : conf::k_modprobe_dirs) {
        folders.push_back({std::string(dir), "modprobe.d"});
    }
    for (const auto dir : conf::k_modules_load_dirs) {
        folders.push_back({std::string(dir), "module configuration"});
    }
    // A link in a configuration folder is followed only into the configuration folders and
    // files themselves (a modprobe.d file linked from /lib/modprobe.d, /etc/modules linked from
    // modules-load.d): a link elsewhere is kept without its target's content.
    Collector::How config;
    for (const auto& file : k_files) {
        if (const auto path = c.resolve(file.path)) {
            config.follow_within.push_back(*path);
        }
    }
    for (const auto& folder : folders) {
        if (const auto dir = c.canonical_dir(folder.path)) {
            config.follow_within.push_back(*dir);
        }
    }
    for (const auto& file : k_files) {
        if (c.take(file.path) != Collector::Found::missing) {
            cats.add(file.category, "files as they are", file.path);
        } else {
            snap.missing.push_back({file.path, "absent"});
        }
    }

    for (const auto& folder : folders) {
        cats.add(folder.category, "files as they are", c.take_dir(folder.path, any_entry, config));
    }
}

// What proxmox::read_platform reads: the Debian release and, of dpkg's database, only the
// platform packages' names and versions.
void take_platform(Collector& c, Categories& cats, Snapshot& snap) {
    const std::string debian_version(proxmox::k_debian_version);
    if (c.take(debian_version) == Collector::Found::file) {
        cats.add("platform", "files as they are", debian_version);
    } else {
        snap.missing.push_back({debian_version, "absent"});
    }
    const std::string dpkg_status(proxmox::k_dpkg_status);
    Collector::How packages;
    packages.transform = [](const std::string& text) {
        return proxmox::reduce_dpkg_status(text);
    };
    if (c.take(dpkg_status, packages) == Collector::Found::file) {
        cats.add("platform",
                 "the Proxmox VE, QEMU, kernel and boot packages: name, status, version",
                 dpkg_status);
    } else {
        snap.missing.push_back({dpkg_status, "absent"});
    }
}

void take_boot(Collector& c, Categories& cats) {
    Collector::How empty;
    empty.presence = true;
    const auto images = c.take_dir(
        "/boot",
        [](const std::string& name) {
            return name.starts_with("initrd.img-") || name.starts_with("vmlinuz-");
        },
        empty);
    cats.add(
        "initrd and kernel images", "empty files with the real mtime, never the content", images);
    // The staged command line of plain GRUB (boot::read_grub_cfg), without passwords.
    Collector::How menu;
    menu.transform = [](const std::string& text) {
        return reduce_grub_cfg(text);
    };
    if (c.take("/boot/grub/grub.cfg", menu) == Collector::Found::file) {
        cats.add("boot configuration",
                 "the menu entries and their linux and initrd lines; every other line emptied",
                 "/boot/grub/grub.cfg");
    }
    const auto releases = c.take_dir("/lib/modules", always, {});
    cats.add("installed kernels", "/lib/modules/<release> folder names only", releases);
}

void take_pve(Collector& c, Categories& cats, Snapshot& snap) {
    // /etc/pve is pmxcfs; "local" and "qemu-server" are its links to this node's folder
    // (pve-cluster src/pmxcfs/pmxcfs.c). /etc/pve/priv (keys, tokens, the authkey) is never read.
    Collector::How no_follow;
    no_follow.follow = false;
    for (const auto* link : {"/etc/pve/local", "/etc/pve/qemu-server"}) {
        if (c.take(link, no_follow) != Collector::Found::missing) {
            cats.add("proxmox", "pmxcfs links", link);
        }
    }
    // Every node's VM folder, and /etc/pve/qemu-server itself when it is a folder rather than
    // pmxcfs's link (as in trees made by hand); each canonical folder once.
    std::vector<std::string> dirs;
    for (const auto& node : c.list("/etc/pve/nodes")) {
        dirs.push_back(fmt::format("/etc/pve/nodes/{}/qemu-server", node));
    }
    dirs.emplace_back("/etc/pve/qemu-server");
    // Containers' configs (pt advise, pt lxc): the same format, the same redaction.
    for (const auto& node : c.list("/etc/pve/nodes")) {
        dirs.push_back(fmt::format("/etc/pve/nodes/{}/lxc", node));
    }
    dirs.emplace_back("/etc/pve/lxc");
    std::set<std::string> seen;
    std::vector<std::string> roms;
    for (const auto& host_dir : dirs) {
        const auto dir = c.canonical_dir(host_dir);
        if (!dir || !seen.insert(*dir).second) {
            continue;
        }
        for (const auto& name : c.list(*dir)) {
            if (!name.ends_with(".conf")) {
                continue;
            }
            const std::string path = host::join(*dir, name);
            Collector::How how;
            how.follow_within = {*dir};
            how.transform = [&snap, path](const std::string& text) {
                return redact_vm_config(text, path, snap.redacted);
            };
            if (c.take(path, how) == Collector::Found::file) {
                cats.add("vm configs", "secrets and notes redacted", path);
                if (const Entry* e = c.find(path)) {
                    for (auto& rom : romfiles(e->content)) {
                        if (std::find(roms.begin(), roms.end(), rom) == roms.end()) {
                            roms.push_back(std::move(rom));
                        }
                    }
                }
            }
        }
    }
    Collector::How mapping;
    mapping.transform = [&snap](const std::string& text) {
        return redact_mapping(text, "/etc/pve/mapping/pci.cfg", snap.redacted);
    };
    if (c.take("/etc/pve/mapping/pci.cfg", mapping) == Collector::Found::file) {
        cats.add("proxmox", "PCI resource mapping", "/etc/pve/mapping/pci.cfg");
    }
    for (const auto& rom : roms) {
        const std::string path = host::join("/usr/share/kvm", rom);
        if (c.take(path) == Collector::Found::file) {
            cats.add("rom files", "only those a VM config names with romfile=", path);
        } else {
            snap.missing.push_back({path, "named by a VM config's romfile=, but absent"});
        }
    }
    // Running VMs: qemu-server's pid files, and /proc/PID (empty) for the pids they name, which
    // is how pt tells a running VM from a stale pid file.
    Collector::How pid_files;
    if (const auto dir = c.canonical_dir("/var/run/qemu-server")) {
        pid_files.follow_within = {*dir};
    }
    const auto pids = c.take_dir(
        "/var/run/qemu-server",
        [](const std::string& name) { return name.ends_with(".pid"); },
        pid_files);
    for (const auto& file : pids) {
        if (const Entry* e = c.find_host(file)) {
            const std::string pid = e->content.substr(0, e->content.find_first_of(" \n"));
            if (!pid.empty() && pid.find_first_not_of("0123456789") == std::string::npos) {
                c.take(host::join("/proc", pid));
            }
        }
    }
    cats.add("proxmox", "running VMs: pid files and their /proc/PID folders", pids);
    if (c.take("/run/qemu-server/pci-id-reservations") == Collector::Found::file) {
        cats.add(
            "proxmox", "devices reserved by running VMs", "/run/qemu-server/pci-id-reservations");
    }
}

void take_pci_ids(Collector& c, Categories& cats, const std::set<std::uint16_t>& vendors) {
    Collector::How how;
    how.transform = [&vendors](const std::string& text) {
        return pci::reduce_ids(text, &vendors, true).text;
    };
    if (c.take("/usr/share/misc/pci.ids", how) != Collector::Found::missing) {
        cats.add(
            "pci.ids",
            fmt::format("reduced to the {} vendors present and the class list", vendors.size()),
            "/usr/share/misc/pci.ids");
    }
}

} // namespace

Snapshot collect(const host::Root& root, const Options& options) {
    Snapshot snap;
    snap.source_root = root.prefix().string();
    snap.live = root.is_live();
    snap.created = options.now;
    Collector c(root, snap);
    Categories cats(snap.collected);
    const SysfsFound sysfs = take_devices_and_groups(c, snap, root);
    take_pci(c, cats, sysfs);
    take_iommu(c, cats, sysfs);
    take_modules(c, cats);
    take_proc(c, cats);
    take_kernel_log(c, cats, snap, root, options);
    take_config(c, cats, snap);
    take_platform(c, cats, snap);
    take_boot(c, cats);
    take_pve(c, cats, snap);
    take_containers(c, cats, root);
    take_pci_ids(c, cats, sysfs.vendors);
    snap.entries = std::move(c).entries();
    return snap;
}

} // namespace pt::snapshot
