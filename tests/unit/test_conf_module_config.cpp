// SPDX-License-Identifier: MIT
#include "pt/conf/module_config.hpp"
#include "pt/host/root.hpp"
#include "pt/kernel/cmdline.hpp"
#include "support/catch.hpp"
#include "support/temp_root.hpp"

#include <map>
#include <string>
#include <vector>

using pt::conf::ModprobeText;

namespace {

ModprobeText at(const char* dir, const char* name, const char* text) {
    return {dir, name, std::string(dir) + "/" + name, text};
}

std::vector<std::string> paths(const pt::conf::ModuleConfig& config) {
    std::vector<std::string> out;
    for (const auto& f : config.files) {
        out.push_back(f.path);
    }
    return out;
}

} // namespace

TEST_CASE("compute_module_config: kmod's file choice and order", "[conf][module_config]") {
    const auto config = pt::conf::compute_module_config(
        {
            at("/usr/lib/modprobe.d", "vfio.conf", "options vfio-pci ids=1111:1111\n"),
            at("/etc/modprobe.d", "vfio.conf", "options vfio-pci ids=10de:2204\n"),
            at("/lib/modprobe.d", "aa.conf", "blacklist nouveau\n"),
            at("/run/modprobe.d", "zz.conf", "options vfio_pci disable_vga=1\n"),
            at("/etc/modprobe.d", ".hidden.conf", "blacklist amdgpu\n"),
            at("/etc/modprobe.d", "notes.txt", "blacklist radeon\n"),
        },
        {},
        "/proc/cmdline");
    // Sorted by name across folders; /etc hides /usr/lib's vfio.conf; dotfiles and names not
    // ending in .conf do not count.
    CHECK(paths(config)
          == std::vector<std::string>{
              "/lib/modprobe.d/aa.conf", "/etc/modprobe.d/vfio.conf", "/run/modprobe.d/zz.conf"});
    REQUIRE(config.hidden.size() == 1);
    CHECK(config.hidden[0].path == "/usr/lib/modprobe.d/vfio.conf");
    CHECK(config.hidden[0].hidden_by == "/etc/modprobe.d/vfio.conf");
    CHECK(config.option("vfio_pci", "ids")->value == "10de:2204");
    CHECK(config.blacklisted("nouveau"));
    CHECK_FALSE(config.blacklisted("amdgpu"));
    CHECK_FALSE(config.blacklisted("radeon"));
}

TEST_CASE("compute_module_config: options accumulate, the last value wins, the command line "
          "comes last",
          "[conf][module_config]") {
    const auto config = pt::conf::compute_module_config(
        {
            at("/etc/modprobe.d", "a.conf", "options vfio-pci ids=10de:2204\n"),
            at("/etc/modprobe.d", "b.conf", "options vfio_pci ids=10de:1aef disable_vga=1\n"),
        },
        pt::kernel::parse_cmdline("quiet vfio_pci.ids=1002:744c modprobe.blacklist=nouveau,radeon"),
        "/etc/default/grub");
    const auto values = config.option_values("vfio-pci", "ids");
    REQUIRE(values.size() == 3);
    CHECK(values[0].source.describe() == "/etc/modprobe.d/a.conf:1");
    CHECK(values[1].source.describe() == "/etc/modprobe.d/b.conf:1");
    CHECK(values[2].source.describe() == "/etc/default/grub");
    CHECK(config.option("vfio-pci", "ids")->value == "1002:744c");
    CHECK(config.option("vfio_pci", "disable_vga")->value == "1");
    CHECK(config.blacklisted("nouveau")->path == "/etc/default/grub");
    CHECK(config.blacklisted("radeon"));
    CHECK_FALSE(config.kernel_blacklisted("nouveau"));
}

TEST_CASE("compute_module_config: softdep, install and module_blacklist", "[conf][module_config]") {
    const auto config = pt::conf::compute_module_config(
        {at("/etc/modprobe.d",
            "pt-vfio.conf",
            "softdep nouveau pre: vfio-pci\ninstall nvidia /bin/false\n")},
        pt::kernel::parse_cmdline("module_blacklist=amdgpu"),
        "/proc/cmdline");
    const auto pre = config.softdep_pre("nouveau");
    REQUIRE(pre.size() == 1);
    CHECK(pt::conf::normalise_module(pre[0].value) == "vfio_pci");
    CHECK(config.install_disabled("nvidia")->line == 2);
    CHECK_FALSE(config.install_disabled("nouveau"));
    CHECK(config.kernel_blacklisted("amdgpu"));
}

TEST_CASE("read_module_config: reads every folder through the root; a plan's text replaces a file",
          "[conf][module_config]") {
    const pt::test::TempRoot tmp;
    tmp.write("/etc/modprobe.d/pt-vfio.conf", "options vfio-pci ids=10de:2204\n");
    tmp.write("/usr/lib/modprobe.d/pt-vfio.conf", "options vfio-pci ids=ffff:ffff\n");
    tmp.write("/lib/modprobe.d/vfio.conf", "options vfio-pci ids=10de:1aef\n");
    const pt::host::Root root(tmp.path());

    const auto now = pt::conf::read_module_config(root, {}, "/proc/cmdline");
    CHECK(now.option("vfio_pci", "ids")->value == "10de:1aef"); // vfio.conf sorts last
    CHECK(now.hidden.size() == 1);

    const std::map<std::string, std::string> planned = {
        {"/etc/modprobe.d/zz-pt.conf", "options vfio-pci ids=10de:2204,10de:1aef\n"}};
    const auto next =
        pt::conf::read_module_config(root, {}, "the configured command line", planned);
    CHECK(next.option("vfio_pci", "ids")->source.path == "/etc/modprobe.d/zz-pt.conf");
    CHECK(next.option("vfio_pci", "ids")->value == "10de:2204,10de:1aef");
}
