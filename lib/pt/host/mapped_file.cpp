// SPDX-License-Identifier: MIT
#include "pt/host/mapped_file.hpp"

#include "pt/error.hpp"

#include <fmt/format.h>

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace pt::host {

MappedFile::~MappedFile() {
    if (m_data != nullptr) {
        ::munmap(m_data, m_size);
    }
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : m_data(std::exchange(other.m_data, nullptr))
    , m_size(std::exchange(other.m_size, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
    std::swap(m_data, other.m_data);
    std::swap(m_size, other.m_size);
    return *this;
}

MappedFile MappedFile::map(int fd, std::size_t size, const std::filesystem::path& shown) {
    MappedFile file;
    if (size == 0) {
        return file; // mmap refuses an empty mapping; an empty file is an empty text
    }
    // MAP_POPULATE: the file is read whole right away, so its pages are mapped in one call
    // rather than one fault each.
    void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (data == MAP_FAILED) {
        throw Error(fmt::format("cannot map {}: {}", shown.string(), std::strerror(errno)));
    }
    file.m_data = data;
    file.m_size = size;
    return file;
}

} // namespace pt::host
