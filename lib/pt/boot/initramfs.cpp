// SPDX-License-Identifier: MIT
#include "pt/boot/initramfs.hpp"

#include "pt/boot/libarchive.hpp"
#include "pt/error.hpp"
#include "pt/host/root.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <utility>

namespace pt::boot {

std::string_view to_string(Compression compression) {
    switch (compression) {
    case Compression::none:
        return "none";
    case Compression::gzip:
        return "gzip";
    case Compression::zstd:
        return "zstd";
    case Compression::xz:
        return "xz";
    case Compression::lzma:
        return "lzma";
    case Compression::lz4:
        return "lz4";
    case Compression::bzip2:
        return "bzip2";
    case Compression::other:
        break;
    }
    return "other";
}

std::string normalise_member_path(std::string_view archive_path) {
    while (true) {
        if (archive_path.starts_with("./")) {
            archive_path.remove_prefix(2);
        } else if (archive_path.starts_with('/')) {
            archive_path.remove_prefix(1);
        } else {
            return std::string(archive_path);
        }
    }
}

const InitramfsMember* Initramfs::find(std::string_view member_path) const {
    const auto last = std::find_if(members.rbegin(), members.rend(), [&](const auto& member) {
        return member.path == member_path;
    });
    return last == members.rend() ? nullptr : &*last;
}

std::vector<const InitramfsMember*> Initramfs::under(std::string_view prefix) const {
    std::unordered_map<std::string_view, std::size_t> last_index;
    for (std::size_t i = 0; i < members.size(); ++i) {
        if (members[i].path.starts_with(prefix)) {
            last_index[members[i].path] = i;
        }
    }
    std::vector<const InitramfsMember*> found;
    for (std::size_t i = 0; i < members.size(); ++i) {
        const auto it = last_index.find(members[i].path);
        if (it != last_index.end() && it->second == i) {
            found.push_back(&members[i]);
        }
    }
    return found;
}

namespace {

// The kernel's newc header (init/initramfs.c, usr/gen_init_cpio.c): "070701" (or "070702" with
// checksums), then 13 fields of 8 hex digits; the name follows, and name and data are each
// padded to a multiple of 4 bytes counted from the start of the header.
constexpr std::size_t k_newc_header_size = 110;
constexpr std::size_t k_newc_filesize_field = 6 + 6 * 8; // magic, ino, mode, uid, gid, nlink, mtime
constexpr std::size_t k_newc_namesize_field = 6 + 11 * 8;
constexpr std::string_view k_newc_trailer = "TRAILER!!!";
constexpr std::size_t k_name_limit = 4096; // PATH_MAX: the kernel refuses longer names

// Owns the image's descriptor.
class ImageFd {
public:
    explicit ImageFd(int fd)
        : m_fd(fd) {}

    ImageFd(const ImageFd&) = delete;
    ImageFd& operator=(const ImageFd&) = delete;

    ~ImageFd() {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }

    int get() const { return m_fd; }

private:
    int m_fd;
};

// pread until `size` bytes or the end of the file; the count read, or -1 with errno.
ssize_t read_at(int fd, void* buffer, std::size_t size, std::uint64_t offset) {
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::pread(
            fd, static_cast<char*>(buffer) + done, size - done, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        if (n == 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    return static_cast<ssize_t>(done);
}

std::uint64_t align4(std::uint64_t offset) {
    return (offset + 3U) & ~std::uint64_t{3};
}

std::optional<std::uint32_t> parse_hex8(const char* digits) {
    std::uint32_t value = 0;
    for (int i = 0; i < 8; ++i) {
        const char c = digits[i];
        std::uint32_t digit = 0;
        if (c >= '0' && c <= '9') {
            digit = static_cast<std::uint32_t>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            digit = static_cast<std::uint32_t>(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            digit = static_cast<std::uint32_t>(c - 'A' + 10);
        } else {
            return std::nullopt;
        }
        value = (value << 4U) | digit;
    }
    return value;
}

bool is_newc_magic(std::string_view bytes) {
    return bytes.starts_with("070701") || bytes.starts_with("070702");
}

// Where an uncompressed newc archive starting at `offset` ends: the byte after its TRAILER!!!
// entry. libarchive stops at the trailer but reads ahead, so its byte counters cannot say where
// the next archive starts; the headers can.
struct NewcExtent {
    std::uint64_t end = 0;            // after the trailer, or where the walk stopped
    std::optional<std::string> cause; // why the walk stopped before a trailer
};

NewcExtent walk_newc(int fd, std::uint64_t offset, std::uint64_t file_size) {
    std::array<char, k_newc_header_size> header{};
    std::string name;
    while (true) {
        const ssize_t got = read_at(fd, header.data(), header.size(), offset);
        if (got < 0) {
            return {offset,
                    fmt::format("reading at offset {} failed: {}", offset, std::strerror(errno))};
        }
        if (static_cast<std::size_t>(got) < header.size()) {
            return {offset,
                    fmt::format("it is truncated: the cpio archive ends at offset {} without its "
                                "TRAILER!!! entry",
                                offset + static_cast<std::uint64_t>(got))};
        }
        const auto filesize = parse_hex8(header.data() + k_newc_filesize_field);
        const auto namesize = parse_hex8(header.data() + k_newc_namesize_field);
        if (!is_newc_magic({header.data(), header.size()}) || !filesize || !namesize) {
            return {offset,
                    fmt::format("the cpio header at offset {} is damaged (no newc magic or a "
                                "field that is not hex), where the kernel stops unpacking",
                                offset)};
        }
        if (*namesize == 0 || *namesize > k_name_limit) {
            return {offset,
                    fmt::format(
                        "the cpio header at offset {} has a name size of {}", offset, *namesize)};
        }
        name.resize(*namesize);
        const ssize_t name_got = read_at(fd, name.data(), name.size(), offset + header.size());
        if (name_got != static_cast<ssize_t>(name.size())) {
            return {offset,
                    fmt::format("it is truncated: the cpio entry at offset {} has no complete name",
                                offset)};
        }
        const std::uint64_t data = align4(offset + header.size() + *namesize);
        const std::uint64_t next = align4(data + *filesize);
        if (next > align4(file_size)) {
            return {offset,
                    fmt::format("it is truncated: the cpio entry at offset {} runs past the end "
                                "of the file",
                                offset)};
        }
        if (std::string_view(name.data(), name.size() - 1) == k_newc_trailer) {
            return {std::min(next, file_size), std::nullopt};
        }
        offset = next;
    }
}

// The first offset at or after `offset` that holds a non-zero byte; `file_size` when none.
// Archives are separated by zero padding (buffer-format.rst), which the kernel skips.
std::uint64_t skip_zeros(int fd, std::uint64_t offset, std::uint64_t file_size) {
    std::array<char, 65536> chunk{};
    while (offset < file_size) {
        const ssize_t got = read_at(fd, chunk.data(), chunk.size(), offset);
        if (got <= 0) {
            return file_size;
        }
        const char* begin = chunk.data();
        const char* end = begin + got;
        const auto* nonzero = std::find_if(begin, end, [](char c) { return c != 0; });
        offset += static_cast<std::uint64_t>(nonzero - begin);
        if (nonzero != end) {
            return offset;
        }
    }
    return file_size;
}

// Where the zstd frames starting at `offset` end, from their frame and block headers
// (RFC 8878 §3.1), or nullopt when they are cut short or malformed (libarchive then reports it).
// libarchive's zstd reader takes whatever follows a frame for another frame, so zero padding
// after the archive, which the kernel skips, would read as damage; the window stops here instead.
std::optional<std::uint64_t>
zstd_frames_end(int fd, std::uint64_t offset, std::uint64_t file_size) {
    const auto bytes_at = [&](std::uint64_t at, std::size_t count) -> std::optional<std::uint64_t> {
        std::array<unsigned char, 8> buffer{};
        if (count > buffer.size() || at + count > file_size
            || read_at(fd, buffer.data(), count, at) != static_cast<ssize_t>(count)) {
            return std::nullopt;
        }
        std::uint64_t value = 0;
        for (std::size_t i = count; i-- > 0;) {
            value = (value << 8U) | buffer[i];
        }
        return value;
    };
    constexpr std::uint64_t k_frame_magic = 0xFD2FB528U;
    constexpr std::uint64_t k_skippable_mask = 0xFFFFFFF0U;
    constexpr std::uint64_t k_skippable_magic = 0x184D2A50U;
    bool any = false;
    while (true) {
        const auto magic = bytes_at(offset, 4);
        if (magic && (*magic & k_skippable_mask) == k_skippable_magic) {
            const auto size = bytes_at(offset + 4, 4);
            if (!size) {
                return std::nullopt;
            }
            offset += 8 + *size;
            continue;
        }
        if (!magic || *magic != k_frame_magic) {
            return any ? std::optional(offset) : std::nullopt;
        }
        const auto descriptor = bytes_at(offset + 4, 1);
        if (!descriptor) {
            return std::nullopt;
        }
        const unsigned fcs_flag = (*descriptor >> 6U) & 3U;
        const bool single_segment = ((*descriptor >> 5U) & 1U) != 0;
        const bool checksum = ((*descriptor >> 2U) & 1U) != 0;
        constexpr std::array<std::uint64_t, 4> k_dictionary_id_size{0, 1, 2, 4};
        constexpr std::array<std::uint64_t, 4> k_content_size_size{0, 2, 4, 8};
        offset += 5 + (single_segment ? 0 : 1) + k_dictionary_id_size[*descriptor & 3U]
                  + (fcs_flag == 0 && single_segment ? 1 : k_content_size_size[fcs_flag]);
        bool last = false;
        while (!last) {
            const auto header = bytes_at(offset, 3);
            if (!header) {
                return std::nullopt;
            }
            last = (*header & 1U) != 0;
            const unsigned type = (*header >> 1U) & 3U;
            const std::uint64_t size = *header >> 3U;
            if (type == 3) { // reserved
                return std::nullopt;
            }
            offset += 3 + (type == 1 ? 1 : size); // an RLE block holds one byte
        }
        offset += checksum ? 4 : 0;
        if (offset > file_size) {
            return std::nullopt;
        }
        any = true;
    }
}

// The bytes [pos, end) of the image, handed to libarchive.
struct StreamWindow {
    int fd = -1;
    std::uint64_t pos = 0;
    std::uint64_t end = 0;
    std::array<char, 65536> buffer{};
};

la_ssize_t window_read(archive* a, void* client, const void** out) {
    auto& window = *static_cast<StreamWindow*>(client);
    const std::size_t want = static_cast<std::size_t>(
        std::min<std::uint64_t>(window.buffer.size(), window.end - window.pos));
    const ssize_t got = read_at(window.fd, window.buffer.data(), want, window.pos);
    if (got < 0) {
        libarchive().set_error(a, errno, "read error: %s", std::strerror(errno));
        return -1;
    }
    window.pos += static_cast<std::uint64_t>(got);
    *out = window.buffer.data();
    return got;
}

la_int64_t window_skip(archive* /*a*/, void* client, la_int64_t request) {
    auto& window = *static_cast<StreamWindow*>(client);
    const auto skipped = std::min<std::uint64_t>(
        static_cast<std::uint64_t>(std::max<la_int64_t>(request, 0)), window.end - window.pos);
    window.pos += skipped;
    return static_cast<la_int64_t>(skipped);
}

Compression compression_of(int filter_code) {
    switch (filter_code) {
    case ARCHIVE_FILTER_NONE:
        return Compression::none;
    case ARCHIVE_FILTER_GZIP:
        return Compression::gzip;
    case ARCHIVE_FILTER_ZSTD:
        return Compression::zstd;
    case ARCHIVE_FILTER_XZ:
        return Compression::xz;
    case ARCHIVE_FILTER_LZMA:
        return Compression::lzma;
    case ARCHIVE_FILTER_LZ4:
        return Compression::lz4;
    case ARCHIVE_FILTER_BZIP2:
        return Compression::bzip2;
    default:
        return Compression::other;
    }
}

// The compression a stream starts with, by its magic (what the kernel's decompress_method and
// libarchive's bidders look at); nullopt when none is known. `other` marks lzop, which
// mkinitramfs can write and pt does not read (libarchive would run the lzop program).
std::optional<Compression> sniff_compression(std::string_view head) {
    using namespace std::string_view_literals;
    static constexpr std::array<std::pair<std::string_view, Compression>, 8> k_magics{{
        {"\x1f\x8b"sv, Compression::gzip},
        {"\x28\xb5\x2f\xfd"sv, Compression::zstd},
        {"\xfd"
         "7zXZ\0"sv,
         Compression::xz},
        {"\x5d\0\0"sv, Compression::lzma},
        {"\x02\x21\x4c\x18"sv, Compression::lz4}, // legacy frame (lz4 -l)
        {"\x04\x22\x4d\x18"sv, Compression::lz4}, // frame format
        {"BZh"sv, Compression::bzip2},
        {"\x89LZO\0\r\n\x1a\n"sv, Compression::other},
    }};
    for (const auto& [magic, compression] : k_magics) {
        if (head.starts_with(magic)) {
            return compression;
        }
    }
    return std::nullopt;
}

using ArchivePtr = std::unique_ptr<archive, decltype(&archive_read_free)>;

// A libarchive reader over [window.pos, window.end), opened, for cpio archives compressed the
// ways mkinitramfs compresses them; nullptr with `cause` set when it cannot be opened. Not
// archive_read_support_filter_all: that adds filters (lzop, lrzip, grzip) that run external
// programs, and pt never starts a program to read a file.
ArchivePtr open_cpio_reader(StreamWindow& window, std::string& cause) {
    const LibArchive* lib = nullptr;
    try {
        lib = &libarchive();
    } catch (const Error& e) {
        cause = e.what();
        return {nullptr, nullptr};
    }
    ArchivePtr a(lib->read_new(), lib->read_free);
    if (!a) {
        cause = "libarchive could not allocate a reader";
        return a;
    }
    lib->support_filter_gzip(a.get());
    lib->support_filter_zstd(a.get());
    lib->support_filter_xz(a.get());
    lib->support_filter_lzma(a.get());
    lib->support_filter_lz4(a.get());
    lib->support_filter_bzip2(a.get());
    lib->support_format_cpio(a.get());
    lib->set_read_callback(a.get(), window_read);
    lib->set_skip_callback(a.get(), window_skip);
    lib->set_callback_data(a.get(), &window);
    if (lib->open1(a.get()) != ARCHIVE_OK) {
        const char* text = lib->error_string(a.get());
        cause = text != nullptr ? text : "libarchive could not open it";
        return {nullptr, lib->read_free};
    }
    return a;
}

// Only called on a reader open_cpio_reader made, so libarchive() is loaded.
std::string archive_message(archive* a) {
    const char* text = libarchive().error_string(a);
    return text != nullptr ? text : "unknown libarchive error";
}

class ImageReader {
public:
    ImageReader(
        int fd, std::uint64_t size, std::string shown, const WantContent& want, Initramfs& out)
        : m_fd(fd)
        , m_size(size)
        , m_shown(std::move(shown))
        , m_want(want)
        , m_out(out) {}

    // Walks the segments in the kernel's order: uncompressed newc archives (each found by its
    // headers), zero padding, and the first compressed archive, after which it stops.
    void read() {
        std::uint64_t offset = 0;
        while (!m_out.error) {
            offset = skip_zeros(m_fd, offset, m_size);
            if (offset >= m_size) {
                break;
            }
            std::array<char, 16> head{};
            const ssize_t got = read_at(m_fd, head.data(), head.size(), offset);
            const std::string_view start(head.data(),
                                         static_cast<std::size_t>(std::max<ssize_t>(got, 0)));
            // The kernel takes an uncompressed archive only at a 4-byte boundary
            // (init/initramfs.c, unpack_to_rootfs); anything else must be a compressed one.
            if (offset % 4 == 0 && is_newc_magic(start)) {
                offset = read_uncompressed(offset);
            } else {
                read_compressed(offset, start);
                break;
            }
        }
        if (m_out.segments.empty() && !m_out.error) {
            fail("it holds only zero bytes, no cpio archive");
        }
    }

private:
    void fail(std::string_view cause) {
        if (!m_out.error) {
            m_out.error = fmt::format("{}: {}", m_shown, cause);
        }
    }

    std::uint64_t read_uncompressed(std::uint64_t offset) {
        const NewcExtent extent = walk_newc(m_fd, offset, m_size);
        m_out.segments.push_back({offset, Compression::none, 0});
        StreamWindow window{m_fd, offset, extent.end, {}};
        std::string cause;
        const ArchivePtr a = open_cpio_reader(window, cause);
        if (extent.cause) {
            // The walk's cause is the precise one: libarchive sees the archive cut where the walk
            // stopped and would only say "truncated".
            if (a) {
                read_members(a.get(), "cpio archive", offset, /*report=*/false);
            }
            fail(*extent.cause);
        } else if (!a) {
            fail(fmt::format("the cpio archive at offset {} cannot be read: {}", offset, cause));
        } else {
            read_members(a.get(), "cpio archive", offset, /*report=*/true);
        }
        return extent.end;
    }

    void read_compressed(std::uint64_t offset, std::string_view start) {
        const auto sniffed = sniff_compression(start);
        if (!sniffed) {
            fail(fmt::format("it is not an initramfs: the bytes at offset {} are neither a cpio "
                             "archive nor compressed in a way mkinitramfs compresses (gzip, zstd, "
                             "xz, lzma, lz4, bzip2)",
                             offset));
            return;
        }
        if (*sniffed == Compression::other) {
            m_out.segments.push_back({offset, Compression::other, 0});
            fail(fmt::format("the archive at offset {} is lzop-compressed, which pt cannot read "
                             "(set COMPRESS=zstd in /etc/initramfs-tools/initramfs.conf and run "
                             "update-initramfs -u -k all)",
                             offset));
            return;
        }
        StreamWindow window{m_fd, offset, m_size, {}};
        if (*sniffed == Compression::zstd) {
            window.end = zstd_frames_end(m_fd, offset, m_size).value_or(m_size);
        }
        std::string cause;
        const ArchivePtr a = open_cpio_reader(window, cause);
        const Compression compression =
            a ? compression_of(libarchive().filter_code(a.get(), 0)) : *sniffed;
        m_out.segments.push_back({offset, compression, 0});
        const std::string what = fmt::format("{}-compressed cpio archive", to_string(compression));
        if (!a) {
            fail(fmt::format("the {} at offset {} cannot be read: {}", what, offset, cause));
            return;
        }
        read_members(a.get(), what, offset, /*report=*/true);
    }

    // Appends one archive's members to the last segment. `report`: libarchive's errors are the
    // cause to report (the caller knows no better one).
    void read_members(archive* a, const std::string& what, std::uint64_t offset, bool report) {
        while (true) {
            archive_entry* entry = nullptr;
            const int status = libarchive().next_header(a, &entry);
            if (status == ARCHIVE_EOF) {
                return;
            }
            if (status != ARCHIVE_OK && status != ARCHIVE_WARN) {
                if (report) {
                    fail(fmt::format("the {} at offset {} is truncated or damaged: {}",
                                     what,
                                     offset,
                                     archive_message(a)));
                }
                return;
            }
            if (status == ARCHIVE_WARN && report) {
                // libarchive skips a damaged header to find the next one; the kernel stops there.
                fail(fmt::format(
                    "the {} at offset {} is damaged: {}", what, offset, archive_message(a)));
            }
            if (!add_member(a, entry) && report) {
                fail(fmt::format("the {} at offset {} is truncated or damaged in {}: {}",
                                 what,
                                 offset,
                                 m_out.members.back().path,
                                 archive_message(a)));
                return;
            }
        }
    }

    // Appends the member; false when its wanted content could not be read whole.
    bool add_member(archive* a, archive_entry* entry) {
        InitramfsMember member;
        const LibArchive& lib = libarchive();
        const char* name = lib.entry_pathname(entry);
        member.path = normalise_member_path(name != nullptr ? name : "");
        member.size = static_cast<std::uint64_t>(std::max<la_int64_t>(lib.entry_size(entry), 0));
        member.regular = lib.entry_filetype(entry) == AE_IFREG;
        member.mode = static_cast<std::uint32_t>(lib.entry_mode(entry));
        bool whole = true;
        if (member.regular && member.size <= k_initramfs_text_limit && m_want
            && m_want(member.path)) {
            std::string text(static_cast<std::size_t>(member.size), '\0');
            const la_ssize_t got = text.empty() ? 0 : lib.read_data(a, text.data(), text.size());
            if (got >= 0 && static_cast<std::uint64_t>(got) == member.size) {
                member.text = std::move(text);
            } else {
                whole = false;
            }
        }
        m_out.members.push_back(std::move(member));
        ++m_out.segments.back().members;
        return whole;
    }

    int m_fd;
    std::uint64_t m_size;
    std::string m_shown;
    const WantContent& m_want;
    Initramfs& m_out;
};

bool is_absent(int err) {
    return err == ENOENT || err == ENOTDIR;
}

} // namespace

std::optional<Initramfs>
read_initramfs(const host::Root& root, std::string_view host_path, const WantContent& want) {
    const std::string shown(host_path); // as the host names it, whatever the root
    Initramfs image;
    image.path = std::string(host_path);
    // Opened once, inside the root, and never again by path: what is checked is what is read.
    // O_NONBLOCK: opening a FIFO planted in a snapshot returns at once instead of waiting.
    const ImageFd fd(root.open_inside(host_path, O_RDONLY | O_NONBLOCK));
    if (fd.get() < 0) {
        if (is_absent(errno)) {
            return std::nullopt;
        }
        image.error = fmt::format("cannot open {}: {}", shown, std::strerror(errno));
        return image;
    }

    struct stat st {};

    if (::fstat(fd.get(), &st) != 0) {
        image.error = fmt::format("cannot read {}: {}", shown, std::strerror(errno));
        return image;
    }
    if (!S_ISREG(st.st_mode)) {
        image.error = fmt::format("{} is not a regular file", shown);
        return image;
    }
    if (st.st_size == 0) {
        // pt snapshot keeps images as empty files on purpose; on a host, an empty image is
        // what an interrupted update-initramfs leaves.
        image.error = fmt::format("{} is empty (a snapshot keeps images empty; on a host, an "
                                  "interrupted update-initramfs)",
                                  shown);
        return image;
    }
    ImageReader(fd.get(), static_cast<std::uint64_t>(st.st_size), shown, want, image).read();
    return image;
}

} // namespace pt::boot
