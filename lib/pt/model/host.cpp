// SPDX-License-Identifier: MIT
#include "pt/model/host.hpp"

#include "pt/conf/modprobe.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace pt::model {
namespace {

// The member paths whose text the checks compare with the configured files.
bool wanted_member(std::string_view path) {
    for (const std::string_view dir :
         {"etc/modprobe.d/", "usr/lib/modprobe.d/", "lib/modprobe.d/"}) {
        if (path.starts_with(dir) && path.ends_with(".conf")) {
            return true;
        }
    }
    return path == "conf/modules" || path.starts_with("scripts/init-top/");
}

// "usr/lib/modules/6.8.12-4-pve/kernel/drivers/vfio/pci/vfio-pci.ko.zst" -> "vfio_pci".
std::optional<std::string> module_of(std::string_view path) {
    if (!path.starts_with("lib/modules/") && !path.starts_with("usr/lib/modules/")) {
        return std::nullopt;
    }
    std::string_view base = path.substr(path.rfind('/') + 1);
    for (const std::string_view suffix : {".zst", ".xz", ".gz"}) {
        if (base.ends_with(suffix)) {
            base.remove_suffix(suffix.size());
        }
    }
    if (!base.ends_with(".ko")) {
        return std::nullopt;
    }
    base.remove_suffix(3);
    return conf::normalise_module(base);
}

StagedInitramfs read_staged(const host::Root& root,
                            std::string kernel,
                            std::string because,
                            const std::vector<kernel::Param>& cmdline,
                            const std::string& cmdline_source) {
    StagedInitramfs staged;
    staged.kernel = std::move(kernel);
    staged.path = "/boot/initrd.img-" + staged.kernel;
    staged.chosen_because = std::move(because);
    staged.image = boot::read_initramfs(root, staged.path, wanted_member);
    if (!staged.readable()) {
        return staged;
    }
    std::vector<conf::ModprobeText> candidates;
    for (const auto& m : staged.image->members) {
        if (!m.text || !m.path.ends_with(".conf")) {
            continue;
        }
        for (const auto dir : conf::k_modprobe_dirs) {
            const std::string prefix = std::string(dir.substr(1)) + "/";
            if (m.path.starts_with(prefix)
                && m.path.find('/', prefix.size()) == std::string::npos) {
                candidates.push_back({std::string(dir),
                                      m.path.substr(prefix.size()),
                                      staged.path + ":" + m.path,
                                      *m.text});
            }
        }
    }
    staged.modprobe = conf::compute_module_config(std::move(candidates), cmdline, cmdline_source);
    if (const auto* modules = staged.image->find("conf/modules"); modules && modules->text) {
        staged.modules = conf::parse_modules(*modules->text);
    }
    return staged;
}

} // namespace

bool StagedInitramfs::has_module(std::string_view name) const {
    if (!readable()) {
        return false;
    }
    const std::string wanted = conf::normalise_module(name);
    return std::any_of(image->members.begin(), image->members.end(), [&](const auto& m) {
        return module_of(m.path) == wanted;
    });
}

std::optional<std::string> StagedInitramfs::member_text(std::string_view member_path) const {
    if (!image) {
        return std::nullopt;
    }
    const auto* member = image->find(member_path);
    if (member == nullptr || !member->text) {
        return std::nullopt;
    }
    return member->text;
}

bool release_less(std::string_view a, std::string_view b) {
    // Runs of digits compare as numbers, everything else byte by byte.
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < a.size() && j < b.size()) {
        const bool da = std::isdigit(static_cast<unsigned char>(a[i])) != 0;
        const bool db = std::isdigit(static_cast<unsigned char>(b[j])) != 0;
        if (da && db) {
            std::size_t ei = i;
            std::size_t ej = j;
            while (ei < a.size() && std::isdigit(static_cast<unsigned char>(a[ei])) != 0) {
                ++ei;
            }
            while (ej < b.size() && std::isdigit(static_cast<unsigned char>(b[ej])) != 0) {
                ++ej;
            }
            const auto na = a.substr(i, ei - i);
            const auto nb = b.substr(j, ej - j);
            const auto ta = na.substr(std::min(na.find_first_not_of('0'), na.size()));
            const auto tb = nb.substr(std::min(nb.find_first_not_of('0'), nb.size()));
            if (ta.size() != tb.size()) {
                return ta.size() < tb.size();
            }
            if (ta != tb) {
                return ta < tb;
            }
            i = ei;
            j = ej;
        } else {
            if (a[i] != b[j]) {
                return a[i] < b[j];
            }
            ++i;
            ++j;
        }
    }
    return a.size() - i < b.size() - j;
}

Host::Host(host::Root root)
    : m_root(std::move(root)) {}

const kernel::HostFacts& Host::facts() const {
    if (!m_facts) {
        m_facts = kernel::read_host_facts(m_root);
    }
    return *m_facts;
}

const pci::Topology& Host::topology() const {
    if (!m_topology) {
        // Nothing read through the model shows the NUMA node or the maximum link (pt verify's
        // checks use neither), so those files are not opened.
        pci::DeviceDetail detail;
        detail.numa_node = false;
        detail.max_link = false;
        m_topology = pci::scan(m_root, nullptr, detail);
    }
    return *m_topology;
}

const iommu::IommuState& Host::iommu() const {
    if (!m_iommu) {
        m_iommu = iommu::read_iommu(m_root, &topology());
    }
    return *m_iommu;
}

std::optional<std::int64_t> Host::booted_at() const {
    if (!m_booted_at) {
        m_booted_at.emplace();
        const auto text = m_root.read_attr("/proc/stat");
        const auto at = text ? text->find("btime ") : std::string::npos;
        if (at != std::string::npos && (at == 0 || (*text)[at - 1] == '\n')) {
            std::int64_t seconds = 0;
            const char* first = text->data() + at + 6;
            const char* last = text->data() + text->size();
            const auto [end, ec] = std::from_chars(first, last, seconds);
            if (ec == std::errc() && end != first) {
                *m_booted_at = seconds;
            }
        }
    }
    return *m_booted_at;
}

const std::optional<std::vector<std::string>>& Host::proc_modules() const {
    if (!m_proc_modules) {
        std::optional<std::vector<std::string>> names;
        if (const auto text = m_root.read_attr("/proc/modules")) {
            names.emplace();
            std::size_t pos = 0;
            while (pos < text->size()) {
                const auto end = std::min(text->find('\n', pos), text->size());
                const auto line = std::string_view(*text).substr(pos, end - pos);
                const auto space = std::min(line.find(' '), line.size());
                if (space > 0) {
                    names->push_back(conf::normalise_module(line.substr(0, space)));
                }
                pos = end + 1;
            }
        }
        m_proc_modules = std::move(names);
    }
    return *m_proc_modules;
}

std::optional<bool> Host::module_loaded(std::string_view name) const {
    const std::string normal = conf::normalise_module(name);
    const auto& loaded = proc_modules();
    if (loaded && std::find(loaded->begin(), loaded->end(), normal) != loaded->end()) {
        return true;
    }
    if (m_root.exists(host::join("/sys/module", normal))) {
        return true;
    }
    if (!loaded) {
        return std::nullopt;
    }
    return false;
}

const kernel::KernelLog& Host::log() const {
    if (!m_log) {
        m_log = kernel::read_kernel_log(m_root);
    }
    return *m_log;
}

const kernel::KernelLogFacts& Host::log_facts() const {
    if (!m_log_facts) {
        m_log_facts = log().lines ? kernel::read_log_facts(*log().lines) : kernel::KernelLogFacts{};
    }
    return *m_log_facts;
}

const conf::ModuleConfig& Host::modprobe_running() const {
    if (!m_modprobe_running) {
        m_modprobe_running = conf::read_module_config(
            m_root, facts().cmdline.value_or(std::vector<kernel::Param>{}), "/proc/cmdline");
    }
    return *m_modprobe_running;
}

const boot::BootFiles& Host::boot_files() const {
    if (!m_boot_files) {
        m_boot_files = boot::read_boot_files(m_root);
    }
    return *m_boot_files;
}

const boot::Status& Host::boot() const {
    if (!m_boot) {
        m_boot = boot::describe_status(boot::detect(m_root), facts(), boot_files());
    }
    return *m_boot;
}

const std::vector<kernel::Param>& Host::next_cmdline() const {
    if (!m_next_cmdline) {
        m_next_cmdline = boot().configured ? kernel::parse_cmdline(*boot().configured)
                                           : facts().cmdline.value_or(std::vector<kernel::Param>{});
    }
    return *m_next_cmdline;
}

const conf::ModuleConfig& Host::modprobe_configured() const {
    if (!m_modprobe_configured) {
        const std::string source = boot().configured && !boot().sources.empty()
                                       ? boot().sources.back().path
                                       : std::string("/proc/cmdline");
        m_modprobe_configured = conf::read_module_config(m_root, next_cmdline(), source);
    }
    return *m_modprobe_configured;
}

const std::vector<conf::ModuleList>& Host::module_lists() const {
    if (!m_module_lists) {
        m_module_lists = conf::read_module_lists(m_root);
    }
    return *m_module_lists;
}

const std::vector<std::string>& Host::installed_kernels() const {
    if (!m_kernels) {
        std::vector<std::string> kernels;
        for (const auto& name : m_root.list("/lib/modules")) {
            if (kernel::parse_release(name)) {
                kernels.push_back(name);
            }
        }
        std::sort(kernels.begin(), kernels.end(), [](const auto& a, const auto& b) {
            return release_less(a, b);
        });
        m_kernels = std::move(kernels);
    }
    return *m_kernels;
}

const std::optional<StagedInitramfs>& Host::staged() const {
    if (!m_staged) {
        std::optional<std::string> kernel;
        std::string because;
        // proxmox-boot-tool kernel pin (proxmox-kernel-helper): --next-boot writes
        // next-boot-pin, a lasting pin proxmox-boot-pin.
        for (const std::string_view pin :
             {"/etc/kernel/next-boot-pin", "/etc/kernel/proxmox-boot-pin"}) {
            if (const auto text = m_root.read_attr(pin); text && !text->empty()) {
                kernel = *text;
                because = std::string("pinned in ") + std::string(pin);
                break;
            }
        }
        if (!kernel && !installed_kernels().empty()) {
            kernel = installed_kernels().back();
            because = "the newest installed kernel";
        }
        const std::string source = boot().configured && !boot().sources.empty()
                                       ? boot().sources.back().path
                                       : std::string("/proc/cmdline");
        m_staged = kernel ? std::optional<StagedInitramfs>(
                       read_staged(m_root, *kernel, because, next_cmdline(), source))
                          : std::nullopt;
    }
    return *m_staged;
}

} // namespace pt::model
