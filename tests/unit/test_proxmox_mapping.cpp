// SPDX-License-Identifier: MIT
#include "pt/error.hpp"
#include "pt/pci/topology.hpp"
#include "pt/proxmox/mapping.hpp"
#include "support/catch.hpp"
#include "support/devices.hpp"

#include <algorithm>
#include <string>

using pt::check::Status;
using pt::proxmox::check_mappings;
using pt::proxmox::format_map_value;
using pt::proxmox::parse_mapping_file;
using pt::proxmox::set_node_map;

namespace {

const std::string k_file = "# comment\n"
                           "gpu0\n"
                           "\tmap id=10de:2204,iommugroup=16,node=pve1,path=0000:0b:00,"
                           "subsystem-id=1458:403b\n"
                           "\tmap id=10de:2204,iommugroup=22,node=pve2,path=0000:41:00\n"
                           "\tdescription the GPU\n"
                           "\n"
                           "nic\n"
                           "\tmap id=8086:1539,node=pve2,path=0000:05:00.0\n";

pt::pci::Topology topology() {
    pt::pci::Topology t;
    auto gpu = pt::test::make_device("0000:0b:00.0", 0x030000, "vfio-pci", 0x10de, 0x2204);
    gpu.subsystem_vendor = 0x1458;
    gpu.subsystem_device = 0x403b;
    gpu.iommu_group = 16;
    t.devices.push_back(gpu);
    return t;
}

} // namespace

TEST_CASE("parse_mapping_file", "[proxmox][mapping]") {
    const auto file = parse_mapping_file(k_file);
    REQUIRE(file.mappings.size() == 2);
    const auto* gpu = file.find("gpu0");
    REQUIRE(gpu);
    CHECK(gpu->line == 2);
    REQUIRE(gpu->maps.size() == 2);
    CHECK(gpu->maps[0].node == "pve1");
    CHECK(gpu->maps[0].iommugroup == 16);
    CHECK(gpu->maps[0].subsystem_id == "1458:403b");
    CHECK(gpu->maps[0].paths.size() == 1);
    CHECK(gpu->maps[0].problems.empty());
    CHECK(gpu->maps[1].line == 4);
    CHECK_FALSE(file.find("nope"));
    const auto bad = parse_mapping_file("x1\n\tmap node=a,path=0b:00\n");
    REQUIRE(bad.mappings.size() == 1);
    CHECK(bad.mappings[0].maps[0].problems.size() == 2); // no domain, no id
}

TEST_CASE("set_node_map changes one line only", "[proxmox][mapping]") {
    const auto value = format_map_value("10de:2204", 17, "pve1", "0000:0c:00", std::nullopt);
    CHECK(value == "id=10de:2204,iommugroup=17,node=pve1,path=0000:0c:00");
    SECTION("the node's only line is replaced") {
        const auto out = set_node_map(k_file, "gpu0", "pve1", "0000:0c:00", value);
        std::string want = k_file;
        const auto line = std::string("\tmap id=10de:2204,iommugroup=16,node=pve1,path=0000:0b:00,"
                                      "subsystem-id=1458:403b");
        want.replace(want.find(line), line.size(), "\tmap " + value);
        CHECK(out == want);
        CHECK(set_node_map(out, "gpu0", "pve1", "0000:0c:00", value) == out);
    }
    SECTION("a node without a line gets one after the mapping's last line") {
        const auto out = set_node_map(k_file, "nic", "pve1", "0000:0c:00", value);
        CHECK(out == k_file + "\tmap " + value + "\n");
    }
    SECTION("a new mapping is appended as a section") {
        const auto out = set_node_map(k_file, "new", "pve1", "0000:0c:00", value);
        CHECK(out == k_file + "\nnew\n\tmap " + value + "\n");
        CHECK(set_node_map("", "new", "pve1", "0000:0c:00", value) == "new\n\tmap " + value + "\n");
    }
}

TEST_CASE("check_mappings compares like qemu-server", "[proxmox][mapping]") {
    const auto t = topology();
    SECTION("valid entry, and a mapping with no entry for the node") {
        const auto findings = check_mappings(parse_mapping_file(k_file), t, "pve1", std::nullopt);
        REQUIRE(findings.size() == 2);
        CHECK(findings[0].id == "mapping.valid");
        CHECK(findings[0].status == Status::pass);
        CHECK(findings[1].id == "mapping.no-node-entry");
        CHECK(findings[1].status == Status::warn);
    }
    SECTION("renumbered group, changed card, missing device, subsystem") {
        const auto check_one = [&](const std::string& map) {
            const auto findings =
                check_mappings(parse_mapping_file("m1\n\tmap " + map + "\n"), t, "pve1", "m1");
            REQUIRE(findings.size() == 1);
            CHECK(findings[0].status == Status::fail);
            CHECK(findings[0].evidence.find("pci.cfg:2") != std::string::npos);
            return findings[0].id;
        };
        CHECK(check_one("id=10de:2204,iommugroup=12,node=pve1,path=0000:0b:00,subsystem-id=1458:"
                        "403b")
              == "mapping.iommugroup-mismatch");
        CHECK(check_one("id=10de:2206,node=pve1,path=0000:0b:00.0,subsystem-id=1458:403b")
              == "mapping.id-mismatch");
        CHECK(check_one("id=10de:2204,node=pve1,path=0000:0c:00.0") == "mapping.device-missing");
        CHECK(check_one("id=10de:2204,node=pve1,path=0000:0b:00.0")
              == "mapping.subsystem-mismatch");
        CHECK(check_one("node=pve1,path=0000:0b:00.0") == "mapping.invalid");
    }
    SECTION("an unknown mapping name is an error") {
        CHECK_THROWS_AS(check_mappings(parse_mapping_file(k_file), t, "pve1", "nope"), pt::Error);
    }
}

// pve-common src/PVE/SectionConfig.pm parse_config: what Proxmox makes of odd files, and where
// set_node_map writes so that Proxmox reads the entry where pt meant it.
TEST_CASE("pci.cfg is read and written as SectionConfig::parse_config reads it",
          "[proxmox][mapping]") {
    const std::string pve2 = "id=10de:2204,iommugroup=22,node=pve2,path=0000:41:00";
    const std::string pve3 = "id=10de:2204,node=pve3,path=0000:42:00";
    const auto value = format_map_value("10de:2204", 16, "pve1", "0000:0b:00", "1458:403b");
    const auto has_entry = [&](const std::string& text, const std::string& id) {
        const auto file = parse_mapping_file(text);
        const auto* m = file.find(id);
        return m != nullptr && std::any_of(m->maps.begin(), m->maps.end(), [&](const auto& e) {
                   return e.node == "pve1" && e.value == value;
               });
    };
    SECTION("a stray unindented line is ignored and does not end the section (the bug's repro)") {
        const std::string text = "gpu0\n\tmap " + pve2 + "\nstray\n\tmap " + pve3 + "\n";
        const auto file = parse_mapping_file(text);
        REQUIRE(file.mappings.size() == 1);
        CHECK(file.mappings[0].id == "gpu0");
        CHECK(file.mappings[0].maps.size() == 2);
        REQUIRE(file.ignored.size() == 1);
        CHECK(file.ignored[0].line == 3);
        CHECK(file.ignored[0].text == "stray");
        const auto out = set_node_map(text, "gpu0", "pve1", "0000:0b:00", value);
        CHECK(out == text + "\tmap " + value + "\n");
        CHECK(has_entry(out, "gpu0"));
        // --check finds the entry; a second --apply has nothing to do.
        const auto t = topology();
        const auto findings = check_mappings(parse_mapping_file(out), t, "pve1", "gpu0");
        REQUIRE(findings.size() == 1);
        CHECK(findings[0].id == "mapping.valid");
        CHECK(set_node_map(out, "gpu0", "pve1", "0000:0b:00", value) == out);
    }
    SECTION("an unindented ID right after a section is a stray line of it, not a mapping") {
        // fuzz/regressions/mapping/next-header-without-blank-line-min: parse_config's inner
        // loop runs to the next empty line, so "other" and the map line after it belong to gpu.
        const std::string text = "gpu\n\tmap id=10de:2204,node=pve2,path=0000:02:00.0\nother\n"
                                 "\tmap id=10de:2204,node=pve1,path=0000:03:00.0\n";
        const auto file = parse_mapping_file(text);
        REQUIRE(file.mappings.size() == 1);
        CHECK_FALSE(file.find("other"));
        CHECK(file.find("gpu")->maps.size() == 2);
        // pve1's only entry of gpu is the one on line 4: that line is the one set.
        const auto v = format_map_value("10de:2204", std::nullopt, "pve1", "0000:01:00.0", {});
        const auto out = set_node_map(text, "gpu", "pve1", "0000:01:00.0", v);
        CHECK(out
              == "gpu\n\tmap id=10de:2204,node=pve2,path=0000:02:00.0\nother\n\tmap " + v + "\n");
        CHECK(set_node_map(out, "gpu", "pve1", "0000:01:00.0", v) == out);
    }
    SECTION("comments inside a section are skipped and do not end it") {
        const std::string text =
            "gpu0\n\tmap " + pve2 + "\n# a comment\n\t# an indented one\n\tmap " + pve3 + "\n";
        CHECK(parse_mapping_file(text).find("gpu0")->maps.size() == 2);
        const auto out = set_node_map(text, "gpu0", "pve1", "0000:0b:00", value);
        CHECK(out == text + "\tmap " + value + "\n");
    }
    SECTION("the map line goes after the last property, before the empty line") {
        const std::string text =
            "gpu0\n\tmap " + pve2 + "\n# trailing comment\n\nnic\n\tmap " + pve3 + "\n";
        const auto out = set_node_map(text, "gpu0", "pve1", "0000:0b:00", value);
        CHECK(out
              == "gpu0\n\tmap " + pve2 + "\n\tmap " + value + "\n# trailing comment\n\nnic\n\tmap "
                     + pve3 + "\n");
        CHECK(has_entry(out, "gpu0"));
    }
    SECTION("a whitespace-only line does not end a section; only an empty one does") {
        const std::string text = "gpu0\n\tmap " + pve2 + "\n \t\nnic\n\tmap " + pve3 + "\n";
        const auto file = parse_mapping_file(text);
        REQUIRE(file.mappings.size() == 1);
        CHECK(file.mappings[0].maps.size() == 2);
        CHECK_FALSE(file.find("nic"));
        // A new section for nic must come after a truly empty line.
        const auto out = set_node_map(text, "nic", "pve1", "0000:0b:00", value);
        CHECK(out == text + "\nnic\n\tmap " + value + "\n");
        CHECK(has_entry(out, "nic"));
    }
    SECTION("no trailing newline, no trailing empty line") {
        const std::string text = "gpu0\n\tmap " + pve2;
        CHECK(set_node_map(text, "gpu0", "pve1", "0000:0b:00", value) == text + "\n\tmap " + value);
        const auto appended = set_node_map(text, "nic", "pve1", "0000:0b:00", value);
        CHECK(appended == text + "\n\nnic\n\tmap " + value + "\n");
        CHECK(has_entry(appended, "nic"));
        CHECK(parse_mapping_file(appended).find("gpu0")->maps.size() == 1);
        CHECK(set_node_map("gpu0\n", "gpu0", "pve1", "0000:0b:00", value)
              == "gpu0\n\tmap " + value + "\n");
    }
    SECTION("CRLF: a \"\\r\" line ends no section, the \\r is not part of a value") {
        // split(/\n/) keeps the \r; /\s*$/ drops it from a value; "\r" is true in Perl.
        const std::string text = "gpu0\r\n\tmap " + pve2 + "\r\n\r\nnic\r\n\tmap " + pve3 + "\r\n";
        const auto file = parse_mapping_file(text);
        REQUIRE(file.mappings.size() == 1);
        REQUIRE(file.mappings[0].maps.size() == 2);
        CHECK(file.mappings[0].maps[0].value == pve2);
        CHECK(file.mappings[0].maps[0].problems.empty());
        const auto out = set_node_map(text, "gpu0", "pve1", "0000:0b:00", value);
        CHECK(out == text + "\tmap " + value + "\r\n");
        CHECK(has_entry(out, "gpu0"));
        const auto nic = set_node_map(text, "nic", "pve1", "0000:0b:00", value);
        CHECK(nic == text + "\nnic\n\tmap " + value + "\n");
        CHECK(has_entry(nic, "nic"));
        // A replaced line keeps its \r.
        const std::string own = "gpu0\r\n\tmap id=10de:2204,node=pve1,path=0000:0b:00\r\n";
        CHECK(set_node_map(own, "gpu0", "pve1", "0000:0b:00", value)
              == "gpu0\r\n\tmap " + value + "\r\n");
    }
    SECTION("a repeated ID: the last section counts, and is the one edited") {
        const std::string text =
            "gpu0\n\tmap " + pve2 + "\n\ngpu0\n\tmap " + pve3 + "\n\nnic\n\tmap " + pve3 + "\n";
        const auto file = parse_mapping_file(text);
        REQUIRE(file.mappings.size() == 2);
        REQUIRE(file.find("gpu0")->maps.size() == 1);
        CHECK(file.find("gpu0")->maps[0].node == "pve3");
        const auto out = set_node_map(text, "gpu0", "pve1", "0000:0b:00", value);
        CHECK(out
              == "gpu0\n\tmap " + pve2 + "\n\ngpu0\n\tmap " + pve3 + "\n\tmap " + value
                     + "\n\nnic\n\tmap " + pve3 + "\n");
    }
    SECTION("a header that is not a mapping ID skips its whole section") {
        const std::string text = "9gpu\n\tmap " + pve2 + "\n\ngpu0 extra\n\tmap " + pve3 + "\n";
        const auto file = parse_mapping_file(text);
        CHECK(file.mappings.empty());
        CHECK(file.ignored.size() == 3); // 9gpu, "gpu0 extra", and the map line after it
    }
}
