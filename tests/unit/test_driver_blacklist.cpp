// SPDX-License-Identifier: MIT
#include "pt/driver/blacklist.hpp"
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"
#include "pt/pci/topology.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <optional>
#include <string>
#include <vector>

using pt::conf::ModprobeCommand;
using pt::conf::parse_modprobe;
using pt::driver::BlacklistRequest;
using pt::driver::k_blacklist_conf;
using pt::driver::plan_blacklist;
using pt::driver::render_blacklist_conf;
using pt::driver::select_gpus;

namespace {

using pt::test::DeviceSpec;
using pt::test::TempRoot;

DeviceSpec gpu(std::string address,
               std::string vendor,
               std::string device,
               std::optional<std::string> driver,
               bool boot_vga) {
    DeviceSpec spec;
    spec.address = std::move(address);
    spec.vendor = std::move(vendor);
    spec.device = std::move(device);
    spec.driver = std::move(driver);
    spec.attrs = {{"boot_vga", boot_vga ? "1\n" : "0\n"}};
    return spec;
}

DeviceSpec audio(std::string address, std::string vendor, std::optional<std::string> driver) {
    DeviceSpec spec;
    spec.address = std::move(address);
    spec.vendor = std::move(vendor);
    spec.device = "1aef";
    spec.class_code = "040300";
    spec.driver = std::move(driver);
    return spec;
}

// The x570 shape: an RTX 3090 on vfio-pci for the VM, an RX 6800 XT on amdgpu for the host.
void add_x570(TempRoot& tmp) {
    tmp.add_device(gpu("0000:0b:00.0", "10de", "2204", "vfio-pci", false));
    tmp.add_device(audio("0000:0b:00.1", "10de", "vfio-pci"));
    tmp.add_device(gpu("0000:0c:00.0", "1002", "73bf", "amdgpu", true));
    tmp.add_device(audio("0000:0c:00.1", "1002", "snd_hda_intel"));
}

// Two identical RTX 3060: the boot one on nvidia for the host, the other on vfio-pci.
void add_identical(TempRoot& tmp) {
    tmp.add_device(gpu("0000:01:00.0", "10de", "2504", "nvidia", true));
    tmp.add_device(gpu("0000:02:00.0", "10de", "2504", "vfio-pci", false));
}

struct Planned {
    pt::edit::Plan plan;
    std::optional<std::string> after;
};

Planned plan(const TempRoot& tmp, BlacklistRequest request = {}) {
    const pt::model::Host model{pt::host::Root(tmp.path())};
    Planned out{plan_blacklist(model, request), std::nullopt};
    for (const auto& file : out.plan.files) {
        if (file.path == k_blacklist_conf) {
            out.after = file.after;
        }
    }
    return out;
}

// What edit::apply would do for pt's file (tests never run the real apply here).
void apply(const TempRoot& tmp, const pt::edit::Plan& p) {
    for (const auto& file : p.files) {
        if (file.after) {
            tmp.write(file.path, *file.after);
        } else {
            std::filesystem::remove(tmp.host(file.path));
        }
    }
}

std::vector<std::string> lines_of(const std::optional<std::string>& text) {
    std::vector<std::string> lines;
    if (!text) {
        return lines;
    }
    for (const auto& command : parse_modprobe(*text)) {
        lines.push_back(command.verb + " " + command.module
                        + (command.rest.empty() ? "" : " " + command.rest));
    }
    return lines;
}

bool has_note(const pt::edit::Plan& p, std::string_view fragment) {
    for (const auto& note : p.notes) {
        if (note.find(fragment) != std::string::npos) {
            return true;
        }
    }
    return false;
}

using Lines = std::vector<std::string>;

} // namespace

TEST_CASE("driver::render_blacklist_conf", "[driver][blacklist]") {
    const auto cmd = [](std::string verb, std::string module, std::string rest) {
        ModprobeCommand c;
        c.verb = std::move(verb);
        c.module = std::move(module);
        c.rest = std::move(rest);
        return c;
    };
    SECTION("header, groups in vendor order, any input order gives the same text") {
        const std::vector<ModprobeCommand> a = {cmd("blacklist", "radeon", ""),
                                                cmd("install", "nouveau", "/bin/false"),
                                                cmd("blacklist", "nouveau", ""),
                                                cmd("blacklist", "amdgpu", "")};
        const std::vector<ModprobeCommand> b = {a[3], a[2], a[1], a[0]};
        const std::string text = render_blacklist_conf(a);
        CHECK(text == render_blacklist_conf(b));
        CHECK(text.find("# Written by pt blacklist.") == 0);
        CHECK(text.find("pt blacklist --remove") != std::string::npos);
        CHECK(text.substr(text.find("\n# NVIDIA"))
              == "\n# NVIDIA (10de)\nblacklist nouveau\ninstall nouveau /bin/false\n"
                 "\n# AMD (1002)\nblacklist amdgpu\nblacklist radeon\n");
    }
    SECTION("modules of no known vendor come last") {
        const std::string text =
            render_blacklist_conf({cmd("blacklist", "bcma", ""), cmd("blacklist", "xe", "")});
        CHECK(text.substr(text.find("\n# Intel"))
              == "\n# Intel (8086)\nblacklist xe\n\n# Other modules\nblacklist bcma\n");
    }
    SECTION("the text parses back to the same commands") {
        const std::string text = render_blacklist_conf({cmd("softdep", "nvidia", "pre: vfio-pci")});
        const auto back = parse_modprobe(text);
        REQUIRE(back.size() == 1);
        CHECK(back[0].verb == "softdep");
        CHECK(back[0].rest == "pre: vfio-pci");
    }
}

TEST_CASE("driver::select_gpus", "[driver][blacklist]") {
    TempRoot tmp;
    SECTION("default: the display devices on vfio-pci") {
        add_x570(tmp);
        const pt::host::Root root(tmp.path());
        const auto topology = pt::pci::scan(root, nullptr);
        const auto gpus = select_gpus(topology, {});
        REQUIRE(gpus.size() == 1);
        CHECK(gpus[0]->vendor == 0x10de);
    }
    SECTION("default: else the single non-boot-VGA display device") {
        tmp.add_device(gpu("0000:00:02.0", "8086", "3e92", "i915", true));
        tmp.add_device(gpu("0000:03:00.0", "10de", "2184", "nouveau", false));
        const pt::host::Root root(tmp.path());
        const auto topology = pt::pci::scan(root, nullptr);
        const auto gpus = select_gpus(topology, {});
        REQUIRE(gpus.size() == 1);
        CHECK(gpus[0]->vendor == 0x10de);
    }
    SECTION("default: ambiguous is a usage error listing the display devices") {
        tmp.add_device(gpu("0000:00:02.0", "8086", "3e92", "i915", true));
        tmp.add_device(gpu("0000:03:00.0", "10de", "2184", "nouveau", false));
        tmp.add_device(gpu("0000:04:00.0", "1002", "73bf", "amdgpu", false));
        const pt::host::Root root(tmp.path());
        const auto topology = pt::pci::scan(root, nullptr);
        CHECK_THROWS_AS(select_gpus(topology, {}), pt::UsageError);
        CHECK_THROWS_WITH(
            select_gpus(topology, {}),
            Catch::Contains("0000:04:00.0 [1002:73bf], driver amdgpu")
                && Catch::Contains("0000:00:02.0 [8086:3e92], driver i915, boot VGA"));
    }
    SECTION("a selector: its display functions only; no match; no display device") {
        add_x570(tmp);
        const pt::host::Root root(tmp.path());
        const auto topology = pt::pci::scan(root, nullptr);
        const auto gpus = select_gpus(topology, {"0c:00"});
        REQUIRE(gpus.size() == 1);
        CHECK(gpus[0]->vendor == 0x1002);
        CHECK_THROWS_AS(select_gpus(topology, {"0b:00.1"}), pt::UsageError);
        CHECK_THROWS_AS(select_gpus(topology, {"0000:42:00.0"}), pt::Error);
        CHECK_THROWS_AS(select_gpus(topology, {"zz"}), pt::UsageError);
    }
}

TEST_CASE("driver::plan_blacklist", "[driver][blacklist]") {
    TempRoot tmp;
    SECTION("x570: blacklists the NVIDIA drivers, update-initramfs, reboot, idempotent") {
        add_x570(tmp);
        const auto first = plan(tmp);
        REQUIRE(first.plan.files.size() == 1);
        CHECK_FALSE(first.plan.files[0].before.has_value());
        CHECK(first.plan.files[0].mode == 0644);
        CHECK(lines_of(first.after)
              == Lines{"blacklist nouveau",
                       "blacklist nvidia",
                       "blacklist nvidia_drm",
                       "blacklist nvidia_modeset",
                       "blacklist nvidiafb"});
        CHECK(first.plan.follow_ups
              == std::vector<pt::edit::FollowUp>{pt::edit::FollowUp::update_initramfs});
        CHECK(first.plan.reboot_needed);

        apply(tmp, first.plan);
        const auto second = plan(tmp);
        CHECK(second.plan.empty());
        CHECK(second.plan.follow_ups.empty());
        CHECK_FALSE(second.plan.reboot_needed);
    }
    SECTION("--hard adds install M /bin/false and says why") {
        add_x570(tmp);
        BlacklistRequest request;
        request.hard = true;
        const auto p = plan(tmp, request);
        const auto lines = lines_of(p.after);
        REQUIRE(lines.size() == 10);
        CHECK(lines[0] == "blacklist nouveau");
        CHECK(lines[1] == "install nouveau /bin/false");
        CHECK(has_note(p.plan, "alias"));
        apply(tmp, p.plan);
        CHECK(plan(tmp, request).plan.empty());
        // Going back to a plain blacklist rewrites pt's file.
        CHECK(lines_of(plan(tmp).after).size() == 5);
    }
    SECTION("--softdep writes softdeps for the modules that bind PCI devices") {
        add_x570(tmp);
        BlacklistRequest request;
        request.softdep = true;
        CHECK(lines_of(plan(tmp, request).after)
              == Lines{"softdep nouveau pre: vfio-pci",
                       "softdep nvidia pre: vfio-pci",
                       "softdep nvidiafb pre: vfio-pci"});
    }
    SECTION("identical GPUs: the host needs nvidia, so softdep instead, with the reason") {
        add_identical(tmp);
        const auto p = plan(tmp);
        CHECK(lines_of(p.after)
              == Lines{"softdep nouveau pre: vfio-pci",
                       "softdep nvidia pre: vfio-pci",
                       "softdep nvidiafb pre: vfio-pci"});
        CHECK(has_note(p.plan, "the host keeps NVIDIA GPU 0000:01:00.0"));
        BlacklistRequest hard;
        hard.hard = true;
        const auto h = plan(tmp, hard);
        CHECK(lines_of(h.after) == lines_of(p.after));
        CHECK(has_note(h.plan, "--hard ignored"));
    }
    SECTION("a module blacklisted elsewhere is reported, not repeated") {
        add_x570(tmp);
        tmp.write("/etc/modprobe.d/blacklist.conf",
                  "blacklist radeon\nblacklist nouveau\nblacklist nvidia");
        tmp.write("/lib/modprobe.d/nvidia-drm.conf", "blacklist nvidia-drm\n");
        const auto p = plan(tmp);
        CHECK(lines_of(p.after) == Lines{"blacklist nvidia_modeset", "blacklist nvidiafb"});
        CHECK(has_note(p.plan, "blacklist nouveau (/etc/modprobe.d/blacklist.conf line 2)"));
        CHECK(has_note(p.plan, "blacklist nvidia_drm (/lib/modprobe.d/nvidia-drm.conf line 1)"));
    }
    SECTION("everything already blacklisted elsewhere: nothing to do") {
        add_x570(tmp);
        tmp.write("/etc/modprobe.d/nvidia.conf",
                  "blacklist nouveau\nblacklist nvidia\nblacklist nvidia_drm\n"
                  "blacklist nvidia_modeset\nblacklist nvidiafb\n");
        const auto p = plan(tmp);
        CHECK(p.plan.empty());
        CHECK(p.plan.follow_ups.empty());
        CHECK(has_note(p.plan, "already in modprobe.d"));
    }
    SECTION("an existing softdep with vfio-pci is not repeated") {
        add_identical(tmp);
        tmp.write("/etc/modprobe.d/vfio.conf",
                  "options vfio-pci ids=10de:1e87\nsoftdep nvidia pre: vfio-pci \n");
        CHECK(lines_of(plan(tmp).after)
              == Lines{"softdep nouveau pre: vfio-pci", "softdep nvidiafb pre: vfio-pci"});
    }
    SECTION("pt bind's softdep lines do not count: pt unbind takes them away with the card") {
        add_identical(tmp);
        tmp.write("/etc/modprobe.d/pt-vfio.conf",
                  "options vfio-pci ids=10de:1e87\nsoftdep nouveau pre: vfio-pci\n"
                  "softdep nvidia pre: vfio-pci\n");
        CHECK(lines_of(plan(tmp).after)
              == Lines{"softdep nouveau pre: vfio-pci",
                       "softdep nvidia pre: vfio-pci",
                       "softdep nvidiafb pre: vfio-pci"});
    }
    SECTION("every other modprobe.d file is left alone") {
        add_x570(tmp);
        tmp.write("/etc/modprobe.d/vfio.conf", "options vfio-pci ids=10de:2204,10de:1aef");
        const auto p = plan(tmp);
        REQUIRE(p.plan.files.size() == 1);
        CHECK(p.plan.files[0].path == k_blacklist_conf);
    }
    SECTION("pt's entries for another vendor stay; --remove SEL takes out one vendor") {
        tmp.add_device(gpu("0000:00:02.0", "8086", "3e92", "i915", true));
        tmp.add_device(gpu("0000:0b:00.0", "10de", "2204", "vfio-pci", false));
        tmp.add_device(gpu("0000:0c:00.0", "1002", "73bf", "vfio-pci", false));
        BlacklistRequest nvidia;
        nvidia.selectors = {"0b:00"};
        apply(tmp, plan(tmp, nvidia).plan);
        BlacklistRequest amd;
        amd.selectors = {"0c:00.0"};
        const auto both = plan(tmp, amd);
        CHECK(lines_of(both.after).size() == 7);
        apply(tmp, both.plan);
        CHECK(plan(tmp, nvidia).plan.empty());
        CHECK(plan(tmp).plan.empty()); // both on vfio-pci: the default selects both

        amd.remove = true;
        const auto removed = plan(tmp, amd);
        CHECK(lines_of(removed.after).size() == 5);
        apply(tmp, removed.plan);
        nvidia.remove = true;
        const auto gone = plan(tmp, nvidia);
        REQUIRE(gone.plan.files.size() == 1);
        CHECK_FALSE(gone.plan.files[0].after.has_value());
    }
    SECTION("--remove deletes pt's file; again it is nothing to do") {
        add_x570(tmp);
        apply(tmp, plan(tmp).plan);
        BlacklistRequest remove;
        remove.remove = true;
        const auto p = plan(tmp, remove);
        REQUIRE(p.plan.files.size() == 1);
        CHECK(p.plan.files[0].before.has_value());
        CHECK_FALSE(p.plan.files[0].after.has_value());
        CHECK(p.plan.reboot_needed);
        apply(tmp, p.plan);
        CHECK(plan(tmp, remove).plan.empty());
    }
    SECTION("a GPU still on its host driver gets a note") {
        tmp.add_device(gpu("0000:00:02.0", "8086", "3e92", "i915", true));
        tmp.add_device(gpu("0000:03:00.0", "10de", "2184", "nouveau", false));
        const auto p = plan(tmp);
        CHECK(lines_of(p.after).size() == 5);
        CHECK(has_note(p.plan, "0000:03:00.0 is bound to nouveau now"));
    }
    SECTION("an Intel dGPU passed through while the iGPU stays: softdep for i915 and xe") {
        tmp.add_device(gpu("0000:00:02.0", "8086", "a780", "i915", true));
        tmp.add_device(gpu("0000:03:00.0", "8086", "56a0", "vfio-pci", false));
        CHECK(lines_of(plan(tmp).after)
              == Lines{"softdep i915 pre: vfio-pci", "softdep xe pre: vfio-pci"});
    }
    SECTION("conflicting flags and unknown vendors") {
        add_x570(tmp);
        BlacklistRequest both;
        both.softdep = true;
        both.hard = true;
        CHECK_THROWS_AS(plan(tmp, both), pt::UsageError);
        BlacklistRequest remove_hard;
        remove_hard.remove = true;
        remove_hard.hard = true;
        CHECK_THROWS_AS(plan(tmp, remove_hard), pt::UsageError);
        tmp.add_device(gpu("0000:0e:00.0", "102b", "0522", "vfio-pci", false));
        BlacklistRequest matrox;
        matrox.selectors = {"0e:00.0"};
        CHECK_THROWS_WITH(plan(tmp, matrox), Catch::Contains("no host drivers for vendor 102b"));
    }
}
