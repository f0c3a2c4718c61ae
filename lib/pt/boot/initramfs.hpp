// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::host {
class Root;
}

namespace pt::boot {

// What is in the initramfs the next boot unpacks: the "staged" layer between the configuration
// in /etc and the running kernel. An image is what the kernel's buffer format allows
// (Documentation/driver-api/early-userspace/buffer-format.rst): cpio "newc" archives, each
// ending with a TRAILER!!! entry, separated by zero padding, the last one usually compressed.
// initramfs-tools writes zero or more uncompressed early archives (CPU microcode under
// kernel/x86/microcode/) and then one compressed archive with everything else (mkinitramfs;
// unmkinitramfs splits them the same way).

enum class Compression { none, gzip, zstd, xz, lzma, lz4, bzip2, other };

// "none" "gzip" "zstd" "xz" "lzma" "lz4" "bzip2" "other".
std::string_view to_string(Compression compression);

struct InitramfsMember {
    std::string path; // normalised: no leading "./" or "/": "etc/modprobe.d/vfio.conf"
    std::uint64_t size = 0;
    bool regular = true;    // false for directories, links, devices
    std::uint32_t mode = 0; // type and permission bits as in st_mode (0100644 for a file)
    // The content, only for regular members the caller asked for and at most
    // k_initramfs_text_limit bytes each (a larger member keeps its size and no text).
    std::optional<std::string> text;
};

// The most content read_initramfs keeps of one wanted member.
inline constexpr std::uint64_t k_initramfs_text_limit = std::uint64_t{1} << 20U; // 1 MiB

struct InitramfsSegment {     // one cpio archive inside the image
    std::uint64_t offset = 0; // byte offset in the image
    Compression compression = Compression::none;
    std::size_t members = 0;
};

struct Initramfs {
    std::string path; // host path, "/boot/initrd.img-6.8.12-4-pve"
    std::vector<InitramfsSegment> segments;
    std::vector<InitramfsMember> members; // every segment's members in order
    // Set when the image cannot be read (not a regular file, empty, not an initramfs, truncated,
    // unsupported compression, an I/O error): one sentence naming the file and the cause.
    // Members read before the error are kept.
    std::optional<std::string> error;

    // The last member with this path (the kernel unpacks segments in order, so a later one
    // wins); nullptr when absent.
    const InitramfsMember* find(std::string_view member_path) const;

    // Members whose path starts with `prefix` ("etc/modprobe.d/", "usr/lib/modules/"), in the
    // order of their last occurrence, each path once (the last one, as find).
    std::vector<const InitramfsMember*> under(std::string_view prefix) const;
};

// Which members' contents to keep: called with the normalised member path.
using WantContent = std::function<bool(std::string_view member_path)>;

// Reads the image at `host_path` through `root`: opened once inside the root (read-only,
// non-blocking, so a FIFO cannot hang pt), checked to be a regular file, and streamed (images are
// 30-150 MB; Root::k_text_limit does not apply). Never throws for a bad or unreadable image: it
// fills `error`. nullopt when the file does not exist. `want` may be empty (no contents).
std::optional<Initramfs>
read_initramfs(const host::Root& root, std::string_view host_path, const WantContent& want);

// The member path as the rest of pt names it: "./etc/x" and "/etc/x" -> "etc/x".
std::string normalise_member_path(std::string_view archive_path);

} // namespace pt::boot
