// SPDX-License-Identifier: MIT
#pragma once

#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/pci/device.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pt::pci {
struct Topology;
} // namespace pt::pci

namespace pt::rom {

// Reading a device's option ROM through sysfs (ground-truth §7, §9; drivers/pci/pci-sysfs.c
// pci_read_rom / pci_write_rom): write "1" to .../rom, read it, write "0". Reading without the
// enable gives EINVAL; EIO means pci_map_rom() failed or the first image has no 55 AA.

// The three steps of the sequence.
enum class Step { enable, read, disable };

// "enable", "read", "disable".
const char* to_string(Step step);

// A failed step with its errno, so the caller can explain it (explain_failure).
class StepError : public Error {
public:
    StepError(Step step, int err, const std::string& message)
        : Error(message)
        , m_step(step)
        , m_err(err) {}

    Step step() const { return m_step; }

    int err() const { return m_err; }

private:
    Step m_step;
    int m_err;
};

// The three steps, so that run_sequence's guarantees can be tested without a kernel.
class RomPort {
public:
    RomPort() = default;
    RomPort(const RomPort&) = delete;
    RomPort& operator=(const RomPort&) = delete;
    virtual ~RomPort() = default;

    // Each throws StepError (or pt::Error) on failure.
    virtual void enable() = 0;
    virtual std::vector<std::uint8_t> read() = 0;
    virtual void disable() = 0;
};

// Runs enable, read, disable. The disable runs on every path once the enable has been tried
// (a failed enable may still have half-enabled nothing, and "0" is harmless), including when
// the read throws; if the disable then fails too, the thrown error names both. SIGINT, SIGTERM,
// SIGHUP and SIGQUIT are blocked from before the enable until after the disable and then
// unblocked, so a signal that arrives meanwhile takes effect only after the ROM BAR is off
// again (reading a ROM takes milliseconds; SIGKILL still works). `after_enable`, when set, runs
// between enable and read (tests use it to fail or signal midway).
std::vector<std::uint8_t> run_sequence(RomPort& port,
                                       const std::function<void()>& after_enable = {});

// Whether the sequence writes to `rom` (a live sysfs attribute) or only reads it.
enum class Access {
    sysfs,      // enable, read, disable
    plain_file, // a snapshot or fixture copy: read as is; writing "1" would replace its bytes
};

// "sysfs", "plain_file".
const char* to_string(Access access);

// The port over /sys/bus/pci/devices/<address>/rom of a Root. Writes go through
// host::write_attr; the read opens the attribute inside the root (links followed inside it).
// With `writes == when_sysfs` the enable and disable writes happen only when the attribute is
// on sysfs (statfs magic); on any other file system the file is read as it is (a fixture or a
// snapshot holds the ROM bytes there, which a write would replace). `always` is for tests.
class SysfsRomPort : public RomPort {
public:
    enum class Writes { when_sysfs, always };

    SysfsRomPort(host::Root root, std::string rom_path, Writes writes = Writes::when_sysfs);

    void enable() override;
    std::vector<std::uint8_t> read() override;
    void disable() override;

    // Known after enable(): whether the writes happen.
    Access access() const { return m_access; }

private:
    host::Root m_root;
    std::string m_path;
    Writes m_writes;
    Access m_access = Access::sysfs;
};

// What explains a failed dump, read from the device's sysfs directory.
struct DeviceState {
    pci::Device device;
    bool has_rom = false;                   // the `rom` attribute exists (a ROM BAR)
    std::optional<std::string> power_state; // "D0", "D3hot", "D3cold" (power_state, 5.x+)
    std::optional<std::string> enable;      // "0" / "1" (the `enable` attribute)
    bool running_as_root = true;            // effective uid 0 (only matters on a live host)
    bool live = true;                       // the Root is "/"
    bool has_vfct = false; // /sys/firmware/acpi/tables/VFCT exists (AMD's VBIOS for its iGPU)
};

// Reads the state of `device` through `root`.
DeviceState read_state(const host::Root& root, const pci::Device& device);

// The cause and next step for a failed `step` with errno `err` on this device, as one
// lower-case fragment to follow the system's message: EINVAL (the ROM was not enabled), EIO
// with the card as boot VGA (a shadowed ROM), EIO on an idle vfio-pci device (powered down),
// EACCES/EPERM (not root), ENOENT (no ROM BAR: an iGPU, AMD APUs keep theirs in the ACPI VFCT
// table).
std::string explain_failure(Step step, int err, const DeviceState& state);

// Why there is no `rom` attribute for this device (the no-ROM-BAR explanation).
std::string explain_no_rom(const DeviceState& state);

// The one device `selector_text` names among `topology`'s devices: a function, the display
// function of a slot, or the only device with the IDs. Throws pt::UsageError when it names
// none or several (listing them).
const pci::Device& select_device(const pci::Topology& topology, const std::string& selector_text);

// The result of dump_rom.
struct Dump {
    std::vector<std::uint8_t> bytes;
    Access access = Access::sysfs;
    std::string rom_path; // host path of the attribute
};

// Dumps the ROM of `state.device` (sysfs sequence through `root`). Throws pt::Error with the
// explanation (explain_failure / explain_no_rom) when the kernel refuses.
Dump dump_rom(const host::Root& root, const DeviceState& state);

} // namespace pt::rom
