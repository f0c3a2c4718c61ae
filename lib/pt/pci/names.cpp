// SPDX-License-Identifier: MIT
#include "pt/pci/names.hpp"

#include "pt/host/root.hpp"
#include "pt/pci/device.hpp"

#include <fmt/format.h>

// libpci's header has no extern "C" guard of its own.
extern "C" {
#include <pci/pci.h>
}

#include <csetjmp>
#include <cstdarg>
#include <cstdio>

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
    std::string ids_file;
    bool broken = false;

    // Plain C types only: this frame holds the setjmp target.
    bool lookup(char* buf, int size, int flags, unsigned a, unsigned b, unsigned c, unsigned d) {
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
    if (!root.exists(k_ids_path)) {
        std::error_code ec;
        if (!fallback || root.is_live() || !std::filesystem::is_regular_file(*fallback, ec)) {
            m_problem = fmt::format("{} does not exist, so devices are shown without names "
                                    "(install the pci.ids package, or copy it into the root)",
                                    path.string());
            return;
        }
        m_note = fmt::format("{} does not exist; names come from this machine's {}",
                             path.string(),
                             fallback->string());
        path = *fallback;
    }
    m_impl = std::make_unique<Impl>();
    m_impl->ids_file = path.string();
    m_impl->access = pci_alloc();
    m_impl->access->error = on_error;
    m_impl->access->warning = on_warning;
    m_impl->access->debug = on_warning;
    // The default mode, PCI_LOOKUP_CACHE, reads ~/.pciids-cache of whoever runs pt.
    m_impl->access->id_lookup_mode = PCI_LOOKUP_NO_HWDB;
    pci_set_name_list_path(m_impl->access, m_impl->ids_file.data(), 0);
}

NameDb::~NameDb() {
    // Also after a longjmp out of the parser: the entries inserted so far form a consistent
    // table that pci_cleanup frees. Only the FILE that pci_load_name_list had open is lost
    // (see the LSan suppression in scripts/lsan.supp).
    if (m_impl && m_impl->access != nullptr) {
        pci_cleanup(m_impl->access);
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
        std::string_view reason = g_error_text;
        while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) {
            reason.remove_suffix(1);
        }
        m_problem = fmt::format("{} cannot be parsed ({}), so devices are shown without names",
                                m_impl->ids_file,
                                reason);
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
