// SPDX-License-Identifier: MIT
#include "pt/complete/candidates.hpp"

#include "pt/edit/journal.hpp"
#include "pt/error.hpp"
#include "pt/grub/plan.hpp"
#include "pt/host/root.hpp"
#include "pt/kernel/cmdline.hpp"
#include "pt/kernel/host_facts.hpp"
#include "pt/kernel/param_values.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/address.hpp"
#include "pt/pci/class_code.hpp"
#include "pt/pci/sysfs_attr.hpp"
#include "pt/proxmox/mapping.hpp"
#include "pt/proxmox/vm_files.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>

namespace pt::complete {
namespace {

constexpr std::string_view k_bus_devices = "/sys/bus/pci/devices";

struct Function {
    pci::Address address;
    std::optional<std::uint32_t> class_code;
    std::optional<std::string> id; // "10de:2204"
    std::string description;       // "0300 10de:2204 vfio-pci"
};

// An attribute of a function; nullopt when it is missing or unreadable (completion offers what
// it can read).
std::optional<std::string> attr(const host::Root& root, const std::string& dir, const char* name) {
    try {
        return root.read_attr(host::join(dir, name));
    } catch (const Error&) {
        return std::nullopt;
    }
}

// One uevent read per function (class, IDs and driver in one file); the separate attributes
// when an old or copied tree has no uevent.
Function read_function(const host::Root& root, const pci::Address& address) {
    Function f{address, std::nullopt, std::nullopt, {}};
    const std::string dir = host::join(k_bus_devices, pci::format(address));
    const auto uevent = attr(root, dir, "uevent");
    pci::Uevent ue = uevent ? pci::parse_uevent(*uevent) : pci::Uevent{};
    if (!ue.class_code || !ue.vendor || !ue.device) {
        const auto hex = [&](const char* name) -> std::optional<std::uint32_t> {
            const auto text = attr(root, dir, name);
            return text ? pci::parse_hex_attr(*text) : std::nullopt;
        };
        ue.class_code = hex("class");
        const auto id16 = [&](const char* name) -> std::optional<std::uint16_t> {
            const auto value = hex(name);
            if (!value || *value > 0xffffU) {
                return std::nullopt;
            }
            return static_cast<std::uint16_t>(*value);
        };
        ue.vendor = id16("vendor");
        ue.device = id16("device");
        try {
            ue.driver = root.link_name(host::join(dir, "driver"));
        } catch (const Error&) {
            ue.driver.reset();
        }
    }
    f.class_code = ue.class_code;
    std::vector<std::string> parts;
    if (f.class_code) {
        parts.push_back(pci::format_class_short(*f.class_code));
    }
    if (ue.vendor && ue.device) {
        f.id = fmt::format("{:04x}:{:04x}", *ue.vendor, *ue.device);
        parts.push_back(*f.id);
    }
    if (ue.driver) {
        parts.push_back(*ue.driver);
    }
    f.description = fmt::format("{}", fmt::join(parts, " "));
    return f;
}

// The functions whose address `wanted` accepts (an address filter costs nothing; reading a
// function costs a file), in address order.
template <typename Wanted>
std::vector<Function> read_functions(const host::Root& root, Wanted wanted) {
    std::vector<pci::Address> addresses;
    for (const auto& name : root.list(k_bus_devices)) {
        if (const auto address = pci::parse_address(name); address && wanted(*address)) {
            addresses.push_back(*address);
        }
    }
    std::sort(addresses.begin(), addresses.end());
    std::vector<Function> out;
    out.reserve(addresses.size());
    for (const auto& address : addresses) {
        out.push_back(read_function(root, address));
    }
    return out;
}

std::vector<Function> read_functions(const host::Root& root) {
    return read_functions(root, [](const pci::Address&) { return true; });
}

bool is_endpoint(const Function& f) {
    // Base class 06 is every kind of bridge: host, ISA/LPC, PCI-to-PCI (root and downstream
    // ports). None of them is a device to pass through or bind.
    return f.class_code && pci::base_class(*f.class_code) != 0x06;
}

// "81:00" for domain 0000, "10000:01:00" otherwise (the full slot form).
std::string short_slot(const pci::Address& a) {
    return fmt::format("{:02x}:{:02x}", a.bus, a.device);
}

} // namespace

std::vector<Candidate> starting_with(std::vector<Candidate> candidates, std::string_view prefix) {
    std::erase_if(candidates, [&](const Candidate& c) {
        return !std::string_view(c.value).starts_with(prefix);
    });
    return candidates;
}

std::vector<Candidate>
device_selectors(const host::Root& root, std::string_view prefix, Devices which) {
    // The full form of domain 0000 only once the prefix can only be one ("000..."); a prefix
    // of one or two digits is a bus number.
    const bool full_zero = prefix.size() >= 3
                           && std::string_view("0000:").starts_with(
                               prefix.substr(0, std::min<std::size_t>(prefix.size(), 5)));
    const auto slot_form = [&](const pci::Address& a) {
        return a.domain != 0 || full_zero ? pci::format_slot(a) : short_slot(a);
    };
    const auto function_form = [&](const pci::Address& a) {
        return a.domain != 0 || full_zero ? pci::format(a)
                                          : fmt::format("{}.{:x}", short_slot(a), a.function);
    };
    // A function's slot form is a prefix of its function form, so that one decides.
    std::vector<Function> functions = read_functions(root, [&](const pci::Address& a) {
        return std::string_view(function_form(a)).starts_with(prefix);
    });
    if (which == Devices::endpoints) {
        std::erase_if(functions, [](const Function& f) { return !is_endpoint(f); });
    }
    std::vector<Candidate> out;
    std::optional<pci::Address> last_slot;
    const auto add = [&](std::string value, std::string description) {
        if (std::string_view(value).starts_with(prefix)) {
            out.push_back({std::move(value), std::move(description)});
        }
    };
    for (const auto& f : functions) {
        if (!last_slot || !last_slot->same_slot(f.address)) {
            last_slot = f.address;
            add(slot_form(f.address), "every function of the slot");
        }
        add(function_form(f.address), f.description);
    }
    return out;
}

std::vector<Candidate> endpoint_ids(const host::Root& root) {
    std::vector<Candidate> out;
    std::set<std::string> seen;
    for (const auto& f : read_functions(root)) {
        if (!is_endpoint(f)) {
            continue;
        }
        if (f.id && seen.insert(*f.id).second) {
            out.push_back({*f.id, fmt::format("{} ({})", f.description, pci::format(f.address))});
        }
    }
    return out;
}

std::vector<Candidate> iommu_groups(const host::Root& root) {
    std::vector<std::pair<long, std::string>> numbered;
    for (const auto& name : root.list("/sys/kernel/iommu_groups")) {
        long n = 0;
        const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
        if (ec == std::errc() && end == name.data() + name.size()) {
            numbered.emplace_back(n, name);
        }
    }
    std::sort(numbered.begin(), numbered.end());
    std::vector<Candidate> out;
    for (auto& [n, name] : numbered) {
        // No description: listing every group's devices would double the cost on a host with
        // thousands of groups; pt iommu-groups --group N shows them.
        out.push_back({std::move(name), ""});
    }
    return out;
}

namespace {

std::vector<Candidate> guest_ids(const std::vector<proxmox::VmFile>& guests) {
    std::map<int, std::vector<std::string>> nodes;
    for (const auto& guest : guests) {
        nodes[guest.vmid].push_back(guest.node);
    }
    std::vector<Candidate> out;
    for (const auto& [id, names] : nodes) {
        out.push_back({std::to_string(id), fmt::format("{}", fmt::join(names, " "))});
    }
    return out;
}

} // namespace

std::vector<Candidate> ctids(const host::Root& root) {
    try {
        return guest_ids(proxmox::find_cts(root));
    } catch (const Error&) {
        return {};
    }
}

std::vector<Candidate> vmids(const host::Root& root) {
    std::map<int, std::vector<std::string>> nodes;
    try {
        for (const auto& vm : proxmox::find_vms(root)) {
            nodes[vm.vmid].push_back(vm.node);
        }
    } catch (const Error&) {
        return {};
    }
    std::vector<Candidate> out;
    for (const auto& [vmid, names] : nodes) {
        out.push_back({std::to_string(vmid), fmt::format("{}", fmt::join(names, " "))});
    }
    return out;
}

std::vector<Candidate> mapping_ids(const host::Root& root) {
    std::vector<Candidate> out;
    try {
        const auto text = root.read_file_if_exists("/etc/pve/mapping/pci.cfg");
        if (!text) {
            return out;
        }
        for (const auto& mapping : proxmox::parse_mapping_file(*text).mappings) {
            out.push_back({mapping.id, fmt::format("{} node entries", mapping.maps.size())});
        }
    } catch (const Error&) {
        out.clear();
    }
    return out;
}

std::vector<Candidate> journal_entries(const host::Root& root) {
    std::vector<Candidate> out;
    try {
        const auto entries = edit::list_entries(root);
        for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
            if (it->status != edit::EntryStatus::undone) {
                out.push_back(
                    {it->id, fmt::format("{} ({})", it->title, edit::to_string(it->status))});
            }
        }
    } catch (const Error&) {
        // A damaged entry: offer the names, pt undo explains what is wrong.
        out.clear();
        const auto names = root.list(edit::k_journal_dir);
        for (auto it = names.rbegin(); it != names.rend(); ++it) {
            out.push_back({*it, ""});
        }
    }
    return out;
}

std::vector<Candidate> params_to_add(const host::Root& root, std::string_view prefix) {
    for (const std::string_view list : {"vfio-pci.ids=", "vfio_pci.ids="}) {
        if (prefix.starts_with(list)) {
            // The IDs already typed stay; the last item is completed.
            const std::string_view typed = prefix.substr(
                0,
                prefix.rfind(',') == std::string_view::npos ? list.size() : prefix.rfind(',') + 1);
            std::vector<Candidate> out;
            for (auto& id : endpoint_ids(root)) {
                out.push_back({std::string(typed) + id.value, id.description});
            }
            return starting_with(std::move(out), prefix);
        }
    }
    // What pt itself writes (pt-grub(1)), decided by the ground truth's kernel parameter table.
    // Left out: pcie_acs_override (pt warns on it; --acs-override is the way, with the
    // warning), vfio_iommu_type1.allow_unsafe_interrupts (the modprobe.d option is the documented
    // place, and it is unsafe), and intel_iommu=on on an AMD host.
    std::vector<Candidate> known = {
        {"iommu=pt", "identity DMA for host devices (changes no IOMMU group)"},
        {"initcall_blacklist=sysfb_init", "no firmware framebuffer (what --sysfb-off adds)"},
        {"vfio-pci.ids=", "vendor:device IDs vfio-pci claims at boot"},
    };
    std::optional<std::string> cpuinfo;
    try {
        cpuinfo = root.read_file_if_exists("/proc/cpuinfo");
    } catch (const Error&) {
        cpuinfo.reset();
    }
    if (!cpuinfo || kernel::parse_cpu_vendor(*cpuinfo) != kernel::CpuVendor::amd) {
        known.insert(known.begin() + 1,
                     {"intel_iommu=on", "the Intel IOMMU (on by default from kernel 6.8)"});
    }
    std::vector<Candidate> out;
    for (const auto& c : known) {
        // Never folklore or a value the kernel rejects, whatever the list above says.
        const auto params = kernel::parse_cmdline(c.value);
        const bool folklore = std::any_of(params.begin(), params.end(), [](const auto& p) {
            return kernel::find_folklore(p) != nullptr;
        });
        if (!folklore && (c.value.ends_with('=') || kernel::invalid_values(params).empty())) {
            out.push_back(c);
        }
    }
    return starting_with(std::move(out), prefix);
}

std::vector<Candidate> params_to_remove(const host::Root& root) {
    std::vector<Candidate> out;
    try {
        const model::Host host(root);
        const boot::Status& status = host.boot();
        if (!status.configured) {
            return out;
        }
        std::set<std::string> seen;
        for (const auto& p : kernel::parse_cmdline(*status.configured)) {
            const std::string text = p.value ? fmt::format("{}={}", p.name, *p.value) : p.name;
            if (!grub::reserved_param_reason(p.name) && seen.insert(text).second) {
                const kernel::Folklore* item = kernel::find_folklore(p);
                out.push_back({text, item != nullptr ? "folklore: remove it" : ""});
            }
        }
    } catch (const Error&) {
        out.clear();
    }
    return out;
}

std::vector<Candidate> rom_files(const host::Root& root) {
    std::vector<Candidate> out;
    for (auto& name : root.list("/usr/share/kvm")) {
        out.push_back({std::move(name), ""});
    }
    return out;
}

std::vector<Candidate> class_prefixes() {
    return {{"03", "display controllers"},
            {"0300", "VGA"},
            {"0302", "3D controller"},
            {"0380", "other display controller"},
            {"01", "storage"},
            {"0108", "NVMe"},
            {"02", "network"},
            {"0c03", "USB"}};
}

} // namespace pt::complete
