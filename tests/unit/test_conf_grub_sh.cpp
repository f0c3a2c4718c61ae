// SPDX-License-Identifier: MIT
// grub-mkconfig sources /etc/default/grub with /bin/sh. These tests run /bin/sh over the text pt
// parses and the text pt writes, so that "what pt thinks the value is" and "what the shell sees"
// are compared for real, not by a second model of the shell.
#include "pt/conf/grub_default.hpp"
#include "pt/error.hpp"
#include "pt/kernel/cmdline.hpp"
#include "support/catch.hpp"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using pt::conf::GrubConfig;
using pt::conf::GrubFile;
using pt::conf::k_grub_cmdline;
using pt::conf::k_grub_cmdline_default;
using pt::conf::ParamOp;
using pt::conf::with_cmdline_params;

namespace {

// The value of `variable` after `. FILE` in a /bin/sh with an empty environment.
std::string sh_value(const std::string& text, std::string_view variable) {
    std::array<char, 32> name{};
    std::snprintf(name.data(), name.size(), "/tmp/pt-grub-XXXXXX");
    const int fd = ::mkstemp(name.data());
    REQUIRE(fd >= 0);
    ::close(fd);
    {
        std::ofstream out(name.data(), std::ios::binary);
        out << text;
    }
    const std::string command = std::string("env -i /bin/sh -c '. \"$1\"; printf %s \"$")
                                + std::string(variable) + "\"' sh " + name.data() + " 2>/dev/null";
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string value;
    std::array<char, 256> buffer{};
    std::size_t got = 0;
    while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
        value.append(buffer.data(), got);
    }
    ::pclose(pipe);
    ::unlink(name.data());
    return value;
}

std::string parsed_value(const std::string& text, std::string_view variable) {
    const GrubConfig config({GrubFile{"/etc/default/grub", text}});
    REQUIRE(config.problems().empty());
    return config.evaluate(variable).value;
}

std::vector<std::string> params_of(const std::string& text) {
    std::vector<std::string> out;
    const auto line = sh_value(text, k_grub_cmdline) + " " + sh_value(text, k_grub_cmdline_default);
    for (const auto& p : pt::kernel::parse_cmdline(line)) {
        out.push_back(p.value ? p.name + "=" + *p.value : p.name);
    }
    return out;
}

ParamOp set(std::string name, std::optional<std::string> value = std::nullopt) {
    return {ParamOp::Kind::set, {std::move(name), std::move(value)}, "test"};
}

ParamOp drop(std::string name) {
    return {ParamOp::Kind::remove, {std::move(name), std::nullopt}, "test"};
}

struct Case {
    std::string name;
    std::string text;
};

const std::vector<Case> k_cases = {
    {"Debian's file (double quotes, backticks elsewhere)",
     "# If you change this file, run 'update-grub' afterwards to update\n"
     "GRUB_DEFAULT=0\n"
     "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n"
     "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
     "GRUB_CMDLINE_LINUX=\"\"\n"
     "# you can see them in real GRUB with the command `vbeinfo'\n"},
    {"single quotes", "GRUB_CMDLINE_LINUX_DEFAULT='quiet splash'\n"},
    {"single quotes around a kernel-quoted value",
     "GRUB_CMDLINE_LINUX_DEFAULT='quiet dyndbg=\"file x.c +p\"'\n"},
    {"unquoted", "GRUB_CMDLINE_LINUX_DEFAULT=quiet\n"},
    {"empty", "GRUB_CMDLINE_LINUX_DEFAULT=\"\"\nGRUB_CMDLINE_LINUX=\n"},
    {"$VAR self-reference",
     "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
     "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT intel_iommu=on\"\n"},
    {"${VAR} self-reference in GRUB_CMDLINE_LINUX",
     "GRUB_CMDLINE_LINUX=\"root=ZFS=rpool/ROOT/pve-1 boot=zfs\"\n"
     "GRUB_CMDLINE_LINUX=\"${GRUB_CMDLINE_LINUX} iommu=pt\"\n"
     "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"},
    {"continuation lines in other statements",
     "GRUB_TERMINAL=\"console \\\nserial\"\n"
     "GRUB_DISABLE_OS_PROBER=\\\ntrue\n"
     "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"},
    {"comments containing quotes, backticks and parentheses",
     "# don't use \"this (or `that`\n"
     "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\" # it's (mine\n"
     "   # an indented comment with ' and \"\n"},
    {"export", "export GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nexport GRUB_CMDLINE_LINUX\n"},
    {"multiple assignments, the last wins",
     "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
     "GRUB_CMDLINE_LINUX_DEFAULT=\"splash amd_iommu=on iommu=pt\"\n"},
    {"no trailing newline", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\""},
    {"never assigned", "GRUB_TIMEOUT=5\n"},
    {"quoted '#' and ';' in the value", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet # not; a comment\"\n"},
    {"balanced $( ), ${ } and a subshell elsewhere",
     "GRUB_DISTRIBUTOR=\"$(echo \"a)b\" )\"\n"
     "X=${GRUB_TIMEOUT:-5}\n"
     "(true)\n"
     "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"},
    {"redirections elsewhere",
     "GRUB_TIMEOUT=5 >/dev/null 2>&1\n"
     "true </dev/null\n"
     "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"},
    {"if blocks that do not touch the variables",
     "if true; then\n  GRUB_TIMEOUT=3\nfi\n"
     "case x in\n  x) GRUB_TIMEOUT=4 ;;\nesac\n"
     "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"},
};

} // namespace

TEST_CASE("conf::grub: /bin/sh sees the value pt parses, before and after every edit",
          "[conf][grub][sh]") {
    for (const auto& c : k_cases) {
        INFO(c.name << "\n" << c.text);
        for (const auto variable : {k_grub_cmdline, k_grub_cmdline_default}) {
            CHECK(parsed_value(c.text, variable) == sh_value(c.text, variable));
        }
        const auto before = params_of(c.text);
        const std::vector<std::pair<std::vector<ParamOp>, std::string>> edits = {
            {{set("iommu", "pt")}, "iommu=pt"},
            {{set("vfio-pci.ids", "10de:2204,10de:1aef")}, "vfio-pci.ids=10de:2204,10de:1aef"},
            {{set("initcall_blacklist", "sysfb_init")}, "initcall_blacklist=sysfb_init"},
            {{drop("quiet")}, ""},
        };
        for (const auto& [ops, added] : edits) {
            const std::string edited = with_cmdline_params(c.text, ops);
            INFO("edited:\n" << edited);
            for (const auto variable : {k_grub_cmdline, k_grub_cmdline_default}) {
                CHECK(parsed_value(edited, variable) == sh_value(edited, variable));
            }
            // Exactly the requested change, as the kernel will split the shell's value.
            std::vector<std::string> want;
            for (const auto& p : before) {
                if (!(added.empty() && p == "quiet") && p != added) {
                    want.push_back(p);
                }
            }
            if (!added.empty()) {
                const auto same = std::find(before.begin(), before.end(), added);
                if (same == before.end()) {
                    want.push_back(added);
                } else {
                    want = before;
                }
            }
            CHECK(params_of(edited) == want);
            // And the file pt wrote is one pt reads again, with nothing more to do.
            CHECK(with_cmdline_params(edited, ops) == edited);
        }
    }
}

TEST_CASE("conf::grub: an unquoted value gains quotes for any character special to sh",
          "[conf][grub][sh]") {
    // fuzz/regressions/grub_default/unquoted-value-gets-shell-metachar: only blanks used to get
    // quotes, so "foo=x;reboot" went in bare and `. /etc/default/grub` ran reboot.
    // (parse_request_param refuses ';' in --add now; the writer must quote on its own anyway.)
    const std::string text = "GRUB_CMDLINE_LINUX_DEFAULT=foo=1\n";
    for (const char* value : {"x;reboot", "x&y", "x|y", "(x)", "x>y", "~x", "x*", "a#b", "x?[y]"}) {
        INFO(value);
        const auto edited = with_cmdline_params(text, {set("foo", value)});
        CHECK(edited == "GRUB_CMDLINE_LINUX_DEFAULT=\"foo=" + std::string(value) + "\"\n");
        CHECK(sh_value(edited, k_grub_cmdline_default) == "foo=" + std::string(value));
        CHECK(with_cmdline_params(edited, {set("foo", value)}) == edited);
    }
    // Characters sh leaves alone keep the value bare.
    CHECK(with_cmdline_params(text, {set("foo", "a-b_c.d,e:f/g=h+i@j%k")})
          == "GRUB_CMDLINE_LINUX_DEFAULT=foo=a-b_c.d,e:f/g=h+i@j%k\n");
}

TEST_CASE("conf::grub: a comma list is added once", "[conf][grub][sh]") {
    // fuzz/regressions/grub_default/comma-option-list-added-twice
    const std::string text = "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n";
    for (const auto& op :
         {set("intel_iommu", "on,igfx_off"), set("initcall_blacklist", "sysfb_init,foo")}) {
        const GrubConfig config({GrubFile{"/etc/default/grub", text}});
        const auto once = pt::conf::edit_grub_cmdline(config, {op});
        CHECK(once.changes.size() == 1);
        const GrubConfig after({GrubFile{"/etc/default/grub", once.texts[0]}});
        const auto again = pt::conf::edit_grub_cmdline(after, {op});
        CHECK(again.texts == once.texts);
        CHECK(again.changes.empty());
    }
    const std::string linux_on = "GRUB_CMDLINE_LINUX=\"intel_iommu=on\"\n" + text;
    const auto edited = with_cmdline_params(linux_on, {set("intel_iommu", "on,igfx_off")});
    CHECK(params_of(edited)
          == std::vector<std::string>{"intel_iommu=on", "quiet", "intel_iommu=igfx_off"});
    CHECK(with_cmdline_params(edited, {set("intel_iommu", "on,igfx_off")}) == edited);
}

TEST_CASE("conf::grub: unbalanced shell syntax anywhere refuses the edit", "[conf][grub][sh]") {
    struct Refused {
        std::string text;
        std::string what; // in the message
    };

    const std::vector<Refused> cases = {
        {"GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_DISTRIBUTOR=\"Debian\n",
         "line 2: the double quote (\") opened on line 2 is never closed"},
        {"GRUB_DISTRIBUTOR='Debian\n", "the single quote (') opened on line 1 is never closed"},
        {"GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_DISTRIBUTOR=`lsb_release -i -s\n",
         "the backtick (`) opened on line 2"},
        {"GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_DISTRIBUTOR=$(lsb_release -i -s\n",
         "the command substitution $( opened on line 2"},
        {"GRUB_DISTRIBUTOR=\"$(lsb_release -i -s\"\n", "the double quote (\") opened on line 1"},
        {"GRUB_DISTRIBUTOR=${X\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n",
         "the parameter expansion ${ opened on line 1"},
        {"GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n(\nGRUB_TIMEOUT=5\n", "the '(' opened on line 2"},
        {"GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_TIMEOUT=5 )\n",
         "')' on line 2 closes nothing"},
        {"if true; then\nGRUB_TIMEOUT=5\n", "the 'if' opened on line 1 is never closed"},
        {"GRUB_TIMEOUT=5\nfi\n", "'fi' on line 2 closes nothing"},
        {"GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\r\n", "carriage return"},
        // sh assigns "quiet" and redirects to /dev/null: not the value "quiet>/dev/null".
        {"GRUB_CMDLINE_LINUX_DEFAULT=quiet>/dev/null\n", "followed by more shell code"},
        // fuzz/regressions/grub_default/file-ending-in-backslash-min: the new line would be a
        // continuation of the last one.
        {"GRUB_TIMEOUT=5 \\", "the last line ends with a backslash"},
        {"GRUB_TIMEOUT=5 \\\n", "the last line ends with a backslash"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        std::string message;
        try {
            (void)with_cmdline_params(c.text, {set("iommu", "pt")});
        } catch (const pt::Error& e) {
            message = e.what();
        }
        CHECK_THAT(message, Catch::Contains("/etc/default/grub line"));
        CHECK_THAT(message, Catch::Contains(c.what));
    }
    SECTION("the message gives the exact fix") {
        std::string message;
        try {
            (void)with_cmdline_params(
                "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n\n\n\n\n"
                "GRUB_DISTRIBUTOR=\"Debian\n",
                {set("iommu", "pt")});
        } catch (const pt::Error& e) {
            message = e.what();
        }
        CHECK_THAT(message,
                   Catch::EndsWith("close the double quote (\") opened on line 7 of "
                                   "/etc/default/grub, then run pt grub again"));
    }
    SECTION("a kernel-level double quote left open in a single-quoted value") {
        std::string message;
        try {
            (void)with_cmdline_params("GRUB_CMDLINE_LINUX_DEFAULT='quiet dyndbg=\"x'\n",
                                      {set("iommu", "pt")});
        } catch (const pt::Error& e) {
            message = e.what();
        }
        CHECK_THAT(message,
                   Catch::Contains("/etc/default/grub line 1: the value of "
                                   "GRUB_CMDLINE_LINUX_DEFAULT has a double quote"));
        CHECK_THAT(message, Catch::Contains("lib/cmdline.c next_arg"));
    }
}
