// SPDX-License-Identifier: MIT
#include "pt/error.hpp"
#include "pt/host/mapped_file.hpp"
#include "pt/host/root.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <utility>

using pt::host::MappedFile;
using pt::host::Root;
using pt::test::TempRoot;

TEST_CASE("host::Root::map_file maps a file inside the root", "[host][root][escape]") {
    TempRoot tmp;
    TempRoot outside;
    tmp.write("/usr/share/misc/pci.ids", "10de  NVIDIA Corporation\n");
    tmp.write("/empty", "");
    outside.write("/secret", "outside the root\n");
    tmp.symlink("/link-out", outside.host("/secret").string());
    const Root root(tmp.path());

    const auto ids = root.map_file("/usr/share/misc/pci.ids");
    REQUIRE(ids.has_value());
    CHECK(ids->text() == "10de  NVIDIA Corporation\n");
    const auto empty = root.map_file("/empty");
    REQUIRE(empty.has_value());
    CHECK(empty->text().empty());
    CHECK_FALSE(root.map_file("/nope").has_value());
    // An absolute link is re-rooted: it names <root><outside>/secret, which does not exist.
    CHECK_FALSE(root.map_file("/link-out").has_value());
    tmp.mkdir("/dir");
    CHECK_THROWS_AS(root.map_file("/dir"), pt::Error);
}

TEST_CASE("host::MappedFile maps an open file and moves", "[host]") {
    TempRoot tmp;
    tmp.write("/f", "mapped bytes\n");
    const int fd = ::open(tmp.host("/f").c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    MappedFile file = MappedFile::map(fd, 12, tmp.host("/f"));
    ::close(fd); // the mapping outlives the descriptor
    CHECK(file.text() == "mapped bytes");
    MappedFile moved = std::move(file);
    CHECK(moved.text() == "mapped bytes");
    CHECK(file.text().empty()); // NOLINT(bugprone-use-after-move): a moved-from file is empty
    CHECK(MappedFile().text().empty());
    CHECK_THROWS_AS(MappedFile::map(-1, 5, tmp.host("/f")), pt::Error);
}
