// SPDX-License-Identifier: MIT
#include "pt/rom/dump.hpp"

#include "pt/host/fd.hpp"
#include "pt/host/write.hpp"
#include "pt/pci/address.hpp"
#include "pt/pci/selector.hpp"
#include "pt/pci/topology.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

namespace pt::rom {
namespace {

// SYSFS_MAGIC from <linux/magic.h>.
constexpr long k_sysfs_magic = 0x62656572;
// The largest ROM BAR is 16 MiB (PCI: bits 31..11 of the expansion ROM BAR, in practice far
// less); refuse to read more so that a wrong file cannot eat memory.
constexpr std::size_t k_max_rom = 64 * 1024 * 1024;

// Blocks the signals that end or stop pt from the keyboard or a service manager while the ROM
// BAR is enabled (Ctrl-Z must not leave it enabled while pt is stopped; only SIGSTOP and SIGKILL
// cannot be blocked); the destructor restores the old mask, which delivers any pending one.
class BlockSignals {
public:
    BlockSignals() {
        sigset_t set;
        sigemptyset(&set);
        for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU}) {
            sigaddset(&set, sig);
        }
        pthread_sigmask(SIG_BLOCK, &set, &m_old);
    }

    BlockSignals(const BlockSignals&) = delete;
    BlockSignals& operator=(const BlockSignals&) = delete;

    ~BlockSignals() { pthread_sigmask(SIG_SETMASK, &m_old, nullptr); }

private:
    sigset_t m_old{};
};

std::string device_dir(const pci::Device& dev) {
    return "/sys/bus/pci/devices/" + pci::format(dev.address);
}

} // namespace

const char* to_string(Step step) {
    switch (step) {
    case Step::enable:
        return "enable";
    case Step::read:
        return "read";
    case Step::disable:
        return "disable";
    }
    return "?";
}

const char* to_string(Access access) {
    return access == Access::sysfs ? "sysfs" : "plain_file";
}

std::vector<std::uint8_t> run_sequence(RomPort& port, const std::function<void()>& after_enable) {
    const BlockSignals blocked;
    try {
        port.enable();
    } catch (...) {
        // Whatever the enable left behind (whatever it threw), "0" turns it off; its own
        // failure would only repeat the enable's cause (EACCES, ENOENT), which is the error to
        // show.
        try {
            port.disable();
        } catch (...) { // NOLINT(bugprone-empty-catch): see above
        }
        throw;
    }
    std::vector<std::uint8_t> bytes;
    try {
        if (after_enable) {
            after_enable();
        }
        bytes = port.read();
    } catch (...) {
        const std::exception_ptr read_failure = std::current_exception();
        try {
            port.disable();
        } catch (const Error& disable_error) {
            // Both failed: keep the read's step and errno (they explain it), name both.
            try {
                std::rethrow_exception(read_failure);
            } catch (const StepError& e) {
                throw StepError(e.step(),
                                e.err(),
                                fmt::format("{}; and then the ROM could not be disabled again: {}",
                                            e.what(),
                                            disable_error.what()));
            } catch (const std::exception& e) {
                throw Error(fmt::format("{}; and then the ROM could not be disabled again: {}",
                                        e.what(),
                                        disable_error.what()));
            }
        }
        throw;
    }
    port.disable();
    return bytes;
}

SysfsRomPort::SysfsRomPort(host::Root root, std::string rom_path, Writes writes)
    : m_root(std::move(root))
    , m_path(std::move(rom_path))
    , m_writes(writes) {}

void SysfsRomPort::enable() {
    m_access = Access::sysfs;
    if (m_writes == Writes::when_sysfs) {
        // Nothing is written (and disable() writes no "0") until statfs says this is sysfs.
        m_access = Access::plain_file;
        const auto resolved = m_root.resolve(m_path);
        if (!resolved) {
            throw StepError(Step::enable,
                            ENOENT,
                            fmt::format("{} does not exist", m_root.map(m_path).string()));
        }

        struct statfs fs {};

        if (::statfs(m_root.map(*resolved).c_str(), &fs) != 0) {
            const int err = errno;
            throw StepError(Step::enable,
                            err,
                            fmt::format("cannot tell whether {} is on sysfs: {}",
                                        m_root.map(m_path).string(),
                                        std::strerror(err)));
        }
        if (fs.f_type != k_sysfs_magic) {
            return;
        }
        m_access = Access::sysfs;
    }
    // Any write other than "0" enables the ROM BAR (pci_write_rom).
    host::write_attr(m_root, m_path, "1");
}

std::vector<std::uint8_t> SysfsRomPort::read() {
    const auto shown = m_root.map(m_path).string();
    const auto fail = [&](int err) {
        throw StepError(
            Step::read, err, fmt::format("cannot read {}: {}", shown, std::strerror(err)));
    };
    const auto resolved = m_root.resolve(m_path);
    if (!resolved) {
        fail(ENOENT);
    }
    const host::Fd fd(::open(m_root.map(*resolved).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) {
        fail(errno);
    }
    std::vector<std::uint8_t> bytes;
    std::vector<std::uint8_t> chunk(64 * 1024);
    for (;;) {
        const ssize_t n = ::read(fd.get(), chunk.data(), chunk.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail(errno);
        }
        if (n == 0) {
            break;
        }
        bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + n);
        if (bytes.size() > k_max_rom) {
            throw StepError(Step::read,
                            EFBIG,
                            fmt::format("cannot read {}: it is larger than {} MiB, no ROM is",
                                        shown,
                                        k_max_rom >> 20));
        }
    }
    return bytes;
}

void SysfsRomPort::disable() {
    if (m_access == Access::plain_file) {
        return;
    }
    host::write_attr(m_root, m_path, "0");
}

DeviceState read_state(const host::Root& root, const pci::Device& device) {
    DeviceState state;
    state.device = device;
    const auto dir = device_dir(device);
    state.has_rom = root.exists(host::join(dir, "rom"));
    state.power_state = root.read_attr(host::join(dir, "power_state"));
    state.enable = root.read_attr(host::join(dir, "enable"));
    state.running_as_root = ::geteuid() == 0;
    state.live = root.is_live();
    state.has_vfct = root.exists("/sys/firmware/acpi/tables/VFCT");
    return state;
}

std::string explain_no_rom(const DeviceState& state) {
    const auto& dev = state.device;
    std::string text =
        fmt::format("{} has no rom attribute, so it has no ROM BAR and there is nothing to dump",
                    pci::format(dev.address));
    if (dev.is_display()) {
        // Integrated GPUs (Intel at 00:02.0, AMD APUs) have no ROM BAR: their video BIOS is
        // part of the system firmware; AMD publishes it in the ACPI VFCT table.
        text += ": an integrated GPU keeps its video BIOS in the system firmware";
        if (dev.vendor == 0x1002) {
            text += state.has_vfct ? " (AMD APUs: the ACPI VFCT table, which this host has at "
                                     "/sys/firmware/acpi/tables/VFCT)"
                                   : " (AMD APUs: the ACPI VFCT table)";
        }
        text += "; pass it through without a romfile, or extract the VBIOS from the firmware "
                "or the VFCT table";
    } else {
        text += ": use the vendor's ROM file, or dump the card in another machine";
    }
    return text;
}

std::string explain_failure(Step step, int err, const DeviceState& state) {
    const auto& dev = state.device;
    const std::string addr = pci::format(dev.address);
    const std::string dir = device_dir(dev);
    if (state.live && !state.running_as_root) {
        return "pt rom-dump must run as root: rom is mode 0600 and only root may enable it";
    }
    if (err == EACCES || err == EPERM) {
        return "access to rom was refused: run pt rom-dump as root";
    }
    if (err == ENOENT || !state.has_rom) {
        return explain_no_rom(state);
    }
    if (err == ENODEV) {
        return fmt::format("{} is gone (removed or powered off): check lspci -s {}", addr, addr);
    }
    if (step == Step::read && err == EINVAL) {
        return "the ROM was not enabled when it was read (the kernel needs \"1\" written to rom "
               "first; something wrote \"0\" in between): run pt rom-dump again, with nothing "
               "else reading the ROM";
    }
    if (step == Step::read && err == EIO) {
        if (dev.boot_vga.value_or(false)) {
            return fmt::format(
                "{} is the boot VGA, so the kernel reads the shadow copy at 0xc0000, which a "
                "UEFI boot leaves missing or invalid: dump it while another GPU is the primary "
                "display (firmware setup or another slot), or use the vendor's ROM file",
                addr);
        }
        const bool powered_down = (state.power_state && state.power_state->starts_with("D3"))
                                  || state.enable == std::optional<std::string>("0");
        if (dev.driver == std::optional<std::string>("vfio-pci")) {
            return fmt::format(
                "{} is bound to vfio-pci and idle, so it is {}powered down (power_state {}) "
                "and its ROM cannot be read: try again while a VM uses it, or after "
                "`echo 1 > {}/enable`",
                addr,
                powered_down ? "" : "probably ",
                state.power_state.value_or("unknown"),
                dir);
        }
        if (powered_down) {
            return fmt::format("{} is not decoding memory (enable {}, power_state {}): "
                               "`echo 1 > {}/enable` and try again",
                               addr,
                               state.enable.value_or("unknown"),
                               state.power_state.value_or("unknown"),
                               dir);
        }
        return "the kernel could not map the ROM or found no 55 AA at its start (dmesg says "
               "\"Invalid PCI ROM header signature\"; some cards, e.g. AMD Navi, hide their ROM "
               "and read as ff ff): dump from a card that is not the boot VGA with no VM using "
               "it, or use the vendor's ROM file";
    }
    if (err == EISDIR) {
        return "rom is a directory here, not the kernel's attribute: the tree under --root is "
               "not a sysfs copy";
    }
    return fmt::format(
        "the {} step failed: see dmesg for what the kernel says about {}", to_string(step), addr);
}

const pci::Device& select_device(const pci::Topology& topology, const std::string& selector_text) {
    const pci::Selector sel = pci::parse_selector(selector_text);
    std::vector<const pci::Device*> matched;
    for (const auto& dev : topology.devices) {
        if (sel.matches(dev)) {
            matched.push_back(&dev);
        }
    }
    if (matched.size() > 1) {
        // A slot: the GPU, not its audio function.
        std::vector<const pci::Device*> display;
        for (const auto* dev : matched) {
            if (dev->is_display()) {
                display.push_back(dev);
            }
        }
        if (display.size() == 1) {
            return *display.front();
        }
    }
    if (matched.empty()) {
        throw UsageError(
            fmt::format("{} matches no PCI device: list them with pt iommu-groups", selector_text));
    }
    if (matched.size() > 1) {
        std::string names;
        for (const auto* dev : matched) {
            names += (names.empty() ? "" : ", ") + pci::format(dev->address);
        }
        throw UsageError(fmt::format("{} matches {} devices ({}): name one by its address",
                                     selector_text,
                                     matched.size(),
                                     names));
    }
    return *matched.front();
}

Dump dump_rom(const host::Root& root, const DeviceState& state) {
    Dump dump;
    dump.rom_path = host::join(device_dir(state.device), "rom");
    if (!state.has_rom) {
        throw Error(explain_no_rom(state));
    }
    SysfsRomPort port(root, dump.rom_path);
    try {
        dump.bytes = run_sequence(port);
    } catch (const StepError& e) {
        throw Error(fmt::format("{}: {}", e.what(), explain_failure(e.step(), e.err(), state)));
    } catch (const Error& e) {
        // host::write_attr's own errors (the enable or disable write) carry the system's reason.
        if (state.live && !state.running_as_root) {
            throw Error(
                fmt::format("{}: {}", e.what(), explain_failure(Step::enable, EACCES, state)));
        }
        throw;
    }
    dump.access = port.access();
    return dump;
}

} // namespace pt::rom
