// SPDX-License-Identifier: MIT
#include "pt/snapshot/manifest.hpp"
#include "pt/version.hpp"
#include "support/catch.hpp"

#include <cstddef>
#include <string>
#include <vector>

using pt::snapshot::Entry;
using pt::snapshot::Snapshot;

namespace {

Entry entry(const std::string& path, Entry::Type type, const std::string& content = {}) {
    Entry e;
    e.path = path;
    e.type = type;
    e.content = content;
    if (type == Entry::Type::symlink) {
        e.link_target = "../x";
    }
    return e;
}

// Taken from fixture root /srv/root on 1970-01-02: two files, a link, two folders; one of each
// kind of note.
Snapshot sample() {
    Snapshot snap;
    snap.source_root = "/srv/root";
    snap.created = 86400 + 3661;
    snap.entries = {entry("/etc", Entry::Type::directory),
                    entry("/etc/hostname", Entry::Type::file, "pve1\n"),
                    entry("/etc/modprobe.d", Entry::Type::directory),
                    entry("/etc/modprobe.d/vfio.conf", Entry::Type::file, "options vfio-pci\n"),
                    entry("/etc/pve", Entry::Type::symlink)};
    snap.collected = {{"configuration", "files", {"/etc/hostname", "/etc/modprobe.d/vfio.conf"}},
                      {"kernel log", "IOMMU lines", {"/var/lib/pt/snapshot/dmesg"}}};
    snap.redacted = {{"/etc/pve/qemu-server/100.conf", 3, "cipassword"},
                     {"/etc/pve/qemu-server/100.conf", 1, "#"}};
    snap.missing = {{"/proc/cmdline", "absent in the root"}};
    snap.refused = {{"/etc/pve/priv/authkey.key", "a secret"}};
    snap.kernel_log_lines = 7;
    return snap;
}

// The member names of an uncompressed tar stream, in order (ustar headers, no pax needed here).
std::vector<std::string> tar_names(const std::string& tar) {
    std::vector<std::string> names;
    std::size_t at = 0;
    while (at + 512 <= tar.size() && tar[at] != '\0') {
        names.emplace_back(tar.c_str() + at); // the name field is NUL-padded
        const std::size_t size = std::stoul(tar.substr(at + 124, 11), nullptr, 8);
        at += 512 + (size + 511) / 512 * 512;
    }
    return names;
}

} // namespace

TEST_CASE("snapshot::manifest: the JSON of pt snapshot --json", "[snapshot][manifest]") {
    const auto json = pt::snapshot::manifest(sample());
    CHECK(json["format"] == 1);
    CHECK(json["pt_version"] == pt::k_version);
    CHECK(json["created"] == "1970-01-02T01:01:01Z");
    CHECK(json["source_root"] == "/srv/root");
    CHECK(json["live"] == false);
    CHECK(json["counts"] == pt::out::Json({{"files", 2}, {"links", 1}, {"folders", 2}}));
    CHECK(json["kernel_log_lines"] == 7);
    REQUIRE(json["collected"].size() == 2);
    CHECK(json["collected"][0]
          == pt::out::Json({{"what", "configuration"},
                            {"detail", "files"},
                            {"count", 2},
                            {"paths", {"/etc/hostname", "/etc/modprobe.d/vfio.conf"}}}));
    CHECK(json["redacted"][0]
          == pt::out::Json(
              {{"path", "/etc/pve/qemu-server/100.conf"}, {"line", 3}, {"key", "cipassword"}}));
    CHECK(json["missing"]
          == pt::out::Json::array({{{"path", "/proc/cmdline"}, {"reason", "absent in the root"}}}));
    CHECK(json["refused"][0]["path"] == "/etc/pve/priv/authkey.key");
    REQUIRE(json["never_collected"].size() == 7);
    CHECK(json["never_collected"][0].get<std::string>().starts_with("/etc/pve/priv"));
    // The keys in the documented order.
    std::vector<std::string> keys;
    for (const auto& [key, value] : json.items()) {
        keys.push_back(key);
    }
    CHECK(keys
          == std::vector<std::string>{"format",
                                      "pt_version",
                                      "created",
                                      "source_root",
                                      "live",
                                      "counts",
                                      "kernel_log_lines",
                                      "collected",
                                      "redacted",
                                      "missing",
                                      "refused",
                                      "never_collected"});
}

TEST_CASE("snapshot::manifest: the archive holds the entries and the manifest in order",
          "[snapshot][manifest]") {
    const auto snap = sample();
    std::size_t members = 0;
    const auto bytes = pt::snapshot::archive(snap, members);
    const auto tar = pt::snapshot::gunzip(bytes);
    const auto names = tar_names(tar);
    CHECK(members == names.size());
    // The manifest's folders are added, each before its children, in bytewise order.
    CHECK(names
          == std::vector<std::string>{"etc/",
                                      "etc/hostname",
                                      "etc/modprobe.d/",
                                      "etc/modprobe.d/vfio.conf",
                                      "etc/pve",
                                      "var/",
                                      "var/lib/",
                                      "var/lib/pt/",
                                      "var/lib/pt/snapshot/",
                                      "var/lib/pt/snapshot/manifest.json"});
    const auto at = tar.find("{\n  \"format\": 1,");
    REQUIRE(at != std::string::npos);
    CHECK(tar.find("\"source_root\": \"/srv/root\"", at) != std::string::npos);
    // The same snapshot gives the same bytes.
    std::size_t again = 0;
    CHECK(pt::snapshot::archive(snap, again) == bytes);
}

TEST_CASE("snapshot::manifest: what pt snapshot prints", "[snapshot][manifest]") {
    const auto snap = sample();
    SECTION("quiet: the first line alone") {
        CHECK(pt::snapshot::summary(snap, "/tmp/s.tar.gz", 2048, 10, true)
              == "wrote /tmp/s.tar.gz: 10 members, 2.0 KiB, from /srv/root\n");
    }
    SECTION("full") {
        const auto text = pt::snapshot::summary(snap, "/tmp/s.tar.gz", 100, 10, false);
        CHECK_THAT(text,
                   Catch::StartsWith("wrote /tmp/s.tar.gz: 10 members, 100 bytes, from "
                                     "/srv/root\ncollected:\n"));
        // The kernel log counts its lines, the other categories their files.
        CHECK_THAT(text, Catch::Contains("  configuration                   2  files\n"));
        CHECK_THAT(text, Catch::Contains("  kernel log                      7  IOMMU lines\n"));
        CHECK_THAT(text,
                   Catch::Contains("redacted (2):\n"
                                   "  /etc/pve/qemu-server/100.conf line 3: cipassword\n"
                                   "  /etc/pve/qemu-server/100.conf line 1: a comment (VM "
                                   "notes)\n"));
        CHECK_THAT(text,
                   Catch::Contains("not collected (1):\n  /proc/cmdline: absent in the root\n"));
        CHECK_THAT(text, Catch::Contains("refused (1):\n  /etc/pve/priv/authkey.key: a secret\n"));
        CHECK_THAT(text,
                   Catch::EndsWith("use it offline: mkdir DIR && tar xzf /tmp/s.tar.gz -C DIR && "
                                   "pt --root DIR verify\n"));
    }
    SECTION("the live host, in MiB") {
        auto live = snap;
        live.live = true;
        live.source_root = "/";
        CHECK(pt::snapshot::summary(live, "s.tgz", 3 * 1024 * 1024 + 1024 * 512, 4, true)
              == "wrote s.tgz: 4 members, 3.5 MiB, from / (the live host)\n");
    }
}
