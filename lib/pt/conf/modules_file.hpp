// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>
#include <vector>

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

} // namespace pt::conf
