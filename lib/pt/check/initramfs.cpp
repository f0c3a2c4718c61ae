// SPDX-License-Identifier: MIT
// initramfs.fresh: every installed kernel's initrd is newer than the files mkinitramfs copies.
#include "pt/check/host_context.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <sys/stat.h>

#include <ctime>

namespace pt::check {
namespace {

struct Mtime {
    std::int64_t sec = 0;
    long nsec = 0;
    auto operator<=>(const Mtime&) const = default;
};

// The modification time of a host path, following links inside the root; nullopt when missing.
std::optional<Mtime> mtime(const host::Root& root, std::string_view host_path) {
    const auto resolved = root.resolve(host_path);
    if (!resolved) {
        return std::nullopt;
    }

    struct stat st {};

    if (::lstat(root.map(*resolved).c_str(), &st) != 0) {
        return std::nullopt;
    }
    return Mtime{static_cast<std::int64_t>(st.st_mtim.tv_sec), st.st_mtim.tv_nsec};
}

std::string show(const Mtime& t) {
    const std::time_t sec = static_cast<std::time_t>(t.sec);
    std::tm tm{};
    gmtime_r(&sec, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

struct Input {
    std::string path;
    Mtime time;
};

// The files an initramfs-tools initrd is built from that an admin edits for passthrough.
std::vector<Input> inputs(const host::Root& root) {
    std::vector<std::string> paths;
    for (const auto& name : root.list("/etc/modprobe.d")) {
        if (name.ends_with(".conf")) {
            paths.push_back(host::join("/etc/modprobe.d", name));
        }
    }
    paths.emplace_back("/etc/initramfs-tools/modules");
    paths.emplace_back("/etc/initramfs-tools/initramfs.conf");
    for (const auto* dir : {"/etc/initramfs-tools/conf.d", "/etc/initramfs-tools/hooks"}) {
        for (const auto& name : root.list(dir)) {
            paths.push_back(host::join(dir, name));
        }
    }
    std::vector<Input> out;
    for (const auto& path : paths) {
        if (const auto t = mtime(root, path)) {
            out.push_back({path, *t});
        }
    }
    return out;
}

} // namespace

void check_initramfs(const HostContext& ctx, std::vector<Check>& out) {
    const std::string what = "initramfs newer than modprobe.d / modules / hooks";
    std::vector<std::string> kernels;
    for (const auto& name : ctx.root.list("/lib/modules")) {
        if (kernel::parse_release(name)) {
            kernels.push_back(name);
        }
    }
    if (kernels.empty()) {
        out.push_back(make(what,
                           "initramfs.fresh",
                           Status::skip,
                           "no installed kernel under /lib/modules in this root"));
        return;
    }
    const auto files = inputs(ctx.root);
    const Input* newest = nullptr;
    for (const auto& f : files) {
        if (newest == nullptr || f.time > newest->time) {
            newest = &f;
        }
    }
    std::vector<std::string> stale;
    std::vector<std::string> missing;
    std::vector<std::string> evidence;
    for (const auto& release : kernels) {
        const std::string initrd = "/boot/initrd.img-" + release;
        const auto t = mtime(ctx.root, initrd);
        if (!t) {
            missing.push_back(release);
            evidence.push_back(initrd + ": missing");
            continue;
        }
        // Whole seconds, and equal counts as fresh: update-initramfs may run within the same
        // second as the edit, and a git checkout of a fixture writes its files within one second
        // in any order.
        if (newest != nullptr && t->sec < newest->time.sec) {
            stale.push_back(release);
            evidence.push_back(fmt::format("{}: {} (older)", initrd, show(*t)));
        } else {
            evidence.push_back(fmt::format("{}: {}", initrd, show(*t)));
        }
    }
    if (newest != nullptr) {
        evidence.push_back(fmt::format("newest input: {}: {}", newest->path, show(newest->time)));
    }
    const std::string ev = fmt::format("{}", fmt::join(evidence, "\n"));
    if (!stale.empty()) {
        out.push_back(make(what,
                           "initramfs.fresh",
                           Status::fail,
                           fmt::format("stale initramfs for {}: {} changed after it was built, so "
                                       "early boot still uses the old module options, blacklist "
                                       "and module list (vfio modules not loaded after reboot)",
                                       fmt::join(stale, ", "),
                                       newest->path),
                           ev,
                           "update-initramfs -u -k all, then reboot"));
    } else if (!missing.empty()) {
        out.push_back(make(what,
                           "initramfs.fresh",
                           Status::warn,
                           fmt::format("no initrd for {}", fmt::join(missing, ", ")),
                           ev,
                           "update-initramfs -c -k " + missing.front()));
    } else {
        out.push_back(make(what,
                           "initramfs.fresh",
                           Status::pass,
                           fmt::format("the initrd of every installed kernel ({}) is up to date",
                                       fmt::join(kernels, ", ")),
                           ev));
    }
}

} // namespace pt::check
