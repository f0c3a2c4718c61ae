// SPDX-License-Identifier: MIT
#pragma once

#include "pt/edit/plan.hpp"
#include "pt/pci/address.hpp"
#include "pt/pci/selector.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::model {
class Host;
}

namespace pt::pci {
struct Device;
struct Topology;
} // namespace pt::pci

namespace pt::driver {

// `pt bind` and `pt unbind`: hand PCI devices to vfio-pci persistently (and with --now at once),
// or give them back. Planning only reads through Root; edit::apply carries the plan out.
//
// Persistence lives in files pt owns:
//   /etc/modprobe.d/pt-vfio.conf      `options vfio-pci ids=...` for IDs that only the bound
//                                     devices have, and `softdep MODULE pre: vfio-pci` for the
//                                     drivers that would otherwise take them (modprobe.d(5)).
//   /etc/initramfs-tools/scripts/init-top/pt-vfio
//                                     for devices whose IDs a host device shares: writes
//                                     vfio-pci to their driver_override in the initramfs, before
//                                     udev loads any driver. Mode 0755.
//   /etc/modules-load.d/pt-vfio.conf
//                                     the VFIO modules for systemd-modules-load (after the
//                                     switch to the real root), on PVE 8 and 9 alike.
// and in the module list /etc/initramfs-tools/modules (loaded in the initramfs), edited line by
// line. VFIO module lines in /etc/modules (an earlier pt's, or a guide's) move to pt's
// modules-load.d file: trixie's kmod calls /etc/modules obsolete (its postinst deletes an
// unmodified one), while systemd-modules-load reads modules-load.d on both releases
// (modules-load.d(5)).

constexpr std::string_view k_vfio_conf = "/etc/modprobe.d/pt-vfio.conf";
constexpr std::string_view k_hook = "/etc/initramfs-tools/scripts/init-top/pt-vfio";
constexpr std::string_view k_initramfs_modules = "/etc/initramfs-tools/modules";
constexpr std::string_view k_modules_load_conf = "/etc/modules-load.d/pt-vfio.conf";
constexpr std::string_view k_modules = "/etc/modules";

// The VFIO modules for early binding (pve-docs, PVE 8): loaded in this order.
extern const std::vector<std::string> k_vfio_modules;

// What pt's files say is bound.
struct Persisted {
    std::vector<std::string> ids;        // vfio-pci ids= entries, "10de:2204", sorted
    std::vector<pci::Address> addresses; // the hook's addresses, sorted
    std::vector<std::string> softdeps;   // MODULE of each `softdep MODULE pre: vfio-pci`, sorted
};

// How a set of devices is persisted.
struct Persistence {
    std::vector<std::string> ids;        // by ID: nothing outside the set has these IDs
    std::vector<pci::Address> addresses; // by address: their IDs are shared with host devices
};

// "10de:2204": the vfio-pci ids= form of a device's vendor and device.
std::string id_of(const pci::Device& dev);

// Parses pt-vfio.conf text. Throws pt::Error naming `path` and the line when the file holds a
// command pt does not write (rewriting it would lose it): pt owns the file.
Persisted parse_vfio_conf(std::string_view text, std::string_view path);

// The whole pt-vfio.conf for these IDs and softdep modules (both written sorted); `hook` adds a
// comment pointing at the by-address hook. The same input always gives the same bytes.
std::string render_vfio_conf(const std::vector<std::string>& ids,
                             const std::vector<std::string>& softdeps,
                             bool hook);

// The whole init-top hook for `addresses` (written sorted): the initramfs-tools boot-script
// boilerplate (PREREQ and the prereqs case, initramfs-tools(7)) and one driver_override write per
// address.
std::string render_hook(const std::vector<pci::Address>& addresses);

// The addresses of a hook that render_hook wrote. nullopt when `text` is not such a hook.
std::optional<std::vector<pci::Address>> parse_hook(std::string_view text);

// The devices `persisted` binds on this host: every device whose ID is in `ids`, and every
// listed address. Sorted.
std::vector<pci::Address> persisted_devices(const pci::Topology& topology,
                                            const Persisted& persisted);

// How to persist `bound` (the complete set pt binds): by ID where every device of the host with
// that ID is in the set, by address otherwise. IDs and addresses of `previous` that match no
// device of the topology (a card that is absent from this snapshot) are kept as they were.
Persistence decide_persistence(const pci::Topology& topology,
                               const std::vector<pci::Address>& bound,
                               const Persisted& previous);

// The modules that would take `dev` before vfio-pci and need `softdep M pre: vfio-pci`: its
// current driver's module (from /sys/bus/pci/drivers/DRV/module, else the driver name), unless
// that is vfio-pci, pci-stub or pcieport; for display devices the vendor's GPU drivers (NVIDIA:
// nouveau, nvidia; AMD: amdgpu, radeon; Intel: i915, xe); for HD audio snd_hda_intel. Sorted.
std::vector<std::string> competing_modules(const host::Root& root, const pci::Device& dev);

struct BindRequest {
    // SEL...: every device any of them matches (pt setup binds several cards in one plan).
    std::vector<pci::Selector> selectors;
    bool include_group = false; // also bind endpoints of other slots in the same IOMMU group
    bool force = false;         // bind even what the host needs (root disk, route NIC, display)
    bool now = false;           // also bind at runtime (driver_override, unbind, drivers_probe)
    std::int64_t time = 0;      // seconds since the epoch, to judge qemu-server reservations
};

// Plans `pt bind`. The selected devices are expanded to every function of their slots and every
// endpoint of their IOMMU groups. Throws pt::Error (exit 1), naming the device and the evidence:
//  - when the selector matches no device, or a device is in no IOMMU group;
//  - when the groups hold endpoints of other slots, unless `include_group`;
//  - unless `force`: when a device to bind (or a PCI function above it in its path) carries a
//    mounted file system or swap, or the default route, or is a display device and no other
//    display device stays with the host;
//  - with `now`: when vfio-pci is not loaded, or a running VM has reserved a device.
// Returns an empty plan when everything is already in place.
edit::Plan plan_bind(const model::Host& model, const BindRequest& request);

struct UnbindRequest {
    pci::Selector selector;
    bool now = false;      // also give the devices back at runtime
    std::int64_t time = 0; // as in BindRequest
};

// Plans `pt unbind`: the selected devices, every function of their slots, and the endpoints of
// their groups that pt binds (in its files, or marked with driver_override vfio-pci) leave pt's
// persistence; the module list entries go only when pt then binds nothing and no other
// modprobe.d file sets vfio-pci ids=. With `now`: driver_override cleared, unbound from
// vfio-pci, reprobed. Throws pt::Error when the selector matches no device or, with `now`, a
// running VM has reserved a device. Returns an empty plan when nothing is bound.
edit::Plan plan_unbind(const model::Host& model, const UnbindRequest& request);

} // namespace pt::driver
