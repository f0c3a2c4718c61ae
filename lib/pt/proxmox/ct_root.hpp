// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>

namespace pt::host {
class Root;
}

namespace pt::proxmox {

// Where the host can read a container's own files (its /etc/group, its libraries).
struct ContainerRoot {
    std::string path; // host path of the container's "/"
    bool running = false;
    std::string how; // "mounted while it runs", "ZFS subvolume rpool/data/subvol-200-disk-0"
};

// The container's root file system as the host sees it:
// - while the container runs, where pve-container mounts it: /var/lib/lxc/CTID/rootfs;
// - else, for a subvolume (a folder, not a block device), where its storage keeps it mounted
//   (pve-storage src/PVE/Storage/ZFSPoolPlugin.pm `path`: the pool's mountpoint, default
//   "/POOL", then the volume name; Plugin.pm/BTRFSPlugin.pm `filesystem_path`: PATH/images/VMID/
//   NAME for dir, btrfs, nfs and cifs storages), read from /etc/pve/storage.cfg.
// `rootfs` is the config's `rootfs:` value ("local-zfs:subvol-200-disk-0,size=8G"). nullopt when
// neither is readable: a stopped container on a block device (LVM, a zvol, a raw image), an
// unknown storage, or a folder without an /etc.
std::optional<ContainerRoot>
container_root(const host::Root& root, int ctid, const std::optional<std::string>& rootfs);

} // namespace pt::proxmox
