// SPDX-License-Identifier: MIT
#include "pt/boot/libarchive.hpp"

#include "pt/error.hpp"

#include <fmt/format.h>

#include <dlfcn.h>

#include <string>

namespace pt::boot {
namespace {

static_assert(ARCHIVE_VERSION_NUMBER >= 3000000 && ARCHIVE_VERSION_NUMBER < 4000000,
              "k_libarchive_soname is libarchive 3's");

std::string dl_reason() {
    const char* text = ::dlerror();
    return text != nullptr ? text : "unknown reason";
}

[[noreturn]] void cannot_load(const std::string& why) {
    throw Error(fmt::format("{} cannot be loaded ({}), so no initramfs can be read: install it "
                            "(apt install libarchive13 on Debian 12, libarchive13t64 on Debian 13)",
                            k_libarchive_soname,
                            why));
}

template <typename Fn>
void bind(void* handle, const char* name, Fn& slot) {
    void* symbol = ::dlsym(handle, name);
    if (symbol == nullptr) {
        cannot_load(fmt::format("it has no {}: {}", name, dl_reason()));
    }
    slot = reinterpret_cast<Fn>(symbol); // NOLINT: dlsym's void* is the function's address
}

LibArchive load() {
    // Never closed: the functions stay in use until pt exits.
    void* handle = ::dlopen(k_libarchive_soname, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        cannot_load(dl_reason());
    }
    LibArchive api{};
    bind(handle, "archive_read_new", api.read_new);
    bind(handle, "archive_read_free", api.read_free);
    bind(handle, "archive_read_support_filter_gzip", api.support_filter_gzip);
    bind(handle, "archive_read_support_filter_zstd", api.support_filter_zstd);
    bind(handle, "archive_read_support_filter_xz", api.support_filter_xz);
    bind(handle, "archive_read_support_filter_lzma", api.support_filter_lzma);
    bind(handle, "archive_read_support_filter_lz4", api.support_filter_lz4);
    bind(handle, "archive_read_support_filter_bzip2", api.support_filter_bzip2);
    bind(handle, "archive_read_support_format_cpio", api.support_format_cpio);
    bind(handle, "archive_read_set_read_callback", api.set_read_callback);
    bind(handle, "archive_read_set_skip_callback", api.set_skip_callback);
    bind(handle, "archive_read_set_callback_data", api.set_callback_data);
    bind(handle, "archive_read_open1", api.open1);
    bind(handle, "archive_read_next_header", api.next_header);
    bind(handle, "archive_read_data", api.read_data);
    bind(handle, "archive_filter_code", api.filter_code);
    bind(handle, "archive_error_string", api.error_string);
    bind(handle, "archive_set_error", api.set_error);
    bind(handle, "archive_entry_pathname", api.entry_pathname);
    bind(handle, "archive_entry_size", api.entry_size);
    bind(handle, "archive_entry_filetype", api.entry_filetype);
    bind(handle, "archive_entry_mode", api.entry_mode);
    return api;
}

} // namespace

const LibArchive& libarchive() {
    static const LibArchive api = load();
    return api;
}

} // namespace pt::boot
