// SPDX-License-Identifier: MIT
#include "pt/proxmox/ct_root.hpp"

#include "pt/host/root.hpp"
#include "pt/strings.hpp"

#include <fmt/format.h>

#include <map>

namespace pt::proxmox {
namespace {

struct Storage {
    std::string type; // "zfspool", "dir", "btrfs", ...
    std::map<std::string, std::string> options;
};

// One storage of /etc/pve/storage.cfg (pve-storage's section config: "TYPE: ID" headers, then
// indented "KEY VALUE" lines); nullopt when it is not there.
std::optional<Storage> find_storage(const std::string& text, std::string_view id) {
    std::optional<Storage> found;
    bool in_it = false;
    std::string_view rest = text;
    while (!rest.empty()) {
        const auto end = rest.find('\n');
        const std::string_view line = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        if (!is_blank(line.front())) {
            if (found) {
                break; // the next section: the storage is complete
            }
            const auto colon = line.find(':');
            in_it = colon != std::string_view::npos && trim(line.substr(colon + 1)) == id;
            if (in_it) {
                found = Storage{std::string(trim(line.substr(0, colon))), {}};
            }
            continue;
        }
        if (in_it) {
            const auto item = trim(line);
            const auto space = item.find_first_of(" \t");
            const auto key = item.substr(0, space);
            const auto value =
                space == std::string_view::npos ? std::string_view() : trim(item.substr(space));
            found->options[std::string(key)] = std::string(value);
        }
    }
    return found;
}

std::string option(const Storage& storage, const std::string& key) {
    const auto it = storage.options.find(key);
    return it == storage.options.end() ? std::string() : it->second;
}

// The folder of a subvolume `volume` ("subvol-200-disk-0", "200/subvol-200-disk-0.subvol") on
// `storage`, or "" for a block device.
std::string subvolume_folder(const Storage& storage, const std::string& volume) {
    if (storage.type == "zfspool") {
        if (!volume.starts_with("subvol-") && !volume.starts_with("basevol-")) {
            return {}; // a zvol
        }
        const std::string mountpoint = option(storage, "mountpoint");
        return (mountpoint.empty() ? "/" + option(storage, "pool") : mountpoint) + "/" + volume;
    }
    const bool folder_storage = storage.type == "dir" || storage.type == "btrfs"
                                || storage.type == "nfs" || storage.type == "cifs";
    const bool subvolume =
        volume.ends_with(".subvol") || volume.find("/subvol-") != std::string::npos;
    if (folder_storage && subvolume && !option(storage, "path").empty()) {
        return option(storage, "path") + "/images/" + volume;
    }
    return {};
}

} // namespace

std::optional<ContainerRoot>
container_root(const host::Root& root, int ctid, const std::optional<std::string>& rootfs) {
    const std::string mounted = fmt::format("/var/lib/lxc/{}/rootfs", ctid);
    if (root.exists(mounted + "/etc")) {
        return ContainerRoot{mounted, true, "mounted while it runs"};
    }
    if (!rootfs) {
        return std::nullopt;
    }
    // "local-zfs:subvol-200-disk-0,size=8G": the volume is the first item.
    const std::string volid = rootfs->substr(0, rootfs->find(','));
    const auto colon = volid.find(':');
    if (colon == std::string::npos) {
        return std::nullopt;
    }
    const auto config = root.read_file_if_exists("/etc/pve/storage.cfg");
    const auto storage = config ? find_storage(*config, volid.substr(0, colon)) : std::nullopt;
    if (!storage) {
        return std::nullopt;
    }
    const std::string volume = volid.substr(colon + 1);
    const std::string folder = subvolume_folder(*storage, volume);
    if (folder.empty() || !root.exists(folder + "/etc")) {
        return std::nullopt;
    }
    return ContainerRoot{
        folder,
        false,
        fmt::format(
            "{} subvolume {} of storage {}", storage->type, volume, volid.substr(0, colon))};
}

} // namespace pt::proxmox
