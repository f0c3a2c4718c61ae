// SPDX-License-Identifier: MIT
#include "pt/driver/bind.hpp"
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/topology.hpp"
#include "support/catch.hpp"
#include "support/devices.hpp"
#include "support/temp_root.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

using pt::driver::BindRequest;
using pt::driver::UnbindRequest;
using pt::test::addr;
using pt::test::DeviceSpec;
using pt::test::formatted;
using pt::test::TempRoot;

namespace {

DeviceSpec spec(const char* address,
                const char* vendor,
                const char* device,
                const char* class_code,
                std::optional<std::string> driver,
                std::optional<int> group,
                std::optional<std::string> parent = std::nullopt) {
    DeviceSpec out;
    out.address = address;
    out.vendor = vendor;
    out.device = device;
    out.class_code = class_code;
    out.driver = std::move(driver);
    out.iommu_group = group;
    out.parent = std::move(parent);
    return out;
}

// Two GPUs with their audio functions, each behind its own root port; an iGPU for the host; a
// USB controller; kernel 6.8.
struct Host {
    TempRoot root;

    explicit Host(bool identical = false, const char* release = "6.8.12-4-pve") {
        root.add_device(spec("0000:00:01.0", "8086", "1901", "060400", "pcieport", 1));
        root.add_device(spec("0000:00:01.1", "8086", "1905", "060400", "pcieport", 2));
        root.add_device(spec("0000:00:02.0", "8086", "3e92", "030000", "i915", 3));
        root.add_device(spec("0000:00:14.0", "8086", "a2af", "0c0330", "xhci_hcd", 4));
        root.add_device(
            spec("0000:01:00.0", "10de", "2504", "030000", "nvidia", 1, "0000:00:01.0"));
        root.add_device(
            spec("0000:01:00.1", "10de", "228e", "040300", "snd_hda_intel", 1, "0000:00:01.0"));
        const char* id = identical ? "2504" : "2204";
        const char* audio = identical ? "228e" : "1aef";
        root.add_device(spec("0000:02:00.0", "10de", id, "030000", "nouveau", 2, "0000:00:01.1"));
        root.add_device(
            spec("0000:02:00.1", "10de", audio, "040300", "snd_hda_intel", 2, "0000:00:01.1"));
        root.mkdir("/sys/bus/pci/drivers/vfio-pci");
        root.write("/proc/sys/kernel/osrelease", std::string(release) + "\n");
        root.write("/etc/modules", "# /etc/modules\nloop\n");
        root.write("/etc/initramfs-tools/modules", "# List of modules\n");
    }

    pt::host::Root host_root() const { return pt::host::Root(root.path()); }

    pt::edit::Plan
    bind(const char* sel, bool include_group = false, bool force = false, bool now = false) const {
        BindRequest request;
        // "02:00 03:00": several selectors, as pt bind takes them.
        std::string_view rest = sel;
        while (!rest.empty()) {
            const auto space = std::min(rest.find(' '), rest.size());
            request.selectors.push_back(pt::pci::parse_selector(rest.substr(0, space)));
            rest.remove_prefix(std::min(space + 1, rest.size()));
        }
        request.include_group = include_group;
        request.force = force;
        request.now = now;
        request.time = 1000;
        return pt::driver::plan_bind(pt::model::Host(host_root()), request);
    }

    pt::edit::Plan unbind(const char* sel, bool now = false) const {
        UnbindRequest request;
        request.selector = pt::pci::parse_selector(sel);
        request.now = now;
        request.time = 1000;
        return pt::driver::plan_unbind(pt::model::Host(host_root()), request);
    }

    // What edit::apply does with the files, without the journal.
    void apply_files(const pt::edit::Plan& plan) const {
        for (const auto& file : plan.files) {
            if (file.after) {
                root.write(file.path, *file.after);
            } else {
                std::filesystem::remove(root.host(file.path));
            }
        }
    }

    std::string read(const std::string& path) const {
        return pt::host::Root(root.path()).read_file(path);
    }
};

const pt::edit::FileEdit* find_file(const pt::edit::Plan& plan, std::string_view path) {
    for (const auto& file : plan.files) {
        if (file.path == path) {
            return &file;
        }
    }
    return nullptr;
}

bool has_note(const pt::edit::Plan& plan, std::string_view text) {
    for (const auto& note : plan.notes) {
        if (note.find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

std::string error_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const pt::Error& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST_CASE("driver::render_vfio_conf and parse_vfio_conf", "[driver][bind]") {
    const auto text =
        pt::driver::render_vfio_conf({"10de:2204", "10de:1aef"}, {"nvidia", "nouveau"}, false);
    CHECK(text.find("options vfio-pci ids=10de:1aef,10de:2204\n") != std::string::npos);
    CHECK(text.find("softdep nouveau pre: vfio-pci\nsoftdep nvidia pre: vfio-pci\n")
          != std::string::npos);
    CHECK(text.find("init-top") == std::string::npos);

    const auto parsed = pt::driver::parse_vfio_conf(text, "/etc/modprobe.d/pt-vfio.conf");
    CHECK(parsed.ids == std::vector<std::string>{"10de:1aef", "10de:2204"});
    CHECK(parsed.softdeps == std::vector<std::string>{"nouveau", "nvidia"});

    SECTION("no ids: only softdeps, and the hook is named") {
        const auto hooked = pt::driver::render_vfio_conf({}, {"nvidia"}, true);
        CHECK(hooked.find("options") == std::string::npos);
        CHECK(hooked.find("/etc/initramfs-tools/scripts/init-top/pt-vfio") != std::string::npos);
    }
    SECTION("a line pt does not write is refused, naming it") {
        const auto message = error_of([] {
            pt::driver::parse_vfio_conf("options vfio-pci ids=10de:2204 disable_vga=1\n", "F");
        });
        CHECK(message.find("F line 1") != std::string::npos);
        CHECK(error_of([] {
                  pt::driver::parse_vfio_conf("blacklist nouveau\n", "F");
              }).find("not a line pt writes")
              != std::string::npos);
    }
}

TEST_CASE("driver::render_hook and parse_hook", "[driver][bind]") {
    const auto text = pt::driver::render_hook({addr("0000:02:00.1"), addr("0000:02:00.0")});
    CHECK(text.starts_with("#!/bin/sh\n"));
    CHECK(text.find("PREREQ=\"\"\nprereqs()\n{\n\techo \"$PREREQ\"\n}\n") != std::string::npos);
    CHECK(text.find("prereqs)\n\tprereqs\n\texit 0\n") != std::string::npos);
    CHECK(text.find("for dev in 0000:02:00.0 0000:02:00.1; do\n") != std::string::npos);
    CHECK(text.find("echo vfio-pci > \"/sys/bus/pci/devices/$dev/driver_override\"")
          != std::string::npos);
    const auto parsed = pt::driver::parse_hook(text);
    REQUIRE(parsed);
    CHECK(formatted(*parsed) == std::vector<std::string>{"0000:02:00.0", "0000:02:00.1"});
    CHECK_FALSE(pt::driver::parse_hook("#!/bin/sh\necho hello\n"));
    CHECK_FALSE(pt::driver::parse_hook("for dev in 02:00.0; do\n"));
}

TEST_CASE("driver::decide_persistence", "[driver][bind]") {
    pt::pci::Topology topology;
    topology.devices.push_back(pt::test::make_device("0000:01:00.0", 0x030000, "nvidia"));
    topology.devices.push_back(pt::test::make_device("0000:02:00.0", 0x030000, "vfio-pci"));
    topology.devices.push_back(
        pt::test::make_device("0000:03:00.0", 0x030000, "amdgpu", 0x1002, 0x73bf));

    SECTION("an ID shared with a host device: by address") {
        const auto p = pt::driver::decide_persistence(topology, {addr("0000:02:00.0")}, {});
        CHECK(p.ids.empty());
        CHECK(formatted(p.addresses) == std::vector<std::string>{"0000:02:00.0"});
    }
    SECTION("every device with the ID: by ID") {
        const auto p = pt::driver::decide_persistence(
            topology, {addr("0000:01:00.0"), addr("0000:02:00.0"), addr("0000:03:00.0")}, {});
        CHECK(p.ids == std::vector<std::string>{"1002:73bf", "10de:2204"});
        CHECK(p.addresses.empty());
    }
    SECTION("entries for hardware the topology lacks are kept") {
        pt::driver::Persisted previous;
        previous.ids = {"1234:5678"};
        previous.addresses = {addr("0000:09:00.0")};
        const auto p = pt::driver::decide_persistence(topology, {}, previous);
        CHECK(p.ids == std::vector<std::string>{"1234:5678"});
        CHECK(formatted(p.addresses) == std::vector<std::string>{"0000:09:00.0"});
    }
}

TEST_CASE("driver::competing_modules", "[driver][bind]") {
    TempRoot tmp;
    tmp.mkdir("/sys/module/xhci_pci");
    tmp.relative_symlink("/sys/bus/pci/drivers/xhci_hcd/module", "/sys/module/xhci_pci");
    const pt::host::Root root(tmp.path());
    CHECK(pt::driver::competing_modules(root,
                                        pt::test::make_device("0000:01:00.0", 0x030000, "nvidia"))
          == std::vector<std::string>{"nouveau", "nvidia"});
    CHECK(pt::driver::competing_modules(
              root, pt::test::make_device("0000:01:00.1", 0x040300, "snd_hda_intel"))
          == std::vector<std::string>{"snd_hda_intel"});
    CHECK(pt::driver::competing_modules(
              root, pt::test::make_device("0000:00:14.0", 0x0c0330, "xhci_hcd", 0x8086))
          == std::vector<std::string>{"xhci_pci"});
    CHECK(pt::driver::competing_modules(
              root, pt::test::make_device("0000:03:00.0", 0x030000, "vfio-pci", 0x1002))
          == std::vector<std::string>{"amdgpu", "radeon"});
}

TEST_CASE("driver::plan_bind: by ID, then nothing to do", "[driver][bind]") {
    Host host;
    const auto plan = host.bind("02:00");
    const auto* conf = find_file(plan, pt::driver::k_vfio_conf);
    REQUIRE(conf);
    CHECK_FALSE(conf->before);
    REQUIRE(conf->after);
    CHECK(conf->after->find("options vfio-pci ids=10de:1aef,10de:2204\n") != std::string::npos);
    CHECK(conf->after->find("softdep nouveau pre: vfio-pci\n") != std::string::npos);
    CHECK(conf->after->find("softdep snd_hda_intel pre: vfio-pci\n") != std::string::npos);
    CHECK(find_file(plan, pt::driver::k_hook) == nullptr);
    // /etc/modules has no VFIO line, so it stays as it is; pt's own list is new.
    CHECK(find_file(plan, pt::driver::k_modules) == nullptr);
    const auto* modules = find_file(plan, pt::driver::k_modules_load_conf);
    REQUIRE(modules);
    CHECK_FALSE(modules->before);
    CHECK(*modules->after
          == "# Written by pt bind; pt unbind removes it. See pt-bind(1).\n"
             "# The VFIO modules, loaded by systemd-modules-load (modules-load.d(5)).\n"
             "vfio\nvfio_iommu_type1\nvfio_pci\n");
    REQUIRE(find_file(plan, pt::driver::k_initramfs_modules));
    CHECK(plan.follow_ups == std::vector<pt::edit::FollowUp>{pt::edit::FollowUp::update_initramfs});
    CHECK(plan.reboot_needed);
    CHECK(plan.writes.empty());
    CHECK(plan.title == "pt bind 02:00");

    host.apply_files(plan);
    const auto again = host.bind("02:00.1");
    CHECK(again.empty());
    CHECK(again.follow_ups.empty());
}

TEST_CASE("driver::plan_bind: identical IDs are bound by address with the hook", "[driver][bind]") {
    Host host(true);
    const auto plan = host.bind("02:00");
    const auto* hook = find_file(plan, pt::driver::k_hook);
    REQUIRE(hook);
    CHECK(hook->mode == 0755);
    CHECK(hook->after->find("for dev in 0000:02:00.0 0000:02:00.1; do") != std::string::npos);
    const auto* conf = find_file(plan, pt::driver::k_vfio_conf);
    REQUIRE(conf);
    CHECK(conf->after->find("options vfio-pci") == std::string::npos);
    CHECK(has_note(plan, "bound by address"));
    CHECK(has_note(plan, "0000:01:00.0, 0000:01:00.1"));

    host.apply_files(plan);
    CHECK(host.bind("02:00").empty());

    SECTION("binding the other card too turns both into IDs and removes the hook") {
        const auto both = host.bind("01:00", false, true);
        const auto* removed = find_file(both, pt::driver::k_hook);
        REQUIRE(removed);
        CHECK_FALSE(removed->after);
        CHECK(find_file(both, pt::driver::k_vfio_conf)->after->find("ids=10de:228e,10de:2504")
              != std::string::npos);
    }
    SECTION("unbind reverses it") {
        const auto back = host.unbind("02:00.0");
        REQUIRE(find_file(back, pt::driver::k_hook));
        CHECK_FALSE(find_file(back, pt::driver::k_hook)->after);
        CHECK_FALSE(find_file(back, pt::driver::k_vfio_conf)->after);
        REQUIRE(find_file(back, pt::driver::k_modules_load_conf));
        CHECK_FALSE(find_file(back, pt::driver::k_modules_load_conf)->after);
        CHECK(find_file(back, pt::driver::k_modules) == nullptr);
        CHECK(*find_file(back, pt::driver::k_initramfs_modules)->after == "# List of modules\n");
        host.apply_files(back);
        CHECK(host.unbind("02:00").empty());
    }
}

TEST_CASE("driver::plan_bind: several selectors plan what binding one after the other writes",
          "[driver][bind]") {
    for (const bool identical : {false, true}) {
        Host together(identical);
        const auto both = together.bind("02:00 01:00", false, true);
        CHECK(both.title == "pt bind 02:00 01:00 --force");
        together.apply_files(both);

        Host in_turn(identical);
        in_turn.apply_files(in_turn.bind("02:00"));
        in_turn.apply_files(in_turn.bind("01:00", false, true));
        for (const std::string_view path : {pt::driver::k_vfio_conf,
                                            pt::driver::k_hook,
                                            pt::driver::k_modules_load_conf,
                                            pt::driver::k_initramfs_modules}) {
            CAPTURE(identical, path);
            CHECK(together.host_root().read_file_if_exists(path)
                  == in_turn.host_root().read_file_if_exists(path));
        }
        CHECK(together.bind("01:00 02:00", false, true).empty());
    }
    Host host;
    CHECK_THROWS_WITH(host.bind("02:00 07:00"), Catch::Contains("no PCI device matches 07:00"));
}

TEST_CASE("driver::plan_bind: refusals", "[driver][bind]") {
    SECTION("no such device") {
        Host host;
        CHECK(error_of([&] { host.bind("05:00"); }).find("no PCI device matches 05:00")
              != std::string::npos);
    }
    SECTION("a group with another slot needs --include-group") {
        Host host;
        host.root.add_device(spec("0000:00:14.3", "8086", "a2a3", "0c0500", "i801_smbus", 2));
        const auto message = error_of([&] { host.bind("02:00"); });
        CHECK(message.find("IOMMU group 2 also holds 0000:00:14.3") != std::string::npos);
        CHECK(message.find("--include-group") != std::string::npos);
        const auto plan = host.bind("02:00", true);
        CHECK(has_note(plan, "--include-group"));
        CHECK(find_file(plan, pt::driver::k_vfio_conf)->after->find("8086:a2a3")
              != std::string::npos);
    }
    SECTION("the only display device") {
        Host host;
        host.root.write("/proc/self/mountinfo", "");
        const auto message = error_of([&] { host.bind("00:02.0"); });
        CHECK(message.find("(no error)") != std::string::npos); // two NVIDIA cards stay
        host.apply_files(host.bind("01:00"));
        host.apply_files(host.bind("02:00"));
        const auto refused = error_of([&] { host.bind("00:02.0"); });
        CHECK(refused.find("0000:00:02.0 (display controller [8086:3e92], i915) is the host's "
                           "only display device")
              != std::string::npos);
        CHECK(refused.find("--force") != std::string::npos);
        CHECK(has_note(host.bind("00:02.0", false, true), "--force: 0000:00:02.0"));
    }
    SECTION("the controller of the root file system and the default-route NIC") {
        Host host;
        const std::string gpu = host.root.device_dir("0000:02:00.0");
        // Pretend the second card's slot holds a disk and a NIC (the shapes matter, not the
        // classes): /sys/class/block/sdb1 and /sys/class/net/eth1 lead under it.
        host.root.mkdir(gpu + "/host1/block/sdb/sdb1");
        host.root.relative_symlink("/sys/class/block/sdb1", gpu + "/host1/block/sdb/sdb1");
        host.root.write("/proc/self/mountinfo", "22 1 8:17 / / rw - ext4 /dev/sdb1 rw\n");
        host.root.mkdir(gpu + "/net/eth1");
        host.root.relative_symlink(gpu + "/net/eth1/device", gpu);
        host.root.relative_symlink("/sys/class/net/eth1", gpu + "/net/eth1");
        host.root.write("/proc/net/route",
                        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow"
                        "\tIRTT\neth1\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
        const auto message = error_of([&] { host.bind("02:00"); });
        CHECK(message.find("0000:02:00.0") != std::string::npos);
        CHECK(message.find("holds the root file system (ext4 on /dev/sdb1, block device sdb1; "
                           "from /proc/self/mountinfo)")
              != std::string::npos);
        CHECK(message.find("carries the IPv4 default route (interface eth1") != std::string::npos);
        CHECK(message.find("Add --force") != std::string::npos);
        const auto forced = host.bind("02:00", false, true);
        CHECK(has_note(forced, "--force: 0000:02:00.0"));
        CHECK_FALSE(forced.empty());
    }
}

TEST_CASE("driver::plan_bind: vfio_virqfd", "[driver][bind]") {
    SECTION("removed on 6.2 and newer, saying why") {
        Host host;
        host.root.write("/etc/modules", "vfio\nvfio_virqfd\n");
        const auto plan = host.bind("02:00");
        CHECK(*find_file(plan, pt::driver::k_modules)->after == "");
        CHECK(find_file(plan, pt::driver::k_modules_load_conf)->after->find("vfio_virqfd")
              == std::string::npos);
        CHECK(has_note(plan, "removes vfio_virqfd from /etc/modules: Linux 6.2 folded it"));
    }
    SECTION("added before 6.2") {
        Host host(false, "5.15.158-2-pve");
        const auto plan = host.bind("02:00");
        CHECK(find_file(plan, pt::driver::k_modules_load_conf)->after->find("vfio_virqfd\n")
              != std::string::npos);
    }
}

TEST_CASE("driver::plan_bind: VFIO lines move from /etc/modules to pt's modules-load.d file",
          "[driver][bind]") {
    Host host;
    host.root.write("/etc/modules", "# /etc/modules\nloop\nvfio\nvfio_pci # from a guide\n");
    const auto plan = host.bind("02:00");
    const auto* etc_modules = find_file(plan, pt::driver::k_modules);
    REQUIRE(etc_modules);
    CHECK(*etc_modules->after == "# /etc/modules\nloop\n");
    CHECK(etc_modules->reason.find("move to /etc/modules-load.d/pt-vfio.conf")
          != std::string::npos);
    CHECK(find_file(plan, pt::driver::k_modules_load_conf)
              ->after->ends_with("vfio\nvfio_iommu_type1\nvfio_pci\n"));
    host.apply_files(plan);
    CHECK(host.bind("02:00").empty());

    SECTION("a modules-load.d file of the same name that pt did not write is refused") {
        Host other;
        other.root.write("/etc/modules-load.d/pt-vfio.conf", "vfio\n");
        CHECK(error_of([&] {
                  other.bind("02:00");
              }).find("/etc/modules-load.d/pt-vfio.conf was not written by pt bind")
              != std::string::npos);
    }
}

TEST_CASE("driver::plan_bind --now: writes in order, with the link check", "[driver][bind]") {
    Host host;
    const auto plan = host.bind("02:00", false, false, true);
    REQUIRE(plan.writes.size() == 6);
    CHECK(plan.writes[0].path == "/sys/bus/pci/devices/0000:02:00.0/driver_override");
    CHECK(plan.writes[0].value == "vfio-pci");
    CHECK(plan.writes[1].path == "/sys/bus/pci/devices/0000:02:00.0/driver/unbind");
    CHECK(plan.writes[1].value == "0000:02:00.0");
    CHECK(plan.writes[2].path == "/sys/bus/pci/drivers_probe");
    CHECK(plan.writes[2].value == "0000:02:00.0");
    REQUIRE(plan.writes[2].expect_link);
    CHECK(plan.writes[2].expect_link->first == "/sys/bus/pci/devices/0000:02:00.0/driver");
    CHECK(plan.writes[2].expect_link->second == "vfio-pci");
    CHECK(plan.writes[3].path == "/sys/bus/pci/devices/0000:02:00.1/driver_override");

    SECTION("a device reserved by a running VM is refused") {
        host.root.write("/run/qemu-server/pci-id-reservations", "0000:02:00.0 100 pid:4242\n");
        host.root.mkdir("/proc/4242");
        const auto message = error_of([&] { host.bind("02:00", false, false, true); });
        CHECK(message.find("0000:02:00.0 (VM 100 runs as pid 4242)") != std::string::npos);
        // Persistence alone does not touch the running VM.
        CHECK_FALSE(host.bind("02:00").empty());
    }
    SECTION("vfio-pci must be loaded") {
        std::filesystem::remove_all(host.root.host("/sys/bus/pci/drivers/vfio-pci"));
        CHECK(error_of([&] { host.bind("02:00", false, false, true); }).find("modprobe vfio-pci")
              != std::string::npos);
    }
}

TEST_CASE("driver::plan_unbind --now reverses the runtime binding", "[driver][bind]") {
    Host host;
    host.root.add_device(
        spec("0000:03:00.0", "1002", "73bf", "030000", "vfio-pci", 5, std::nullopt));
    host.root.write(host.root.device_dir("0000:03:00.0") + "/driver_override", "vfio-pci\n");
    const auto plan = host.unbind("03:00", true);
    CHECK(plan.files.empty()); // pt's files never named it
    REQUIRE(plan.writes.size() == 3);
    CHECK(plan.writes[0].path == "/sys/bus/pci/devices/0000:03:00.0/driver_override");
    CHECK(plan.writes[0].value == "\n");
    CHECK(plan.writes[1].path == "/sys/bus/pci/devices/0000:03:00.0/driver/unbind");
    CHECK(plan.writes[2].path == "/sys/bus/pci/drivers_probe");
    CHECK_FALSE(plan.writes[2].expect_link);
    CHECK(host.unbind("02:00", true).empty());
}
