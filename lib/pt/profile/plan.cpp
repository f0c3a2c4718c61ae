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

// A section without a card or a container has nothing to plan.
void check_not_empty(const Node& section, const std::string& node, const std::string& file) {
    if (section.devices.empty() && section.containers.empty()) {
        throw Error(fmt::format("node {} of the profile {} names no card and no container: add "
                                "one under devices or containers (pt-profile(5)), or write it "
                                "with pt setup SEL --vm VMID --save {}",
                                node,
                                file,
                                file));
    }
}

bool same_card(const pci::Device& dev, const CardIdentity& wanted) {
    if (dev.vendor != wanted.vendor || dev.device != wanted.device) {
        return false;
    }
    // Without subsystem IDs in the profile, any card of the chip is the card.
    return !wanted.subsystem_vendor
           || (dev.subsystem_vendor == wanted.subsystem_vendor
               && dev.subsystem_device == wanted.subsystem_device);
}

std::string identity(const CardIdentity& wanted) {
    std::string text = format_id(wanted.vendor, wanted.device);
    if (wanted.subsystem_vendor && wanted.subsystem_device) {
        text += " subsystem " + format_id(*wanted.subsystem_vendor, *wanted.subsystem_device);
    }
    return wanted.name.empty() ? text : fmt::format("{} ({})", wanted.name, text);
}

// The card with the profile's IDs in the profile's physical slot, wherever the buses put it.
std::optional<pci::Address> in_physical_slot(const pci::Topology& topology,
                                             const CardIdentity& wanted) {
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
locate(const pci::Topology& topology, const CardIdentity& wanted, std::string& why) {
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

// Other VMs of this node that pass the slot the card moved to (they passed another card there),
// leaving out `skip`: the card's own VM, and the VMs of cards that moved away from that slot
// (their entries are re-pointed too, e.g. when two cards swapped their buses).
std::vector<std::string>
other_vms_at(const host::Root& root, const pci::Address& slot, const std::set<int>& skip) {
    std::vector<std::string> others;
    for (const auto& [other, key] : proxmox::vms_passing(root, slot)) {
        if (skip.count(other) == 0) {
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
                  const std::set<int>& skip,
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
    const auto others = other_vms_at(host.root(), located.slot, skip);
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

setup::Card setup_card(const Device& wanted, const Located& located) {
    setup::Card card;
    static_cast<setup::VmUse&>(card) = wanted;
    card.selector = pci::format_slot(located.slot);
    card.moved_from = located.moved_from;
    return card;
}

// One chain for every card of the section. pt bind plans the node's binding as a whole, so a
// card's include-group or force holds for the whole binding (pt-profile(5) says so).
setup::Request setup_request(const Planned& planned,
                             const Kernel& kernel,
                             const std::string& title,
                             std::int64_t time) {
    setup::Request request;
    for (std::size_t i = 0; i < planned.devices.size(); ++i) {
        const Device& device = *planned.devices[i];
        request.cards.push_back(setup_card(device, planned.located[i]));
        request.include_group = request.include_group || device.include_group;
        request.force = request.force || device.force;
    }
    for (std::size_t i = 0; i < planned.containers.size(); ++i) {
        request.containers.push_back(setup::Share{
            pci::format_slot(planned.container_located[i].slot), planned.containers[i]->ctid});
    }
    request.time = time;
    request.title = title;
    request.kernel = kernel_request(kernel);
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

// The VMs not to warn about at card `i`'s new slot: its own, and those of cards that moved away
// from that slot.
std::set<int> vms_not_to_name(const Planned& planned, std::size_t i) {
    std::set<int> skip{planned.devices[i]->vmid};
    for (std::size_t j = 0; j < planned.devices.size(); ++j) {
        const auto& from = planned.located[j].moved_from;
        if (j != i && from && from->same_slot(planned.located[i].slot)) {
            skip.insert(planned.devices[j]->vmid);
        }
    }
    return skip;
}

// The profile's entry for `card`, planned at `slot`: its IDs and name as the host has them.
Device device_of(const model::Host& host,
                 pci::NameDb& names,
                 const pci::Address& slot,
                 const setup::Card& card,
                 const setup::Request& request) {
    const auto* found = host.topology().find(slot);
    if (!found) {
        throw Error(fmt::format("no PCI device {} on this host", pci::format(slot)));
    }
    Device dev;
    dev.slot = slot;
    dev.vendor = found->vendor;
    dev.device = found->device;
    dev.subsystem_vendor = found->subsystem_vendor;
    dev.subsystem_device = found->subsystem_device;
    dev.physical_slot = found->physical_slot;
    if (auto name = names.device(found->vendor, found->device)) {
        dev.name = std::move(*name);
    }
    static_cast<setup::VmUse&>(dev) = card;
    dev.include_group = request.include_group;
    dev.force = request.force;
    return dev;
}

// Where the profile's card is now; throws pt::Error naming the fix when it is nowhere.
Located
locate_or_throw(const model::Host& host, const CardIdentity& wanted, const std::string& file) {
    std::string why;
    if (auto located = locate(host.topology(), wanted, why)) {
        return *located;
    }
    throw Error(fmt::format("{}: put the card back, or edit {} to name the card this host has "
                            "(pt iommu-groups --gpu lists the cards)",
                            why,
                            file));
}

// A container's card that moved: pt lxc writes the nodes of the card where it is now; the
// profile still names the old address.
Drift moved_container_drift(const Container& wanted,
                            const Located& located,
                            const std::string& file) {
    return Drift{"hardware",
                 fmt::format("the {} at {} for container {}",
                             identity(wanted),
                             pci::format_slot(wanted.slot),
                             wanted.ctid),
                 fmt::format("at {}", pci::format_slot(located.slot)),
                 fmt::format("pt profile {} --apply (shares the card at {}), then set its "
                             "address in {} to \"{}\"",
                             file,
                             pci::format_slot(located.slot),
                             file,
                             pci::format_slot(located.slot))};
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
    check_not_empty(section, out.node, file);
    for (const auto& device : section.devices) {
        const Located located = locate_or_throw(host, device, file);
        for (std::size_t i = 0; i < out.located.size(); ++i) {
            if (out.located[i].slot == located.slot) {
                throw Error(fmt::format("node {} of the profile {} names the card at {} twice "
                                        "(for VM {} and VM {}); a card goes to one VM: remove "
                                        "one of the entries",
                                        out.node,
                                        file,
                                        pci::format_slot(located.slot),
                                        out.devices[i]->vmid,
                                        device.vmid));
            }
        }
        out.devices.push_back(&device);
        out.located.push_back(located);
    }
    for (const auto& container : section.containers) {
        out.containers.push_back(&container);
        out.container_located.push_back(locate_or_throw(host, container, file));
    }
    for (std::size_t i = 0; i < out.devices.size(); ++i) {
        if (out.located[i].moved_from) {
            out.hardware.push_back(
                moved_drift(host, *out.devices[i], out.located[i], vms_not_to_name(out, i), file));
        }
    }
    for (std::size_t i = 0; i < out.containers.size(); ++i) {
        if (out.container_located[i].moved_from) {
            out.hardware.push_back(
                moved_container_drift(*out.containers[i], out.container_located[i], file));
        }
    }
    out.request = setup_request(out, section.kernel, title, time);
    out.setup = setup::plan_setup(host, out.request);
    for (std::size_t i = 0; i < out.devices.size(); ++i) {
        const Located& located = out.located[i];
        if (!located.moved_from) {
            continue;
        }
        // The hook must not keep the old address, unless another card of the profile sits
        // there now (two cards whose buses swapped).
        const bool reused =
            std::any_of(out.located.begin(), out.located.end(), [&](const Located& other) {
                return other.slot.same_slot(*located.moved_from);
            });
        if (!reused) {
            drop_old_address_from_hook(host, *located.moved_from, out.setup.plan);
        }
        // Alone, pt vmconf would add a second entry rather than re-point the old one.
        out.setup.steps[out.setup.vm_steps[i]].command = fmt::format("pt profile {} --apply", file);
        const auto others = other_vms_at(host.root(), located.slot, vms_not_to_name(out, i));
        if (!others.empty()) {
            out.setup.plan.notes.push_back(fmt::format(
                "{} also pass{} {}, where the card is now: whichever VM starts first takes it; "
                "take the entry out of the other: pt vmconf VMID --remove {} --apply",
                fmt::join(others, ", "),
                others.size() == 1 ? "es" : "",
                pci::format_slot(located.slot),
                pci::format_slot(located.slot)));
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
    check_not_empty(section, result.node, file);
    const auto& devices = section.devices;
    std::vector<Located> located;
    const auto find = [&](const CardIdentity& wanted) -> std::optional<Located> {
        std::string why;
        auto found = locate(host.topology(), wanted, why);
        if (!found) {
            result.drift.push_back(
                Drift{"hardware",
                      fmt::format("the {} at {}", identity(wanted), pci::format_slot(wanted.slot)),
                      why,
                      fmt::format("put the card back, or edit {} to name the card "
                                  "this host has (pt iommu-groups --gpu lists them)",
                                  file)});
        }
        return found;
    };
    for (const auto& wanted : devices) {
        if (auto found = find(wanted)) {
            located.push_back(*found);
        }
    }
    for (const auto& wanted : section.containers) {
        find(wanted);
    }
    if (!result.drift.empty()) {
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
    const bool moved = std::any_of(located.begin(), located.end(), [](const Located& where) {
        return where.moved_from.has_value();
    });
    result.drift = planned.hardware;
    configured_drift(planned.setup, moved, file, result.drift);
    if (!planned.hardware.empty() && result.drift.size() == planned.hardware.size()) {
        // Already re-targeted: only the profile still names the old addresses (the hardware
        // drift lists the moved devices, then the moved containers).
        std::size_t item = 0;
        for (std::size_t i = 0; i < devices.size(); ++i) {
            if (located[i].moved_from) {
                result.drift[item++].fix =
                    fmt::format("record the new address in the profile: {}",
                                save_command(devices[i], located[i].slot, file));
            }
        }
        for (std::size_t i = 0; i < planned.containers.size(); ++i) {
            if (const auto& where = planned.container_located[i]; where.moved_from) {
                result.drift[item++].fix =
                    fmt::format("record the new address in the profile: set the address of "
                                "container {}'s card in {} to \"{}\"",
                                planned.containers[i]->ctid,
                                file,
                                pci::format_slot(where.slot));
            }
        }
    }

    bool reboot_pending =
        std::find(planned.setup.remaining.begin(), planned.setup.remaining.end(), "reboot the host")
        != planned.setup.remaining.end();
    for (std::size_t i = 0; i < devices.size(); ++i) {
        check::HostRequest verify;
        verify.selector = pci::format_slot(located[i].slot);
        verify.vmid = devices[i].vmid;
        const auto report = check::verify_host(host, verify);
        staged_drift(report, result.drift);
        reboot_pending = reboot_pending || report.reboot_pending();
    }
    // The staged checks of the node's files come once, whichever card found them.
    std::vector<Drift> unique;
    for (auto& item : result.drift) {
        if (std::none_of(unique.begin(), unique.end(), [&](const Drift& seen) {
                return seen.what == item.what && seen.found == item.found;
            })) {
            unique.push_back(std::move(item));
        }
    }
    result.drift = std::move(unique);

    result.converged = result.drift.empty();
    result.reboot_pending = result.converged && reboot_pending;
    return result;
}

Described describe_setup(const model::Host& host,
                         const setup::Request& request,
                         const setup::Planned& planned,
                         const std::optional<Profile>& existing) {
    Described out{existing.value_or(Profile{}), {}};
    const std::string node = this_node(host);
    Node section;
    if (const auto it = out.profile.nodes.find(node); it != out.profile.nodes.end()) {
        section = it->second; // its kernel options and other cards stay: pt setup asks for none
    }
    // A card of the section that is on no address of this host would make the profile
    // unplannable here.
    auto& devices = section.devices;
    devices.erase(std::remove_if(devices.begin(),
                                 devices.end(),
                                 [&](const Device& old) {
                                     std::string why;
                                     if (locate(host.topology(), old, why)) {
                                         return false;
                                     }
                                     out.dropped.push_back(
                                         fmt::format("{} ({}) for VM {}: not on this host",
                                                     pci::format_slot(old.slot),
                                                     format_id(old.vendor, old.device),
                                                     old.vmid));
                                     return true;
                                 }),
                  devices.end());
    pci::NameDb names(host.root(), true, pci::k_system_ids);
    for (std::size_t i = 0; i < planned.slots.size() && i < request.cards.size(); ++i) {
        const pci::Address& slot = planned.slots[i];
        const setup::Card& card = request.cards[i];
        Device dev = device_of(host, names, slot, card, request);
        // The entry of this card, at its address or found where it is now by its IDs, is
        // replaced.
        devices.erase(std::remove_if(devices.begin(),
                                     devices.end(),
                                     [&](const Device& old) {
                                         std::string why;
                                         const auto where = locate(host.topology(), old, why);
                                         return old.slot == slot || (where && where->slot == slot);
                                     }),
                      devices.end());
        devices.push_back(std::move(dev));
    }
    out.profile.nodes[node] = std::move(section);
    return out;
}

} // namespace pt::profile
