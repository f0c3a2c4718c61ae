// SPDX-License-Identifier: MIT
#pragma once

#include "pt/conf/modprobe.hpp"
#include "pt/edit/plan.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::model {
class Host;
}

namespace pt::pci {
struct Device;
struct Topology;
} // namespace pt::pci

namespace pt::driver {

// pt blacklist: keep a GPU vendor's host drivers off the GPU being passed through, through one
// modprobe.d file that pt owns entirely. Planning reads through Root and writes nothing.

// The file pt writes. Nothing else under /etc/modprobe.d is ever touched.
inline constexpr std::string_view k_blacklist_conf = "/etc/modprobe.d/pt-blacklist.conf";

struct BlacklistRequest {
    // pci::parse_selector forms (pt setup gives every card of a profile); none selects the GPU
    // being passed through: the display devices bound to vfio-pci, else the single display
    // device that is not the boot VGA.
    std::vector<std::string> selectors;
    bool softdep = false; // --softdep: `softdep M pre: vfio-pci` instead of blacklisting
    bool hard = false;    // --hard: also `install M /bin/false`
    // --remove: without a selector, remove pt's file; with one, take out the entries of the
    // selected GPUs' vendors and remove the file when nothing is left.
    bool remove = false;
    std::string title; // the command line, journalled with the plan
};

// A GPU vendor pt knows the host drivers of.
struct GpuVendor {
    std::uint16_t id = 0;
    std::string_view name;                  // "NVIDIA"
    std::vector<std::string_view> modules;  // every host module, in the order pt writes them
    std::vector<std::string_view> softdeps; // the modules that bind PCI devices themselves
};

// NVIDIA (10de): nouveau nvidia nvidia_drm nvidia_modeset nvidiafb; AMD (1002): amdgpu radeon;
// Intel (8086): i915 xe. nullptr for any other vendor.
const GpuVendor* find_gpu_vendor(std::uint16_t vendor);

// The display devices (class 03xx) the request is about, sorted by address, as pointers into
// `topology` (which must outlive them). With selectors:
// the display devices any of them matches, in topology order; throws pt::Error when one matches
// no device and pt::UsageError when one matches only devices that are not display devices.
// Without one: the
// display devices bound to vfio-pci, else the single non-boot-VGA display device; throws
// pt::UsageError listing the display devices when that is none or more than one.
std::vector<const pci::Device*> select_gpus(const pci::Topology& topology,
                                            const std::vector<std::string>& selectors);

// The whole text of pt's file for `commands` (verb, module and rest of each line; line numbers
// are ignored): a header saying pt owns the file and how to remove it, then the commands grouped
// by vendor (NVIDIA, AMD, Intel, then modules of no known vendor), each group under a comment,
// in the vendor's module order and blacklist, install, softdep order within a module. The same
// commands in any order give the same text. Empty `commands` give the header only.
std::string render_blacklist_conf(const std::vector<conf::ModprobeCommand>& commands);

// Plans pt's file for `request`: reads pt's file and every other modprobe.d file (through
// conf::read_modprobe_d), skips modules another file already blacklists or disables (with a
// note), switches a vendor to softdep when the host keeps another display device of that vendor
// that is not on vfio-pci (with a note saying why), keeps pt's entries for other vendors, and
// adds update-initramfs as the follow-up with reboot_needed. An unchanged file gives an empty
// plan. Throws pt::UsageError for a bad selector or conflicting flags (--softdep with --hard,
// --remove with either), pt::Error for a GPU of a vendor pt knows no drivers of and for I/O.
edit::Plan plan_blacklist(const model::Host& model, const BlacklistRequest& request);

} // namespace pt::driver
