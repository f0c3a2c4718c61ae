// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::host {

// The single door to the host. Every path pt reads names a host path ("/sys/bus/pci/devices"),
// and Root maps it under its prefix, so `--root DIR` makes pt inspect a snapshot or a fixture
// tree exactly as it would inspect the live machine. Symbolic links are followed inside the
// prefix: an absolute link target is re-rooted and ".." never climbs above the prefix.
//
// Absence is a value (nullopt or an empty list). Any other I/O failure throws pt::Error naming
// the mapped path and the system's reason.
class Root {
public:
    // Throws pt::UsageError if `prefix` is not an existing directory.
    explicit Root(const std::filesystem::path& prefix);

    // The prefix, absolute and normalised; "/" for the live host.
    const std::filesystem::path& prefix() const { return m_prefix; }

    // True when the prefix is "/", i.e. pt is looking at the machine it runs on.
    bool is_live() const { return m_prefix == "/"; }

    // "/sys/x" -> "<prefix>/sys/x", without following links. `host_path` must be absolute.
    std::filesystem::path map(std::string_view host_path) const;

    // The contents of a small attribute or text file with one trailing newline removed, or
    // nullopt when it does not exist. Throws pt::Error on other failures (EACCES, EIO, ...).
    std::optional<std::string> read_attr(std::string_view host_path) const;

    // Like read_attr, but a missing file is an error too.
    std::string read_file(std::string_view host_path) const;

    // At most `max` bytes of a file; nullopt when it does not exist.
    std::optional<std::vector<std::uint8_t>> read_bytes(std::string_view host_path,
                                                        std::size_t max) const;

    // The entry names of a directory, sorted bytewise, without "." and ".."; empty when the
    // directory does not exist.
    std::vector<std::string> list(std::string_view host_dir) const;

    // True when the path exists (after following links inside the root).
    bool exists(std::string_view host_path) const;

    // The last component of a symbolic link's target ("vfio-pci" for a driver link, "14" for an
    // iommu_group link), or nullopt when `host_path` is not a symbolic link.
    std::optional<std::string> link_name(std::string_view host_path) const;

    // The host path that `host_path` designates after following every link inside the root
    // ("/sys/bus/pci/devices/0000:01:00.0" -> "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0"),
    // or nullopt when some component does not exist. Throws pt::Error on a link loop.
    std::optional<std::string> resolve(std::string_view host_path) const;

private:
    // Opens `host_path` inside the root; returns -1 with errno set on failure.
    int open_inside(std::string_view host_path, int flags) const;

    std::filesystem::path m_prefix;
    std::shared_ptr<const int> m_dir_fd; // O_PATH descriptor of the prefix, shared by copies
};

// Joins host path components with exactly one '/' between them.
std::string join(std::string_view dir, std::string_view name);

} // namespace pt::host
