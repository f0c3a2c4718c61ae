// SPDX-License-Identifier: MIT
#pragma once

#include "pt/edit/plan.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace pt::host {
class Root;
}

namespace pt::rom {

// Where Proxmox VE looks for a hostpci romfile= given without a path (ground-truth §1).
inline constexpr std::string_view k_rom_dir = "/usr/share/kvm";

// The file name for `pt rom-dump --install NAME`: "NAME.rom" ("NAME" may already end in .rom).
// Throws pt::UsageError unless NAME is a plain file name of letters, digits, '.', '_', '-' that
// does not start with '.' (it ends up in a VM config line, where ',' and '=' would break it).
std::string rom_file_name(std::string_view name);

// The plan that writes `bytes` to /usr/share/kvm/<rom_file_name(name)> (mode 0644), through
// the plan/apply engine: shown as a diff without --apply, written atomically with a journal entry
// (pt undo) with it. Empty when the file already holds exactly these bytes. Its notes carry the
// romfile= fragment for pt vmconf --romfile. `title` is the command line for the journal.
edit::Plan plan_install(const host::Root& root,
                        std::span<const std::uint8_t> bytes,
                        std::string_view name,
                        std::string title);

// "romfile=NAME.rom": what a hostpciN line (pt vmconf --romfile) takes.
std::string romfile_fragment(std::string_view name);

} // namespace pt::rom
