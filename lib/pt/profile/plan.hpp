// SPDX-License-Identifier: MIT
#pragma once

#include "pt/profile/profile.hpp"
#include "pt/setup/plan.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pt::model {
class Host;
}

namespace pt::profile {

// One way the host differs from its profile (pt profile --check, JSON "drift").
struct Drift {
    std::string what;     // "hardware", "vfio-pci: /etc/modprobe.d/pt-vfio.conf", a verify check
    std::string expected; // what the profile asks for
    std::string found;    // what the host has
    std::string fix;      // the command that makes it match
};

// Where the profile's card is on this host now.
struct Located {
    pci::Address slot;                      // where it is
    std::optional<pci::Address> moved_from; // the profile's address, when the card moved
    std::string name;                       // "GeForce RTX 3090" (pci.ids), else the profile's
};

struct Planned {
    std::string node;                         // this node's name: the section planned
    std::vector<const Device*> devices;       // the section's cards, in its order
    std::vector<Located> located;             // where each is now
    std::vector<const Container*> containers; // the section's containers, in its order
    std::vector<Located> container_located;   // where each one's card is now
    setup::Request request;                   // the chain asked of pt setup, a card per device
    setup::Planned setup;        // the chain, as pt setup plans it, on the cards where they are now
    std::vector<Drift> hardware; // a card moved: said before the plan
};

// This node's section of `profile`, each card found (at the profile's address, else by its IDs
// anywhere on the host) and the chain planned for them all as `pt setup` would, with the kernel
// options and uses of the profile; a moved card re-targets its VM's entry. `file` is the
// profile's path (for commands in messages), `title` the journal's title.
// Throws pt::Error when the profile has no section for this node, the section names no card,
// or a card is on no address of this host (or on several); and whatever pt setup refuses, for
// its reasons.
Planned plan_profile(const model::Host& host,
                     const Profile& profile,
                     const std::string& file,
                     const std::string& title,
                     std::int64_t time);

// pt profile FILE --check: whether the host's configuration matches the profile.
struct CheckResult {
    std::string node;
    bool converged = false;
    // Configured and staged as the profile says, waiting for a reboot to be running.
    bool reboot_pending = false;
    std::vector<Drift> drift;
};

// The configured layer (the files the plan would change, one drift per file, and a card that
// moved), then the staged layer (pt verify's checks whose files are configured but not in the
// next boot's initramfs or grub.cfg); reboot_pending from the running layer (the card not on
// vfio-pci yet, a command line the running kernel did not boot with). A card that is nowhere
// on the host is drift, not an error. Throws pt::Error for what plan_profile throws otherwise.
CheckResult check_profile(const model::Host& host,
                          const Profile& profile,
                          const std::string& file,
                          std::int64_t time);

// The profile that describes what `pt setup` planned: this node's section with the card, its
// IDs and name, and the request's use and options. The other nodes of `existing` are kept, and
// so are the other cards of this node's section that are on this host (two runs of pt setup for
// two cards describe both); an entry for the planned card (at its address, or found there by
// its IDs) is replaced, and one whose card is on no address of this host is dropped, each named
// in `dropped` ("0000:05:00 (10de:1b80) for VM 101: not on this host").
struct Described {
    Profile profile;
    std::vector<std::string> dropped;
};

Described describe_setup(const model::Host& host,
                         const setup::Request& request,
                         const setup::Planned& planned,
                         const std::optional<Profile>& existing);

// This node's name (proxmox::local_node); throws pt::Error when the root does not say it.
std::string this_node(const model::Host& host);

} // namespace pt::profile
