// SPDX-License-Identifier: MIT
// pt iommu-groups: list IOMMU groups and judge each GPU's isolation.
#include "cmd/common.hpp"
#include "pt/error.hpp"
#include "pt/exit_code.hpp"
#include "pt/host/root.hpp"
#include "pt/iommu/groups.hpp"
#include "pt/iommu/listing.hpp"
#include "pt/kernel/host_facts.hpp"
#include "pt/pci/names.hpp"
#include "pt/pci/topology.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <memory>

namespace pt::cmd {
namespace {

struct Options {
    bool gpu = false;
    std::vector<int> groups;
    std::vector<std::string> devices;
    std::string class_prefix;
    bool vfio_ids = false;
    bool numeric = false;
};

CLI::Validator group_number_validator() {
    return {[](std::string& value) -> std::string {
                const bool digits = !value.empty() && value.size() <= 9
                                    && std::all_of(value.begin(), value.end(), [](unsigned char c) {
                                           return std::isdigit(c) != 0;
                                       });
                return digits
                           ? std::string()
                           : fmt::format("'{}' is not an IOMMU group number (0, 1, 2, ...)", value);
            },
            "",
            "group number"};
}

CLI::Validator class_validator() {
    return {[](std::string& value) -> std::string {
                const bool hex = std::all_of(value.begin(), value.end(), [](unsigned char c) {
                    return std::isxdigit(c) != 0;
                });
                if (value.empty() || value.size() > 6 || !hex) {
                    return fmt::format("'{}' is not a class prefix: give 1 to 6 hex digits of the "
                                       "class code, e.g. 03 (display), 0302 (3D controller), 0c03 "
                                       "(USB)",
                                       value);
                }
                std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) {
                    return static_cast<char>(std::tolower(c));
                });
                return {};
            },
            "",
            "class prefix"};
}

int run(const Globals& globals, const Options& opt) {
    if (opt.vfio_ids && opt.groups.empty() && opt.devices.empty()) {
        throw UsageError("--vfio-ids needs the group to take: add --device SEL (e.g. --device "
                         "01:00) or --group N");
    }
    const host::Root root = open_root(globals);
    pci::NameDb names(root, !opt.numeric, std::filesystem::path(pci::k_system_ids));
    // Only the JSON document shows the NUMA node and the maximum link; text skips those files.
    pci::DeviceDetail detail;
    detail.numa_node = globals.json && !opt.vfio_ids;
    detail.max_link = detail.numa_node;
    const pci::Topology topology = pci::scan(root, &names, detail);
    const iommu::IommuState state = iommu::read_iommu(root, &topology);
    const kernel::HostFacts facts = kernel::read_host_facts(root);

    iommu::Filter filter;
    filter.gpu_only = opt.gpu;
    filter.groups = opt.groups;
    for (const auto& text : opt.devices) {
        filter.devices.push_back(pci::parse_selector(text));
    }
    if (!opt.class_prefix.empty()) {
        filter.class_prefix = opt.class_prefix;
    }
    const iommu::Listing listing = iommu::build_listing(topology, state, facts, filter);

    if (names.problem() && !globals.quiet) {
        warn(*names.problem());
    }
    if (names.note() && !globals.quiet) {
        note(*names.note());
    }
    for (const auto& text : listing.warnings) {
        warn(text);
    }

    if (opt.vfio_ids) {
        const iommu::VfioIds ids = iommu::vfio_ids(listing, topology);
        for (const auto& group : listing.groups) {
            if (group.verdict && !group.verdict->isolated) {
                warn(
                    fmt::format("IOMMU group {} is not isolated: these IDs include devices outside "
                                "{} (see pt iommu-groups --group {})",
                                group.number,
                                pci::format_slot(group.verdict->subject),
                                group.number));
            }
        }
        for (const auto& address : ids.also_match) {
            const pci::Device* dev = topology.find(address);
            warn(fmt::format("{} has the ID {:04x}:{:04x} too but is not selected: vfio-pci.ids= "
                             "would take it from the host as well; bind by address instead "
                             "(driver_override), which pt bind does",
                             pci::format(address),
                             dev->vendor,
                             dev->device));
        }
        if (globals.json) {
            print_json(out::to_json(ids));
        } else if (!ids.ids.empty()) {
            fmt::print("{}", out::render_text(ids));
        }
        return to_int(ids.ids.empty() ? ExitCode::checks_failed : ExitCode::ok);
    }

    if (globals.json) {
        // Streamed, not built as a tree: the same bytes as print_json, at a fraction of the cost
        // on hosts with thousands of functions.
        std::string text = out::dump_json(listing);
        text += '\n';
        std::fwrite(text.data(), 1, text.size(), stdout);
    } else {
        fmt::print("{}", out::render_text(listing, text_style(globals)));
    }
    if (!listing.iommu_enabled) {
        return to_int(ExitCode::checks_failed);
    }
    if (opt.gpu && listing.groups.empty()) {
        fmt::print(stderr,
                   "pt: no display device (class 03xx) is in an IOMMU group on this host\n");
        return to_int(ExitCode::checks_failed);
    }
    return to_int(ExitCode::ok);
}

} // namespace

Command register_iommu_groups(CLI::App& parent, Globals& globals) {
    auto opt = std::make_shared<Options>();
    auto* sub = parent.add_subcommand(
        "iommu-groups", "List IOMMU groups with their devices, and judge each GPU's isolation");
    add_global_options(*sub, globals);
    sub->add_flag("--gpu", opt->gpu, "Only groups that hold a display device (class 03xx)");
    sub->add_option("--group", opt->groups, "Only IOMMU group N (repeatable)")
        ->type_name("N")
        ->check(group_number_validator())
        ->take_all();
    sub->add_option(
           "--device", opt->devices, "Only the groups of the devices SEL matches (repeatable)")
        ->type_name("SEL")
        ->check(selector_validator())
        ->take_all();
    sub->add_option(
           "--class", opt->class_prefix, "Only groups holding a device whose class starts with HEX")
        ->type_name("HEX")
        ->check(class_validator());
    sub->add_flag(
        "--vfio-ids",
        opt->vfio_ids,
        "Print the vendor:device IDs of the selected group's endpoints for vfio-pci.ids=");
    sub->add_flag("-n,--numeric", opt->numeric, "Show numeric IDs only; do not read pci.ids");
    sub->footer("SEL is 0000:01:00.0, 01:00.0, 01:00 (every function of the slot) or 10de:2204 "
                "(vendor:device).\nSee pt-iommu-groups(1) for the JSON schema.");
    return {sub, [opt](const Globals& parsed) {
                return run(parsed, *opt);
            }};
}

} // namespace pt::cmd
