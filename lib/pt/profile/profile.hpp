// SPDX-License-Identifier: MIT
#pragma once

#include "pt/pci/address.hpp"
#include "pt/proxmox/vmconf_plan.hpp"
#include "pt/setup/plan.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::profile {

// A profile: the GPU passthrough state a host (or every node of a cluster) should have, as a
// YAML file (pt-profile(5)). `pt setup ... --save FILE` writes one; `pt profile FILE` plans what
// makes the host match it, `--apply` applies that plan, `--check` says whether the host matches.

// A card, and how to recognise it after it moved to another address (a BIOS update or a new
// card in another slot renumbers buses): its IDs, which stay.
struct CardIdentity {
    pci::Address slot; // function 0 of the slot the card was at when the profile was written
    std::uint16_t vendor = 0;
    std::uint16_t device = 0;
    std::optional<std::uint16_t> subsystem_vendor; // with subsystem_device: tells apart
    std::optional<std::uint16_t> subsystem_device; // cards of the same chip from other boards
    std::string name;                              // for people ("GeForce RTX 3090"); optional
    // The physical slot the card was in (pci::Device::physical_slot): among cards with its IDs,
    // the one in this slot is the card, wherever the buses put it.
    std::optional<std::string> physical_slot;
};

// One card handed to one VM (vfio-pci), and how the VM uses it.
struct Device : CardIdentity, setup::VmUse {
    bool include_group = false;
    bool force = false;
};

// Kernel options beyond what the CPU and kernel need (those pt grub adds by itself).
struct Kernel {
    bool iommu_pt = false;
    bool sysfb_off = false;
    std::vector<std::string> add; // "PARAM" or "PARAM=VALUE", as pt grub --add
};

// One card that the host's driver keeps, shared into one container through its device nodes
// (pt lxc).
struct Container : CardIdentity {
    int ctid = 0;
};

// One node's section: its cards and containers are planned as one chain (see pt-profile(5)).
struct Node {
    Kernel kernel;
    std::vector<Device> devices;
    std::vector<Container> containers;
};

struct Profile {
    std::map<std::string, Node> nodes; // by node name (the short host name, as pmxcfs names it)
};

// The version this pt reads and writes (`version: 1`).
inline constexpr int k_version = 1;

// Parses a profile. `source` names the file in messages. Throws pt::UsageError naming the
// source, the line and what is wrong (an unknown key, a malformed address, ID or VMID, a missing
// `version` or `nodes`, a version this pt does not know), so a typo is never silently ignored.
Profile parse(std::string_view text, std::string_view source);

// The profile as YAML, in the order and spelling parse() reads, with a header comment that says
// what the file is; parse(to_yaml(p)) == p.
std::string to_yaml(const Profile& profile);

// "10de:2204".
std::string format_id(std::uint16_t vendor, std::uint16_t device);

// The profile file at `path` on the machine pt runs on (not under --root): the user's file, like
// the archive of pt snapshot. Throws pt::Error naming the path when it cannot be read.
std::string read_file(const std::string& path);

// Writes `profile` (to_yaml) to `path` on the machine pt runs on, atomically (pt setup --save).
// Throws pt::Error naming the path when it cannot be written.
void save(const std::string& path, const Profile& profile);

// The profile at `path` when the file exists (pt setup --save keeps the other nodes' sections),
// else nullopt. Throws what read_file and parse throw for a file that exists.
std::optional<Profile> load_if_exists(const std::string& path);

} // namespace pt::profile
