// SPDX-License-Identifier: MIT
#include "pt/boot/initramfs.hpp"
#include "pt/host/root.hpp"
#include "support/catch.hpp"
#include "support/initramfs_writer.hpp"
#include "support/temp_root.hpp"

#include <fmt/format.h>

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

using pt::boot::Compression;
using pt::boot::Initramfs;
using pt::boot::read_initramfs;
using pt::host::Root;
using pt::test::CpioFiles;
using pt::test::TempRoot;

namespace {

constexpr const char* k_image = "/boot/initrd.img-6.8.12-4-pve";
constexpr const char* k_vfio_conf = "options vfio-pci ids=10de:2204,10de:1aef\n";

const CpioFiles k_files = {
    {"etc/modprobe.d/vfio.conf", k_vfio_conf},
    {"usr/lib/modules/6.8.12-4-pve/kernel/drivers/vfio/pci/vfio-pci.ko",
     "\x7f"
     "ELF module"},
    {"scripts/init-top/pt-vfio", "#!/bin/sh\necho pt\n"},
};

bool want_conf(std::string_view path) {
    return path.starts_with("etc/");
}

std::vector<std::string> paths(const Initramfs& image) {
    std::vector<std::string> out;
    for (const auto& member : image.members) {
        out.push_back(member.path);
    }
    return out;
}

// Bytes that change from member to member and do not compress, so that a cut through the
// compressed stream falls between members.
std::string noise(std::size_t size, std::uint32_t seed) {
    std::string out(size, '\0');
    for (auto& c : out) {
        seed = seed * 1664525U + 1013904223U;
        c = static_cast<char>(seed >> 24U);
    }
    return out;
}

Initramfs read_ok(const Root& root, const pt::boot::WantContent& want = want_conf) {
    const auto image = read_initramfs(root, k_image, want);
    REQUIRE(image.has_value());
    return *image;
}

} // namespace

TEST_CASE("boot::to_string(Compression)", "[boot][initramfs]") {
    CHECK(pt::boot::to_string(Compression::none) == "none");
    CHECK(pt::boot::to_string(Compression::gzip) == "gzip");
    CHECK(pt::boot::to_string(Compression::zstd) == "zstd");
    CHECK(pt::boot::to_string(Compression::xz) == "xz");
    CHECK(pt::boot::to_string(Compression::lzma) == "lzma");
    CHECK(pt::boot::to_string(Compression::lz4) == "lz4");
    CHECK(pt::boot::to_string(Compression::bzip2) == "bzip2");
    CHECK(pt::boot::to_string(Compression::other) == "other");
}

TEST_CASE("boot::normalise_member_path", "[boot][initramfs]") {
    CHECK(pt::boot::normalise_member_path("./etc/modprobe.d/vfio.conf")
          == "etc/modprobe.d/vfio.conf");
    CHECK(pt::boot::normalise_member_path("/etc/x") == "etc/x");
    CHECK(pt::boot::normalise_member_path(".//./etc/x") == "etc/x");
    CHECK(pt::boot::normalise_member_path("etc/x") == "etc/x");
    CHECK(pt::boot::normalise_member_path(".") == ".");
}

TEST_CASE("boot::read_initramfs reads every compression mkinitramfs writes", "[boot][initramfs]") {
    TempRoot tmp;
    const Root root(tmp.path());
    const auto compression = GENERATE(Compression::none,
                                      Compression::gzip,
                                      Compression::zstd,
                                      Compression::xz,
                                      Compression::lzma,
                                      Compression::lz4,
                                      Compression::bzip2);
    CAPTURE(pt::boot::to_string(compression));
    tmp.write(k_image, pt::test::initramfs_image(k_files, compression));

    const Initramfs image = read_ok(root);
    CHECK_FALSE(image.error.has_value());
    CHECK(image.path == k_image);
    REQUIRE(image.segments.size() == 1);
    CHECK(image.segments[0].offset == 0);
    CHECK(image.segments[0].compression == compression);
    CHECK(image.segments[0].members == image.members.size());
    CHECK(paths(image)
          == std::vector<std::string>{
              "etc",
              "etc/modprobe.d",
              "etc/modprobe.d/vfio.conf",
              "scripts",
              "scripts/init-top",
              "scripts/init-top/pt-vfio",
              "usr",
              "usr/lib",
              "usr/lib/modules",
              "usr/lib/modules/6.8.12-4-pve",
              "usr/lib/modules/6.8.12-4-pve/kernel",
              "usr/lib/modules/6.8.12-4-pve/kernel/drivers",
              "usr/lib/modules/6.8.12-4-pve/kernel/drivers/vfio",
              "usr/lib/modules/6.8.12-4-pve/kernel/drivers/vfio/pci",
              "usr/lib/modules/6.8.12-4-pve/kernel/drivers/vfio/pci/vfio-pci.ko",
          });
    const auto* conf = image.find("etc/modprobe.d/vfio.conf");
    REQUIRE(conf != nullptr);
    CHECK(conf->regular);
    CHECK(conf->mode == 0100644);
    CHECK(conf->size == std::string(k_vfio_conf).size());
    CHECK(conf->text == std::optional<std::string>(k_vfio_conf));
    const auto* dir = image.find("etc/modprobe.d");
    REQUIRE(dir != nullptr);
    CHECK_FALSE(dir->regular);
    CHECK(dir->mode == 040755);
}

TEST_CASE("boot::read_initramfs reads past zero padding after the compressed archive",
          "[boot][initramfs]") {
    // The kernel skips zeros between and after archives (buffer-format.rst); a decompressor
    // that reads on into them must not turn a good image into a damaged one.
    TempRoot tmp;
    const Root root(tmp.path());
    const auto compression = GENERATE(Compression::gzip,
                                      Compression::zstd,
                                      Compression::xz,
                                      Compression::lzma,
                                      Compression::lz4,
                                      Compression::bzip2);
    CAPTURE(pt::boot::to_string(compression));
    tmp.write(k_image,
              pt::test::initramfs_image(k_files, compression, "GenuineIntel")
                  + std::string(4096, '\0'));
    const Initramfs image = read_ok(root);
    CHECK(image.error == std::nullopt);
    REQUIRE(image.segments.size() == 2);
    CHECK(image.segments[1].compression == compression);
    CHECK(image.segments[1].members == 15);
}

TEST_CASE("boot::read_initramfs reads a zstd archive split across frames", "[boot][initramfs]") {
    // zstd decompresses concatenated frames as one stream; so must the reader, zero padding
    // after the last one included.
    TempRoot tmp;
    const Root root(tmp.path());
    const std::string plain = pt::test::cpio_archive(k_files, Compression::none);
    const std::size_t half = plain.size() / 2;
    tmp.write(k_image,
              pt::test::compress(plain.substr(0, half), Compression::zstd)
                  + pt::test::compress(plain.substr(half), Compression::zstd)
                  + std::string(64, '\0'));
    const Initramfs image = read_ok(root);
    CHECK(image.error == std::nullopt);
    REQUIRE(image.segments.size() == 1);
    CHECK(image.segments[0].members == 15);
    CHECK(image.find("etc/modprobe.d/vfio.conf")->text == std::optional<std::string>(k_vfio_conf));
}

TEST_CASE("boot::read_initramfs finds the archives behind early microcode", "[boot][initramfs]") {
    TempRoot tmp;
    const Root root(tmp.path());

    SECTION("microcode, then zstd (Proxmox VE 8 and 9)") {
        const std::string early = pt::test::cpio_archive(
            {{"kernel/x86/microcode/AuthenticAMD.bin", pt::test::k_fixture_microcode}},
            Compression::none);
        REQUIRE(early.size() % 512 == 0);
        tmp.write(k_image, pt::test::initramfs_image(k_files, Compression::zstd, "AuthenticAMD"));

        const Initramfs image = read_ok(root, [](std::string_view path) {
            return path.starts_with("kernel/") || path.starts_with("etc/");
        });
        CHECK_FALSE(image.error.has_value());
        REQUIRE(image.segments.size() == 2);
        CHECK(image.segments[0].offset == 0);
        CHECK(image.segments[0].compression == Compression::none);
        CHECK(image.segments[0].members == 4); // kernel, kernel/x86, .../microcode, the .bin
        CHECK(image.segments[1].offset == early.size());
        CHECK(image.segments[1].compression == Compression::zstd);
        CHECK(image.segments[1].members == 15);
        CHECK(image.members.size() == 19);
        const auto* microcode = image.find("kernel/x86/microcode/AuthenticAMD.bin");
        REQUIRE(microcode != nullptr);
        CHECK(microcode->text == std::optional<std::string>(pt::test::k_fixture_microcode));
        REQUIRE(image.find("etc/modprobe.d/vfio.conf") != nullptr);
        CHECK(image.find("etc/modprobe.d/vfio.conf")->text
              == std::optional<std::string>(k_vfio_conf));
    }
    SECTION("two uncompressed archives, then gzip; a later member wins") {
        const std::string first = pt::test::cpio_archive(
            {{"kernel/x86/microcode/GenuineIntel.bin", "intel"},
             {"etc/modprobe.d/vfio.conf", "options vfio-pci ids=1234:5678\n"}},
            Compression::none);
        // An archive that does not end on a 512-byte boundary: only 4-byte zero padding.
        std::string second =
            pt::test::cpio_archive({{"etc/modprobe.d/early.conf", "early\n"}}, Compression::none);
        second.resize(second.find("TRAILER!!!") + 12, '\0');
        while (second.size() % 4 != 0) {
            second += '\0';
        }
        const std::string third = pt::test::cpio_archive(k_files, Compression::gzip);
        tmp.write(k_image, first + second + third);

        const Initramfs image = read_ok(root);
        CHECK_FALSE(image.error.has_value());
        REQUIRE(image.segments.size() == 3);
        CHECK(image.segments[0].compression == Compression::none);
        CHECK(image.segments[1].offset == first.size());
        CHECK(image.segments[1].compression == Compression::none);
        CHECK(image.segments[1].members == 3);
        CHECK(image.segments[2].offset == first.size() + second.size());
        CHECK(image.segments[2].compression == Compression::gzip);
        CHECK(image.segments[2].members == 15);

        const auto* conf = image.find("etc/modprobe.d/vfio.conf");
        REQUIRE(conf != nullptr);
        CHECK(conf->text == std::optional<std::string>(k_vfio_conf)); // the gzip archive's
        const auto confs = image.under("etc/modprobe.d/");
        REQUIRE(confs.size() == 2);
        CHECK(confs[0]->path == "etc/modprobe.d/early.conf");
        CHECK(confs[0]->text == std::optional<std::string>("early\n"));
        CHECK(confs[1] == conf);
        CHECK(image.find("etc/modprobe.d/none.conf") == nullptr);
        CHECK(image.under("nothing/").empty());
        const auto modules = image.under("usr/lib/modules/");
        REQUIRE_FALSE(modules.empty());
        CHECK(modules.back()->path
              == "usr/lib/modules/6.8.12-4-pve/kernel/drivers/vfio/pci/vfio-pci.ko");
    }
    SECTION("zeros after the compressed archive and a second compressed archive are not read") {
        tmp.write(k_image,
                  pt::test::cpio_archive(k_files, Compression::gzip) + std::string(512, '\0')
                      + pt::test::cpio_archive({{"etc/late.conf", "late\n"}}, Compression::gzip));
        const Initramfs image = read_ok(root);
        CHECK_FALSE(image.error.has_value());
        CHECK(image.segments.size() == 1);
        CHECK(image.find("etc/late.conf") == nullptr);
    }
}

TEST_CASE("boot::read_initramfs keeps the text of wanted members only", "[boot][initramfs]") {
    TempRoot tmp;
    const Root root(tmp.path());
    const std::string limit(pt::boot::k_initramfs_text_limit, 'x');
    const std::string over(pt::boot::k_initramfs_text_limit + 1, 'y');
    tmp.write(k_image,
              pt::test::initramfs_image({{"etc/a.conf", "a\n"},
                                         {"etc/limit.conf", limit},
                                         {"etc/over.conf", over},
                                         {"lib/b", "b\n"}},
                                        Compression::zstd));

    SECTION("the predicate chooses") {
        const Initramfs image = read_ok(root);
        CHECK_FALSE(image.error.has_value());
        CHECK(image.find("etc/a.conf")->text == std::optional<std::string>("a\n"));
        CHECK_FALSE(image.find("lib/b")->text.has_value());
        CHECK(image.find("lib/b")->size == 2);
        CHECK_FALSE(image.find("etc")->text.has_value()); // a directory has none
    }
    SECTION("1 MiB is kept; a larger member keeps its size and no text, and is no error") {
        const Initramfs image = read_ok(root);
        CHECK_FALSE(image.error.has_value());
        CHECK(image.find("etc/limit.conf")->text == std::optional<std::string>(limit));
        const auto* big = image.find("etc/over.conf");
        REQUIRE(big != nullptr);
        CHECK(big->size == over.size());
        CHECK_FALSE(big->text.has_value());
        CHECK(image.find("lib/b") != nullptr); // read on past it
    }
    SECTION("no predicate keeps nothing") {
        const Initramfs image = read_ok(root, {});
        CHECK_FALSE(image.error.has_value());
        CHECK(image.members.size() == 6);
        for (const auto& member : image.members) {
            CHECK_FALSE(member.text.has_value());
        }
    }
}

TEST_CASE("boot::read_initramfs reports bad images without throwing", "[boot][initramfs]") {
    TempRoot tmp;
    const Root root(tmp.path());
    const std::string shown(k_image); // named as the host names it, not by the root's path
    const auto read_bad = [&] {
        std::optional<Initramfs> image;
        REQUIRE_NOTHROW(image = read_initramfs(root, k_image, want_conf));
        REQUIRE(image.has_value());
        REQUIRE(image->error.has_value());
        CHECK_THAT(*image->error, Catch::Contains(shown));
        return *image;
    };

    SECTION("a missing image is nullopt, a dangling link too") {
        CHECK_FALSE(read_initramfs(root, k_image, want_conf).has_value());
        tmp.symlink(k_image, "/boot/initrd.img-gone");
        CHECK_FALSE(read_initramfs(root, k_image, want_conf).has_value());
    }
    SECTION("an empty file") {
        tmp.write(k_image, "");
        const Initramfs image = read_bad();
        CHECK_THAT(*image.error, Catch::Contains("empty"));
        CHECK(image.segments.empty());
    }
    SECTION("zero bytes only") {
        tmp.write(k_image, std::string(4096, '\0'));
        CHECK_THAT(*read_bad().error, Catch::Contains("only zero bytes"));
    }
    SECTION("random bytes, or text") {
        tmp.write(k_image, GENERATE(noise(5000, 7), std::string("not an initramfs")));
        const Initramfs image = read_bad();
        CHECK_THAT(*image.error, Catch::Contains("not an initramfs"));
        CHECK(image.segments.empty());
        CHECK(image.members.empty());
    }
    SECTION("a truncated zstd stream keeps the members before the cut") {
        CpioFiles many;
        for (std::uint32_t i = 0; i < 64; ++i) {
            many[fmt::format("lib/firmware/blob{:02}", i)] = noise(4096, i);
        }
        const std::string whole = pt::test::initramfs_image(many, Compression::zstd);
        tmp.write(k_image, whole.substr(0, whole.size() / 2));
        const Initramfs image = read_bad();
        CHECK_THAT(*image.error, Catch::Contains("zstd") && Catch::Contains("truncated"));
        REQUIRE(image.segments.size() == 1);
        CHECK(image.segments[0].compression == Compression::zstd);
        CHECK(image.members.size() > 2);
        CHECK(image.members.size() < 66);
    }
    SECTION("a bad header magic in an uncompressed archive") {
        std::string early = pt::test::cpio_archive(
            {{"kernel/x86/microcode/AuthenticAMD.bin", "amd"}}, Compression::none);
        const auto second_header = early.find("070701", 6);
        REQUIRE(second_header != std::string::npos);
        early.replace(second_header, 6, "070799");
        tmp.write(k_image, early + pt::test::cpio_archive(k_files, Compression::zstd));
        const Initramfs image = read_bad();
        CHECK_THAT(
            *image.error,
            Catch::Contains(fmt::format("cpio header at offset {} is damaged", second_header)));
        CHECK(image.members.size() == 1); // "kernel", before the damage
        CHECK(image.segments.size() == 1);
    }
    SECTION("a gzip stream that holds no cpio archive") {
        tmp.write(k_image, pt::test::compress(noise(3000, 5), Compression::gzip));
        const Initramfs image = read_bad();
        CHECK_THAT(*image.error, Catch::Contains("gzip-compressed cpio archive at offset 0"));
        REQUIRE(image.segments.size() == 1);
        CHECK(image.segments[0].compression == Compression::gzip);
    }
    SECTION("a bad header magic inside the compressed archive") {
        std::string plain = pt::test::cpio_archive(k_files, Compression::none);
        const auto third_header = plain.find("070701", plain.find("070701", 6) + 6);
        plain.replace(third_header, 6, "071111");
        tmp.write(k_image, pt::test::compress(plain, Compression::gzip));
        const Initramfs image = read_bad();
        CHECK_THAT(*image.error, Catch::Contains("gzip-compressed cpio archive at offset 0"));
        CHECK(image.segments.size() == 1);
    }
    SECTION("an uncompressed archive cut before its trailer") {
        const std::string early = pt::test::cpio_archive(
            {{"kernel/x86/microcode/AuthenticAMD.bin", "amd"}}, Compression::none);
        tmp.write(k_image, early.substr(0, early.find("TRAILER!!!") - 20));
        const Initramfs image = read_bad();
        CHECK_THAT(*image.error, Catch::Contains("truncated"));
        CHECK(image.members.size() == 4); // the trailer is what is missing
        tmp.write(k_image, early.substr(0, early.find("AuthenticAMD.bin") + 3));
        const Initramfs cut = read_bad();
        CHECK_THAT(*cut.error, Catch::Contains("truncated"));
        CHECK(cut.members.size() == 3);
    }
    SECTION("a compression libarchive is not asked to read (lzop) is named") {
        tmp.write(k_image, std::string("\x89LZO\0\r\n\x1a\n", 9) + noise(100, 3));
        const Initramfs image = read_bad();
        CHECK_THAT(*image.error, Catch::Contains("lzop"));
        REQUIRE(image.segments.size() == 1);
        CHECK(image.segments[0].compression == Compression::other);
    }
    SECTION("a directory") {
        tmp.mkdir(k_image);
        CHECK_THAT(*read_bad().error, Catch::Contains("not a regular file"));
    }
    SECTION("a FIFO does not hang") {
        tmp.mkdir("/boot");
        REQUIRE(::mkfifo(tmp.host(k_image).c_str(), 0600) == 0);
        const auto start = std::chrono::steady_clock::now();
        CHECK_THAT(*read_bad().error, Catch::Contains("not a regular file"));
        CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    }
}

TEST_CASE("boot::read_initramfs stays inside the root", "[boot][initramfs][escape]") {
    TempRoot tmp;
    TempRoot outside;
    const Root root(tmp.path());
    // A real image on this machine, outside the root.
    outside.write("/image", pt::test::initramfs_image(k_files, Compression::gzip));
    REQUIRE(read_initramfs(Root(outside.path()), "/image", want_conf).has_value());

    SECTION("an absolute link is re-rooted, so it names nothing") {
        tmp.symlink(k_image, (outside.path() / "image").string());
        CHECK_FALSE(read_initramfs(root, k_image, want_conf).has_value());
    }
    SECTION("a relative link climbing out is clamped at the root") {
        tmp.symlink(k_image, "../../../../../../../../.." + (outside.path() / "image").string());
        CHECK_FALSE(read_initramfs(root, k_image, want_conf).has_value());
    }
    SECTION("a link inside the root is followed") {
        tmp.write("/boot/real", pt::test::initramfs_image(k_files, Compression::gzip));
        tmp.symlink(k_image, "real");
        const auto image = read_initramfs(root, k_image, want_conf);
        REQUIRE(image.has_value());
        CHECK_FALSE(image->error.has_value());
        CHECK(image->members.size() == 15);
    }
}
