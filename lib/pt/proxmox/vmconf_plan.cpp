// SPDX-License-Identifier: MIT
#include "pt/proxmox/vmconf_plan.hpp"

#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/pci/class_code.hpp"
#include "pt/pci/selector.hpp"
#include "pt/pci/topology.hpp"
#include "pt/proxmox/lint.hpp"
#include "pt/proxmox/mapping.hpp"
#include "pt/proxmox/vm_config.hpp"
#include "pt/strings.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace pt::proxmox {
namespace {

// The functions an ID stands for, as (address, all functions).
struct Target {
    pci::Address address;
    bool all = false;
    std::string text; // what pt writes: 0000:0b:00 or 0000:0b:00.0
};

bool covers(const Target& t, const HostId& id) {
    if (!t.address.same_slot(id.address)) {
        return false;
    }
    return t.all || id.all_functions || t.address.function == id.address.function;
}

Target target_of(const pci::Topology& topology,
                 std::string_view text,
                 bool function_only,
                 const VmFile& vm) {
    const auto sel = pci::parse_selector(text);
    Target t;
    if (sel.kind == pci::Selector::Kind::ids) {
        std::vector<const pci::Device*> hits;
        for (const auto& dev : topology.devices) {
            if (sel.matches(dev)) {
                hits.push_back(&dev);
            }
        }
        if (hits.empty()) {
            throw Error(fmt::format("no device {} on this host; `pt iommu-groups` lists the "
                                    "devices",
                                    sel.text));
        }
        for (const auto* dev : hits) {
            if (!dev->address.same_slot(hits.front()->address)) {
                std::vector<std::string> where;
                for (const auto* d : hits) {
                    where.push_back(pci::format(d->address));
                }
                throw UsageError(fmt::format("{} matches devices in several slots ({}); give the "
                                             "address of the one for VM {}",
                                             sel.text,
                                             fmt::join(where, ", "),
                                             vm.vmid));
            }
        }
        t.address = hits.front()->address;
        t.all = !function_only;
    } else {
        t.address = sel.address;
        if (sel.kind == pci::Selector::Kind::slot) {
            if (function_only) {
                throw UsageError(fmt::format("--function-only needs a function (0000:BB:DD.F); "
                                             "{} is a whole slot",
                                             sel.text));
            }
            t.address.function = 0;
            t.all = true;
        } else {
            t.all = !function_only;
        }
    }
    t.text = t.all ? pci::format_slot(t.address) : pci::format(t.address);
    return t;
}

struct Entry {
    std::string key;
    int index = 0;
    std::string value;
    HostPci hostpci;
};

// An entry qemu-server rejects (a second host, a duplicate key, a bad value) has no meaning pt
// could keep while it edits it: the user decides what was meant.
void refuse_unsound_entry(const VmFile& vm, const Entry& entry) {
    if (entry.hostpci.problems.empty()) {
        return;
    }
    throw Error(fmt::format("{}: {}: {} is not a value qemu-server accepts ({}), so pt does not "
                            "edit it; remove the entry (qm set {} --delete {}) or correct it by "
                            "hand, then run pt again",
                            vm.path,
                            entry.key,
                            entry.value,
                            fmt::join(entry.hostpci.problems, "; "),
                            vm.vmid,
                            entry.key));
}

bool shell_safe(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0
               || std::string_view("=,:._/+-@").find(c) != std::string_view::npos;
    });
}

std::string quote(std::string_view text) {
    if (shell_safe(text)) {
        return std::string(text);
    }
    std::string out = "'";
    for (const char c : text) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

// --cpu TYPE is one word of the cpu: property string (CPUConfig.pm cputype); with
// --hide-hypervisor it may not be a model that names itself QEMU's to the guest.
void check_cpu_request(const VmconfRequest& request) {
    if (!request.cpu) {
        return;
    }
    const auto& type = *request.cpu;
    if (type.empty() || type.find_first_of(",=; \t") != std::string::npos) {
        throw UsageError(fmt::format("--cpu {:?}: give one CPU type (host, x86-64-v3, "
                                     "custom-NAME), without options; --hide-hypervisor adds "
                                     "hidden=1",
                                     type));
    }
    if (request.hide_hypervisor && qemu64_based_type(type)) {
        throw UsageError(fmt::format(
            "--cpu {} with --hide-hypervisor: {} reports itself to the guest as a QEMU CPU "
            "(qemu-server CPUConfig.pm: default models always report themselves), which is what "
            "--hide-hypervisor hides; use --cpu host (or a named model such as Skylake-Client)",
            type,
            type));
    }
}

// QemuConfig check_lock: qm set refuses a locked VM ("VM is locked (backup)"), and so does pt.
void refuse_locked(const VmFile& vm, const VmConfig& config) {
    const auto lock = config.get("lock");
    if (!lock) {
        return;
    }
    if (*lock == "suspended") {
        throw Error(fmt::format("VM {} is locked (suspended): it is hibernated, and Proxmox "
                                "refuses changes until it resumes (qm set: \"VM is locked "
                                "(suspended)\"); resume it with qm start {} and shut it down "
                                "first, then run pt again",
                                vm.vmid,
                                vm.vmid));
    }
    throw Error(fmt::format("VM {} is locked ({}) in {}: Proxmox refuses changes while a {} job "
                            "holds it (qm set: \"VM is locked ({})\"), and so does pt; wait "
                            "for the job to finish, or, only when you know no job holds it any "
                            "more, qm unlock {}, then run pt again",
                            vm.vmid,
                            *lock,
                            vm.path,
                            *lock,
                            *lock,
                            vm.vmid));
}

// A template never starts (QemuServer.pm vm_start) but every clone copies its config.
void refuse_template(const VmFile& vm,
                     const VmConfig& config,
                     const VmconfRequest& request,
                     edit::Plan& plan) {
    const auto is_template = config.get("template");
    if (!is_template || !parse_bool(*is_template).value_or(false)) {
        return;
    }
    if (!request.force) {
        throw Error(fmt::format("VM {} is a template (template: 1 in {}): Proxmox never starts "
                                "it, and a PCI device in it goes to every clone made from it; "
                                "edit the clone that should have the device, or run again with "
                                "--force to change the template knowingly",
                                vm.vmid,
                                vm.path));
    }
    plan.notes.push_back(fmt::format("VM {} is a template (--force): clones made from now on "
                                     "inherit the change; existing clones keep their own config",
                                     vm.vmid));
}

// The cpu: line for --cpu and --hide-hypervisor. hidden=1 makes Proxmox pass kvm=off (and
// hv-vendor-id) in -cpu (CPUConfig.pm get_cpu_options), but a built-in model such as kvm64 still
// names itself a QEMU CPU to the guest, so --hide-hypervisor also switches such a type to host.
template <typename Change>
void plan_cpu(const VmconfRequest& request,
              const std::optional<std::string>& cpu,
              const VmFile& vm,
              edit::Plan& plan,
              Change&& change) {
    if (!request.cpu && !request.hide_hypervisor) {
        return;
    }
    std::string value = cpu.value_or("");
    std::optional<std::string> type = request.cpu;
    if (type && request.cpu_only_when_unset && get_property(value, "cputype", "cputype")) {
        plan.notes.push_back(fmt::format("VM {} names its CPU type ({}), so pt keeps it; for "
                                         "the host's CPU features (AVX2, AVX-512) in the guest: "
                                         "pt vmconf {} --cpu host --apply",
                                         vm.vmid,
                                         *get_property(value, "cputype", "cputype"),
                                         vm.vmid));
        type.reset();
        if (!request.hide_hypervisor) {
            return;
        }
    }
    if (!type && request.hide_hypervisor) {
        if (const auto named = qemu64_based_type(cpu)) {
            type = "host";
            plan.notes.push_back(fmt::format(
                "--hide-hypervisor: VM {}'s CPU type {} names itself a QEMU CPU to the guest "
                "(qemu-server CPUConfig.pm: default models always report themselves), which "
                "hidden=1 cannot hide; pt sets cpu: host (give --cpu MODEL for a named model "
                "instead, e.g. to keep live migration between different hosts)",
                vm.vmid,
                cpu ? *named : fmt::format("{} (no cpu: line)", *named)));
        }
    }
    if (type) {
        value = value.empty() ? *type : set_property(value, "cputype", "cputype", *type);
    }
    if (request.hide_hypervisor) {
        const auto hidden = get_property(value, "cputype", "hidden");
        if (!hidden || !parse_bool(*hidden).value_or(false)) {
            value = set_property(value, "cputype", "hidden", "1");
        }
    }
    change("cpu", value);
}

// x-vga=1 makes the GPU the VM's primary display: QemuServer/PCI.pm print_hostpci_devices passes
// x-vga=on to vfio-pci (not under OVMF) and sets vga: none when the VM has no vga: line, so the
// Proxmox console shows nothing. Only --display asks for that.
void plan_display(
    GpuRole role, bool vga, bool ovmf, const std::string& key, HostPci& hostpci, edit::Plan& plan) {
    const bool has_x_vga = hostpci.x_vga.value_or(false);
    switch (role) {
    case GpuRole::compute:
        remove_item(hostpci, "x-vga");
        return;
    case GpuRole::unspecified:
        if (has_x_vga) {
            plan.notes.push_back(fmt::format("{} keeps its x-vga=1 (the GPU is the VM's display); "
                                             "--compute removes it",
                                             key));
        } else if (vga && !ovmf && !hostpci.legacy_igd.value_or(false)) {
            plan.notes.push_back(fmt::format(
                "{} is a compute-only entry (no x-vga): the Proxmox console stays the VM's "
                "screen; --display makes the GPU the VM's display (x-vga=1)",
                key));
        }
        return;
    case GpuRole::display:
        if (hostpci.legacy_igd.value_or(false)) {
            // PCI.pm: "legacy IGD assignment is not compatible with x-vga"; legacy mode makes
            // the iGPU the VM's display by itself.
            plan.notes.push_back(fmt::format("{} has legacy-igd=1, which already makes the iGPU "
                                             "the VM's display: no x-vga=1 (Proxmox refuses both)",
                                             key));
        } else if (!vga) {
            plan.notes.push_back(fmt::format("--display: {} passes no VGA-class device, so pt "
                                             "adds no x-vga=1 (Proxmox's vfio-vga is for VGA "
                                             "devices)",
                                             key));
        } else if (ovmf && has_x_vga) {
            plan.notes.push_back(fmt::format(
                "{} keeps x-vga=1, which Proxmox does not pass to vfio-pci under OVMF (it only "
                "hides KVM); --compute removes it",
                key));
        } else if (ovmf) {
            plan.notes.push_back("no x-vga=1: the VM boots with OVMF, where Proxmox does not "
                                 "pass x-vga to vfio-pci (the GPU's UEFI GOP drives the display)");
        } else if (!has_x_vga) {
            set_item(hostpci, "x-vga", "1");
        }
        return;
    }
}

} // namespace

std::optional<std::string> qm_command(const VmconfPlan& plan) {
    if (plan.sets.empty() && plan.deletes.empty()) {
        return std::nullopt;
    }
    std::string out = fmt::format("qm set {}", plan.vm.vmid);
    for (const auto& [key, value] : plan.sets) {
        out += fmt::format(" --{} {}", key, quote(value));
    }
    if (!plan.deletes.empty()) {
        out += fmt::format(" --delete {}", fmt::join(plan.deletes, ","));
    }
    return out;
}

VmconfPlan
plan_vmconf(const host::Root& root, const pci::Topology& topology, const VmconfRequest& request) {
    const bool adding = request.selector || request.mapping;
    if (request.remove && adding) {
        throw UsageError("--remove takes the device itself; give either SEL (or --mapping) to "
                         "add, or --remove SEL to remove");
    }
    if (!adding
        && (request.function_only || request.role != GpuRole::unspecified || request.rombar
            || request.romfile || request.set_machine)) {
        throw UsageError("--function-only, --display, --compute, --rombar, --romfile and "
                         "--set-machine describe the device being added: give SEL (or --mapping "
                         "ID)");
    }
    if (!adding && !request.remove && !request.ovmf && !request.hide_hypervisor && !request.cpu) {
        throw UsageError("nothing to do: give SEL (the device to add), --remove SEL, --ovmf, "
                         "--cpu TYPE or --hide-hypervisor, or --check to lint the VM");
    }
    check_cpu_request(request);
    if (request.romfile) {
        const auto& name = *request.romfile;
        if (name.starts_with('/')) {
            throw UsageError(fmt::format(
                "--romfile {}: give a file name relative to /usr/share/kvm/, not an absolute path; "
                "Proxmox "
                "always puts /usr/share/kvm/ in front (QemuServer/PCI.pm), so romfile={} would "
                "open /usr/share/kvm/{}. Copy the file there first: cp {} /usr/share/kvm/",
                name,
                name,
                name,
                name));
        }
        if (!name.empty() && !romfile_stays_in_kvm_dir(name)) {
            throw UsageError(fmt::format("--romfile {}: a \"..\" component leaves "
                                         "/usr/share/kvm/; give a file under it",
                                         name));
        }
        if (name.empty() || name.find_first_of(",;") != std::string::npos) {
            throw UsageError(fmt::format("--romfile {:?}: the name may not be empty or contain "
                                         "',' or ';' (qemu-server's pattern [^,;]+)",
                                         name));
        }
    }
    if (request.mapping && !is_config_id(*request.mapping)) {
        throw UsageError(fmt::format("--mapping {:?} is not a mapping ID (a letter, then "
                                     "letters, digits, '_' or '-')",
                                     *request.mapping));
    }
    // Selector syntax before any file is read: a typo is a usage error whatever the host.
    for (const auto* text : {&request.selector, &request.remove}) {
        if (*text) {
            pci::parse_selector(**text);
        }
    }

    VmconfPlan out;
    out.vm = find_vm(root, request.vmid);
    const auto& vm = out.vm;
    if (!vm.local && !request.qm) {
        throw Error(fmt::format(
            "VM {} is on node {}; run pt there, or use --qm to print the qm set command to run "
            "on {} (from here pt can neither see whether the VM runs nor take its lock)",
            vm.vmid,
            vm.node,
            vm.node));
    }
    out.pid = vm.local ? running_pid(root, vm.vmid) : std::nullopt;
    out.running = out.pid.has_value();
    const std::string before =
        request.planned_config ? *request.planned_config : root.read_file(vm.path);
    auto config = VmConfig::parse(before);
    auto& plan = out.plan;
    plan.title = request.title;
    refuse_locked(vm, config);
    refuse_template(vm, config, request, plan);

    // What the VM starts with next: the main section with [PENDING] applied (QemuServer.pm
    // vm_start applies pending values before it builds the command line, and a running VM gets
    // them at its next full stop and start).
    std::map<std::string, std::string> current;
    for (auto& [key, value] : config.effective()) {
        current[key] = value;
    }
    if (config.has_pending_changes()) {
        std::vector<std::string> pending;
        for (const auto& option : config.effective_options()) {
            if (option.pending) {
                pending.push_back(fmt::format("{}: {}", option.key, option.value));
            }
        }
        for (const auto& key : config.pending_deletes()) {
            pending.push_back(fmt::format("delete {}", key));
        }
        plan.notes.push_back(fmt::format(
            "VM {} has [PENDING] changes ({}), which Proxmox applies at its next {}: pt plans "
            "with them applied",
            vm.vmid,
            fmt::join(pending, "; "),
            out.running ? "full stop and start" : "start"));
    }
    const auto value_of = [&](const std::string& key) -> std::optional<std::string> {
        const auto it = current.find(key);
        return it == current.end() ? std::nullopt : std::optional(it->second);
    };
    std::vector<Entry> entries;
    for (const auto& [key, value] : current) {
        if (const auto index = hostpci_index(key)) {
            entries.push_back(Entry{key, *index, value, parse_hostpci(value)});
        }
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.index < b.index;
    });

    std::map<std::string, std::optional<std::string>> changes; // nullopt: delete
    const auto change = [&](const std::string& key, std::optional<std::string> value) {
        if (value_of(key) != value) {
            changes[key] = std::move(value);
        }
    };

    const auto bios = value_of("bios");
    const bool ovmf = request.ovmf || (bios && to_lower(*bios) == "ovmf");
    if (request.ovmf) {
        change("bios", "ovmf");
        if (!value_of("efidisk0")) {
            plan.notes.push_back(fmt::format(
                "VM {} has no efidisk0, so OVMF keeps its EFI variables (boot entries, Secure "
                "Boot keys) on a temporary disk; creating one needs a storage, so pt leaves it to "
                "you: qm set {} --efidisk0 STORAGE:1,efitype=4m (STORAGE: e.g. local-lvm)",
                vm.vmid,
                vm.vmid));
        }
    }
    plan_cpu(request, value_of("cpu"), vm, plan, change);

    if (adding) {
        std::optional<Target> target;
        const pci::Device* dev = nullptr;
        if (request.selector) {
            target = target_of(topology, *request.selector, request.function_only, vm);
            // The slot's function 0 speaks for a whole slot (the GPU, not its audio).
            pci::Address first = target->address;
            if (target->all) {
                first.function = 0;
            }
            dev = topology.find(first);
            if (!dev) {
                dev = topology.find(target->address);
            }
            if (!dev && vm.local) {
                throw Error(fmt::format(
                    "no PCI device {} on this host ({} does not exist); `pt "
                    "iommu-groups` lists the devices",
                    target->text,
                    root.map("/sys/bus/pci/devices/" + pci::format(target->address)).string()));
            }
            if (!vm.local) {
                plan.notes.push_back(fmt::format(
                    "VM {} lives on node {}: pt cannot check {} against that node's hardware",
                    vm.vmid,
                    vm.node,
                    target->text));
            }
        }
        if (request.mapping) {
            const auto file =
                request.planned_mapping_cfg   ? parse_mapping_file(*request.planned_mapping_cfg)
                : root.exists(k_mapping_file) ? parse_mapping_file(root.read_file(k_mapping_file))
                                              : MappingFile{};
            const auto* mapping = file.find(*request.mapping);
            if (!mapping) {
                throw Error(fmt::format("there is no PCI mapping {:?} in {}; create this node's "
                                        "entry first: pt mapping {} SEL --apply",
                                        *request.mapping,
                                        root.map(k_mapping_file).string(),
                                        *request.mapping));
            }
            const MapEntry* mine = nullptr;
            for (const auto& m : mapping->maps) {
                if (m.node == vm.node && !mine) {
                    mine = &m;
                }
            }
            if (!mine) {
                plan.notes.push_back(fmt::format("mapping {} has no entry for node {}, where VM {} "
                                                 "lives; add one there with pt mapping {} SEL "
                                                 "--apply before starting the VM",
                                                 *request.mapping,
                                                 vm.node,
                                                 vm.vmid,
                                                 *request.mapping));
            } else if (!dev && vm.local && !mine->paths.empty()) {
                dev = topology.find(mine->paths.front().address);
            }
        }

        // The entry to update: the one passing the device, else the lowest free index.
        const Entry* reuse = nullptr;
        std::vector<std::string> also;
        for (const auto& entry : entries) {
            const bool hit =
                (target
                 && std::any_of(entry.hostpci.hosts.begin(),
                                entry.hostpci.hosts.end(),
                                [&](const HostId& id) { return covers(*target, id); }))
                || (request.mapping && entry.hostpci.mapping == request.mapping)
                || (request.moved_from
                    && std::any_of(entry.hostpci.hosts.begin(),
                                   entry.hostpci.hosts.end(),
                                   [&](const HostId& id) {
                                       return id.address.same_slot(*request.moved_from);
                                   }));
            if (!hit) {
                continue;
            }
            if (!reuse) {
                reuse = &entry;
            } else {
                also.push_back(entry.key);
            }
        }
        HostPci hostpci;
        if (reuse) {
            refuse_unsound_entry(vm, *reuse);
            out.hostpci_key = reuse->key;
            hostpci = reuse->hostpci;
        } else {
            std::set<std::string> used;
            for (const auto& line : config.lines()) {
                if (line.kind == ConfigLine::Kind::option) {
                    used.insert(line.key);
                }
            }
            for (int i = 0; i < k_max_hostpci && out.hostpci_key.empty(); ++i) {
                if (used.count(fmt::format("hostpci{}", i)) == 0) {
                    out.hostpci_key = fmt::format("hostpci{}", i);
                }
            }
            if (out.hostpci_key.empty()) {
                throw Error(fmt::format("VM {} already has hostpci0 to hostpci15, the most "
                                        "Proxmox allows; remove one first (pt vmconf {} --remove "
                                        "SEL)",
                                        vm.vmid,
                                        vm.vmid));
            }
        }
        // Further entries the new one covers completely (a slot split over several entries)
        // are merged into it: one device, one entry; Proxmox refuses a function passed twice.
        std::vector<std::string> kept;
        for (const auto& key : also) {
            const auto it = std::find_if(
                entries.begin(), entries.end(), [&](const Entry& e) { return e.key == key; });
            const auto& hosts = it->hostpci.hosts;
            const bool covered = target && target->all && !hosts.empty() && !it->hostpci.mapping
                                 && std::all_of(hosts.begin(), hosts.end(), [&](const HostId& id) {
                                        return covers(*target, id);
                                    });
            if (covered) {
                change(key, std::nullopt);
                plan.notes.push_back(fmt::format("{} is removed: {} now passes every function of "
                                                 "{}",
                                                 key,
                                                 out.hostpci_key,
                                                 target->text));
            } else {
                kept.push_back(key);
            }
        }
        if (!kept.empty()) {
            plan.notes.push_back(fmt::format("{} also pass{} {}; pt updates {} only (pt vmconf {} "
                                             "--check explains)",
                                             fmt::join(kept, ", "),
                                             kept.size() == 1 ? "es" : "",
                                             target ? target->text : *request.mapping,
                                             out.hostpci_key,
                                             vm.vmid));
        }
        if (request.mapping) {
            if (hostpci.mapping != request.mapping) {
                set_item(hostpci, "mapping", *request.mapping);
            }
        } else {
            const bool same = hostpci.hosts.size() == 1 && !hostpci.hosts.front().upper_case
                              && hostpci.hosts.front().all_functions == target->all
                              && hostpci.hosts.front().address == target->address;
            if (!same) {
                set_item(hostpci, "host", target->text);
            }
        }
        // pcie=1 needs q35 (qemu-server dies with "q35 machine model is not enabled").
        const auto machine = value_of("machine");
        const auto type = machine_type(machine);
        const auto chipset_note = fmt::format(
            "VM {} switches from i440fx to q35: the guest sees a new chipset with PCIe ports, "
            "so Linux may rename its NICs (ens18 becomes e.g. enp6s18) and Windows redetects "
            "devices; check the network config inside the guest after the first boot",
            vm.vmid);
        // legacy-igd=1 needs i440fx and no pcie (PCI.pm parse_hostpci_devices: "legacy IGD
        // assignment is not compatible with q35"): such an entry keeps its machine.
        const bool legacy_igd = hostpci.legacy_igd.value_or(false);
        if (legacy_igd) {
            plan.notes.push_back(fmt::format("{} has legacy-igd=1, which needs the i440fx machine: "
                                             "pt adds neither pcie=1 nor machine: q35",
                                             out.hostpci_key));
        } else if (!machine) {
            // No machine: line is the default, i440fx.
            change("machine", "q35");
            plan.notes.push_back(chipset_note);
        } else if (type.find("q35") == std::string::npos) {
            if (!request.set_machine) {
                throw Error(fmt::format(
                    "VM {} has machine: {}, an i440fx machine, and pcie=1 needs q35 (Proxmox "
                    "refuses to start otherwise); run again with --set-machine to switch it to "
                    "q35 (the guest sees a new chipset: Windows redetects its devices)",
                    vm.vmid,
                    *machine));
            }
            change("machine", set_property(*machine, "type", "type", "q35"));
            plan.notes.push_back(chipset_note);
        }
        if (!legacy_igd && !hostpci.pcie.value_or(false)) {
            set_item(hostpci, "pcie", "1");
        }
        bool vga = dev ? (dev->class_code >> 8) == 0x0300 : true;
        if (dev && target && target->all) {
            vga = std::any_of(topology.devices.begin(), topology.devices.end(), [&](const auto& d) {
                return d.address.same_slot(target->address) && (d.class_code >> 8) == 0x0300;
            });
        }
        plan_display(request.role, vga, ovmf, out.hostpci_key, hostpci, plan);
        if (request.rombar && hostpci.rombar != request.rombar) {
            set_item(hostpci, "rombar", *request.rombar ? "1" : "0");
        }
        if (request.romfile) {
            const auto path = host::join(k_kvm_dir, *request.romfile);
            const auto files = vm.local ? kvm_rom_files(root) : std::vector<std::string>{};
            if (vm.local
                && std::find(files.begin(), files.end(), *request.romfile) == files.end()) {
                throw Error(fmt::format("--romfile {}: {} is not a regular file; put the ROM "
                                        "there first (pt rom-dump can make one)",
                                        *request.romfile,
                                        root.map(path).string()));
            }
            if (hostpci.romfile != request.romfile) {
                set_item(hostpci, "romfile", *request.romfile);
            }
        }
        if (!request.romfile && hostpci.romfile && hostpci.romfile->starts_with('/')) {
            plan.notes.push_back(fmt::format(
                "{} keeps romfile={}, which Proxmox opens as /usr/share/kvm/{}: copy the file "
                "to /usr/share/kvm/ and give --romfile NAME",
                out.hostpci_key,
                *hostpci.romfile,
                *hostpci.romfile));
        }
        change(out.hostpci_key, format_hostpci(hostpci));
    }

    if (request.remove) {
        const auto target = target_of(topology, *request.remove, false, vm);
        const auto sel = pci::parse_selector(*request.remove);
        Target exact = target;
        if (sel.kind == pci::Selector::Kind::function) {
            exact.all = false; // --remove 0000:0b:00.1 removes entries passing that function
        }
        bool any = false;
        for (const auto& entry : entries) {
            if (std::any_of(entry.hostpci.hosts.begin(),
                            entry.hostpci.hosts.end(),
                            [&](const HostId& id) { return covers(exact, id); })) {
                change(entry.key, std::nullopt);
                any = true;
            }
        }
        if (!any) {
            plan.notes.push_back(fmt::format(
                "VM {} passes no device of {}: nothing to remove", vm.vmid, *request.remove));
        }
    }

    // Carry the changes into the file.
    bool dropped_stale = false;
    for (const auto& [key, value] : changes) {
        if (value) {
            out.sets.emplace_back(key, *value);
        } else {
            out.deletes.push_back(key);
        }
        if (out.running) {
            const auto main = config.get(key);
            if (main == value) {
                config.remove_pending(key);
                config.remove_pending_delete(key);
            } else if (value) {
                config.set_pending(key, *value);
                config.remove_pending_delete(key);
            } else {
                config.remove_pending(key);
                if (main) {
                    config.add_pending_delete(key);
                }
            }
        } else {
            if (value) {
                config.set(key, *value);
            } else {
                config.remove(key);
            }
            dropped_stale = config.remove_pending(key) || dropped_stale;
            dropped_stale = config.remove_pending_delete(key) || dropped_stale;
        }
    }
    if (dropped_stale && vm.local) {
        plan.notes.push_back("the VM is stopped, so the [PENDING] values of the keys pt sets are "
                             "dropped (qm set on a stopped VM applies them at once; Proxmox "
                             "would apply them over pt's values at the next start)");
    }
    edit::add_file(
        plan,
        edit::FileEdit{
            vm.path, before, config.text(), 0640, fmt::format("VM {} ({})", vm.vmid, vm.node)});
    if (!plan.empty()) {
        if (vm.local) {
            plan.locks.push_back(vm_lock_path(vm.vmid));
        }
        if (out.running) {
            plan.notes.push_back(fmt::format(
                "VM {} is running (pid {}): the change is written to [PENDING], as qm set does, "
                "and takes effect at the next full stop and start (qm shutdown {} && qm start "
                "{}); a reboot inside the guest is not enough",
                vm.vmid,
                *out.pid,
                vm.vmid,
                vm.vmid));
        }
    }
    return out;
}

} // namespace pt::proxmox
