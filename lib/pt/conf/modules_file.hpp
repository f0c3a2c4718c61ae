// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::conf {

// Module list files: /etc/modules (systemd-modules-load), /etc/initramfs-tools/modules
// (mkinitramfs), /etc/modules-load.d/*.conf. One module name per line, optionally followed by
// arguments; '#' (and ';' in modules-load.d) start comments.

// The module names, normalised ('-' -> '_'), in file order.
std::vector<std::string> parse_modules(std::string_view text);

// `text` with each module of `add` appended on its own line unless already listed, and every
// line that names a module of `remove` deleted. Every other byte is kept, including comments and
// the presence or absence of a final newline (an append onto a file without one adds it first).
std::string with_modules(std::string_view text,
                         const std::vector<std::string>& add,
                         const std::vector<std::string>& remove);

// systemd-modules-load's folders (modules-load.d(5)), in precedence order: a file in an earlier
// folder hides a same-named one in a later folder.
inline constexpr std::string_view k_modules_load_dirs[] = {
    "/etc/modules-load.d",
    "/run/modules-load.d",
    "/usr/local/lib/modules-load.d",
    "/usr/lib/modules-load.d",
    "/lib/modules-load.d",
};

// One list of modules to load at boot, and who loads it.
struct ModuleList {
    std::string path;                 // "/etc/modules-load.d/pt-vfio.conf", "/etc/modules"
    std::vector<std::string> modules; // normalised
    bool initramfs = false;           // /etc/initramfs-tools/modules: loaded in the initramfs
};

// Every list that counts: the *.conf files of k_modules_load_dirs (hidden ones left out),
// /etc/modules (Debian's kmod reads it through the link modules-load.d/modules.conf; pt reads
// it even without that link, as older systems did), and /etc/initramfs-tools/modules. A file
// reached twice through links is listed once.
std::vector<ModuleList> read_module_lists(const host::Root& root);

} // namespace pt::conf
