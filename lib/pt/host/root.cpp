// SPDX-License-Identifier: MIT
#include "pt/host/root.hpp"

#include "pt/error.hpp"
#include "pt/host/fd.hpp"

#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <linux/openat2.h>
#include <memory>
#include <utility>

namespace pt::host {
namespace {

std::string errno_text(int err) {
    return std::strerror(err);
}

[[noreturn]] void throw_io(std::string_view what, const std::filesystem::path& path, int err) {
    throw Error(fmt::format("cannot {} {}: {}", what, path.string(), errno_text(err)));
}

bool is_absent(int err) {
    return err == ENOENT || err == ENOTDIR;
}

// Splits "/a/b/c" into {"a", "b", "c"}, dropping empty and "." components.
std::vector<std::string> components(std::string_view path) {
    std::vector<std::string> parts;
    std::size_t pos = 0;
    while (pos <= path.size()) {
        const std::size_t next = std::min(path.find('/', pos), path.size());
        std::string_view part = path.substr(pos, next - pos);
        if (!part.empty() && part != ".") {
            parts.emplace_back(part);
        }
        pos = next + 1;
    }
    return parts;
}

std::string to_host_path(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& part : parts) {
        out += '/';
        out += part;
    }
    return out.empty() ? "/" : out;
}

std::shared_ptr<const int> share_fd(int fd) {
    return {new int(fd), [](const int* p) {
                ::close(*p);
                delete p;
            }};
}

// "/a/b" + "../c" -> "/a/c", never above "/".
std::string join_lexically(std::string_view dir, std::string_view relative) {
    std::vector<std::string> parts = components(dir);
    if (!relative.empty() && relative.front() == '/') {
        parts.clear();
    }
    for (auto& part : components(relative)) {
        if (part == "..") {
            if (!parts.empty()) {
                parts.pop_back();
            }
        } else {
            parts.push_back(std::move(part));
        }
    }
    return to_host_path(parts);
}

std::optional<std::string>
read_link_at(int dir_fd, const std::string& name, const std::filesystem::path& shown) {
    std::array<char, 4096>
        buf; // NOLINT(cppcoreguidelines-pro-type-member-init): the kernel fills it
    const ssize_t len = ::readlinkat(dir_fd, name.c_str(), buf.data(), buf.size() - 1);
    if (len < 0) {
        if (is_absent(errno) || errno == EINVAL) {
            return std::nullopt;
        }
        throw_io("read link", shown / name, errno);
    }
    return std::string(buf.data(), static_cast<std::size_t>(len));
}

std::string last_component(std::string_view target) {
    while (target.size() > 1 && target.back() == '/') {
        target.remove_suffix(1);
    }
    if (const auto slash = target.rfind('/'); slash != std::string_view::npos) {
        target.remove_prefix(slash + 1);
    }
    return std::string(target);
}

} // namespace

std::string join(std::string_view dir, std::string_view name) {
    std::string out(dir);
    while (out.size() > 1 && out.back() == '/') {
        out.pop_back();
    }
    while (!name.empty() && name.front() == '/') {
        name.remove_prefix(1);
    }
    if (out.empty() || out.back() != '/') {
        out += '/';
    }
    out += name;
    return out;
}

Root::Root(const std::filesystem::path& prefix) {
    std::error_code ec;
    auto absolute = std::filesystem::absolute(prefix, ec);
    if (ec || !std::filesystem::is_directory(absolute, ec)) {
        throw UsageError(fmt::format("--root {}: not a directory; give the top of a host tree "
                                     "(a snapshot or fixture that contains sys/ and proc/), or / "
                                     "for this machine",
                                     prefix.string()));
    }
    m_prefix = absolute.lexically_normal();
    std::string text = m_prefix.string();
    while (text.size() > 1 && text.back() == '/') {
        text.pop_back();
    }
    m_prefix = text;
    const int fd = ::open(m_prefix.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        throw_io("open", m_prefix, errno);
    }
    m_dir_fd = share_fd(fd);
}

std::filesystem::path Root::map(std::string_view host_path) const {
    if (is_live()) {
        return {host_path};
    }
    while (!host_path.empty() && host_path.front() == '/') {
        host_path.remove_prefix(1);
    }
    return m_prefix / host_path;
}

std::optional<std::string> Root::resolve(std::string_view host_path) const {
    // A component-wise chase, like systemd's chase(CHASE_PREFIX_ROOT): every link is read with
    // readlink and its target spliced back into the remaining components, so an absolute
    // target is interpreted inside the prefix and ".." stops at the prefix.
    std::vector<std::string> pending = components(host_path);
    std::reverse(pending.begin(), pending.end());
    std::vector<std::string> done;
    int links_followed = 0;
    while (!pending.empty()) {
        std::string part = std::move(pending.back());
        pending.pop_back();
        if (part == "..") {
            if (!done.empty()) {
                done.pop_back();
            }
            continue;
        }
        done.push_back(part);
        const auto mapped = map(to_host_path(done));

        struct stat st {};

        if (::lstat(mapped.c_str(), &st) != 0) {
            if (is_absent(errno)) {
                return std::nullopt;
            }
            throw_io("inspect", mapped, errno);
        }
        if (!S_ISLNK(st.st_mode)) {
            continue;
        }
        if (++links_followed > 40) {
            throw_io("resolve", map(host_path), ELOOP);
        }
        std::array<char, 4096>
            buf; // NOLINT(cppcoreguidelines-pro-type-member-init): the kernel fills it
        const ssize_t len = ::readlink(mapped.c_str(), buf.data(), buf.size() - 1);
        if (len < 0) {
            throw_io("read link", mapped, errno);
        }
        const std::string_view target(buf.data(), static_cast<std::size_t>(len));
        done.pop_back();
        if (!target.empty() && target.front() == '/') {
            done.clear();
        }
        auto target_parts = components(target);
        pending.insert(pending.end(), target_parts.rbegin(), target_parts.rend());
    }
    return to_host_path(done);
}

namespace {

// One read(2) of at most `size` bytes into `into`, retried on EINTR; 0 at the end of the file.
std::size_t
read_some(const Fd& fd, char* into, std::size_t size, const std::filesystem::path& shown) {
    while (true) {
        const ssize_t n = ::read(fd.get(), into, size);
        if (n >= 0) {
            return static_cast<std::size_t>(n);
        }
        if (errno != EINTR) {
            throw_io("read", shown, errno);
        }
    }
}

// At most `max` bytes of `fd`. A file on disk larger than the read buffer (`size_hint`, its size
// from fstat) is read straight into the string, sized once; anything else (a config file, a sysfs
// attribute, whose size fstat gives as a page) through a buffer on the stack, so that the string
// holds no more memory than its bytes: pt snapshot keeps tens of thousands of them.
std::string read_fd(const Fd& fd,
                    const std::filesystem::path& shown,
                    std::size_t max,
                    std::size_t size_hint = 0) {
    constexpr std::size_t k_buffer = 8192;
    std::string out;
    if (size_hint > k_buffer) {
        out.resize(std::min(size_hint + 1, max));
        std::size_t used = 0;
        while (used < max) {
            if (used == out.size()) {
                out.resize(std::min(out.size() * 2, max));
            }
            const auto n = read_some(fd, out.data() + used, out.size() - used, shown);
            if (n == 0) {
                break;
            }
            used += n;
        }
        out.resize(used);
        return out;
    }
    std::array<char, k_buffer>
        buf; // NOLINT(cppcoreguidelines-pro-type-member-init): the kernel fills it
    while (out.size() < max) {
        const auto n = read_some(fd, buf.data(), std::min(buf.size(), max - out.size()), shown);
        if (n == 0) {
            break;
        }
        out.append(buf.data(), n);
    }
    return out;
}

// A FIFO, socket or device where pt expects a file would block a read forever or feed it
// endless bytes; a directory cannot be read. Opened O_NONBLOCK, so this check comes first.
// Returns the file's size as fstat gives it (a sysfs attribute's is a page, whatever it holds).
std::size_t require_regular(const Fd& fd, const std::filesystem::path& shown) {
    struct stat st {};

    if (::fstat(fd.get(), &st) != 0) {
        throw_io("inspect", shown, errno);
    }
    if (!S_ISREG(st.st_mode)) {
        const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                           : S_ISFIFO(st.st_mode) ? "a FIFO"
                           : S_ISSOCK(st.st_mode) ? "a socket"
                           : S_ISCHR(st.st_mode)  ? "a character device"
                           : S_ISBLK(st.st_mode)  ? "a block device"
                                                  : "not a regular file";
        throw Error(fmt::format("cannot read {}: it is {}, where pt expects a regular file; "
                                "replace it with the file it should be",
                                shown.string(),
                                kind));
    }
    return static_cast<std::size_t>(std::max<off_t>(st.st_size, 0));
}

// The names in the open folder `fd` (not "." or ".."), sorted. getdents64 directly: readdir would
// add an fstat and two fcntl calls per folder, which pt snapshot pays for every device.
std::vector<std::string> list_entries(const Fd& fd, const std::filesystem::path& shown) {
    std::vector<std::string> names;
    alignas(dirent64) std::array<char, 32768>
        buffer; // NOLINT(cppcoreguidelines-pro-type-member-init): the kernel fills it
    while (true) {
        const ssize_t n = ::getdents64(fd.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw_io("list", shown, errno);
        }
        if (n == 0) {
            break;
        }
        for (ssize_t pos = 0; pos < n;) {
            dirent64 entry{};
            std::memcpy(&entry, buffer.data() + pos, offsetof(dirent64, d_name));
            const std::string_view name(buffer.data() + pos + offsetof(dirent64, d_name));
            if (name != "." && name != "..") {
                names.emplace_back(name);
            }
            pos += entry.d_reclen;
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

// The whole text of a regular file, refusing one over Root::k_text_limit instead of cutting it.
// Nothing is planned from a truncated file: the plan would be wrong, and its --apply would fail
// forever with "changed since the plan was made".
[[noreturn]] void throw_over_limit(const std::filesystem::path& shown, std::size_t size) {
    throw Error(fmt::format("{} is {} bytes and pt reads at most {} bytes ({} MiB) of a text "
                            "file; nothing was planned. Is it the file pt expects? Shrink it or "
                            "move it aside, then run pt again",
                            shown.string(),
                            size,
                            Root::k_text_limit,
                            Root::k_text_limit >> 20U));
}

std::string read_text(const Fd& fd, const std::filesystem::path& shown) {
    const auto expected = require_regular(fd, shown);
    auto text = read_fd(fd, shown, Root::k_text_limit, expected);
    if (text.size() == Root::k_text_limit) {
        char extra = 0;
        ssize_t n = 0;
        do {
            n = ::read(fd.get(), &extra, 1);
        } while (n < 0 && errno == EINTR);
        if (n > 0) {
            struct stat st {};

            const auto size = ::fstat(fd.get(), &st) == 0 && st.st_size > 0
                                  ? static_cast<std::size_t>(st.st_size)
                                  : text.size() + 1;
            throw_over_limit(shown, size);
        }
    }
    return text;
}

constexpr int k_read_flags = O_RDONLY | O_NONBLOCK | O_NOCTTY;

// The whole of an attribute file. A sysfs attribute is at most one page and the kernel hands it
// over in one read(), and a regular file on disk reads short only at its end, so a short first
// read is all of it; only a full page needs the general loop.
std::string read_attribute(const Fd& fd, const std::filesystem::path& shown) {
    std::array<char, 4096>
        buf; // NOLINT(cppcoreguidelines-pro-type-member-init): the kernel fills it
    ssize_t n = 0;
    do {
        n = ::read(fd.get(), buf.data(), buf.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        throw_io("read", shown, errno);
    }
    std::string text(buf.data(), static_cast<std::size_t>(n));
    if (static_cast<std::size_t>(n) == buf.size()) {
        text += read_fd(fd, shown, Root::k_text_limit);
    }
    return text;
}

// What open_inside gave for `host_path`: the file, nullopt when it is absent, else an error
// naming it. Called straight on open_inside's result, before anything can change errno.
std::optional<Fd> present(int fd, const Root& root, std::string_view host_path) {
    const int err = errno;
    if (fd >= 0) {
        return Fd(fd);
    }
    if (is_absent(err)) {
        return std::nullopt;
    }
    throw_io("open", root.map(host_path), err);
}

} // namespace

// openat2(RESOLVE_IN_ROOT) does the same chase as Root::resolve in one system call (Linux 5.6);
// where the kernel or a seccomp filter refuses it, pt falls back to resolving by hand.
int Root::open_inside(std::string_view host_path, int flags) const {
    flags |= O_CLOEXEC;
    if (is_live()) {
        return ::open(std::string(host_path).c_str(), flags);
    }
    // Atomic: pt snapshot reads through one Root from two threads.
    static std::atomic<bool> openat2_works = true;
    if (openat2_works) {
        open_how how{};
        how.flags = static_cast<std::uint64_t>(flags);
        how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
        const std::string relative(host_path);
        long fd = -1;
        // EAGAIN: a rename anywhere on the system raced a ".." of the chase (a sysfs device link
        // is "../../../devices/..."), and the kernel could not prove it stayed inside; it asks
        // the caller to retry. Past a few tries the chase by hand below is as safe, only slower.
        for (int attempt = 0; attempt < 16; ++attempt) {
            fd = ::syscall(SYS_openat2, *m_dir_fd, relative.c_str(), &how, sizeof how);
            if (fd >= 0 || errno != EAGAIN) {
                break;
            }
        }
        if (fd >= 0 || (errno != ENOSYS && errno != EPERM && errno != EAGAIN)) {
            return static_cast<int>(fd);
        }
        if (errno != EAGAIN) {
            openat2_works = false;
        }
    }
    const auto resolved = resolve(host_path);
    if (!resolved) {
        errno = ENOENT;
        return -1;
    }
    // The resolved path has no link left; O_NOFOLLOW keeps a link swapped in since from being
    // followed out of the root at the last component.
    return ::open(map(*resolved).c_str(), flags | O_NOFOLLOW);
}

std::optional<std::string> Root::read_attr(std::string_view host_path) const {
    auto text = read_file_if_exists(host_path);
    if (text && !text->empty() && text->back() == '\n') {
        text->pop_back();
    }
    return text;
}

std::string Root::read_file(std::string_view host_path) const {
    Fd fd(open_inside(host_path, k_read_flags));
    if (!fd) {
        throw_io("open", map(host_path), errno);
    }
    return read_text(fd, map(host_path));
}

std::optional<std::string> Root::read_file_if_exists(std::string_view host_path) const {
    const auto fd = present(open_inside(host_path, k_read_flags), *this, host_path);
    if (!fd) {
        return std::nullopt;
    }
    return read_text(*fd, map(host_path));
}

std::optional<MappedFile> Root::map_file(std::string_view host_path) const {
    const auto fd = present(open_inside(host_path, k_read_flags), *this, host_path);
    if (!fd) {
        return std::nullopt;
    }
    const auto size = require_regular(*fd, map(host_path));
    if (size > k_text_limit) {
        throw_over_limit(map(host_path), size);
    }
    return MappedFile::map(fd->get(), size, map(host_path));
}

std::optional<std::vector<std::uint8_t>> Root::read_bytes(std::string_view host_path,
                                                          std::size_t max) const {
    const auto fd = present(open_inside(host_path, k_read_flags), *this, host_path);
    if (!fd) {
        return std::nullopt;
    }
    require_regular(*fd, map(host_path));
    const auto text = read_fd(*fd, map(host_path), max);
    return std::vector<std::uint8_t>(text.begin(), text.end());
}

std::vector<std::string> Root::list(std::string_view host_dir) const {
    Fd fd(open_inside(host_dir, O_RDONLY | O_DIRECTORY));
    if (!fd) {
        if (is_absent(errno)) {
            return {};
        }
        throw_io("list", map(host_dir), errno);
    }
    return list_entries(fd, map(host_dir));
}

bool Root::exists(std::string_view host_path) const {
    Fd fd(open_inside(host_path, O_PATH));
    return static_cast<bool>(fd);
}

std::optional<NodeInfo> Root::node(std::string_view host_path) const {
    Fd fd(open_inside(host_path, O_PATH));
    if (!fd) {
        if (is_absent(errno)) {
            return std::nullopt;
        }
        throw_io("open", map(host_path), errno);
    }

    struct stat st {};

    if (::fstat(fd.get(), &st) != 0) {
        throw_io("stat", map(host_path), errno);
    }
    NodeInfo info;
    switch (st.st_mode & S_IFMT) {
    case S_IFREG:
        info.kind = NodeInfo::Kind::regular;
        break;
    case S_IFDIR:
        info.kind = NodeInfo::Kind::directory;
        break;
    case S_IFCHR:
        info.kind = NodeInfo::Kind::character;
        break;
    case S_IFBLK:
        info.kind = NodeInfo::Kind::block;
        break;
    default:
        break;
    }
    if (info.kind == NodeInfo::Kind::character || info.kind == NodeInfo::Kind::block) {
        info.major = major(st.st_rdev);
        info.minor = minor(st.st_rdev);
    }
    return info;
}

namespace {

std::pair<std::string_view, std::string_view> split_last(std::string_view host_path) {
    const auto slash = host_path.rfind('/');
    if (slash == std::string_view::npos) {
        return {".", host_path};
    }
    return {host_path.substr(0, slash == 0 ? 1 : slash), host_path.substr(slash + 1)};
}

} // namespace

std::optional<std::string> Root::link_name(std::string_view host_path) const {
    const auto [parent, name] = split_last(host_path);
    const auto dir = open_dir(parent);
    return dir ? dir->link_name(name) : std::nullopt;
}

std::optional<std::string> Root::link_target(std::string_view host_path) const {
    const auto [parent, name] = split_last(host_path);
    const auto dir = open_dir(parent);
    return dir ? dir->link_target(name) : std::nullopt;
}

std::optional<Dir> Root::open_dir(std::string_view host_path) const {
    const int fd = open_inside(host_path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        if (is_absent(errno)) {
            return std::nullopt;
        }
        throw_io("open", map(host_path), errno);
    }
    return Dir(*this, share_fd(fd), std::string(host_path), map(host_path));
}

std::optional<std::string> Dir::link_target(std::string_view name) const {
    const auto target = read_link_at(*m_fd, std::string(name), m_shown);
    if (!target) {
        return std::nullopt;
    }
    return join_lexically(m_host_path, *target);
}

std::optional<Dir> Dir::open_dir(std::string_view relative) const {
    // Through the root, so that a link among the components is followed inside it.
    return m_root.open_dir(join(m_host_path, relative));
}

namespace {

// openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): a path of several components relative to
// `dir_fd` in one system call, refused (ELOOP, EXDEV) the moment it would follow any link or
// climb above the directory, so it cannot leave a directory that was itself opened inside the
// root. -1 with errno ENOSYS or EPERM where the kernel or a seccomp filter lacks openat2.
int open_beneath(int dir_fd, const std::string& relative, int flags) {
    // Atomic: pt snapshot reads through one Root from two threads.
    static std::atomic<bool> openat2_works = true;
    if (!openat2_works) {
        errno = ENOSYS;
        return -1;
    }
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    const long fd = ::syscall(SYS_openat2, dir_fd, relative.c_str(), &how, sizeof how);
    if (fd < 0 && (errno == ENOSYS || errno == EPERM)) {
        openat2_works = false;
    }
    return static_cast<int>(fd);
}

// Opens `relative` below the directory `dir_fd` (opened as `dir_host_path` inside `root`). A
// single name is opened with O_NOFOLLOW, so a link there reads as absent. Several components
// ("14/type") are opened in one openat2 call that refuses any link and any "..", so the open
// stays beneath the directory; should a link be on the way (never in a real sysfs), the path is
// chased through the root instead, which follows links inside it and nowhere else. -1 with
// errno on failure.
int open_below(const Root& root,
               int dir_fd,
               const std::string& dir_host_path,
               const std::string& relative,
               int flags) {
    if (relative.find('/') == std::string::npos) {
        return ::openat(dir_fd, relative.c_str(), flags | O_CLOEXEC | O_NOFOLLOW);
    }
    const int fd = open_beneath(dir_fd, relative, flags);
    if (fd >= 0 || is_absent(errno)) {
        return fd;
    }
    if (errno == ELOOP || errno == EXDEV || errno == ENOSYS || errno == EPERM || errno == EAGAIN) {
        return root.open_inside(join(dir_host_path, relative), flags);
    }
    return -1;
}

} // namespace

std::optional<std::string> Dir::read_attr(std::string_view name) const {
    const std::string leaf(name);
    // O_NONBLOCK: a FIFO planted in a snapshot reads as empty instead of blocking pt.
    // Several components ("14/type") are allowed: see open_below.
    Fd fd(open_below(m_root, *m_fd, m_host_path, leaf, O_RDONLY | O_NONBLOCK));
    if (!fd) {
        if (is_absent(errno) || errno == ELOOP) {
            return std::nullopt;
        }
        throw_io("open", m_shown / leaf, errno);
    }
    std::optional<std::string> text = read_attribute(fd, m_shown / leaf);
    if (!text->empty() && text->back() == '\n') {
        text->pop_back();
    }
    return text;
}

std::optional<Dir::File> Dir::read_file(std::string_view name) const {
    const std::string leaf(name);
    Fd fd(::openat(*m_fd, leaf.c_str(), k_read_flags | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
        if (is_absent(errno) || errno == ELOOP) {
            return std::nullopt;
        }
        throw_io("open", m_shown / leaf, errno);
    }
    File file{};
    if (::fstat(fd.get(), &file.status) != 0) {
        throw_io("inspect", m_shown / leaf, errno);
    }
    if (!S_ISREG(file.status.st_mode)) {
        return std::nullopt;
    }
    file.content = read_attribute(fd, m_shown / leaf);
    return file;
}

std::optional<std::string> Dir::link_name(std::string_view name) const {
    const auto target = read_link_at(*m_fd, std::string(name), m_shown);
    return target ? std::optional<std::string>(last_component(*target)) : std::nullopt;
}

bool Dir::has(std::string_view name) const {
    struct stat st {};

    return ::fstatat(*m_fd, std::string(name).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

std::vector<std::string> Dir::list() const {
    const Fd fd(::openat(*m_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        throw_io("list", m_shown, errno);
    }
    return list_entries(fd, m_shown);
}

} // namespace pt::host
