// SPDX-License-Identifier: MIT
#pragma once

#include "pt/host/mapped_file.hpp"

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::host {

class Dir;

// What a path is once links are followed inside the root (Root::node).
struct NodeInfo {
    enum class Kind { regular, directory, character, block, other };
    Kind kind = Kind::other;
    unsigned major = 0; // of a character or block device; 0 otherwise
    unsigned minor = 0;
};

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

    // The most pt reads of one text file. A larger file is an error, never silently cut: a plan
    // built from part of a file would be wrong, and its apply would fail forever.
    static constexpr std::size_t k_text_limit = std::size_t{16} << 20U; // 16 MiB

    // The contents of a small attribute or text file with one trailing newline removed, or
    // nullopt when it does not exist. Throws pt::Error on other failures (EACCES, EIO, ...), when
    // the path is not a regular file (a FIFO, socket, device or directory: opened non-blocking,
    // so pt never hangs on one), or when it is larger than k_text_limit.
    std::optional<std::string> read_attr(std::string_view host_path) const;

    // A regular file mapped read-only (MappedFile), or nullopt when it does not exist. For a
    // large file read once; throws pt::Error as read_file does (not a regular file, larger than
    // k_text_limit, unreadable).
    std::optional<MappedFile> map_file(std::string_view host_path) const;

    // The whole file, byte for byte (no newline is removed: config files are edited exactly).
    // Throws pt::Error when it is missing or unreadable, not a regular file, or larger than
    // k_text_limit.
    std::string read_file(std::string_view host_path) const;

    // As read_file, but nullopt when the file does not exist (a dangling link included).
    std::optional<std::string> read_file_if_exists(std::string_view host_path) const;

    // At most `max` bytes of a regular file; nullopt when it does not exist.
    std::optional<std::vector<std::uint8_t>> read_bytes(std::string_view host_path,
                                                        std::size_t max) const;

    // The entry names of a directory, sorted bytewise, without "." and ".."; empty when the
    // directory does not exist.
    std::vector<std::string> list(std::string_view host_dir) const;

    // True when the path exists (after following links inside the root).
    bool exists(std::string_view host_path) const;

    // The kind of the path and, for a device node, its major:minor; nullopt when it does not
    // exist. Never opens the node itself (a device is only looked at, through O_PATH).
    std::optional<NodeInfo> node(std::string_view host_path) const;

    // The last component of a symbolic link's target ("vfio-pci" for a driver link, "14" for an
    // iommu_group link), or nullopt when `host_path` is not a symbolic link.
    std::optional<std::string> link_name(std::string_view host_path) const;

    // Opens a directory inside the root; nullopt when it does not exist.
    std::optional<Dir> open_dir(std::string_view host_path) const;

    // The host path a symbolic link points to, one level, joined lexically with the link's
    // directory and clamped at the root ("/sys/bus/pci/devices/0000:01:00.0" ->
    // "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0"). nullopt when `host_path` is not a
    // link. Cheaper than resolve() when the path components in between are known to be
    // directories, as under /sys/devices.
    std::optional<std::string> link_target(std::string_view host_path) const;

    // The host path that `host_path` designates after following every link inside the root
    // ("/sys/bus/pci/devices/0000:01:00.0" -> "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0"),
    // or nullopt when some component does not exist. Throws pt::Error on a link loop.
    std::optional<std::string> resolve(std::string_view host_path) const;

    // Opens `host_path` inside the root: every link on the way is followed inside the prefix
    // (openat2 RESOLVE_IN_ROOT), so the descriptor can only name something under it. Returns -1
    // with errno set on failure. O_CLOEXEC is added. For lib/pt/host's writers, which then work
    // relative to the descriptor and never re-open by path.
    int open_inside(std::string_view host_path, int flags) const;

private:
    std::filesystem::path m_prefix;
    std::shared_ptr<const int> m_dir_fd; // O_PATH descriptor of the prefix, shared by copies
};

// A directory opened once inside a Root. Its entries are read with single-component lookups
// relative to the open directory, which is what makes reading a few thousand sysfs devices cheap.
// Entries are never followed as links (O_NOFOLLOW): sysfs attributes are plain files, and a link
// planted in a snapshot cannot lead a read outside the root.
class Dir {
public:
    // The host path this directory was opened as.
    const std::string& host_path() const { return m_host_path; }

    // As Root::read_attr, for the entry `name` of this directory.
    std::optional<std::string> read_attr(std::string_view name) const;

    // As Root::link_target, for the entry `name` of this directory.
    std::optional<std::string> link_target(std::string_view name) const;

    // Opens the subdirectory `relative` (which may have several components) of this directory,
    // staying inside the root; nullopt when it does not exist.
    std::optional<Dir> open_dir(std::string_view relative) const;

    // The entry `name` of this directory when it is a regular file: its status (as fstat gives it)
    // and its whole content. nullopt when it is absent, a link (never followed) or not a regular
    // file; the caller looks at such an entry by path. Throws pt::Error when it cannot be read.
    struct File {
        struct stat status;
        std::string content;
    };

    std::optional<File> read_file(std::string_view name) const;

    // As Root::link_name, for the entry `name` of this directory.
    std::optional<std::string> link_name(std::string_view name) const;

    // True when the entry exists (links are not followed).
    bool has(std::string_view name) const;

    // The entry names, sorted bytewise.
    std::vector<std::string> list() const;

private:
    friend class Root;

    Dir(Root root,
        std::shared_ptr<const int> fd,
        std::string host_path,
        std::filesystem::path shown)
        : m_root(std::move(root))
        , m_fd(std::move(fd))
        , m_host_path(std::move(host_path))
        , m_shown(std::move(shown)) {}

    Root m_root; // cheap to copy: a path and a shared descriptor
    std::shared_ptr<const int> m_fd;
    std::string m_host_path;
    std::filesystem::path m_shown; // the mapped path, for messages
};

// Joins host path components with exactly one '/' between them.
std::string join(std::string_view dir, std::string_view name);

} // namespace pt::host
