// SPDX-License-Identifier: MIT
// vm.* (the VM config lint of pt vmconf --check) and mapping.* (the mapping check), for the VMs
// in scope; also records what the VMs pass through, for the GPU checks.
#include "pt/check/host_context.hpp"
#include "pt/error.hpp"
#include "pt/proxmox/lint.hpp"
#include "pt/proxmox/mapping.hpp"
#include "pt/proxmox/vm_config.hpp"
#include "pt/proxmox/vm_files.hpp"
#include "pt/strings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace pt::check {
namespace {

// "VM 100 config" for a clean lint, "VM 100 config: pcie without q35" for a finding (the id
// without its "vm." or "mapping." prefix, in words); the id itself is in the JSON.
Check wrap(const std::string& prefix, Finding finding) {
    Check c;
    std::string topic = finding.id.substr(finding.id.find('.') + 1);
    std::replace(topic.begin(), topic.end(), '-', ' ');
    const bool clean = topic == "ok" || topic == "valid";
    const std::string subject = prefix.starts_with("VM ") ? prefix + " config" : prefix;
    c.what = clean ? subject : subject + ": " + topic;
    c.finding = std::move(finding);
    return c;
}

bool in_slot(const pci::Address& a, const pci::Address& slot) {
    return a.domain == slot.domain && a.bus == slot.bus && a.device == slot.device;
}

} // namespace

std::vector<Check>
check_vms(HostContext& ctx, std::optional<int> vmid, std::vector<std::string>& notes) {
    // Every VM of the cluster, parsed once: the lint compares them (vm.device-in-two-vms).
    proxmox::LintContext lint;
    lint.topology = &ctx.topology;
    for (auto& file : proxmox::find_vms(ctx.root)) {
        if (!ctx.root.exists(file.path)) {
            notes.push_back(fmt::format("{}: cannot be read", file.path));
            continue;
        }
        auto config = proxmox::VmConfig::parse(ctx.root.read_file(file.path));
        lint.others.emplace_back(std::move(file), std::move(config));
    }
    if (const auto text = ctx.root.read_attr(proxmox::k_mapping_file)) {
        lint.mappings = proxmox::parse_mapping_file(*text);
    }
    lint.kvm_files = proxmox::kvm_rom_files(ctx.root);
    proxmox::read_host_facts(lint, ctx.root); // qemu-server's version, BAR sizes

    std::vector<std::size_t> scope;
    if (vmid) {
        const auto file = proxmox::find_vm(ctx.root, *vmid); // throws for a missing VM
        for (std::size_t i = 0; i < lint.others.size(); ++i) {
            if (lint.others[i].first.path == file.path) {
                scope.push_back(i);
            }
        }
    } else {
        for (std::size_t i = 0; i < lint.others.size(); ++i) {
            if (lint.others[i].first.local) {
                scope.push_back(i);
            }
        }
    }
    const auto node = proxmox::local_node(ctx.root);

    std::vector<Check> out;
    std::set<std::string> used_mappings;
    for (const std::size_t index : scope) {
        const auto& [file, config] = lint.others[index];
        // Proxmox's schema for bios is the enum seabios | ovmf, compared exactly: another
        // spelling ("OVMF") is an invalid value, which Proxmox drops with a warning, so the VM
        // boots SeaBIOS. pt follows Proxmox and says so (vm.bios-invalid).
        const auto bios = config.get("bios");
        const bool ovmf = bios == std::optional<std::string>("ovmf");
        const bool bios_invalid = bios && *bios != "ovmf" && *bios != "seabios";
        bool any_hostpci = false;
        for (const auto& option : config.options()) {
            if (!proxmox::hostpci_index(option.key)) {
                continue;
            }
            any_hostpci = true;
            const auto hostpci = proxmox::parse_hostpci(option.value);
            std::vector<proxmox::HostId> ids = hostpci.hosts;
            if (hostpci.mapping) {
                used_mappings.insert(*hostpci.mapping);
                const auto* m = lint.mappings ? lint.mappings->find(*hostpci.mapping) : nullptr;
                if (m != nullptr && node) {
                    for (const auto& entry : m->maps) {
                        if (entry.node == *node) {
                            ids.insert(ids.end(), entry.paths.begin(), entry.paths.end());
                            break; // the first free entry is what Proxmox reserves
                        }
                    }
                }
            }
            if (!file.local) {
                continue; // another node's devices are not this host's
            }
            for (const auto& id : ids) {
                for (const auto& d : ctx.topology.devices) {
                    if (id.all_functions ? in_slot(d.address, id.address)
                                         : d.address == id.address) {
                        ctx.vm_devices.push_back(
                            {file.vmid, option.key, d.address, ovmf, hostpci.romfile});
                    }
                }
            }
        }
        if (!any_hostpci && !vmid) {
            continue;
        }
        const std::string prefix = fmt::format("VM {}", file.vmid);
        if (bios_invalid) {
            const bool meant_ovmf = to_lower(*bios) == "ovmf";
            out.push_back(wrap(
                prefix,
                {"vm.bios-invalid",
                 Status::fail,
                 fmt::format("VM {}: bios: {} is not a value Proxmox accepts (seabios or ovmf, "
                             "lower case); Proxmox drops the line (\"unable to parse value of "
                             "'bios'\") and the VM boots SeaBIOS{}",
                             file.vmid,
                             *bios,
                             meant_ovmf ? ", not OVMF" : ""),
                 fmt::format("{}: bios: {}", file.path, *bios),
                 fmt::format("qm set {} --bios {}", file.vmid, meant_ovmf ? "ovmf" : "seabios")}));
        }
        for (auto& f : proxmox::lint_config(file, config, lint)) {
            if (bios_invalid && f.id == "vm.ok") {
                continue; // the lint found nothing, but this VM has a problem
            }
            out.push_back(wrap(prefix, std::move(f)));
        }
    }
    for (const auto& id : used_mappings) {
        try {
            for (auto& f : proxmox::check_mappings(ctx.host, id)) {
                out.push_back(wrap("mapping " + id, std::move(f)));
            }
        } catch (const Error& e) {
            out.push_back(wrap("mapping " + id,
                               {"mapping.invalid",
                                Status::fail,
                                e.what(),
                                std::string(proxmox::k_mapping_file),
                                fmt::format("pt mapping {} SEL --apply", id)}));
        }
    }
    return out;
}

} // namespace pt::check
