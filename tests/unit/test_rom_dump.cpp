// SPDX-License-Identifier: MIT
#include "pt/host/root.hpp"
#include "pt/host/write.hpp"
#include "pt/pci/topology.hpp"
#include "pt/rom/dump.hpp"
#include "support/catch.hpp"
#include "support/rom_builder.hpp"
#include "support/temp_root.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using pt::rom::Step;
using pt::rom::StepError;

namespace {

// Records the steps; fails the ones it is told to.
class FakePort : public pt::rom::RomPort {
public:
    std::vector<std::string> calls;
    int fail_enable = 0;
    bool enable_throws_other = false; // an exception that is not pt::Error
    int fail_read = 0;
    bool fail_disable = false;
    int log_fd = -1; // when set, each step is also written there (unbuffered: survives a signal)

    void enable() override {
        record("enable");
        if (enable_throws_other) {
            throw std::runtime_error("not a pt::Error");
        }
        if (fail_enable != 0) {
            throw StepError(Step::enable, fail_enable, "cannot write \"1\" to rom");
        }
    }

    std::vector<std::uint8_t> read() override {
        record("read");
        if (fail_read != 0) {
            throw StepError(Step::read, fail_read, "cannot read rom: Input/output error");
        }
        return {0x55, 0xAA};
    }

    void disable() override {
        record("disable");
        if (fail_disable) {
            throw pt::Error("cannot write \"0\" to rom: Device or resource busy");
        }
    }

private:
    void record(const std::string& step) {
        calls.push_back(step);
        if (log_fd >= 0) {
            const std::string line = step + "\n";
            REQUIRE(::write(log_fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
        }
    }
};

std::string slurp(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

pt::rom::DeviceState state_of(const pt::pci::Device& dev) {
    pt::rom::DeviceState state;
    state.device = dev;
    state.has_rom = true;
    state.running_as_root = true;
    state.live = true;
    return state;
}

pt::test::DeviceSpec spec(const std::string& address,
                          const std::string& device = "2204",
                          const std::string& class_code = "030000") {
    pt::test::DeviceSpec s;
    s.address = address;
    s.device = device;
    s.class_code = class_code;
    return s;
}

pt::pci::Device gpu() {
    pt::pci::Device dev;
    dev.address = *pt::pci::parse_address("0000:01:00.0");
    dev.vendor = 0x10de;
    dev.device = 0x2204;
    dev.class_code = 0x030000;
    return dev;
}

} // namespace

TEST_CASE("rom::run_sequence", "[rom][dump]") {
    FakePort port;
    SECTION("enable, read, disable") {
        const auto bytes = pt::rom::run_sequence(port);
        CHECK(bytes == std::vector<std::uint8_t>{0x55, 0xAA});
        CHECK(port.calls == std::vector<std::string>{"enable", "read", "disable"});
    }
    SECTION("a failed read still disables, and keeps its errno") {
        port.fail_read = EIO;
        try {
            pt::rom::run_sequence(port);
            FAIL("no exception");
        } catch (const StepError& e) {
            CHECK(e.step() == Step::read);
            CHECK(e.err() == EIO);
        }
        CHECK(port.calls == std::vector<std::string>{"enable", "read", "disable"});
    }
    SECTION("a failed read and a failed disable: both named") {
        port.fail_read = EINVAL;
        port.fail_disable = true;
        try {
            pt::rom::run_sequence(port);
            FAIL("no exception");
        } catch (const StepError& e) {
            CHECK(e.err() == EINVAL);
            CHECK_THAT(e.what(),
                       Catch::Contains("cannot read rom")
                           && Catch::Contains("and then the ROM could not be disabled again")
                           && Catch::Contains("Device or resource busy"));
        }
    }
    SECTION("a failed enable: disable is tried, the enable's error is the one thrown") {
        port.fail_enable = EACCES;
        port.fail_disable = true;
        try {
            pt::rom::run_sequence(port);
            FAIL("no exception");
        } catch (const StepError& e) {
            CHECK(e.step() == Step::enable);
            CHECK(e.err() == EACCES);
        }
        CHECK(port.calls == std::vector<std::string>{"enable", "disable"});
    }
    SECTION("an enable that throws something other than pt::Error still disables") {
        port.enable_throws_other = true;
        port.fail_disable = true;
        CHECK_THROWS_AS(pt::rom::run_sequence(port), std::runtime_error);
        CHECK(port.calls == std::vector<std::string>{"enable", "disable"});
    }
    SECTION("the stop signals (Ctrl-Z, background tty) are blocked while the ROM is enabled") {
        const auto blocked = [](int sig) {
            sigset_t now;
            sigemptyset(&now);
            REQUIRE(::pthread_sigmask(SIG_BLOCK, nullptr, &now) == 0);
            return sigismember(&now, sig) == 1;
        };
        std::vector<int> during;
        pt::rom::run_sequence(port, [&] {
            for (const int sig : {SIGTSTP, SIGTTIN, SIGTTOU, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) {
                if (blocked(sig)) {
                    during.push_back(sig);
                }
            }
        });
        CHECK(during
              == std::vector<int>{SIGTSTP, SIGTTIN, SIGTTOU, SIGINT, SIGTERM, SIGHUP, SIGQUIT});
        CHECK_FALSE(blocked(SIGTSTP));
        CHECK_FALSE(blocked(SIGTERM));
    }
    SECTION("a failure between enable and read (an exception that is not pt::Error)") {
        CHECK_THROWS_AS(pt::rom::run_sequence(port, [] { throw std::bad_alloc(); }),
                        std::bad_alloc);
        CHECK(port.calls == std::vector<std::string>{"enable", "disable"});
    }
}

TEST_CASE("rom::run_sequence disables before SIGTERM or SIGINT takes effect", "[rom][dump]") {
    for (const int sig : {SIGTERM, SIGINT}) {
        pt::test::TempRoot tmp;
        const auto log = tmp.path() / "log";
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            // Catch2 handles these signals to report them; pt runs with the default actions.
            ::signal(SIGINT, SIG_DFL);
            ::signal(SIGTERM, SIG_DFL);
            const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            FakePort port;
            port.log_fd = fd;
            try {
                pt::rom::run_sequence(port, [sig] { ::kill(::getpid(), sig); });
            } catch (...) {
                ::_exit(10);
            }
            // Reached only if the signal did not end the process once unblocked.
            (void)::write(fd, "returned\n", 9);
            ::_exit(0);
        }
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        CHECK(WIFSIGNALED(status));
        CHECK(WTERMSIG(status) == sig);
        CHECK(slurp(log) == "enable\nread\ndisable\n");
    }
}

TEST_CASE("rom::SysfsRomPort through a Root", "[rom][dump]") {
    pt::test::TempRoot tmp;
    const auto dir = tmp.add_device(spec("0000:01:00.0"));
    const std::string rom = dir + "/rom";
    const auto bytes = pt::test::build_rom_kind("legacy+efi", 0x10de, 0x2204);
    tmp.write(rom, std::string(bytes.begin(), bytes.end()));
    const pt::host::Root root(tmp.path());
    const std::string bus_rom = "/sys/bus/pci/devices/0000:01:00.0/rom";

    SECTION("a plain file (fixture, snapshot): read as is, no writes") {
        pt::rom::SysfsRomPort port(root, bus_rom);
        CHECK(pt::rom::run_sequence(port) == bytes);
        CHECK(port.access() == pt::rom::Access::plain_file);
        CHECK(slurp(tmp.host(rom)) == std::string(bytes.begin(), bytes.end()));
    }
    SECTION("the writes, in order, through host::write_attr") {
        pt::rom::SysfsRomPort port(root, bus_rom, pt::rom::SysfsRomPort::Writes::always);
        // On a regular file the enable write leaves "1", which the read then returns: the
        // read came after the enable, and the disable after the read.
        const auto got = pt::rom::run_sequence(port);
        CHECK(std::string(got.begin(), got.end()) == "1");
        CHECK(port.access() == pt::rom::Access::sysfs);
        CHECK(slurp(tmp.host(rom)) == "0");
    }
    SECTION("a failing enable write (EIO) is reported; the disable still runs") {
        pt::host::fail_next_write_to(bus_rom, EIO);
        pt::rom::SysfsRomPort port(root, bus_rom, pt::rom::SysfsRomPort::Writes::always);
        CHECK_THROWS_WITH(pt::rom::run_sequence(port),
                          Catch::Contains("cannot write \"1\"")
                              && Catch::Contains("Input/output error"));
        pt::host::fail_next_write_to("", 0);
        CHECK(slurp(tmp.host(rom)) == "0");
    }
    SECTION("a failing disable write is an error, not a silent success") {
        pt::rom::SysfsRomPort port(root, bus_rom, pt::rom::SysfsRomPort::Writes::always);
        CHECK_THROWS_WITH(
            pt::rom::run_sequence(port, [&] { pt::host::fail_next_write_to(bus_rom, EBUSY); }),
            Catch::Contains("cannot write \"0\""));
        pt::host::fail_next_write_to("", 0);
    }
    SECTION("dump_rom on a device without rom, and with a rom directory") {
        auto dev = pt::pci::read_device(root, *pt::pci::parse_address("0000:01:00.0"));
        REQUIRE(dev);
        auto state = pt::rom::read_state(root, *dev);
        CHECK(state.has_rom);
        CHECK(state.enable == std::optional<std::string>());
        const auto dump = pt::rom::dump_rom(root, state);
        CHECK(dump.bytes == bytes);
        CHECK(dump.access == pt::rom::Access::plain_file);
        CHECK(dump.rom_path == bus_rom);

        std::filesystem::remove(tmp.host(rom));
        state = pt::rom::read_state(root, *dev);
        CHECK_FALSE(state.has_rom);
        CHECK_THROWS_WITH(pt::rom::dump_rom(root, state), Catch::Contains("has no rom attribute"));

        tmp.mkdir(rom);
        state = pt::rom::read_state(root, *dev);
        CHECK_THROWS_WITH(pt::rom::dump_rom(root, state),
                          Catch::Contains("Is a directory") && Catch::Contains("not a sysfs copy"));
    }
}

TEST_CASE("rom::explain_failure", "[rom][dump]") {
    auto state = state_of(gpu());
    SECTION("EINVAL: not enabled") {
        CHECK_THAT(pt::rom::explain_failure(Step::read, EINVAL, state),
                   Catch::Contains("was not enabled"));
    }
    SECTION("EIO on the boot VGA: the shadow copy") {
        state.device.boot_vga = true;
        CHECK_THAT(pt::rom::explain_failure(Step::read, EIO, state),
                   Catch::Contains("is the boot VGA") && Catch::Contains("shadow copy at 0xc0000"));
    }
    SECTION("EIO on an idle vfio-pci card") {
        state.device.driver = "vfio-pci";
        state.power_state = "D3cold";
        const auto text = pt::rom::explain_failure(Step::read, EIO, state);
        CHECK_THAT(text,
                   Catch::Contains("bound to vfio-pci and idle, so it is powered down (power_state "
                                   "D3cold)")
                       && Catch::Contains("while a VM uses it")
                       && Catch::Contains("echo 1 > /sys/bus/pci/devices/0000:01:00.0/enable"));
        state.power_state.reset();
        CHECK_THAT(pt::rom::explain_failure(Step::read, EIO, state),
                   Catch::Contains("probably powered down (power_state unknown)"));
    }
    SECTION("EIO without a driver and memory decoding off") {
        state.enable = "0";
        CHECK_THAT(pt::rom::explain_failure(Step::read, EIO, state),
                   Catch::Contains("is not decoding memory (enable 0"));
    }
    SECTION("EIO otherwise: no 55 AA") {
        CHECK_THAT(pt::rom::explain_failure(Step::read, EIO, state),
                   Catch::Contains("Invalid PCI ROM header signature"));
    }
    SECTION("not root on the live host") {
        state.running_as_root = false;
        CHECK_THAT(pt::rom::explain_failure(Step::enable, EACCES, state),
                   Catch::Contains("must run as root"));
    }
    SECTION("no rom attribute: an AMD APU and its VFCT table") {
        state.device.vendor = 0x1002;
        state.device.device = 0x1636;
        state.has_rom = false;
        state.has_vfct = true;
        CHECK_THAT(pt::rom::explain_failure(Step::enable, ENOENT, state),
                   Catch::Contains("integrated GPU")
                       && Catch::Contains("ACPI VFCT table, which "
                                          "this host has"));
    }
}

TEST_CASE("rom::select_device", "[rom][dump]") {
    pt::test::TempRoot tmp;
    tmp.add_device(spec("0000:01:00.0"));
    tmp.add_device(spec("0000:01:00.1", "1aef", "040300"));
    tmp.add_device(spec("0000:02:00.0"));
    const pt::host::Root root(tmp.path());
    const auto topology = pt::pci::scan(root, nullptr);
    CHECK(pt::pci::format(pt::rom::select_device(topology, "01:00").address) == "0000:01:00.0");
    CHECK(pt::pci::format(pt::rom::select_device(topology, "02:00.0").address) == "0000:02:00.0");
    CHECK_THROWS_AS(pt::rom::select_device(topology, "10de:2204"), pt::UsageError);
    CHECK_THROWS_WITH(pt::rom::select_device(topology, "10de:2204"),
                      Catch::Contains("matches 2 devices (0000:01:00.0, 0000:02:00.0)"));
    CHECK_THROWS_WITH(pt::rom::select_device(topology, "05:00.0"),
                      Catch::Contains("matches no PCI device"));
}
