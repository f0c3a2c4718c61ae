// SPDX-License-Identifier: MIT
#include "pt/kernel/param_values.hpp"

#include "pt/strings.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace pt::kernel {
namespace {

// The IOMMU parsers compare each comma option with strncmp(option, known, strlen(known)), so an
// option that starts with a known word counts as that word; pt accepts what they accept.
bool known_prefix(std::string_view option, const std::vector<std::string_view>& known) {
    return std::any_of(
        known.begin(), known.end(), [&](std::string_view k) { return option.starts_with(k); });
}

const std::vector<std::string_view> k_amd_iommu = {"fullflush",
                                                   "force_enable",
                                                   "off",
                                                   "force_isolation",
                                                   "pgtbl_v1",
                                                   "pgtbl_v2",
                                                   "irtcachedis",
                                                   "nohugepages",
                                                   "pgsize_4k"};

// relax_rmrr exists on Proxmox kernels only (pve-kernel patch "allow opt-in to allow pass-through
// on broken hardware").
const std::vector<std::string_view> k_intel_iommu = {"on",
                                                     "off",
                                                     "igfx_off",
                                                     "sp_off",
                                                     "sm_on",
                                                     "sm_off",
                                                     "tboot_noforce",
                                                     "relax_rmrr",
                                                     "forcedac",
                                                     "strict"};

const std::vector<std::string_view> k_x86_iommu = {
    "off",     "force",     "noforce",     "biomerge", "panic",      "nopanic", "merge",
    "nomerge", "forcesac",  "allowdac",    "nodac",    "usedac",     "soft",    "pt",
    "nopt",    "fullflush", "nofullflush", "noagp",    "noaperture", "allowed", "memaper"};

std::string as_written(const Param& p) {
    return p.value ? fmt::format("{}={}", p.name, *p.value) : p.name;
}

// kstrtobool (lib/kstrtox.c): y Y 1 n N 0, or "on"/"off" by their first two letters.
bool kernel_bool(std::string_view v) {
    if (v.empty()) {
        return false;
    }
    switch (v[0]) {
    case 'y':
    case 'Y':
    case '1':
    case 'n':
    case 'N':
    case '0':
        return true;
    case 'o':
    case 'O':
        return v.size() > 1 && std::string_view("nNfF").find(v[1]) != std::string_view::npos;
    default:
        return false;
    }
}

bool same(std::string_view a, std::string_view b) {
    return same_param_name(a, b);
}

void check_options(const Param& p,
                   const std::vector<std::string_view>& known,
                   std::string_view consequence,
                   std::vector<ValueProblem>& out) {
    const std::string list = fmt::format("{}", fmt::join(known, ", "));
    if (!p.value || p.value->empty()) {
        out.push_back({as_written(p),
                       "",
                       fmt::format("{} needs a value; the kernel accepts {}", p.name, list)});
        return;
    }
    for (const auto& option : comma_options(*p.value)) {
        if (!known_prefix(option, known)) {
            out.push_back({as_written(p),
                           option,
                           fmt::format("{}={} is not a valid value (the valid ones are {}); {}",
                                       p.name,
                                       option,
                                       list,
                                       fmt::format(fmt::runtime(consequence), option))});
        }
    }
}

} // namespace

std::vector<std::string> comma_options(std::string_view value) {
    std::vector<std::string> out;
    while (!value.empty()) {
        const auto comma = std::min(value.find(','), value.size());
        if (comma > 0) {
            out.emplace_back(value.substr(0, comma));
        }
        value.remove_prefix(std::min(comma + 1, value.size()));
    }
    return out;
}

bool valid_vfio_id(std::string_view item) {
    // Two to six hex fields separated by ':' (vendor, device, subvendor, subdevice, class, mask);
    // the kernel needs at least vendor and device.
    std::size_t fields = 0;
    while (true) {
        const auto colon = std::min(item.find(':'), item.size());
        const auto field = item.substr(0, colon);
        if (field.empty() || field.size() > 8
            || !std::all_of(field.begin(), field.end(), [](char c) {
                   return std::isxdigit(static_cast<unsigned char>(c)) != 0;
               })) {
            return false;
        }
        ++fields;
        if (colon == item.size()) {
            break;
        }
        item.remove_prefix(colon + 1);
    }
    return fields >= 2 && fields <= 6;
}

std::vector<ValueProblem> invalid_values(const Param& p) {
    std::vector<ValueProblem> out;
    if (same(p.name, "amd_iommu")) {
        check_options(p,
                      k_amd_iommu,
                      "the kernel ignores it and logs \"AMD-Vi: Unknown option - '{}'\"",
                      out);
    } else if (same(p.name, "intel_iommu")) {
        check_options(p,
                      k_intel_iommu,
                      "the kernel ignores it and logs \"DMAR: Unknown option - '{}'\"",
                      out);
    } else if (same(p.name, "iommu")) {
        check_options(p, k_x86_iommu, "the x86 kernel ignores it without a word", out);
    } else if (same(p.name, "iommu.passthrough") || same(p.name, "iommu.strict")) {
        if (!p.value || !kernel_bool(*p.value)) {
            out.push_back({as_written(p),
                           p.value.value_or(""),
                           fmt::format("{} takes 0 or 1 (kstrtobool: y/n, 1/0, on/off); the "
                                       "kernel logs \"Malformed early option '{}'\" and keeps "
                                       "its default",
                                       p.name,
                                       p.name)});
        }
    } else if (same(p.name, "vfio-pci.ids") || same(p.name, "vfio_pci.ids")) {
        for (const auto& item : comma_options(p.value.value_or(""))) {
            if (!valid_vfio_id(item)) {
                out.push_back({as_written(p),
                               item,
                               fmt::format("\"{}\" is not a vendor:device ID (VVVV:DDDD in hex); "
                                           "vfio-pci logs \"invalid id string\" and skips it",
                                           item)});
            }
        }
    }
    return out;
}

std::vector<ValueProblem> invalid_values(const std::vector<Param>& params) {
    std::vector<ValueProblem> out;
    for (std::size_t i = 0; i < params.size(); ++i) {
        const auto& p = params[i];
        auto mine = invalid_values(p);
        out.insert(out.end(), mine.begin(), mine.end());
        const bool list = same(p.name, "vfio-pci.ids") || same(p.name, "vfio_pci.ids");
        if (list && p.value && p.value->ends_with(',') && i + 1 < params.size()
            && !params[i + 1].value && valid_vfio_id(params[i + 1].name)) {
            out.push_back({fmt::format("{} {}", as_written(p), params[i + 1].name),
                           params[i + 1].name,
                           fmt::format("a space splits {}: {} is a separate word that vfio-pci "
                                       "never sees (the kernel hands it to init), so that device "
                                       "is not bound; write {}{} without the space",
                                       p.name,
                                       params[i + 1].name,
                                       as_written(p),
                                       params[i + 1].name)});
        }
    }
    return out;
}

const std::vector<Folklore>& cmdline_folklore() {
    // Proxmox kernels are built with CONFIG_SYSFB_SIMPLEFB=y and CONFIG_DRM_SIMPLEDRM=y
    // (pve-kernel debian/rules), so sysfb_init registers a simple-framebuffer and efifb/vesafb
    // are not used for a simplefb-compatible mode (drivers/firmware/sysfb.c); since Linux 6.0
    // vfio-pci removes a conflicting firmware framebuffer itself (d173780620792c).
    constexpr std::string_view framebuffer =
        "does nothing on Proxmox kernels: since 5.15 they hand the firmware framebuffer to sysfb "
        "(simplefb/simpledrm), not efifb or vesafb, and vfio-pci removes it itself when it binds "
        "a VGA device (Linux 6.0 and later); where the framebuffer really must go, pt grub "
        "--sysfb-off does that";
    // A word without '=' that is no kernel parameter goes to init (init/main.c
    // unknown_bootoption); modules to load at boot belong in /etc/modules-load.d/.
    constexpr std::string_view module_word =
        "is a module name, not a kernel parameter (the kernel hands the word to init and loads "
        "nothing)";
    static const std::vector<Folklore> items = {
        {"amd_iommu",
         "on",
         FolkloreKind::rejected_value,
         "\"on\" is not a value the kernel knows (it logs \"AMD-Vi: Unknown option - 'on'\" and "
         "ignores it; drivers/iommu/amd/init.c parse_amd_iommu_options); the AMD IOMMU is on "
         "whenever the firmware enables it, so no parameter is needed"},
        {"video", "efifb:off", FolkloreKind::no_effect, framebuffer},
        {"video", "vesafb:off", FolkloreKind::no_effect, framebuffer},
        // Folded into vfio.ko in Linux 6.2 (e2d55709398e); pve-docs dropped it (2953349).
        {"vfio_virqfd",
         "",
         FolkloreKind::module_name,
         "is a module name, not a kernel parameter, and no longer a module: it is part of vfio "
         "since Linux 6.2"},
        {"vfio", "", FolkloreKind::module_name, module_word},
        {"vfio_pci", "", FolkloreKind::module_name, module_word},
        {"vfio_iommu_type1", "", FolkloreKind::module_name, module_word},
        {"kvm", "", FolkloreKind::module_name, module_word},
        {"kvm_amd", "", FolkloreKind::module_name, module_word},
        {"kvm_intel", "", FolkloreKind::module_name, module_word},
    };
    return items;
}

const Folklore* find_folklore(const Param& param) {
    for (const auto& item : cmdline_folklore()) {
        if (!same(param.name, item.name)) {
            continue;
        }
        if (item.value.empty() ? !param.value.has_value()
                               : param.value && to_lower(*param.value) == item.value) {
            return &item;
        }
    }
    return nullptr;
}

std::string folklore_text(const Folklore& item) {
    return item.value.empty() ? std::string(item.name)
                              : fmt::format("{}={}", item.name, item.value);
}

} // namespace pt::kernel
