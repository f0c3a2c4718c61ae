// SPDX-License-Identifier: MIT
// pt-mkroot: builds a kernel-shaped host tree from a YAML host description, for test fixtures,
// the README's example root and the benchmark. The tree follows the kernel's sysfs layout:
// /sys/bus/pci/devices/<addr> is a relative link into /sys/devices/pciDDDD:BB/..., `driver` and
// `iommu_group` are links, attributes use the kernel's formats ("0x10de\n"), and every device has
// a 64-byte `config` so lspci's sysfs backend can read the same tree.
//
// The description accepts the shape of published IOMMU group listings (groups of devices with
// address, class_code, vendor_device, subsystem, rev, driver; group '*' for "no IOMMU"), plus
// the attributes listings do not show (parent, boot_vga, reset_method, link, SR-IOV, ...).
// The `initramfs:` key writes real initramfs images (cpio archives, compressed) with the unit
// tests' writer. See tests/fixtures/README.md for the schema.
//
// usage: pt-mkroot [--ids PCI_IDS] [--case ID] HOST.yaml OUTDIR
//        pt-mkroot --dump-initramfs IMAGE
// The second form prints what an image holds as pt reads it (pt::boot::read_initramfs): each
// segment's offset, compression and member count, then each member's mode, size, content hash
// and path, and the read error if any. tests/fixtures/generate --check compares images by this,
// since the compressed bytes differ between zstd, zlib and xz versions (Debian 12 and 13).
#include "pt/boot/initramfs.hpp"
#include "pt/host/root.hpp"
#include "pt/pci/address.hpp"
#include "pt/pci/hex.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "../unit/support/initramfs_writer.hpp"
#include "../unit/support/rom_builder.hpp"

namespace fs = std::filesystem;
using pt::pci::Address;

namespace {

struct Fail : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct DeviceSpec {
    Address address;
    std::uint16_t vendor = 0xffff;
    std::uint16_t device = 0xffff;
    std::uint16_t subsystem_vendor = 0;
    std::uint16_t subsystem_device = 0;
    std::uint32_t class_code = 0xff0000;
    std::uint8_t revision = 0;
    std::optional<std::string> driver;
    std::optional<std::string> driver_override;
    std::optional<int> group;
    std::optional<Address> parent;
    std::optional<bool> boot_vga;
    std::optional<std::string> physical_slot; // /sys/bus/pci/slots/NAME/address
    std::optional<std::string> reset_method;
    std::optional<std::string> link_speed, max_link_speed;
    std::optional<int> link_width, max_link_width;
    std::optional<int> sriov_totalvfs;
    std::optional<Address> physfn;
    int numa_node = -1;
    bool rom = false; // a `rom` attribute (the device has a ROM BAR)
    // Its bytes (rom: {kind: ...}): a synthetic ROM from tests/unit/support/rom_builder.hpp.
    std::vector<std::uint8_t> rom_bytes;
    bool rom_dir = false; // rom: {kind: dir}: a directory, so that reading it fails (EISDIR)
};

// One `initramfs:` entry: an image as mkinitramfs writes it.
struct InitramfsSpec {
    std::string host_path; // "/boot/initrd.img-6.8.12-4-pve"
    pt::boot::Compression compression = pt::boot::Compression::zstd;
    std::optional<std::string> microcode_vendor; // "AuthenticAMD", "GenuineIntel"
    pt::test::CpioFiles files;
    std::optional<std::time_t> mtime;
};

struct HostSpec {
    std::string cpu = "intel";
    bool hypervisor = false;
    bool virtualization = true; // vmx/svm in the cpuinfo flags
    std::string kernel = "6.8.12-4-pve";
    std::optional<std::string> cmdline;
    bool efi = true;
    std::vector<std::string> iommu_units;
    std::map<int, std::string> group_types;
    std::vector<DeviceSpec> devices;
    std::map<std::string, std::string> files;
    std::vector<InitramfsSpec> initramfs;
};

Address parse_address_loose(const std::string& text) {
    // Listings often leave out the domain: "01:00.0".
    const std::string full = std::count(text.begin(), text.end(), ':') == 1 ? "0000:" + text : text;
    const auto address = pt::pci::parse_address(full);
    if (!address) {
        throw Fail(fmt::format("'{}' is not a PCI address", text));
    }
    return *address;
}

std::uint32_t hex(const std::string& text, const char* what) {
    const auto value = pt::pci::parse_hex_digits(text);
    if (!value) {
        throw Fail(fmt::format("{}: '{}' is not hex", what, text));
    }
    return *value;
}

// "10de:2204", or a listing's "ASMedia Technology Inc. unknown [1b21:1142]".
std::pair<std::uint16_t, std::uint16_t> parse_id_pair(std::string text) {
    if (const auto open = text.rfind('['); open != std::string::npos) {
        text = text.substr(open + 1, text.find(']', open) - open - 1);
    }
    const auto colon = text.find(':');
    if (colon == std::string::npos) {
        throw Fail(fmt::format("'{}' is not a vendor:device pair", text));
    }
    return {static_cast<std::uint16_t>(hex(text.substr(0, colon), "vendor")),
            static_cast<std::uint16_t>(hex(text.substr(colon + 1), "device"))};
}

std::string scalar(const YAML::Node& node) {
    return node.as<std::string>();
}

DeviceSpec parse_device(const YAML::Node& node, std::optional<int> group) {
    DeviceSpec d;
    d.group = group;
    d.address = parse_address_loose(scalar(node["address"]));
    if (node["vendor_device"]) {
        std::tie(d.vendor, d.device) = parse_id_pair(scalar(node["vendor_device"]));
    }
    if (node["subsystem"]) {
        std::tie(d.subsystem_vendor, d.subsystem_device) = parse_id_pair(scalar(node["subsystem"]));
    }
    if (node["class_code"]) {
        std::string cls = scalar(node["class_code"]);
        d.class_code = hex(cls, "class_code");
        if (cls.size() <= 4) {
            d.class_code <<= 8U; // listings show class and subclass; prog-if 00
        }
    }
    if (node["rev"]) {
        d.revision = static_cast<std::uint8_t>(hex(scalar(node["rev"]), "rev"));
    }
    if (node["driver"]) {
        d.driver = scalar(node["driver"]);
    }
    if (node["driver_override"]) {
        d.driver_override = scalar(node["driver_override"]);
    }
    if (node["parent"]) {
        d.parent = parse_address_loose(scalar(node["parent"]));
    }
    if (node["physical_slot"]) {
        d.physical_slot = scalar(node["physical_slot"]);
    }
    if (node["boot_vga"]) {
        d.boot_vga = node["boot_vga"].as<bool>();
    }
    if (node["reset_method"]) {
        d.reset_method = scalar(node["reset_method"]);
    }
    if (const auto link = node["link"]) {
        if (link["speed"]) {
            d.link_speed = scalar(link["speed"]);
        }
        if (link["width"]) {
            d.link_width = link["width"].as<int>();
        }
        d.max_link_speed = link["max_speed"] ? scalar(link["max_speed"]) : d.link_speed;
        d.max_link_width = link["max_width"] ? link["max_width"].as<int>() : d.link_width;
    }
    if (node["sriov_totalvfs"]) {
        d.sriov_totalvfs = node["sriov_totalvfs"].as<int>();
    }
    if (node["physfn"]) {
        d.physfn = parse_address_loose(scalar(node["physfn"]));
    }
    if (node["numa_node"]) {
        d.numa_node = node["numa_node"].as<int>();
    }
    if (const auto rom = node["rom"]; rom && rom.IsMap()) {
        // rom: {kind: legacy|legacy+efi|nvidia|efi|ff|dir, ids: VVVV:DDDD, truncate: BYTES}
        d.rom = true;
        const std::string kind = scalar(rom["kind"]);
        auto [vendor, device] = std::pair{d.vendor, d.device};
        if (rom["ids"]) {
            std::tie(vendor, device) = parse_id_pair(scalar(rom["ids"]));
        }
        if (kind == "dir") {
            d.rom_dir = true;
        } else if (kind == "ff") {
            d.rom_bytes.assign(65536, 0xff); // what a hidden or disabled ROM reads as
        } else {
            d.rom_bytes = pt::test::build_rom_kind(kind, vendor, device);
            if (d.rom_bytes.empty()) {
                throw Fail("rom: unknown kind " + kind);
            }
        }
        if (rom["truncate"]) {
            d.rom_bytes.resize(std::min(d.rom_bytes.size(), rom["truncate"].as<std::size_t>()));
        }
    } else if (rom) {
        d.rom = rom.as<bool>();
    }
    return d;
}

pt::boot::Compression parse_compression(const std::string& name) {
    using pt::boot::Compression;
    for (const auto c : {Compression::none,
                         Compression::gzip,
                         Compression::zstd,
                         Compression::xz,
                         Compression::lzma,
                         Compression::lz4,
                         Compression::bzip2}) {
        if (pt::boot::to_string(c) == name) {
            return c;
        }
    }
    throw Fail(fmt::format("initramfs: unknown compression '{}' (none, gzip, zstd, xz, lzma, lz4, "
                           "bzip2)",
                           name));
}

// "2024-05-01T10:00:00Z", UTC.
std::time_t parse_utc(const std::string& text) {
    std::tm tm{};
    const char* end = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == nullptr || *end != '\0') {
        throw Fail(fmt::format("initramfs: mtime '{}' is not YYYY-MM-DDTHH:MM:SSZ", text));
    }
    return ::timegm(&tm);
}

// A member path as the archive holds it: relative, no empty, "." or ".." components.
std::string member_path(const std::string& text) {
    const std::string path = pt::boot::normalise_member_path(text);
    const auto parts = fs::path(path);
    const bool bad = path.empty() || path.back() == '/' || path.find("//") != std::string::npos
                     || std::any_of(parts.begin(), parts.end(), [](const fs::path& part) {
                            return part == "." || part == "..";
                        });
    if (bad) {
        throw Fail(
            fmt::format("initramfs: '{}' is not a member path like etc/modprobe.d/x.conf", text));
    }
    return path;
}

InitramfsSpec parse_initramfs(const std::string& host_path, const YAML::Node& node, bool amd) {
    InitramfsSpec image;
    image.host_path = host_path;
    if (node["compression"]) {
        image.compression = parse_compression(scalar(node["compression"]));
    }
    if (const auto microcode = node["microcode"]) {
        const std::string value = scalar(microcode);
        if (value == "AuthenticAMD" || value == "GenuineIntel") {
            image.microcode_vendor = value;
        } else if (microcode.as<bool>()) {
            // What the host's CPU loads: amd64-microcode or intel-microcode's hook.
            image.microcode_vendor = amd ? "AuthenticAMD" : "GenuineIntel";
        }
    }
    for (const auto& file : node["files"]) {
        image.files[member_path(scalar(file.first))] = scalar(file.second);
    }
    if (node["mtime"]) {
        image.mtime = parse_utc(scalar(node["mtime"]));
    }
    return image;
}

HostSpec parse_host(const YAML::Node& doc) {
    HostSpec host;
    if (doc["cpu"]) {
        host.cpu = scalar(doc["cpu"]);
    } else if (doc["platform"] && doc["platform"]["vendor"]) {
        // Published listings name the platform vendor ("AMD", "Intel").
        host.cpu = scalar(doc["platform"]["vendor"]) == "AMD" ? "amd" : "intel";
    }
    if (doc["hypervisor"]) {
        host.hypervisor = doc["hypervisor"].as<bool>();
    }
    if (doc["virtualization"]) {
        host.virtualization = doc["virtualization"].as<bool>();
    }
    if (doc["kernel"]) {
        host.kernel = scalar(doc["kernel"]);
    }
    if (doc["cmdline"]) {
        host.cmdline = scalar(doc["cmdline"]);
    } else if (doc["kernel_cmdline"]) {
        host.cmdline = scalar(doc["kernel_cmdline"]);
    }
    if (doc["efi"]) {
        host.efi = doc["efi"].as<bool>();
    }
    bool any_group = false;
    for (const auto& g : doc["groups"]) {
        const std::string number = scalar(g["group"]);
        std::optional<int> group;
        if (number != "*") {
            group = std::stoi(number);
            any_group = true;
            if (g["type"]) {
                host.group_types[*group] = scalar(g["type"]);
            }
        }
        for (const auto& dev : g["devices"]) {
            host.devices.push_back(parse_device(dev, group));
        }
    }
    for (const auto& dev : doc["ungrouped"]) {
        host.devices.push_back(parse_device(dev, std::nullopt));
    }
    if (doc["iommu_units"]) {
        for (const auto& unit : doc["iommu_units"]) {
            host.iommu_units.push_back(scalar(unit));
        }
    } else if (any_group) {
        host.iommu_units.push_back(host.cpu == "amd" ? "ivhd0" : "dmar0");
    }
    for (const auto& file : doc["files"]) {
        host.files[scalar(file.first)] = scalar(file.second);
    }
    for (const auto& image : doc["initramfs"]) {
        const std::string path = scalar(image.first);
        if (host.files.contains(path)) {
            throw Fail(fmt::format("{} is under both files: and initramfs:", path));
        }
        host.initramfs.push_back(parse_initramfs(path, image.second, host.cpu == "amd"));
    }
    std::sort(host.devices.begin(), host.devices.end(), [](const auto& a, const auto& b) {
        return a.address < b.address;
    });
    return host;
}

void write_file(const fs::path& path, const std::string& content) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out << content;
    if (!out) {
        throw Fail(fmt::format("cannot write {}", path.string()));
    }
}

void link(const fs::path& at, const fs::path& target) {
    fs::create_directories(at.parent_path());
    fs::create_symlink(target.lexically_relative(at.parent_path()), at);
}

class Builder {
public:
    Builder(const HostSpec& host, fs::path out)
        : m_host(host)
        , m_out(std::move(out)) {
        for (const auto& d : host.devices) {
            m_by_address[d.address] = &d;
        }
    }

    void build() {
        for (const auto& d : m_host.devices) {
            write_device(d);
        }
        write_host_files();
    }

private:
    // sys/devices/... path of a device, following its parent chain.
    fs::path device_dir(const DeviceSpec& d, int depth = 0) {
        if (depth > 32) {
            throw Fail("parent chain too deep (a cycle?)");
        }
        const std::string name = pt::pci::format(d.address);
        const std::string root_bus =
            fmt::format("pci{:04x}:{:02x}", d.address.domain, d.address.bus);
        if (!d.parent) {
            return m_out / "sys/devices" / root_bus / name;
        }
        const auto it = m_by_address.find(*d.parent);
        if (it == m_by_address.end()) {
            throw Fail(
                fmt::format("{}: parent {} is not described", name, pt::pci::format(*d.parent)));
        }
        fs::path dir = device_dir(*it->second, depth + 1);
        if (it->second->address.domain != d.address.domain) {
            dir /= root_bus; // a VMD controller hosts a new PCI domain below itself
        }
        return dir / name;
    }

    std::string config_space(const DeviceSpec& d) {
        std::string cfg(64, '\0');
        const auto put16 = [&](std::size_t at, std::uint16_t v) {
            cfg[at] = static_cast<char>(v & 0xffU);
            cfg[at + 1] = static_cast<char>(v >> 8U);
        };
        put16(0x00, d.vendor);
        put16(0x02, d.device);
        put16(0x04, 0x0006); // memory space + bus master
        put16(0x06, 0x0010); // capability list
        cfg[0x08] = static_cast<char>(d.revision);
        cfg[0x09] = static_cast<char>(d.class_code & 0xffU);
        cfg[0x0a] = static_cast<char>((d.class_code >> 8U) & 0xffU);
        cfg[0x0b] = static_cast<char>((d.class_code >> 16U) & 0xffU);
        const bool bridge = (d.class_code >> 8U) == 0x0604;
        std::uint8_t header = bridge ? 0x01 : 0x00;
        if (d.address.function == 0 && has_sibling_functions(d.address)) {
            header |= 0x80U;
        }
        cfg[0x0e] = static_cast<char>(header);
        if (bridge) {
            cfg[0x18] = static_cast<char>(d.address.bus);
            const auto secondary = secondary_bus(d.address);
            cfg[0x19] = static_cast<char>(secondary.value_or(0));
            cfg[0x1a] = static_cast<char>(secondary.value_or(0));
        } else {
            put16(0x2c, d.subsystem_vendor);
            put16(0x2e, d.subsystem_device);
        }
        return cfg;
    }

    bool has_sibling_functions(const Address& a) const {
        return std::any_of(m_host.devices.begin(), m_host.devices.end(), [&](const auto& d) {
            return d.address.same_slot(a) && d.address.function != a.function;
        });
    }

    std::optional<std::uint8_t> secondary_bus(const Address& bridge) const {
        for (const auto& d : m_host.devices) {
            if (d.parent && *d.parent == bridge && d.address.domain == bridge.domain) {
                return d.address.bus;
            }
        }
        return std::nullopt;
    }

    void write_device(const DeviceSpec& d) {
        const std::string name = pt::pci::format(d.address);
        const fs::path dir = device_dir(d);
        fs::create_directories(dir);
        const auto attr = [&](const char* file, const std::string& value) {
            write_file(dir / file, value + "\n");
        };
        attr("vendor", fmt::format("0x{:04x}", d.vendor));
        attr("device", fmt::format("0x{:04x}", d.device));
        attr("subsystem_vendor", fmt::format("0x{:04x}", d.subsystem_vendor));
        attr("subsystem_device", fmt::format("0x{:04x}", d.subsystem_device));
        attr("class", fmt::format("0x{:06x}", d.class_code));
        attr("revision", fmt::format("0x{:02x}", d.revision));
        attr("driver_override", d.driver_override.value_or("(null)"));
        attr("enable", "1");
        attr("numa_node", fmt::format("{}", d.numa_node));
        attr("irq", "0");
        attr("local_cpulist", "0-3");
        attr("resource", "0x0000000000000000 0x0000000000000000 0x0000000000000000");
        write_file(dir / "config", config_space(d));
        // drivers/pci/hotplug.c pci_uevent, after the driver core's DRIVER= line.
        std::string uevent = d.driver ? fmt::format("DRIVER={}\n", *d.driver) : std::string();
        uevent +=
            fmt::format("PCI_CLASS={:04X}\nPCI_ID={:04X}:{:04X}\nPCI_SUBSYS_ID={:04X}:{:04X}\n"
                        "PCI_SLOT_NAME={}\nMODALIAS=pci:v{:08X}d{:08X}sv{:08X}sd{:08X}"
                        "bc{:02X}sc{:02X}i{:02x}\n",
                        d.class_code,
                        d.vendor,
                        d.device,
                        d.subsystem_vendor,
                        d.subsystem_device,
                        name,
                        d.vendor,
                        d.device,
                        d.subsystem_vendor,
                        d.subsystem_device,
                        (d.class_code >> 16U) & 0xffU,
                        (d.class_code >> 8U) & 0xffU,
                        d.class_code & 0xffU);
        write_file(dir / "uevent", uevent);
        if ((d.class_code >> 8U) == 0x0300) {
            // The kernel creates boot_vga only for VGA-class devices (pci_is_vga).
            attr("boot_vga", d.boot_vga.value_or(false) ? "1" : "0");
        }
        if (d.reset_method) {
            attr("reset_method", *d.reset_method);
            if (!d.reset_method->empty()) {
                write_file(dir / "reset", "");
            }
        }
        if (d.rom_dir) {
            fs::create_directories(dir / "rom");
            write_file(dir / "rom" / "README", "a directory where the rom attribute should be\n");
        } else if (d.rom) {
            write_file(dir / "rom", std::string(d.rom_bytes.begin(), d.rom_bytes.end()));
        }
        if (d.link_speed) {
            attr("current_link_speed", *d.link_speed);
            attr("max_link_speed", d.max_link_speed.value_or(*d.link_speed));
        }
        if (d.link_width) {
            attr("current_link_width", fmt::format("{}", *d.link_width));
            attr("max_link_width", fmt::format("{}", d.max_link_width.value_or(*d.link_width)));
        }
        if ((d.class_code >> 8U) == 0x0604) {
            if (const auto secondary = secondary_bus(d.address)) {
                const std::string bus = fmt::format("{:04x}:{:02x}", d.address.domain, *secondary);
                write_file(dir / "pci_bus" / bus / "cpuaffinity", "ffff\n");
            }
        }
        if (d.sriov_totalvfs) {
            attr("sriov_totalvfs", fmt::format("{}", *d.sriov_totalvfs));
            int index = 0;
            for (const auto& vf : m_host.devices) {
                if (vf.physfn && *vf.physfn == d.address) {
                    link(dir / fmt::format("virtfn{}", index++), device_dir(vf));
                }
            }
            attr("sriov_numvfs", fmt::format("{}", index));
        }
        if (d.physfn) {
            const auto it = m_by_address.find(*d.physfn);
            if (it == m_by_address.end()) {
                throw Fail(fmt::format(
                    "{}: physfn {} is not described", name, pt::pci::format(*d.physfn)));
            }
            link(dir / "physfn", device_dir(*it->second));
        }
        link(m_out / "sys/bus/pci/devices" / name, dir);
        if (d.physical_slot) {
            // drivers/pci/slot.c: the slot's folder names its bus and device number.
            write_file(
                m_out / "sys/bus/pci/slots" / *d.physical_slot / "address",
                fmt::format(
                    "{:04x}:{:02x}:{:02x}\n", d.address.domain, d.address.bus, d.address.device));
        }
        if (d.driver) {
            const fs::path driver_dir = m_out / "sys/bus/pci/drivers" / *d.driver;
            make_driver(driver_dir);
            link(dir / "driver", driver_dir);
            link(driver_dir / name, dir);
        }
        if (d.group) {
            const fs::path group_dir = m_out / "sys/kernel/iommu_groups" / std::to_string(*d.group);
            if (!fs::exists(group_dir / "type")) {
                const auto type = m_host.group_types.find(*d.group);
                write_file(group_dir / "type",
                           (type != m_host.group_types.end() ? type->second : "DMA") + "\n");
                write_file(group_dir / "reserved_regions", "");
            }
            link(dir / "iommu_group", group_dir);
            link(group_dir / "devices" / name, dir);
        }
    }

    static void make_driver(const fs::path& dir) {
        if (fs::exists(dir)) {
            return;
        }
        for (const char* file : {"bind", "unbind", "new_id", "remove_id", "uevent"}) {
            write_file(dir / file, "");
        }
    }

    void write_host_files() {
        const bool amd = m_host.cpu == "amd";
        std::string flags = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat "
                            "pse36 clflush mmx fxsr sse sse2 ht syscall nx lm constant_tsc";
        if (m_host.virtualization) {
            flags += amd ? " svm" : " vmx";
        }
        if (m_host.hypervisor) {
            flags += " hypervisor";
        }
        std::string cpuinfo;
        for (int cpu = 0; cpu < 2; ++cpu) {
            cpuinfo += fmt::format("processor\t: {}\nvendor_id\t: {}\ncpu family\t: {}\n"
                                   "model name\t: {}\nflags\t\t: {}\n\n",
                                   cpu,
                                   amd ? "AuthenticAMD" : "GenuineIntel",
                                   amd ? 25 : 6,
                                   amd ? "AMD Ryzen 9 5950X 16-Core Processor"
                                       : "Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz",
                                   flags);
        }
        write_file(m_out / "proc/cpuinfo", cpuinfo);
        write_file(m_out / "proc/sys/kernel/osrelease", m_host.kernel + "\n");
        const std::string cmdline = m_host.cmdline.value_or(fmt::format(
            "BOOT_IMAGE=/boot/vmlinuz-{} root=/dev/mapper/pve-root ro quiet", m_host.kernel));
        write_file(m_out / "proc/cmdline", cmdline + "\n");
        fs::create_directories(m_out / "sys/class/iommu");
        fs::create_directories(m_out / "sys/kernel/iommu_groups");
        fs::create_directories(m_out / "sys/bus/pci/devices");
        write_file(m_out / "sys/bus/pci/drivers_probe", "");
        for (const auto& unit : m_host.iommu_units) {
            const fs::path target = m_out / "sys/devices/virtual/iommu" / unit;
            if (unit.starts_with("ivhd")) {
                write_file(target / "amd-iommu/cap", "0x00190000\n");
            } else {
                write_file(target / "intel-iommu/version", "1:0\n");
            }
            link(m_out / "sys/class/iommu" / unit, target);
        }
        if (m_host.efi) {
            write_file(m_out / "sys/firmware/efi/fw_platform_size", "64\n");
        }
        for (const auto& [path, content] : m_host.files) {
            write_file(m_out / fs::path(path).relative_path(), content);
        }
        for (const auto& image : m_host.initramfs) {
            write_initramfs(image);
        }
    }

    void write_initramfs(const InitramfsSpec& image) {
        const fs::path path = m_out / fs::path(image.host_path).relative_path();
        write_file(
            path,
            pt::test::initramfs_image(image.files, image.compression, image.microcode_vendor));
        if (image.mtime) {
            // Kept by pt-mkroot's output only: git keeps no mtimes, so a committed root loses it.
            const std::array<timespec, 2> times{timespec{*image.mtime, 0},
                                                timespec{*image.mtime, 0}};
            if (::utimensat(AT_FDCWD, path.c_str(), times.data(), 0) != 0) {
                throw Fail(fmt::format("cannot set the mtime of {}", path.string()));
            }
        }
    }

    const HostSpec& m_host;
    fs::path m_out;
    std::map<Address, const DeviceSpec*> m_by_address;
};

YAML::Node select_case(const YAML::Node& doc, const std::string& wanted) {
    if (!doc["cases"]) {
        return doc;
    }
    for (const auto& item : doc["cases"]) {
        if (wanted.empty() || scalar(item["id"]) == wanted) {
            return item;
        }
    }
    throw Fail(fmt::format("no case with id '{}'", wanted));
}

// FNV-1a, 64 bits: tells contents apart for --dump-initramfs (not a security hash).
std::uint64_t fnv1a64(std::string_view bytes) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (const char c : bytes) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

// pt-mkroot --dump-initramfs IMAGE: see the top of this file.
int dump_initramfs(const std::string& image_path) {
    const fs::path absolute = fs::absolute(image_path);
    const pt::host::Root root(absolute.parent_path());
    const std::string host_path = "/" + absolute.filename().string();
    const auto image =
        pt::boot::read_initramfs(root, host_path, [](std::string_view) { return true; });
    if (!image) {
        fmt::print(stderr, "pt-mkroot: {}: no such file\n", image_path);
        return 1;
    }
    for (const auto& segment : image->segments) {
        fmt::print("segment offset={} compression={} members={}\n",
                   segment.offset,
                   pt::boot::to_string(segment.compression),
                   segment.members);
    }
    for (const auto& member : image->members) {
        const std::string hash = member.text      ? fmt::format("{:016x}", fnv1a64(*member.text))
                                 : member.regular ? "over-1MiB"
                                                  : "-";
        fmt::print("{:07o} {} {} {}\n", member.mode, member.size, hash, member.path);
    }
    if (image->error) {
        // Without the directory, which differs between the trees compared.
        std::string error = *image->error;
        const std::string shown = root.map(host_path).string();
        for (auto at = error.find(shown); at != std::string::npos; at = error.find(shown)) {
            error.replace(at, shown.size(), "IMAGE");
        }
        fmt::print("error: {}\n", error);
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::string_view(argv[1]) == "--dump-initramfs") {
        try {
            return dump_initramfs(argv[2]);
        } catch (const std::exception& e) {
            fmt::print(stderr, "pt-mkroot: {}: {}\n", argv[2], e.what());
            return 1;
        }
    }
    std::string ids;
    std::string case_id;
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if ((arg == "--ids" || arg == "--case") && i + 1 < argc) {
            (arg == "--ids" ? ids : case_id) = argv[++i];
        } else {
            args.push_back(arg);
        }
    }
    if (args.size() != 2) {
        std::fputs("usage: pt-mkroot [--ids PCI_IDS] [--case ID] HOST.yaml OUTDIR\n"
                   "       pt-mkroot --dump-initramfs IMAGE\n",
                   stderr);
        return 2;
    }
    try {
        const fs::path out = args[1];
        if (fs::exists(out) && !fs::is_empty(out)) {
            throw Fail(fmt::format("{} exists and is not empty", out.string()));
        }
        const HostSpec host = parse_host(select_case(YAML::LoadFile(args[0]), case_id));
        Builder(host, out).build();
        if (!ids.empty()) {
            fs::create_directories(out / "usr/share/misc");
            fs::copy_file(ids, out / "usr/share/misc/pci.ids");
        }
    } catch (const std::exception& e) {
        fmt::print(stderr, "pt-mkroot: {}: {}\n", args[0], e.what());
        return 1;
    }
    return 0;
}
