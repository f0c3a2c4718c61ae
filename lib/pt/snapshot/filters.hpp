// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pt::snapshot {

// Pure text filters that decide what of a host file goes into a snapshot. Each takes the file's
// text and returns what is kept; none reads the host.

// The first processor's block of /proc/cpuinfo, reduced to the lines pt reads or shows:
// processor, vendor_id, cpu family, model, model name, stepping and flags (vmx/svm and
// hypervisor live there). The other CPUs' blocks are the same on the hosts pt targets and only
// add size. Returns "" when `cpuinfo` has none of those lines.
std::string reduce_cpuinfo(std::string_view cpuinfo);

// /boot/grub/grub.cfg reduced to its menu structure: the menuentry and submenu lines, their
// closing braces, `set default=`, and the `linux` and `initrd` lines (the staged command line).
// Every other line becomes empty, so line numbers stay those of the host (evidence names them);
// password and superuser lines (password_pbkdf2, set superusers) never leave the host.
std::string reduce_grub_cfg(std::string_view cfg);

// The "btime" line of /proc/stat (when the kernel booted), or "" when it has none.
std::string keep_btime(std::string_view stat);

// A container's /etc/group reduced to its render and video lines, without their members: the
// gids pt lxc writes (gid=), not who is in the groups.
std::string keep_render_video(std::string_view group);

// /etc/pve/storage.cfg reduced to each storage's header ("zfspool: local-zfs") and its path,
// pool and mountpoint lines (where a container's subvolume is): no server, user or share names.
std::string reduce_storage_cfg(std::string_view storage_cfg);

// The kernel log lines pt's checks look for: the IOMMU (DMAR, DMAR-IR, AMD-Vi, IVRS, "iommu"),
// interrupt remapping and x2apic, vfio, BAR and ROM assignment, KVM ("kvm:", kvm_amd,
// kvm_intel), "Hypervisor detected", the VGA arbiter and the boot framebuffers (efifb, simplefb,
// vesafb, sysfb), and "Command line". Every other line is
// dropped (the log also holds serial numbers, MAC addresses and mount points). Lines keep their
// "[    1.234567] " timestamp prefix.
std::string filter_kernel_log(std::string_view log);

// A VM config line whose value was replaced.
struct Redaction {
    std::string path; // the host path of the file
    int line = 0;     // 1-based
    std::string key;  // "cipassword", or "#" for a comment (notes) line
};

// The marker that replaces a redacted value.
inline constexpr std::string_view k_redacted = "[redacted by pt snapshot]";

// A Proxmox VM config (/etc/pve/nodes/*/qemu-server/N.conf) with secrets removed, line for line,
// so line numbers in findings still match the original: the value of every key that holds a
// password, a token, a secret or SSH keys (cipassword, sshkeys, and any key whose name contains
// "password", "secret" or "token") becomes k_redacted, and so does the text of every "#" line
// and "description:" value (the VM's notes, free text that people put credentials in; pt reads
// nothing there); an `args:` value keeps only its option names (see redact_args). Each
// replacement is appended to `redactions` with `path`.
std::string redact_vm_config(std::string_view text,
                             const std::string& path,
                             std::vector<Redaction>& redactions);

// /etc/pve/mapping/pci.cfg with its free text removed, line for line: the value of every
// "description" property line and of every description= in a "map" line, and the text of every
// "#" line, become k_redacted (pt reads none of them); each replacement is appended to
// `redactions` with `path` (key "description", "map" or "#").
std::string
redact_mapping(std::string_view text, const std::string& path, std::vector<Redaction>& redactions);

// Why pt snapshot never takes `host_path` (a path as the host has it, whether asked for or
// reached through links), or "" when it may. Refused: private keys and the folders that hold
// them (/etc/pve/priv, /etc/ssh, /etc/ssl/private, /etc/corosync/authkey, any file named
// *.key or *.pem), password files (/etc/shadow, /etc/gshadow and their "-" backups,
// /etc/security/opasswd), users' private folders (/root, /home), the pmxcfs database
// (/var/lib/pve-cluster, which holds /etc/pve/priv too), and process environments and memory
// (/proc/*/environ, /proc/*/mem, /proc/kcore). A folder refuses everything under it.
std::string refusal_reason(std::string_view host_path);

// The value of a VM config's `args:` line (QEMU arguments, free text that can carry passwords,
// `-object secret,data=...` and the like) with every word that is not an option name replaced
// by k_redacted: words starting with '-' are kept up to an '=' in them, and so is the word
// after -cpu/--cpu (pt's lint reads -cpu; CPU models and flags hold no secret), and the driver
// name of a -device (isa-applesmc marks a macOS guest), not its properties. Words are split
// like a shell line (quotes group, and a word kept whole keeps them). Returns the value unchanged
// when it has nothing to redact.
std::string redact_args(std::string_view value);

// The romfile= values of a VM config's hostpciN lines ("hostpci0: 0000:01:00,romfile=gpu.rom"),
// in order, without duplicates. Values with a "/" or ".." are left out: qemu-server always puts
// them under /usr/share/kvm/ (see ground truth §1.5), so they name no file there worth taking.
std::vector<std::string> romfiles(std::string_view vm_config);

} // namespace pt::snapshot
