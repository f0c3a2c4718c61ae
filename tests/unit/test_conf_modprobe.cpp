// SPDX-License-Identifier: MIT
#include "pt/conf/modprobe.hpp"
#include "pt/host/root.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <optional>
#include <string>
#include <vector>

using pt::conf::is_blacklisted;
using pt::conf::is_install_disabled;
using pt::conf::ModprobeCommand;
using pt::conf::ModprobeFile;
using pt::conf::module_option;
using pt::conf::normalise_module;
using pt::conf::parse_modprobe;
using pt::conf::read_modprobe_d;
using pt::conf::softdep_pre;

namespace {

std::vector<ModprobeFile> one_file(std::string_view text) {
    return {{"/etc/modprobe.d/test.conf", parse_modprobe(text)}};
}

using Strings = std::vector<std::string>;

} // namespace

TEST_CASE("conf::normalise_module", "[conf][modprobe]") {
    CHECK(normalise_module("nvidia-drm") == "nvidia_drm");
    CHECK(normalise_module("vfio_pci") == "vfio_pci");
    CHECK(normalise_module("snd-hda-intel") == "snd_hda_intel");
    // kmod keeps '-' inside an alias pattern's character class.
    CHECK(normalise_module("pci:v*d[0-9]x-y") == "pci:v*d[0-9]x_y");
    CHECK(normalise_module("") == "");
}

TEST_CASE("conf::parse_modprobe", "[conf][modprobe]") {
    SECTION("verbs, modules and the rest, with line numbers") {
        const auto commands = parse_modprobe("# comment\n"
                                             "\n"
                                             "blacklist nouveau\n"
                                             "options vfio-pci ids=10de:2204,10de:1aef "
                                             "disable_vga=1\n"
                                             "softdep nvidia pre: vfio-pci\n");
        REQUIRE(commands.size() == 3);
        CHECK(commands[0].line == 3);
        CHECK(commands[0].verb == "blacklist");
        CHECK(commands[0].module == "nouveau");
        CHECK(commands[0].rest.empty());
        CHECK(commands[1].line == 4);
        CHECK(commands[1].verb == "options");
        CHECK(commands[1].module == "vfio_pci");
        CHECK(commands[1].rest == "ids=10de:2204,10de:1aef disable_vga=1");
        CHECK(commands[2].verb == "softdep");
        CHECK(commands[2].module == "nvidia");
        CHECK(commands[2].rest == "pre: vfio-pci");
    }
    SECTION("a trailing backslash continues the line; kmod drops it with the newline") {
        const auto commands = parse_modprobe("options vfio-pci \\\n"
                                             "  ids=10de:2204 \\\n"
                                             "  disable_vga=1\n"
                                             "blacklist radeon\n");
        REQUIRE(commands.size() == 2);
        CHECK(commands[0].line == 1);
        CHECK(commands[0].rest == "ids=10de:2204   disable_vga=1");
        CHECK(commands[1].line == 4);
        CHECK(commands[1].module == "radeon");
    }
    SECTION("a comment ending in a backslash swallows the next line, as in kmod") {
        const auto commands = parse_modprobe("# note \\\nblacklist nouveau\nblacklist nvidia\n");
        REQUIRE(commands.size() == 1);
        CHECK(commands[0].module == "nvidia");
        CHECK(commands[0].line == 3);
    }
    SECTION("indented comments, tabs, CRLF and trailing spaces") {
        const auto commands =
            parse_modprobe("   # indented comment\r\n\tblacklist\tnouveau \r\nsoftdep nvidia pre: "
                           "vfio-pci \n");
        REQUIRE(commands.size() == 2);
        CHECK(commands[0].module == "nouveau");
        CHECK(commands[0].rest.empty());
        CHECK(commands[1].rest == "pre: vfio-pci");
    }
    SECTION("no final newline and a final backslash") {
        CHECK(parse_modprobe("blacklist bcma").size() == 1);
        const auto commands = parse_modprobe("options kvm ignore_msrs=1 \\");
        REQUIRE(commands.size() == 1);
        CHECK(commands[0].rest == "ignore_msrs=1 \\");
    }
    SECTION("empty and blank-only text") {
        CHECK(parse_modprobe("").empty());
        CHECK(parse_modprobe("\n").empty());
        CHECK(parse_modprobe("  \n\t\n").empty());
    }
}

TEST_CASE("conf::is_blacklisted and is_install_disabled", "[conf][modprobe]") {
    const auto files = one_file("blacklist snd-usb-audio\n"
                                "blacklist nvidia-drm # trailing words are ignored by kmod\n"
                                "install nouveau /bin/false\n"
                                "install radeon /usr/bin/true\n"
                                "install amdgpu /sbin/modprobe --ignore-install amdgpu\n"
                                "# blacklist i915\n");
    CHECK(is_blacklisted(files, "snd_usb_audio"));
    CHECK(is_blacklisted(files, "snd-usb-audio"));
    CHECK(is_blacklisted(files, "nvidia_drm"));
    CHECK_FALSE(is_blacklisted(files, "i915"));
    CHECK_FALSE(is_blacklisted(files, "nouveau"));
    CHECK(is_install_disabled(files, "nouveau"));
    CHECK(is_install_disabled(files, "radeon"));
    CHECK_FALSE(is_install_disabled(files, "amdgpu"));
    CHECK_FALSE(is_install_disabled(files, "snd_usb_audio"));
}

TEST_CASE("conf::softdep_pre", "[conf][modprobe]") {
    SECTION("pre and post lists, several lines, normalised names") {
        const auto files = one_file("softdep nvidia pre: vfio-pci\n"
                                    "softdep nvidia pre: a b post: c pre: d\n"
                                    "softdep nouveau pre: vfio-pci\n");
        CHECK(softdep_pre(files, "nvidia") == Strings{"vfio_pci", "a", "b", "d"});
        CHECK(softdep_pre(files, "nouveau") == Strings{"vfio_pci"});
        CHECK(softdep_pre(files, "amdgpu").empty());
    }
    SECTION("names before pre: and a pre: glued to a name do not count") {
        const auto files = one_file("softdep igb x pre:vfio-pci\n"
                                    "softdep atlantic: vfio-pci\n");
        CHECK(softdep_pre(files, "igb").empty());
        CHECK(softdep_pre(files, "atlantic").empty());
    }
}

TEST_CASE("conf::module_option", "[conf][modprobe]") {
    SECTION("the last value of a key wins across lines") {
        const auto files = one_file("options vfio-pci ids=1002:66af,1002:ab20 disable_vga=1\n"
                                    "options vfio_pci ids=1987:5016\n"
                                    "options vfio-pci ids=14e4:43a0\n");
        CHECK(module_option(files, "vfio-pci", "ids") == std::optional<std::string>("14e4:43a0"));
        CHECK(module_option(files, "vfio_pci", "disable_vga") == std::optional<std::string>("1"));
        CHECK(module_option(files, "vfio_pci", "nointxmask") == std::nullopt);
        CHECK(module_option(files, "kvm", "ids") == std::nullopt);
    }
    SECTION("'-' and '_' are the same in keys; a bare key has an empty value") {
        const auto files = one_file("options kvm ignore-msrs=1 report_ignored_msrs\n");
        CHECK(module_option(files, "kvm", "ignore_msrs") == std::optional<std::string>("1"));
        CHECK(module_option(files, "kvm", "report_ignored_msrs") == std::optional<std::string>(""));
    }
    SECTION("double quotes group and are dropped") {
        const auto files = one_file("options foo a=\"x y\" b=2\n");
        CHECK(module_option(files, "foo", "a") == std::optional<std::string>("x y"));
        CHECK(module_option(files, "foo", "b") == std::optional<std::string>("2"));
    }
    SECTION("later files win over earlier ones") {
        const std::vector<ModprobeFile> files = {
            {"/etc/modprobe.d/a.conf", parse_modprobe("options kvm ignore_msrs=1\n")},
            {"/etc/modprobe.d/b.conf", parse_modprobe("options kvm ignore_msrs=Y\n")}};
        CHECK(module_option(files, "kvm", "ignore_msrs") == std::optional<std::string>("Y"));
    }
}

// Shapes from real hosts (the project's collection of public GPU-passthrough setups).
TEST_CASE("conf::modprobe real-world shapes", "[conf][modprobe][realworld]") {
    SECTION("five options lines for vfio-pci, prose comments holding options, no final newline") {
        const auto files =
            one_file("# Radeon VII\n"
                     "options vfio-pci ids=1002:66af,1002:ab20 disable_vga=1\n"
                     "# MP600 NVME controller\n"
                     "options vfio-pci ids=1987:5016\n"
                     "# Incompatible USB controllers options vfio-pci ids=1022:148c\n"
                     "# Incompatible Audio options vfio-pci ids=1022:1487\n"
                     "# Compatible USB controllers options vfio-pci ids=1022:149c\n"
                     "# SATA controller\n"
                     "options vfio-pci ids=1022:7901\n"
                     "# USB-C 2x2 controller (rear) options vfio-pci ids=1b21:3242\n"
                     "# Aquantia ethernet controller\n"
                     "options vfio-pci ids=1d6a:07b1\n"
                     "# WiFi PCI broadcom\n"
                     "options vfio-pci ids=14e4:43a0");
        REQUIRE(files[0].commands.size() == 5);
        CHECK(files[0].commands[0].line == 2);
        CHECK(files[0].commands[4].line == 14);
        CHECK(module_option(files, "vfio_pci", "ids") == std::optional<std::string>("14e4:43a0"));
        CHECK(module_option(files, "vfio_pci", "disable_vga") == std::optional<std::string>("1"));
    }
    SECTION("the Proxmox-style blacklist file with a header and dashes") {
        const auto files = one_file("# This file contains a list of modules which are not "
                                    "supported by Proxmox VE \n"
                                    "# nvidiafb see bugreport "
                                    "https://bugzilla.proxmox.com/show_bug.cgi?id=701\n"
                                    "blacklist snd_hda_codec_hdmi\n"
                                    "blacklist snd_hda_intel\n"
                                    "blacklist radeon\n"
                                    "blacklist amdgpu\n"
                                    "blacklist snd-usb-audio\n"
                                    "blacklist bcma\n");
        CHECK(is_blacklisted(files, "amdgpu"));
        CHECK(is_blacklisted(files, "snd_usb_audio"));
        CHECK_FALSE(is_blacklisted(files, "nvidiafb"));
        CHECK(files[0].commands[0].line == 3);
    }
    SECTION("one file mixing options, blacklists and a name that is no module") {
        const auto files = one_file("# lspci -nnk\n"
                                    "#         Kernel modules: nvidiafb, nouveau\n"
                                    "options kvm ignore_msrs=1\n"
                                    "options vfio-pci ids=10de:1187,10de:0e0a disable_vga=1\n"
                                    "options vfio-pci ids=1b21:1242\n"
                                    "options vfio-pci ids=8086:3a38,8086:3a39\n"
                                    "options vfio_iommu_type1 allow_unsafe_interrupts=1\n"
                                    "blacklist nvidia\n"
                                    "blacklist nvidiafb\n"
                                    "blacklist nouveau\n"
                                    "blacklist ASMedia\n");
        CHECK(module_option(files, "vfio-pci", "ids")
              == std::optional<std::string>("8086:3a38,8086:3a39"));
        CHECK(module_option(files, "vfio_iommu_type1", "allow_unsafe_interrupts")
              == std::optional<std::string>("1"));
        CHECK(is_blacklisted(files, "nvidiafb"));
        CHECK(is_blacklisted(files, "ASMedia"));
    }
    SECTION("softdeps for the GPU drivers, drm and nvme, no final newline") {
        const auto files = one_file("options vfio-pci ids=10de:1be1,10de:10f0,144d:a809 "
                                    "disable_vga=1\n"
                                    "softdep nouveau pre: vfio-pci\n"
                                    "softdep nvidia pre: vfio-pci\n"
                                    "softdep nvidiafb pre: vfio-pci\n"
                                    "softdep nvidia_drm pre: vfio-pci\n"
                                    "softdep drm pre: vfio-pci\n"
                                    "softdep nvme pre: vfio-pci");
        for (const char* module : {"nouveau", "nvidia", "nvidiafb", "nvidia-drm", "drm", "nvme"}) {
            CHECK(softdep_pre(files, module) == Strings{"vfio_pci"});
        }
    }
    SECTION("malformed softdeps with the colon glued to the module") {
        const auto files = one_file("softdep igb pre: vfio-pci\n"
                                    "softdep atlantic: vfio-pci\n"
                                    "softdep nvme: vfio-pci\n"
                                    "options vfio-pci ids=8086:1521\n"
                                    "options vfio-pci ids=1043:874a\n"
                                    "options vfio-pci ids=c0a9:540a\n");
        CHECK(softdep_pre(files, "igb") == Strings{"vfio_pci"});
        CHECK(softdep_pre(files, "nvme").empty());
        CHECK(files[0].commands[2].module == "nvme:");
        CHECK(module_option(files, "vfio_pci", "ids") == std::optional<std::string>("c0a9:540a"));
    }
    SECTION("a space after a comma splits ids= into a bogus parameter") {
        const auto files = one_file("options vfio-pci ids=1002:687f, 1002:aaf8\n");
        CHECK(module_option(files, "vfio_pci", "ids") == std::optional<std::string>("1002:687f,"));
    }
    SECTION("a typo'd key and a wildcard softdep are taken literally") {
        const auto files = one_file("options snd_hda_intel index-0\n"
                                    "softdep nouveau pre: vfio-pci \n"
                                    "softdep nvidia pre: vfio-pci \n"
                                    "softdep nvidia* pre: vfio-pci\n");
        CHECK(module_option(files, "snd_hda_intel", "index") == std::nullopt);
        CHECK(module_option(files, "snd_hda_intel", "index_0") == std::optional<std::string>(""));
        CHECK(softdep_pre(files, "nvidia") == Strings{"vfio_pci"});
        CHECK(softdep_pre(files, "nvidia*") == Strings{"vfio_pci"});
    }
    SECTION("a file that is only a newline, and one starting with a blank line") {
        CHECK(parse_modprobe("\n").empty());
        const auto files = one_file("\nblacklist nvidia\n");
        REQUIRE(files[0].commands.size() == 1);
        CHECK(files[0].commands[0].line == 2);
    }
}

TEST_CASE("conf::read_modprobe_d", "[conf][modprobe]") {
    pt::test::TempRoot tmp;
    SECTION("no folders: no files") {
        CHECK(read_modprobe_d(pt::host::Root(tmp.path())).empty());
    }
    SECTION("sorted by name across the four folders; the first folder's file of a name wins") {
        tmp.write("/lib/modprobe.d/aliases.conf", "alias foo bar\n");
        tmp.write("/lib/modprobe.d/blacklist.conf", "blacklist from_lib\n");
        tmp.write("/etc/modprobe.d/blacklist.conf", "blacklist from_etc\n");
        tmp.write("/run/modprobe.d/blacklist.conf", "blacklist from_run\n");
        tmp.write("/run/modprobe.d/zz.conf", "blacklist zz\n");
        tmp.write("/usr/local/lib/modprobe.d/vfio.conf", "options vfio-pci ids=10de:2204\n");
        tmp.write("/etc/modprobe.d/README", "blacklist not_a_conf\n");
        tmp.write("/etc/modprobe.d/.hidden.conf", "blacklist hidden\n");
        tmp.write("/etc/modprobe.d/old.conf.dpkg-old", "blacklist old\n");
        tmp.mkdir("/etc/modprobe.d/dir.conf");
        tmp.symlink("/etc/modprobe.d/dangling.conf", "/nowhere/x.conf");

        const auto files = read_modprobe_d(pt::host::Root(tmp.path()));
        REQUIRE(files.size() == 4);
        CHECK(files[0].path == "/lib/modprobe.d/aliases.conf");
        CHECK(files[1].path == "/etc/modprobe.d/blacklist.conf");
        CHECK(files[2].path == "/usr/local/lib/modprobe.d/vfio.conf");
        CHECK(files[3].path == "/run/modprobe.d/zz.conf");
        CHECK(is_blacklisted(files, "from_etc"));
        CHECK_FALSE(is_blacklisted(files, "from_lib"));
        CHECK_FALSE(is_blacklisted(files, "from_run"));
        CHECK_FALSE(is_blacklisted(files, "not_a_conf"));
        CHECK_FALSE(is_blacklisted(files, "hidden"));
        CHECK(module_option(files, "vfio_pci", "ids") == std::optional<std::string>("10de:2204"));
    }
    SECTION("an empty file of the same name in /etc masks the one in /lib") {
        tmp.write("/lib/modprobe.d/nvidia.conf", "blacklist nouveau\n");
        tmp.write("/etc/modprobe.d/nvidia.conf", "");
        const auto files = read_modprobe_d(pt::host::Root(tmp.path()));
        REQUIRE(files.size() == 1);
        CHECK(files[0].path == "/etc/modprobe.d/nvidia.conf");
        CHECK_FALSE(is_blacklisted(files, "nouveau"));
    }
}
