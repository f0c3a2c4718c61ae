// SPDX-License-Identifier: MIT
#include "pt/setup/plan.hpp"

#include "pt/driver/bind.hpp"
#include "pt/driver/blacklist.hpp"
#include "pt/driver/next_boot.hpp"
#include "pt/error.hpp"
#include "pt/grub/plan.hpp"
#include "pt/kernel/cmdline.hpp"
#include "pt/lxc/plan.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/selector.hpp"
#include "pt/pci/topology.hpp"
#include "pt/proxmox/mapping.hpp"
#include "pt/proxmox/vm_files.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <utility>

namespace pt::setup {
namespace {

// How driver::add_next_boot_notes starts its lines.
constexpr std::string_view k_next_boot_prefix = "next boot: ";

// The one card SEL names: every matching function must sit in the same slot, since the chain
// binds and passes whole slots. Two identical cards matched by vendor:device must be told apart
// by their slot.
pci::Address resolve_card(const pci::Topology& topology, const std::string& text) {
    const pci::Selector selector = pci::parse_selector(text);
    std::vector<pci::Address> slots;
    for (const auto& dev : topology.devices) {
        if (!selector.matches(dev)) {
            continue;
        }
        pci::Address slot = dev.address;
        slot.function = 0;
        if (std::find(slots.begin(), slots.end(), slot) == slots.end()) {
            slots.push_back(slot);
        }
    }
    if (slots.empty()) {
        throw Error(fmt::format("no PCI device on this host matches {}; pt iommu-groups --gpu "
                                "lists the cards and their slots",
                                text));
    }
    if (slots.size() > 1) {
        std::vector<std::string> names;
        for (const auto& slot : slots) {
            names.push_back(pci::format_slot(slot));
        }
        throw UsageError(fmt::format("{} matches {} cards ({}); pt setup passes one card to one "
                                     "VM: give its slot, e.g. pt setup {} --vm VMID",
                                     text,
                                     slots.size(),
                                     fmt::join(names, ", "),
                                     names.front()));
    }
    return slots.front();
}

bool slot_has_display(const pci::Topology& topology, const pci::Address& slot) {
    return std::any_of(topology.devices.begin(), topology.devices.end(), [&](const auto& dev) {
        return dev.address.domain == slot.domain && dev.address.bus == slot.bus
               && dev.address.device == slot.device && dev.is_display();
    });
}

// "pt grub --iommu-pt --add X --apply": the single command that plans what `request` asks.
std::string grub_command(const grub::Request& request) {
    std::string command = "pt grub";
    if (request.iommu_pt) {
        command += " --iommu-pt";
    }
    if (request.sysfb_off) {
        command += " --sysfb-off";
    }
    for (const auto& param : request.add) {
        command += " --add " + param.name + (param.value ? "=" + *param.value : "");
    }
    return command + " --apply";
}

Step kernel_cmdline_step(const model::Host& host,
                         const grub::Request& request,
                         const std::string& title,
                         std::vector<kernel::Param>& next_cmdline) {
    Step step{"kernel command line", grub_command(request), {}, {}};
    auto planned = grub::plan_cmdline_changes(host, request);
    step.plan = std::move(planned.plan);
    step.plan.title = title;
    next_cmdline = std::move(planned.next_cmdline);
    return step;
}

std::vector<pci::Address> functions_of(const pci::Topology& topology, const pci::Address& card) {
    std::vector<pci::Address> functions;
    for (const auto& dev : topology.devices) {
        if (dev.address.domain == card.domain && dev.address.bus == card.bus
            && dev.address.device == card.device) {
            functions.push_back(dev.address);
        }
    }
    return functions;
}

Step host_drivers_step(const model::Host& host,
                       const std::vector<std::string>& slots,
                       const std::string& title) {
    Step step{
        "host drivers", fmt::format("pt blacklist {} --apply", fmt::join(slots, " ")), {}, {}};
    std::vector<std::string> displays;
    for (const auto& slot : slots) {
        if (slot_has_display(host.topology(), pci::parse_selector(slot).address)) {
            displays.push_back(slot);
        }
    }
    if (displays.empty()) {
        step.skipped = fmt::format("{} {} no display function, so no GPU driver of the host "
                                   "competes for {}; pt bind's softdeps keep {} other drivers "
                                   "off",
                                   fmt::join(slots, ", "),
                                   slots.size() == 1 ? "has" : "have",
                                   slots.size() == 1 ? "it" : "them",
                                   slots.size() == 1 ? "its" : "their");
        return step;
    }
    step.command = fmt::format("pt blacklist {} --apply", fmt::join(displays, " "));
    driver::BlacklistRequest request;
    request.selectors = displays;
    request.title = title;
    step.plan = driver::plan_blacklist(host, request);
    return step;
}

Step vfio_step(const model::Host& host,
               const std::vector<std::string>& slots,
               const Request& setup) {
    Step step{"vfio-pci", fmt::format("pt bind {}", fmt::join(slots, " ")), {}, {}};
    if (setup.include_group) {
        step.command += " --include-group";
    }
    if (setup.force) {
        step.command += " --force";
    }
    step.command += " --apply";
    driver::BindRequest request;
    for (const auto& slot : slots) {
        request.selectors.push_back(pci::parse_selector(slot));
    }
    request.include_group = setup.include_group;
    request.force = setup.force;
    request.time = setup.time;
    step.plan = driver::plan_bind(host, request);
    step.plan.title = setup.title;
    return step;
}

// The text `path` has once the earlier `steps` are applied; nullopt: as it is on the host.
std::optional<std::string> planned_text(const std::vector<Step>& steps, std::string_view path) {
    std::optional<std::string> text;
    for (const auto& step : steps) {
        for (const auto& file : step.plan.files) {
            if (file.path == path) {
                text = file.after.value_or("");
            }
        }
    }
    return text;
}

Step mapping_step(const model::Host& host,
                  const std::string& slot,
                  const std::string& mapping,
                  const std::vector<Step>& earlier,
                  const std::string& title) {
    Step step{"mapping", fmt::format("pt mapping {} {} --apply", mapping, slot), {}, {}};
    step.plan = proxmox::plan_mapping(
        host, mapping, slot, title, planned_text(earlier, proxmox::k_mapping_file));
    return step;
}

Step vm_step(const model::Host& host,
             const std::string& slot,
             const Card& setup,
             const Request& shared,
             const std::vector<Step>& earlier) {
    const proxmox::VmFile vm = proxmox::find_vm(host.root(), setup.vmid);
    proxmox::VmconfRequest request;
    request.vmid = setup.vmid;
    request.selector = slot;
    request.mapping = setup.mapping;
    request.planned_mapping_cfg = planned_text(earlier, proxmox::k_mapping_file);
    request.planned_config = planned_text(earlier, vm.path);
    request.moved_from = setup.moved_from;
    request.role = setup.role;
    request.ovmf = setup.ovmf;
    request.set_machine = setup.set_machine;
    request.force = shared.force;
    std::string command = fmt::format("pt vmconf {} {}", setup.vmid, slot);
    if (setup.mapping) {
        command += fmt::format(" --mapping {}", *setup.mapping);
    }
    command += setup.role == proxmox::GpuRole::display ? " --display" : " --compute";
    // A VM with a passed-through GPU cannot live-migrate, so nothing is lost by handing the guest
    // the host's CPU, and inference engines want its vector extensions (AVX2, AVX-512).
    if (setup.role == proxmox::GpuRole::compute && !setup.keep_cpu) {
        request.cpu = "host";
        request.cpu_only_when_unset = true;
    }
    if (setup.ovmf) {
        command += " --ovmf";
    }
    if (setup.set_machine) {
        command += " --set-machine";
    }
    request.title = shared.title;
    auto planned = proxmox::plan_vmconf(host.root(), host.topology(), request);
    // The single command sets the CPU type only where setup does: a VM that names one keeps it.
    const bool sets_cpu = std::any_of(planned.sets.begin(),
                                      planned.sets.end(),
                                      [](const auto& set) { return set.first == "cpu"; });
    if (sets_cpu) {
        command += " --cpu host";
    }
    command += " --apply";
    Step step{fmt::format("VM {}", setup.vmid), std::move(command), {}, {}};
    step.plan = std::move(planned.plan);
    if (setup.role == proxmox::GpuRole::display) {
        step.plan.notes.push_back(fmt::format(
            "--display: under OVMF the card shows the boot screen only when its ROM carries a "
            "UEFI image; pt rom-dump {} reads the ROM and says whether it does",
            slot));
    }
    return step;
}

Step container_step(const model::Host& host,
                    const Share& share,
                    const std::vector<Step>& earlier,
                    const std::string& title) {
    lxc::Request request;
    request.ctid = share.ctid;
    request.selector = share.selector;
    request.title = title;
    request.planned_config = planned_text(earlier, proxmox::find_ct(host.root(), share.ctid).path);
    Step step{fmt::format("container {}", share.ctid),
              fmt::format("pt lxc {} {} --apply", share.ctid, share.selector),
              {},
              {}};
    step.plan = lxc::plan_lxc(host, request).plan;
    return step;
}

// The steps' plans as one. A second step may change a file only when it was planned on the
// text the earlier step leaves (planned_text): the two edits then read as one. A step planned
// on the host's text would start from the old text and undo the first, so that is refused.
edit::Plan combine(const std::vector<Step>& steps, const std::string& title) {
    edit::Plan plan;
    plan.title = title;
    std::map<std::string, std::string> owner;
    std::vector<edit::FollowUp> follow_ups;
    for (const auto& step : steps) {
        for (const auto& file : step.plan.files) {
            const auto [it, fresh] = owner.emplace(file.path, step.name);
            if (fresh) {
                plan.files.push_back(file);
                continue;
            }
            // A step planned on the text an earlier step leaves continues that edit.
            auto earlier = std::find_if(plan.files.begin(), plan.files.end(), [&](const auto& f) {
                return f.path == file.path;
            });
            if (earlier->after != file.before) {
                throw Error(fmt::format("pt setup: the steps \"{}\" and \"{}\" both change {}, "
                                        "which pt cannot combine into one plan; run them one by "
                                        "one instead (pt setup lists their commands with --json)",
                                        it->second,
                                        step.name,
                                        file.path));
            }
            earlier->after = file.after;
        }
        plan.writes.insert(plan.writes.end(), step.plan.writes.begin(), step.plan.writes.end());
        for (const auto follow_up : step.plan.follow_ups) {
            if (std::find(follow_ups.begin(), follow_ups.end(), follow_up) == follow_ups.end()) {
                follow_ups.push_back(follow_up);
            }
        }
        for (const auto& lock : step.plan.locks) {
            if (std::find(plan.locks.begin(), plan.locks.end(), lock) == plan.locks.end()) {
                plan.locks.push_back(lock);
            }
        }
        for (const auto& note : step.plan.notes) {
            if (!note.starts_with(k_next_boot_prefix)) {
                plan.notes.push_back(fmt::format("{}: {}", step.name, note));
            }
        }
        if (!step.skipped.empty()) {
            plan.notes.push_back(fmt::format("{}: {}", step.name, step.skipped));
        }
        plan.reboot_needed = plan.reboot_needed || step.plan.reboot_needed;
    }
    // The initramfs first: proxmox-boot-tool refresh copies it to the ESPs, and update-grub lists
    // it in grub.cfg. The enum is in that order.
    std::sort(follow_ups.begin(), follow_ups.end());
    plan.follow_ups = std::move(follow_ups);
    return plan;
}

// A reboot is left to do while the plan changes boot files, and also after an earlier --apply
// for as long as a function of a card is not on vfio-pci yet (the running layer).
std::vector<std::string> remaining_after(const model::Host& host,
                                         const edit::Plan& plan,
                                         const std::vector<pci::Address>& functions,
                                         const Request& request) {
    std::vector<std::string> remaining;
    const bool off_vfio = std::any_of(functions.begin(), functions.end(), [&](const auto& address) {
        const auto* dev = host.topology().find(address);
        return dev && dev->driver != "vfio-pci";
    });
    if (plan.reboot_needed || off_vfio) {
        remaining.emplace_back("reboot the host");
    }
    const auto add = [&](std::string item) {
        if (std::find(remaining.begin(), remaining.end(), item) == remaining.end()) {
            remaining.push_back(std::move(item));
        }
    };
    for (const auto& card : request.cards) {
        add(fmt::format("pt verify --vm {}", card.vmid));
    }
    for (const auto& share : request.containers) {
        add(fmt::format("pt verify --ct {}", share.ctid));
    }
    return remaining;
}

// The card is this host's, so the VM must run here: its node's files (blacklist, binding) are
// the ones setup writes.
void check_vm_is_local(const model::Host& host, int vmid) {
    const proxmox::VmFile vm = proxmox::find_vm(host.root(), vmid);
    if (!vm.local) {
        throw Error(
            fmt::format("VM {} lives on node {}, and the card is in this host: run pt setup "
                        "on node {} with a card of that node, or move the VM here first "
                        "(qm migrate {} NODE, while it has no PCI device)",
                        vmid,
                        vm.node,
                        vm.node,
                        vmid));
    }
}

// The cards' chain: steps 1 to 5.
void plan_cards(const model::Host& host,
                const Request& request,
                Planned& out,
                std::vector<kernel::Param>& next_cmdline) {
    std::vector<std::string> slots;
    for (const auto& card : request.cards) {
        if (card.vmid <= 0) {
            throw UsageError("pt setup needs the VM: --vm VMID");
        }
        check_vm_is_local(host, card.vmid);
        const pci::Address slot = resolve_card(host.topology(), card.selector);
        if (std::find(out.slots.begin(), out.slots.end(), slot) != out.slots.end()) {
            throw UsageError(fmt::format("{} names the card {} a second time; a card goes to one "
                                         "VM (pt mapping shares one between nodes)",
                                         card.selector,
                                         pci::format_slot(slot)));
        }
        out.slots.push_back(slot);
        slots.push_back(pci::format_slot(slot));
    }
    out.steps.push_back(kernel_cmdline_step(host, request.kernel, request.title, next_cmdline));
    out.steps.push_back(host_drivers_step(host, slots, request.title));
    out.steps.push_back(vfio_step(host, slots, request));
    for (std::size_t i = 0; i < request.cards.size(); ++i) {
        if (request.cards[i].mapping) {
            out.steps.push_back(
                mapping_step(host, slots[i], *request.cards[i].mapping, out.steps, request.title));
        }
    }
    for (std::size_t i = 0; i < request.cards.size(); ++i) {
        out.vm_steps.push_back(out.steps.size());
        out.steps.push_back(vm_step(host, slots[i], request.cards[i], request, out.steps));
    }
}

// Step 6: each container, once it is sure that its card stays with the host.
void plan_containers(const model::Host& host, const Request& request, Planned& out) {
    for (const auto& share : request.containers) {
        const pci::Address slot = resolve_card(host.topology(), share.selector);
        const auto vm = std::find(out.slots.begin(), out.slots.end(), slot);
        if (vm != out.slots.end()) {
            const auto& card = request.cards[static_cast<std::size_t>(vm - out.slots.begin())];
            throw Error(fmt::format("the card {} goes to VM {} and to container {}: vfio-pci "
                                    "takes it from the host's driver, whose device nodes a "
                                    "container uses; share another card, or give this one to "
                                    "one of them only",
                                    pci::format_slot(slot),
                                    card.vmid,
                                    share.ctid));
        }
        out.steps.push_back(container_step(host, share, out.steps, request.title));
    }
}

} // namespace

Planned plan_setup(const model::Host& host, const Request& request) {
    if (request.cards.empty() && request.containers.empty()) {
        throw UsageError("pt setup needs a card: SEL --vm VMID");
    }
    Planned out;
    std::vector<kernel::Param> next_cmdline;
    if (!request.cards.empty()) {
        plan_cards(host, request, out, next_cmdline);
    }
    plan_containers(host, request, out);

    out.plan = combine(out.steps, request.title);
    // Each step predicted the next boot from its own files alone (the blacklist without the
    // binding, the binding without the blacklist); only the whole plan says what really happens.
    std::vector<pci::Address> functions;
    for (const auto& slot : out.slots) {
        const auto of_slot = functions_of(host.topology(), slot);
        functions.insert(functions.end(), of_slot.begin(), of_slot.end());
    }
    if (!request.cards.empty()) {
        driver::add_next_boot_notes(host, out.plan, functions, next_cmdline);
    }
    out.remaining = remaining_after(host, out.plan, functions, request);
    return out;
}

} // namespace pt::setup
