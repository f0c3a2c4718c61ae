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

std::vector<Entry> hostpci_entries(const std::vector<Option>& options) {
    std::map<std::string, Entry> by_key; // last occurrence wins, as in qemu-server
    for (const auto& option : options) {
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

std::vector<Entry> hostpci_entries(const VmConfig& config) {
    return hostpci_entries(config.options());
}

// The option values one pass of the lint judges: the main section (what a running VM runs
// with), or the main section with [PENDING] applied (what the VM starts with next).
class View {
public:
    explicit View(std::vector<Option> options)
        : m_options(std::move(options)) {}

    // The last occurrence of `key`, as qemu-server reads it.
    std::optional<Option> find(std::string_view key) const {
        std::optional<Option> found;
        for (const auto& option : m_options) {
            if (option.key == key) {
                found = option;
            }
        }
        return found;
    }

    const std::vector<Option>& options() const { return m_options; }

    // Whether the value on `line` comes from [PENDING] (evidence says so).
    bool pending_line(int line) const {
        return std::any_of(m_options.begin(), m_options.end(), [&](const Option& o) {
            return o.pending && o.line == line;
        });
    }

private:
    std::vector<Option> m_options;
};

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
                     const View& config,
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

// The entry's value without `key`, every other part as written.
std::string without_item(const HostPci& hostpci, std::string_view key) {
    auto copy = hostpci;
    remove_item(copy, key);
    return format_hostpci(copy);
}

// The entry's value passing `host` instead of its IDs or mapping.
std::string with_host(const HostPci& hostpci, std::string_view host) {
    auto copy = hostpci;
    set_item(copy, "host", host);
    return format_hostpci(copy);
}

std::string lower_ids(const Entry& entry) {
    // Only the host IDs; every other part stays as written.
    HostPci hostpci = entry.hostpci;
    for (auto& item : hostpci.items) {
        if (item.key == "host") {
            item.value = to_lower(item.value);
        }
    }
    return format_hostpci(hostpci);
}

// "PATH:LINE: key: value", with "[PENDING] " before the key when the value comes from there.
std::string evidence_at(
    const VmFile& vm, const View& view, int line, std::string_view key, std::string_view value) {
    return fmt::format(
        "{}:{}: {}{}: {}", vm.path, line, view.pending_line(line) ? "[PENDING] " : "", key, value);
}

// A function a GPU brings along in its own slot: its HDMI audio (0403), its USB-C controller
// (0c03) and USB-C UCSI function (0c80), or a second display function.
bool is_gpu_companion(const pci::Device& dev) {
    const auto subclass = dev.class_code >> 8U;
    return dev.is_display() || subclass == 0x0403 || subclass == 0x0c03 || subclass == 0x0c80;
}

// vm.split-slot: two entries pass functions of one slot. Only a GPU's slot is judged (its
// display function with its own audio/USB functions belong in one guest device, as on the card);
// a NIC's functions or SR-IOV virtual functions are separate devices by design. nullopt when the
// slot is not a GPU's.
std::optional<check::Finding> split_slot(const VmFile& vm,
                                         const pci::Topology& topology,
                                         const Entry& first,
                                         const Entry& second,
                                         const HostId& a,
                                         const HostId& b) {
    const auto* dev_a = topology.find(a.address);
    const auto* dev_b = topology.find(b.address);
    if (dev_a == nullptr || dev_b == nullptr || dev_a->physfn || dev_b->physfn
        || !(dev_a->is_display() || dev_b->is_display()) || !is_gpu_companion(*dev_a)
        || !is_gpu_companion(*dev_b)) {
        return std::nullopt;
    }
    bool whole_slot_is_gpu = true;
    for (const auto& dev : topology.devices) {
        if (dev.address.same_slot(a.address) && !is_gpu_companion(dev)) {
            whole_slot_is_gpu = false;
        }
    }
    const auto fix =
        whole_slot_is_gpu
            ? fmt::format("pt vmconf {} {} --apply (one entry for every function), then qm set "
                          "{} --delete {}",
                          vm.vmid,
                          pci::format_slot(a.address),
                          vm.vmid,
                          second.key)
            : fmt::format("write both functions in {} (host={};{}), then qm set {} --delete {}",
                          first.key,
                          a.text,
                          b.text,
                          vm.vmid,
                          second.key);
    return check::Finding{
        "vm.split-slot",
        check::Status::warn,
        fmt::format("VM {}: {} and {} pass functions of one GPU ({}, {}) as two guest devices; "
                    "the guest driver expects them in one device, as on the card",
                    vm.vmid,
                    first.key,
                    second.key,
                    a.text,
                    b.text),
        "",
        fix};
}

// args: of a macOS guest: Apple's SMC device (-device isa-applesmc,osk=...) marks it, and such a
// guest needs the -cpu it passes (a Penryn/Cascadelake model with its flags).
bool is_macos_args(std::string_view args) {
    const auto lower = to_lower(args);
    return lower.find("isa-applesmc") != std::string::npos
           || lower.find("osk=") != std::string::npos;
}

// The devices an entry stands for on this host (PCI.pm parse_hostpci: every ID through
// SysFSTools::lspci, a slot ID giving all its functions), per alternative: one alternative for
// host=, one per map entry of this node for mapping=. Without the hardware each ID counts once.
std::vector<std::vector<pci::Address>>
alternatives_of(const VmFile& vm, const LintContext& context, const HostPci& hostpci) {
    const auto* topology = vm.local ? context.topology : nullptr;
    const auto expand = [&](const std::vector<HostId>& ids) {
        std::vector<pci::Address> out;
        for (const auto& id : ids) {
            for (const auto& address : functions_of(id, topology)) {
                out.push_back(address);
            }
        }
        return out;
    };
    std::vector<std::vector<pci::Address>> out;
    if (!hostpci.hosts.empty()) {
        out.push_back(expand(hostpci.hosts));
    } else if (hostpci.mapping && context.mappings) {
        if (const auto* mapping = context.mappings->find(*hostpci.mapping)) {
            for (const auto& map : mapping->maps) {
                if (map.node == vm.node && !map.paths.empty()) {
                    out.push_back(expand(map.paths));
                }
            }
        }
    }
    return out;
}

// PCI.pm parse_hostpci_devices: the rules of legacy-igd=1, each a die at VM start (quoted).
void check_legacy_igd(const VmFile& vm,
                      const View& view,
                      const LintContext& context,
                      const std::vector<Entry>& entries,
                      bool q35,
                      std::vector<check::Finding>& out) {
    const auto vga = view.find("vga");
    const auto machine = view.find("machine");
    bool seen = false;
    for (const auto& entry : entries) {
        const auto& h = entry.hostpci;
        if (!h.legacy_igd.value_or(false) || !h.problems.empty()) {
            continue;
        }
        const auto evidence = evidence_at(vm, view, entry.line, entry.key, entry.value);
        const auto fail = [&](std::string_view proxmox,
                              std::string why,
                              std::string extra_evidence,
                              std::string fix) {
            out.push_back(check::Finding{
                "vm.legacy-igd",
                check::Status::fail,
                fmt::format("VM {}: {} has legacy-igd=1 {}; Proxmox refuses to start it (\"{}\")",
                            vm.vmid,
                            entry.key,
                            why,
                            proxmox),
                extra_evidence.empty() ? evidence : evidence + "; " + extra_evidence,
                std::move(fix)});
        };
        if (seen) {
            fail("only one device can be assigned in legacy-igd mode",
                 "but another entry has it too",
                 "",
                 fmt::format("keep legacy-igd=1 on one entry: qm set {} --{} {}",
                             vm.vmid,
                             entry.key,
                             without_item(h, "legacy-igd")));
        }
        seen = true;
        if (!vga || vga->value != "none") {
            fail("legacy IGD assignment requires VGA mode to be 'none'",
                 vga ? fmt::format("with vga: {}", vga->value) : "without a vga: line",
                 vga ? evidence_at(vm, view, vga->line, "vga", vga->value) : "",
                 fmt::format("qm set {} --vga none", vm.vmid));
        }
        if (h.rombar && !*h.rombar) {
            fail("legacy IGD assignment requires rombar to be enabled",
                 "with rombar=0",
                 "",
                 fmt::format("qm set {} --{} {}", vm.vmid, entry.key, without_item(h, "rombar")));
        }
        if (h.x_vga.value_or(false)) {
            fail("legacy IGD assignment is not compatible with x-vga",
                 "with x-vga=1",
                 "",
                 fmt::format("qm set {} --{} {}", vm.vmid, entry.key, without_item(h, "x-vga")));
        }
        if (h.mdev) {
            fail("legacy IGD assignment is not compatible with mdev",
                 fmt::format("with mdev={}", *h.mdev),
                 "",
                 "choose one: the whole iGPU in legacy mode (drop mdev=) or a mediated device "
                 "(drop legacy-igd=1)");
        }
        if (q35) {
            fail("legacy IGD assignment is not compatible with q35",
                 fmt::format("on the q35 machine {}", machine ? machine->value : "q35"),
                 machine ? evidence_at(vm, view, machine->line, "machine", machine->value) : "",
                 fmt::format("qm set {} --machine pc (legacy mode needs i440fx), or drop "
                             "legacy-igd=1 and pass the iGPU in UPT mode",
                             vm.vmid));
        }
        const auto alternatives = alternatives_of(vm, context, h);
        if (!alternatives.empty() && alternatives.front().size() > 1) {
            fail("legacy IGD assignment is not compatible with multifunction devices",
                 fmt::format("on {} functions", alternatives.front().size()),
                 "",
                 fmt::format("pass 0000:00:02.0 alone: qm set {} --{} {}",
                             vm.vmid,
                             entry.key,
                             with_host(h, "0000:00:02.0")));
        }
        if (alternatives.size() > 1) {
            fail("legacy IGD assignment is not compatible with alternate devices",
                 fmt::format("on mapping {}, which has {} devices on node {}",
                             h.mapping.value_or(""),
                             alternatives.size(),
                             vm.node),
                 "",
                 fmt::format("pass the iGPU as host=0000:00:02.0, or keep one device for node {} "
                             "in the mapping",
                             vm.node));
        }
        if (!h.hosts.empty()
            && (h.hosts.front().address.device != 2 || h.hosts.front().address.function != 0)) {
            fail("legacy IGD assignment only works for devices on host bus 00:02.0",
                 fmt::format("on {}", h.hosts.front().text),
                 "",
                 fmt::format("legacy mode is for the Intel iGPU at 00:02.0; drop legacy-igd=1 "
                             "from {}",
                             entry.key));
        }
    }
}

// PCI.pm parse_hostpci: mdev= on an entry that stands for several functions dies at start.
void check_mdev_multifunction(const VmFile& vm,
                              const View& view,
                              const LintContext& context,
                              const std::vector<Entry>& entries,
                              std::vector<check::Finding>& out) {
    for (const auto& entry : entries) {
        const auto& h = entry.hostpci;
        if (!h.mdev || !h.problems.empty()) {
            continue;
        }
        for (const auto& alternative : alternatives_of(vm, context, h)) {
            if (alternative.size() <= 1) {
                continue;
            }
            const auto function0 =
                pci::format(h.hosts.empty() ? alternative.front() : h.hosts.front().address);
            out.push_back(check::Finding{
                "vm.mdev-multifunction",
                check::Status::fail,
                fmt::format("VM {}: {} asks for a mediated device (mdev={}) on {} functions; "
                            "Proxmox refuses to start it (\"cannot use mediated device with "
                            "multifunction device\")",
                            vm.vmid,
                            entry.key,
                            *h.mdev,
                            alternative.size()),
                evidence_at(vm, view, entry.line, entry.key, entry.value),
                fmt::format("name the one function that provides the type: qm set {} --{} {}",
                            vm.vmid,
                            entry.key,
                            with_host(h, function0))});
            break;
        }
    }
}

// PCI.pm choose_hostpci_devices: each entry of a mapping takes one of the node's devices;
// with one device a second entry dies "device '...' assigned more than once", with several the
// entry after the last free one dies "could not find a free device for 'hostpciN'".
void check_mapping_exhausted(const VmFile& vm,
                             const View& view,
                             const LintContext& context,
                             const std::vector<Entry>& entries,
                             std::vector<check::Finding>& out) {
    std::map<std::string, std::vector<const Entry*>> by_mapping;
    for (const auto& entry : entries) {
        if (entry.hostpci.mapping && entry.hostpci.hosts.empty() && entry.hostpci.problems.empty()
            && !entry.hostpci.mdev) {
            by_mapping[*entry.hostpci.mapping].push_back(&entry);
        }
    }
    for (const auto& [id, users] : by_mapping) {
        const auto alternatives = alternatives_of(vm, context, users.front()->hostpci);
        if (alternatives.empty() || users.size() <= alternatives.size()) {
            continue;
        }
        std::vector<std::string> evidence;
        for (const auto* entry : users) {
            evidence.push_back(evidence_at(vm, view, entry->line, entry->key, entry->value));
        }
        for (std::size_t i = alternatives.size(); i < users.size(); ++i) {
            const auto proxmox =
                alternatives.size() == 1
                    ? fmt::format("device '{}' assigned more than once",
                                  pci::format(alternatives.front().front()))
                    : fmt::format("could not find a free device for '{}'", users[i]->key);
            out.push_back(check::Finding{
                "vm.mapping-exhausted",
                check::Status::fail,
                fmt::format("VM {}: {} entries use mapping {}, which has {} device{} on node {}; "
                            "{} gets none and Proxmox refuses to start the VM (\"{}\")",
                            vm.vmid,
                            users.size(),
                            id,
                            alternatives.size(),
                            alternatives.size() == 1 ? "" : "s",
                            vm.node,
                            users[i]->key,
                            proxmox),
                fmt::format("{}", fmt::join(evidence, "; ")),
                fmt::format("qm set {} --delete {}, or add a device of node {} to the mapping "
                            "(pt mapping {} SEL --apply)",
                            vm.vmid,
                            users[i]->key,
                            vm.node,
                            id)});
        }
    }
}

// QemuConfig check_lock (pve-guest-common AbstractConfig.pm): "VM is locked (LOCK)".
void check_lock(const VmFile& vm, const View& view, std::vector<check::Finding>& out) {
    const auto lock = view.find("lock");
    if (!lock) {
        return;
    }
    const auto evidence = evidence_at(vm, view, lock->line, "lock", lock->value);
    if (lock->value == "suspended") {
        out.push_back(check::Finding{
            "vm.locked",
            check::Status::warn,
            fmt::format("VM {}: the VM is hibernated (lock: suspended); qm start resumes it from "
                        "its saved state, and Proxmox refuses other changes until then (\"VM is "
                        "locked (suspended)\"); pt refuses to edit it",
                        vm.vmid),
            evidence,
            fmt::format("qm start {} (resume), then shut it down before changing devices",
                        vm.vmid)});
        return;
    }
    out.push_back(check::Finding{
        "vm.locked",
        check::Status::warn,
        fmt::format("VM {}: the config is locked ({}); until the lock goes Proxmox refuses to "
                    "start or change the VM (\"VM is locked ({})\"), and pt refuses to edit it",
                    vm.vmid,
                    lock->value,
                    lock->value),
        evidence,
        fmt::format("wait for the {} job to finish; only when you know no job holds it any more: "
                    "qm unlock {}",
                    lock->value,
                    vm.vmid)});
}

} // namespace

// The CPU types qemu-server's phys-bits check covers: the backend default kvm64, qemu64, and the
// built-in x86-64-vN models whose reported model is qemu64 (CPUConfig.pm $builtin_models,
// check_phys_bits_above_40_compat); they are also the models that name themselves QEMU's to the
// guest. nullopt for "host" and every other model.
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

bool any_failed(const std::vector<check::Finding>& findings) {
    return std::any_of(findings.begin(), findings.end(), [](const check::Finding& f) {
        return f.status == check::Status::fail;
    });
}

namespace {

std::vector<check::Finding>
lint_view(const VmFile& vm, const View& config, const LintContext& context) {
    std::vector<check::Finding> out;
    const int vmid = vm.vmid;
    const auto at = [&](int line, std::string_view key, std::string_view value) {
        return evidence_at(vm, config, line, key, value);
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
    const auto entries = hostpci_entries(config.options());
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
                fmt::format("{}; {}", evidence, at(bios->line, "bios", bios->value)),
                fmt::format("drop x-vga=1 from {} (pt vmconf {} SEL --compute), or keep it "
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
                    } else if (hardware) {
                        if (auto finding =
                                split_slot(vm, *context.topology, entries[i], entries[k], a, b)) {
                            finding->evidence = evidence;
                            out.push_back(std::move(*finding));
                        }
                    }
                }
            }
        }
    }

    // The same device in another VM of the same node: one finding per entry and other VM.
    for (const auto& entry : entries) {
        for (const auto& [other, other_config] : context.others) {
            // A template never runs (QemuServer.pm vm_start), so it holds no device.
            const auto other_template = other_config.get("template");
            if (other.vmid == vmid || other.node != vm.node
                || (other_template && parse_bool(*other_template).value_or(false))) {
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
        if (is_macos_args(args->value)) {
            add("vm.args-cpu",
                check::Status::pass,
                fmt::format("VM {}: args: passes -cpu for a macOS guest (isa-applesmc): macOS "
                            "needs its own -cpu (a CPU model it knows, with its flags), which "
                            "Proxmox's cpu: key cannot express; keep it",
                            vmid),
                at(args->line, "args", args->value),
                "");
        } else {
            add("vm.args-cpu",
                check::Status::warn,
                fmt::format("VM {}: args: passes -cpu, which QEMU takes instead of Proxmox's "
                            "whole generated -cpu (Hyper-V enlightenments, kvm=off, enforce)",
                            vmid),
                at(args->line, "args", args->value),
                fmt::format("remove -cpu ... from args: and use the cpu: key (qm set {} --cpu "
                            "host,hidden=1; pt vmconf {} --cpu host --hide-hypervisor)",
                            vmid,
                            vmid));
        }
    }
    check_legacy_igd(vm, config, context, entries, q35, out);
    check_mdev_multifunction(vm, config, context, entries, out);
    check_mapping_exhausted(vm, config, context, entries, out);
    check_lock(vm, config, out);

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

} // namespace

namespace {

// "VM 101: ..." -> "VM 101 (LABEL): ...": which state of the config a finding is about.
void label_findings(std::vector<check::Finding>& findings, int vmid, std::string_view label) {
    const auto prefix = fmt::format("VM {}: ", vmid);
    for (auto& finding : findings) {
        if (finding.summary.starts_with(prefix)) {
            finding.summary =
                fmt::format("VM {} ({}): {}", vmid, label, finding.summary.substr(prefix.size()));
        }
    }
}

bool same_finding(const check::Finding& a, const check::Finding& b) {
    return a.id == b.id && a.summary == b.summary && a.fix == b.fix;
}

// A running VM with [PENDING] changes is judged twice: as it runs (the main section) and as it
// starts next (the changes applied). A finding of both states is reported once, unlabelled.
std::vector<check::Finding> merge_running_and_next(std::vector<check::Finding> now,
                                                   std::vector<check::Finding> next,
                                                   int vmid) {
    const auto is_ok = [](const check::Finding& f) {
        return f.id == "vm.ok";
    };
    std::vector<check::Finding> both;
    std::vector<check::Finding> now_only;
    for (auto& finding : now) {
        if (is_ok(finding)) {
            continue;
        }
        const auto it = std::find_if(next.begin(), next.end(), [&](const check::Finding& f) {
            return same_finding(f, finding);
        });
        if (it != next.end()) {
            both.push_back(std::move(*it));
            next.erase(it);
        } else {
            now_only.push_back(std::move(finding));
        }
    }
    std::vector<check::Finding> next_only;
    for (auto& finding : next) {
        if (!is_ok(finding)) {
            next_only.push_back(std::move(finding));
        }
    }
    label_findings(now_only,
                   vmid,
                   "running; its [PENDING] changes end this at the next full stop "
                   "and start");
    label_findings(next_only,
                   vmid,
                   "from its next full stop and start, when its [PENDING] "
                   "changes apply");
    std::vector<check::Finding> out = std::move(both);
    out.insert(out.end(), now_only.begin(), now_only.end());
    out.insert(out.end(), next_only.begin(), next_only.end());
    return out;
}

} // namespace

std::vector<check::Finding>
lint_config(const VmFile& vm, const VmConfig& config, const LintContext& context) {
    // QemuServer.pm vm_start: "you can't start a vm if it's a template"; cleanup_pci_devices:
    // "templates don't use pci devices". Nothing of a template runs, so nothing is judged.
    if (const auto is_template = config.get("template");
        is_template && parse_bool(*is_template).value_or(false)) {
        const auto entries = hostpci_entries(config);
        return {check::Finding{
            "vm.template",
            check::Status::skip,
            fmt::format("VM {} is a template: Proxmox never starts it (\"you can't start a vm if "
                        "it's a template\"){}",
                        vm.vmid,
                        entries.empty() ? std::string()
                                        : fmt::format("; every clone made from it gets its {} "
                                                      "hostpci {}, which pt vmconf --check "
                                                      "judges there",
                                                      entries.size(),
                                                      entries.size() == 1 ? "entry" : "entries")),
            vm.path,
            ""}};
    }
    const View main(config.options());
    if (!config.has_pending_changes()) {
        return lint_view(vm, main, context);
    }
    const View next(config.effective_options());
    if (context.running_vms.count(vm.path) == 0) {
        // QemuServer.pm vm_start applies [PENDING] before it builds the command line.
        auto findings = lint_view(vm, next, context);
        label_findings(
            findings, vm.vmid, "stopped; judged as it starts, with its [PENDING] values");
        return findings;
    }
    auto findings =
        merge_running_and_next(lint_view(vm, main, context), lint_view(vm, next, context), vm.vmid);
    if (findings.empty()) {
        findings.push_back(check::Finding{
            "vm.ok",
            check::Status::pass,
            fmt::format("VM {}: no problem found, as it runs nor with its [PENDING] changes",
                        vm.vmid),
            vm.path,
            ""});
    }
    return findings;
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
        if (vm.local && running_pid(root, vm.vmid)) {
            context.running_vms.insert(vm.path);
        }
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
