// SPDX-License-Identifier: MIT
// modprobe.vfio-ids: the vfio-pci ids= value the next boot really gives vfio-pci, and what is
// wrong with it: values that lose to a later one, IDs split off by a space, malformed IDs, IDs
// that match no device or a device the host needs.
#include "pt/check/host_context.hpp"
#include "pt/driver/bind.hpp"
#include "pt/kernel/param_values.hpp"
#include "pt/pci/address.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

namespace pt::check {
namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
    });
    return s;
}

// "options vfio-pci ids=..." or "vfio-pci.ids=...", where it is written.
std::string show(const conf::OptionValue& v) {
    if (v.source.line == 0) {
        return fmt::format("{}: vfio-pci.ids={}", v.source.path, v.value);
    }
    return fmt::format("{}: options vfio-pci ids={}", v.source.describe(), v.value);
}

// The vendor:device part of an ids= item ("10de:2204:1462:397d" -> "10de:2204").
std::string vendor_device(const std::string& item) {
    const auto first = item.find(':');
    const auto second = first == std::string::npos ? first : item.find(':', first + 1);
    return lower(item.substr(0, second));
}

std::vector<const pci::Device*> matching(const HostContext& ctx, const std::string& item) {
    std::vector<const pci::Device*> out;
    const std::string want = vendor_device(item);
    for (const auto& d : ctx.topology.devices) {
        if (fmt::format("{:04x}:{:04x}", d.vendor, d.device) == want) {
            out.push_back(&d);
        }
    }
    return out;
}

// Why the host needs a device that ids= hands to vfio-pci at boot, or empty: the firmware's boot
// display, a storage controller or a network controller. A device a VM config passes is meant
// for the VM, whatever it is.
std::string host_needs(const pci::Device& d) {
    if (d.boot_vga == true) {
        return "the boot display";
    }
    switch (d.class_code >> 16U) {
    case 0x01:
        return "a storage controller";
    case 0x02:
        return "a network controller";
    default:
        return {};
    }
}

// Words of `options vfio-pci` lines that a space split off an ids= list ("ids=10de:2204,
// 10de:1aef"): modprobe passes each as a parameter of its own, which vfio-pci ignores ("unknown
// parameter '10de:1aef' ignored").
// Where a space splits an ids= list: the text around it, and the exact edit that joins it.
struct Split {
    std::string where; // "/etc/modprobe.d/vfio.conf:1: \"ids=10de:2204, 10de:1aef\""
    std::string fix;   // "sed -i '1s/,[[:space:]]*/,/g' /etc/modprobe.d/vfio.conf"
};

std::vector<Split> split_words(const conf::ModuleConfig& config) {
    std::vector<Split> out;
    for (const auto& file : config.files) {
        for (const auto& command : file.commands) {
            if (command.verb != "options" || command.module != "vfio_pci") {
                continue;
            }
            const auto params = conf::split_module_params(command.rest);
            for (std::size_t i = 1; i < params.size(); ++i) {
                const bool after_list =
                    params[i - 1].ends_with(',') && params[i - 1].find('=') != std::string::npos;
                if (after_list && params[i].find('=') == std::string::npos
                    && kernel::valid_vfio_id(params[i])) {
                    out.push_back(
                        {fmt::format(
                             "{}:{}: \"{} {}\"", file.path, command.line, params[i - 1], params[i]),
                         fmt::format(
                             "sed -i '{}s/,[[:space:]]*/,/g' {}", command.line, file.path)});
                }
            }
        }
    }
    return out;
}

struct Findings {
    std::vector<std::string> problems; // one sentence each
    std::vector<std::string> fixes;
};

void judge_conflicts(const std::vector<conf::OptionValue>& values, Findings& f) {
    const auto& winner = values.back();
    std::vector<const conf::OptionValue*> losers;
    for (std::size_t i = 0; i + 1 < values.size(); ++i) {
        if (values[i].value != winner.value) {
            losers.push_back(&values[i]);
        }
    }
    if (losers.empty()) {
        return;
    }
    std::vector<std::string> lost_ids;
    std::vector<std::string> loser_names;
    std::vector<std::string> deletes;
    const auto winner_items = kernel::comma_options(lower(winner.value));
    for (const auto* loser : losers) {
        loser_names.push_back(loser->source.describe());
        for (const auto& item : kernel::comma_options(lower(loser->value))) {
            if (std::find(winner_items.begin(), winner_items.end(), item) == winner_items.end()
                && std::find(lost_ids.begin(), lost_ids.end(), item) == lost_ids.end()) {
                lost_ids.push_back(item);
            }
        }
        deletes.push_back(
            loser->source.line == 0
                ? fmt::format("pt grub --remove vfio-pci.ids={} --apply", loser->value)
                : fmt::format("sed -i '{}d' {}", loser->source.line, loser->source.path));
    }
    f.problems.push_back(
        fmt::format("{} ids= values: vfio-pci gets only the last one, {} ({}); {} lose{}",
                    values.size(),
                    winner.value,
                    winner.source.describe(),
                    fmt::join(loser_names, ", "),
                    lost_ids.empty() ? std::string()
                                     : fmt::format(", so {} {} not claimed at boot",
                                                   fmt::join(lost_ids, ", "),
                                                   lost_ids.size() == 1 ? "is" : "are")));
    const bool pt_file_loses = std::any_of(losers.begin(), losers.end(), [](const auto* loser) {
        return loser->source.path == driver::k_vfio_conf;
    });
    if (pt_file_loses && winner.source.line != 0) {
        // pt rewrites its own file at every pt bind, so the line to go is the other one (the
        // fix pt bind itself names when it refuses).
        std::vector<std::string> pt_items;
        for (const auto* loser : losers) {
            if (loser->source.path == driver::k_vfio_conf) {
                pt_items = kernel::comma_options(lower(loser->value));
            }
        }
        std::vector<std::string> only_winner;
        for (const auto& item : winner_items) {
            if (std::find(pt_items.begin(), pt_items.end(), item) == pt_items.end()) {
                only_winner.push_back(item);
            }
        }
        std::string fix =
            fmt::format("sed -i '{}d' {} (pt's own file then lists every device pt binds)",
                        winner.source.line,
                        winner.source.path);
        if (!only_winner.empty()) {
            fix += fmt::format(", and pt bind SLOT --apply for the devices of {}, which only that "
                               "line claimed",
                               fmt::join(only_winner, ", "));
        }
        f.fixes.push_back(fix + "; then update-initramfs -u -k all");
        return;
    }
    std::string fix = fmt::format("keep one ids= line: {}", fmt::join(deletes, " && "));
    if (!lost_ids.empty()) {
        std::vector<std::string> all = winner_items;
        all.insert(all.end(), lost_ids.begin(), lost_ids.end());
        fix +=
            fmt::format(", and make {} read ids={}", winner.source.describe(), fmt::join(all, ","));
    }
    f.fixes.push_back(fix + "; then update-initramfs -u -k all");
}

void judge_items(const HostContext& ctx, const conf::OptionValue& winner, Findings& f) {
    for (const auto& item : kernel::comma_options(winner.value)) {
        if (!kernel::valid_vfio_id(item)) {
            f.problems.push_back(fmt::format("\"{}\" is not a vendor:device ID (VVVV:DDDD in "
                                             "hex); vfio-pci logs \"invalid id string\" and skips "
                                             "it",
                                             item));
            f.fixes.push_back(
                fmt::format("correct or remove {} in {}", item, winner.source.describe()));
            continue;
        }
        const auto devices = matching(ctx, item);
        if (devices.empty()) {
            f.problems.push_back(fmt::format("{} matches no PCI device of this host (a typo, or "
                                             "a card that was removed)",
                                             item));
            f.fixes.push_back(fmt::format("pt iommu-groups --gpu shows the IDs; correct {} in {}",
                                          item,
                                          winner.source.describe()));
            continue;
        }
        for (const auto* d : devices) {
            const bool in_vm =
                std::any_of(ctx.vm_devices.begin(), ctx.vm_devices.end(), [&](const VmDevice& v) {
                    return v.address == d->address;
                });
            if (const auto why = host_needs(*d); !why.empty() && !in_vm) {
                f.problems.push_back(fmt::format("{} also matches {}, {} the host needs: "
                                                 "vfio-pci takes it at boot",
                                                 item,
                                                 pci::format(d->address),
                                                 why));
                f.fixes.push_back(fmt::format(
                    "remove {} from {} and bind the device you pass by address instead: pt bind "
                    "SLOT --apply does when IDs are shared",
                    item,
                    winner.source.describe()));
            }
        }
    }
}

} // namespace

void check_vfio_ids(const HostContext& ctx, std::vector<Check>& out) {
    const std::string what = "vfio-pci ids= the next boot applies";
    const auto& config = ctx.modprobe();
    const auto values = config.option_values("vfio_pci", "ids");
    Findings f;
    for (const auto& split : split_words(config)) {
        f.problems.push_back(fmt::format("a space splits the ids= list at {}: the word after it "
                                         "is a parameter of its own, which vfio-pci ignores "
                                         "(\"unknown parameter ... ignored\"), so that device is "
                                         "not claimed",
                                         split.where));
        f.fixes.push_back(split.fix + " (removes the space after each comma)");
    }
    std::vector<std::string> hidden;
    for (const auto& h : config.hidden) {
        hidden.push_back(fmt::format(
            "{}: hidden by {} (kmod reads only the first file of a name)", h.path, h.hidden_by));
    }
    if (values.empty() && f.problems.empty()) {
        std::vector<std::string> evidence = {
            "modprobe.d and the configured command line: no vfio-pci ids="};
        evidence.insert(evidence.end(), hidden.begin(), hidden.end());
        out.push_back(make(what,
                           "modprobe.vfio-ids",
                           Status::pass,
                           "no vfio-pci ids= is configured (devices are bound by address, or by "
                           "Proxmox when a VM starts)",
                           fmt::format("{}", fmt::join(evidence, "\n"))));
        return;
    }
    std::vector<std::string> evidence;
    for (const auto& v : values) {
        evidence.push_back(show(v));
    }
    evidence.insert(evidence.end(), hidden.begin(), hidden.end());
    if (!values.empty()) {
        judge_conflicts(values, f);
        judge_items(ctx, values.back(), f);
    }
    if (f.problems.empty()) {
        out.push_back(make(what,
                           "modprobe.vfio-ids",
                           Status::pass,
                           fmt::format("vfio-pci gets ids={} ({})",
                                       values.back().value,
                                       values.back().source.describe()),
                           fmt::format("{}", fmt::join(evidence, "\n"))));
        return;
    }
    out.push_back(make(what,
                       "modprobe.vfio-ids",
                       Status::warn,
                       fmt::format("{}", fmt::join(f.problems, "; ")),
                       fmt::format("{}", fmt::join(evidence, "\n")),
                       fmt::format("{}", fmt::join(f.fixes, "; "))));
}

} // namespace pt::check
