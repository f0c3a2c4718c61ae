// SPDX-License-Identifier: MIT
#include "support/initramfs_writer.hpp"

#include <fmt/format.h>

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <set>
#include <stdexcept>

namespace pt::test {
namespace {

using boot::Compression;
using WriterPtr = std::unique_ptr<archive, decltype(&archive_write_free)>;
using EntryPtr = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

la_ssize_t append_to_string(archive* /*a*/, void* client, const void* buffer, size_t length) {
    static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
    return static_cast<la_ssize_t>(length);
}

void check(archive* a, int status, const char* what) {
    if (status != ARCHIVE_OK) {
        const char* text = archive_error_string(a);
        throw std::runtime_error(
            fmt::format("libarchive: {}: {}", what, text != nullptr ? text : "failed"));
    }
}

// Adds the libarchive filter for `compression`; none and lz4 (legacy, see the header) add none.
void add_filter(archive* a, Compression compression) {
    switch (compression) {
    case Compression::none:
    case Compression::lz4:
        return;
    case Compression::gzip:
        check(a, archive_write_add_filter_gzip(a), "gzip");
        // No timestamp in the gzip header, or every run would write other bytes.
        check(a, archive_write_set_filter_option(a, "gzip", "timestamp", nullptr), "gzip option");
        return;
    case Compression::zstd:
        check(a, archive_write_add_filter_zstd(a), "zstd");
        return;
    case Compression::xz:
        check(a, archive_write_add_filter_xz(a), "xz");
        return;
    case Compression::lzma:
        check(a, archive_write_add_filter_lzma(a), "lzma");
        return;
    case Compression::bzip2:
        check(a, archive_write_add_filter_bzip2(a), "bzip2");
        return;
    case Compression::other:
        break;
    }
    throw std::runtime_error("cpio_archive: no writer for compression 'other'");
}

// Every path and the directories above it, in bytewise order (a directory before its contents).
std::set<std::string> with_directories(const CpioFiles& files) {
    std::set<std::string> paths;
    for (const auto& [path, content] : files) {
        for (auto slash = path.find('/'); slash != std::string::npos;
             slash = path.find('/', slash + 1)) {
            paths.insert(path.substr(0, slash));
        }
        paths.insert(path);
    }
    return paths;
}

void write_entry(archive* a,
                 const std::string& path,
                 const std::string* content,
                 std::int64_t ino) {
    const EntryPtr entry(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(entry.get(), path.c_str());
    archive_entry_set_filetype(entry.get(), content != nullptr ? AE_IFREG : AE_IFDIR);
    archive_entry_set_perm(entry.get(), content != nullptr ? 0644 : 0755);
    archive_entry_set_size(entry.get(),
                           content != nullptr ? static_cast<la_int64_t>(content->size()) : 0);
    archive_entry_set_nlink(entry.get(), content != nullptr ? 1 : 2);
    archive_entry_set_ino64(entry.get(), ino);
    archive_entry_set_mtime(entry.get(), 0, 0);
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    check(a, archive_write_header(a, entry.get()), path.c_str());
    if (content != nullptr && !content->empty()) {
        const la_ssize_t wrote = archive_write_data(a, content->data(), content->size());
        if (wrote != static_cast<la_ssize_t>(content->size())) {
            check(a, ARCHIVE_FATAL, path.c_str());
        }
    }
}

// The legacy lz4 frame: the magic, then blocks of at most 8 MiB, each a 32-bit little-endian
// compressed size and one LZ4 block. Each block here is one sequence of literals only
// (lz4_Block_format.md: a token with the literal length, its extension bytes, the literals).
std::string lz4_legacy(const std::string& data) {
    constexpr std::size_t k_block = std::size_t{8} << 20U;
    const auto put32 = [](std::string& out, std::uint32_t value) {
        for (int i = 0; i < 4; ++i) {
            out += static_cast<char>((value >> (8U * static_cast<unsigned>(i))) & 0xffU);
        }
    };
    std::string out;
    put32(out, 0x184c2102U);
    for (std::size_t at = 0; at < data.size(); at += k_block) {
        const std::size_t length = std::min(k_block, data.size() - at);
        std::string block;
        block += static_cast<char>(std::min<std::size_t>(length, 15) << 4U);
        if (length >= 15) {
            std::size_t rest = length - 15;
            for (; rest >= 255; rest -= 255) {
                block += '\xff';
            }
            block += static_cast<char>(rest);
        }
        block.append(data, at, length);
        put32(out, static_cast<std::uint32_t>(block.size()));
        out += block;
    }
    return out;
}

} // namespace

std::string compress(const std::string& data, Compression compression) {
    if (compression == Compression::none) {
        return data;
    }
    if (compression == Compression::lz4) {
        return lz4_legacy(data);
    }
    const WriterPtr a(archive_write_new(), archive_write_free);
    if (!a) {
        throw std::runtime_error("libarchive: cannot allocate a writer");
    }
    // The raw format writes one entry's bytes as they are, through the filter.
    check(a.get(), archive_write_set_format_raw(a.get()), "raw format");
    add_filter(a.get(), compression);
    check(a.get(), archive_write_set_bytes_per_block(a.get(), 0), "block size");
    std::string out;
    check(a.get(), archive_write_open(a.get(), &out, nullptr, append_to_string, nullptr), "open");
    const EntryPtr entry(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(entry.get(), "data");
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data.size()));
    check(a.get(), archive_write_header(a.get(), entry.get()), "raw entry");
    if (!data.empty()
        && archive_write_data(a.get(), data.data(), data.size())
               != static_cast<la_ssize_t>(data.size())) {
        check(a.get(), ARCHIVE_FATAL, "raw data");
    }
    check(a.get(), archive_write_close(a.get()), "close");
    return out;
}

std::string cpio_archive(const CpioFiles& files, Compression compression) {
    const WriterPtr a(archive_write_new(), archive_write_free);
    if (!a) {
        throw std::runtime_error("libarchive: cannot allocate a writer");
    }
    check(a.get(), archive_write_set_format_cpio_newc(a.get()), "cpio newc");
    check(a.get(), archive_write_set_bytes_per_block(a.get(), 0), "block size");
    std::string out;
    check(a.get(), archive_write_open(a.get(), &out, nullptr, append_to_string, nullptr), "open");
    std::int64_t ino = 1;
    for (const auto& path : with_directories(files)) {
        const auto file = files.find(path);
        write_entry(a.get(), path, file != files.end() ? &file->second : nullptr, ino++);
    }
    check(a.get(), archive_write_close(a.get()), "close");
    if (compression == Compression::none) {
        // GNU cpio pads an archive to 512-byte blocks; a compressor's output is not padded.
        out.resize((out.size() + 511) / 512 * 512, '\0');
    }
    return compress(out, compression);
}

std::string initramfs_image(const CpioFiles& files,
                            Compression compression,
                            const std::optional<std::string>& microcode_vendor) {
    std::string image;
    if (microcode_vendor) {
        // What initramfs-tools' early microcode hooks put in front (amd64-microcode's and
        // intel-microcode's initramfs hooks; the kernel's x86 microcode loader reads it).
        image = cpio_archive(
            {{fmt::format("kernel/x86/microcode/{}.bin", *microcode_vendor), k_fixture_microcode}},
            Compression::none);
    }
    image += cpio_archive(files, compression);
    return image;
}

} // namespace pt::test
