// SPDX-License-Identifier: MIT
#include "pt/profile/plan.hpp"

#include "pt/check/runner.hpp"
#include "pt/driver/bind.hpp"
#include "pt/error.hpp"
#include "pt/grub/plan.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/names.hpp"
#include "pt/pci/topology.hpp"
#include "pt/proxmox/vm_config.hpp"
#include "pt/proxmox/vm_files.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

namespace pt::profile {
namespace {

const Node& node_section(const Profile& profile, const std::string& node, const std::string& file) {
    const auto it = profile.nodes.find(node);
    if (it != profile.nodes.end()) {
        return it->second;
    }
    std::vector<std::string> names;
    for (const auto& [name, section] : profile.nodes) {
        names.push_back(name);
    }
    throw Error(
        fmt::format("the profile {} has no section for this node, {} (it has: {}); add "
                    "one, or write it on this node with pt setup SEL --vm VMID --save {}",
                    file,
                    node,
                    names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", ")),
                    file));
}

const Device& the_device(const Node& section, const std::string& node, const std::string& file) {
    if (section.devices.size() != 1) {
        throw Error(fmt::format("node {} of the profile {} names {} cards; this version of pt "
                                "plans exactly one card per node (pt-profile(5)): keep one "
                                "there and pass others with pt setup",
                                node,
                                file,
                                section.devices.size()));
    }
    return section.devices.front();
}

bool same_card(const pci::Device& dev, const Device& wanted) {
    if (dev.vendor != wanted.vendor || dev.device != wanted.device) {
        return false;
    }
    // Without subsystem IDs in the profile, any card of the chip is the card.
    return !wanted.subsystem_vendor
           || (dev.subsystem_vendor == wanted.subsystem_vendor
               && dev.subsystem_device == wanted.subsystem_device);
}

std::string identity(const Device& wanted) {
    std::string text = format_id(wanted.vendor, wanted.device);
    if (wanted.subsystem_vendor && wanted.subsystem_device) {
        text += " subsystem " + format_id(*wanted.subsystem_vendor, *wanted.subsystem_device);
    }
    return wanted.name.empty() ? text : fmt::format("{} ({})", wanted.name, text);
}

// The card with the profile's IDs in the profile's physical slot, wherever the buses put it.
std::optional<pci::Address> in_physical_slot(const pci::Topology& topology, const Device& wanted) {
    if (!wanted.physical_slot) {
        return std::nullopt;
    }
    for (const auto& dev : topology.devices) {
        if (dev.address.function == 0 && dev.physical_slot == wanted.physical_slot
            && same_card(dev, wanted)) {
            return dev.address;
        }
    }
    return std::nullopt;
}

// The card in the profile's physical slot when the profile names one and the card is there
// (identical cards whose buses were swapped are told apart only so); else the card at the
// profile's address; else the one card with its IDs elsewhere. nullopt with `why` set when it
// is nowhere, or on several slots.
std::optional<Located>
locate(const pci::Topology& topology, const Device& wanted, std::string& why) {
    if (const auto slot = in_physical_slot(topology, wanted)) {
        const auto moved_from =
            *slot == wanted.slot ? std::nullopt : std::optional<pci::Address>(wanted.slot);
        return Located{*slot, moved_from, wanted.name};
    }
    const auto* here = topology.find(wanted.slot);
    if (here && same_card(*here, wanted)) {
        return Located{wanted.slot, std::nullopt, wanted.name};
    }
    std::vector<pci::Address> elsewhere;
    for (const auto& dev : topology.devices) {
        if (dev.address.function == 0 && same_card(dev, wanted)) {
            elsewhere.push_back(dev.address);
        }
    }
    const std::string at_address = here ? fmt::format("{} holds {} now",
                                                      pci::format_slot(wanted.slot),
                                                      format_id(here->vendor, here->device))
                                        : fmt::format("{} is empty", pci::format_slot(wanted.slot));
    if (elsewhere.size() == 1) {
        return Located{elsewhere.front(), wanted.slot, wanted.name};
    }
    if (elsewhere.empty()) {
        why = fmt::format("the {} that the profile names at {} is not on this host ({}, and no "
                          "other slot has those IDs)",
                          identity(wanted),
                          pci::format_slot(wanted.slot),
                          at_address);
    } else {
        std::vector<std::string> slots;
        for (const auto& slot : elsewhere) {
            slots.push_back(pci::format_slot(slot));
        }
        why = fmt::format("the {} that the profile names at {} is not there ({}), and {} "
                          "cards have its IDs ({}){}",
                          identity(wanted),
                          pci::format_slot(wanted.slot),
                          at_address,
                          elsewhere.size(),
                          fmt::join(slots, ", "),
                          wanted.physical_slot ? fmt::format(
                              ", none of them in its physical slot {}", *wanted.physical_slot)
                                               : std::string());
    }
    return std::nullopt;
}

// The VM's hostpci entries that still pass `slot` ("hostpci0").
std::vector<std::string>
entries_passing(const host::Root& root, int vmid, const pci::Address& slot) {
    std::vector<std::string> keys;
    const auto vm = proxmox::find_vm(root, vmid);
    const auto text = root.read_file_if_exists(vm.path);
    if (!text) {
        return keys;
    }
    const auto config = proxmox::VmConfig::parse(*text);
    for (const auto& option : config.effective_options()) {
        if (!proxmox::hostpci_index(option.key)) {
            continue;
        }
        const auto hostpci = proxmox::parse_hostpci(option.value);
        if (std::any_of(hostpci.hosts.begin(), hostpci.hosts.end(), [&](const auto& id) {
                return id.address.same_slot(slot);
            })) {
            keys.push_back(option.key);
        }
    }
    return keys;
}

// Other VMs of this node that pass the slot the card moved to (they passed another card there).
std::vector<std::string> other_vms_at(const host::Root& root, const pci::Address& slot, int vmid) {
    std::vector<std::string> others;
    for (const auto& [other, key] : proxmox::vms_passing(root, slot)) {
        if (other != vmid) {
            others.push_back(fmt::format("VM {} ({})", other, key));
        }
    }
    return others;
}

// The pt setup command that writes the profile's device again at `slot` (the kernel options of
// the node's section stay, see describe_setup).
std::string save_command(const Device& wanted, const pci::Address& slot, const std::string& file) {
    std::string command = fmt::format("pt setup {} --vm {}", pci::format_slot(slot), wanted.vmid);
    const std::pair<const char*, bool> flags[] = {
        {" --display", wanted.role == proxmox::GpuRole::display},
        {" --keep-cpu", wanted.keep_cpu},
        {" --ovmf", wanted.ovmf},
        {" --set-machine", wanted.set_machine},
        {" --include-group", wanted.include_group},
        {" --force", wanted.force}};
    for (const auto& [flag, on] : flags) {
        if (on) {
            command += flag;
        }
    }
    if (wanted.mapping) {
        command += " --mapping " + *wanted.mapping;
    }
    return command + " --save " + file;
}

Drift moved_drift(const model::Host& host,
                  const Device& wanted,
                  const Located& located,
                  const std::string& file) {
    std::string found = fmt::format("at {}", pci::format_slot(located.slot));
    if (const auto* card = host.topology().find(located.slot); card && card->physical_slot) {
        found += fmt::format(" (physical slot {})", *card->physical_slot);
    }
    const auto stale = entries_passing(host.root(), wanted.vmid, *located.moved_from);
    if (!stale.empty()) {
        found += fmt::format("; VM {} still points at {} ({})",
                             wanted.vmid,
                             pci::format_slot(*located.moved_from),
                             fmt::join(stale, ", "));
    }
    const auto others = other_vms_at(host.root(), located.slot, wanted.vmid);
    if (!others.empty()) {
        found += fmt::format("; {} pass{} {} too",
                             fmt::join(others, ", "),
                             others.size() == 1 ? "es" : "",
                             pci::format_slot(located.slot));
    }
    return Drift{"hardware",
                 fmt::format("the {} at {}", identity(wanted), pci::format_slot(wanted.slot)),
                 std::move(found),
                 fmt::format("pt profile {} --apply (re-targets the card at {}), then {}",
                             file,
                             pci::format_slot(located.slot),
                             save_command(wanted, located.slot, file))};
}

grub::Request kernel_request(const Kernel& kernel) {
    grub::Request request;
    request.iommu_pt = kernel.iommu_pt;
    request.sysfb_off = kernel.sysfb_off;
    for (const auto& text : kernel.add) {
        request.add.push_back(grub::parse_request_param(text, "kernel add"));
    }
    grub::check_request(request);
    return request;
}

setup::Request setup_request(const Device& wanted,
                             const Kernel& kernel,
                             const Located& located,
                             const std::string& title,
                             std::int64_t time) {
    setup::Request request;
    request.selector = pci::format_slot(located.slot);
    request.vmid = wanted.vmid;
    request.role = wanted.role;
    request.keep_cpu = wanted.keep_cpu;
    request.ovmf = wanted.ovmf;
    request.set_machine = wanted.set_machine;
    request.mapping = wanted.mapping;
    request.include_group = wanted.include_group;
    request.force = wanted.force;
    request.time = time;
    request.title = title;
    request.kernel = kernel_request(kernel);
    request.moved_from = located.moved_from;
    return request;
}

// The lines of `text` that hold settings (no comments, no line endings).
std::vector<std::string> lines_of(const std::optional<std::string>& text) {
    std::vector<std::string> lines;
    std::string_view rest = text ? std::string_view(*text) : std::string_view();
    while (!rest.empty()) {
        const auto end = rest.find('\n');
        const auto line = rest.substr(0, end);
        // Comments say nothing about the state; pt's own files start with several.
        if (!line.empty() && !line.starts_with('#')) {
            lines.emplace_back(line);
        }
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }
    return lines;
}

// "a; b; c (and 2 more)": what one side of a file's change holds.
std::string summarise_lines(const std::vector<std::string>& lines) {
    constexpr std::size_t k_shown = 3;
    std::vector<std::string> shown(
        lines.begin(), lines.begin() + static_cast<long>(std::min(lines.size(), k_shown)));
    std::string text = fmt::format("{}", fmt::join(shown, "; "));
    if (lines.size() > k_shown) {
        text += fmt::format(" (and {} more)", lines.size() - k_shown);
    }
    return text;
}

// One drift per file the plan changes: the lines the profile wants that the file lacks, and
// the lines it has that the profile's plan takes out.
void configured_drift(const setup::Planned& planned,
                      bool moved,
                      const std::string& file,
                      std::vector<Drift>& drift) {
    for (const auto& step : planned.steps) {
        for (const auto& edit : step.plan.files) {
            const auto before = lines_of(edit.before);
            const auto after = lines_of(edit.after);
            std::vector<std::string> wanted;
            std::vector<std::string> unwanted;
            for (const auto& line : after) {
                if (std::find(before.begin(), before.end(), line) == before.end()) {
                    wanted.push_back(line);
                }
            }
            for (const auto& line : before) {
                if (std::find(after.begin(), after.end(), line) == after.end()) {
                    unwanted.push_back(line);
                }
            }
            Drift item;
            item.what = fmt::format("{}: {}", step.name, edit.path);
            item.expected = !edit.after      ? std::string("no such file")
                            : wanted.empty() ? std::string("none of the lines found")
                                             : summarise_lines(wanted);
            item.found = !edit.before       ? std::string("no such file")
                         : unwanted.empty() ? std::string("none of the lines expected")
                                            : summarise_lines(unwanted);
            // The single command re-plans from the card's slot; a moved card needs the profile's
            // plan, which also re-points the VM's old entry.
            item.fix = moved ? fmt::format("pt profile {} --apply", file) : step.command;
            drift.push_back(std::move(item));
        }
    }
}

// pt verify's boot-state checks that are configured but not staged: update-initramfs or
// update-grub (or proxmox-boot-tool refresh) was not run after the files changed.
void staged_drift(const check::Report& report, std::vector<Drift>& drift) {
    for (const auto& check : report.checks) {
        if (!check.layers || check.layers->configured != true || check.layers->staged != false) {
            continue;
        }
        drift.push_back(Drift{"staged: " + check.finding.id,
                              fmt::format("{}: the next boot's initramfs and boot files as "
                                          "configured",
                                          check.what),
                              check.finding.summary,
                              check.finding.fix});
    }
}

// A card that moved must not leave its old address in pt bind's by-address hook: another
// device (a NIC, an NVMe drive) may sit there now, and the hook would hand it to vfio-pci at
// boot. The hook as the plan leaves it (or as it is) loses the old slot's functions.
void drop_old_address_from_hook(const model::Host& host,
                                const pci::Address& old_slot,
                                edit::Plan& plan) {
    const std::string hook(driver::k_hook);
    auto planned = std::find_if(
        plan.files.begin(), plan.files.end(), [&](const auto& file) { return file.path == hook; });
    const std::optional<std::string> text =
        planned != plan.files.end() ? planned->after : host.root().read_file_if_exists(hook);
    const auto addresses = text ? driver::parse_hook(*text) : std::nullopt;
    if (!addresses) {
        return;
    }
    std::vector<pci::Address> kept;
    std::copy_if(addresses->begin(),
                 addresses->end(),
                 std::back_inserter(kept),
                 [&](const auto& address) { return !address.same_slot(old_slot); });
    if (kept.size() == addresses->size()) {
        return;
    }
    const std::string after = driver::render_hook(kept);
    if (planned != plan.files.end()) {
        planned->after = after;
        return;
    }
    edit::FileEdit file;
    file.path = hook;
    file.before = text;
    file.after = after;
    file.mode = 0755;
    file.reason = fmt::format("the card left {}: vfio-pci must not take whatever sits there now",
                              pci::format_slot(old_slot));
    plan.files.push_back(std::move(file));
    if (std::find(plan.follow_ups.begin(), plan.follow_ups.end(), edit::FollowUp::update_initramfs)
        == plan.follow_ups.end()) {
        plan.follow_ups.insert(plan.follow_ups.begin(), edit::FollowUp::update_initramfs);
    }
    plan.reboot_needed = true;
}

} // namespace

std::string this_node(const model::Host& host) {
    const auto node = proxmox::local_node(host.root());
    if (!node) {
        throw Error(fmt::format("cannot tell this node's name: {} has neither /etc/hostname nor "
                                "/proc/sys/kernel/hostname, which the profile's sections are "
                                "named after",
                                host.root().map("/").string()));
    }
    return *node;
}

Planned plan_profile(const model::Host& host,
                     const Profile& profile,
                     const std::string& file,
                     const std::string& title,
                     std::int64_t time) {
    Planned out;
    out.node = this_node(host);
    const Node& section = node_section(profile, out.node, file);
    out.device = &the_device(section, out.node, file);
    std::string why;
    const auto located = locate(host.topology(), *out.device, why);
    if (!located) {
        throw Error(fmt::format("{}: put the card back, or edit {} to name the card this host "
                                "has (pt iommu-groups --gpu lists the cards)",
                                why,
                                file));
    }
    out.located = *located;
    if (out.located.moved_from) {
        out.hardware.push_back(moved_drift(host, *out.device, out.located, file));
    }
    out.setup = setup::plan_setup(
        host, setup_request(*out.device, section.kernel, out.located, title, time));
    if (out.located.moved_from) {
        drop_old_address_from_hook(host, *out.located.moved_from, out.setup.plan);
        // Alone, pt vmconf would add a second entry rather than re-point the old one.
        for (auto& step : out.setup.steps) {
            if (step.name.starts_with("VM ")) {
                step.command = fmt::format("pt profile {} --apply", file);
            }
        }
        const auto others = other_vms_at(host.root(), out.located.slot, out.device->vmid);
        if (!others.empty()) {
            out.setup.plan.notes.push_back(fmt::format(
                "{} also pass{} {}, where the card is now: whichever VM starts first takes it; "
                "take the entry out of the other: pt vmconf VMID --remove {} --apply",
                fmt::join(others, ", "),
                others.size() == 1 ? "es" : "",
                pci::format_slot(out.located.slot),
                pci::format_slot(out.located.slot)));
        }
    }
    return out;
}

CheckResult check_profile(const model::Host& host,
                          const Profile& profile,
                          const std::string& file,
                          std::int64_t time) {
    CheckResult result;
    result.node = this_node(host);
    const Node& section = node_section(profile, result.node, file);
    const Device& wanted = the_device(section, result.node, file);
    std::string why;
    const auto located = locate(host.topology(), wanted, why);
    if (!located) {
        result.drift.push_back(
            Drift{"hardware",
                  fmt::format("the {} at {}", identity(wanted), pci::format_slot(wanted.slot)),
                  why,
                  fmt::format("put the card back, or edit {} to name the card "
                              "this host has (pt iommu-groups --gpu lists them)",
                              file)});
        return result;
    }
    Planned planned;
    try {
        planned =
            plan_profile(host, profile, file, fmt::format("pt profile {} --check", file), time);
    } catch (const UsageError&) {
        throw;
    } catch (const Error& e) {
        // A hand edit that makes the chain refuse is drift too (exit 3), not a failure to check.
        result.drift.push_back(
            Drift{"plan",
                  "pt profile can plan this node's section",
                  e.what(),
                  fmt::format("pt profile {} shows the refusal; fix what it names", file)});
        return result;
    }
    result.drift = planned.hardware;
    configured_drift(planned.setup, located->moved_from.has_value(), file, result.drift);
    if (located->moved_from && result.drift.size() == planned.hardware.size()) {
        // Already re-targeted: only the profile still names the old address.
        for (auto& item : result.drift) {
            item.fix = fmt::format("record the new address in the profile: {}",
                                   save_command(wanted, located->slot, file));
        }
    }

    check::HostRequest verify;
    verify.selector = pci::format_slot(located->slot);
    verify.vmid = wanted.vmid;
    const auto report = check::verify_host(host, verify);
    staged_drift(report, result.drift);

    result.converged = result.drift.empty();
    const bool reboot_in_remaining =
        std::find(planned.setup.remaining.begin(), planned.setup.remaining.end(), "reboot the host")
        != planned.setup.remaining.end();
    result.reboot_pending = result.converged && (reboot_in_remaining || report.reboot_pending());
    return result;
}

Profile describe_setup(const model::Host& host,
                       const setup::Request& request,
                       const setup::Planned& planned,
                       const std::optional<Profile>& existing) {
    Profile out = existing.value_or(Profile{});
    const auto* card = host.topology().find(planned.slot);
    if (!card) {
        throw Error(fmt::format("no PCI device {} on this host", pci::format(planned.slot)));
    }
    Device dev;
    dev.slot = planned.slot;
    dev.vendor = card->vendor;
    dev.device = card->device;
    dev.subsystem_vendor = card->subsystem_vendor;
    dev.subsystem_device = card->subsystem_device;
    dev.physical_slot = card->physical_slot;
    pci::NameDb names(host.root(), true, pci::k_system_ids);
    if (auto name = names.device(card->vendor, card->device)) {
        dev.name = std::move(*name);
    }
    dev.vmid = request.vmid;
    dev.role = request.role;
    dev.keep_cpu = request.keep_cpu;
    dev.ovmf = request.ovmf;
    dev.set_machine = request.set_machine;
    dev.mapping = request.mapping;
    dev.include_group = request.include_group;
    dev.force = request.force;
    Node section;
    section.devices.push_back(std::move(dev));
    const std::string node = this_node(host);
    // The kernel options a user wrote into this node's section stay: pt setup asks for none.
    if (const auto it = out.nodes.find(node); it != out.nodes.end()) {
        section.kernel = it->second.kernel;
    }
    out.nodes[node] = std::move(section);
    return out;
}

} // namespace pt::profile
