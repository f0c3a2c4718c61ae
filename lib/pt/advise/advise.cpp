// SPDX-License-Identifier: MIT
#include "pt/advise/advise.hpp"

#include "pt/check/runner.hpp"
#include "pt/error.hpp"
#include "pt/iommu/isolation.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/names.hpp"
#include "pt/pci/selector.hpp"
#include "pt/pci/topology.hpp"
#include "pt/proxmox/vm_config.hpp"
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

// The VMs of this node that pass the card (hostpci with its slot).
std::vector<int> vms_with(const host::Root& root, const pci::Address& slot) {
    std::vector<int> vmids;
    for (const auto& vm : proxmox::find_vms(root)) {
        if (!vm.local) {
            continue;
        }
        const auto text = root.read_file_if_exists(vm.path);
        if (!text) {
            continue;
        }
        for (const auto& option : proxmox::VmConfig::parse(*text).effective_options()) {
            if (!proxmox::hostpci_index(option.key)) {
                continue;
            }
            const auto hostpci = proxmox::parse_hostpci(option.value);
            if (std::any_of(hostpci.hosts.begin(), hostpci.hosts.end(), [&](const auto& id) {
                    return id.address.same_slot(slot);
                })) {
                vmids.push_back(vm.vmid);
                break;
            }
        }
    }
    return vmids;
}

// This node's containers, and those whose config already hands them GPU device nodes (devN:
// lines or lxc.mount.entry of /dev/nvidia*, /dev/dri, /dev/kfd).
struct Containers {
    int count = 0;
    std::vector<int> with_gpu;
};

Containers containers_of(const host::Root& root) {
    Containers out;
    const auto node = proxmox::local_node(root);
    const std::string dir = node ? fmt::format("/etc/pve/nodes/{}/lxc", *node) : "/etc/pve/lxc";
    for (const auto& name : root.list(dir)) {
        if (!name.ends_with(".conf")) {
            continue;
        }
        const auto id = name.substr(0, name.size() - 5);
        if (id.empty()
            || !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            continue;
        }
        ++out.count;
        const auto text = root.read_file_if_exists(dir + "/" + name).value_or("");
        // Only the main section: snapshots keep old lines.
        const auto main = text.substr(0, text.find("\n["));
        if (main.find("/dev/nvidia") != std::string::npos
            || main.find("/dev/dri") != std::string::npos
            || main.find("/dev/kfd") != std::string::npos) {
            out.with_gpu.push_back(std::stoi(id));
        }
    }
    return out;
}

// ---- the device nodes a container needs (the next step of the LXC path) ----------------------

// "/dev/nvidia0": the minor the NVIDIA driver gave this card (its per-GPU information file).
std::optional<std::string> nvidia_node(const host::Root& root, const pci::Address& card) {
    const auto info =
        root.read_attr(fmt::format("/proc/driver/nvidia/gpus/{}/information", pci::format(card)));
    if (!info) {
        return std::nullopt;
    }
    const auto at = info->find("Device Minor:");
    if (at == std::string::npos) {
        return std::nullopt;
    }
    const auto digits = info->find_first_of("0123456789", at);
    const auto end = info->find_first_not_of("0123456789", digits);
    if (digits == std::string::npos) {
        return std::nullopt;
    }
    return "/dev/nvidia" + info->substr(digits, end - digits);
}

// "/dev/dri/renderD128", "/dev/dri/card1": the card's own DRM nodes (its drm folder in sysfs).
std::vector<std::string> dri_nodes(const host::Root& root, const pci::Address& card) {
    std::vector<std::string> nodes;
    for (const auto& name :
         root.list(fmt::format("/sys/bus/pci/devices/{}/drm", pci::format(card)))) {
        if (name.starts_with("renderD")) {
            nodes.insert(nodes.begin(), "/dev/dri/" + name);
        } else if (name.starts_with("card")) {
            nodes.push_back("/dev/dri/" + name);
        }
    }
    return nodes;
}

std::string pct_command(const std::vector<std::string>& nodes) {
    std::string command = "pct set CTID";
    int index = 0;
    for (const auto& node : nodes) {
        command += fmt::format(" --dev{} {}", index++, node);
    }
    return command;
}

std::string lxc_next(const host::Root& root, const pci::Device& card) {
    const std::string slot = pci::format_slot(card.address);
    if (card.driver == "vfio-pci") {
        return fmt::format(
            "pt unbind {} --apply (a container needs the host's driver on the card), "
            "then give the container its device nodes with pct set",
            slot);
    }
    if (card.vendor == 0x10de) {
        const auto node = nvidia_node(root, card.address);
        if (!node) {
            return fmt::format("install and load the NVIDIA driver on the host (no "
                               "/proc/driver/nvidia/gpus/{}/information yet), then pct set CTID "
                               "--dev0 /dev/nvidiaN --dev1 /dev/nvidiactl --dev2 /dev/nvidia-uvm "
                               "--dev3 /dev/nvidia-uvm-tools (N: its Device Minor)",
                               pci::format(card.address));
        }
        return pct_command({*node, "/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"});
    }
    auto nodes = dri_nodes(root, card.address);
    if (nodes.empty()) {
        return fmt::format("load the card's host driver (no DRM nodes under "
                           "/sys/bus/pci/devices/{}/drm yet), then pct set CTID --dev0 "
                           "/dev/dri/renderDN",
                           pci::format(card.address));
    }
    if (card.vendor == 0x1002) {
        nodes.push_back("/dev/kfd"); // ROCm's compute interface
    }
    return pct_command(nodes);
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
    facts.containers = containers_of(host.root());
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
    if (!facts.containers.with_gpu.empty()) {
        risks.push_back(fmt::format("container{} {} use{} GPU device nodes; a card on vfio-pci is "
                                    "gone from the host's driver and from them",
                                    facts.containers.with_gpu.size() == 1 ? "" : "s",
                                    fmt::join(facts.containers.with_gpu, ", "),
                                    facts.containers.with_gpu.size() == 1 ? "s" : ""));
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

void decide(Advice& advice,
            const Facts& facts,
            const pci::Device& card,
            const Request& request,
            const host::Root& root) {
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
        advice.next = lxc_next(root, card);
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

    if (request.share) {
        lxc("--share: a card passed through belongs to one VM at a time (vfio-pci hands the whole "
            "device to it), while containers share it through the host's driver");
        return;
    }
    if (!facts.containers.with_gpu.empty() && facts.vms.empty() && !request.display) {
        lxc(fmt::format("container{} {} already use{} GPU device nodes of the host's driver",
                        facts.containers.with_gpu.size() == 1 ? "" : "s",
                        fmt::join(facts.containers.with_gpu, ", "),
                        facts.containers.with_gpu.size() == 1 ? "s" : ""));
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
    decide(advice, facts, card, request, host.root());
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
