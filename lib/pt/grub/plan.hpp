// SPDX-License-Identifier: MIT
#pragma once

#include "pt/boot/config.hpp"
#include "pt/boot/detect.hpp"
#include "pt/conf/kernel_cmdline_file.hpp"
#include "pt/edit/plan.hpp"
#include "pt/kernel/cmdline.hpp"
#include "pt/kernel/host_facts.hpp"
#include "pt/out/finding.hpp"
#include "pt/pci/selector.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::model {
class Host;
}

namespace pt::grub {

// What `pt grub` is asked to put on (or take off) the kernel command line. The defaults (what
// this CPU vendor and kernel need, ground-truth §5) always apply; the options add to them.
struct Request {
    bool iommu_pt = false;                   // --iommu-pt: iommu=pt
    bool sysfb_off = false;                  // --sysfb-off: initcall_blacklist=sysfb_init
    std::vector<pci::Selector> vfio_devices; // --vfio-ids SEL: vfio-pci.ids= of their groups
    bool acs_override = false;               // --acs-override
    std::vector<kernel::Param> add;          // --add PARAM
    std::vector<kernel::Param> remove;       // --remove PARAM

    // True when anything beyond the defaults was asked for.
    bool any_option() const;
};

// Parses the PARAM of --add / --remove: exactly one kernel parameter ("iommu=pt", "quiet"),
// without quotes, backslashes, '$' or backticks (pt writes values inside the file's own quotes),
// without ';', '&', '|', '<', '>' or control characters (they end a command or redirect in
// /bin/sh and in GRUB's grub.cfg, where the parameter goes unquoted), not starting with '#' (a
// comment in grub.cfg). Throws pt::UsageError naming `flag` and the reason otherwise.
kernel::Param parse_request_param(std::string_view text, std::string_view flag);

// Why `name` is one pt never adds, changes or removes (root, BOOT_IMAGE, initrd: the boot loader
// or proxmox-boot-tool writes them itself, and a second or missing one breaks or changes the
// boot); nullopt for any other parameter. The same rule for GRUB and systemd-boot.
std::optional<std::string> reserved_param_reason(std::string_view name);

// Throws pt::UsageError when the request names a reserved parameter (reserved_param_reason) in
// --add or --remove, or contradicts itself (the same parameter added and removed, --add
// vfio-pci.ids= together with --vfio-ids, ...).
void check_request(const Request& request);

// The ops for the defaults, pure over the host facts and the configured command line:
//   Intel, kernel older than 6.8 (or unknown): set intel_iommu=on; the Intel IOMMU is on by
//     default from Proxmox kernel 6.8 (pve-docs), so on 6.8+ only an intel_iommu=off is turned
//     back on.
//   AMD: never amd_iommu=on (not a value the kernel knows: "AMD-Vi: Unknown option - 'on'"); an
//     existing one is removed. The AMD IOMMU is on when the firmware enables it.
//   Other or unknown CPU: nothing.
std::vector<conf::ParamOp> default_ops(const kernel::HostFacts& facts,
                                       const std::vector<kernel::Param>& configured);

// The ops for the options, in a fixed order (iommu=pt, sysfb, acs, --add, --remove); --vfio-ids
// is resolved by the planner, which needs the PCI topology.
std::vector<conf::ParamOp> option_ops(const Request& request);

// One parameter-level change of a plan, with its place.
struct PlannedChange {
    conf::ParamChange change;
    std::string path;     // "/etc/default/grub"
    std::size_t line = 0; // line of the assignment, or 1 for /etc/kernel/cmdline
};

struct Planned {
    edit::Plan plan;
    boot::Detection detection;
    std::vector<PlannedChange> changes;
    std::vector<std::string> warnings; // for stderr: --acs-override, --vfio-ids matching more
    // The command line the next boot gets once the plan is written.
    std::vector<kernel::Param> next_cmdline;
    // The devices whose IDs --vfio-ids puts on the command line, selected or not.
    std::vector<pci::Address> vfio_devices;
};

// The command line `before` with the changes made: added parameters appended, replaced ones
// given their new value, removed ones dropped.
std::vector<kernel::Param> apply_changes(std::vector<kernel::Param> before,
                                         const std::vector<PlannedChange>& changes);

// The planner, a function of the host model: the detected bootloader, the configuration that
// holds the command line (GRUB: /etc/default/grub then /etc/default/grub.d/*.cfg; systemd-boot:
// the first line of /etc/kernel/cmdline, or /proc/cmdline minus initrd= when that file is
// missing), the CPU and kernel, and the PCI topology and IOMMU groups for --vfio-ids. It applies
// the defaults and the request, and plans the file edits with the follow-up (update-grub for plain
// GRUB, proxmox-boot-tool refresh under proxmox-boot-tool) and reboot_needed. A request that is
// already satisfied plans nothing. Reads only.
// Throws pt::Error when the bootloader is unknown, when /etc/default/grub is missing on a GRUB
// host, when a file holds shell pt cannot follow (naming the file and line), or when
// /etc/kernel/cmdline would lack root=; pt::UsageError for a bad request or a --vfio-ids
// selector that matches nothing.
Planned plan_cmdline_changes(const model::Host& host, const Request& request);

// plan_cmdline_changes(host, request).plan.
edit::Plan plan_cmdline(const model::Host& host, const Request& request);

} // namespace pt::grub
