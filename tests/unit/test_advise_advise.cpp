// SPDX-License-Identifier: MIT
#include "pt/advise/advise.hpp"
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/model/host.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <algorithm>
#include <string>

using pt::advise::advise;
using pt::advise::Recommendation;
using pt::advise::Request;
using pt::test::DeviceSpec;
using pt::test::TempRoot;

namespace {

DeviceSpec gpu_function(std::string address,
                        std::string vendor,
                        std::string device,
                        std::string class_code,
                        int group,
                        std::string driver) {
    DeviceSpec spec;
    spec.address = std::move(address);
    spec.vendor = std::move(vendor);
    spec.device = std::move(device);
    spec.class_code = std::move(class_code);
    spec.iommu_group = group;
    spec.driver = std::move(driver);
    spec.attrs = {{"boot_vga", "0\n"}, {"reset_method", "bus\n"}};
    return spec;
}

// An AMD host (svm, IOMMU on) on 6.8 with a BMC display, and a card of `vendor`:`device` at
// 81:00 (display function and audio, alone in group 31, on `driver`).
void host(TempRoot& tmp,
          const std::string& vendor,
          const std::string& device,
          const std::string& driver = "nvidia") {
    tmp.write("/proc/cpuinfo", "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: svm\n");
    tmp.write("/proc/sys/kernel/osrelease", "6.8.12-4-pve\n");
    tmp.write("/proc/cmdline",
              "BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve root=/dev/mapper/pve-root ro\n");
    tmp.write("/proc/sys/kernel/hostname", "pve1\n");
    tmp.mkdir("/sys/class/iommu/ivhd0");
    tmp.write("/dev/kvm", "");
    tmp.add_device(gpu_function("0000:81:00.0", vendor, device, "030000", 31, driver));
    tmp.add_device(gpu_function("0000:81:00.1", vendor, "1aef", "040300", 31, "snd_hda_intel"));
    DeviceSpec bmc;
    bmc.address = "0000:c2:00.0";
    bmc.vendor = "1a03";
    bmc.device = "2000";
    bmc.driver = "ast";
    bmc.iommu_group = 41;
    bmc.attrs = {{"boot_vga", "1\n"}};
    tmp.add_device(bmc);
}

pt::advise::Advice advice_for(const TempRoot& tmp, const Request& request = {}) {
    const pt::model::Host model{pt::host::Root(tmp.path())};
    return advise(model, request);
}

bool mentions(const std::vector<std::string>& lines, std::string_view text) {
    return std::any_of(lines.begin(), lines.end(), [&](const auto& line) {
        return line.find(text) != std::string::npos;
    });
}

} // namespace

TEST_CASE("advise: an isolated card that resets goes to a VM; --share and containers say LXC",
          "[advise]") {
    TempRoot tmp;
    host(tmp, "10de", "2204");
    auto advice = advice_for(tmp);
    CHECK(pt::pci::format_slot(advice.card) == "0000:81:00");
    CHECK(advice.recommendation == Recommendation::vm);
    CHECK(advice.next == "pt setup 0000:81:00 --vm VMID");
    CHECK(mentions(advice.reasons, "its group is isolated and it resets"));

    // A VM that passes it already is the one named.
    tmp.write("/etc/pve/nodes/pve1/qemu-server/100.conf", "hostpci0: 0000:81:00,pcie=1\n");
    advice = advice_for(tmp, Request{std::nullopt, true, false});
    CHECK(advice.recommendation == Recommendation::vm);
    CHECK(advice.next == "pt setup 0000:81:00 --vm 100 --display");

    // --share: containers, with the card's own NVIDIA node from the driver's information.
    tmp.write("/proc/driver/nvidia/gpus/0000:81:00.0/information",
              "Model: \t\t NVIDIA GeForce RTX 3090\nIRQ:   \t\t 150\nDevice Minor: \t 1\n");
    advice = advice_for(tmp, Request{std::nullopt, false, true});
    CHECK(advice.recommendation == Recommendation::lxc);
    // VM 100 passes the card: it comes out of the VM first.
    CHECK(advice.next
          == "pt vmconf 100 --remove 0000:81:00 --apply (VM 100 takes the card from the host "
             "whenever it starts), then pt lxc CTID 0000:81:00");
    CHECK(mentions(advice.risks, "Driver/library version mismatch"));

    CHECK_THROWS_AS(advice_for(tmp, Request{std::nullopt, true, true}), pt::UsageError);
}

TEST_CASE("advise: containers already on the card's own nodes keep it on LXC", "[advise]") {
    TempRoot tmp;
    host(tmp, "1002", "744c", "amdgpu");
    tmp.write("/sys/bus/pci/devices/0000:81:00.0/drm/card1/dev", "226:1\n");
    tmp.write("/sys/bus/pci/devices/0000:81:00.0/drm/renderD128/dev", "226:128\n");
    tmp.write("/etc/pve/nodes/pve1/lxc/200.conf",
              "arch: amd64\ndev0: /dev/dri/renderD128,gid=104\n");
    // A snapshot's old lines do not count.
    tmp.write("/etc/pve/nodes/pve1/lxc/201.conf",
              "arch: amd64\n[before]\ndev0: /dev/dri/renderD128\n");
    // Another card's node (renderD1280 is not renderD128) does not count either.
    tmp.write("/etc/pve/nodes/pve1/lxc/202.conf", "arch: amd64\ndev0: /dev/dri/renderD1280\n");
    const auto advice = advice_for(tmp);
    CHECK(advice.recommendation == Recommendation::lxc);
    CHECK(advice.reasons.front()
          == "container 200 already uses the card through the host's driver");
    CHECK(advice.next == "pt lxc CTID 0000:81:00");
    CHECK(mentions(advice.risks, "gid=GID"));
}

TEST_CASE(
    "advise: a reset bug or the host's only display makes compute an LXC job, display bare metal",
    "[advise]") {
    TempRoot tmp;
    host(tmp, "1002", "67df", "amdgpu"); // Polaris 10: the AMD reset bug
    auto advice = advice_for(tmp);
    CHECK(advice.recommendation == Recommendation::lxc);
    CHECK(mentions(advice.reasons, "AMD Polaris 10 cannot be reset without vendor-reset"));
    CHECK(advice.next == "pt lxc CTID 0000:81:00");

    advice = advice_for(tmp, Request{std::nullopt, true, false});
    CHECK(advice.recommendation == Recommendation::bare_metal);
    CHECK(advice.next == "none: keep the card on the host's own driver");
    CHECK(mentions(advice.risks, "a VM is still possible once install gnif/vendor-reset"));
    CHECK(pt::advise::to_string(advice.recommendation) == "bare-metal");
}

TEST_CASE("advise: NVIDIA Blackwell is a VM with its reset risk named", "[advise]") {
    TempRoot tmp;
    host(tmp, "10de", "2b85");
    const auto advice = advice_for(tmp);
    CHECK(advice.recommendation == Recommendation::vm);
    CHECK(mentions(advice.risks, "NVIDIA Blackwell (10de:2b85)"));
}

TEST_CASE("advise: which card, and where advice makes no sense", "[advise]") {
    TempRoot tmp;
    host(tmp, "10de", "2204");
    CHECK_THROWS_WITH(advice_for(tmp, Request{std::string("05:00"), false, false}),
                      Catch::Contains("05:00 names no GPU of this host"));
    // The BMC's display is not a card to give away, even when named.
    CHECK_THROWS_AS(advice_for(tmp, Request{std::string("c2:00"), false, false}), pt::Error);
    auto second = gpu_function("0000:82:00.0", "10de", "2204", "030000", 32, "nvidia");
    tmp.add_device(second);
    CHECK_THROWS_WITH(advice_for(tmp),
                      Catch::Contains("this host has 2 GPUs it could give away; name one: pt "
                                      "advise 0000:81:00, pt advise 0000:82:00"));
    CHECK_THROWS_AS(advice_for(tmp, Request{std::string("10de:2204"), false, false}),
                    pt::UsageError);
    CHECK(pt::pci::format_slot(advice_for(tmp, Request{std::string("82:00.0"), false, false}).card)
          == "0000:82:00");

    TempRoot guest;
    host(guest, "10de", "2204");
    guest.write("/proc/cpuinfo",
                "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: svm hypervisor\n");
    CHECK_THROWS_WITH(advice_for(guest), Catch::Contains("this is a VM guest"));
}

TEST_CASE("advise: text and JSON say the same", "[advise]") {
    pt::advise::Advice advice;
    advice.card = pt::pci::Address{0, 0x81, 0, 0};
    advice.card_name = "10de:2204 GA102";
    advice.recommendation = Recommendation::lxc;
    advice.reasons = {"one"};
    advice.risks = {"two"};
    advice.next = "pct set CTID --dev0 /dev/nvidia0";
    CHECK(pt::advise::render_text(advice)
          == "pt advise: 0000:81:00 10de:2204 GA102\n"
             "recommendation: lxc (share it into containers through the host's driver)\n"
             "why:\n  - one\nrisks:\n  - two\nnext: pct set CTID --dev0 /dev/nvidia0\n");
    CHECK(
        pt::advise::to_json(advice).dump()
        == R"({"card":"0000:81:00","name":"10de:2204 GA102","recommendation":"lxc","reasons":["one"],"risks":["two"],"next":"pct set CTID --dev0 /dev/nvidia0"})");
}
