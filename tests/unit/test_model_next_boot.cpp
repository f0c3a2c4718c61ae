// SPDX-License-Identifier: MIT
#include "pt/conf/module_config.hpp"
#include "pt/grub/plan.hpp"
#include "pt/kernel/cmdline.hpp"
#include "pt/model/next_boot.hpp"
#include "pt/pci/device.hpp"
#include "support/catch.hpp"

#include <string>
#include <vector>

namespace {

pt::pci::Device gpu(const char* address, std::uint16_t device_id) {
    pt::pci::Device dev;
    dev.address = *pt::pci::parse_address(address);
    dev.vendor = 0x10de;
    dev.device = device_id;
    dev.class_code = 0x030000;
    return dev;
}

pt::conf::ModuleConfig config(std::vector<pt::conf::ModprobeText> files,
                              const std::string& cmdline = "") {
    return pt::conf::compute_module_config(
        std::move(files), pt::kernel::parse_cmdline(cmdline), "/proc/cmdline");
}

pt::conf::ModprobeText file(const char* name, const char* text) {
    return {"/etc/modprobe.d", name, std::string("/etc/modprobe.d/") + name, text};
}

pt::model::NextBootInputs nvidia_modules() {
    pt::model::NextBootInputs inputs;
    inputs.host_modules = {"nvidia", "nouveau"};
    inputs.override_source = "/etc/initramfs-tools/scripts/init-top/pt-vfio";
    return inputs;
}

} // namespace

TEST_CASE("predict_next_boot: driver_override first, then the last vfio-pci ids=",
          "[model][next_boot]") {
    const auto dev = gpu("0000:81:00.0", 0x2204);
    auto inputs = nvidia_modules();

    SECTION("pt's ids= wins when it is the last one") {
        const auto next = pt::model::predict_next_boot(
            dev,
            config({file("pt-vfio.conf", "options vfio-pci ids=10de:2204,10de:1aef\n")}),
            inputs);
        CHECK(next.driver == "vfio-pci");
        CHECK(pt::model::describe(next)
              == "next boot: 0000:81:00.0 -> vfio-pci, by vfio-pci ids= in "
                 "/etc/modprobe.d/pt-vfio.conf:1");
    }
    SECTION("a later file's ids= without the device loses it; nothing blocks nvidia") {
        const auto next = pt::model::predict_next_boot(
            dev,
            config({file("pt-vfio.conf", "options vfio-pci ids=10de:2204\n"),
                    file("vfio.conf", "options vfio_pci ids=10de:1aef\n")}),
            inputs);
        CHECK(next.driver == "nvidia");
        CHECK(next.alternatives == std::vector<std::string>{"nouveau"});
        CHECK(pt::model::describe(next)
              == "next boot: 0000:81:00.0 -> nvidia or nouveau, its host driver (nothing gives "
                 "it to vfio-pci)");
    }
    SECTION("the command line's vfio-pci.ids= comes last and counts; subsystem IDs match") {
        const auto next = pt::model::predict_next_boot(
            dev,
            config({file("vfio.conf", "options vfio-pci ids=10de:1aef\n")},
                   "quiet vfio-pci.ids=10DE:2204:1458:403b"),
            inputs);
        CHECK(next.driver == "vfio-pci");
        CHECK(next.reason == "by vfio-pci ids= in /proc/cmdline");
    }
    SECTION("a space in the list splits it: the second ID is not vfio-pci's") {
        const auto next = pt::model::predict_next_boot(
            dev, config({}, "vfio-pci.ids=10de:1aef, 10de:2204"), inputs);
        CHECK(next.driver == "nvidia");
    }
    SECTION("pt's hook binds by driver_override whatever ids= says") {
        inputs.by_override = {dev.address};
        const auto next = pt::model::predict_next_boot(dev, config({}), inputs);
        CHECK(next.driver == "vfio-pci");
        CHECK(next.reason == "by driver_override in /etc/initramfs-tools/scripts/init-top/pt-vfio");
    }
}

TEST_CASE("predict_next_boot: blacklisted host drivers leave the device without one",
          "[model][next_boot]") {
    const auto dev = gpu("0000:81:00.0", 0x2204);
    const auto inputs = nvidia_modules();
    SECTION("blacklist lines in a file and module_blacklist= on the command line") {
        const auto next = pt::model::predict_next_boot(
            dev,
            config({file("pt-blacklist.conf", "blacklist nouveau\n")}, "module_blacklist=nvidia"),
            inputs);
        CHECK_FALSE(next.driver);
        CHECK(pt::model::describe(next)
              == "next boot: 0000:81:00.0 -> no driver (nothing gives it to vfio-pci; nvidia "
                 "module_blacklist= in /proc/cmdline; nouveau blacklisted in "
                 "/etc/modprobe.d/pt-blacklist.conf:1)");
    }
    SECTION("install /bin/false keeps one; the other still loads") {
        const auto next = pt::model::predict_next_boot(
            dev, config({file("x.conf", "install nvidia /bin/false\n")}), inputs);
        CHECK(next.driver == "nouveau");
        CHECK(next.alternatives.empty());
        CHECK(next.reason.find("`install nvidia` in /etc/modprobe.d/x.conf:1")
              != std::string::npos);
    }
    SECTION("no known host driver and no vfio-pci: said so") {
        pt::model::NextBootInputs none;
        const auto next = pt::model::predict_next_boot(dev, config({}), none);
        CHECK_FALSE(next.driver);
        CHECK(next.reason.find("pt knows no host driver") != std::string::npos);
    }
}

TEST_CASE("grub::apply_changes gives the command line the next boot gets", "[boot][cmdline]") {
    using Kind = pt::conf::ParamChange::Kind;
    const auto change = [](Kind kind,
                           const char* name,
                           std::optional<std::string> old_value,
                           std::optional<std::string> new_value) {
        pt::grub::PlannedChange planned;
        planned.change.kind = kind;
        planned.change.name = name;
        planned.change.old_value = std::move(old_value);
        planned.change.new_value = std::move(new_value);
        return planned;
    };
    const auto before = pt::kernel::parse_cmdline("quiet intel_iommu=off amd_iommu=on iommu=pt");
    const auto after =
        pt::grub::apply_changes(before,
                                {change(Kind::replace, "intel_iommu", "off", "on"),
                                 change(Kind::remove, "amd_iommu", "on", std::nullopt),
                                 change(Kind::add, "vfio-pci.ids", std::nullopt, "10de:2204")});
    CHECK(after
          == pt::kernel::parse_cmdline("quiet intel_iommu=on iommu=pt vfio-pci.ids=10de:2204"));
    CHECK(pt::grub::apply_changes(before, {}) == before);
}
