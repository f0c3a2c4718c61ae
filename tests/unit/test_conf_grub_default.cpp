// SPDX-License-Identifier: MIT
// Shapes follow published /etc/default/grub files of passthrough setups (whole Debian/Proxmox
// files, one-line fragments without a newline, self-appending assignments, commented
// alternatives, single quotes); the cases are written here, not copied.
#include "pt/conf/grub_default.hpp"
#include "pt/error.hpp"
#include "support/catch.hpp"

#include <string>
#include <vector>

using pt::conf::GrubConfig;
using pt::conf::GrubFile;
using pt::conf::k_grub_cmdline;
using pt::conf::k_grub_cmdline_default;
using pt::conf::ParamOp;
using pt::conf::parse_grub_default;
using pt::conf::Quote;
using pt::conf::with_cmdline_params;

namespace {

ParamOp set(std::string name, std::optional<std::string> value = std::nullopt) {
    return {ParamOp::Kind::set, {std::move(name), std::move(value)}, "test"};
}

ParamOp drop(std::string name, std::optional<std::string> value = std::nullopt) {
    return {ParamOp::Kind::remove, {std::move(name), std::move(value)}, "test"};
}

const std::string k_debian_file =
    "# If you change this file, run 'update-grub' afterwards to update\n"
    "# /boot/grub/grub.cfg.\n"
    "# For full documentation of the options in this file, see:\n"
    "#   info -f grub -n 'Simple configuration'\n"
    "\n"
    "GRUB_DEFAULT=0\n"
    "GRUB_TIMEOUT=5\n"
    "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n"
    "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
    "GRUB_CMDLINE_LINUX=\"\"\n"
    "\n"
    "# Uncomment to disable graphical terminal (grub-pc only)\n"
    "#GRUB_TERMINAL=console\n"
    "#GRUB_INIT_TUNE=\"480 440 1\"\n";

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const auto pos = text.find(from);
    REQUIRE(pos != std::string::npos);
    text.replace(pos, from.size(), to);
    return text;
}

// The transform must refuse and throw a message naming the line.
void check_refused(const std::string& text, const std::string& line_fragment) {
    std::string message;
    try {
        (void)with_cmdline_params(text, {set("intel_iommu", "on")});
    } catch (const pt::Error& e) {
        message = e.what();
    }
    INFO(text);
    CHECK_THAT(message, Catch::Contains("/etc/default/grub " + line_fragment));
    CHECK_THAT(message, Catch::Contains("by hand"));
}

} // namespace

TEST_CASE("conf::parse_grub_default finds the assignments", "[conf][grub]") {
    SECTION("a Debian file: line numbers, quote style, value span") {
        const auto parsed = parse_grub_default(k_debian_file);
        CHECK(parsed.problems.empty());
        REQUIRE(parsed.assignments.size() == 2);
        const auto& a = parsed.assignments[0];
        CHECK(a.variable == k_grub_cmdline_default);
        CHECK(a.line == 9);
        CHECK(a.quote == Quote::double_quote);
        CHECK(k_debian_file.substr(a.value_begin, a.value_end - a.value_begin) == "quiet");
        CHECK(parsed.assignments[1].variable == k_grub_cmdline);
        CHECK(parsed.assignments[1].line == 10);
        CHECK(parsed.assignments[1].value_begin == parsed.assignments[1].value_end);
    }
    SECTION("commented assignments, also with trailing comments, are not assignments") {
        const std::string text = "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
                                 "# GRUB_CMDLINE_LINUX=\"root=ZFS=rpool/ROOT/pve-1 boot=zfs\" # "
                                 "ORIGINAL\n"
                                 "GRUB_CMDLINE_LINUX=\"root=ZFS=rpool/ROOT/pve-1 boot=zfs "
                                 "intel_iommu=on\"\n"
                                 "#GRUB_CMDLINE_LINUX=\"x\" # SUGGESTED\n";
        const auto parsed = parse_grub_default(text);
        CHECK(parsed.problems.empty());
        REQUIRE(parsed.assignments.size() == 2);
        CHECK(parsed.assignments[1].line == 3);
    }
    SECTION("single quotes, no quotes, export, trailing comment") {
        const auto parsed = parse_grub_default("GRUB_CMDLINE_LINUX_DEFAULT='quiet apparmor=1'\n"
                                               "export GRUB_CMDLINE_LINUX=quiet # note\n");
        CHECK(parsed.problems.empty());
        REQUIRE(parsed.assignments.size() == 2);
        CHECK(parsed.assignments[0].quote == Quote::single_quote);
        CHECK(parsed.assignments[1].quote == Quote::none);
        CHECK(parsed.assignments[1].parts.front().text == "quiet");
    }
    SECTION("self-references, $NAME and ${NAME}") {
        const auto parsed =
            parse_grub_default("GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX iommu=pt\"\n"
                               "GRUB_CMDLINE_LINUX=\"intel_iommu=on ${GRUB_CMDLINE_LINUX}\"\n");
        CHECK(parsed.problems.empty());
        REQUIRE(parsed.assignments.size() == 2);
        CHECK(parsed.assignments[0].has_self_ref());
        REQUIRE(parsed.assignments[1].parts.size() == 3);
        CHECK(parsed.assignments[1].parts[0].text == "intel_iommu=on ");
        CHECK(parsed.assignments[1].parts[1].text == "${GRUB_CMDLINE_LINUX}");
        CHECK(parsed.assignments[1].parts[2].text.empty());
    }
    SECTION("other variables may hold anything, even across lines") {
        const auto parsed =
            parse_grub_default("GRUB_DISTRIBUTOR=\"`lsb_release -i -s 2> /dev/null`\"\n"
                               "GRUB_TERMINAL=\"console\n serial\"\n"
                               "GRUB_RECORDFAIL_TIMEOUT=$GRUB_TIMEOUT\n"
                               "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet # not a comment\"\n");
        CHECK(parsed.problems.empty());
        REQUIRE(parsed.assignments.size() == 1);
        CHECK(parsed.assignments[0].line == 5);
        CHECK(parsed.assignments[0].parts[0].text == "quiet # not a comment");
    }
    SECTION("shell code pt does not follow is a problem with its line") {
        const std::vector<std::pair<std::string, std::size_t>> cases = {
            {"GRUB_CMDLINE_LINUX_DEFAULT=\"$(cat /etc/cmdline)\"\n", 1},
            {"X=1\nGRUB_CMDLINE_LINUX_DEFAULT=`cat /etc/cmdline`\n", 2},
            {"if [ -e /x ]; then\n  GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nfi\n", 2},
            {"[ -e /x ] && GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n", 1},
            {"GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\n intel_iommu=on\"\n", 1},
            {"GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX quiet\"\n", 1},
            {"GRUB_CMDLINE_LINUX_DEFAULT+=\" quiet\"\n", 1},
            {"a\nb\n. /etc/default/grub.local\n", 3},
            {"unset GRUB_CMDLINE_LINUX\n", 1},
            {"GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"' splash'\n", 1},
            {"GRUB_CMDLINE_LINUX_DEFAULT=\"${GRUB_CMDLINE_LINUX_DEFAULT:-quiet}\"\n", 1},
            {"GRUB_CMDLINE_LINUX_DEFAULT=\"quiet \\\"x\\\"\"\n", 1},
            {"GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\" GRUB_TIMEOUT=3\n", 1},
            {"case $x in\n a) GRUB_CMDLINE_LINUX=\"quiet\" ;;\nesac\n", 2},
            {"f() {\n GRUB_CMDLINE_LINUX=\"quiet\"\n}\n", 2},
            {"GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\" \\\n  intel_iommu=on\n", 1},
        };
        for (const auto& [text, line] : cases) {
            INFO(text);
            const auto parsed = parse_grub_default(text);
            REQUIRE(!parsed.problems.empty());
            CHECK(parsed.problems.front().line == line);
        }
    }
}

TEST_CASE("conf::GrubConfig evaluates across files", "[conf][grub]") {
    SECTION("the last assignment wins, drop-ins after the main file") {
        const GrubConfig config(
            {{"/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"},
             {"/etc/default/grub.d/a.cfg", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash\"\n"},
             {"/etc/default/grub.d/b.cfg", "GRUB_DEFAULT=saved\n"}});
        const auto value = config.evaluate(k_grub_cmdline_default);
        CHECK(value.value == "quiet splash");
        REQUIRE(value.last);
        CHECK(value.last->file == 1);
        CHECK(value.chain.size() == 1);
    }
    SECTION("self-appending assignments concatenate (six times)") {
        const GrubConfig config(std::vector<GrubFile>{
            {"/etc/default/grub",
             "GRUB_CMDLINE_LINUX=\"\"\n"
             "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX pci_stub.ids=10de:1e81\"\n"
             "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX intel_iommu=on\"\n"
             "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX cgroup_enable=memory\"\n"
             "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX intel_pstate=disable\"\n"
             "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX hugepages=42\"\n"}});
        const auto value = config.evaluate(k_grub_cmdline);
        CHECK(value.value
              == " pci_stub.ids=10de:1e81 intel_iommu=on cgroup_enable=memory "
                 "intel_pstate=disable hugepages=42");
        CHECK(value.chain.size() == 6);
        CHECK(config.cmdline()
              == "pci_stub.ids=10de:1e81 intel_iommu=on cgroup_enable=memory "
                 "intel_pstate=disable hugepages=42");
    }
    SECTION("the default entries get GRUB_CMDLINE_LINUX then GRUB_CMDLINE_LINUX_DEFAULT") {
        const GrubConfig config(
            std::vector<GrubFile>{{"/etc/default/grub",
                                   "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
                                   "GRUB_CMDLINE_LINUX=\"quiet intel_iommu=on iommu=pt\"\n"}});
        CHECK(config.cmdline() == "quiet intel_iommu=on iommu=pt quiet");
    }
    SECTION("problems carry the path") {
        const GrubConfig config(
            {{"/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"},
             {"/etc/default/grub.d/x.cfg", "\nGRUB_CMDLINE_LINUX_DEFAULT=$(cat /x)\n"}});
        REQUIRE(config.first_problem());
        CHECK_THAT(*config.first_problem(),
                   Catch::StartsWith("/etc/default/grub.d/x.cfg line 2: "));
    }
}

TEST_CASE("conf::with_cmdline_params splices the value only", "[conf][grub]") {
    SECTION("adds to a Debian file, every other byte kept") {
        const auto out = with_cmdline_params(k_debian_file, {set("intel_iommu", "on")});
        CHECK(out == replaced(k_debian_file, "=\"quiet\"", "=\"quiet intel_iommu=on\""));
    }
    SECTION("replaces a value in place, saying so") {
        const std::string text = "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=off iommu=pt\"\n";
        const GrubConfig config(std::vector<GrubFile>{{"/etc/default/grub", text}});
        const auto edit = pt::conf::edit_grub_cmdline(config, {set("intel_iommu", "on")});
        CHECK(edit.texts[0] == "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"\n");
        REQUIRE(edit.changes.size() == 1);
        CHECK(edit.changes[0].change.describe() == "replace intel_iommu=off with intel_iommu=on");
        CHECK(edit.changes[0].line == 1);
    }
    SECTION("removes amd_iommu=on, keeps the rest (hugepages file)") {
        const std::string text = "GRUB_DEFAULT=0\n"
                                 "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt amd_iommu=on "
                                 "default_hugepagesz=1G hugepagesz=1G hugepages=120\"\n"
                                 "GRUB_CMDLINE_LINUX=\"\"\n\n";
        CHECK(with_cmdline_params(text, {drop("amd_iommu", "on")})
              == replaced(text, " amd_iommu=on", ""));
    }
    SECTION("a one-line fragment without a trailing newline stays without one") {
        const std::string text = "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt "
                                 "multifunction nofb nomodeset initcall_blacklist=sysfb_init "
                                 "nox2apic\"";
        CHECK(with_cmdline_params(text, {set("iommu", "pt"), set("intel_iommu", "on")}) == text);
        CHECK(with_cmdline_params(text, {set("pcie_acs_override", "downstream")})
              == replaced(text, "nox2apic\"", "nox2apic pcie_acs_override=downstream\""));
    }
    SECTION("single quotes stay single") {
        const std::string text = "GRUB_CMDLINE_LINUX_DEFAULT='quiet apparmor=1 security=apparmor "
                                 "udev.log_priority=3 intel_iommu=on iommu=pt video=efifb:off "
                                 "vfio-pci.ids=1002:73ff,1002:ab28'\n";
        CHECK(with_cmdline_params(text, {set("vfio-pci.ids", "1002:73ff")})
              == replaced(text, "1002:73ff,1002:ab28'", "1002:73ff'"));
    }
    SECTION("no quotes: a lone word stays bare, a value with a space gets double quotes") {
        CHECK(with_cmdline_params("GRUB_CMDLINE_LINUX_DEFAULT=quiet\n", {set("quiet")})
              == "GRUB_CMDLINE_LINUX_DEFAULT=quiet\n");
        CHECK(with_cmdline_params("GRUB_CMDLINE_LINUX_DEFAULT=quiet # x\n", {set("iommu", "pt")})
              == "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt\" # x\n");
        CHECK(with_cmdline_params("GRUB_CMDLINE_LINUX_DEFAULT=\n", {set("iommu", "pt")})
              == "GRUB_CMDLINE_LINUX_DEFAULT=iommu=pt\n");
    }
    SECTION("an empty value gets the parameter without a leading space") {
        CHECK(with_cmdline_params("GRUB_CMDLINE_LINUX_DEFAULT=\"\"\n", {set("iommu", "pt")})
              == "GRUB_CMDLINE_LINUX_DEFAULT=\"iommu=pt\"\n");
    }
    SECTION("duplicate assignments: the last one is edited") {
        const std::string text = "#GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
                                 "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
                                 "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash\"\n";
        CHECK(with_cmdline_params(text, {set("iommu", "pt")})
              == replaced(text, "splash\"", "splash iommu=pt\""));
    }
    SECTION("a self-appending assignment gains the parameter after the reference") {
        const std::string text = "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
                                 "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT\"\n";
        CHECK(with_cmdline_params(text, {set("iommu", "pt")})
              == "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
                 "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt\"\n");
        const std::string prefix =
            "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
            "GRUB_CMDLINE_LINUX_DEFAULT=\"iommu=pt ${GRUB_CMDLINE_LINUX_DEFAULT}\"\n";
        CHECK(with_cmdline_params(prefix, {drop("iommu")})
              == "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
                 "GRUB_CMDLINE_LINUX_DEFAULT=\"${GRUB_CMDLINE_LINUX_DEFAULT}\"\n");
        const std::string bare = "GRUB_CMDLINE_LINUX_DEFAULT=quiet\n"
                                 "GRUB_CMDLINE_LINUX_DEFAULT=$GRUB_CMDLINE_LINUX_DEFAULT\n";
        CHECK(with_cmdline_params(bare, {set("iommu", "pt")})
              == "GRUB_CMDLINE_LINUX_DEFAULT=quiet\n"
                 "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt\"\n");
    }
    SECTION("a parameter inherited through a self-reference is replaced where it is written") {
        const std::string text = "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=off\"\n"
                                 "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT "
                                 "iommu=pt\"\n";
        CHECK(with_cmdline_params(text, {set("intel_iommu", "on")})
              == replaced(text, "intel_iommu=off", "intel_iommu=on"));
    }
    SECTION("parameters in GRUB_CMDLINE_LINUX count and are edited there") {
        const std::string text = "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
                                 "GRUB_CMDLINE_LINUX=\"root=ZFS=rpool/ROOT/pve-1 boot=zfs "
                                 "amd_iommu=on\"\n";
        CHECK(with_cmdline_params(text, {set("quiet")}) == text);
        CHECK(with_cmdline_params(text, {drop("amd_iommu", "on")})
              == replaced(text, " amd_iommu=on", ""));
    }
    SECTION("no GRUB_CMDLINE_LINUX_DEFAULT at all: a new line at the end") {
        CHECK(with_cmdline_params("GRUB_CMDLINE_LINUX=\"iommu=soft\"", {set("iommu", "pt")})
              == "GRUB_CMDLINE_LINUX=\"iommu=soft\"\nGRUB_CMDLINE_LINUX_DEFAULT=\"iommu=pt\"\n");
        CHECK(with_cmdline_params("GRUB_CMDLINE_LINUX=\"\"\n", {drop("iommu")})
              == "GRUB_CMDLINE_LINUX=\"\"\n");
    }
    SECTION("a drop-in that reassigns the variable is the file that gets the addition") {
        const GrubConfig config(
            {{"/etc/default/grub", k_debian_file},
             {"/etc/default/grub.d/50-local.cfg", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash\""},
             {"/etc/default/grub.d/proxmox-kernel-pin.cfg", "GRUB_DEFAULT=\"x\"\n"}});
        const auto edit = pt::conf::edit_grub_cmdline(config, {set("iommu", "pt")});
        CHECK(edit.texts[0] == k_debian_file);
        CHECK(edit.texts[1] == "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash iommu=pt\"");
        CHECK(edit.texts[2] == "GRUB_DEFAULT=\"x\"\n");
        REQUIRE(edit.changes.size() == 1);
        CHECK(edit.changes[0].path == "/etc/default/grub.d/50-local.cfg");
    }
    SECTION("idempotent: transform(transform(x)) == transform(x)") {
        const std::vector<std::string> files = {
            k_debian_file,
            "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet amd_iommu=on iommu=pt\"",
            "GRUB_CMDLINE_LINUX_DEFAULT='quiet'\n",
            "GRUB_CMDLINE_LINUX=\"\"\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX x=1\"\n",
            "GRUB_CMDLINE_LINUX_DEFAULT=\"resume=UUID=b678 iommu=1 amd_iommu=on iommu=pt "
            "transparent_hugepage=never\"\n",
        };
        const std::vector<ParamOp> ops = {set("intel_iommu", "on"),
                                          set("iommu", "pt"),
                                          set("initcall_blacklist", "sysfb_init"),
                                          set("vfio-pci.ids", "10de:2204,10de:1aef"),
                                          drop("amd_iommu", "on")};
        for (const auto& text : files) {
            INFO(text);
            const auto once = with_cmdline_params(text, ops);
            CHECK(with_cmdline_params(once, ops) == once);
        }
    }
    SECTION("malformed input is refused with its line, and nothing is returned") {
        check_refused("GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"$(cat /x)\"\n", "line 2");
        check_refused("if true; then\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nfi\n", "line 2");
        check_refused("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\n  iommu=pt\"\n", "line 1");
        check_refused("\n\n\nGRUB_CMDLINE_LINUX_DEFAULT=\"$OTHER quiet\"\n", "line 4");
        check_refused("GRUB_CMDLINE_LINUX_DEFAULT=`echo quiet`\n", "line 1");
    }
}
