// SPDX-License-Identifier: MIT
#include "pt/pci/names.hpp"

#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/pci/device.hpp"
#include "pt/pci/ids_subset.hpp"

#include <fmt/format.h>

// libpci's header has no extern "C" guard of its own.
extern "C" {
#include <pci/pci.h>
}

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csetjmp>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <set>

namespace pt::pci {
namespace {

// The same path as k_system_ids, read under the root.
constexpr const char* k_ids_path = k_system_ids;

// libpci reports a malformed pci.ids through its error hook, which must not return
// (lib/pci.h: PCI_NONRET; the default calls exit(1)). pt jumps back to the lookup that started
// the parse instead, and turns the failure into "names unavailable". Only C frames of libpci lie
// between the setjmp and the longjmp, so no C++ destructor is skipped.
thread_local std::jmp_buf* g_error_jump = nullptr;
thread_local char g_error_text[512];

// libpci's hook type carries GNU noreturn, so the attribute must be the GNU one to match.
__attribute__((noreturn)) void on_error(char* msg, ...) {
    va_list args; // NOLINT(cppcoreguidelines-init-variables): filled by va_start
    va_start(args, msg);
    static_cast<void>(std::vsnprintf(g_error_text, sizeof g_error_text, msg, args));
    va_end(args);
    if (g_error_jump != nullptr) {
        std::longjmp(*g_error_jump, 1);
    }
    static_cast<void>(std::fprintf(stderr, "pt: error: libpci: %s\n", g_error_text));
    std::_Exit(1);
}

void on_warning(char*, ...) {}

} // namespace

struct NameDb::Impl {
    pci_access* access = nullptr;
    std::string ids_file;    // the pci.ids named in messages
    host::MappedFile ids;    // its contents, mapped once (through the root for the root's own)
    std::string handed_path; // what libpci opens: the memfd holding the subset
    std::vector<unsigned> line_numbers;
    std::string failure; // why the subset could not be handed over, when it could not
    int subset_fd = -1;
    bool loaded = false;
    bool broken = false;

    ~Impl() {
        // Also after a longjmp out of the parser: the entries inserted so far form a consistent
        // table that pci_cleanup frees. Only the FILE that pci_load_name_list had open is lost
        // (see the LSan suppression in scripts/lsan.supp).
        if (access != nullptr) {
            pci_cleanup(access);
        }
        if (subset_fd >= 0) {
            ::close(subset_fd);
        }
    }

    // Hands libpci `subset` of pci.ids in a memfd it opens through /proc/self/fd. Parsing is most
    // of what naming costs: libpci inserts every line it is given into its hash table, about
    // 36,000 for Debian's pci.ids, where one host's devices need a few hundred. And libpci opens
    // its name list by path, which under the root could be swapped for a link out of it between
    // pt's read and libpci's open.
    void load(IdsSubset subset) {
        loaded = true;
        line_numbers = std::move(subset.line_numbers);
        subset_fd = ::memfd_create("pt-pci.ids", MFD_CLOEXEC);
        if (subset_fd < 0 || !write_all(subset_fd, subset.text)) {
            failure = fmt::format("cannot hand it to libpci ({})", std::strerror(errno));
            broken = true;
            return;
        }
        handed_path = fmt::format("/proc/self/fd/{}", subset_fd);
        if (::access(handed_path.c_str(), R_OK) != 0) {
            failure = fmt::format("cannot hand it to libpci: {} cannot be opened ({}; is /proc "
                                  "mounted?)",
                                  handed_path,
                                  std::strerror(errno));
            broken = true;
            return;
        }
        ids = host::MappedFile(); // libpci parses once; the text is not needed again
        access = pci_alloc();
        access->error = on_error;
        access->warning = on_warning;
        access->debug = on_warning;
        // The default mode, PCI_LOOKUP_CACHE, reads ~/.pciids-cache of whoever runs pt.
        access->id_lookup_mode = PCI_LOOKUP_NO_HWDB;
        pci_set_name_list_path(access, handed_path.data(), 0);
    }

    static bool write_all(int fd, std::string_view bytes) {
        while (!bytes.empty()) {
            const auto written = ::write(fd, bytes.data(), bytes.size());
            if (written < 0 && errno == EINTR) {
                continue;
            }
            if (written <= 0) {
                return false;
            }
            bytes.remove_prefix(static_cast<std::size_t>(written));
        }
        return true;
    }

    // libpci's "Parse error at /proc/self/fd/N, line L" as "Parse error at line L", L the line
    // of the real file (the message names the file already).
    std::string reason(std::string_view text) const {
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
            text.remove_suffix(1);
        }
        const std::string where = fmt::format(" at {}, line ", handed_path);
        const auto at = text.find(where);
        if (at == std::string_view::npos) {
            return std::string(text);
        }
        unsigned line = 0;
        const auto digits = text.substr(at + where.size());
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), line);
        if (ec != std::errc() || line == 0 || line > line_numbers.size()) {
            return std::string(text.substr(0, at));
        }
        return fmt::format("{} at line {}", text.substr(0, at), line_numbers[line - 1]);
    }

    // Plain C types only: this frame holds the setjmp target.
    bool lookup(char* buf, int size, int flags, unsigned a, unsigned b, unsigned c, unsigned d) {
        if (!loaded) {
            load(reduce_ids(ids.text(), nullptr));
        }
        if (broken) {
            return false;
        }
        std::jmp_buf jump;
        g_error_jump = &jump;
        if (setjmp(jump) != 0) {
            g_error_jump = nullptr;
            broken = true;
            return false;
        }
        const char* found = pci_lookup_name(
            access, buf, size, flags | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB, a, b, c, d);
        g_error_jump = nullptr;
        return found != nullptr;
    }
};

NameDb::NameDb(const host::Root& root,
               bool enabled,
               const std::optional<std::filesystem::path>& fallback) {
    if (!enabled) {
        return;
    }
    auto path = root.map(k_ids_path);
    std::optional<host::MappedFile> ids;
    try {
        ids = root.map_file(k_ids_path);
        if (!ids && fallback && !root.is_live()) {
            // The machine pt runs on, outside the root on purpose (see names.hpp).
            ids = host::Root("/").map_file(fallback->string());
            if (ids) {
                m_note = fmt::format("{} does not exist; names come from this machine's {}",
                                     path.string(),
                                     fallback->string());
                path = *fallback;
            }
        }
    } catch (const Error& e) {
        m_problem = fmt::format("{}, so devices are shown without names", e.what());
        return;
    }
    if (!ids) {
        m_problem = fmt::format("{} does not exist, so devices are shown without names "
                                "(install the pci.ids package, or copy it into the root)",
                                path.string());
        return;
    }
    m_impl = std::make_unique<Impl>();
    m_impl->ids_file = path.string();
    m_impl->ids = std::move(*ids);
}

NameDb::~NameDb() = default;

void NameDb::name_all(std::vector<Device>& devices) {
    if (!m_impl) {
        return;
    }
    if (!m_impl->loaded) {
        IdsWanted wanted;
        for (const auto& dev : devices) {
            wanted.vendors.insert(dev.vendor);
            const std::uint32_t device = (std::uint32_t{dev.vendor} << 16U) | dev.device;
            wanted.devices.insert(device);
            if (dev.subsystem_vendor && dev.subsystem_device) {
                wanted.vendors.insert(*dev.subsystem_vendor);
                wanted.subsystems.insert((std::uint64_t{device} << 32U)
                                         | (std::uint64_t{*dev.subsystem_vendor} << 16U)
                                         | *dev.subsystem_device);
            }
        }
        m_impl->load(reduce_ids(m_impl->ids.text(), wanted));
    }
    for (auto& dev : devices) {
        name(dev);
    }
}

std::optional<std::string>
NameDb::lookup(int flags, unsigned a, unsigned b, unsigned c, unsigned d) {
    if (!m_impl) {
        return std::nullopt;
    }
    char buf[1024];
    const bool found = m_impl->lookup(buf, sizeof buf, flags, a, b, c, d);
    if (m_impl->broken && !m_problem) {
        m_problem =
            m_impl->failure.empty()
                ? fmt::format("{} cannot be parsed ({}), so devices are shown without names",
                              m_impl->ids_file,
                              m_impl->reason(g_error_text))
                : fmt::format("{}: {}, so devices are shown without names",
                              m_impl->ids_file,
                              m_impl->failure);
    }
    return found ? std::optional<std::string>(buf) : std::nullopt;
}

std::optional<std::string> NameDb::vendor(std::uint16_t vendor) {
    return lookup(PCI_LOOKUP_VENDOR, vendor, 0, 0, 0);
}

std::optional<std::string> NameDb::device(std::uint16_t vendor, std::uint16_t device) {
    return lookup(PCI_LOOKUP_DEVICE, vendor, device, 0, 0);
}

std::optional<std::string> NameDb::subsystem(std::uint16_t vendor,
                                             std::uint16_t device,
                                             std::uint16_t subsystem_vendor,
                                             std::uint16_t subsystem_device) {
    if (auto name = lookup(PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE,
                           vendor,
                           device,
                           subsystem_vendor,
                           subsystem_device)) {
        return name;
    }
    // No subsystem entry: lspci then prints the subsystem vendor and the numeric ID.
    if (auto maker = this->vendor(subsystem_vendor)) {
        return fmt::format("{} Device {:04x}", *maker, subsystem_device);
    }
    return std::nullopt;
}

std::optional<std::string> NameDb::class_name(std::uint32_t class_code) {
    auto name = lookup(PCI_LOOKUP_CLASS, class_code >> 8U, 0, 0, 0);
    // For a subclass pci.ids does not list, libpci answers "<base class name> [0c80]"; the
    // number is shown beside the name anyway.
    const std::string suffix = fmt::format(" [{:04x}]", class_code >> 8U);
    if (name && name->ends_with(suffix)) {
        name->resize(name->size() - suffix.size());
    }
    return name;
}

void NameDb::name(Device& dev) {
    if (!m_impl) {
        return;
    }
    dev.names.vendor = vendor(dev.vendor);
    dev.names.device = device(dev.vendor, dev.device);
    dev.names.class_name = class_name(dev.class_code);
    if (dev.subsystem_vendor && dev.subsystem_device) {
        dev.names.subsystem =
            subsystem(dev.vendor, dev.device, *dev.subsystem_vendor, *dev.subsystem_device);
    }
}

} // namespace pt::pci
