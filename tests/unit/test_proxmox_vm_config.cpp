// SPDX-License-Identifier: MIT
#include "pt/proxmox/vm_config.hpp"
#include "support/catch.hpp"

#include <string>
#include <vector>

using pt::proxmox::format_hostpci;
using pt::proxmox::hostpci_index;
using pt::proxmox::parse_bool;
using pt::proxmox::parse_host_id;
using pt::proxmox::parse_hostpci;
using pt::proxmox::SectionKind;
using pt::proxmox::VmConfig;

namespace {

// Shapes seen in real configs: description lines (URI-encoded), unknown keys, args with quotes,
// [PENDING] with delete:, [special:cloudinit], snapshots, CRLF, no final newline.
const std::vector<std::string> k_samples = {
    "",
    "memory: 1024",
    "# TEST: a description%3A here\nbios: ovmf\nhostpci0: f0:43\nhostpci1: 1234:f0:43\n",
    "args: -cpu 'host,+kvm_pv_unhalt,kvm=off'\ncpu: host,hidden=1,flags=+pcid\n"
    "hostpci0: 0f:00,pcie=1\nmachine: pc-q35-5.2\n",
    "boot: order=scsi0\ncores: 2\nparent: foo\n\n[PENDING]\nbios: ovmf\ndelete: vga,net1\n\n"
    "[special:cloudinit]\nipconfig0: ip=dhcp\nname: deb122\n\n[foo]\ncores: 2\nsnaptime: "
    "1737548747\n",
    "memory: 512\r\nname: crlf\r\n",
    "hostpci0: 0000:0a:00,pcie=1,,x-vga=1\nweird line without colon\n   \nzz-unknown: 1\n",
    "[PENDING]\n[PENDING]\nvga: qxl\n\n[foo]\n[foo]\ncores: 4",
};

} // namespace

TEST_CASE("VmConfig keeps every byte", "[proxmox][vm_config]") {
    for (const auto& sample : k_samples) {
        const auto config = VmConfig::parse(sample);
        CHECK(config.text() == sample);
        std::size_t total = 0;
        for (const auto& line : config.lines()) {
            total += line.length;
        }
        CHECK(total == sample.size());
    }
}

TEST_CASE("VmConfig reads sections and the main section's keys", "[proxmox][vm_config]") {
    const auto config = VmConfig::parse(k_samples[4]);
    REQUIRE(config.sections().size() == 4);
    CHECK(config.sections()[1].kind == SectionKind::pending);
    CHECK(config.sections()[2].kind == SectionKind::special);
    CHECK(config.sections()[3].kind == SectionKind::snapshot);
    CHECK(config.sections()[3].name == "foo");
    CHECK(config.get("cores") == "2");
    CHECK_FALSE(config.get("bios")); // only in [PENDING]
    CHECK_FALSE(config.get("snaptime"));
    CHECK(config.get_pending("bios") == "ovmf");
    CHECK(config.pending_deletes() == std::vector<std::string>{"vga", "net1"});
    const auto effective = config.effective();
    CHECK(std::find(effective.begin(),
                    effective.end(),
                    std::pair<std::string, std::string>{"bios", "ovmf"})
          != effective.end());

    const auto crlf = VmConfig::parse(k_samples[5]);
    CHECK(crlf.get("name") == "crlf"); // trailing whitespace (\r) trimmed as qemu-server does

    const auto odd = VmConfig::parse(k_samples[6]);
    CHECK(odd.lines()[1].kind == pt::proxmox::ConfigLine::Kind::invalid);
    CHECK(odd.get("zz-unknown") == "1");
    const auto found = odd.find("hostpci0");
    REQUIRE(found);
    CHECK(found->line == 1);

    const auto twice = VmConfig::parse("cores: 1\ncores: 2\n");
    CHECK(twice.get("cores") == "2"); // the last one wins
}

TEST_CASE("VmConfig::set edits one line or inserts in key order", "[proxmox][vm_config]") {
    SECTION("in place, keeping the rest") {
        auto config = VmConfig::parse("# desc\nbios: seabios\nmemory: 1024\n\n[snap]\nbios: x\n");
        CHECK(config.set("bios", "ovmf"));
        CHECK(config.text() == "# desc\nbios: ovmf\nmemory: 1024\n\n[snap]\nbios: x\n");
        CHECK_FALSE(config.set("bios", "ovmf")); // idempotent
    }
    SECTION("sorted insertion, as qemu-server's writer orders keys") {
        auto config = VmConfig::parse("bios: ovmf\nmemory: 1024\n\n[PENDING]\ncores: 2\n");
        CHECK(config.set("hostpci0", "0000:0b:00,pcie=1"));
        CHECK(config.set("machine", "q35"));
        CHECK(config.set("zz", "1"));
        CHECK(config.text()
              == "bios: ovmf\nhostpci0: 0000:0b:00,pcie=1\nmachine: q35\nmemory: 1024\nzz: 1\n"
                 "\n[PENDING]\ncores: 2\n");
    }
    SECTION("a file without a final newline keeps none") {
        auto config = VmConfig::parse("bios: ovmf\nmemory: 1024");
        CHECK(config.set("name", "x"));
        CHECK(config.text() == "bios: ovmf\nmemory: 1024\nname: x");
        CHECK(config.remove("name"));
        CHECK(config.text() == "bios: ovmf\nmemory: 1024");
    }
    SECTION("after the description in an empty main section") {
        auto config = VmConfig::parse("# only a description\n");
        CHECK(config.set("memory", "512"));
        CHECK(config.text() == "# only a description\nmemory: 512\n");
    }
    SECTION("CRLF lines keep their ending") {
        auto config = VmConfig::parse("memory: 512\r\nname: a\r\n");
        CHECK(config.set("name", "b"));
        CHECK(config.text() == "memory: 512\r\nname: b\r\n");
    }
    SECTION("remove drops every line of the key") {
        auto config = VmConfig::parse("a: 1\nhostpci0: x\nb: 2\nhostpci0: y\n");
        CHECK(config.remove("hostpci0"));
        CHECK(config.text() == "a: 1\nb: 2\n");
        CHECK_FALSE(config.remove("hostpci0"));
    }
}

TEST_CASE("VmConfig pending edits", "[proxmox][vm_config]") {
    SECTION("[PENDING] is created before special and snapshot sections") {
        auto config = VmConfig::parse("cores: 2\n\n[special:cloudinit]\nname: a\n\n[snap]\n");
        CHECK(config.set_pending("hostpci0", "0000:0b:00"));
        CHECK(config.text()
              == "cores: 2\n\n[PENDING]\nhostpci0: 0000:0b:00\n\n[special:cloudinit]\nname: "
                 "a\n\n[snap]\n");
        CHECK(config.get_pending("hostpci0") == "0000:0b:00");
        CHECK_FALSE(config.get("hostpci0"));
    }
    SECTION("at the end when there is no other section") {
        auto config = VmConfig::parse("cores: 2");
        CHECK(config.set_pending("machine", "q35"));
        CHECK(config.text() == "cores: 2\n\n[PENDING]\nmachine: q35\n");
    }
    SECTION("delete lists") {
        auto config = VmConfig::parse("cores: 2\nhostpci0: x\n\n[PENDING]\nvga: qxl\n");
        CHECK(config.add_pending_delete("hostpci0"));
        CHECK_FALSE(config.add_pending_delete("hostpci0"));
        CHECK(config.add_pending_delete("net1"));
        CHECK(config.pending_deletes() == std::vector<std::string>{"hostpci0", "net1"});
        CHECK(config.remove_pending_delete("hostpci0"));
        CHECK(config.remove_pending_delete("net1"));
        CHECK(config.text() == "cores: 2\nhostpci0: x\n\n[PENDING]\nvga: qxl\n");
    }
}

TEST_CASE("hostpci keys and booleans", "[proxmox][vm_config]") {
    CHECK(hostpci_index("hostpci0") == 0);
    CHECK(hostpci_index("hostpci15") == 15);
    CHECK(hostpci_index("hostpci16") == 16);
    CHECK_FALSE(hostpci_index("hostpci"));
    CHECK_FALSE(hostpci_index("hostpci01"));
    CHECK_FALSE(hostpci_index("usb0"));
    CHECK(parse_bool("on") == true);
    CHECK(parse_bool("YES") == true);
    CHECK(parse_bool("0") == false);
    CHECK(parse_bool("off") == false);
    CHECK_FALSE(parse_bool("2"));
}

TEST_CASE("parse_host_id", "[proxmox][vm_config]") {
    const auto slot = parse_host_id("81:00");
    REQUIRE(slot);
    CHECK(slot->all_functions);
    CHECK_FALSE(slot->domain_given);
    CHECK(slot->address.bus == 0x81);
    const auto fn = parse_host_id("0000:0a:00.1");
    REQUIRE(fn);
    CHECK_FALSE(fn->all_functions);
    CHECK(fn->address.function == 1);
    const auto domain = parse_host_id("1234:f0:43");
    REQUIRE(domain);
    CHECK(domain->address.domain == 0x1234);
    const auto upper = parse_host_id("0B:00.0");
    REQUIRE(upper);
    CHECK(upper->upper_case);
    CHECK_FALSE(parse_host_id("0b:00.0.1"));
    CHECK_FALSE(parse_host_id("b:00"));
    CHECK_FALSE(parse_host_id("gpu0"));
}

TEST_CASE("parse_hostpci", "[proxmox][vm_config]") {
    SECTION("a full GPU entry") {
        const auto h = parse_hostpci("0000:0a:00,pcie=1,rombar=0,romfile=Gigabyte.rom,x-vga=on");
        CHECK(h.problems.empty());
        REQUIRE(h.hosts.size() == 1);
        CHECK(h.hosts[0].all_functions);
        CHECK(h.pcie == true);
        CHECK(h.rombar == false);
        CHECK(h.x_vga == true);
        CHECK(h.romfile == "Gigabyte.rom");
        REQUIRE_FALSE(h.items.empty());
        CHECK(h.items[0].bare);
        CHECK(format_hostpci(h) == "0000:0a:00,pcie=1,rombar=0,romfile=Gigabyte.rom,x-vga=on");
    }
    SECTION("several IDs, host= spelled out, an empty part") {
        const auto h = parse_hostpci("host=02:00.0;02:00.1,,legacy-igd=1");
        CHECK(h.problems.empty());
        CHECK(h.hosts.size() == 2);
        CHECK(h.legacy_igd == true);
        CHECK(format_hostpci(h) == "host=02:00.0;02:00.1,legacy-igd=1");
    }
    SECTION("mapping") {
        const auto h = parse_hostpci("mapping=someGpu,mdev=some-model");
        CHECK(h.problems.empty());
        CHECK(h.mapping == "someGpu");
        CHECK(h.mdev == "some-model");
        CHECK(h.hosts.empty());
    }
    SECTION("what qemu-server rejects") {
        CHECK_FALSE(parse_hostpci("0b:00,pcie=maybe").problems.empty());
        CHECK_FALSE(parse_hostpci("0b:00,foo=1").problems.empty());
        CHECK_FALSE(parse_hostpci("0b:00,mapping=x").problems.empty());
        CHECK_FALSE(parse_hostpci("pcie=1").problems.empty());
        CHECK_FALSE(parse_hostpci("0b:00,pcie=1,pcie=0").problems.empty());
        CHECK_FALSE(parse_hostpci("gpu0").problems.empty());
    }
    SECTION("driver=vfio|keep (qemu-server 9.0.25), other drivers and an empty mapping=") {
        const auto d = parse_hostpci("0b:00,driver=keep");
        CHECK(d.problems.empty());
        CHECK(d.driver == "keep");
        CHECK(parse_hostpci("0b:00,driver=vfio").driver == "vfio");
        const auto other = parse_hostpci("0b:00,driver=nvidia");
        CHECK(other.problems
              == std::vector<std::string>{"driver=\"nvidia\" is not one of vfio, keep"});
        CHECK_FALSE(other.driver);
        const auto m = parse_hostpci("mapping=,pcie=1");
        CHECK(m.problems == std::vector<std::string>{"mapping= is empty (give a mapping ID)"});
        CHECK_FALSE(m.mapping);
    }
    SECTION("a second host, bare or spelled out, comes back as written (fuzz finding)") {
        for (const char* value : {"0000:01:00,host=1,x-vga=0",
                                  "host=1,0000:01:00,x-vga=0",
                                  "01:00,02:00",
                                  "x-vga=0,01:00,host=02:00,pcie=1"}) {
            const auto h = parse_hostpci(value);
            CHECK_FALSE(h.problems.empty());
            CHECK(format_hostpci(h) == value);
            CHECK(parse_hostpci(format_hostpci(h)).items == h.items);
        }
        const auto h = parse_hostpci("0000:01:00,host=1,x-vga=0");
        CHECK(h.problems == std::vector<std::string>{"\"host=1\": the host IDs are given twice"});
    }
    SECTION("set_item keeps order and the default key first") {
        auto h = parse_hostpci("0b:00.0,romfile=a.rom");
        pt::proxmox::set_item(h, "pcie", "1");
        pt::proxmox::set_item(h, "x-vga", "1");
        pt::proxmox::set_item(h, "host", "0000:0b:00");
        CHECK(format_hostpci(h) == "0000:0b:00,pcie=1,romfile=a.rom,x-vga=1");
        pt::proxmox::set_item(h, "mapping", "gpu0");
        CHECK(format_hostpci(h) == "mapping=gpu0,pcie=1,romfile=a.rom,x-vga=1");
        pt::proxmox::remove_item(h, "x-vga");
        CHECK(format_hostpci(h) == "mapping=gpu0,pcie=1,romfile=a.rom");
    }
}

TEST_CASE("effective_options: [PENDING] values with their lines, deletions left out",
          "[proxmox][vm_config]") {
    const auto config = pt::proxmox::VmConfig::parse(
        "bios: seabios\nmachine: q35\nmemory: 1\n\n[PENDING]\nbios: ovmf\ndelete: machine\n");
    CHECK(config.has_pending_changes());
    const auto options = config.effective_options();
    REQUIRE(options.size() == 2);
    CHECK(options[0].key == "bios");
    CHECK(options[0].value == "ovmf");
    CHECK(options[0].line == 6);
    CHECK(options[0].pending);
    CHECK(options[1].key == "memory");
    CHECK_FALSE(options[1].pending);
    CHECK_FALSE(pt::proxmox::VmConfig::parse("memory: 1\n\n[PENDING]\n").has_pending_changes());
}

TEST_CASE("parse_hostpci checks PCI.pm's value patterns", "[proxmox][vm_config]") {
    using pt::proxmox::parse_hostpci;
    CHECK(parse_hostpci("0b:00,mdev=nvidia-63").problems.empty());
    CHECK(parse_hostpci("0b:00,mdev=nvidia.12").problems.size() == 1);
    CHECK(parse_hostpci("0b:00,mdev=a/b").problems.size() == 1);
    CHECK(parse_hostpci("0b:00,vendor-id=0x10dE,device-id=0x2204").problems.empty());
    CHECK(parse_hostpci("0b:00,vendor-id=0x10dE,device-id=0x2204").id_overrides.size() == 2);
    CHECK(parse_hostpci("0b:00,vendor-id=1234").problems.size() == 1);
    CHECK(parse_hostpci("0b:00,sub-device-id=0x12345").problems.size() == 1);
    CHECK(parse_hostpci("0b:00,romfile=a;b").problems.size() == 1);
    CHECK_FALSE(parse_hostpci("0b:00,romfile=a;b").romfile);
    CHECK(parse_hostpci("0b:00,driver=foo").problems.size() == 1);
}
