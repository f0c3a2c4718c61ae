// SPDX-License-Identifier: MIT
// pt verify --guest: guest.hypervisor, guest.gpu-visible, guest.pcie-link, guest.driver,
// guest.device-nodes, guest.nvidia-smi, guest.host-checks.
#include "pt/check/guest.hpp"

#include "pt/check/host_context.hpp"
#include "pt/host/process.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>

namespace pt::check {

namespace {

bool passthrough_vendor(std::uint16_t vendor) {
    return vendor == 0x10de || vendor == 0x1002 || vendor == 0x8086;
}

std::string_view vendor_name(std::uint16_t vendor) {
    switch (vendor) {
    case 0x10de:
        return "NVIDIA";
    case 0x1002:
        return "AMD";
    default:
        return "Intel";
    }
}

struct Run {
    bool started = false;
    int status = -1; // exit status, -1 when killed or not started
    std::string output;
};

// Runs `argv` once with stdout and stderr captured, killing it after `timeout`.
Run run_once(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
    host::RunOptions options;
    options.search_path = false;
    options.capture = true;
    options.timeout = timeout;
    auto result = host::run_process(argv, options);
    Run run;
    run.started = result.started;
    run.status = result.exit_status && !result.timed_out ? *result.exit_status : -1;
    run.output = std::move(result.output);
    while (!run.output.empty() && run.output.back() == '\n') {
        run.output.pop_back();
    }
    return run;
}

std::string addr(const pci::Device& d) {
    return pci::format(d.address);
}

void check_link(const pci::Device& gpu, std::vector<Check>& out) {
    const std::string what = addr(gpu) + " PCIe link";
    const auto& l = gpu.link;
    const std::string base = fmt::format("/sys/bus/pci/devices/{}/current_link_speed", addr(gpu));
    if (!l.current_speed || !l.current_width || *l.current_width <= 0
        || l.current_speed->starts_with("Unknown")) {
        out.push_back(make(what,
                           "guest.pcie-link",
                           Status::warn,
                           "the GPU sits on a conventional PCI bus in the guest: the VM's hostpci "
                           "entry lacks pcie=1 (drivers may limit features or fail)",
                           base + ": " + l.current_speed.value_or("absent"),
                           "on the host: qm set VMID --machine q35 and add pcie=1 to the GPU's "
                           "hostpci entry (pcie=1 needs q35), then stop and start the VM"));
        return;
    }
    out.push_back(make(
        what,
        "guest.pcie-link",
        Status::pass,
        fmt::format("PCIe link {} x{}{}",
                    *l.current_speed,
                    *l.current_width,
                    l.max_speed && l.max_width
                        ? fmt::format(" (max {} x{})", *l.max_speed, *l.max_width)
                        : std::string()),
        fmt::format("{}: {}; current_link_width: {}", base, *l.current_speed, *l.current_width)));
}

void check_driver(const pci::Device& gpu, std::vector<Check>& out) {
    const std::string what = addr(gpu) + " vendor driver bound";
    const std::string ev =
        fmt::format("/sys/bus/pci/devices/{}/driver: {}", addr(gpu), gpu.driver.value_or("(none)"));
    const std::string install =
        gpu.vendor == 0x10de
            ? "install the NVIDIA driver that supports this GPU (apt install nvidia-driver, or "
              "NVIDIA's .run with matching kernel headers), then reboot the VM"
            : "install the amdgpu / i915 firmware and driver (apt install firmware-amd-graphics "
              "or firmware-misc-nonfree), then reboot the VM";
    if (!gpu.driver) {
        out.push_back(make(what,
                           "guest.driver",
                           Status::fail,
                           fmt::format("the {} GPU is passed through (visible on the bus) but no "
                                       "driver is bound: the driver is not installed, or its "
                                       "version does not support this GPU or kernel",
                                       vendor_name(gpu.vendor)),
                           ev,
                           install));
        return;
    }
    const std::string& d = *gpu.driver;
    if (d == "nouveau") {
        out.push_back(make(what,
                           "guest.driver",
                           Status::warn,
                           "nouveau (the open-source driver) has the GPU: nvidia-smi and CUDA need "
                           "NVIDIA's driver",
                           ev,
                           install));
    } else if (d == "nvidia" || d == "amdgpu" || d == "radeon" || d == "i915" || d == "xe") {
        out.push_back(make(what, "guest.driver", Status::pass, "bound to " + d, ev));
    } else {
        out.push_back(make(what,
                           "guest.driver",
                           Status::warn,
                           fmt::format("bound to {}, not the vendor's driver", d),
                           ev,
                           install));
    }
}

void check_nodes(const host::Root& root, const pci::Device& gpu, std::vector<Check>& out) {
    const std::string what = addr(gpu) + " device nodes";
    if (!gpu.driver) {
        out.push_back(make(
            what, "guest.device-nodes", Status::skip, "no driver is bound (see guest.driver)"));
        return;
    }
    std::vector<std::string> found;
    std::string wanted;
    if (*gpu.driver == "nvidia") {
        wanted = "/dev/nvidiactl and /dev/nvidiaN";
        bool ctl = false;
        bool dev = false;
        for (const auto& name : root.list("/dev")) {
            if (name == "nvidiactl") {
                ctl = true;
                found.push_back("/dev/" + name);
            } else if (name.starts_with("nvidia") && name.size() > 6
                       && std::all_of(name.begin() + 6, name.end(), [](char c) {
                              return c >= '0' && c <= '9';
                          })) {
                dev = true;
                found.push_back("/dev/" + name);
            }
        }
        if (!(ctl && dev)) {
            found.clear();
        }
    } else {
        wanted = "/dev/dri/renderD*";
        for (const auto& name : root.list("/dev/dri")) {
            if (name.starts_with("renderD") || name.starts_with("card")) {
                found.push_back("/dev/dri/" + name);
            }
        }
        if (std::none_of(found.begin(), found.end(), [](const std::string& f) {
                return f.find("renderD") != std::string::npos;
            })) {
            found.clear();
        }
    }
    if (found.empty()) {
        out.push_back(make(what,
                           "guest.device-nodes",
                           Status::fail,
                           fmt::format("{} is bound but {} is missing: the driver did not "
                                       "initialise the GPU",
                                       *gpu.driver,
                                       wanted),
                           "/dev: no " + wanted,
                           "check the guest's kernel log: dmesg | grep -i -e nvidia -e amdgpu -e "
                           "drm; on NVIDIA run nvidia-modprobe, or reinstall the driver"));
    } else {
        out.push_back(make(what,
                           "guest.device-nodes",
                           Status::pass,
                           fmt::format("{} present", fmt::join(found, " ")),
                           fmt::format("{}", fmt::join(found, " "))));
    }
}

void check_nvidia_smi(const host::Root& root, std::vector<Check>& out) {
    const std::string what = "nvidia-smi";
    if (!root.is_live()) {
        out.push_back(make(what,
                           "guest.nvidia-smi",
                           Status::skip,
                           "nvidia-smi runs only on the live system, not under --root"));
        return;
    }
    std::string path;
    for (const auto* candidate :
         {"/usr/bin/nvidia-smi", "/usr/local/bin/nvidia-smi", "/bin/nvidia-smi"}) {
        if (::access(candidate, X_OK) == 0) {
            path = candidate;
            break;
        }
    }
    if (path.empty()) {
        out.push_back(make(what,
                           "guest.nvidia-smi",
                           Status::skip,
                           "nvidia-smi is not installed (it comes with NVIDIA's driver)"));
        return;
    }
    const Run run = run_once({path, "-L"}, std::chrono::seconds(20));
    if (run.status == 0 && run.output.find("GPU ") != std::string::npos) {
        out.push_back(make(what,
                           "guest.nvidia-smi",
                           Status::pass,
                           "nvidia-smi lists the GPU",
                           path + " -L: " + run.output));
        return;
    }
    out.push_back(
        make(what,
             "guest.nvidia-smi",
             Status::fail,
             "nvidia-smi finds no GPU: the NVIDIA driver is not loaded or its version "
             "does not match (kernel module versus userspace)",
             fmt::format("{} -L: {}",
                         path,
                         !run.started ? std::string("could not be started")
                         : run.status < 0
                             ? "killed after 20 s"
                                   + (run.output.empty() ? std::string() : ": " + run.output)
                             : fmt::format("exit {}: {}", run.status, run.output)),
             "reinstall the NVIDIA driver for the running kernel (DKMS needs the "
             "kernel headers), then reboot the VM"));
}

// What says pt runs on a (Proxmox) host rather than in the guest that has the GPU: no
// hypervisor CPUID flag, Proxmox VE's cluster file system /etc/pve, a display device on vfio-pci
// (a guest's GPU is on its vendor driver; vfio-pci is what the host hands it over with). Empty
// in a guest. A nested Proxmox VM shows the flag with /etc/pve: it is a host for its own VMs.
std::vector<std::string>
host_signs(const host::Root& root, const kernel::HostFacts& facts, const pci::Topology& topology) {
    std::vector<std::string> signs;
    if (!facts.hypervisor) {
        signs.push_back("/proc/cpuinfo flags: no hypervisor (bare metal)");
    }
    if (root.exists("/etc/pve")) {
        signs.push_back("/etc/pve: present (Proxmox VE's cluster file system)");
    }
    for (const auto& d : topology.devices) {
        if (d.is_display() && d.driver == std::optional<std::string>("vfio-pci")) {
            signs.push_back(
                fmt::format("/sys/bus/pci/devices/{}/driver: vfio-pci (held for a VM)", addr(d)));
        }
    }
    return signs;
}

void check_hypervisor(const kernel::HostFacts& facts,
                      const std::vector<std::string>& signs,
                      std::vector<Check>& out) {
    if (signs.empty()) {
        out.push_back(make("hypervisor",
                           "guest.hypervisor",
                           Status::pass,
                           "running as a virtual machine guest",
                           "/proc/cpuinfo flags: hypervisor"));
        return;
    }
    out.push_back(make("hypervisor",
                       "guest.hypervisor",
                       Status::fail,
                       facts.hypervisor
                           ? "this is a Proxmox host (a nested one: it runs as a VM itself), not "
                             "the guest that uses the GPU: the guest checks do not apply here"
                           : "this is the host, not a guest: the guest checks (driver, device "
                             "nodes) do not apply here",
                       fmt::format("{}", fmt::join(signs, "\n")),
                       "on the host run pt verify (pt verify SEL, or pt verify --vm VMID); run "
                       "pt verify --guest inside the VM that has the GPU"));
}

} // namespace

Report verify_guest(const host::Root& root) {
    Report report;
    const auto facts = kernel::read_host_facts(root);
    const auto topology = pci::scan(root, nullptr);
    report.notes = topology.warnings;
    auto& out = report.checks;
    const auto signs = host_signs(root, facts, topology);
    check_hypervisor(facts, signs, out);
    if (!signs.empty()) {
        // On the host a GPU on vfio-pci is right, and "no /dev/dri/renderD*" is no fault.
        out.push_back(make("GPU on the guest's PCI bus",
                           "guest.gpu-visible",
                           Status::skip,
                           "pt runs on the host (see guest.hypervisor): the guest's GPU checks "
                           "run inside the VM"));
        out.push_back(make("IOMMU / VFIO host checks",
                           "guest.host-checks",
                           Status::skip,
                           "this is the host: pt verify checks IOMMU, VFIO, the kernel command "
                           "line and the initramfs"));
        return report;
    }
    std::vector<const pci::Device*> gpus;
    std::vector<std::string> displays;
    for (const auto& d : topology.devices) {
        if (!d.is_display()) {
            continue;
        }
        displays.push_back(fmt::format("{} [{:04x}:{:04x}]", addr(d), d.vendor, d.device));
        if (passthrough_vendor(d.vendor)) {
            gpus.push_back(&d);
        }
    }
    if (gpus.empty()) {
        out.push_back(make("GPU on the guest's PCI bus",
                           "guest.gpu-visible",
                           Status::fail,
                           "no NVIDIA, AMD or Intel GPU on the guest's PCI bus: the device was "
                           "not passed through (the VM's config, or the host, is the problem, "
                           "not the guest driver)",
                           displays.empty() ? std::string("/sys/bus/pci/devices: no display "
                                                          "device")
                                            : fmt::format("display devices: {} (emulated)",
                                                          fmt::join(displays, ", ")),
                           "on the host: pt verify --vm VMID, and dmesg | grep -i -e vfio -e "
                           "iommu for errors at VM start"));
    } else {
        std::vector<std::string> names;
        for (const auto* g : gpus) {
            names.push_back(fmt::format("{} [{:04x}:{:04x}]", addr(*g), g->vendor, g->device));
        }
        out.push_back(make("GPU on the guest's PCI bus",
                           "guest.gpu-visible",
                           Status::pass,
                           fmt::format("passed-through GPU: {}", fmt::join(names, ", ")),
                           fmt::format("/sys/bus/pci/devices: {}", fmt::join(names, ", "))));
    }
    bool nvidia = false;
    for (const auto* g : gpus) {
        check_link(*g, out);
        check_driver(*g, out);
        check_nodes(root, *g, out);
        nvidia = nvidia || g->vendor == 0x10de;
    }
    if (nvidia) {
        check_nvidia_smi(root, out);
    }
    out.push_back(make("IOMMU / VFIO host checks",
                       "guest.host-checks",
                       Status::skip,
                       "IOMMU, VFIO, kernel command line and initramfs are host matters: run pt "
                       "verify on the Proxmox host"));
    return report;
}

} // namespace pt::check
