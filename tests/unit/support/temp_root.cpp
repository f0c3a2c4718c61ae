// SPDX-License-Identifier: MIT
#include "support/temp_root.hpp"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <vector>

namespace fs = std::filesystem;

namespace pt::test {
namespace {

fs::path temp_base() {
    const char* dir = std::getenv("TMPDIR");
    return fs::path(dir != nullptr && *dir != '\0' ? dir : "/tmp");
}

bool keep_roots() {
    const char* keep = std::getenv("PT_KEEP_TEST_ROOTS");
    return keep != nullptr && std::string_view(keep) == "1";
}

std::string relative_to_root(std::string_view host_path) {
    while (!host_path.empty() && host_path.front() == '/') {
        host_path.remove_prefix(1);
    }
    return std::string(host_path);
}

// "0000:01:00.0" -> "pci0000:01", the kernel's name for the host bridge directory of a bus.
std::string default_host_bridge(const std::string& address) {
    const auto last_colon = address.rfind(':');
    if (last_colon == std::string::npos) {
        throw std::invalid_argument("DeviceSpec address without a colon: " + address);
    }
    return "pci" + address.substr(0, last_colon);
}

} // namespace

TempRoot::TempRoot() {
    std::string templ = (temp_base() / "pt-unit-XXXXXX").string();
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + templ);
    }
    m_path = fs::absolute(fs::path(buf.data()));
}

TempRoot::~TempRoot() {
    if (keep_roots()) {
        return;
    }
    std::error_code ec;
    fs::remove_all(m_path, ec);
}

fs::path TempRoot::host(std::string_view host_path) const {
    return m_path / relative_to_root(host_path);
}

void TempRoot::write(std::string_view host_path, std::string_view content) const {
    const auto file = host(host_path);
    fs::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) {
        throw std::runtime_error("cannot write " + file.string());
    }
}

void TempRoot::mkdir(std::string_view host_path) const {
    fs::create_directories(host(host_path));
}

void TempRoot::symlink(std::string_view host_path, std::string_view target) const {
    const auto link = host(host_path);
    fs::create_directories(link.parent_path());
    fs::create_symlink(fs::path(target), link);
}

void TempRoot::relative_symlink(std::string_view host_path, std::string_view host_target) const {
    const fs::path link(host_path);
    const fs::path target = fs::path(host_target).lexically_relative(link.parent_path());
    symlink(host_path, target.string());
}

std::string TempRoot::add_device(const DeviceSpec& spec) {
    std::string dir;
    if (spec.parent) {
        dir = device_dir(*spec.parent);
    } else {
        dir = "/sys/devices/" + spec.host_bridge.value_or(default_host_bridge(spec.address));
    }
    if (spec.parent && spec.host_bridge) {
        dir += "/" + *spec.host_bridge;
    }
    dir += "/" + spec.address;
    mkdir(dir);

    const auto hex_attr = [&](const char* name, const std::string& digits) {
        if (!digits.empty()) {
            write(dir + "/" + name, "0x" + digits + "\n");
        }
    };
    hex_attr("vendor", spec.vendor);
    hex_attr("device", spec.device);
    hex_attr("class", spec.class_code);
    hex_attr("subsystem_vendor", spec.subsystem_vendor);
    hex_attr("subsystem_device", spec.subsystem_device);
    hex_attr("revision", spec.revision);
    write(dir + "/driver_override", "(null)\n");

    relative_symlink("/sys/bus/pci/devices/" + spec.address, dir);
    if (spec.driver) {
        const std::string driver_dir = "/sys/bus/pci/drivers/" + *spec.driver;
        mkdir(driver_dir);
        relative_symlink(dir + "/driver", driver_dir);
        relative_symlink(driver_dir + "/" + spec.address, dir);
    }
    if (spec.iommu_group) {
        const std::string group_dir =
            "/sys/kernel/iommu_groups/" + std::to_string(*spec.iommu_group);
        mkdir(group_dir + "/devices");
        relative_symlink(dir + "/iommu_group", group_dir);
        relative_symlink(group_dir + "/devices/" + spec.address, dir);
    }
    for (const auto& [name, content] : spec.attrs) {
        write(dir + "/" + name, content);
    }
    m_device_dirs[spec.address] = dir;
    return dir;
}

const std::string& TempRoot::device_dir(const std::string& address) const {
    const auto it = m_device_dirs.find(address);
    if (it == m_device_dirs.end()) {
        throw std::invalid_argument("no device " + address + " was added to this TempRoot");
    }
    return it->second;
}

} // namespace pt::test
