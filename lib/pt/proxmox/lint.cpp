// SPDX-License-Identifier: MIT
#include "pt/proxmox/lint.hpp"

#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/iommu/isolation.hpp"
#include "pt/pci/topology.hpp"
#include "pt/strings.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

namespace pt::proxmox {
namespace {

bool has_cpu_option(std::string_view args) {
    // QEMU takes -cpu and --cpu; args is split like a shell line (PVE::Tools::split_args).
    std::size_t pos = 0;
    while (pos < args.size()) {
        const auto start = args.find_first_not_of(" \t'\"", pos);
        if (start == std::string_view::npos) {
            break;
        }
        const auto end = std::min(args.find_first_of(" \t'\"", start), args.size());
        const auto word = args.substr(start, end - start);
        if (word == "-cpu" || word == "--cpu" || word.starts_with("-cpu=")
            || word.starts_with("--cpu=")) {
            return true;
        }
        pos = end;
    }
    return false;
}

struct Entry {
    int index = 0;
    std::string key;
    std::string value;
    int line = 0;
    HostPci hostpci;
};

// The devices an entry passes: each host ID's functions present on the host (or, without a
// topology, the ID's own address).
std::vector<pci::Address> functions_of(const HostId& id, const pci::Topology* topology) {
    std::vector<pci::Address> out;
    if (!id.all_functions || !topology) {
        out.push_back(id.address);
        return out;
    }
    for (const auto& dev : topology->devices) {
        if (dev.address.same_slot(id.address)) {
            out.push_back(dev.address);
        }
    }
    if (out.empty()) {
        out.push_back(id.address);
    }
    return out;
}

bool overlaps(const HostId& a, const HostId& b) {
    if (!a.address.same_slot(b.address)) {
        return false;
    }
    return a.all_functions || b.all_functions || a.address.function == b.address.function;
}

std::vector<Entry> hostpci_entries(const VmConfig& config) {
    std::map<std::string, Entry> by_key; // last occurrence wins, as in qemu-server
    for (const auto& option : config.options()) {
        const auto index = hostpci_index(option.key);
        if (!index) {
            continue;
        }
        by_key[option.key] =
            Entry{*index, option.key, option.value, option.line, parse_hostpci(option.value)};
    }
    std::vector<Entry> out;
    for (auto& [key, entry] : by_key) {
        out.push_back(std::move(entry));
    }
    std::sort(
        out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.index < b.index; });
    return out;
}

// Whether the root's qemu-server parses hostpci driver= (9.0.25 and later). Unknown versions
// count as knowing it, except on a root known to be PVE 8, whose qemu-server never does.
bool knows_driver_option(const std::optional<Platform>& platform) {
    if (!platform) {
        return true;
    }
    if (platform->qemu_server) {
        return platform->at_least("qemu-server", k_qemu_server_driver_option);
    }
    return platform->pve_major != 8;
}

// "pc-q35-5.2+pve0" -> (5, 2); nullopt for an unversioned type ("q35", "pc", "").
std::optional<std::pair<int, int>> machine_version(std::string_view type) {
    for (const std::string_view prefix : {"pc-q35-", "pc-i440fx-"}) {
        if (!type.starts_with(prefix)) {
            continue;
        }
        const auto version = type.substr(prefix.size());
        int major = 0;
        int minor = 0;
        const auto* end = version.data() + version.size();
        const auto [dot, ec] = std::from_chars(version.data(), end, major);
        if (ec != std::errc() || dot == end || *dot != '.') {
            return std::nullopt;
        }
        const auto [rest, ec2] = std::from_chars(dot + 1, end, minor);
        if (ec2 != std::errc()) {
            return std::nullopt;
        }
        return std::pair{major, minor};
    }
    return std::nullopt;
}

// PVE 9's machine version baseline (pve-docs qm.adoc, "QEMU Machine Version Deprecation": QEMU
// 10.1+ removes machine versions after six years; the last QEMU of PVE 9 removes those older
// than 6.0).
constexpr std::pair<int, int> k_machine_baseline{6, 0};

// The CPU types qemu-server's phys-bits check covers: the backend default kvm64, qemu64, and the
// built-in x86-64-vN models whose reported model is qemu64 (CPUConfig.pm $builtin_models,
// check_phys_bits_above_40_compat). nullopt for "host" and every other model.
std::optional<std::string> qemu64_based_type(const std::optional<std::string>& cpu) {
    const auto type =
        cpu ? get_property(*cpu, "cputype", "cputype").value_or("kvm64") : std::string("kvm64");
    static const std::set<std::string, std::less<>> based = {
        "kvm64", "qemu64", "x86-64-v2", "x86-64-v2-AES", "x86-64-v3", "x86-64-v4"};
    if (based.count(type) == 0) {
        return std::nullopt;
    }
    return type;
}

bool has_pdpe1gb(const std::optional<std::string>& cpu) {
    const auto flags = cpu ? get_property(*cpu, "cputype", "flags") : std::nullopt;
    if (!flags) {
        return false;
    }
    // flags=+a;-b;c: the last mention of pdpe1gb decides ("-pdpe1gb" turns it off).
    bool on = false;
    std::size_t pos = 0;
    while (pos <= flags->size()) {
        const auto end = std::min(flags->find(';', pos), flags->size());
        const auto flag = trim(std::string_view(*flags).substr(pos, end - pos));
        pos = end + 1;
        if (flag == "+pdpe1gb" || flag == "pdpe1gb") {
            on = true;
        } else if (flag == "-pdpe1gb") {
            on = false;
        }
    }
    return on;
}

// With 40 physical address bits OVMF opens a 64-bit PCI window of 1/8 of the address space,
// 128 GiB (edk2 OvmfPkg/Library/PlatformInitLib/MemDetect.c, PlatformDynamicMmioWindow), and
// without 1 GiB pages it limits itself to 40 bits (PlatformAddressWidthFromCpuid).
constexpr std::uint64_t k_ovmf_window_40_bits = std::uint64_t{1} << 37U;

std::string gib(std::uint64_t bytes) {
    const auto whole = bytes >> 30U;
    const auto rest = bytes & ((std::uint64_t{1} << 30U) - 1);
    if (rest == 0) {
        return fmt::format("{} GiB", whole);
    }
    return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / static_cast<double>(1U << 30U));
}

// vm.phys-bits-40: the 64-bit BARs this VM's host devices need against OVMF's 40-bit window.
// qemu-server 9.1.7 warns only when phys-bits above 40 are asked for (CPUConfig.pm
// check_phys_bits_above_40_compat); here the BAR sizes decide, since a large-VRAM GPU does not
// fit whatever phys-bits says.
void check_phys_bits(const VmFile& vm,
                     const VmConfig& config,
                     const LintContext& context,
                     const std::vector<Entry>& entries,
                     bool ovmf,
                     std::vector<check::Finding>& out) {
    if (!ovmf || !vm.local || context.topology == nullptr) {
        return;
    }
    const auto cpu = config.find("cpu");
    const auto cpu_value = cpu ? std::optional(cpu->value) : std::nullopt;
    const auto type = qemu64_based_type(cpu_value);
    if (!type || has_pdpe1gb(cpu_value)) {
        return;
    }
    std::uint64_t total = 0;
    std::vector<std::string> evidence;
    for (const auto& entry : entries) {
        std::uint64_t bytes = 0;
        for (const auto& id : entry.hostpci.hosts) {
            for (const auto& address : functions_of(id, context.topology)) {
                if (const auto it = context.bar64_bytes.find(address);
                    it != context.bar64_bytes.end()) {
                    bytes += it->second;
                }
            }
        }
        if (bytes > 0) {
            total += bytes;
            evidence.push_back(fmt::format("{}:{}: {}: {} ({} of 64-bit BARs)",
                                           vm.path,
                                           entry.line,
                                           entry.key,
                                           entry.value,
                                           gib(bytes)));
        }
    }
    if (total <= k_ovmf_window_40_bits) {
        return;
    }
    evidence.push_back(cpu ? fmt::format("{}:{}: cpu: {}", vm.path, cpu->line, cpu->value)
                           : fmt::format("{}: no cpu: line (kvm64)", vm.path));
    out.push_back(check::Finding{
        "vm.phys-bits-40",
        check::Status::warn,
        fmt::format("VM {}: its passed devices need {} of 64-bit BARs, more than the {} window "
                    "OVMF opens with 40 physical address bits; CPU type {} without pdpe1gb "
                    "limits OVMF to 40 bits, so the VM may not boot",
                    vm.vmid,
                    gib(total),
                    gib(k_ovmf_window_40_bits),
                    *type),
        fmt::format("{}", fmt::join(evidence, "; ")),
        fmt::format("qm set {} --cpu host (or keep the model and add both: --cpu "
                    "{},flags=+pdpe1gb,phys-bits=host)",
                    vm.vmid,
                    *type)});
}

std::string lower_ids(const Entry& entry) {
    // Only the host IDs; every other part stays as written.
    HostPci hostpci = entry.hostpci;
    for (auto& [key, val] : hostpci.items) {
        if (key == "host") {
            val = to_lower(val);
        }
    }
    return format_hostpci(hostpci);
}

} // namespace

bool any_failed(const std::vector<check::Finding>& findings) {
    return std::any_of(findings.begin(), findings.end(), [](const check::Finding& f) {
        return f.status == check::Status::fail;
    });
}

std::vector<check::Finding>
lint_config(const VmFile& vm, const VmConfig& config, const LintContext& context) {
    std::vector<check::Finding> out;
    const int vmid = vm.vmid;
    const auto at = [&](int line, std::string_view key, std::string_view value) {
        return fmt::format("{}:{}: {}: {}", vm.path, line, key, value);
    };
    const auto add = [&](std::string id,
                         check::Status status,
                         std::string summary,
                         std::string evidence,
                         std::string fix) {
        out.push_back(check::Finding{
            std::move(id), status, std::move(summary), std::move(evidence), std::move(fix)});
    };
    const bool hardware = vm.local && context.topology != nullptr;
    const auto entries = hostpci_entries(config);
    const auto machine = config.find("machine");
    const auto type = machine_type(machine ? std::optional(machine->value) : std::nullopt);
    const bool q35 = type.find("q35") != std::string::npos;
    const auto bios = config.find("bios");
    const bool ovmf = bios && to_lower(bios->value) == "ovmf";

    for (const auto& entry : entries) {
        const auto evidence = at(entry.line, entry.key, entry.value);
        const auto& h = entry.hostpci;
        if (entry.index >= k_max_hostpci) {
            add("vm.hostpci-index",
                check::Status::fail,
                fmt::format("VM {}: {} does not exist: Proxmox knows hostpci0 to hostpci15 and "
                            "ignores this line",
                            vmid,
                            entry.key),
                evidence,
                fmt::format("move it to a free index from hostpci0 to hostpci15 (pt vmconf {} "
                            "SEL picks the lowest free one)",
                            vmid));
        }
        if (!h.problems.empty()) {
            add("vm.hostpci-invalid",
                check::Status::fail,
                fmt::format("VM {}: {} is not a value Proxmox accepts ({}); Proxmox drops the line "
                            "(\"unable to parse value of '{}'\")",
                            vmid,
                            entry.key,
                            fmt::join(h.problems, "; "),
                            entry.key),
                evidence,
                fmt::format("write it as {}: [host=]0000:BB:DD[.F][,pcie=1][,x-vga=1] or "
                            "{}: mapping=ID[,...]",
                            entry.key,
                            entry.key));
        }
        if (h.driver && !knows_driver_option(context.platform)) {
            add("vm.hostpci-invalid",
                check::Status::fail,
                fmt::format("VM {}: {} has driver={}, which qemu-server knows from {} on (Proxmox "
                            "VE 9); this host has {}, which rejects the key and drops the line",
                            vmid,
                            entry.key,
                            *h.driver,
                            k_qemu_server_driver_option,
                            context.platform->qemu_server
                                ? "qemu-server " + *context.platform->qemu_server
                                : fmt::format("Proxmox VE {}", *context.platform->pve_major)),
                evidence,
                fmt::format("upgrade qemu-server to {} or later (Proxmox VE 9), or remove "
                            "driver={} from {}",
                            k_qemu_server_driver_option,
                            *h.driver,
                            entry.key));
        }
        if (std::any_of(
                h.hosts.begin(), h.hosts.end(), [](const HostId& id) { return id.upper_case; })) {
            add("vm.uppercase-hex",
                check::Status::fail,
                fmt::format("VM {}: {} writes hex in upper case; Proxmox's pattern is lower case "
                            "only, so it drops the line and the device is not passed",
                            vmid,
                            entry.key),
                evidence,
                fmt::format("{}: {}", entry.key, lower_ids(entry)));
        }
        if (h.pcie.value_or(false) && !q35) {
            add("vm.pcie-without-q35",
                check::Status::fail,
                fmt::format("VM {}: {} has pcie=1 but the machine is {}; Proxmox refuses to start "
                            "it (\"q35 machine model is not enabled\")",
                            vmid,
                            entry.key,
                            machine ? fmt::format("{:?}", machine->value)
                                    : std::string("the default i440fx")),
                machine
                    ? fmt::format("{}; {}", evidence, at(machine->line, "machine", machine->value))
                    : fmt::format("{} (no machine: line)", evidence),
                fmt::format("qm set {} --machine q35 (a Windows guest may need its devices "
                            "redetected), or drop pcie=1 from {}",
                            vmid,
                            entry.key));
        }
        if (h.romfile) {
            if (h.romfile->starts_with('/')) {
                const auto slash = h.romfile->rfind('/');
                const auto name = h.romfile->substr(slash + 1);
                add("vm.romfile-absolute",
                    check::Status::fail,
                    fmt::format("VM {}: romfile={} is an absolute path, but Proxmox always puts "
                                "/usr/share/kvm/ in front (QEMU would open /usr/share/kvm/{})",
                                vmid,
                                *h.romfile,
                                *h.romfile),
                    evidence,
                    fmt::format("cp {} /usr/share/kvm/{} and write romfile={} in {}",
                                *h.romfile,
                                name,
                                name,
                                entry.key));
            } else if (vm.local
                       && (!romfile_stays_in_kvm_dir(*h.romfile)
                           || std::find(
                                  context.kvm_files.begin(), context.kvm_files.end(), *h.romfile)
                                  == context.kvm_files.end())) {
                add("vm.romfile-missing",
                    check::Status::fail,
                    fmt::format("VM {}: romfile={} does not exist as /usr/share/kvm/{}; QEMU "
                                "cannot open it and the VM does not start",
                                vmid,
                                *h.romfile,
                                *h.romfile),
                    evidence,
                    fmt::format("put the ROM at /usr/share/kvm/{} (pt rom-dump can make one), or "
                                "drop romfile= from {}",
                                *h.romfile,
                                entry.key));
            }
        }
        if (h.x_vga.value_or(false) && ovmf) {
            add("vm.xvga-with-ovmf",
                check::Status::warn,
                fmt::format("VM {}: {} has x-vga=1 with bios: ovmf; Proxmox does not pass x-vga to "
                            "vfio-pci under OVMF, it only hides KVM (kvm=off) and sets vga: none",
                            vmid,
                            entry.key),
                evidence,
                fmt::format("drop x-vga=1 from {} (pt vmconf {} SEL --no-x-vga), or keep it "
                            "knowingly for kvm=off",
                            entry.key,
                            vmid));
        }
        if (h.mapping && context.mappings) {
            const auto* mapping = context.mappings->find(*h.mapping);
            if (!mapping) {
                add("vm.mapping-unknown",
                    check::Status::fail,
                    fmt::format("VM {}: {} uses mapping {} which {} does not define; the VM does "
                                "not start",
                                vmid,
                                entry.key,
                                *h.mapping,
                                k_mapping_file),
                    evidence,
                    fmt::format("pt mapping {} SEL --apply", *h.mapping));
            } else if (std::none_of(mapping->maps.begin(),
                                    mapping->maps.end(),
                                    [&](const MapEntry& m) { return m.node == vm.node; })) {
                add("vm.mapping-no-node-entry",
                    check::Status::fail,
                    fmt::format("VM {}: {} uses mapping {}, which has no entry for node {} where "
                                "the VM lives; it cannot start there",
                                vmid,
                                entry.key,
                                *h.mapping,
                                vm.node),
                    fmt::format(
                        "{}; {}:{}: {}", evidence, k_mapping_file, mapping->line, mapping->id),
                    fmt::format("on node {}: pt mapping {} SEL --apply", vm.node, *h.mapping));
            }
        } else if (h.mapping && !context.mappings) {
            add("vm.mapping-unknown",
                check::Status::fail,
                fmt::format("VM {}: {} uses mapping {} but {} does not exist; the VM does not "
                            "start",
                            vmid,
                            entry.key,
                            *h.mapping,
                            k_mapping_file),
                evidence,
                fmt::format("pt mapping {} SEL --apply", *h.mapping));
        }

        if (!hardware) {
            continue;
        }
        for (const auto& id : h.hosts) {
            const auto functions = functions_of(id, context.topology);
            const auto* dev = context.topology->find(functions.front());
            if (!dev) {
                add("vm.hostpci-missing-device",
                    check::Status::fail,
                    fmt::format("VM {}: {} passes {}, which does not exist on this host (a moved "
                                "card, or a BIOS update that renumbered the buses); the VM does "
                                "not start",
                                vmid,
                                entry.key,
                                id.text),
                    evidence,
                    fmt::format("find the device with `pt iommu-groups --gpu`, then pt vmconf {} "
                                "NEW-ADDRESS --apply (and remove {})",
                                vmid,
                                entry.key));
                continue;
            }
            if (!dev->iommu_group) {
                add("vm.hostpci-not-isolated",
                    check::Status::fail,
                    fmt::format("VM {}: {} ({}) is in no IOMMU group: the IOMMU is off, so "
                                "Proxmox cannot pass it through",
                                vmid,
                                entry.key,
                                id.text),
                    evidence,
                    "pt grub --apply, reboot, then pt iommu-groups");
                continue;
            }
            std::vector<pci::Device> members;
            for (const auto& other : context.topology->devices) {
                if (other.iommu_group == dev->iommu_group) {
                    members.push_back(other);
                }
            }
            const auto verdict = iommu::judge(members, dev->address);
            if (!verdict.isolated) {
                std::vector<std::string> names;
                for (const auto& f : verdict.foreign) {
                    names.push_back(fmt::format(
                        "{}{}", pci::format(f.address), f.driver ? " (" + *f.driver + ")" : ""));
                }
                add("vm.hostpci-not-isolated",
                    check::Status::fail,
                    fmt::format("VM {}: {} ({}) shares IOMMU group {} with {}; Proxmox takes all "
                                "of them from the host when the VM starts",
                                vmid,
                                entry.key,
                                id.text,
                                *dev->iommu_group,
                                fmt::join(names, ", ")),
                    evidence,
                    "put the card in a slot with its own group (pt iommu-groups shows them), or "
                    "pass the whole group knowingly");
            }
            std::vector<std::string> bound;
            for (const auto& member : members) {
                if (!member.is_bridge() && member.driver
                    && !iommu::is_vfio_safe_endpoint_driver(*member.driver)) {
                    bound.push_back(
                        fmt::format("{} ({})", pci::format(member.address), *member.driver));
                }
            }
            // prepare_pci_device (qemu-server PCI.pm) binds nothing for an NVIDIA vGPU (the
            // nvidia driver provides the VFIO device) nor for driver=keep.
            const bool keep = h.driver == std::optional<std::string>("keep");
            if (!bound.empty() && keep && !h.mdev) {
                add("vm.hostpci-not-vfio",
                    check::Status::warn,
                    fmt::format("VM {}: {} ({}) has driver=keep, so Proxmox neither unbinds nor "
                                "binds {}; QEMU opens the device through VFIO, which needs every "
                                "endpoint of the group on a VFIO driver: the VM does not start",
                                vmid,
                                entry.key,
                                id.text,
                                fmt::join(bound, ", ")),
                    evidence,
                    fmt::format("pt bind {} --apply, or remove driver=keep from {}",
                                id.all_functions ? pci::format_slot(id.address)
                                                 : pci::format(id.address),
                                entry.key));
            } else if (!bound.empty() && !h.mdev) {
                add("vm.hostpci-not-vfio",
                    check::Status::warn,
                    fmt::format("VM {}: in the IOMMU group of {} ({}), {} {} not on vfio-pci; "
                                "Proxmox unbinds {} at VM start, which fails while the host "
                                "uses {}",
                                vmid,
                                entry.key,
                                id.text,
                                fmt::join(bound, ", "),
                                bound.size() == 1 ? "is" : "are",
                                bound.size() == 1 ? "it" : "them",
                                bound.size() == 1 ? "it" : "them"),
                    evidence,
                    fmt::format(
                        "pt bind {} --apply (and pt blacklist {} --apply to keep the host "
                        "driver off at boot)",
                        id.all_functions ? pci::format_slot(id.address) : pci::format(id.address),
                        id.all_functions ? pci::format_slot(id.address) : pci::format(id.address)));
            }
        }
    }

    // The same device twice in this VM, or functions of one slot in separate entries.
    for (std::size_t i = 0; i < entries.size(); ++i) {
        for (std::size_t k = i + 1; k < entries.size(); ++k) {
            for (const auto& a : entries[i].hostpci.hosts) {
                for (const auto& b : entries[k].hostpci.hosts) {
                    if (!a.address.same_slot(b.address)) {
                        continue;
                    }
                    const auto evidence =
                        fmt::format("{}; {}",
                                    at(entries[i].line, entries[i].key, entries[i].value),
                                    at(entries[k].line, entries[k].key, entries[k].value));
                    if (overlaps(a, b)) {
                        add("vm.duplicate-slot",
                            check::Status::fail,
                            fmt::format("VM {}: {} and {} both pass {}; Proxmox refuses to start "
                                        "(\"assigned more than once\")",
                                        vmid,
                                        entries[i].key,
                                        entries[k].key,
                                        a.all_functions ? b.text : a.text),
                            evidence,
                            fmt::format("qm set {} --delete {}", vmid, entries[k].key));
                    } else {
                        add("vm.split-slot",
                            check::Status::warn,
                            fmt::format("VM {}: {} and {} pass functions of one slot ({}, {}) as "
                                        "two guest devices; a GPU's functions belong in one "
                                        "entry",
                                        vmid,
                                        entries[i].key,
                                        entries[k].key,
                                        a.text,
                                        b.text),
                            evidence,
                            fmt::format("pt vmconf {} {} --apply (one entry for every function), "
                                        "then qm set {} --delete {}",
                                        vmid,
                                        pci::format_slot(a.address),
                                        vmid,
                                        entries[k].key));
                    }
                }
            }
        }
    }

    // The same device in another VM of the same node: one finding per entry and other VM.
    for (const auto& entry : entries) {
        for (const auto& [other, other_config] : context.others) {
            if (other.vmid == vmid || other.node != vm.node) {
                continue;
            }
            std::vector<std::string> keys;
            std::vector<std::string> lines;
            for (const auto& other_entry : hostpci_entries(other_config)) {
                const auto& hosts = other_entry.hostpci.hosts;
                const bool shared = std::any_of(
                    entry.hostpci.hosts.begin(), entry.hostpci.hosts.end(), [&](const HostId& id) {
                        return std::any_of(hosts.begin(), hosts.end(), [&](const HostId& o) {
                            return overlaps(id, o);
                        });
                    });
                if (shared) {
                    keys.push_back(other_entry.key);
                    lines.push_back(fmt::format("{}:{}: {}: {}",
                                                other.path,
                                                other_entry.line,
                                                other_entry.key,
                                                other_entry.value));
                }
            }
            if (keys.empty()) {
                continue;
            }
            add("vm.device-in-two-vms",
                check::Status::warn,
                fmt::format("VM {}: {} passes a device that VM {} also passes ({}); only one of "
                            "them can run at a time",
                            vmid,
                            entry.key,
                            other.vmid,
                            fmt::join(keys, ", ")),
                fmt::format(
                    "{}; {}", at(entry.line, entry.key, entry.value), fmt::join(lines, "; ")),
                fmt::format(
                    "keep it if the VMs never run together; otherwise qm set {} --delete {}",
                    vmid,
                    entry.key));
        }
    }

    if (const auto version = machine_version(type); version && *version < k_machine_baseline) {
        add("vm.machine-version-old",
            check::Status::warn,
            fmt::format("VM {}: the machine is pinned to {}, older than 6.0, the oldest version "
                        "Proxmox VE 9's QEMU keeps (QEMU drops machine versions after six years); "
                        "the VM will stop starting during PVE 9",
                        vmid,
                        type),
            at(machine->line, "machine", machine->value),
            fmt::format("back up VM {} and move it to a newer version: qm set {} --machine {} "
                        "(the latest; Windows guests keep a pinned one, e.g. {}-10.0, and may "
                        "need drivers redetected)",
                        vmid,
                        vmid,
                        type.starts_with("pc-q35-") ? "q35" : "pc",
                        type.starts_with("pc-q35-") ? "pc-q35" : "pc-i440fx"));
    }
    check_phys_bits(vm, config, context, entries, ovmf, out);

    if (const auto args = config.find("args"); args && has_cpu_option(args->value)) {
        add("vm.args-cpu",
            check::Status::warn,
            fmt::format("VM {}: args: passes -cpu, which QEMU takes instead of Proxmox's whole "
                        "generated -cpu (Hyper-V enlightenments, kvm=off, enforce)",
                        vmid),
            at(args->line, "args", args->value),
            fmt::format("remove -cpu ... from args: and use the cpu: key (qm set {} --cpu "
                        "host,hidden=1; pt vmconf {} SEL --hide-hypervisor)",
                        vmid,
                        vmid));
    }

    if (out.empty()) {
        add("vm.ok",
            check::Status::pass,
            entries.empty() ? fmt::format("VM {}: no hostpci entries", vmid)
                            : fmt::format("VM {}: {} hostpci {}, no problem found",
                                          vmid,
                                          entries.size(),
                                          entries.size() == 1 ? "entry" : "entries"),
            vm.path,
            "");
    }
    return out;
}

bool romfile_stays_in_kvm_dir(std::string_view name) {
    if (name.empty() || name.starts_with('/')) {
        return false;
    }
    std::size_t pos = 0;
    while (pos <= name.size()) {
        const auto next = std::min(name.find('/', pos), name.size());
        if (name.substr(pos, next - pos) == "..") {
            return false;
        }
        pos = next + 1;
    }
    return true;
}

std::vector<std::string> kvm_rom_files(const host::Root& root) {
    std::vector<std::string> out;
    const std::function<void(const std::string&, int)> walk = [&](const std::string& rel,
                                                                  int depth) {
        const auto dir = rel.empty() ? std::string(k_kvm_dir) : host::join(k_kvm_dir, rel);
        for (const auto& name : root.list(dir)) {
            const auto sub = rel.empty() ? name : rel + "/" + name;
            // Links are followed inside the root (a ROM linked from elsewhere counts).
            const auto resolved = root.resolve(host::join(k_kvm_dir, sub));
            if (!resolved) {
                continue;
            }
            std::error_code ec;
            const auto status = std::filesystem::symlink_status(root.map(*resolved), ec);
            if (std::filesystem::is_regular_file(status)) {
                out.push_back(sub);
            } else if (std::filesystem::is_directory(status) && depth < 4) {
                walk(sub, depth + 1);
            }
        }
    };
    walk("", 0);
    std::sort(out.begin(), out.end());
    return out;
}

std::uint64_t bar64_bytes(std::string_view resource) {
    // include/linux/ioport.h: IORESOURCE_MEM 0x200, IORESOURCE_MEM_64 0x100000. The first six
    // lines are BARs 0 to 5 (drivers/pci/pci-sysfs.c resource_show).
    constexpr std::uint64_t k_mem = 0x200;
    constexpr std::uint64_t k_mem64 = 0x100000;
    std::uint64_t total = 0;
    std::size_t pos = 0;
    for (int bar = 0; bar < 6 && pos < resource.size(); ++bar) {
        const auto end = std::min(resource.find('\n', pos), resource.size());
        const auto line = resource.substr(pos, end - pos);
        pos = end + 1;
        std::uint64_t fields[3] = {0, 0, 0};
        std::size_t at = 0;
        bool ok = true;
        for (auto& field : fields) {
            const auto start = line.find("0x", at);
            if (start == std::string_view::npos) {
                ok = false;
                break;
            }
            const auto* first = line.data() + start + 2;
            const auto [next, ec] = std::from_chars(first, line.data() + line.size(), field, 16);
            if (ec != std::errc()) {
                ok = false;
                break;
            }
            at = static_cast<std::size_t>(next - line.data());
        }
        const auto [start, last, flags] = fields;
        if (ok && (flags & k_mem) != 0 && (flags & k_mem64) != 0 && last > start) {
            total += last - start + 1;
        }
    }
    return total;
}

void read_host_facts(LintContext& context, const host::Root& root) {
    context.platform = read_platform(root);
    if (context.topology == nullptr) {
        return;
    }
    // Only the functions some VM passes through are judged (check_phys_bits), so only theirs are
    // read: on an SR-IOV host that is a handful of files instead of thousands.
    std::set<pci::Address> passed_through;
    for (const auto& vm : context.others) {
        for (const auto& entry : hostpci_entries(vm.second)) {
            for (const auto& id : entry.hostpci.hosts) {
                for (const auto& address : functions_of(id, context.topology)) {
                    passed_through.insert(address);
                }
            }
        }
    }
    for (const auto& address : passed_through) {
        const auto path = fmt::format("/sys/bus/pci/devices/{}/resource", pci::format(address));
        if (const auto text = root.read_file_if_exists(path)) {
            if (const auto bytes = bar64_bytes(*text); bytes > 0) {
                context.bar64_bytes[address] = bytes;
            }
        }
    }
}

std::vector<VmLint> lint_vms(const host::Root& root, std::optional<int> vmid) {
    LintContext context;
    const auto topology = pci::scan(root, nullptr);
    context.topology = &topology;
    if (root.exists(k_mapping_file)) {
        context.mappings = parse_mapping_file(root.read_file(k_mapping_file));
    }
    context.kvm_files = kvm_rom_files(root);
    std::vector<VmFile> wanted;
    if (vmid) {
        wanted.push_back(find_vm(root, *vmid));
    }
    for (const auto& vm : find_vms(root)) {
        context.others.emplace_back(vm, VmConfig::parse(root.read_file(vm.path)));
        if (!vmid) {
            wanted.push_back(vm);
        }
    }
    read_host_facts(context, root); // after the configs: it reads what their hostpci entries name
    std::vector<VmLint> out;
    for (const auto& vm : wanted) {
        const auto it = std::find_if(context.others.begin(),
                                     context.others.end(),
                                     [&](const auto& pair) { return pair.first.path == vm.path; });
        out.push_back(VmLint{vm, lint_config(vm, it->second, context)});
    }
    return out;
}

std::vector<check::Finding> lint_vm(const host::Root& root, int vmid) {
    return lint_vms(root, vmid).front().findings;
}

} // namespace pt::proxmox
