// SPDX-License-Identifier: MIT
#include "pt/advise/advise.hpp"

#include "pt/check/runner.hpp"
#include "pt/error.hpp"
#include "pt/iommu/isolation.hpp"
#include "pt/lxc/nodes.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/names.hpp"
#include "pt/pci/selector.hpp"
#include "pt/pci/topology.hpp"
#include "pt/proxmox/vm_files.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

namespace pt::advise {
namespace {

// ---- the card ---------------------------------------------------------------------------------

std::vector<pci::Device> slot_mates(const pci::Topology& topology, const pci::Address& slot) {
    std::vector<pci::Device> mates;
    for (const auto& dev : topology.devices) {
        if (dev.address.same_slot(slot)) {
            mates.push_back(dev);
        }
    }
    return mates;
}

// The display functions that are cards a host could give away: not a BMC's remote console.
std::vector<const pci::Device*> cards_of(const pci::Topology& topology) {
    std::vector<const pci::Device*> cards;
    for (const auto& dev : topology.devices) {
        if (!dev.is_display() || dev.physfn) {
            continue;
        }
        if (iommu::is_bmc_display(dev, slot_mates(topology, dev.address))) {
            continue;
        }
        const bool seen = std::any_of(cards.begin(), cards.end(), [&](const pci::Device* c) {
            return c->address.same_slot(dev.address);
        });
        if (!seen) {
            cards.push_back(&dev);
        }
    }
    return cards;
}

std::string list_commands(const std::vector<const pci::Device*>& cards) {
    std::vector<std::string> commands;
    for (const auto* card : cards) {
        commands.push_back(fmt::format("pt advise {}", pci::format_slot(card->address)));
    }
    return fmt::format("{}", fmt::join(commands, ", "));
}

const pci::Device& pick_card(const pci::Topology& topology,
                             const std::optional<std::string>& text) {
    const auto cards = cards_of(topology);
    if (text) {
        const pci::Selector selector = pci::parse_selector(*text);
        std::vector<const pci::Device*> matched;
        for (const auto* card : cards) {
            const auto mates = slot_mates(topology, card->address);
            if (std::any_of(mates.begin(), mates.end(), [&](const auto& d) {
                    return selector.matches(d);
                })) {
                matched.push_back(card);
            }
        }
        if (matched.empty()) {
            throw Error(fmt::format(
                "{} names no GPU of this host; pt iommu-groups --gpu lists them", *text));
        }
        if (matched.size() > 1) {
            throw UsageError(fmt::format("{} matches {} cards; give one slot: {}",
                                         *text,
                                         matched.size(),
                                         list_commands(matched)));
        }
        return *matched.front();
    }
    if (cards.empty()) {
        throw Error("this host has no GPU to advise on (no display-class PCI device besides a "
                    "management controller's); pt iommu-groups lists every device");
    }
    if (cards.size() == 1) {
        return *cards.front();
    }
    // The boot display is the one the host keeps when there is another.
    std::vector<const pci::Device*> spare;
    for (const auto* card : cards) {
        if (card->boot_vga != true) {
            spare.push_back(card);
        }
    }
    if (spare.size() == 1) {
        return *spare.front();
    }
    throw Error(fmt::format("this host has {} GPUs it could give away; name one: {}",
                            spare.size(),
                            list_commands(spare.empty() ? cards : spare)));
}

// ---- what the host says -----------------------------------------------------------------------

const check::Check* find_check(const check::Report& report, std::string_view id) {
    for (const auto& check : report.checks) {
        if (check.finding.id == id) {
            return &check;
        }
    }
    return nullptr;
}

bool failed(const check::Check* check) {
    return check && check->finding.status == check::Status::fail;
}

// NVIDIA Blackwell (GB202 to GB207: RTX 50 series and their workstation cards), device IDs
// 2b80 to 2fff: users report cards that do not come back after a VM shutdown (ground truth §13).
bool is_blackwell(const pci::Device& card) {
    return card.vendor == 0x10de && card.device >= 0x2b80 && card.device <= 0x2fff;
}

// The VMs of this node that pass the card (hostpci with its slot, or a mapping of it).
std::vector<int> vms_with(const host::Root& root, const pci::Address& slot) {
    std::vector<int> vmids;
    for (const auto& [vmid, key] : proxmox::vms_passing(root, slot)) {
        if (std::find(vmids.begin(), vmids.end(), vmid) == vmids.end()) {
            vmids.push_back(vmid);
        }
    }
    return vmids;
}

// This node's containers whose config already hands them this card's own device nodes (devN:
// lines or lxc.mount.entry), in the main section: snapshots keep old lines. Without the card's
// nodes (no host driver has it) no container can be using it.
struct Containers {
    std::vector<int> with_card;
};

Containers containers_of(const host::Root& root, const std::vector<lxc::Node>& card_nodes) {
    Containers out;
    std::vector<std::string> own;
    for (const auto& node : card_nodes) {
        if (node.card_own) {
            own.push_back(node.path);
        }
    }
    if (own.empty()) {
        return out;
    }
    for (const auto& ct : proxmox::find_cts(root)) {
        if (!ct.local) {
            continue;
        }
        const auto text = root.read_file_if_exists(ct.path).value_or("");
        const auto main = text.substr(0, text.find("\n["));
        const bool uses = std::any_of(own.begin(), own.end(), [&](const std::string& path) {
            // The path as a whole word: /dev/dri/card1 is not /dev/dri/card10.
            for (auto at = main.find(path); at != std::string::npos; at = main.find(path, at + 1)) {
                const auto after = at + path.size();
                if (after == main.size()
                    || std::string_view(",\n ").find(main[after]) != std::string_view::npos) {
                    return true;
                }
            }
            return false;
        });
        if (uses) {
            out.with_card.push_back(ct.vmid);
        }
    }
    return out;
}

// ---- the next step of the LXC path ------------------------------------------------------------

std::string lxc_next(const pci::Device& card, const std::vector<int>& vms) {
    const std::string slot = pci::format_slot(card.address);
    if (!vms.empty()) {
        return fmt::format("pt vmconf {} --remove {} --apply (VM {} takes the card from the host "
                           "whenever it starts), then pt lxc CTID {}",
                           vms.front(),
                           slot,
                           vms.front(),
                           slot);
    }
    if (card.driver == "vfio-pci") {
        return fmt::format("pt unbind {} --apply (a container needs the host's driver on the "
                           "card), then pt lxc CTID {}",
                           slot,
                           slot);
    }
    return fmt::format("pt lxc CTID {}", slot);
}

// ---- the decision -----------------------------------------------------------------------------

struct Facts {
    const check::Check* virtualization = nullptr;
    const check::Check* iommu = nullptr;
    const check::Check* isolated = nullptr;
    const check::Check* reset = nullptr;
    bool boot_vga = false;
    int other_displays = 0; // display devices the host keeps besides the card (BMC included)
    bool blackwell = false;
    std::vector<int> vms;
    Containers containers;
};

Facts gather(const model::Host& host, const check::Report& report, const pci::Device& card) {
    Facts facts;
    facts.virtualization = find_check(report, "cpu.virtualization");
    facts.iommu = find_check(report, "iommu.enabled");
    facts.isolated = find_check(report, "gpu.group-isolated");
    facts.reset = find_check(report, "gpu.reset");
    facts.boot_vga = card.boot_vga == true;
    for (const auto& dev : host.topology().devices) {
        if (dev.is_display() && !dev.address.same_slot(card.address) && !dev.physfn) {
            ++facts.other_displays;
        }
    }
    facts.blackwell = is_blackwell(card);
    facts.vms = vms_with(host.root(), card.address);
    facts.containers = containers_of(host.root(), lxc::card_nodes(host.root(), card).nodes);
    return facts;
}

// What stands against a VM owning the card on this host, each as a sentence with its cause.
std::vector<std::string> vm_problems(const Facts& facts) {
    std::vector<std::string> problems;
    if (failed(facts.isolated)) {
        problems.push_back("its IOMMU group is shared: " + facts.isolated->finding.summary);
    }
    if (failed(facts.reset)) {
        problems.push_back("it cannot be reset reliably: " + facts.reset->finding.summary);
    }
    if (facts.boot_vga && facts.other_displays == 0) {
        problems.push_back("it is the host's only display: once a VM owns it the host has no "
                           "console on a screen (only SSH and the web UI)");
    }
    return problems;
}

void add_vm_risks(const Facts& facts, const pci::Device& card, std::vector<std::string>& risks) {
    if (failed(facts.iommu)) {
        risks.push_back(fmt::format("the IOMMU is not on yet: {} (fix: {})",
                                    facts.iommu->finding.summary,
                                    facts.iommu->finding.fix));
    }
    if (facts.reset && facts.reset->finding.status == check::Status::warn) {
        risks.push_back(
            fmt::format("{} (fix: {})", facts.reset->finding.summary, facts.reset->finding.fix));
    }
    if (facts.blackwell) {
        risks.push_back(fmt::format("NVIDIA Blackwell ({:04x}:{:04x}): users report cards that do "
                                    "not come back after a VM shutdown until the host reboots; "
                                    "keep the VM running rather than restarting it",
                                    card.vendor,
                                    card.device));
    }
    if (facts.boot_vga && facts.other_displays > 0) {
        risks.push_back("it is the firmware's boot display: make the other display the primary "
                        "one in the firmware, or the host console moves off the screen");
    }
    if (!facts.containers.with_card.empty()) {
        risks.push_back(
            fmt::format("container{} {} use{} the card's device nodes; a card on vfio-pci is "
                        "gone from the host's driver and from them",
                        facts.containers.with_card.size() == 1 ? "" : "s",
                        fmt::join(facts.containers.with_card, ", "),
                        facts.containers.with_card.size() == 1 ? "s" : ""));
    }
}

void add_lxc_risks(const pci::Device& card, std::vector<std::string>& risks) {
    if (card.vendor == 0x10de) {
        risks.push_back("the container's NVIDIA userspace (libnvidia-ml) must be the host "
                        "module's version exactly, or nvidia-smi says \"Driver/library version "
                        "mismatch\": install the same driver release without its kernel module "
                        "in the container, and again after every host driver update");
    } else {
        risks.push_back("the container's user needs the group of the device nodes (render, "
                        "video): add gid=GID of the container's render group to each devN: "
                        "line");
    }
    risks.push_back("containers share the host's kernel and driver: a driver crash or update "
                    "affects the host and every container at once");
}

std::string vm_next(const Facts& facts, const pci::Device& card, const Request& request) {
    if (failed(facts.iommu) && !facts.iommu->finding.fix.empty()) {
        return facts.iommu->finding.fix;
    }
    const std::string vm = facts.vms.empty() ? "VMID" : std::to_string(facts.vms.front());
    return fmt::format("pt setup {} --vm {}{}",
                       pci::format_slot(card.address),
                       vm,
                       request.display ? " --display" : "");
}

void decide(Advice& advice, const Facts& facts, const pci::Device& card, const Request& request) {
    const auto problems = vm_problems(facts);
    const bool no_virtualization = failed(facts.virtualization);
    auto vm = [&](std::string why) {
        advice.recommendation = Recommendation::vm;
        advice.reasons.push_back(std::move(why));
        add_vm_risks(facts, card, advice.risks);
        advice.next = vm_next(facts, card, request);
    };
    auto lxc = [&](std::string why) {
        advice.recommendation = Recommendation::lxc;
        advice.reasons.push_back(std::move(why));
        add_lxc_risks(card, advice.risks);
        advice.next = lxc_next(card, facts.vms);
    };
    auto bare_metal = [&](std::string why) {
        advice.recommendation = Recommendation::bare_metal;
        advice.reasons.push_back(std::move(why));
        advice.next = card.driver == "vfio-pci"
                          ? fmt::format("pt unbind {} --apply (give the card back to the host's "
                                        "driver)",
                                        pci::format_slot(card.address))
                          : std::string("none: keep the card on the host's own driver");
    };

    if (!card.virtfns.empty()) {
        // vGPU (NVIDIA) or MxGPU (AMD) over SR-IOV: VMs get virtual functions, the physical one
        // stays with the host's driver; passing the whole card would end it for every VM.
        advice.recommendation = Recommendation::vm;
        advice.reasons.push_back(fmt::format("the card is split into {} virtual functions "
                                             "(SR-IOV: NVIDIA vGPU or AMD MxGPU): each VM gets "
                                             "one, and the card itself stays with the host's "
                                             "driver",
                                             card.virtfns.size()));
        if (!facts.vms.empty()) {
            advice.reasons.push_back(
                fmt::format("VM {} already uses it", fmt::join(facts.vms, ", ")));
        }
        advice.risks.push_back(fmt::format("do not pass the card itself (pt setup {}): vfio-pci "
                                           "would take it, and with it every virtual function, "
                                           "from the host's driver and from every VM",
                                           pci::format_slot(card.address)));
        advice.next = fmt::format("pt vmconf VMID VF --function-only --apply, VF one of its "
                                  "virtual functions {} to {} that no VM uses yet (with the vGPU "
                                  "type its vendor documents)",
                                  pci::format(card.virtfns.front()),
                                  pci::format(card.virtfns.back()));
        return;
    }
    if (request.share) {
        lxc("--share: a card passed through belongs to one VM at a time (vfio-pci hands the whole "
            "device to it), while containers share it through the host's driver");
        return;
    }
    if (!facts.containers.with_card.empty() && facts.vms.empty() && !request.display) {
        lxc(fmt::format("container{} {} already use{} the card through the host's driver",
                        facts.containers.with_card.size() == 1 ? "" : "s",
                        fmt::join(facts.containers.with_card, ", "),
                        facts.containers.with_card.size() == 1 ? "s" : ""));
        return;
    }
    if (no_virtualization) {
        const std::string why = fmt::format("a VM cannot run here yet: {} (fix: {})",
                                            facts.virtualization->finding.summary,
                                            facts.virtualization->finding.fix);
        if (request.display) {
            bare_metal(why);
            advice.reasons.push_back("--display: a container gets no screen of its own");
        } else {
            lxc(why);
            advice.reasons.push_back("a container needs no hardware virtualization and no IOMMU");
        }
        return;
    }
    if (!problems.empty()) {
        if (request.display) {
            bare_metal("--display, and the card cannot be a VM's screen safely here");
            advice.reasons.insert(advice.reasons.end(), problems.begin(), problems.end());
            advice.reasons.push_back("a container gets no screen of its own");
            std::vector<std::string> fixes;
            for (const auto* check : {facts.isolated, facts.reset}) {
                if (failed(check) && !check->finding.fix.empty()) {
                    fixes.push_back(check->finding.fix);
                }
            }
            advice.risks.push_back(fmt::format("a VM is still possible once {}: then {}",
                                               fixes.empty()
                                                   ? std::string("the host has another display")
                                                   : fmt::format("{}", fmt::join(fixes, "; ")),
                                               vm_next(facts, card, request)));
        } else {
            lxc("a VM could own the card here only at the costs below, and for compute a "
                "container needs neither an isolated IOMMU group nor a reset between starts");
            advice.reasons.insert(advice.reasons.end(), problems.begin(), problems.end());
        }
        return;
    }
    vm(request.display ? "--display: the card becomes the VM's screen, which only a VM that "
                         "owns it can have"
                       : "the card can be one VM's alone: its group is isolated and it resets");
    if (!facts.vms.empty()) {
        advice.reasons.push_back(
            fmt::format("VM {} already passes it", fmt::join(facts.vms, ", ")));
    }
    if (!request.display) {
        advice.reasons.push_back("a VM runs its own kernel and driver: any CUDA or ROCm version, "
                                 "no coupling to the host's driver; pass --share if several "
                                 "containers should use the card at once");
    }
}

std::string card_name(const model::Host& host, const pci::Device& card) {
    pci::NameDb names(host.root(), true, pci::k_system_ids);
    const auto name = names.device(card.vendor, card.device);
    const std::string ids = fmt::format("{:04x}:{:04x}", card.vendor, card.device);
    return name ? fmt::format("{} {}", ids, *name) : ids;
}

} // namespace

std::string to_string(Recommendation recommendation) {
    switch (recommendation) {
    case Recommendation::vm:
        return "vm";
    case Recommendation::lxc:
        return "lxc";
    case Recommendation::bare_metal:
        return "bare-metal";
    }
    return "vm";
}

Advice advise(const model::Host& host, const Request& request) {
    if (request.display && request.share) {
        throw UsageError("--display (the card is one guest's screen) and --share (several "
                         "containers use it) exclude each other: give one of them");
    }
    if (host.facts().hypervisor) {
        throw Error("pt advise judges a Proxmox host, and this is a VM guest (the CPU flags "
                    "include \"hypervisor\"): run it on the host; in the guest, pt verify "
                    "--guest checks a card passed to it");
    }
    const pci::Device& card = pick_card(host.topology(), request.selector);
    Advice advice;
    advice.card = card.address;
    advice.card.function = 0;
    advice.card_name = card_name(host, card);
    check::HostRequest verify;
    verify.selector = pci::format_slot(advice.card);
    const auto report = check::verify_host(host, verify);
    const Facts facts = gather(host, report, card);
    decide(advice, facts, card, request);
    return advice;
}

std::string render_text(const Advice& advice) {
    const char* what = advice.recommendation == Recommendation::vm ? "pass the card to one VM"
                       : advice.recommendation == Recommendation::lxc
                           ? "share it into containers through the host's driver"
                           : "use it on the host itself, no guest";
    std::string out = fmt::format("pt advise: {} {}\nrecommendation: {} ({})\n",
                                  pci::format_slot(advice.card),
                                  advice.card_name,
                                  to_string(advice.recommendation),
                                  what);
    out += "why:\n";
    for (const auto& reason : advice.reasons) {
        out += fmt::format("  - {}\n", reason);
    }
    if (!advice.risks.empty()) {
        out += "risks:\n";
        for (const auto& risk : advice.risks) {
            out += fmt::format("  - {}\n", risk);
        }
    }
    return out + fmt::format("next: {}\n", advice.next);
}

out::Json to_json(const Advice& advice) {
    return out::Json{{"card", pci::format_slot(advice.card)},
                     {"name", advice.card_name},
                     {"recommendation", to_string(advice.recommendation)},
                     {"reasons", advice.reasons},
                     {"risks", advice.risks},
                     {"next", advice.next}};
}

} // namespace pt::advise
