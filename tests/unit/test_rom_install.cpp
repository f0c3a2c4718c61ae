// SPDX-License-Identifier: MIT
#include "pt/edit/diff.hpp"
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/rom/install.hpp"
#include "support/catch.hpp"
#include "support/rom_builder.hpp"
#include "support/temp_root.hpp"

TEST_CASE("rom::rom_file_name", "[rom][install]") {
    CHECK(pt::rom::rom_file_name("rtx3070") == "rtx3070.rom");
    CHECK(pt::rom::rom_file_name("rtx3070.rom") == "rtx3070.rom");
    CHECK(pt::rom::rom_file_name("GA104_patched-2") == "GA104_patched-2.rom");
    CHECK(pt::rom::romfile_fragment("rtx3070") == "romfile=rtx3070.rom");
    for (const char* bad : {"", ".hidden", "../x", "a/b", "a,b", "x=y", "a b"}) {
        CHECK_THROWS_AS(pt::rom::rom_file_name(bad), pt::UsageError);
    }
}

TEST_CASE("rom::plan_install", "[rom][install]") {
    pt::test::TempRoot tmp;
    const pt::host::Root root(tmp.path());
    const auto bytes = pt::test::build_rom_kind("nvidia", 0x10de, 0x2484);
    const std::string content(bytes.begin(), bytes.end());

    const auto plan =
        pt::rom::plan_install(root, bytes, "rtx3070", "pt rom-dump 01:00.0 --install rtx3070");
    REQUIRE(plan.files.size() == 1);
    const auto& file = plan.files[0];
    CHECK(file.path == "/usr/share/kvm/rtx3070.rom");
    CHECK_FALSE(file.before);
    CHECK(file.after == content); // every byte, NULs included
    CHECK(file.after->size() == bytes.size());
    CHECK(file.mode == 0644);
    CHECK_THAT(plan.notes.at(0), Catch::Contains("--romfile rtx3070.rom"));
    // The engine's diff of binary content is one line, not raw bytes.
    CHECK(pt::edit::unified_diff(file.path, file.before, file.after)
          == "Binary files /dev/null and b/usr/share/kvm/rtx3070.rom differ\n");

    SECTION("the same bytes already there: nothing to do") {
        tmp.write("/usr/share/kvm/rtx3070.rom", content);
        CHECK(pt::rom::plan_install(root, bytes, "rtx3070", "t").empty());
    }
    SECTION("other bytes there: a modify of the binary file") {
        tmp.write("/usr/share/kvm/rtx3070.rom", std::string("old\0rom", 7));
        const auto again = pt::rom::plan_install(root, bytes, "rtx3070.rom", "t");
        REQUIRE(again.files.size() == 1);
        CHECK(
            pt::edit::unified_diff(again.files[0].path, again.files[0].before, again.files[0].after)
            == "Binary files a/usr/share/kvm/rtx3070.rom and b/usr/share/kvm/rtx3070.rom differ\n");
    }
}
