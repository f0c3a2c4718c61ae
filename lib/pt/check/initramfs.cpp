// SPDX-License-Identifier: MIT
// initramfs.fresh: every installed kernel's initrd is newer than the files mkinitramfs copies.
#include "pt/check/host_context.hpp"
#include "pt/conf/modules_file.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <sys/stat.h>

#include <algorithm>
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

// mtime verdict for one kernel: nullopt when the initrd is missing.
struct MtimeVerdict {
    std::optional<Mtime> initrd;
    bool stale = false;
};

MtimeVerdict by_mtime(const host::Root& root, const std::string& release, const Input* newest) {
    MtimeVerdict v;
    v.initrd = mtime(root, "/boot/initrd.img-" + release);
    // Whole seconds, and equal counts as fresh: update-initramfs may run within the same second
    // as the edit, and a git checkout of a fixture writes its files within one second in any
    // order.
    v.stale = v.initrd && newest != nullptr && v.initrd->sec < newest->time.sec;
    return v;
}

const Input* newest_of(const std::vector<Input>& files) {
    const Input* newest = nullptr;
    for (const auto& f : files) {
        if (newest == nullptr || f.time > newest->time) {
            newest = &f;
        }
    }
    return newest;
}

// What mkinitramfs copies that pt and the guides edit, compared with the image: every
// /etc/modprobe.d/*.conf (initramfs-tools copies the folder), /etc/initramfs-tools/modules as
// conf/modules (by module names: mkinitramfs rewrites the file), and pt's init-top hook.
std::vector<std::string> content_differences(const HostContext& ctx,
                                             const model::StagedInitramfs& staged) {
    std::vector<std::string> out;
    for (const auto& name : ctx.root.list("/etc/modprobe.d")) {
        if (!name.ends_with(".conf") || name.front() == '.') {
            continue;
        }
        const std::string path = host::join("/etc/modprobe.d", name);
        const auto text = ctx.root.read_file_if_exists(path);
        if (!text) {
            continue;
        }
        const auto in_image = staged.member_text("etc/modprobe.d/" + name);
        if (!in_image) {
            out.push_back(fmt::format("{}: not in the initramfs", path));
        } else if (*in_image != *text) {
            out.push_back(fmt::format("{}: differs from the initramfs copy", path));
        }
    }
    for (const auto& m : staged.image->under("etc/modprobe.d/")) {
        const std::string path = "/" + m->path;
        if (m->path.ends_with(".conf") && !ctx.root.exists(path)) {
            out.push_back(fmt::format("{}: in the initramfs, no longer configured", path));
        }
    }
    if (const auto text = ctx.root.read_file_if_exists("/etc/initramfs-tools/modules")) {
        auto configured = conf::parse_modules(*text);
        auto in_image = staged.modules;
        std::sort(configured.begin(), configured.end());
        std::sort(in_image.begin(), in_image.end());
        if (configured != in_image) {
            out.push_back(
                "/etc/initramfs-tools/modules: differs from the initramfs's conf/modules");
        }
    }
    const std::string hook = "/etc/initramfs-tools/scripts/init-top/pt-vfio";
    const auto hook_text = ctx.root.read_file_if_exists(hook);
    const auto hook_image = staged.member_text("scripts/init-top/pt-vfio");
    if (hook_text != hook_image) {
        out.push_back(fmt::format("{}: {}",
                                  hook,
                                  !hook_image  ? "not in the initramfs"
                                  : !hook_text ? "in the initramfs, no longer configured"
                                               : "differs from the initramfs copy"));
    }
    return out;
}

} // namespace

std::optional<std::int64_t> modified_at(const host::Root& root, std::string_view host_path) {
    if (const auto t = mtime(root, host_path)) {
        return t->sec;
    }
    return std::nullopt;
}

StagedState staged_state(const HostContext& ctx) {
    StagedState state;
    const auto& staged = ctx.host.staged();
    if (!staged) {
        state.evidence = "/lib/modules: no installed kernel";
        return state;
    }
    if (staged->readable()) {
        state.differences = content_differences(ctx, *staged);
        state.current = state.differences.empty();
        std::string how;
        for (const auto& seg : staged->image->segments) {
            how += how.empty() ? "" : " + ";
            how += fmt::format("{} cpio", boot::to_string(seg.compression));
        }
        state.evidence = fmt::format("{} ({}, {}; {} members, read from the image)",
                                     staged->path,
                                     staged->chosen_because,
                                     how,
                                     staged->image->members.size());
        return state;
    }
    state.by_mtime = true;
    const auto files = inputs(ctx.root);
    const Input* newest = newest_of(files);
    const auto v = by_mtime(ctx.root, staged->kernel, newest);
    if (!v.initrd) {
        state.evidence = staged->path + ": missing";
        return state;
    }
    const std::string why_unread =
        staged->image && staged->image->error ? *staged->image->error : std::string("not read");
    state.evidence = fmt::format("{}: {}{} ({}; compared by mtime)",
                                 staged->path,
                                 show(*v.initrd),
                                 v.stale ? " (older)" : "",
                                 why_unread);
    if (newest != nullptr) {
        state.evidence += fmt::format("\nnewest input: {}: {}", newest->path, show(newest->time));
    }
    if (v.stale) {
        state.current = false;
        state.differences.push_back(
            fmt::format("{} changed after {} was built", newest->path, staged->path));
    }
    return state;
}

std::optional<bool> staged_layer(const HostContext& ctx, const std::optional<bool>& in_image) {
    const auto& staged = ctx.host.staged();
    if (staged && staged->readable()) {
        return in_image;
    }
    if (staged_state(ctx).current == false) {
        return false;
    }
    return std::nullopt;
}

void check_initramfs(const HostContext& ctx, std::vector<Check>& out) {
    const std::string what = "initramfs newer than modprobe.d / modules / hooks";
    const auto& kernels = ctx.host.installed_kernels();
    if (kernels.empty()) {
        out.push_back(make(what,
                           "initramfs.fresh",
                           Status::skip,
                           "no installed kernel under /lib/modules in this root"));
        return;
    }
    const auto& staged = ctx.host.staged();
    const StagedState next = staged_state(ctx);
    const auto files = inputs(ctx.root);
    const Input* newest = newest_of(files);
    std::vector<std::string> stale;
    std::vector<std::string> missing;
    std::vector<std::string> evidence;
    for (const auto& release : kernels) {
        const std::string initrd = "/boot/initrd.img-" + release;
        if (staged && release == staged->kernel && !next.by_mtime) {
            evidence.push_back(next.evidence);
            if (next.current == false) {
                stale.push_back(release);
                for (const auto& d : next.differences) {
                    evidence.push_back("  " + d);
                }
            }
            continue;
        }
        const auto v = by_mtime(ctx.root, release, newest);
        if (!v.initrd) {
            missing.push_back(release);
            evidence.push_back(initrd + ": missing");
        } else if (v.stale) {
            stale.push_back(release);
            evidence.push_back(fmt::format("{}: {} (older)", initrd, show(*v.initrd)));
        } else {
            evidence.push_back(fmt::format("{}: {}", initrd, show(*v.initrd)));
        }
    }
    if (newest != nullptr && (next.by_mtime || kernels.size() > 1)) {
        evidence.push_back(fmt::format("newest input: {}: {}", newest->path, show(newest->time)));
    }
    const std::string ev = fmt::format("{}", fmt::join(evidence, "\n"));
    // The layers of the next boot's initramfs: configured files versus the image.
    const Layers layers{true, next.current, std::nullopt};
    if (!stale.empty()) {
        const std::string cause =
            !next.by_mtime && next.current == false && !next.differences.empty()
                ? next.differences.front()
                : fmt::format("{} changed after it was built", newest ? newest->path : "a file");
        auto check = make(what,
                          "initramfs.fresh",
                          Status::fail,
                          fmt::format("stale initramfs for {}: {}, so early boot still uses the "
                                      "old module options, blacklist and module list (configured "
                                      "but not in the initramfs)",
                                      fmt::join(stale, ", "),
                                      cause),
                          ev,
                          "update-initramfs -u -k all, then reboot");
        check.layers = layers;
        out.push_back(std::move(check));
    } else if (!missing.empty()) {
        out.push_back(make(what,
                           "initramfs.fresh",
                           Status::warn,
                           fmt::format("no initrd for {}", fmt::join(missing, ", ")),
                           ev,
                           "update-initramfs -c -k " + missing.front()));
    } else {
        auto check = make(what,
                          "initramfs.fresh",
                          Status::pass,
                          fmt::format("the initrd of every installed kernel ({}) is up to date",
                                      fmt::join(kernels, ", ")),
                          ev);
        check.layers = layers;
        out.push_back(std::move(check));
    }
}

} // namespace pt::check
