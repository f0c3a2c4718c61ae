// SPDX-License-Identifier: MIT
#include "pt/host/root.hpp"
#include "pt/proxmox/ct_root.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <string>

using pt::proxmox::container_root;
using pt::test::TempRoot;

namespace {

constexpr const char* k_storage = "dir: local\n"
                                  "\tpath /var/lib/vz\n"
                                  "\tcontent iso,vztmpl,backup,rootdir\n"
                                  "\n"
                                  "# the installer's ZFS pool\n"
                                  "zfspool: local-zfs\n"
                                  "\tpool rpool/data\n"
                                  "\tsparse\n"
                                  "\tcontent images,rootdir\n"
                                  "\n"
                                  "zfspool: tank\n"
                                  "\tpool tank/ct\n"
                                  "\tmountpoint /mnt/tank-ct\n"
                                  "\tcontent rootdir\n"
                                  "\n"
                                  "lvmthin: local-lvm\n"
                                  "\tthinpool data\n"
                                  "\tvgname pve\n"
                                  "\tcontent rootdir,images\n";

std::optional<std::string> where(const TempRoot& tmp, const std::string& rootfs) {
    const auto found = container_root(pt::host::Root(tmp.path()), 200, rootfs);
    return found ? std::optional<std::string>(found->path) : std::nullopt;
}

} // namespace

TEST_CASE("proxmox::container_root: the running container's mount first", "[proxmox][ct_root]") {
    TempRoot tmp;
    tmp.write("/etc/pve/storage.cfg", k_storage);
    tmp.write("/var/lib/lxc/200/rootfs/etc/group", "root:x:0:\n");
    tmp.write("/rpool/data/subvol-200-disk-0/etc/group", "root:x:0:\n");
    const auto found =
        container_root(pt::host::Root(tmp.path()), 200, "local-zfs:subvol-200-disk-0,size=8G");
    REQUIRE(found);
    CHECK(found->path == "/var/lib/lxc/200/rootfs");
    CHECK(found->running);
    // Stopped: pve-container leaves the mount point as an empty folder.
    tmp.mkdir("/var/lib/lxc/201/rootfs");
    CHECK_FALSE(container_root(pt::host::Root(tmp.path()), 201, std::nullopt));
}

TEST_CASE("proxmox::container_root: a stopped container's subvolume where its storage mounts it",
          "[proxmox][ct_root]") {
    TempRoot tmp;
    tmp.write("/etc/pve/storage.cfg", k_storage);
    tmp.write("/rpool/data/subvol-200-disk-0/etc/group", "");
    tmp.write("/mnt/tank-ct/subvol-200-disk-1/etc/group", "");
    tmp.write("/var/lib/vz/images/200/subvol-200-disk-2.subvol/etc/group", "");
    tmp.mkdir("/rpool/data/subvol-200-disk-3");

    const auto zfs =
        container_root(pt::host::Root(tmp.path()), 200, "local-zfs:subvol-200-disk-0,size=8G");
    REQUIRE(zfs);
    CHECK(zfs->path == "/rpool/data/subvol-200-disk-0");
    CHECK_FALSE(zfs->running);
    CHECK(zfs->how == "zfspool subvolume subvol-200-disk-0 of storage local-zfs");
    CHECK(where(tmp, "tank:subvol-200-disk-1,size=8G") == "/mnt/tank-ct/subvol-200-disk-1");
    CHECK(where(tmp, "local:200/subvol-200-disk-2.subvol,size=0T")
          == "/var/lib/vz/images/200/subvol-200-disk-2.subvol");
    // Block devices, unknown storages, folders without /etc, no volume: nothing to read.
    CHECK_FALSE(where(tmp, "local-lvm:vm-200-disk-0,size=8G"));
    CHECK_FALSE(where(tmp, "local-zfs:vm-200-disk-0,size=8G"));
    CHECK_FALSE(where(tmp, "local:200/vm-200-disk-0.raw,size=8G"));
    CHECK_FALSE(where(tmp, "nowhere:subvol-200-disk-0"));
    CHECK_FALSE(where(tmp, "local-zfs:subvol-200-disk-3"));
    CHECK_FALSE(where(tmp, "/some/path"));
    tmp.write("/etc/pve/storage.cfg", "");
    CHECK_FALSE(where(tmp, "local-zfs:subvol-200-disk-0,size=8G"));
}
