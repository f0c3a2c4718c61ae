// SPDX-License-Identifier: MIT
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::host {

class Root;

// The only code in pt that changes the host. Called from edit::apply and edit::undo, never from
// a planner. Every path is a host path, mapped under the Root; links among its directories are
// followed inside the root (Root::resolve), and a file that is itself a link is replaced at its
// target, so /etc/default/grub -> grub.pt stays a link. Failures throw pt::Error naming the
// mapped path and the system's reason.

// Mode and owner of an existing file.
struct FileMeta {
    unsigned mode = 0644; // permission bits only
    uid_t uid = 0;
    gid_t gid = 0;
    // false: leave the owner that the file system gives a new file (pt runs as root; pmxcfs
    // shows every file as root:www-data and may refuse a chown), for a file pt creates.
    bool set_owner = true;
};

// The mode and owner of `host_path`, or nullopt when it does not exist. Throws pt::Error when it
// exists but is not a regular file.
std::optional<FileMeta> file_meta(const Root& root, std::string_view host_path);

// The content of `host_path`, or nullopt when it does not exist.
std::optional<std::string> read_if_exists(const Root& root, std::string_view host_path);

// Creates `host_dir` and missing parents (mode 0755), inside the root.
void make_dirs(const Root& root, std::string_view host_dir);

// Creates the one directory `host_dir` (mode 0755; its parent must exist). Returns false when
// it exists already, which makes it a way to claim a unique name.
bool make_dir(const Root& root, std::string_view host_dir);

// Replaces `host_path` with `content` atomically: a temporary file ".NAME.pt-XXXXXX" in the same
// directory (a name that modprobe.d's *.conf and grub.d's *.cfg globs never match), written,
// given `meta`'s mode and owner (the owner only with meta.set_owner, and no fchown when it has
// it already), fsync'ed, renamed over the file, and the directory fsync'ed.
// A reader sees the old content or the new, never a mix; on failure the temporary file is
// removed and the file is untouched. The parent directory must exist.
void replace_file(const Root& root,
                  std::string_view host_path,
                  std::string_view content,
                  const FileMeta& meta);

// True for the name replace_file gives its temporary files (".NAME.pt-XXXXXX", six of [a-z0-9]).
bool is_temp_name(std::string_view name);

// Removes, from the directory `host_dir`, the temporary files that a replace_file killed midway
// left behind (regular files whose name is_temp_name; nothing else), and returns their host
// paths. Call it only while holding pt's lock, so that no other pt is writing one. A missing
// directory holds none.
std::vector<std::string> remove_temp_files(const Root& root, std::string_view host_dir);

// Removes `host_path` (a regular file) and fsyncs its directory. A missing file is not an error.
void remove_file(const Root& root, std::string_view host_path);

// Writes `value` to the sysfs attribute `host_path` with one write(): open(O_WRONLY) without
// O_CREAT, so a missing attribute is an error and never a new file. The kernel reports EBUSY,
// ENODEV or EINVAL from write(), which the error names: `cannot write "vfio-pci" to
// /sys/bus/pci/devices/0000:01:00.0/driver_override: Device or resource busy`.
void write_attr(const Root& root, std::string_view host_path, std::string_view value);

// A lock file another program owns (qemu-server's /var/lock/qemu-server/lock-VMID.conf): pt
// only flocks it, never truncates or writes it. `subject` ("VM 100's config") and `holders`
// ("qm or the Proxmox API") make the message when it stays busy.
struct ForeignLock {
    std::string subject;
    std::string holders;
};

// An exclusive flock(2) on a lock file, released by the destructor (or when the process dies).
class Lock {
public:
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
    Lock(Lock&& other) noexcept;
    Lock& operator=(Lock&& other) noexcept;
    ~Lock();

private:
    friend Lock lock_file(const Root&,
                          std::string_view,
                          std::chrono::milliseconds,
                          std::chrono::milliseconds,
                          const std::function<void()>&,
                          const std::optional<ForeignLock>&);

    explicit Lock(int fd)
        : m_fd(fd) {}

    int m_fd = -1;
};

// Takes the lock `host_path` (created, with its directory, when missing). When another process
// holds it, waits: after `notify_after` calls `on_wait` once (so the command can say why it
// hangs), and after `timeout` throws pt::Error naming the lock and the pid written in it.
// pt's own lock (no `foreign`) gets pt's pid written into it once taken; a `foreign` lock is
// opened O_RDWR|O_CREAT (mode 0644, as qemu-server's sysopen does) and only flocked, and its
// message names `foreign`'s subject and holders instead of another pt.
Lock lock_file(const Root& root,
               std::string_view host_path,
               std::chrono::milliseconds notify_after,
               std::chrono::milliseconds timeout,
               const std::function<void()>& on_wait,
               const std::optional<ForeignLock>& foreign = std::nullopt);

// A seam for tests of failure midway (disk full, read-only file system, a busy device): the
// next write operation (replace_file, remove_file, write_attr) on exactly `host_path`, after
// `skip` earlier ones on it have succeeded, fails
// with `err` (ENOSPC, EROFS, EBUSY, ...) at the point where the system call would, after the
// temporary file exists, so the cleanup path runs exactly as for a real failure. It fires once;
// an empty `host_path` turns it off. Keyed by path rather than by count so that a test does not
// depend on how many journal files apply writes first. Only the unit tests call it (the binary
// never does), and it is not thread-safe: set it while no apply runs.
void fail_next_write_to(std::string host_path, int err, int skip = 0);

} // namespace pt::host
