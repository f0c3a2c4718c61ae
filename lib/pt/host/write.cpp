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

#include <algorithm>
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
int g_fail_skip = 0;     // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

// 0, or the errno the write operation on `host_path` must fail with.
int injected_failure(std::string_view host_path) {
    if (g_fail_path.empty() || g_fail_path != host_path) {
        return 0;
    }
    if (g_fail_skip > 0) {
        --g_fail_skip;
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

void check_file_path(std::string_view host_path) {
    if (host_path.empty() || host_path.front() != '/' || host_path.back() == '/') {
        throw Error(fmt::format("cannot write {:?}: not an absolute file path", host_path));
    }
}

// A directory inside the root, opened (O_RDONLY, so it can be fsync'ed) by Root::open_inside;
// nullopt when it does not exist.
std::optional<Fd> open_dir_inside(const Root& root, std::string_view host_dir) {
    Fd dir(root.open_inside(host_dir, O_RDONLY | O_DIRECTORY));
    if (!dir) {
        if (errno == ENOENT) {
            return std::nullopt;
        }
        if (errno == ENOTDIR) {
            throw Error(fmt::format("cannot write under {}: it (or a folder above it) is not a "
                                    "directory",
                                    root.map(host_dir).string()));
        }
        throw_io("open directory", root.map(host_dir), errno);
    }
    return dir;
}

std::string link_text(int dir_fd, const std::string& name) {
    std::array<char, 4096> buf{};
    const ssize_t len = ::readlinkat(dir_fd, name.c_str(), buf.data(), buf.size() - 1);
    return len < 0 ? std::string("?") : std::string(buf.data(), static_cast<std::size_t>(len));
}

// True when the relative link `target`, found in `host_dir`, climbs above the root ("/").
bool climbs_out(std::string_view host_dir, std::string_view target) {
    if (target.empty() || target.front() == '/') {
        return false; // absolute targets are read inside the root (Root::resolve)
    }
    long depth = 0;
    for (std::size_t pos = 0; pos <= host_dir.size();) {
        const auto next = std::min(host_dir.find('/', pos), host_dir.size());
        if (next > pos) {
            ++depth;
        }
        pos = next + 1;
    }
    for (std::size_t pos = 0; pos <= target.size();) {
        const auto next = std::min(target.find('/', pos), target.size());
        const auto part = target.substr(pos, next - pos);
        if (part == "..") {
            if (--depth < 0) {
                return true;
            }
        } else if (!part.empty() && part != ".") {
            ++depth;
        }
        pos = next + 1;
    }
    return false;
}

[[noreturn]] void refuse_link(const Root& root,
                              std::string_view host_path,
                              const std::string& target,
                              std::string_view why) {
    throw Error(fmt::format("refusing to write {}: it is a symbolic link to {:?}, {}; pt "
                            "writes only inside the root and never creates a file through a "
                            "link. Fix: remove the link (rm {}) or make it point at an existing "
                            "file inside the root, then run pt again",
                            root.map(host_path).string(),
                            target,
                            why,
                            root.map(host_path).string()));
}

// Where a write to `host_path` lands: its directory, open inside the root, and a name in it
// that is a regular file or nothing. A link to an existing file inside the root is written at
// its target (so /etc/default/grub -> grub.pt stays a link); a dangling link, or one that
// leaves the root, is refused: creating through it would write wherever it points.
struct Place {
    Fd dir;
    std::string name;
    std::filesystem::path shown; // the mapped path, for messages
    bool exists = false;
};

std::optional<Place> find_place(const Root& root, std::string_view host_path, int depth = 0) {
    check_file_path(host_path);
    const auto parent = parent_of(host_path);
    auto dir = open_dir_inside(root, parent);
    if (!dir) {
        return std::nullopt;
    }
    Place where{std::move(*dir), name_of(host_path), root.map(host_path), false};

    struct stat st {};

    if (::fstatat(where.dir.get(), where.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) {
            return where;
        }
        throw_io("inspect", where.shown, errno);
    }
    if (S_ISLNK(st.st_mode)) {
        const auto target = link_text(where.dir.get(), where.name);
        if (climbs_out(parent, target)) {
            refuse_link(root, host_path, target, "which leaves the root");
        }
        const auto resolved = root.resolve(host_path);
        if (!resolved) {
            refuse_link(root, host_path, target, "which does not exist inside the root");
        }
        if (depth > 0 || *resolved == host_path) {
            refuse_link(root, host_path, target, "which changed while pt followed it");
        }
        return find_place(root, *resolved, depth + 1);
    }
    if (!S_ISREG(st.st_mode)) {
        throw Error(fmt::format("cannot write {}: it is not a regular file (a directory, FIFO, "
                                "socket or device); move it aside, then run pt again",
                                where.shown.string()));
    }
    where.exists = true;
    return where;
}

Place place(const Root& root, std::string_view host_path) {
    auto where = find_place(root, host_path);
    if (!where) {
        throw_io("write", root.map(host_path), ENOENT);
    }
    return std::move(*where);
}

void fsync_dir(const Place& where) {
    if (::fsync(where.dir.get()) != 0) {
        throw_io("sync directory", where.shown.parent_path(), errno);
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

void fail_next_write_to(std::string host_path, int err, int skip) {
    g_fail_path = std::move(host_path);
    g_fail_errno = err;
    g_fail_skip = skip;
}

bool is_temp_name(std::string_view name) {
    constexpr std::string_view marker = ".pt-";
    constexpr std::size_t suffix = 6;
    if (name.size() < 1 + 1 + marker.size() + suffix || name.front() != '.') {
        return false;
    }
    const auto tail = name.substr(name.size() - suffix);
    return name.substr(name.size() - suffix - marker.size(), marker.size()) == marker
           && std::all_of(tail.begin(), tail.end(), [](char c) {
                  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
              });
}

std::vector<std::string> remove_temp_files(const Root& root, std::string_view host_dir) {
    std::vector<std::string> removed;
    const auto dir = open_dir_inside(root, host_dir);
    if (!dir) {
        return removed;
    }
    for (const auto& name : root.list(host_dir)) {
        struct stat st {};

        if (!is_temp_name(name)
            || ::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0
            || !S_ISREG(st.st_mode)) {
            continue;
        }
        if (::unlinkat(dir->get(), name.c_str(), 0) != 0) {
            throw_io("remove the leftover", root.map(join(host_dir, name)), errno);
        }
        removed.push_back(join(host_dir, name));
    }
    return removed;
}

std::optional<FileMeta> file_meta(const Root& root, std::string_view host_path) {
    const auto where = find_place(root, host_path);
    if (!where || !where->exists) {
        return std::nullopt;
    }

    struct stat st {};

    if (::fstatat(where->dir.get(), where->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        throw_io("inspect", where->shown, errno);
    }
    return FileMeta{static_cast<unsigned>(st.st_mode) & 07777U, st.st_uid, st.st_gid};
}

std::optional<std::string> read_if_exists(const Root& root, std::string_view host_path) {
    return root.read_file_if_exists(host_path);
}

namespace {

// Creates the directory `name` in `parent` (mode 0755). Returns false when a directory of that
// name exists; refuses a link or anything else in its place.
bool make_dir_at(const Root& root, std::string_view host_dir) {
    const auto parent = parent_of(host_dir);
    const auto name = name_of(host_dir);
    auto dir = open_dir_inside(root, parent);
    if (!dir) {
        throw_io("create directory", root.map(host_dir), ENOENT);
    }
    if (::mkdirat(dir->get(), name.c_str(), 0755) == 0) {
        return true;
    }
    if (errno != EEXIST) {
        throw_io("create directory", root.map(host_dir), errno);
    }

    struct stat st {};

    if (::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
        return false;
    }
    if (S_ISLNK(st.st_mode)) {
        const auto target = link_text(dir->get(), name);
        if (climbs_out(parent, target) || !root.resolve(host_dir)) {
            refuse_link(root,
                        host_dir,
                        target,
                        climbs_out(parent, target) ? "which leaves the root"
                                                   : "which does not exist inside the root");
        }
        return false; // a link to a directory inside the root: Root follows it there
    }
    throw Error(fmt::format("cannot create directory {}: something else (a file?) has its name",
                            root.map(host_dir).string()));
}

} // namespace

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
        if (Fd(root.open_inside(done, O_PATH | O_DIRECTORY))) {
            continue;
        }
        make_dir_at(root, done);
    }
}

bool make_dir(const Root& root, std::string_view host_dir) {
    return make_dir_at(root, host_dir);
}

void replace_file(const Root& root,
                  std::string_view host_path,
                  std::string_view content,
                  const FileMeta& meta) {
    const auto where = place(root, host_path);
    const int dir = where.dir.get();

    Fd fd;
    std::string temp_name;
    for (int attempt = 0; attempt < 100 && !fd; ++attempt) {
        temp_name = fmt::format(".{}.pt-{}", where.name, random_suffix());
        fd = Fd(::openat(dir, temp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (!fd && errno != EEXIST) {
            throw_io("create a temporary file in", where.shown.parent_path(), errno);
        }
    }
    if (!fd) {
        throw_io("create a temporary file in", where.shown.parent_path(), EEXIST);
    }
    TempFile temp(dir, temp_name);

    if (const int err = injected_failure(host_path); err != 0) {
        throw_io("write", where.shown, err);
    }
    write_all(fd.get(), content, where.shown);
    if (::fchmod(fd.get(), meta.mode & 07777U) != 0) {
        throw_io("set the mode of", where.shown, errno);
    }

    struct stat st {};

    if (::fstat(fd.get(), &st) != 0) {
        throw_io("inspect", where.shown, errno);
    }
    if (meta.set_owner && (st.st_uid != meta.uid || st.st_gid != meta.gid)
        && ::fchown(fd.get(), meta.uid, meta.gid) != 0) {
        throw_io("keep the owner of", where.shown, errno);
    }
    // Data on disk before the rename makes it visible: after a crash the name holds the old
    // content or the complete new one (ext4's auto_da_alloc is a heuristic, not a promise).
    if (::fsync(fd.get()) != 0) {
        throw_io("sync", where.shown, errno);
    }
    if (fd.close_checked() != 0) {
        throw_io("write", where.shown, errno);
    }
    if (::renameat(dir, temp.name().c_str(), dir, where.name.c_str()) != 0) {
        throw_io("replace", where.shown, errno);
    }
    temp.committed();
    fsync_dir(where);
}

void remove_file(const Root& root, std::string_view host_path) {
    const auto where = find_place(root, host_path);
    if (!where || !where->exists) {
        return;
    }
    if (const int err = injected_failure(host_path); err != 0) {
        throw_io("remove", where->shown, err);
    }
    if (::unlinkat(where->dir.get(), where->name.c_str(), 0) != 0) {
        if (errno == ENOENT) {
            return;
        }
        throw_io("remove", where->shown, errno);
    }
    fsync_dir(*where);
}

void write_attr(const Root& root, std::string_view host_path, std::string_view value) {
    const auto shown = root.map(host_path);
    const auto fail = [&](int err) {
        throw Error(
            fmt::format("cannot write {:?} to {}: {}", value, shown.string(), std::strerror(err)));
    };
    // Inside the root by construction, never created (no O_CREAT), never through a link at the
    // attribute itself (O_NOFOLLOW), never blocking on a FIFO planted in a tree (O_NONBLOCK).
    // O_TRUNC: sysfs ignores it (the kernel hands the store function the written bytes, whatever
    // the file size), and in a snapshot or fixture tree it leaves exactly the value behind.
    Fd fd(root.open_inside(host_path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
    if (!fd) {
        if (errno == ELOOP) {
            throw Error(fmt::format("cannot write {:?} to {}: it is a symbolic link, which a "
                                    "sysfs attribute never is; pt does not follow it",
                                    value,
                                    shown.string()));
        }
        fail(errno);
    }

    struct stat st {};

    if (::fstat(fd.get(), &st) != 0) {
        fail(errno);
    }
    if (!S_ISREG(st.st_mode)) {
        throw Error(fmt::format(
            "cannot write {:?} to {}: it is not an attribute file", value, shown.string()));
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
    auto dir = open_dir_inside(root, parent_of(host_path));
    if (!dir) {
        throw_io("open the lock", root.map(host_path), ENOENT);
    }
    const auto name = name_of(host_path);
    const auto shown = root.map(host_path);
    // Relative to the directory, never through a link (a dangling one would make O_CREAT create
    // its target, wherever that is), never blocking on a FIFO.
    Fd fd(::openat(dir->get(),
                   name.c_str(),
                   O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                   0644));
    if (!fd) {
        if (errno == ELOOP) {
            refuse_link(root,
                        host_path,
                        link_text(dir->get(), name),
                        "and a lock file is never "
                        "followed");
        }
        throw_io("open the lock", shown, errno);
    }
    {
        struct stat st {};

        if (::fstat(fd.get(), &st) != 0) {
            throw_io("inspect the lock", shown, errno);
        }
        if (!S_ISREG(st.st_mode)) {
            throw Error(fmt::format("cannot use the lock {}: it is not a regular file; move it "
                                    "aside, then run pt again",
                                    shown.string()));
        }
    }
    const auto start = std::chrono::steady_clock::now();
    bool notified = false;
    while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR) {
            continue;
        }
        if (errno != EWOULDBLOCK) {
            throw_io("lock", shown, errno);
        }
        const auto waited = std::chrono::steady_clock::now() - start;
        if (waited >= timeout && foreign) {
            throw Error(
                fmt::format("{} is locked by another process ({} hold {}); gave up after "
                            "{} s; try again when it finishes",
                            foreign->subject,
                            foreign->holders,
                            shown.string(),
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
                shown.string(),
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
