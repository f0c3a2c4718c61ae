// SPDX-License-Identifier: MIT
#pragma once

#include <unistd.h>

#include <utility>

namespace pt::host {

// Owns one file descriptor and closes it when it goes out of scope. Internal to lib/pt/host.
class Fd {
public:
    explicit Fd(int fd = -1)
        : m_fd(fd) {}

    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;

    Fd(Fd&& other) noexcept
        : m_fd(std::exchange(other.m_fd, -1)) {}

    Fd& operator=(Fd&& other) noexcept {
        std::swap(m_fd, other.m_fd);
        return *this;
    }

    ~Fd() { reset(); }

    int get() const { return m_fd; }

    int release() { return std::exchange(m_fd, -1); }

    explicit operator bool() const { return m_fd >= 0; }

    // Closes now and reports close()'s result: on NFS a deferred write error surfaces here.
    int close_checked() { return ::close(std::exchange(m_fd, -1)); }

    void reset() {
        if (m_fd >= 0) {
            ::close(std::exchange(m_fd, -1));
        }
    }

private:
    int m_fd;
};

} // namespace pt::host
