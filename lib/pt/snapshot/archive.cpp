// SPDX-License-Identifier: MIT
#include "pt/snapshot/archive.hpp"

#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/host/write.hpp"

#include <fmt/format.h>

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace pt::snapshot {
namespace {

constexpr std::size_t k_block = 512;

// Field offsets and sizes of a ustar header (POSIX.1-2001, "pax" utility, ustar Interchange
// Format).
struct Field {
    std::size_t offset;
    std::size_t size;
};

constexpr Field k_name{0, 100};
constexpr Field k_mode{100, 8};
constexpr Field k_uid{108, 8};
constexpr Field k_gid{116, 8};
constexpr Field k_size{124, 12};
constexpr Field k_mtime{136, 12};
constexpr Field k_chksum{148, 8};
constexpr Field k_typeflag{156, 1};
constexpr Field k_linkname{157, 100};
constexpr Field k_magic{257, 6};
constexpr Field k_version{263, 2};
constexpr Field k_uname{265, 32};
constexpr Field k_gname{297, 32};
constexpr Field k_prefix{345, 155};

using Header = std::array<char, k_block>;

void put_text(Header& header, Field field, std::string_view text) {
    if (text.empty()) {
        return; // an empty view may hold a null pointer, which memcpy must not get
    }
    std::memcpy(header.data() + field.offset, text.data(), std::min(text.size(), field.size));
}

// Octal, zero-padded to fill the field but one byte, which stays NUL.
void put_octal(Header& header, Field field, std::uint64_t value) {
    const std::string text = fmt::format("{:0{}o}", value, field.size - 1);
    put_text(header, field, text);
}

void pad(std::string& out) {
    out.append((k_block - out.size() % k_block) % k_block, '\0');
}

// Splits `name` into ustar's prefix and name fields at a '/', or returns false when it cannot.
bool split_name(std::string_view name, std::string_view& prefix, std::string_view& rest) {
    if (name.size() <= k_name.size) {
        prefix = {};
        rest = name;
        return true;
    }
    // The name part must be at most 100 bytes, the prefix at most 155, and the slash between them
    // is not stored.
    std::size_t pos = name.size() > k_name.size + 1 ? name.size() - k_name.size - 1 : 0;
    while ((pos = name.find('/', pos)) != std::string_view::npos) {
        if (pos > k_prefix.size) {
            return false;
        }
        if (pos > 0 && name.size() - pos - 1 <= k_name.size && pos + 1 < name.size()) {
            prefix = name.substr(0, pos);
            rest = name.substr(pos + 1);
            return true;
        }
        ++pos;
    }
    return false;
}

// One pax record: "<length> <key>=<value>\n", where <length> counts the whole record including
// its own digits.
std::string pax_record(std::string_view key, std::string_view value) {
    const std::size_t body = 1 + key.size() + 1 + value.size() + 1;
    std::size_t length = body + 1;
    while (std::to_string(length).size() + body != length) {
        length = std::to_string(length).size() + body;
    }
    return fmt::format("{} {}={}\n", length, key, value);
}

void append_header(std::string& out,
                   std::string_view name,
                   char typeflag,
                   std::uint64_t size,
                   std::int64_t mtime,
                   unsigned mode,
                   std::string_view linkname) {
    Header header{};
    std::string_view prefix;
    std::string_view rest;
    if (!split_name(name, prefix, rest)) {
        // Only reached for the pax header's own name, which the caller keeps short.
        rest = name.substr(0, k_name.size);
    }
    put_text(header, k_name, rest);
    put_text(header, k_prefix, prefix);
    put_octal(header, k_mode, mode & 07777U);
    put_octal(header, k_uid, 0);
    put_octal(header, k_gid, 0);
    put_octal(header, k_size, size);
    put_octal(header, k_mtime, static_cast<std::uint64_t>(std::max<std::int64_t>(mtime, 0)));
    header[k_typeflag.offset] = typeflag;
    put_text(header, k_linkname, linkname.substr(0, std::min(linkname.size(), k_linkname.size)));
    put_text(header, k_magic, std::string_view("ustar\0", 6));
    put_text(header, k_version, "00");
    put_text(header, k_uname, "root");
    put_text(header, k_gname, "root");
    // The checksum is the byte sum of the header with its own field taken as eight spaces,
    // written as six octal digits, NUL, space.
    std::memset(header.data() + k_chksum.offset, ' ', k_chksum.size);
    unsigned sum = 0;
    for (const char c : header) {
        sum += static_cast<unsigned char>(c);
    }
    const std::string chksum = fmt::format("{:06o}", sum);
    std::memcpy(header.data() + k_chksum.offset, chksum.data(), 6);
    header[k_chksum.offset + 6] = '\0';
    out.append(header.data(), header.size());
}

// The tar stream of `entries`, handed to `sink` (a callable taking std::string_view) member by
// member, so that tar_gz() compresses it as it goes instead of holding it whole.
template <typename Sink>
void write_tar(const std::vector<Entry>& entries, Sink&& sink) {
    std::string out;
    for (const auto& entry : entries) {
        out.clear();
        if (!entry.path.starts_with('/') || entry.path.size() < 2) {
            throw Error(fmt::format("snapshot member '{}' is not an absolute host path (a bug in "
                                    "pt: please report it)",
                                    entry.path));
        }
        std::string name = entry.path.substr(1);
        char typeflag = '0';
        std::uint64_t size = 0;
        switch (entry.type) {
        case Entry::Type::file:
            size = entry.content.size();
            break;
        case Entry::Type::directory:
            typeflag = '5';
            name += '/';
            break;
        case Entry::Type::symlink:
            typeflag = '2';
            break;
        }
        std::string_view prefix;
        std::string_view rest;
        std::string records;
        if (!split_name(name, prefix, rest)) {
            records += pax_record("path", name);
        }
        if (entry.type == Entry::Type::symlink && entry.link_target.size() > k_linkname.size) {
            records += pax_record("linkpath", entry.link_target);
        }
        // ustar keeps whole seconds; a config file written in the same second as the initrd
        // would otherwise tie with it, and pt verify's staleness check would read differently.
        if (entry.mtime_nsec > 0 && entry.mtime_nsec < 1000000000 && entry.mtime >= 0) {
            records += pax_record("mtime", fmt::format("{}.{:09}", entry.mtime, entry.mtime_nsec));
        }
        if (!records.empty()) {
            const auto base = std::filesystem::path(entry.path).filename().string();
            append_header(out,
                          "PaxHeaders/" + base.substr(0, 80),
                          'x',
                          records.size(),
                          entry.mtime,
                          0644,
                          {});
            out += records;
            pad(out);
        }
        append_header(out, name, typeflag, size, entry.mtime, entry.mode, entry.link_target);
        sink(std::string_view(out));
        if (entry.type == Entry::Type::file) {
            sink(std::string_view(entry.content));
            out.clear();
            out.append((k_block - entry.content.size() % k_block) % k_block, '\0');
            sink(std::string_view(out));
        }
    }
    out.assign(2 * k_block, '\0');
    sink(std::string_view(out));
}

// One gzip member written as its input arrives (deflate with Z_NO_FLUSH, then Z_FINISH).
class GzipWriter {
public:
    GzipWriter() {
        // windowBits 15 + 16 asks zlib for a gzip wrapper; without deflateSetHeader its header has
        // MTIME 0 and no name, which keeps the output reproducible. Level 6 is gzip's and
        // tar -z's default: level 9 took twice the time for a few per cent on a snapshot.
        if (deflateInit2(
                &m_stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
            != Z_OK) {
            throw Error("cannot start gzip compression (zlib deflateInit2 failed)");
        }
    }

    GzipWriter(const GzipWriter&) = delete;
    GzipWriter& operator=(const GzipWriter&) = delete;

    ~GzipWriter() { deflateEnd(&m_stream); }

    void write(std::string_view data) { run(data, Z_NO_FLUSH); }

    std::string finish() && {
        run({}, Z_FINISH);
        return std::move(m_out);
    }

private:
    void run(std::string_view data, int flush) {
        // zlib's API takes non-const pointers for input it only reads.
        m_stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
        m_stream.avail_in = static_cast<uInt>(data.size());
        int rc = Z_OK;
        do {
            m_stream.next_out = reinterpret_cast<Bytef*>(m_buffer.data());
            m_stream.avail_out = static_cast<uInt>(m_buffer.size());
            rc = deflate(&m_stream, flush);
            if (rc == Z_STREAM_ERROR) {
                throw Error(fmt::format("gzip compression failed (zlib deflate returned {})", rc));
            }
            m_out.append(m_buffer.data(), m_buffer.size() - m_stream.avail_out);
        } while (m_stream.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    }

    z_stream m_stream{};
    std::string m_out;
    std::array<char, 65536> m_buffer; // deflate's output, before it is appended to m_out
};

// The tar stream is compressed in pieces of k_chunk bytes (the last one shorter). One megabyte:
// large enough that a piece's 32 KiB of dictionary and its flush marker cost nothing measurable,
// small enough that two threads share the work evenly.
constexpr std::size_t k_chunk = std::size_t{1} << 20U;

struct Deflated {
    std::string bytes;
    uLong crc = 0;
};

// One piece as raw deflate at gzip's level, primed with the 32 KiB before it (so matches reach
// back across the seam as in one stream) and ended with a sync flush, which leaves the output on
// a byte boundary for the next piece to follow; the last piece ends the stream instead. This is
// pigz's scheme: the pieces' outputs, concatenated, are one deflate stream.
Deflated deflate_chunk(std::string_view chunk, std::string_view before, bool last) {
    z_stream stream{};
    if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY)
        != Z_OK) {
        throw Error("cannot start gzip compression (zlib deflateInit2 failed)");
    }
    const auto dictionary =
        before.substr(before.size() - std::min<std::size_t>(before.size(), 32768));
    if (!dictionary.empty()
        && deflateSetDictionary(&stream,
                                reinterpret_cast<const Bytef*>(dictionary.data()),
                                static_cast<uInt>(dictionary.size()))
               != Z_OK) {
        deflateEnd(&stream);
        throw Error("gzip compression failed (zlib deflateSetDictionary)");
    }
    // Not a std::string: resizing one to deflate's bound would zero a megabyte it then overwrites.
    const std::size_t bound = deflateBound(&stream, static_cast<uLong>(chunk.size())) + 16;
    const std::unique_ptr<char[]> output(new char[bound]);
    // zlib's API takes non-const pointers for input it only reads.
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
    stream.avail_in = static_cast<uInt>(chunk.size());
    stream.next_out = reinterpret_cast<Bytef*>(output.get());
    stream.avail_out = static_cast<uInt>(bound);
    const int rc = deflate(&stream, last ? Z_FINISH : Z_SYNC_FLUSH);
    const bool whole = last ? rc == Z_STREAM_END : rc == Z_OK && stream.avail_in == 0;
    Deflated out;
    out.bytes.assign(output.get(), bound - stream.avail_out);
    deflateEnd(&stream);
    if (!whole) {
        throw Error(fmt::format("gzip compression failed (zlib deflate returned {})", rc));
    }
    out.crc =
        crc32(0L, reinterpret_cast<const Bytef*>(chunk.data()), static_cast<uInt>(chunk.size()));
    return out;
}

// One gzip member (RFC 1952) compressed on two threads while it is written: write() fills the
// pieces, a second thread compresses each piece once the next one has begun (so that it is known
// not to be the last), and finish() compresses what is left on both threads. Each piece's bytes
// depend on the piece and the one before it only, so the member is the same whichever thread
// compressed what.
class ParallelGzip {
public:
    ParallelGzip()
        : m_worker([this] { compress_pieces(); }) {}

    ParallelGzip(const ParallelGzip&) = delete;
    ParallelGzip& operator=(const ParallelGzip&) = delete;

    ~ParallelGzip() {
        {
            const std::lock_guard lock(m_mutex);
            m_done = true;
            m_stop = true;
        }
        m_ready.notify_all();
        if (m_worker.joinable()) {
            m_worker.join();
        }
    }

    void write(std::string_view bytes) {
        while (!bytes.empty()) {
            if (m_filling.size() == k_chunk) {
                publish(false);
            }
            const auto take = std::min(bytes.size(), k_chunk - m_filling.size());
            m_filling.append(bytes.substr(0, take));
            bytes.remove_prefix(take);
        }
    }

    std::string finish() && {
        publish(true);
        compress_pieces();
        m_worker.join();
        if (m_failure) {
            std::rethrow_exception(m_failure);
        }
        return assemble();
    }

private:
    // The piece being filled joins the queue; `last` marks the end of the stream.
    void publish(bool last) {
        {
            const std::lock_guard lock(m_mutex);
            m_pieces.push_back(std::move(m_filling));
            m_deflated.emplace_back();
            m_done = last;
        }
        m_filling = std::string();
        m_filling.reserve(k_chunk);
        m_ready.notify_all();
    }

    // Takes the next piece not yet taken and compresses it, until none is left and no more will
    // come. The queue's elements stay where they are while it grows (std::deque), so a piece is
    // read, and its result written, outside the lock.
    void compress_pieces() {
        while (true) {
            const std::string* piece = nullptr;
            const std::string* before = nullptr;
            Deflated* result = nullptr;
            bool last = false;
            {
                std::unique_lock lock(m_mutex);
                m_ready.wait(lock, [this] { return m_stop || m_next < m_pieces.size() || m_done; });
                if (m_stop || m_next == m_pieces.size()) {
                    return;
                }
                const std::size_t index = m_next++;
                piece = &m_pieces[index];
                before = index > 0 ? &m_pieces[index - 1] : nullptr;
                result = &m_deflated[index];
                last = m_done && index + 1 == m_pieces.size();
            }
            try {
                *result =
                    deflate_chunk(*piece, before != nullptr ? *before : std::string_view(), last);
            } catch (...) {
                const std::lock_guard lock(m_mutex);
                m_failure = std::current_exception();
                m_stop = true;
                m_ready.notify_all();
                return;
            }
        }
    }

    std::string assemble() const {
        // The header zlib writes for deflateInit2(..., 15 + 16, ...) without deflateSetHeader: no
        // name, MTIME 0, no extra flags at level 6, OS 3 (Unix).
        std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
        uLong crc = crc32(0L, nullptr, 0);
        std::uint64_t size = 0;
        for (std::size_t i = 0; i < m_pieces.size(); ++i) {
            out += m_deflated[i].bytes;
            crc = crc32_combine(crc, m_deflated[i].crc, static_cast<z_off_t>(m_pieces[i].size()));
            size += m_pieces[i].size();
        }
        for (const std::uint64_t value : {std::uint64_t{crc}, size}) {
            for (unsigned shift = 0; shift < 32; shift += 8) {
                out += static_cast<char>((value >> shift) & 0xffU);
            }
        }
        return out;
    }

    std::string m_filling; // the piece write() is filling, not yet in the queue
    std::mutex m_mutex;    // guards everything below but the elements' contents
    std::condition_variable m_ready;
    std::deque<std::string> m_pieces;
    std::deque<Deflated> m_deflated;
    std::size_t m_next = 0; // the first piece no thread has taken
    bool m_done = false;    // the last piece is in the queue
    bool m_stop = false;    // a piece failed, or the writer gave up
    std::exception_ptr m_failure;
    std::thread m_worker; // last: it starts once the members above exist
};

} // namespace

std::string tar(const std::vector<Entry>& entries) {
    std::string out;
    write_tar(entries, [&out](std::string_view bytes) { out += bytes; });
    return out;
}

std::string tar_gz(const std::vector<Entry>& entries) {
    ParallelGzip gz;
    write_tar(entries, [&gz](std::string_view bytes) { gz.write(bytes); });
    return std::move(gz).finish();
}

std::string gzip(std::string_view data) {
    GzipWriter gz;
    gz.write(data);
    return std::move(gz).finish();
}

std::string gunzip(std::string_view data) {
    z_stream stream{};
    if (inflateInit2(&stream, 15 + 16) != Z_OK) {
        throw Error("cannot start gzip decompression (zlib inflateInit2 failed)");
    }
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    std::string out;
    std::array<char, 65536> buffer{};
    int rc = Z_OK;
    while (rc == Z_OK) {
        stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
        stream.avail_out = static_cast<uInt>(buffer.size());
        rc = inflate(&stream, Z_NO_FLUSH);
        out.append(buffer.data(), buffer.size() - stream.avail_out);
        if (rc == Z_BUF_ERROR && stream.avail_in == 0) {
            break;
        }
    }
    inflateEnd(&stream);
    if (rc != Z_STREAM_END) {
        throw Error("not a complete gzip stream (truncated or corrupt)");
    }
    return out;
}

void write_output_file(const std::string& path,
                       std::string_view bytes,
                       std::string_view flag,
                       unsigned mode) {
    const std::filesystem::path target = std::filesystem::absolute(path);
    const std::filesystem::path dir = target.parent_path();
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        throw Error(fmt::format("cannot write {}: the folder {} does not exist (create it, or give "
                                "{} a path in an existing folder)",
                                path,
                                dir.string(),
                                flag));
    }
    if (target.filename().empty() || std::filesystem::is_directory(target, ec)) {
        throw Error(
            fmt::format("cannot write {}: it is a folder; give {} a file name in it", path, flag));
    }
    // host::replace_file is pt's one atomic writer (temporary file in the same folder, fsync,
    // rename); a Root at the output's folder makes it write exactly there.
    const host::Root out_root(dir);
    host::FileMeta meta;
    meta.mode = mode;
    meta.uid = ::getuid();
    meta.gid = ::getgid();
    host::replace_file(out_root, "/" + target.filename().string(), bytes, meta);
}

} // namespace pt::snapshot
