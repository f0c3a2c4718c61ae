// SPDX-License-Identifier: MIT
#pragma once

// Writes initramfs images the way mkinitramfs (initramfs-tools) lays them out, for the unit tests
// and pt-mkroot's `initramfs:` fixtures. Deterministic: members in bytewise order, mtime 0,
// uid/gid 0, modes 0644 (files) and 0755 (directories), inode numbers counted from 1, gzip
// without a name or timestamp; so the same input gives the same bytes with the same libarchive
// and compression libraries.

#include "pt/boot/initramfs.hpp"

#include <map>
#include <optional>
#include <string>

namespace pt::test {

// Member path ("etc/modprobe.d/vfio.conf") -> content. The directories above each path become
// directory entries of their own, as `find . | cpio -o -H newc` writes them.
using CpioFiles = std::map<std::string, std::string>;

// One cpio "newc" archive ending with TRAILER!!!, compressed with `compression`:
//   none   padded with zeros to a multiple of 512 bytes, as GNU cpio pads an early archive;
//   lz4    the legacy frame (`lz4 -l`, magic 0x184c2102), the only lz4 framing the kernel
//          unpacks (lib/decompress_unlz4.c); written as literal-only blocks, valid LZ4 that
//          needs no lz4 library here;
//   gzip, zstd, xz, lzma, bzip2: libarchive's writers.
// Throws std::runtime_error when libarchive cannot write it (Compression::other included).
std::string cpio_archive(const CpioFiles& files, boot::Compression compression);

// `data` compressed as cpio_archive compresses an archive (none: unchanged, no padding).
std::string compress(const std::string& data, boot::Compression compression);

// An image as mkinitramfs writes it: with `microcode_vendor` ("AuthenticAMD", "GenuineIntel"),
// first an uncompressed early archive holding kernel/x86/microcode/<vendor>.bin; then the main
// archive of `files`, compressed with `compression`.
std::string initramfs_image(const CpioFiles& files,
                            boot::Compression compression,
                            const std::optional<std::string>& microcode_vendor = std::nullopt);

// The placeholder content of the early archive's microcode file.
inline constexpr const char* k_fixture_microcode = "pt test fixture: not real CPU microcode\n";

} // namespace pt::test
