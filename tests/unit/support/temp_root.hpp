// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace pt::test {

// One PCI function to create under a TempRoot, in the kernel's sysfs layout. Hex fields hold the
// digits only ("10de"); they are written in the kernel's format ("0x10de\n"). An empty hex field
// leaves the attribute out, and a field that is not hex (e.g. "zz") produces a garbled attribute.
struct DeviceSpec {
    std::string address;                    // "0000:01:00.0"
    std::string vendor = "10de";            // vendor, 0x%04x
    std::string device = "2204";            // device, 0x%04x
    std::string class_code = "030000";      // class, 0x%06x
    std::string subsystem_vendor = "1458";  // subsystem_vendor, 0x%04x
    std::string subsystem_device = "403b";  // subsystem_device, 0x%04x
    std::string revision = "a1";            // revision, 0x%02x
    std::optional<std::string> driver;      // `driver` link to /sys/bus/pci/drivers/<driver>
    std::optional<int> iommu_group;         // `iommu_group` link and the group's devices/ entry
    std::optional<std::string> parent;      // address of an already added upstream device
    std::optional<std::string> host_bridge; // directory between parent (or /sys/devices) and the
                                            // device; default "pciDDDD:BB" when there is no parent
    std::map<std::string, std::string> attrs; // extra files in the device directory, verbatim;
                                              // written last, so they may replace the above
};

// A fresh host tree in a temporary directory, removed by the destructor unless the environment
// variable PT_KEEP_TEST_ROOTS is set to 1. Host paths ("/sys/...") name files inside the tree.
class TempRoot {
public:
    TempRoot();
    ~TempRoot();
    TempRoot(const TempRoot&) = delete;
    TempRoot& operator=(const TempRoot&) = delete;

    const std::filesystem::path& path() const { return m_path; }

    // "<tmp>/sys/x" for "/sys/x".
    std::filesystem::path host(std::string_view host_path) const;

    // Writes `content` verbatim to `host_path`, creating parent directories.
    void write(std::string_view host_path, std::string_view content) const;

    // Creates directory `host_path` and its parents.
    void mkdir(std::string_view host_path) const;

    // Creates the symbolic link `host_path` with the literal `target` (absolute targets are
    // written as they are: they point outside the tree unless something re-roots them).
    void symlink(std::string_view host_path, std::string_view target) const;

    // Creates the symbolic link `host_path` pointing at `host_target` by a relative path, the way
    // the kernel links sysfs entries.
    void relative_symlink(std::string_view host_path, std::string_view host_target) const;

    // Creates a device directory with its attributes and links; returns the host path of the
    // device directory (/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0).
    std::string add_device(const DeviceSpec& spec);

    // The host path of a device added earlier.
    const std::string& device_dir(const std::string& address) const;

private:
    std::filesystem::path m_path;
    std::map<std::string, std::string> m_device_dirs;
};

} // namespace pt::test
