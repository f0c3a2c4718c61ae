// SPDX-License-Identifier: MIT
#pragma once

#include "pt/boot/config.hpp"
#include "pt/boot/initramfs.hpp"
#include "pt/conf/module_config.hpp"
#include "pt/conf/modules_file.hpp"
#include "pt/host/root.hpp"
#include "pt/iommu/groups.hpp"
#include "pt/kernel/host_facts.hpp"
#include "pt/kernel/kernel_log.hpp"
#include "pt/pci/topology.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::model {

// What the next boot's initramfs holds, read from the image itself.
struct StagedInitramfs {
    std::string kernel;                         // "6.8.12-4-pve"
    std::string path;                           // "/boot/initrd.img-6.8.12-4-pve"
    std::string chosen_because;                 // "the newest installed kernel", "proxmox-boot-pin"
    std::optional<boot::Initramfs> image;       // nullopt: there is no image file
    std::optional<conf::ModuleConfig> modprobe; // the image's modprobe.d files; nullopt: unreadable
    std::vector<std::string> modules; // conf/modules: what the initramfs loads, normalised

    // The image could be read completely.
    bool readable() const { return image && !image->error; }

    // The image holds the module (a NAME.ko, .ko.zst, .ko.xz or .ko.gz member; '-' and '_'
    // alike). False when unreadable.
    bool has_module(std::string_view name) const;

    // The text of a member ("etc/modprobe.d/pt-vfio.conf"), when the image holds it.
    std::optional<std::string> member_text(std::string_view member_path) const;
};

// One model of the host, read once per command through one Root: every check of `pt verify`
// (and, step by step, every planner) asks it instead of reading files its own way. Each part is
// read on first use and kept. Boot-relevant facts come in three layers:
//   configured: the files (the bootloader's command line, modprobe.d, module lists);
//   staged:     what the next boot's initramfs actually contains;
//   running:    /proc and sysfs.
class Host {
public:
    explicit Host(host::Root root);

    const host::Root& root() const { return m_root; }

    // ---- running ---------------------------------------------------------------------
    const kernel::HostFacts& facts() const;
    const pci::Topology& topology() const;
    const iommu::IommuState& iommu() const;
    // Module names of /proc/modules (normalised); nullopt when the file is missing.
    const std::optional<std::vector<std::string>>& proc_modules() const;
    // Loaded: listed in /proc/modules or built in (/sys/module/NAME). nullopt: unknown.
    std::optional<bool> module_loaded(std::string_view name) const;
    const kernel::KernelLog& log() const;
    const kernel::KernelLogFacts& log_facts() const; // empty when the log is unavailable
    // When the running kernel booted (/proc/stat "btime", seconds since the epoch); nullopt when
    // unknown. A file changed after it cannot have been used by this boot.
    std::optional<std::int64_t> booted_at() const;
    // The module configuration as it applies to a module loaded now: today's files with
    // /proc/cmdline.
    const conf::ModuleConfig& modprobe_running() const;

    // ---- configured ------------------------------------------------------------------
    // The files that hold the kernel command line (configured), and grub.cfg (staged).
    const boot::BootFiles& boot_files() const;
    // The bootloader and the command line in its layers: configured, staged (plain GRUB's
    // grub.cfg) and running.
    const boot::Status& boot() const;
    // The command line the next boot gets: the configured one, else the running one.
    const std::vector<kernel::Param>& next_cmdline() const;
    // The module configuration the next boot applies: the files with next_cmdline().
    const conf::ModuleConfig& modprobe_configured() const;
    const std::vector<conf::ModuleList>& module_lists() const;
    // Release names under /lib/modules, oldest first (version order).
    const std::vector<std::string>& installed_kernels() const;

    // ---- staged ----------------------------------------------------------------------
    // The initramfs of the kernel the next boot starts; nullopt when no kernel is installed.
    const std::optional<StagedInitramfs>& staged() const;

private:
    host::Root m_root;
    mutable std::optional<kernel::HostFacts> m_facts;
    mutable std::optional<pci::Topology> m_topology;
    mutable std::optional<iommu::IommuState> m_iommu;
    mutable std::optional<std::optional<std::vector<std::string>>> m_proc_modules;
    mutable std::optional<std::optional<std::int64_t>> m_booted_at;
    mutable std::optional<kernel::KernelLog> m_log;
    mutable std::optional<kernel::KernelLogFacts> m_log_facts;
    mutable std::optional<conf::ModuleConfig> m_modprobe_running;
    mutable std::optional<boot::BootFiles> m_boot_files;
    mutable std::optional<boot::Status> m_boot;
    mutable std::optional<std::vector<kernel::Param>> m_next_cmdline;
    mutable std::optional<conf::ModuleConfig> m_modprobe_configured;
    mutable std::optional<std::vector<conf::ModuleList>> m_module_lists;
    mutable std::optional<std::vector<std::string>> m_kernels;
    mutable std::optional<std::optional<StagedInitramfs>> m_staged;
};

// Orders kernel release names as versions: "6.8.12-4-pve" < "6.8.12-10-pve" < "6.14.8-2-pve".
bool release_less(std::string_view a, std::string_view b);

} // namespace pt::model
