// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pt::snapshot {

// One member of a snapshot archive. `path` is a host path ("/sys/bus/pci/devices/..."); the
// archive stores it relative ("sys/bus/pci/devices/..."), so `tar xzf FILE -C DIR` recreates the
// host's layout under DIR and `pt --root DIR` reads it.
struct Entry {
    enum class Type { file, directory, symlink };

    std::string path;
    Type type = Type::file;
    std::string content;     // a file's bytes
    std::string link_target; // a link's target exactly as readlink(2) gave it (often relative)
    std::int64_t mtime = 0;  // seconds since the epoch
    long mtime_nsec = 0;     // and nanoseconds: pt verify compares initrd and config mtimes
    unsigned mode = 0644;    // permission bits only
};

// A POSIX tar stream (ustar headers, with a pax extended header before any member whose name or
// link target does not fit in ustar's fields or whose mtime has a fraction of a second) holding
// `entries` in the given order, followed by the two zero blocks that end an archive. Owners are
// recorded as root (uid and gid 0), whatever they were, because an extracted snapshot is read by
// whoever extracts it. Pure: the same entries always give the same bytes. Throws pt::Error for a
// path that is not absolute.
std::string tar(const std::vector<Entry>& entries);

// tar(entries) as one gzip member, what pt snapshot writes: compressed while it is written, in
// pieces of one megabyte on two threads (pigz's scheme: each piece primed with the 32 KiB before
// it). gunzip gives back tar(entries); the bytes depend on the entries only, never on the
// threads' timing.
std::string tar_gz(const std::vector<Entry>& entries);

// `data` compressed into one gzip member (RFC 1952) with zlib's default level (gzip's own, 6), a
// zero header timestamp and no file name, so equal input gives equal output. Throws pt::Error if
// zlib fails.
std::string gzip(std::string_view data);

// The inverse of gzip(), for tests and for reading a snapshot back. Throws pt::Error when `data`
// is not a complete gzip stream.
std::string gunzip(std::string_view data);

// Writes `bytes` to `path` (a path on the machine pt runs on, not under --root) atomically: a
// temporary file in the same folder, fsync'ed, then renamed over `path`, so a reader never sees a
// half-written archive and a failure leaves any earlier file in place. The new file gets mode
// 0644. Throws pt::Error naming `path` and the system's reason (missing folder, permission).
// `flag` is the option that named the path, for the messages ("-o", "--save"); `mode` the
// new file's mode.
void write_output_file(const std::string& path,
                       std::string_view bytes,
                       std::string_view flag = "-o",
                       unsigned mode = 0644);

} // namespace pt::snapshot
