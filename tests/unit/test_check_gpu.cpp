// SPDX-License-Identifier: MIT
#include "pt/check/host_context.hpp"
#include "pt/error.hpp"
#include "support/catch.hpp"
#include "support/devices.hpp"
#include "support/temp_root.hpp"

#include <algorithm>
#include <string>
#include <string_view>

using pt::check::Check;
using pt::check::HostContext;
using pt::check::Status;
using pt::test::make_device;

namespace {

// An empty root: the GPU checks read their facts from the context, not from the files.
struct Fixture {
    pt::test::TempRoot tmp;
    HostContext ctx{pt::host::Root(tmp.path())};

    void add(const char* address,
             std::uint32_t cls,
             std::optional<std::string> driver,
             std::uint16_t vendor,
             std::uint16_t device,
             std::optional<int> group) {
        auto d = make_device(address, cls, std::move(driver), vendor, device);
        d.iommu_group = group;
        ctx.topology.devices.push_back(d);
    }

    // Real files: the checks read the effective configuration through the host model.
    void modprobe(const std::string& text) {
        modprobe_text += text;
        tmp.write("/etc/modprobe.d/test.conf", modprobe_text);
    }

    std::string modprobe_text;

    std::vector<Check> run(const std::optional<std::string>& selector = std::nullopt) {
        std::vector<Check> out;
        pt::check::check_gpus(ctx, pt::check::select_gpus(ctx, selector), out);
        return out;
    }
};

// The ID is a string_view, not a const std::string&: with the latter, a literal made a temporary
// std::string bound to a reference parameter, and `const auto& c = find(checks, "gpu.reset")`
// could have referred to it for all GCC 14 knows (-Wdangling-reference). Now the only reference
// argument is `checks`, which outlives `c`.
const Check& find(const std::vector<Check>& checks, std::string_view id, std::size_t nth = 0) {
    for (const auto& c : checks) {
        if (c.finding.id == id && nth-- == 0) {
            return c;
        }
    }
    FAIL("no check " << id);
    return checks.front();
}

} // namespace

TEST_CASE("check gpus: default selection and the healthy case", "[check][gpu]") {
    Fixture f;
    f.add("0000:00:01.0", 0x060400, "pcieport", 0x8086, 0x1901, 1);
    f.add("0000:00:02.0", 0x030000, "i915", 0x8086, 0x3e92, 2);
    f.add("0000:01:00.0", 0x030000, "vfio-pci", 0x10de, 0x2504, 1);
    f.add("0000:01:00.1", 0x040300, "vfio-pci", 0x10de, 0x228e, 1);
    f.ctx.topology.devices[2].reset_methods = std::vector<std::string>{"flr", "bus"};
    f.modprobe("blacklist nouveau\nblacklist nvidia\nblacklist nvidiafb\n");

    const auto gpus = pt::check::select_gpus(f.ctx, std::nullopt);
    REQUIRE(gpus.size() == 1);
    CHECK(pt::pci::format(gpus[0]->address) == "0000:01:00.0");

    const auto checks = f.run();
    std::vector<std::string> ids;
    for (const auto& c : checks) {
        ids.push_back(c.finding.id);
    }
    CHECK(ids
          == std::vector<std::string>{"gpu.driver",
                                      "gpu.host-driver",
                                      "gpu.group-bound",
                                      "gpu.group-isolated",
                                      "gpu.boot-vga",
                                      "gpu.reset",
                                      "gpu.rom"});
    for (const auto& c : checks) {
        CAPTURE(c.finding.id, c.finding.summary);
        if (c.finding.id == "gpu.rom") {
            CHECK(c.finding.status == Status::warn); // the empty root has no rom attribute
        } else {
            CHECK(c.finding.status == Status::pass);
        }
        CHECK(c.what.starts_with("0000:01:00.0 "));
    }
}

TEST_CASE("check gpus: selection by SEL and by VM config", "[check][gpu]") {
    Fixture f;
    f.add("0000:01:00.0", 0x030000, "nvidia", 0x10de, 0x2504, 1);
    f.add("0000:01:00.1", 0x040300, "snd_hda_intel", 0x10de, 0x228e, 1);
    CHECK(pt::check::select_gpus(f.ctx, std::nullopt).empty());
    CHECK(find(f.run(), "gpu.select").finding.status == Status::warn);

    CHECK(pt::check::select_gpus(f.ctx, std::string("01:00")).size() == 1);
    // A selector that matches only a non-display device checks that device.
    CHECK(pt::check::select_gpus(f.ctx, std::string("01:00.1")).size() == 1);
    CHECK_THROWS_AS(pt::check::select_gpus(f.ctx, std::string("02:00")), pt::Error);

    f.ctx.vm_devices.push_back({100, "hostpci0", pt::test::addr("0000:01:00.0"), true, {}});
    REQUIRE(pt::check::select_gpus(f.ctx, std::nullopt).size() == 1);
    const auto checks = f.run();
    CHECK(find(checks, "gpu.driver").finding.status == Status::fail);
    CHECK(find(checks, "gpu.driver").finding.fix.starts_with("pt bind 0000:01:00 --apply"));
    CHECK(find(checks, "gpu.driver").finding.fix.find("pt bind 0000:01:00 --now --apply")
          != std::string::npos);
    CHECK(find(checks, "gpu.host-driver").finding.status == Status::fail);
    CHECK(find(checks, "gpu.group-bound").finding.status == Status::warn);
}

TEST_CASE("check gpus: host drivers kept off, and what the rules also hit", "[check][gpu]") {
    Fixture f;
    f.add("0000:01:00.0", 0x030000, "nvidia", 0x10de, 0x2504, 1);
    f.add("0000:02:00.0", 0x030000, "vfio-pci", 0x10de, 0x2504, 2);
    SECTION("softdep keeps the host's identical card working") {
        f.modprobe("softdep nouveau pre: vfio-pci\nsoftdep nvidia pre: vfio-pci\nsoftdep "
                   "nvidiafb pre: vfio-pci\n");
        CHECK(find(f.run(), "gpu.host-driver").finding.status == Status::pass);
    }
    SECTION("ids= claims both identical cards") {
        f.modprobe("options vfio-pci ids=10de:2504\n");
        const auto checks = f.run();
        const auto& c = find(checks, "gpu.host-driver");
        CHECK(c.finding.status == Status::warn);
        CHECK(c.finding.evidence.find("vfio-pci ids= also claims 0000:01:00.0")
              != std::string::npos);
    }
    SECTION("a blacklist takes the host's driver away") {
        f.modprobe("blacklist nouveau\nblacklist nvidia\nblacklist nvidiafb\n");
        const auto checks = f.run();
        const auto& c = find(checks, "gpu.host-driver");
        CHECK(c.finding.status == Status::warn);
        CHECK(c.finding.evidence.find("blacklist nvidia also keeps nvidia off 0000:01:00.0")
              != std::string::npos);
    }
    SECTION("nothing: a warning while the card is on vfio-pci") {
        const auto checks = f.run();
        const auto& c = find(checks, "gpu.host-driver");
        CHECK(c.finding.status == Status::warn);
        CHECK(c.finding.evidence == "modprobe.d: nothing keeps nouveau, nvidia, nvidiafb off");
    }
}

TEST_CASE("check gpus: isolation and reset", "[check][gpu]") {
    Fixture f;
    f.add("0000:00:14.0", 0x0c0330, "xhci_hcd", 0x8086, 0xa36d, 7);
    f.add("0000:0a:00.0", 0x030000, "vfio-pci", 0x1002, 0x67df, 7);
    auto& gpu = f.ctx.topology.devices[1];
    f.modprobe("blacklist amdgpu\nblacklist radeon\n");
    SECTION("shared group, Polaris without vendor-reset") {
        gpu.reset_methods = std::vector<std::string>{"bus"};
        const auto checks = f.run();
        CHECK(find(checks, "gpu.group-isolated").finding.status == Status::fail);
        CHECK(find(checks, "gpu.group-isolated").finding.summary.find("0000:00:14.0")
              != std::string::npos);
        const auto& reset = find(checks, "gpu.reset").finding;
        CHECK(reset.status == Status::fail);
        CHECK(reset.summary.find("Polaris 10") != std::string::npos);
    }
    SECTION("vendor-reset selected") {
        gpu.reset_methods = std::vector<std::string>{"device_specific", "bus"};
        CHECK(find(f.run(), "gpu.reset").finding.status == Status::pass);
    }
    SECTION("other GPUs: no method fails, bus only passes alone on its bus, flr passes") {
        gpu.device = 0x73bf; // Navi 21: vendor-reset is not needed
        gpu.reset_methods = std::vector<std::string>{};
        CHECK(find(f.run(), "gpu.reset").finding.status == Status::fail);
        gpu.reset_methods = std::vector<std::string>{"bus"};
        CHECK(find(f.run(), "gpu.reset").finding.status == Status::pass);
        gpu.reset_methods = std::vector<std::string>{"flr", "bus"};
        CHECK(find(f.run(), "gpu.reset").finding.status == Status::pass);
    }
    SECTION("bus reset with another slot on the GPU's bus warns") {
        f.add("0000:0a:01.0", 0x0c0330, "xhci_hcd", 0x1b21, 0x1142, 7); // may move `gpu`
        auto& moved = f.ctx.topology.devices[1];
        moved.device = 0x73bf;
        moved.reset_methods = std::vector<std::string>{"bus"};
        const auto checks = f.run();
        const auto& reset = find(checks, "gpu.reset").finding;
        CHECK(reset.status == Status::warn);
        CHECK(reset.summary.find("every device behind the same bridge") != std::string::npos);
    }
    SECTION("no IOMMU group: the group checks skip") {
        gpu.iommu_group.reset();
        const auto checks = f.run();
        CHECK(find(checks, "gpu.group-bound").finding.status == Status::skip);
        CHECK(find(checks, "gpu.group-isolated").finding.status == Status::skip);
    }
}

TEST_CASE("check gpus: boot VGA and the kernel log", "[check][gpu]") {
    Fixture f;
    f.add("0000:01:00.0", 0x030000, "vfio-pci", 0x10de, 0x2504, 1);
    f.ctx.topology.devices[0].boot_vga = true;
    CHECK(find(f.run(), "gpu.boot-vga").finding.status == Status::warn);
    f.ctx.log.lines = std::vector<std::string>{};
    f.ctx.log.source = "/var/lib/pt/snapshot/dmesg";
    f.ctx.log_facts = pt::kernel::read_log_facts(
        {"vfio-pci 0000:01:00.0: BAR 1: can't reserve [mem 0xc0000000-0xcfffffff 64bit pref]"});
    const auto checks = f.run();
    const auto& c = find(checks, "gpu.boot-vga").finding;
    CHECK(c.status == Status::fail);
    CHECK(c.fix.starts_with("pt grub --sysfb-off --apply"));
}
