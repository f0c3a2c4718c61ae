// SPDX-License-Identifier: MIT
// Shapes follow published /etc/kernel/cmdline files (ZFS root=, CPU isolation parameters, with
// and without a trailing newline) and systemd-boot options lines with quoted values.
#include "pt/conf/kernel_cmdline_file.hpp"
#include "pt/error.hpp"
#include "support/catch.hpp"

#include <string>
#include <vector>

using pt::conf::edit_kernel_cmdline;
using pt::conf::edit_params;
using pt::conf::ParamChange;
using pt::conf::ParamOp;
using pt::conf::Segment;
using pt::kernel::tokenize_cmdline;

namespace {

ParamOp set(std::string name, std::optional<std::string> value = std::nullopt) {
    return {ParamOp::Kind::set, {std::move(name), std::move(value)}, "test"};
}

ParamOp drop(std::string name, std::optional<std::string> value = std::nullopt) {
    return {ParamOp::Kind::remove, {std::move(name), std::move(value)}, "test"};
}

std::string edit_line(const std::string& line, const std::vector<ParamOp>& ops) {
    return edit_params({Segment{line}}, 0, ops).segments.front().text;
}

} // namespace

TEST_CASE("kernel::tokenize_cmdline keeps spans", "[conf][cmdline]") {
    const std::string text = "options root=UUID=486b ro  vfio-pci.ids=\"1002:aaf8,1002:687f\"";
    const auto tokens = tokenize_cmdline(text);
    REQUIRE(tokens.size() == 4);
    CHECK(text.substr(tokens[3].begin, tokens[3].end - tokens[3].begin)
          == "vfio-pci.ids=\"1002:aaf8,1002:687f\"");
    CHECK(tokens[3].param.value == "1002:aaf8,1002:687f");
    CHECK(tokens[1].param.value == "UUID=486b");
}

TEST_CASE("conf::edit_params rules", "[conf][cmdline]") {
    SECTION("last_wins: replace the last occurrence, keep the name's spelling") {
        CHECK(edit_line("quiet vfio_pci.ids=10de:1c82,10de:0fb9 vt.handoff=7",
                        {set("vfio-pci.ids", "10de:2204")})
              == "quiet vfio_pci.ids=10de:2204 vt.handoff=7");
        CHECK(edit_line("quiet vfio-pci.ids=\"1002:aaf8\"", {set("vfio-pci.ids", "1002:aaf8")})
              == "quiet vfio-pci.ids=\"1002:aaf8\"");
    }
    SECTION("option_list: intel_iommu=off -> on inside its token, sub-options kept") {
        CHECK(edit_line("quiet intel_iommu=off,igfx_off", {set("intel_iommu", "on")})
              == "quiet intel_iommu=on,igfx_off");
        CHECK(edit_line("intel_iommu=on intel_iommu=igfx_off", {set("intel_iommu", "on")})
              == "intel_iommu=on intel_iommu=igfx_off");
        CHECK(edit_line("intel_iommu=on intel_iommu=off", {set("intel_iommu", "on")})
              == "intel_iommu=on intel_iommu=on");
        CHECK(edit_line("intel_iommu=igfx_off", {set("intel_iommu", "on")})
              == "intel_iommu=igfx_off intel_iommu=on");
        CHECK(edit_line("iommu=1 amd_iommu=on iommu=pt", {set("iommu", "pt")})
              == "iommu=1 amd_iommu=on iommu=pt");
        CHECK(edit_line("iommu=soft", {set("iommu", "pt")}) == "iommu=soft iommu=pt");
    }
    SECTION("accumulate: initcall_blacklist and video add occurrences") {
        CHECK(edit_line("initcall_blacklist=foo", {set("initcall_blacklist", "sysfb_init")})
              == "initcall_blacklist=foo initcall_blacklist=sysfb_init");
        CHECK(edit_line("initcall_blacklist=foo,sysfb_init",
                        {set("initcall_blacklist", "sysfb_init")})
              == "initcall_blacklist=foo,sysfb_init");
        CHECK(edit_line("video=vesafb:off", {set("video", "efifb:off")})
              == "video=vesafb:off video=efifb:off");
    }
    SECTION("option_list: a comma list is compared item by item, so it is added only once") {
        // fuzz/regressions/kernel_cmdline_file/comma-option-list-added-twice
        const auto once = edit_line("quiet", {set("intel_iommu", "on,igfx_off")});
        CHECK(once == "quiet intel_iommu=on,igfx_off");
        const auto again = edit_params({Segment{once}}, 0, {set("intel_iommu", "on,igfx_off")});
        CHECK(again.segments[0].text == once);
        CHECK(again.changes.empty());
        // Items already there in another order or in two occurrences are satisfied too.
        CHECK(edit_line("intel_iommu=igfx_off,on", {set("intel_iommu", "on,igfx_off")})
              == "intel_iommu=igfx_off,on");
        CHECK(edit_line("intel_iommu=on intel_iommu=igfx_off", {set("intel_iommu", "on,igfx_off")})
              == "intel_iommu=on intel_iommu=igfx_off");
        // The missing items are one new parameter; an opposite is replaced in place.
        CHECK(edit_line("quiet intel_iommu=on", {set("intel_iommu", "on,igfx_off")})
              == "quiet intel_iommu=on intel_iommu=igfx_off");
        CHECK(edit_line("intel_iommu=off quiet", {set("intel_iommu", "on,igfx_off")})
              == "intel_iommu=on quiet intel_iommu=igfx_off");
        CHECK(edit_line("intel_iommu=off quiet", {set("intel_iommu", "on,igfx_off")})
              == edit_line(edit_line("intel_iommu=off quiet", {set("intel_iommu", "on,igfx_off")}),
                           {set("intel_iommu", "on,igfx_off")}));
        // Of an option and its opposite asked together, the later one counts.
        const auto last = edit_line("quiet", {set("intel_iommu", "on,off")});
        CHECK(last == "quiet intel_iommu=off");
        CHECK(edit_line(last, {set("intel_iommu", "on,off")}) == last);
        // An occurrence outside segments[add_to] is left alone: a new parameter instead.
        const auto two = edit_params(
            {Segment{"intel_iommu=on"}, Segment{"quiet"}}, 1, {set("intel_iommu", "on,igfx_off")});
        CHECK(two.segments[0].text == "intel_iommu=on");
        CHECK(two.segments[1].text == "quiet intel_iommu=igfx_off");
    }
    SECTION("accumulate: initcall_blacklist items are compared one by one") {
        // fuzz/regressions/kernel_cmdline_file/comma-initcall-blacklist-added-twice
        const auto once = edit_line("quiet", {set("initcall_blacklist", "sysfb_init,foo")});
        CHECK(once == "quiet initcall_blacklist=sysfb_init,foo");
        CHECK(edit_line(once, {set("initcall_blacklist", "sysfb_init,foo")}) == once);
        CHECK(edit_line("initcall_blacklist=sysfb_init quiet",
                        {set("initcall_blacklist", "sysfb_init,foo")})
              == "initcall_blacklist=sysfb_init quiet initcall_blacklist=foo");
        CHECK(edit_line("initcall_blacklist=foo initcall_blacklist=sysfb_init",
                        {set("initcall_blacklist", "sysfb_init,foo")})
              == "initcall_blacklist=foo initcall_blacklist=sysfb_init");
    }
    SECTION("a replaced value that holds blanks keeps its double quotes") {
        CHECK(edit_line("intel_iommu=\"off,x y\" quiet", {set("intel_iommu", "on")})
              == "intel_iommu=\"on,x y\" quiet");
    }
    SECTION("remove: by name and value, or every occurrence by name") {
        CHECK(edit_line("quiet amd_iommu=on iommu=pt", {drop("amd_iommu", "on")})
              == "quiet iommu=pt");
        CHECK(edit_line("amd_iommu=on iommu=pt", {drop("amd_iommu", "on")}) == "iommu=pt");
        CHECK(edit_line("quiet amd_iommu=on", {drop("amd_iommu", "on")}) == "quiet");
        CHECK(edit_line("quiet amd_iommu=1", {drop("amd_iommu", "on")}) == "quiet amd_iommu=1");
        CHECK(edit_line("video=vesafb:off quiet video=efifb:off", {drop("video")}) == "quiet");
    }
    SECTION("flags") {
        CHECK(edit_line("", {set("quiet")}) == "quiet");
        CHECK(edit_line("quiet", {set("quiet")}) == "quiet");
    }
    SECTION("changes are reported") {
        const auto result =
            edit_params({Segment{"intel_iommu=off amd_iommu=on"}},
                        0,
                        {set("intel_iommu", "on"), drop("amd_iommu", "on"), set("iommu", "pt")});
        REQUIRE(result.changes.size() == 3);
        CHECK(result.changes[0].describe() == "replace intel_iommu=off with intel_iommu=on");
        CHECK(result.changes[1].describe() == "remove amd_iommu=on");
        CHECK(result.changes[2].describe() == "add iommu=pt");
        CHECK(result.segments[0].text == "intel_iommu=on iommu=pt");
    }
    SECTION("ops that undo each other report no change") {
        // fuzz/regressions/kernel_cmdline_file/same-param-set-twice-min: the second run turned
        // foo=b into foo=a and back, and reported both as changes.
        const std::vector<ParamOp> ops = {set("foo", "a"), set("foo", "b")};
        const auto once = edit_params({Segment{"quiet"}}, 0, ops);
        CHECK(once.segments[0].text == "quiet foo=b");
        const auto again = edit_params(once.segments, 0, ops);
        CHECK(again.segments[0].text == "quiet foo=b");
        CHECK(again.changes.empty());
        const auto on_off = edit_params(
            {Segment{"intel_iommu=off"}}, 0, {set("intel_iommu", "on"), set("intel_iommu", "off")});
        CHECK(on_off.changes.empty());
    }
    SECTION("a flag and a value of one name: the later wins, and once only") {
        // fuzz/regressions/kernel_cmdline_file/flag-and-value-of-same-param-min: every run added
        // iommu=pt and turned it into the flag.
        for (const auto& ops : std::vector<std::vector<ParamOp>>{{set("iommu", "pt"), set("iommu")},
                                                                 {set("iommu"), set("iommu", "pt")},
                                                                 {set("foo", "a"), set("foo")}}) {
            const auto once = edit_line("root=/dev/sda1", ops);
            CHECK(edit_line(once, ops) == once);
        }
        CHECK(edit_line("root=/dev/sda1", {set("iommu", "pt"), set("iommu")})
              == "root=/dev/sda1 iommu");
    }
    SECTION("pieces next to a self-reference keep their separator") {
        Segment after{" iommu=pt", true, false};
        CHECK(edit_params({after}, 0, {drop("iommu")}).segments[0].text.empty());
        CHECK(edit_params({Segment{"", true, false}}, 0, {set("iommu", "pt")}).segments[0].text
              == " iommu=pt");
        CHECK(edit_params({Segment{"a ", false, true}}, 0, {set("b")}).segments[0].text == "a b ");
        CHECK(edit_params({Segment{"a b ", false, true}}, 0, {drop("b")}).segments[0].text == "a ");
    }
}

TEST_CASE("conf::edit_kernel_cmdline edits the first line only", "[conf][cmdline]") {
    const std::string zfs =
        "root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on iommu=pt isolcpus=2-7 nohz_full=2-7 "
        "rcu_nocbs=2-7\n";
    SECTION("adds at the end of the first line") {
        const auto out = edit_kernel_cmdline(zfs, {set("initcall_blacklist", "sysfb_init")});
        CHECK(out.text
              == "root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on iommu=pt isolcpus=2-7 "
                 "nohz_full=2-7 rcu_nocbs=2-7 initcall_blacklist=sysfb_init\n");
        CHECK(out.changes.size() == 1);
    }
    SECTION("satisfied: the same bytes, no change") {
        const auto out = edit_kernel_cmdline(zfs, {set("intel_iommu", "on"), set("iommu", "pt")});
        CHECK(out.text == zfs);
        CHECK(out.changes.empty());
    }
    SECTION("later lines and a missing newline are kept") {
        const std::string two = "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet\n# old: root=/dev/x\n";
        CHECK(edit_kernel_cmdline(two, {set("iommu", "pt")}).text
              == "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet iommu=pt\n# old: root=/dev/x\n");
        CHECK(edit_kernel_cmdline("root=ZFS=rpool/ROOT/pve-1 boot=zfs", {set("iommu", "pt")}).text
              == "root=ZFS=rpool/ROOT/pve-1 boot=zfs iommu=pt");
    }
    SECTION("idempotent") {
        const std::vector<ParamOp> ops = {
            set("intel_iommu", "on"), drop("amd_iommu", "on"), set("vfio-pci.ids", "10de:2204")};
        const auto once = edit_kernel_cmdline(zfs, ops).text;
        CHECK(edit_kernel_cmdline(once, ops).text == once);
    }
    SECTION("comma lists are idempotent through the file too") {
        const std::string line = "root=/dev/sda1 quiet\n";
        for (const auto& op :
             {set("intel_iommu", "on,igfx_off"), set("initcall_blacklist", "sysfb_init,foo")}) {
            const auto once = edit_kernel_cmdline(line, {op});
            CHECK(once.changes.size() == 1);
            const auto again = edit_kernel_cmdline(once.text, {op});
            CHECK(again.text == once.text);
            CHECK(again.changes.empty());
        }
    }
    SECTION("refuses to lose root=, or a file without it") {
        CHECK_THROWS_WITH(edit_kernel_cmdline(zfs, {drop("root")}),
                          Catch::Contains("would lose its root="));
        CHECK_THROWS_WITH(edit_kernel_cmdline("quiet intel_iommu=on\n", {set("iommu", "pt")}),
                          Catch::Contains("/etc/kernel/cmdline line 1 has no root="));
        CHECK_THROWS_AS(edit_kernel_cmdline("", {}), pt::Error);
    }
    SECTION("an unclosed double quote is refused: an addition would land inside it") {
        // lib/cmdline.c next_arg: the quote runs to the end of the line.
        const std::string open = "root=ZFS=rpool/ROOT/pve-1 boot=zfs dyndbg=\"file x.c +p quiet\n";
        CHECK_THROWS_WITH(
            edit_kernel_cmdline(open, {set("iommu", "pt")}),
            Catch::StartsWith("/etc/kernel/cmdline line 1: the double quote (\") at column 43 is "
                              "never closed")
                && Catch::EndsWith("close the quote opened at column 43 of line 1 of "
                                   "/etc/kernel/cmdline (or remove it), then run pt grub again"));
        // Balanced quotes group a value with spaces and are fine.
        const std::string closed =
            "root=ZFS=rpool/ROOT/pve-1 boot=zfs dyndbg=\"file x.c +p\" quiet\n";
        const auto out = edit_kernel_cmdline(closed, {set("iommu", "pt")});
        CHECK(out.text
              == "root=ZFS=rpool/ROOT/pve-1 boot=zfs dyndbg=\"file x.c +p\" quiet iommu=pt\n");
    }
}

TEST_CASE("conf::unclosed_quote follows the kernel's rule", "[conf][cmdline]") {
    using pt::conf::unclosed_quote;
    CHECK_FALSE(unclosed_quote("quiet"));
    CHECK_FALSE(unclosed_quote("a=\"b c\" d"));
    CHECK_FALSE(unclosed_quote("\"a b\"=c"));
    CHECK(unclosed_quote("a=\"b c") == std::size_t{2});
    CHECK(unclosed_quote("a=\"b\" c=\"d") == std::size_t{8});
}
