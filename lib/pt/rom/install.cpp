// SPDX-License-Identifier: MIT
#include "pt/rom/install.hpp"

#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/host/write.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pt::rom {

std::string rom_file_name(std::string_view name) {
    const bool plain =
        !name.empty() && name.front() != '.' && std::all_of(name.begin(), name.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                   || c == '.' || c == '_' || c == '-';
        });
    if (!plain) {
        throw UsageError(fmt::format("--install {:?}: use a plain file name (letters, digits, '.', "
                                     "'_', '-'), e.g. --install rtx3070; pt writes it to {}/",
                                     name,
                                     k_rom_dir));
    }
    std::string file(name);
    if (!file.ends_with(".rom")) {
        file += ".rom";
    }
    return file;
}

std::string romfile_fragment(std::string_view name) {
    return "romfile=" + rom_file_name(name);
}

edit::Plan plan_install(const host::Root& root,
                        std::span<const std::uint8_t> bytes,
                        std::string_view name,
                        std::string title) {
    const std::string file = rom_file_name(name);
    const std::string path = host::join(k_rom_dir, file);
    edit::Plan plan;
    plan.title = std::move(title);
    edit::FileEdit edit;
    edit.path = path;
    edit.before = host::read_if_exists(root, path);
    edit.after = std::string(bytes.begin(), bytes.end());
    edit.mode = 0644;
    edit.reason = fmt::format("the option ROM for hostpciN: ...,{}", romfile_fragment(name));
    edit::add_file(plan, std::move(edit));
    plan.notes.push_back(fmt::format("use it with: pt vmconf VMID --romfile {} (hostpciN: ...,{})",
                                     file,
                                     romfile_fragment(name)));
    return plan;
}

} // namespace pt::rom
