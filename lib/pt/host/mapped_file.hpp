// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

namespace pt::host {

// A regular file mapped read-only into memory (Root::map_file): a large file read once, such as
// pci.ids (1.3 MB), costs neither a copy nor fresh memory to copy into. The mapping is private;
// it shows the file as it was mapped as long as nobody shrinks the file in place (apt and dpkg
// replace a file by renaming a new one over it, which leaves the mapped one whole).
class MappedFile {
public:
    MappedFile() = default;
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;

    std::string_view text() const { return {static_cast<const char*>(m_data), m_size}; }

    // Maps the first `size` bytes of the open file `fd` (the descriptor may be closed after).
    // Throws pt::Error naming `shown` when the system refuses.
    static MappedFile map(int fd, std::size_t size, const std::filesystem::path& shown);

private:
    void* m_data = nullptr;
    std::size_t m_size = 0;
};

} // namespace pt::host
