// SPDX-License-Identifier: MIT
#pragma once

#include <archive.h>
#include <archive_entry.h>

namespace pt::boot {

// The libarchive soname pt loads: 13 for every libarchive 3.x (Debian 12's libarchive13 and
// Debian 13's libarchive13t64 alike).
inline constexpr const char* k_libarchive_soname = "libarchive.so.13";

// The libarchive functions the initramfs reader calls, loaded with dlopen the first time an
// initramfs is read rather than linked. Linked, libarchive and what it links (ICU, libxml2,
// nettle, acl, the compressors) are loaded and relocated on every start of pt, about half of
// its start-up time, for the one reader that needs them: pt iommu-groups, a completion or a
// plan never do. The types are libarchive's own, from its header.
struct LibArchive {
    decltype(&::archive_read_new) read_new;
    decltype(&::archive_read_free) read_free;
    decltype(&::archive_read_support_filter_gzip) support_filter_gzip;
    decltype(&::archive_read_support_filter_zstd) support_filter_zstd;
    decltype(&::archive_read_support_filter_xz) support_filter_xz;
    decltype(&::archive_read_support_filter_lzma) support_filter_lzma;
    decltype(&::archive_read_support_filter_lz4) support_filter_lz4;
    decltype(&::archive_read_support_filter_bzip2) support_filter_bzip2;
    decltype(&::archive_read_support_format_cpio) support_format_cpio;
    decltype(&::archive_read_set_read_callback) set_read_callback;
    decltype(&::archive_read_set_skip_callback) set_skip_callback;
    decltype(&::archive_read_set_callback_data) set_callback_data;
    decltype(&::archive_read_open1) open1;
    decltype(&::archive_read_next_header) next_header;
    decltype(&::archive_read_data) read_data;
    decltype(&::archive_filter_code) filter_code;
    decltype(&::archive_error_string) error_string;
    decltype(&::archive_set_error) set_error;
    decltype(&::archive_entry_pathname) entry_pathname;
    decltype(&::archive_entry_size) entry_size;
    decltype(&::archive_entry_filetype) entry_filetype;
    decltype(&::archive_entry_mode) entry_mode;
};

// libarchive, loaded once (thread-safe). Throws pt::Error naming the library, dlopen's reason
// and the package that installs it when it cannot be loaded or lacks a function.
const LibArchive& libarchive();

} // namespace pt::boot
