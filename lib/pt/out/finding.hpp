// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>

// The vocabulary of every check and lint of pt, below both lib/pt/check (pt verify) and
// lib/pt/proxmox, lib/pt/rom (the VM config lint, the mapping and ROM checks), so that none of
// them depends on another's folder.
namespace pt::out {

// The outcome of one check. The words are the JSON schema of `pt verify` and `pt vmconf
// --check`; scripts compare them.
enum class Status { pass, warn, fail, skip };

constexpr std::string_view to_string(Status status) {
    switch (status) {
    case Status::pass:
        return "pass";
    case Status::warn:
        return "warn";
    case Status::fail:
        return "fail";
    case Status::skip:
        return "skip";
    }
    return "fail";
}

// Which layers of the host hold a boot-relevant requirement (pt-verify(1), LAYERS): the files
// (configured), what the next boot's initramfs or boot loader configuration contains (staged),
// and the running kernel (running). nullopt: pt cannot tell.
struct Layers {
    std::optional<bool> configured;
    std::optional<bool> staged;
    std::optional<bool> running;

    // Configured and staged (or not stageable) but not running yet: a reboot would finish it.
    bool reboot_pending() const {
        return configured == true && staged != false && running == false;
    }
};

// One result that a person can act on: what was checked or found, what pt saw, and the exact
// fix. Producers: the VM config lint (lib/pt/proxmox), the mapping check, the ROM checks and
// every host and guest check of `pt verify` (lib/pt/check).
struct Finding {
    std::string id; // stable, listed in the man page: "vm.pcie-without-q35", "iommu.enabled"
    Status status = Status::pass;
    std::string summary;  // one line: what was checked, or what is wrong
    std::string evidence; // the file or device and the value seen ("/proc/cmdline: ...")
    std::string fix;      // the exact command or edit; empty when there is nothing to do
};

} // namespace pt::out

// The checks and lints name them as check::Finding, check::Status, check::Layers.
namespace pt::check {
using out::Finding;
using out::Layers;
using out::Status;
using out::to_string;
} // namespace pt::check
