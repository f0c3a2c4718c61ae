// SPDX-License-Identifier: MIT
#include "pt/error.hpp"
#include "pt/snapshot/archive.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using pt::snapshot::Entry;
using pt::snapshot::gunzip;
using pt::snapshot::gzip;
using pt::snapshot::tar;
using pt::snapshot::write_output_file;

namespace {

Entry make_file(std::string path, std::string content, std::int64_t mtime = 1700000000) {
    Entry e;
    e.path = std::move(path);
    e.content = std::move(content);
    e.mtime = mtime;
    return e;
}

Entry make_dir(std::string path) {
    Entry e;
    e.path = std::move(path);
    e.type = Entry::Type::directory;
    e.mode = 0755;
    e.mtime = 1700000000;
    return e;
}

Entry make_link(std::string path, std::string target) {
    Entry e;
    e.path = std::move(path);
    e.type = Entry::Type::symlink;
    e.link_target = std::move(target);
    e.mode = 0777;
    e.mtime = 1700000000;
    return e;
}

std::string slurp(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// The header checksum as a reader computes it.
unsigned checksum(const std::string& block) {
    unsigned sum = 0;
    for (std::size_t i = 0; i < 512; ++i) {
        sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(block[i]);
    }
    return sum;
}

} // namespace

TEST_CASE("tar writes ustar headers a reader accepts") {
    const std::string out = tar({make_dir("/etc"), make_file("/etc/hostname", "pve\n")});
    REQUIRE(out.size() == 512 * 5); // dir header, file header, one data block, two zero blocks
    const std::string first = out.substr(0, 512);
    CHECK(first.substr(0, 5) == std::string("etc/\0", 5));
    CHECK(first[156] == '5');
    CHECK(first.substr(257, 6) == std::string("ustar\0", 6));
    CHECK(std::stoul(first.substr(148, 6), nullptr, 8) == checksum(first));
    const std::string second = out.substr(512, 512);
    CHECK(second.substr(0, 13) == std::string("etc/hostname\0", 13));
    CHECK(second[156] == '0');
    CHECK(std::stoul(second.substr(124, 11), nullptr, 8) == 4);
    CHECK(std::stoul(second.substr(136, 11), nullptr, 8) == 1700000000);
    CHECK(std::stoul(second.substr(148, 6), nullptr, 8) == checksum(second));
    CHECK(out.substr(1024, 4) == "pve\n");
    CHECK(out.substr(1536) == std::string(1024, '\0'));
}

TEST_CASE("tar is deterministic and rejects relative paths") {
    const std::vector<Entry> entries = {
        make_dir("/sys"), make_link("/sys/x", "../y"), make_file("/sys/y", "1")};
    CHECK(tar(entries) == tar(entries));
    CHECK(gzip(tar(entries)) == gzip(tar(entries)));
    CHECK(pt::snapshot::tar_gz(entries) == pt::snapshot::tar_gz(entries));
    CHECK_THROWS_AS(tar({make_file("relative/path", "x")}), pt::Error);
    CHECK_THROWS_AS(tar({make_file("/", "x")}), pt::Error);
}

TEST_CASE("tar_gz compresses the tar stream") {
    std::vector<Entry> entries = {make_dir("/sys")};
    // Past deflate's window, with repeats a match must reach back for.
    for (int i = 0; i < 2000; ++i) {
        entries.push_back(make_file("/sys/f" + std::to_string(10000 + i),
                                    std::string(static_cast<std::size_t>(i % 700), 'a' + i % 26)));
    }
    const std::string packed = pt::snapshot::tar_gz(entries);
    CHECK(gunzip(packed) == tar(entries));
    CHECK(packed.size() < tar(entries).size() / 10);
}

// tar_gz compresses pieces of one megabyte on two threads. Several pieces, with data that
// repeats across the seams (a match reaching into the piece before) and data that does not:
// zlib, GNU gzip and GNU tar must all read the member back, and the same entries must always give
// the same bytes.
TEST_CASE("tar_gz in pieces is one gzip member that zlib, gzip and tar read back") {
    std::vector<Entry> entries = {make_dir("/sys")};
    std::uint32_t noise = 12345;
    for (int i = 0; i < 7; ++i) {
        std::string content;
        for (int j = 0; j < 600000; ++j) {
            noise = noise * 1103515245U + 12345U;
            content += i % 2 == 0 ? static_cast<char>('a' + (j / 1000) % 26)
                                  : static_cast<char>(noise >> 24U);
        }
        entries.push_back(make_file("/sys/big" + std::to_string(i), content));
    }
    const std::string whole = tar(entries);
    REQUIRE(whole.size() > 4 * (std::size_t{1} << 20U));
    const std::string packed = pt::snapshot::tar_gz(entries);
    CHECK(gunzip(packed) == whole);
    CHECK(pt::snapshot::tar_gz(entries) == packed);
    // Within a few per cent of one stream: the pieces keep their dictionaries.
    CHECK(packed.size() < gzip(whole).size() * 102 / 100);

    pt::test::TempRoot work;
    const auto archive = work.path() / "big.tar.gz";
    write_output_file(archive.string(), packed);
    const std::string test = "gzip -t '" + archive.string() + "'";
    CHECK(std::system(test.c_str()) == 0);
    const auto out = work.path() / "out";
    std::filesystem::create_directories(out);
    const std::string extract = "tar -xzf '" + archive.string() + "' -C '" + out.string() + "'";
    REQUIRE(std::system(extract.c_str()) == 0);
    CHECK(slurp(out / "sys/big6") == entries.back().content);
}

TEST_CASE("gzip and gunzip round trip; gunzip rejects garbage") {
    const std::string data(100000, 'a');
    const std::string packed = gzip(data);
    CHECK(packed.size() < 1000);
    CHECK(static_cast<unsigned char>(packed[0]) == 0x1f);
    CHECK(static_cast<unsigned char>(packed[1]) == 0x8b);
    CHECK(gunzip(packed) == data);
    CHECK(gunzip(gzip("")) == "");
    CHECK_THROWS_AS(gunzip("not gzip at all"), pt::Error);
    CHECK_THROWS_AS(gunzip(packed.substr(0, packed.size() / 2)), pt::Error);
}

TEST_CASE("GNU tar extracts files, links, long paths and mtimes as written") {
    pt::test::TempRoot work;
    const std::string deep = "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:00.0/"
                             "0000:03:00.0/0000:04:00.0/0000:05:00.0/0000:06:00.0/0000:07:00.0/"
                             "0000:08:00.0/0000:09:00.0/current_link_speed";
    REQUIRE(deep.size() > 155);
    const std::string long_target(150, 'x');
    const std::string unsplittable = "/etc/" + std::string(120, 'n');
    const std::vector<Entry> entries = {
        make_dir("/sys"),
        make_link("/sys/bus", "../devices/pci0000:00/0000:00:01.0"),
        make_file(deep, "16.0 GT/s PCIe\n", 1600000000),
        make_link("/sys/long", long_target),
        make_file(unsplittable, "u"),
        make_file("/etc/initramfs-tools/hooks/h", "#!/bin/sh\n"),
    };
    std::vector<Entry> with_exec = entries;
    with_exec.back().mode = 0755;
    with_exec[2].mtime_nsec = 123456789;
    const auto archive = work.path() / "a.tar.gz";
    write_output_file(archive.string(), gzip(tar(with_exec)));
    const auto out = work.path() / "out";
    std::filesystem::create_directories(out);
    const std::string command =
        "tar -xzf '" + archive.string() + "' -C '" + out.string() + "' 2>/dev/null";
    REQUIRE(std::system(command.c_str()) == 0);
    CHECK(slurp(out / deep.substr(1)) == "16.0 GT/s PCIe\n");
    CHECK(std::filesystem::read_symlink(out / "sys/bus").string()
          == "../devices/pci0000:00/0000:00:01.0");
    CHECK(std::filesystem::read_symlink(out / "sys/long").string() == long_target);
    CHECK(slurp(out / unsplittable.substr(1)) == "u");

    struct stat st {};

    REQUIRE(::stat((out / deep.substr(1)).c_str(), &st) == 0);
    CHECK(st.st_mtim.tv_sec == 1600000000);
    CHECK(st.st_mtim.tv_nsec == 123456789);
    REQUIRE(::stat((out / "etc/initramfs-tools/hooks/h").c_str(), &st) == 0);
    CHECK((st.st_mode & 0111U) != 0);
}

TEST_CASE("write_output_file replaces atomically and names a missing folder") {
    pt::test::TempRoot work;
    const auto target = work.path() / "snap.tar.gz";
    write_output_file(target.string(), "old");
    write_output_file(target.string(), "new");
    CHECK(slurp(target) == "new");
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(work.path())) {
        ++files;
    }
    CHECK(files == 1); // no temporary file left behind

    struct stat st {};

    REQUIRE(::stat(target.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777U) == 0644);
    try {
        write_output_file((work.path() / "no/such/folder/x.tar.gz").string(), "x");
        FAIL("expected pt::Error");
    } catch (const pt::Error& e) {
        CHECK_THAT(e.what(), Catch::Contains("does not exist"));
    }
    CHECK_THROWS_AS(write_output_file(work.path().string(), "x"), pt::Error);
}
