// SPDX-License-Identifier: MIT
#include "pt/host/root.hpp"
#include "pt/pci/topology.hpp"
#include "pt/proxmox/lint.hpp"
#include "support/catch.hpp"
#include "support/devices.hpp"
#include "support/temp_root.hpp"

#include <algorithm>
#include <string>

using pt::check::Status;
using pt::proxmox::lint_config;
using pt::proxmox::LintContext;
using pt::proxmox::VmConfig;
using pt::proxmox::VmFile;

namespace {

pt::pci::Topology topology() {
    pt::pci::Topology t;
    auto gpu = pt::test::make_device("0000:0b:00.0", 0x030000, "vfio-pci");
    gpu.iommu_group = 16;
    auto audio = pt::test::make_device("0000:0b:00.1", 0x040300, "vfio-pci");
    audio.iommu_group = 16;
    auto shared = pt::test::make_device("0000:0e:00.0", 0x030000, "nouveau");
    shared.iommu_group = 20;
    auto sata = pt::test::make_device("0000:0f:00.0", 0x010601, "ahci");
    sata.iommu_group = 20;
    auto noiommu = pt::test::make_device("0000:10:00.0", 0x030000, "vfio-pci");
    auto igpu = pt::test::make_device("0000:00:02.0", 0x030000, "vfio-pci");
    igpu.iommu_group = 2;
    auto port0 = pt::test::make_device("0000:05:00.0", 0x020000, "vfio-pci");
    port0.iommu_group = 5;
    auto port1 = pt::test::make_device("0000:05:00.1", 0x020000, "vfio-pci");
    port1.iommu_group = 6;
    auto vf0 = pt::test::make_device("0000:05:10.0", 0x020000, "vfio-pci");
    vf0.iommu_group = 7;
    vf0.physfn = port0.address;
    auto vf1 = pt::test::make_device("0000:05:10.1", 0x020000, "vfio-pci");
    vf1.iommu_group = 8;
    vf1.physfn = port0.address;
    // Topology::find searches by address: the devices go in address order.
    t.devices = {igpu, port0, port1, vf0, vf1, gpu, audio, shared, sata, noiommu};
    return t;
}

const VmFile k_vm{100, "pve1", "/etc/pve/nodes/pve1/qemu-server/100.conf", true};

struct Linted {
    std::vector<pt::check::Finding> findings;

    const pt::check::Finding* find(const std::string& id) const {
        const auto it = std::find_if(
            findings.begin(), findings.end(), [&](const auto& f) { return f.id == id; });
        return it == findings.end() ? nullptr : &*it;
    }

    std::size_t count(const std::string& id) const {
        return static_cast<std::size_t>(std::count_if(
            findings.begin(), findings.end(), [&](const auto& f) { return f.id == id; }));
    }
};

Linted lint(const std::string& text, LintContext context = {}) {
    static const auto t = topology();
    if (!context.topology) {
        context.topology = &t;
    }
    context.kvm_files = {"good.rom", "sub/x.rom"};
    return Linted{lint_config(k_vm, VmConfig::parse(text), context)};
}

} // namespace

TEST_CASE("lint: romfile= in a subfolder of /usr/share/kvm", "[proxmox][lint]") {
    const auto l = lint("hostpci0: 0b:00,romfile=sub/x.rom\n");
    CHECK_FALSE(l.find("vm.romfile-missing"));
    CHECK(l.find("vm.romfile-absolute") == nullptr);
    CHECK_FALSE(l.find("vm.mapping-unknown"));
    const auto m = lint("hostpci0: mapping=,pcie=1\n");
    CHECK_FALSE(m.find("vm.mapping-unknown"));

    pt::test::TempRoot tmp;
    tmp.write("/usr/share/kvm/top.rom", "r");
    tmp.write("/usr/share/kvm/sub/x.rom", "r");
    const pt::host::Root root(tmp.path());
    CHECK(pt::proxmox::kvm_rom_files(root) == std::vector<std::string>{"sub/x.rom", "top.rom"});
    CHECK_FALSE(pt::proxmox::romfile_stays_in_kvm_dir(".."));
    CHECK_FALSE(pt::proxmox::romfile_stays_in_kvm_dir("a/../../b"));
    CHECK(pt::proxmox::romfile_stays_in_kvm_dir("a/b..rom"));
}

TEST_CASE("a correct config passes", "[proxmox][lint]") {
    const auto l = lint("bios: ovmf\nhostpci0: 0000:0b:00,pcie=1,romfile=good.rom\nmachine: q35\n");
    REQUIRE(l.findings.size() == 1);
    CHECK(l.findings[0].id == "vm.ok");
    CHECK(l.findings[0].status == Status::pass);
    CHECK_FALSE(pt::proxmox::any_failed(l.findings));
}

TEST_CASE("each lint finding", "[proxmox][lint]") {
    struct Case {
        std::string text;
        std::string id;
        Status status;
    };

    const std::vector<Case> cases = {
        {"hostpci0: 0b:00,pcie=1\n", "vm.pcie-without-q35", Status::fail},
        {"hostpci0: 0b:00,pcie=1\nmachine: pc-i440fx-8.1\n", "vm.pcie-without-q35", Status::fail},
        {"args: -cpu host,kvm=off\n", "vm.args-cpu", Status::warn},
        {"hostpci0: 0b:00,romfile=/var/lib/vz/gpu.rom\n", "vm.romfile-absolute", Status::fail},
        {"hostpci0: 0b:00,romfile=nope.rom\n", "vm.romfile-missing", Status::fail},
        {"bios: ovmf\nhostpci0: 0b:00,x-vga=1\n", "vm.xvga-with-ovmf", Status::warn},
        {"hostpci0: 0c:00\n", "vm.hostpci-missing-device", Status::fail},
        {"hostpci0: 0e:00\n", "vm.hostpci-not-isolated", Status::fail},
        {"hostpci0: 10:00.0\n", "vm.hostpci-not-isolated", Status::fail},
        {"hostpci0: 0e:00\n", "vm.hostpci-not-vfio", Status::warn},
        {"hostpci0: 0B:00\n", "vm.uppercase-hex", Status::fail},
        {"hostpci0: 0b:00\nhostpci1: 0b:00.1\n", "vm.duplicate-slot", Status::fail},
        {"hostpci0: 0b:00.0\nhostpci1: 0b:00.1\n", "vm.split-slot", Status::warn},
        {"hostpci16: 0b:00\n", "vm.hostpci-index", Status::fail},
        {"hostpci0: 0b:00,pcie=sure\n", "vm.hostpci-invalid", Status::fail},
        {"hostpci0: mapping=gpu0\n", "vm.mapping-unknown", Status::fail},
        {"hostpci0: 0b:00,romfile=sub/../good.rom\n", "vm.romfile-missing", Status::fail},
        {"hostpci0: 0b:00,driver=other\n", "vm.hostpci-invalid", Status::fail},
        {"machine: pc-q35-5.2\n", "vm.machine-version-old", Status::warn},
        {"hostpci0: mapping=,pcie=1\n", "vm.hostpci-invalid", Status::fail},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        const auto l = lint(c.text);
        const auto* f = l.find(c.id);
        REQUIRE(f);
        CHECK(f->status == c.status);
        CHECK(f->evidence.find("/etc/pve/nodes/pve1/qemu-server/100.conf:") == 0);
        CHECK_FALSE(f->fix.empty());
        CHECK_FALSE(l.find("vm.ok"));
    }
    // The fixes are exact.
    CHECK(lint("hostpci0: 0B:00,pcie=1\nmachine: q35\n").find("vm.uppercase-hex")->fix
          == "hostpci0: 0b:00,pcie=1");
    CHECK(lint("args: -cpu host\n").find("vm.args-cpu")->evidence
          == "/etc/pve/nodes/pve1/qemu-server/100.conf:1: args: -cpu host");
}

TEST_CASE("lint with mappings and other VMs", "[proxmox][lint]") {
    LintContext context;
    context.mappings = pt::proxmox::parse_mapping_file(
        "gpu0\n\tmap id=10de:2204,node=pve2,path=0000:41:00\n\nnic\n\tmap "
        "id=8086:1539,node=pve1,path=0000:05:00.0\n");
    CHECK(lint("hostpci0: mapping=gpu0\n", context).find("vm.mapping-no-node-entry"));
    CHECK(lint("hostpci0: mapping=nic\n", context).find("vm.ok"));
    CHECK(lint("hostpci0: mapping=other\n", context).find("vm.mapping-unknown"));

    LintContext others;
    others.others.emplace_back(VmFile{101, "pve1", "/x/101.conf", true},
                               VmConfig::parse("hostpci0: 0b:00.1\nhostpci1: 0000:0b:00.0\n"));
    others.others.emplace_back(VmFile{200, "pve2", "/y/200.conf", false},
                               VmConfig::parse("hostpci0: 0b:00\n"));
    const auto l = lint("hostpci0: 0000:0b:00,pcie=1\nmachine: q35\n", others);
    CHECK(l.count("vm.device-in-two-vms") == 1); // one per other VM of the same node
    CHECK(l.find("vm.device-in-two-vms")->summary.find("hostpci0, hostpci1") != std::string::npos);

    // A VM of another node is not checked against this node's hardware.
    const VmFile remote{201, "pve2", "/z/201.conf", false};
    const auto t = topology();
    LintContext hw;
    hw.topology = &t;
    const auto findings = lint_config(remote, VmConfig::parse("hostpci0: 0c:00\n"), hw);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == "vm.ok");
}

namespace {

pt::proxmox::Platform platform_with(std::optional<std::string> qemu_server, int pve_major) {
    pt::proxmox::Platform p;
    p.pve_major = pve_major;
    if (qemu_server) {
        p.packages["qemu-server"] = *qemu_server;
        p.qemu_server = qemu_server;
    }
    return p;
}

} // namespace

TEST_CASE("lint: hostpci driver= needs qemu-server 9.0.25", "[proxmox][lint]") {
    const std::string text = "hostpci0: 0b:00,driver=keep\n";
    // Unknown platform: taken as valid.
    CHECK(lint(text).find("vm.ok"));
    LintContext old;
    old.platform = platform_with("9.0.24", 9);
    const auto l = lint(text, old);
    const auto* f = l.find("vm.hostpci-invalid");
    REQUIRE(f);
    CHECK(f->status == Status::fail);
    CHECK_THAT(f->summary, Catch::Contains("qemu-server 9.0.24"));
    CHECK(f->fix
          == "upgrade qemu-server to 9.0.25 or later (Proxmox VE 9), or remove driver=keep "
             "from hostpci0");
    LintContext pve8;
    pve8.platform = platform_with(std::nullopt, 8);
    CHECK(lint(text, pve8).find("vm.hostpci-invalid"));
    LintContext current;
    current.platform = platform_with("9.0.25", 9);
    CHECK(lint(text, current).find("vm.ok"));
    LintContext pve9_unknown;
    pve9_unknown.platform = platform_with(std::nullopt, 9);
    CHECK(lint(text, pve9_unknown).find("vm.ok"));
}

TEST_CASE("lint: machine versions older than PVE 9's baseline 6.0", "[proxmox][lint]") {
    const auto old = lint("machine: pc-i440fx-5.1+pve0\n");
    const auto* f = old.find("vm.machine-version-old");
    REQUIRE(f);
    CHECK(f->evidence == "/etc/pve/nodes/pve1/qemu-server/100.conf:1: machine: pc-i440fx-5.1+pve0");
    CHECK_THAT(f->fix, Catch::Contains("qm set 100 --machine pc "));
    CHECK(lint("machine: pc-q35-2.4\n").find("vm.machine-version-old"));
    CHECK(lint("machine: type=pc-q35-5.2,viommu=intel\n").find("vm.machine-version-old"));
    for (const char* ok : {"machine: pc-q35-6.0\n",
                           "machine: pc-i440fx-10.0\n",
                           "machine: q35\n",
                           "machine: pc\n",
                           ""}) {
        INFO(ok);
        CHECK(lint(ok).find("vm.ok"));
    }
}

TEST_CASE("lint: large BARs with a CPU type that limits OVMF to 40 bits", "[proxmox][lint]") {
    LintContext big;
    big.bar64_bytes[pt::pci::Address{0, 0x0b, 0, 0}] = (std::uint64_t{128} << 30U) + (32U << 20U);
    const std::string gpu = "bios: ovmf\nhostpci0: 0b:00,pcie=1\nmachine: q35\n";
    const auto l = lint(gpu, big);
    const auto* f = l.find("vm.phys-bits-40");
    REQUIRE(f);
    CHECK(f->status == Status::warn);
    CHECK_THAT(f->summary, Catch::Contains("128.0 GiB of 64-bit BARs"));
    CHECK_THAT(f->summary, Catch::Contains("CPU type kvm64"));
    CHECK_THAT(f->evidence, Catch::EndsWith("no cpu: line (kvm64)"));
    CHECK(f->fix
          == "qm set 100 --cpu host (or keep the model and add both: --cpu "
             "kvm64,flags=+pdpe1gb,phys-bits=host)");
    CHECK(lint(gpu + "cpu: x86-64-v2-AES\n", big).find("vm.phys-bits-40"));
    CHECK(lint(gpu + "cpu: x86-64-v3,flags=+pdpe1gb;-pdpe1gb\n", big).find("vm.phys-bits-40"));
    // Not when 1 GiB pages are on, the CPU is host, the BIOS is SeaBIOS or the BARs fit.
    CHECK(lint(gpu + "cpu: x86-64-v2-AES,flags=+pdpe1gb\n", big).find("vm.ok"));
    CHECK(lint(gpu + "cpu: host\n", big).find("vm.ok"));
    CHECK(lint("hostpci0: 0b:00,pcie=1\nmachine: q35\n", big).find("vm.ok"));
    LintContext fits;
    fits.bar64_bytes[pt::pci::Address{0, 0x0b, 0, 0}] = std::uint64_t{64} << 30U;
    CHECK(lint(gpu, fits).find("vm.ok"));
}

TEST_CASE("bar64_bytes sums the 64-bit memory BARs of a resource file", "[proxmox][lint]") {
    // An RTX PRO 6000: BAR0 32-bit 64 MiB, BAR1 64-bit 128 GiB, BAR3 64-bit 32 MiB, an I/O BAR
    // and the ROM (line 7, not a BAR).
    const std::string resource = "0x00000000fa000000 0x00000000fbffffff 0x0000000000040200\n"
                                 "0x0000038000000000 0x0000039fffffffff 0x000000000014220c\n"
                                 "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
                                 "0x00000003a0000000 0x00000003a1ffffff 0x000000000014220c\n"
                                 "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
                                 "0x000000000000f000 0x000000000000f07f 0x0000000000040101\n"
                                 "0x00000000fc000000 0x00000000fc07ffff 0x0000000000046200\n";
    CHECK(pt::proxmox::bar64_bytes(resource) == (std::uint64_t{128} << 30U) + (32U << 20U));
    CHECK(pt::proxmox::bar64_bytes("") == 0);
    CHECK(pt::proxmox::bar64_bytes("garbage\n") == 0);
}

TEST_CASE("lint judges hostpci as qemu-server's PCI.pm does", "[proxmox][lint]") {
    struct Case {
        std::string text;
        std::string id;
        std::string proxmox; // the error text qemu-server dies with, quoted in the summary
    };

    const std::vector<Case> cases = {
        {"hostpci0: 00:02.0,legacy-igd=1\nmachine: q35\nvga: none\n",
         "vm.legacy-igd",
         "legacy IGD assignment is not compatible with q35"},
        {"hostpci0: 00:02.0,legacy-igd=1\n",
         "vm.legacy-igd",
         "legacy IGD assignment requires VGA mode to be 'none'"},
        {"hostpci0: 00:02.0,legacy-igd=1\nvga: std\n",
         "vm.legacy-igd",
         "legacy IGD assignment requires VGA mode to be 'none'"},
        {"hostpci0: 00:02.0,legacy-igd=1,rombar=0\nvga: none\n",
         "vm.legacy-igd",
         "legacy IGD assignment requires rombar to be enabled"},
        {"hostpci0: 00:02.0,legacy-igd=1,x-vga=1\nvga: none\n",
         "vm.legacy-igd",
         "legacy IGD assignment is not compatible with x-vga"},
        {"hostpci0: 00:02.0,legacy-igd=1,mdev=i915-GVTg_V5_4\nvga: none\n",
         "vm.legacy-igd",
         "legacy IGD assignment is not compatible with mdev"},
        {"hostpci0: 0b:00.0,legacy-igd=1\nvga: none\n",
         "vm.legacy-igd",
         "legacy IGD assignment only works for devices on host bus 00:02.0"},
        {"hostpci0: 0b:00,legacy-igd=1\nvga: none\n",
         "vm.legacy-igd",
         "legacy IGD assignment is not compatible with multifunction devices"},
        {"hostpci0: 00:02.0,legacy-igd=1\nhostpci1: 00:02.0,legacy-igd=1\nvga: none\n",
         "vm.legacy-igd",
         "only one device can be assigned in legacy-igd mode"},
        {"hostpci0: 0b:00,mdev=nvidia-63\n",
         "vm.mdev-multifunction",
         "cannot use mediated device with multifunction device"},
        {"hostpci0: 0b:00.0;0b:00.1,mdev=nvidia-63\n",
         "vm.mdev-multifunction",
         "cannot use mediated device with multifunction device"},
        {"hostpci0: 0b:00.0,mdev=nvidia.12\n", "vm.hostpci-invalid", "mdev=\"nvidia.12\""},
        {"hostpci0: 0b:00.0,vendor-id=1234\n", "vm.hostpci-invalid", "vendor-id=\"1234\""},
        {"hostpci0: 0b:00.0,device-id=0x12345\n", "vm.hostpci-invalid", "device-id=\"0x12345\""},
        {"hostpci0: 0b:00.0,sub-vendor-id=10de\n", "vm.hostpci-invalid", "sub-vendor-id="},
        {"hostpci0: 0b:00.0,romfile=a;b\n", "vm.hostpci-invalid", "romfile=\"a;b\""},
        {"hostpci0: 0b:00.0,driver=foo\n", "vm.hostpci-invalid", "driver=\"foo\""},
        {"lock: backup\n", "vm.locked", "VM is locked (backup)"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        const auto l = lint(c.text);
        const auto* f = l.find(c.id);
        REQUIRE(f);
        CHECK(f->summary.find(c.proxmox) != std::string::npos);
        CHECK_FALSE(f->fix.empty());
        CHECK_FALSE(l.find("vm.ok"));
    }
    // An invalid romfile= is an invalid value, not a missing file.
    CHECK_FALSE(lint("hostpci0: 0b:00.0,romfile=a;b\n").find("vm.romfile-missing"));
    // What PCI.pm accepts.
    for (const auto* ok : {"hostpci0: 00:02.0,legacy-igd=1\nvga: none\n",
                           "hostpci0: 00:02.0,legacy-igd=1,rombar=1,romfile=good.rom\nvga: none\n",
                           "hostpci0: 0b:00.0,mdev=nvidia-63\n",
                           "hostpci0: 0b:00.0,vendor-id=0x10DE,device-id=0x2204,sub-vendor-id="
                           "0x1458,sub-device-id=0x403b\n",
                           "hostpci0: 05:00.0\nhostpci1: 05:00.1\n",
                           "hostpci0: 05:10.0\nhostpci1: 05:10.1\n"}) {
        INFO(ok);
        const auto l = lint(ok);
        CHECK(l.find("vm.ok"));
    }
    // The fix of a split GPU names its slot; a NIC's functions and SR-IOV VFs are not judged.
    CHECK(lint("hostpci0: 0b:00.0\nhostpci1: 0b:00.1\n").find("vm.split-slot")->fix
          == "pt vmconf 100 0000:0b:00 --apply (one entry for every function), then qm set 100 "
             "--delete hostpci1");
}

TEST_CASE("lint: a mapping with fewer devices on the node than entries", "[proxmox][lint]") {
    LintContext context;
    context.mappings = pt::proxmox::parse_mapping_file(
        "vfs\n\tmap id=8086:1520,node=pve1,path=0000:05:10.0\n\tmap "
        "id=8086:1520,node=pve1,path=0000:05:10.1\n\tmap id=8086:1520,node=pve2,path=0000:05:10.2"
        "\n\ngpu\n\tmap id=10de:2204,node=pve1,path=0000:0b:00\n");
    const auto two = lint("hostpci0: mapping=vfs\nhostpci1: mapping=vfs\n", context);
    CHECK_FALSE(two.find("vm.mapping-exhausted"));
    const auto three =
        lint("hostpci0: mapping=vfs\nhostpci1: mapping=vfs\nhostpci2: mapping=vfs\n", context);
    REQUIRE(three.count("vm.mapping-exhausted") == 1);
    CHECK(three.find("vm.mapping-exhausted")->status == Status::fail);
    CHECK_THAT(three.find("vm.mapping-exhausted")->summary,
               Catch::Contains("could not find a free device for 'hostpci2'"));
    const auto gpu = lint("hostpci0: mapping=gpu\nhostpci1: mapping=gpu\n", context);
    CHECK_THAT(gpu.find("vm.mapping-exhausted")->summary,
               Catch::Contains("device '0000:0b:00.0' assigned more than once"));
}

TEST_CASE("lint: templates, [PENDING] values, macOS args", "[proxmox][lint]") {
    const auto tpl = lint("hostpci0: 0b:00,pcie=1\ntemplate: 1\n");
    REQUIRE(tpl.findings.size() == 1);
    CHECK(tpl.findings[0].id == "vm.template");
    CHECK(tpl.findings[0].status == Status::skip);

    // Stopped: judged as it starts, [PENDING] applied; the evidence says where a value is from.
    const auto stopped = lint("hostpci0: 0b:00,x-vga=1\n\n[PENDING]\nbios: ovmf\n");
    const auto* xvga = stopped.find("vm.xvga-with-ovmf");
    REQUIRE(xvga);
    CHECK_THAT(xvga->summary, Catch::StartsWith("VM 100 (stopped; judged as it starts"));
    CHECK_THAT(xvga->evidence, Catch::Contains(":4: [PENDING] bios: ovmf"));
    CHECK(lint("hostpci0: 0b:00,pcie=1\nmachine: q35\n\n[PENDING]\ndelete: machine\n")
              .find("vm.pcie-without-q35"));

    // Running: judged as it runs and as it starts next, each finding labelled.
    LintContext running;
    running.running_vms.insert(k_vm.path);
    const auto both =
        lint("hostpci0: 0b:00,pcie=1\nmachine: q35\n\n[PENDING]\nmachine: pc\n", running);
    const auto* next = both.find("vm.pcie-without-q35");
    REQUIRE(next);
    CHECK_THAT(next->summary, Catch::Contains("from its next full stop and start"));
    const auto now = lint("hostpci0: 0b:00,pcie=1\n\n[PENDING]\nmachine: q35\n", running);
    CHECK_THAT(now.find("vm.pcie-without-q35")->summary,
               Catch::Contains("running; its [PENDING] changes end this"));
    const auto fine =
        lint("hostpci0: 0b:00,pcie=1\nmachine: q35\n\n[PENDING]\nmemory: 4096\n", running);
    REQUIRE(fine.findings.size() == 1);
    CHECK(fine.findings[0].id == "vm.ok");

    const auto mac = lint("args: -device isa-applesmc,osk=\"x\" -cpu Penryn,vendor=GenuineIntel\n");
    REQUIRE(mac.find("vm.args-cpu"));
    CHECK(mac.find("vm.args-cpu")->status == Status::pass);
    CHECK(mac.find("vm.args-cpu")->summary.find("remove") == std::string::npos);
    CHECK_THAT(mac.find("vm.args-cpu")->summary, Catch::Contains("macOS needs its own -cpu"));
}
