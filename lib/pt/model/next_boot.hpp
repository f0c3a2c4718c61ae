// SPDX-License-Identifier: MIT
#pragma once

#include "pt/conf/module_config.hpp"
#include "pt/pci/address.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::pci {
struct Device;
}

namespace pt::model {

// What the next boot does with one device, judged on the module configuration the next boot
// applies (conf::read_module_config with a plan's files and command line in place). Every
// writer (bind, unbind, blacklist, grub) ends its plan with one line per device it touches.
struct NextBoot {
    pci::Address address;
    // "vfio-pci" or the host driver expected to bind it; nullopt: nothing binds it.
    std::optional<std::string> driver;
    // Other host modules that could take it as well (nothing keeps them from loading either):
    // which one binds depends on which loads first.
    std::vector<std::string> alternatives;
    // What decides it, as it follows the driver in describe(): "by vfio-pci ids= in
    // /etc/modprobe.d/pt-vfio.conf:3", "its host driver (nothing gives it to vfio-pci)".
    std::string reason;
};

// What the prediction needs besides the module configuration.
struct NextBootInputs {
    // Devices pt's init-top hook gives to vfio-pci by driver_override, and the hook's path.
    std::vector<pci::Address> by_override;
    std::string override_source;
    // The device's host driver modules, the one bound now first ("nvidia", then "nouveau");
    // the first one that is not blacklisted is the prediction when vfio-pci does not claim it.
    std::vector<std::string> host_modules;
};

// In the order the boot decides it: the hook's driver_override (it runs before udev loads any
// driver), then vfio-pci ids= (the last value of the parameter, command line included, as
// conf::ModuleConfig::option), then the first host module that neither a `blacklist` line,
// modprobe.blacklist=, module_blacklist= nor an `install ... /bin/false` keeps from loading.
NextBoot predict_next_boot(const pci::Device& device,
                           const conf::ModuleConfig& config,
                           const NextBootInputs& inputs);

// The vfio-pci ids= list covers the device ("10de:2204", or with subsystem IDs
// "10de:2204:1458:403b", as vfio-pci's own parser reads them; case does not matter).
bool ids_cover(std::string_view ids, const pci::Device& device);

// "next boot: 0000:81:00.0 -> vfio-pci, by vfio-pci ids= in /etc/modprobe.d/pt-vfio.conf:3",
// "next boot: 0000:81:00.0 -> no driver (nothing gives it to vfio-pci; nouveau blacklisted in
// /etc/modprobe.d/pt-blacklist.conf:2)".
std::string describe(const NextBoot& next);

} // namespace pt::model
