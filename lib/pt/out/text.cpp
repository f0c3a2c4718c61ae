// SPDX-License-Identifier: MIT
#include "pt/out/text.hpp"

#include "pt/iommu/listing.hpp"
#include "pt/pci/class_code.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace pt::out {
namespace {

constexpr const char* k_indent = "                "; // aligns continuation lines under names

std::string paint(const TextStyle& style, const char* code, std::string_view text) {
    if (!style.color) {
        return std::string(text);
    }
    return fmt::format("\033[{}m{}\033[0m", code, text);
}

std::string yes_no(const TextStyle& style, bool value) {
    return value ? paint(style, "32", "yes") : paint(style, "31", "no");
}

std::string danger_text(iommu::Danger danger) {
    switch (danger) {
    case iommu::Danger::storage:
        return "storage controller: disks behind it vanish from the host";
    case iommu::Danger::network:
        return "network controller: the host loses this network link";
    case iommu::Danger::usb:
        return "USB controller: keyboards, disks and other USB devices on it leave the host";
    case iommu::Danger::display:
        return "part of another graphics card: it goes to the same VM";
    case iommu::Danger::none:
        break;
    }
    return {};
}

std::string device_details(const pci::Device& dev) {
    std::vector<std::string> parts;
    parts.push_back(fmt::format("Driver: {}", dev.driver.value_or("none")));
    if (dev.driver_override) {
        parts.push_back(fmt::format("Override: {}", *dev.driver_override));
    }
    if (dev.reset_methods) {
        parts.push_back(fmt::format("Reset: {}",
                                    dev.reset_methods->empty()
                                        ? "none"
                                        : fmt::format("{}", fmt::join(*dev.reset_methods, " "))));
    }
    if (dev.boot_vga) {
        parts.push_back(fmt::format("Boot VGA: {}", *dev.boot_vga ? "yes" : "no"));
    }
    if (dev.link.current_speed && dev.link.current_width) {
        parts.push_back(
            fmt::format("Link: {} x{}", *dev.link.current_speed, *dev.link.current_width));
    }
    if (dev.physfn) {
        parts.push_back(fmt::format("VF of {}", pci::format(*dev.physfn)));
    }
    if (!dev.virtfns.empty()) {
        parts.push_back(fmt::format("VFs: {}", dev.virtfns.size()));
    }
    return fmt::format("{}", fmt::join(parts, "   "));
}

void render_device(std::string& out, const pci::Device& dev) {
    out += fmt::format("  {:<14}{}\n", pci::format(dev.address), describe_device(dev));
    if (dev.subsystem_vendor && dev.subsystem_device
        && (*dev.subsystem_vendor != 0 || *dev.subsystem_device != 0)) {
        out += fmt::format("{}Subsystem: {}[{:04x}:{:04x}]\n",
                           k_indent,
                           dev.names.subsystem ? *dev.names.subsystem + " " : std::string(),
                           *dev.subsystem_vendor,
                           *dev.subsystem_device);
    }
    out += fmt::format("{}{}\n", k_indent, device_details(dev));
}

const pci::Device* member(const iommu::GroupReport& group, const pci::Address& address) {
    for (const auto& dev : group.devices) {
        if (dev.address == address) {
            return &dev;
        }
    }
    return nullptr;
}

// `text` wrapped at 92 columns, the first line starting with `first`, the others with `indent`.
std::string wrap(std::string_view text, std::string_view first, std::string_view indent) {
    std::string out;
    std::string line(first);
    bool empty = true; // no word on `line` yet
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto space = std::min(text.find(' ', pos), text.size());
        const auto word = text.substr(pos, space - pos);
        if (!empty && line.size() + 1 + word.size() > 92) {
            out += line + "\n";
            line = std::string(indent);
            empty = true;
        }
        if (!empty) {
            line += ' ';
        }
        line += word;
        empty = false;
        pos = space + 1;
    }
    return out + line + "\n";
}

void render_verdict(std::string& out, const iommu::GroupReport& group, const TextStyle& style) {
    const iommu::Verdict& v = *group.verdict;
    const std::string slot = pci::format_slot(v.subject);
    out += fmt::format("  Verdict for {}:\n", pci::format(v.subject));
    if (const pci::Device* subject = member(group, v.subject);
        subject && subject->boot_vga == true && !v.bmc_display) {
        out += fmt::format(
            "    {}     the firmware and the host console use this card (boot VGA);\n"
            "              passing it through leaves the host without a local display\n",
            paint(style, "33", "note:"));
    }
    if (v.bmc_display) {
        out += fmt::format(
            "    {}     this is the display of the server's management controller (BMC, iLO):\n"
            "              it shows the host on the remote console and is not a GPU to pass\n"
            "              through; the host may need it\n",
            paint(style, "33", "note:"));
    }
    if (v.isolated) {
        out += fmt::format("    isolated: {}  every endpoint in the group is a function of {}\n",
                           yes_no(style, true),
                           slot);
    } else {
        out += fmt::format("    isolated: {}   {} endpoint{} outside {} share{} the group:\n",
                           yes_no(style, false),
                           v.foreign.size(),
                           v.foreign.size() == 1 ? "" : "s",
                           slot,
                           v.foreign.size() == 1 ? "s" : "");
        for (const auto& f : v.foreign) {
            const std::string danger = danger_text(f.danger);
            const pci::Device* dev = member(group, f.address);
            const std::string what = dev != nullptr && dev->names.class_name
                                         ? fmt::format("{} [{}]",
                                                       *dev->names.class_name,
                                                       pci::format_class_short(f.class_code))
                                         : "class " + pci::format_class_short(f.class_code);
            out += fmt::format("      {} {} ({}){}\n",
                               pci::format(f.address),
                               what,
                               f.driver.value_or("no driver"),
                               danger.empty() ? std::string() : ": " + paint(style, "33", danger));
        }
        if (!style.quiet) {
            out +=
                "      Proxmox binds every non-bridge device of a group to vfio-pci when the VM\n"
                "      starts, so the host loses all of them.\n";
            out += wrap(iommu::sharing_cause(v), "      Why: ", "      ");
            out += "      Options:\n";
            for (const auto& option : iommu::sharing_options(v)) {
                out += wrap(option, "        - ", "          ");
            }
        }
    }
    if (v.viable) {
        out += fmt::format("    viable:   {}  VFIO can claim the group now\n", yes_no(style, true));
    } else {
        std::vector<std::string> uses;
        for (const auto& b : v.blockers) {
            uses.push_back(fmt::format(
                "{}{} uses {}", b.bridge ? "bridge " : "", pci::format(b.address), b.driver));
        }
        out += fmt::format("    viable:   {}   {}\n", yes_no(style, false), fmt::join(uses, ", "));
        if (!style.quiet && !v.bmc_display) {
            out +=
                "      Every endpoint must be unbound or on vfio-pci/pci-stub, every bridge "
                "unbound\n"
                "      or on pcieport. Fix: bind the endpoints to vfio-pci at boot (vfio-pci.ids=\n"
                "      or pt bind); Proxmox rebinds them at VM start only if the host driver lets "
                "go.\n";
        }
    }
}

} // namespace

std::string describe_device(const pci::Device& dev) {
    std::string rev = dev.revision ? fmt::format(" (rev {:02x})", *dev.revision) : std::string();
    if (!dev.names.class_name && !dev.names.vendor) {
        return fmt::format("class {} [{:04x}:{:04x}]{}",
                           pci::format_class_short(dev.class_code),
                           dev.vendor,
                           dev.device,
                           rev);
    }
    const std::string cls = dev.names.class_name.value_or(
        fmt::format("Class {}", pci::format_class_short(dev.class_code)));
    const std::string vendor = dev.names.vendor.value_or(fmt::format("Vendor {:04x}", dev.vendor));
    const std::string device = dev.names.device.value_or(fmt::format("Device {:04x}", dev.device));
    return fmt::format("{} [{}]: {} {} [{:04x}:{:04x}]{}",
                       cls,
                       pci::format_class_short(dev.class_code),
                       vendor,
                       device,
                       dev.vendor,
                       dev.device,
                       rev);
}

std::string render_text(const iommu::Listing& listing, const TextStyle& style) {
    std::string out;
    if (!listing.iommu_enabled && listing.diagnosis) {
        const auto& d = *listing.diagnosis;
        out += fmt::format("IOMMU: {}\n", paint(style, "31", "off (no IOMMU groups)"));
        out += fmt::format("  Cause: {}\n", d.cause);
        out += fmt::format("  Fix:   {}\n", d.fix);
        if (!style.quiet) {
            out += "  Evidence:\n";
            for (const auto& line : d.evidence) {
                out += fmt::format("    {}\n", line);
            }
        }
    }
    for (const auto& group : listing.groups) {
        out += fmt::format("IOMMU group {}{}\n",
                           group.number,
                           group.type ? fmt::format(" ({})", *group.type) : std::string());
        for (const auto& dev : group.devices) {
            render_device(out, dev);
        }
        if (group.verdict) {
            render_verdict(out, group, style);
        }
        out += "\n";
    }
    if (!listing.ungrouped.empty() && !style.quiet) {
        out += "Devices in no IOMMU group:\n";
        for (const auto& dev : listing.ungrouped) {
            render_device(out, dev);
        }
        out += "\n";
    }
    if (!style.quiet) {
        std::size_t devices = 0;
        std::vector<std::string> gpus;
        for (const auto& group : listing.groups) {
            devices += group.devices.size();
            if (group.verdict) {
                gpus.push_back(fmt::format(
                    "{} {}, {}{}",
                    pci::format(group.verdict->subject),
                    group.verdict->isolated ? "isolated" : "not isolated",
                    group.verdict->viable ? "viable" : "not viable",
                    group.verdict->bmc_display ? " (the management controller's display)" : ""));
            }
        }
        if (listing.iommu_enabled) {
            out += fmt::format("{} group{}, {} device{}",
                               listing.groups.size(),
                               listing.groups.size() == 1 ? "" : "s",
                               devices,
                               devices == 1 ? "" : "s");
            out +=
                gpus.empty() ? std::string(".\n") : fmt::format("; {}.\n", fmt::join(gpus, "; "));
        } else if (listing.diagnosis) {
            // The last line is what a reader sees first: what is off and this host's fix.
            out += fmt::format("0 groups, {} device{} in no group: the IOMMU is off. Fix: {}\n",
                               listing.ungrouped.size(),
                               listing.ungrouped.size() == 1 ? "" : "s",
                               listing.diagnosis->fix);
        }
    }
    return out;
}

std::string render_text(const iommu::VfioIds& ids) {
    return fmt::format("{}\n", fmt::join(ids.ids, ","));
}

} // namespace pt::out
