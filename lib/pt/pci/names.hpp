// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::pci {

struct Device;

// Vendor, device, subsystem and class names from the pci.ids database that lives under the root
// (/usr/share/misc/pci.ids), looked up through libpci. This is the only part of pt that talks to
// libpci: enumeration and attributes come from sysfs directly, because libpci's sysfs backend
// exits the process on a partial tree. udev's hwdb and libpci's ~/.pciids-cache are never
// consulted, since both would read the machine pt runs on instead of the root.
class NameDb {
public:
    // `enabled` false (--numeric) makes every lookup return nullopt without opening anything.
    // `fallback` (the pci.ids of the machine pt runs on, k_system_ids) is used when the root has
    // none: a tree copied from a forum post rarely carries it, and the database names hardware,
    // not the host, so another machine's copy gives the same names. note() then says so.
    NameDb(const host::Root& root,
           bool enabled,
           const std::optional<std::filesystem::path>& fallback = std::nullopt);
    ~NameDb();
    NameDb(const NameDb&) = delete;
    NameDb& operator=(const NameDb&) = delete;

    std::optional<std::string> vendor(std::uint16_t vendor);
    std::optional<std::string> device(std::uint16_t vendor, std::uint16_t device);
    std::optional<std::string> subsystem(std::uint16_t vendor,
                                         std::uint16_t device,
                                         std::uint16_t subsystem_vendor,
                                         std::uint16_t subsystem_device);
    // The subclass name ("VGA compatible controller"), or the base class name when pci.ids
    // lists no subclass.
    std::optional<std::string> class_name(std::uint32_t class_code);

    // Fills `dev.names`.
    void name(Device& dev);

    // Fills the names of every device. Before the first lookup, this loads from pci.ids only the
    // lines these devices need (their vendors', devices' and subsystems', and the class list):
    // parsing the whole file (36,000 lines) is most of what naming costs. Other IDs are then
    // unknown to this NameDb; a lookup before name_all loads the whole file.
    void name_all(std::vector<Device>& devices);

    // Why names are unavailable (no pci.ids under the root, or a malformed one), or nullopt.
    const std::optional<std::string>& problem() const { return m_problem; }

    // Where the names come from when that is not the root's own pci.ids (the fallback), or
    // nullopt.
    const std::optional<std::string>& note() const { return m_note; }

private:
    struct Impl;
    std::optional<std::string> lookup(int flags, unsigned a, unsigned b, unsigned c, unsigned d);

    std::unique_ptr<Impl> m_impl;
    std::optional<std::string> m_problem;
    std::optional<std::string> m_note;
};

// The pci.ids of the machine pt runs on (Debian's pci.ids package), outside any --root.
inline constexpr const char* k_system_ids = "/usr/share/misc/pci.ids";

} // namespace pt::pci
