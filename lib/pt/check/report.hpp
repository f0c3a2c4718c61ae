// SPDX-License-Identifier: MIT
#pragma once

// The report of pt verify (defined in report.cpp): the checks as shown, their totals, and the text
// and JSON renderings. The checks themselves: runner.hpp (host), guest.hpp (guest),
// container.hpp (--ct).

#include "pt/out/finding.hpp"
#include "pt/out/json.hpp"
#include "pt/out/text.hpp"
#include "pt/proxmox/platform.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::check {

// pt verify: every check of the passthrough chain, read-only, through one Root. The check ids
// are stable (scripts and the man page pt-verify(1) list them):
//   cpu.virtualization kvm.device iommu.enabled iommu.interrupt-remapping cmdline.iommu
//   cmdline.invalid cmdline.configured modules.loaded modules.early-load modules.vfio-virqfd
//   initramfs.fresh gpu.select gpu.driver gpu.host-driver gpu.group-bound gpu.group-isolated
//   gpu.boot-vga gpu.reset gpu.rom vm.* mapping.* (the VM config lint and the mapping check)
//   guest.hypervisor guest.gpu-visible guest.pcie-link guest.driver guest.device-nodes
//   guest.nvidia-smi guest.host-checks boot.systemd-boot-meta (PVE 9 only)
//   ct.config ct.host-driver ct.device-nodes ct.config-nodes ct.nvidia-userspace (--ct)

// One check as shown: the finding (the JSON object) and the words after "Checking ".
struct Check {
    std::string what; // "CPU virtualization flag (vmx/svm)", "0000:0b:00.0 driver in use"
    Finding finding;
    std::optional<Layers> layers = std::nullopt; // set where the check is about boot state
};

struct Summary {
    int pass = 0;
    int warn = 0;
    int fail = 0;
    int skip = 0;
};

struct Report {
    std::vector<Check> checks;      // in a fixed order: area by area, devices by address
    std::vector<std::string> notes; // for stderr: devices the scan skipped, VM configs unread
    // The host's Proxmox VE (proxmox::read_platform), shown before the checks; the guest checks
    // leave `on_host` false and show none.
    bool on_host = false;
    std::optional<proxmox::Platform> platform;

    Summary summary() const;

    // A check's layers say a reboot would finish what is configured and staged (Layers).
    bool reboot_pending() const;

    bool failed() const { return summary().fail > 0; }
};

// {"platform": {...} (host only, proxmox::to_json), "checks": [{"id", "status", "summary",
// "evidence", "fix", "layers"?}...], "reboot_pending", "summary": {pass, warn, fail, skip}}.
// "layers" ({"configured", "staged", "running"}: true, false or null) only on the checks about
// boot state.
out::Json to_json(const Report& report);
out::Json to_json(const Layers& layers);

// "configured yes, staged yes, running no".
std::string describe(const Layers& layers);

// "Platform: ..." (host only, unless quiet), then "Checking WHAT : PASS" lines, each WARN and FAIL
// followed by its cause (the summary), the evidence and the fix; then a one-line total unless
// quiet.
std::string render_text(const Report& report, const out::TextStyle& style);

// The host's platform into `report` (platform, on_host) and, on PVE 9, boot.systemd-boot-meta:
// the systemd-boot meta package breaks upgrades there (pve-manager PVE/CLI/pve8to9.pm).
void add_platform(const host::Root& root, Report& report);

} // namespace pt::check
