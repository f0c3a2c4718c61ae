// SPDX-License-Identifier: MIT
#include "pt/host/write.hpp"

#include "pt/error.hpp"
#include "pt/host/fd.hpp"
#include "pt/host/root.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>
#include <utility>
#include <vector>

namespace pt::host {
namespace {

// The failure seam of fail_next_write_to(); see write.hpp.
std::string g_fail_path; // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)
int g_fail_errno = 0;    // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

// 0, or the errno the write operation on `host_path` must fail with.
int injected_failure(std::string_view host_path) {
    if (g_fail_path.empty() || g_fail_path != host_path) {
        return 0;
    }
    g_fail_path.clear();
    return g_fail_errno;
}

[[noreturn]] void throw_io(std::string_view what, const std::filesystem::path& path, int err) {
    throw Error(fmt::format("cannot {} {}: {}", what, path.string(), std::strerror(err)));
}

std::string parent_of(std::string_view host_path) {
    const auto slash = host_path.rfind('/');
    if (slash == std::string_view::npos || slash == 0) {
        return "/";
    }
    return std::string(host_path.substr(0, slash));
}

std::string name_of(std::string_view host_path) {
    const auto slash = host_path.rfind('/');
    return std::string(slash == std::string_view::npos ? host_path : host_path.substr(slash + 1));
}

// Where a write to `host_path` lands: its directory, mapped and with links followed inside the
// root, and the entry name in it. A file that is itself a link is written at its target.
struct Place {
    std::filesystem::path dir; // mapped
    std::string name;

    std::filesystem::path shown() const { return dir / name; }
};

void check_file_path(std::string_view host_path) {
    if (host_path.empty() || host_path.front() != '/' || host_path.back() == '/') {
        throw Error(fmt::format("cannot write {:?}: not an absolute file path", host_path));
    }
}

// nullopt when the directory does not exist (nothing to read there, and nowhere to write yet).
std::optional<Place> find_place(const Root& root, std::string_view host_path) {
    check_file_path(host_path);
    if (const auto resolved = root.resolve(host_path)) {
        return Place{root.map(parent_of(*resolved)), name_of(*resolved)};
    }
    const auto parent = root.resolve(parent_of(host_path));
    if (!parent) {
        return std::nullopt;
    }
    return Place{root.map(*parent), name_of(host_path)};
}

Place place(const Root& root, std::string_view host_path) {
    auto where = find_place(root, host_path);
    if (!where) {
        throw_io("write", root.map(host_path), ENOENT);
    }
    return *where;
}

Fd open_dir(const Place& where) {
    Fd dir(::open(where.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) {
        throw_io("open directory", where.dir, errno);
    }
    return dir;
}

void fsync_dir(const Fd& dir, const Place& where) {
    if (::fsync(dir.get()) != 0) {
        throw_io("sync directory", where.dir, errno);
    }
}

// Removes the temporary file unless the rename consumed it.
class TempFile {
public:
    TempFile(int dir_fd, std::string name)
        : m_dir_fd(dir_fd)
        , m_name(std::move(name)) {}

    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    ~TempFile() {
        if (!m_committed) {
            ::unlinkat(m_dir_fd, m_name.c_str(), 0);
        }
    }

    const std::string& name() const { return m_name; }

    void committed() { m_committed = true; }

private:
    int m_dir_fd;
    std::string m_name;
    bool m_committed = false;
};

std::string random_suffix() {
    static constexpr std::string_view k_chars = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device device;
    std::uniform_int_distribution<std::size_t> pick(0, k_chars.size() - 1);
    std::string out(6, 'x');
    for (auto& c : out) {
        c = k_chars[pick(device)];
    }
    return out;
}

void write_all(int fd, std::string_view content, const std::filesystem::path& shown) {
    while (!content.empty()) {
        const ssize_t n = ::write(fd, content.data(), content.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_io("write", shown, errno);
        }
        content.remove_prefix(static_cast<std::size_t>(n));
    }
}

} // namespace

void fail_next_write_to(std::string host_path, int err) {
    g_fail_path = std::move(host_path);
    g_fail_errno = err;
}

std::optional<FileMeta> file_meta(const Root& root, std::string_view host_path) {
    const auto found = find_place(root, host_path);
    if (!found) {
        return std::nullopt;
    }
    const auto& where = *found;

    struct stat st {};

    if (::stat(where.shown().c_str(), &st) != 0) {
        if (errno == ENOENT) {
            return std::nullopt;
        }
        throw_io("inspect", where.shown(), errno);
    }
    if (!S_ISREG(st.st_mode)) {
        throw Error(fmt::format("cannot replace {}: not a regular file", where.shown().string()));
    }
    return FileMeta{static_cast<unsigned>(st.st_mode) & 07777U, st.st_uid, st.st_gid};
}

std::optional<std::string> read_if_exists(const Root& root, std::string_view host_path) {
    const auto found = find_place(root, host_path);
    if (!found) {
        return std::nullopt;
    }
    const auto& where = *found;
    Fd fd(::open(where.shown().c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return std::nullopt;
        }
        throw_io("open", where.shown(), errno);
    }
    std::string out;
    std::array<char, 8192> buf{};
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_io("read", where.shown(), errno);
        }
        if (n == 0) {
            return out;
        }
        out.append(buf.data(), static_cast<std::size_t>(n));
    }
}

void make_dirs(const Root& root, std::string_view host_dir) {
    std::string done;
    std::size_t pos = 0;
    while (pos < host_dir.size()) {
        const auto next = std::min(host_dir.find('/', pos + 1), host_dir.size());
        const auto part = host_dir.substr(pos, next - pos); // "/etc"
        pos = next;
        if (part == "/") {
            continue;
        }
        done += part;
        if (root.resolve(done)) {
            continue;
        }
        const auto parent = root.resolve(parent_of(done));
        if (!parent) {
            throw_io("create directory", root.map(done), ENOENT);
        }
        const auto mapped = root.map(join(*parent, name_of(done)));
        if (::mkdir(mapped.c_str(), 0755) != 0 && errno != EEXIST) {
            throw_io("create directory", mapped, errno);
        }
    }
}

bool make_dir(const Root& root, std::string_view host_dir) {
    const auto parent = root.resolve(parent_of(host_dir));
    if (!parent) {
        throw_io("create directory", root.map(host_dir), ENOENT);
    }
    const auto mapped = root.map(join(*parent, name_of(host_dir)));
    if (::mkdir(mapped.c_str(), 0755) != 0) {
        if (errno == EEXIST) {
            return false;
        }
        throw_io("create directory", mapped, errno);
    }
    return true;
}

void replace_file(const Root& root,
                  std::string_view host_path,
                  std::string_view content,
                  const FileMeta& meta) {
    const auto where = place(root, host_path);
    const Fd dir = open_dir(where);

    Fd fd;
    std::string temp_name;
    for (int attempt = 0; attempt < 100 && !fd; ++attempt) {
        temp_name = fmt::format(".{}.pt-{}", where.name, random_suffix());
        fd = Fd(
            ::openat(dir.get(), temp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (!fd && errno != EEXIST) {
            throw_io("create a temporary file in", where.dir, errno);
        }
    }
    if (!fd) {
        throw_io("create a temporary file in", where.dir, EEXIST);
    }
    TempFile temp(dir.get(), temp_name);

    if (const int err = injected_failure(host_path); err != 0) {
        throw_io("write", where.shown(), err);
    }
    write_all(fd.get(), content, where.shown());
    if (::fchmod(fd.get(), meta.mode & 07777U) != 0) {
        throw_io("set the mode of", where.shown(), errno);
    }

    struct stat st {};

    if (::fstat(fd.get(), &st) != 0) {
        throw_io("inspect", where.shown(), errno);
    }
    if (meta.set_owner && (st.st_uid != meta.uid || st.st_gid != meta.gid)
        && ::fchown(fd.get(), meta.uid, meta.gid) != 0) {
        throw_io("keep the owner of", where.shown(), errno);
    }
    // Data on disk before the rename makes it visible: after a crash the name holds the old
    // content or the complete new one (ext4's auto_da_alloc is a heuristic, not a promise).
    if (::fsync(fd.get()) != 0) {
        throw_io("sync", where.shown(), errno);
    }
    if (fd.close_checked() != 0) {
        throw_io("write", where.shown(), errno);
    }
    if (::renameat(dir.get(), temp.name().c_str(), dir.get(), where.name.c_str()) != 0) {
        throw_io("replace", where.shown(), errno);
    }
    temp.committed();
    fsync_dir(dir, where);
}

void remove_file(const Root& root, std::string_view host_path) {
    const auto where = place(root, host_path);
    const Fd dir = open_dir(where);
    if (const int err = injected_failure(host_path); err != 0) {
        throw_io("remove", where.shown(), err);
    }
    if (::unlinkat(dir.get(), where.name.c_str(), 0) != 0) {
        if (errno == ENOENT) {
            return;
        }
        throw_io("remove", where.shown(), errno);
    }
    fsync_dir(dir, where);
}

void write_attr(const Root& root, std::string_view host_path, std::string_view value) {
    const auto shown = root.map(host_path);
    const auto fail = [&](int err) {
        throw Error(
            fmt::format("cannot write {:?} to {}: {}", value, shown.string(), std::strerror(err)));
    };
    const auto resolved = root.resolve(host_path);
    if (!resolved) {
        fail(ENOENT);
    }
    // O_TRUNC: sysfs ignores it (the kernel hands the store function the written bytes, whatever
    // the file size), and in a snapshot or fixture tree it leaves exactly the value behind.
    Fd fd(::open(root.map(*resolved).c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd) {
        fail(errno);
    }
    if (const int err = injected_failure(host_path); err != 0) {
        fail(err);
    }
    // One write(): a sysfs store function sees each write() as one whole value.
    ssize_t n = 0;
    do {
        n = ::write(fd.get(), value.data(), value.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        fail(errno);
    }
    if (static_cast<std::size_t>(n) != value.size()) {
        throw Error(fmt::format("cannot write {:?} to {}: only {} of {} bytes were taken",
                                value,
                                shown.string(),
                                n,
                                value.size()));
    }
    if (fd.close_checked() != 0) {
        fail(errno);
    }
}

Lock::Lock(Lock&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)) {}

Lock& Lock::operator=(Lock&& other) noexcept {
    std::swap(m_fd, other.m_fd);
    return *this;
}

Lock::~Lock() {
    if (m_fd >= 0) {
        ::close(m_fd); // releases the flock
    }
}

Lock lock_file(const Root& root,
               std::string_view host_path,
               std::chrono::milliseconds notify_after,
               std::chrono::milliseconds timeout,
               const std::function<void()>& on_wait,
               const std::optional<ForeignLock>& foreign) {
    make_dirs(root, parent_of(host_path));
    const auto where = place(root, host_path);
    Fd fd(::open(where.shown().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd) {
        throw_io("open the lock", where.shown(), errno);
    }
    const auto start = std::chrono::steady_clock::now();
    bool notified = false;
    while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR) {
            continue;
        }
        if (errno != EWOULDBLOCK) {
            throw_io("lock", where.shown(), errno);
        }
        const auto waited = std::chrono::steady_clock::now() - start;
        if (waited >= timeout && foreign) {
            throw Error(
                fmt::format("{} is locked by another process ({} hold {}); gave up after "
                            "{} s; try again when it finishes",
                            foreign->subject,
                            foreign->holders,
                            where.shown().string(),
                            std::chrono::duration_cast<std::chrono::seconds>(timeout).count()));
        }
        if (waited >= timeout) {
            std::array<char, 32> buf{};
            const ssize_t n = ::pread(fd.get(), buf.data(), buf.size() - 1, 0);
            std::string holder(buf.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
            while (!holder.empty() && holder.back() == '\n') {
                holder.pop_back();
            }
            throw Error(fmt::format(
                "another pt is changing this host (lock {} held{}); gave up after {} s; try "
                "again when it has finished",
                where.shown().string(),
                holder.empty() ? "" : fmt::format(" by pid {}", holder),
                std::chrono::duration_cast<std::chrono::seconds>(timeout).count()));
        }
        if (!notified && waited >= notify_after) {
            notified = true;
            if (on_wait) {
                on_wait();
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (foreign) {
        return Lock(fd.release()); // another program's file: flock only, never a write
    }
    // Who holds it, for the message of the next process that waits; best effort.
    const std::string pid = fmt::format("{}\n", ::getpid());
    if (::ftruncate(fd.get(), 0) == 0) {
        static_cast<void>(::pwrite(fd.get(), pid.data(), pid.size(), 0));
    }
    return Lock(fd.release());
}

} // namespace pt::host
