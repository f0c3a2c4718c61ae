// SPDX-License-Identifier: MIT
#include "pt/boot/libarchive.hpp"
#include "support/catch.hpp"

// libarchive is loaded with dlopen the first time an initramfs is read (libarchive.hpp); the
// initramfs tests read real images through it. Here: every function pt calls was found, the
// library is loaded once, and a reader made through the table works.
TEST_CASE("boot::libarchive loads every function pt calls, once", "[boot][initramfs]") {
    const auto& lib = pt::boot::libarchive();
    CHECK(&lib == &pt::boot::libarchive());
    CHECK(lib.read_new != nullptr);
    CHECK(lib.read_free != nullptr);
    CHECK(lib.support_filter_gzip != nullptr);
    CHECK(lib.support_filter_zstd != nullptr);
    CHECK(lib.support_filter_xz != nullptr);
    CHECK(lib.support_filter_lzma != nullptr);
    CHECK(lib.support_filter_lz4 != nullptr);
    CHECK(lib.support_filter_bzip2 != nullptr);
    CHECK(lib.support_format_cpio != nullptr);
    CHECK(lib.set_read_callback != nullptr);
    CHECK(lib.set_skip_callback != nullptr);
    CHECK(lib.set_callback_data != nullptr);
    CHECK(lib.open1 != nullptr);
    CHECK(lib.next_header != nullptr);
    CHECK(lib.read_data != nullptr);
    CHECK(lib.filter_code != nullptr);
    CHECK(lib.error_string != nullptr);
    CHECK(lib.set_error != nullptr);
    CHECK(lib.entry_pathname != nullptr);
    CHECK(lib.entry_size != nullptr);
    CHECK(lib.entry_filetype != nullptr);
    CHECK(lib.entry_mode != nullptr);

    archive* reader = lib.read_new();
    REQUIRE(reader != nullptr);
    CHECK(lib.support_format_cpio(reader) == ARCHIVE_OK);
    CHECK(lib.support_filter_zstd(reader) == ARCHIVE_OK);
    CHECK(lib.read_free(reader) == ARCHIVE_OK);
}
