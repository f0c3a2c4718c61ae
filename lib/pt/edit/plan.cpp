// SPDX-License-Identifier: MIT
#include "pt/edit/plan.hpp"

#include <algorithm>

namespace pt::edit {

std::string_view command_line(FollowUp follow_up) {
    switch (follow_up) {
    case FollowUp::update_initramfs:
        return "update-initramfs -u -k all";
    case FollowUp::update_grub:
        return "update-grub";
    case FollowUp::proxmox_boot_refresh:
        return "proxmox-boot-tool refresh";
    }
    return {};
}

void add_file(Plan& plan, FileEdit edit) {
    const auto same = std::find_if(plan.files.begin(), plan.files.end(), [&](const FileEdit& f) {
        return f.path == edit.path;
    });
    if (same != plan.files.end()) {
        edit.before = same->before;
        plan.files.erase(same);
    }
    if (edit.after != edit.before) {
        plan.files.push_back(std::move(edit));
    }
}

void add_follow_up(Plan& plan, FollowUp follow_up) {
    if (std::find(plan.follow_ups.begin(), plan.follow_ups.end(), follow_up)
        == plan.follow_ups.end()) {
        plan.follow_ups.push_back(follow_up);
    }
}

FileAction action_of(const FileEdit& edit) {
    if (!edit.before) {
        return FileAction::create;
    }
    return edit.after ? FileAction::modify : FileAction::remove;
}

std::string_view to_string(FileAction action) {
    switch (action) {
    case FileAction::create:
        return "create";
    case FileAction::modify:
        return "modify";
    case FileAction::remove:
        return "remove";
    }
    return {};
}

} // namespace pt::edit
