// SPDX-License-Identifier: MIT
#include "pt/pci/address.hpp"
#include "pt/setup/plan.hpp"
#include "pt/setup/render.hpp"
#include "support/catch.hpp"

#include <string>

using pt::setup::Planned;
using pt::setup::Request;
using pt::setup::Step;

namespace {

Planned sample() {
    Planned planned;
    planned.slots = {*pt::pci::parse_address("0000:81:00.0")};
    Step cmdline{"kernel command line", "pt grub --apply", {}, {}};
    Step drivers{"host drivers", "pt blacklist 0000:81:00 --apply", {}, "no display function"};
    Step vm{"VM 100", "pt vmconf 100 0000:81:00 --compute --apply", {}, {}};
    vm.plan.files.push_back({"/etc/pve/qemu-server/100.conf", "a\n", "b\n", 0644, "VM 100"});
    planned.steps = {cmdline, drivers, vm};
    planned.remaining = {"reboot the host", "pt verify --vm 100"};
    return planned;
}

Request request_of(pt::proxmox::GpuRole role, int vmid = 100) {
    Request request;
    pt::setup::Card card;
    card.selector = "81:00";
    card.vmid = vmid;
    card.role = role;
    request.cards.push_back(card);
    return request;
}

const auto k_compute = pt::proxmox::GpuRole::compute;
const auto k_display = pt::proxmox::GpuRole::display;

} // namespace

TEST_CASE("setup::render_steps", "[setup][render]") {
    CHECK(pt::setup::render_steps(request_of(k_compute), sample())
          == "pt setup: 0000:81:00 into VM 100 (compute)\n"
             "  1. kernel command line  already in place\n"
             "                          alone: pt grub --apply\n"
             "  2. host drivers         not needed\n"
             "                          alone: pt blacklist 0000:81:00 --apply\n"
             "  3. VM 100               /etc/pve/qemu-server/100.conf\n"
             "                          alone: pt vmconf 100 0000:81:00 --compute --apply\n"
             "\n");
    CHECK_THAT(pt::setup::render_steps(request_of(k_display), sample()),
               Catch::StartsWith("pt setup: 0000:81:00 into VM 100 (display)\n"));
}

TEST_CASE("setup::render_remaining", "[setup][render]") {
    CHECK(pt::setup::render_remaining(sample(), false)
          == "after --apply: reboot the host, then pt verify --vm 100\n");
    CHECK(pt::setup::render_remaining(sample(), true)
          == "what remains:\n  1. reboot the host\n  2. pt verify --vm 100\n");
}

TEST_CASE("setup::add_to_json", "[setup][render]") {
    pt::out::Json json = pt::out::Json::object();
    pt::setup::add_to_json(json, request_of(k_compute), sample());
    CHECK(json["card"] == "0000:81:00");
    CHECK(json["vmid"] == 100);
    CHECK(json["use"] == "compute");
    REQUIRE(json["steps"].size() == 3);
    CHECK(json["steps"][0]["files"] == pt::out::Json::array());
    CHECK(json["steps"][0]["skipped"].is_null());
    CHECK(json["steps"][1]["skipped"] == "no display function");
    CHECK(json["steps"][2]["files"] == pt::out::Json::array({"/etc/pve/qemu-server/100.conf"}));
    CHECK(json["steps"][2]["command"] == "pt vmconf 100 0000:81:00 --compute --apply");
    CHECK(json["remaining"] == pt::out::Json::array({"reboot the host", "pt verify --vm 100"}));
    CHECK(json["cards"]
          == pt::out::Json::array({{{"card", "0000:81:00"}, {"vmid", 100}, {"use", "compute"}}}));
}

TEST_CASE("setup::render_steps and add_to_json with two cards", "[setup][render]") {
    auto request = request_of(k_compute);
    request.cards.push_back(request_of(k_display, 101).cards[0]);
    auto planned = sample();
    planned.slots.push_back(*pt::pci::parse_address("0000:82:00.0"));
    CHECK_THAT(pt::setup::render_steps(request, planned),
               Catch::StartsWith("pt setup: 0000:81:00 into VM 100 (compute)\n"
                                 "pt setup: 0000:82:00 into VM 101 (display)\n"
                                 "  1. kernel command line"));
    pt::out::Json json = pt::out::Json::object();
    pt::setup::add_to_json(json, request, planned);
    CHECK(json["card"] == "0000:81:00");
    REQUIRE(json["cards"].size() == 2);
    CHECK(json["cards"][1]["card"] == "0000:82:00");
    CHECK(json["cards"][1]["vmid"] == 101);
    CHECK(json["cards"][1]["use"] == "display");
}
