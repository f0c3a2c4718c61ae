// SPDX-License-Identifier: MIT
#include "pt/host/process.hpp"

#include <fmt/format.h>

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

extern char** environ; // NOLINT(readability-redundant-declaration): for posix_spawn

namespace pt::host {
namespace {

// Reads the pipe until the child closes it or the deadline passes (then kills the child).
void collect(int fd, pid_t pid, const RunOptions& options, ProcessResult& result) {
    const auto deadline = options.timeout
                              ? std::optional(std::chrono::steady_clock::now() + *options.timeout)
                              : std::nullopt;
    std::array<char, 4096> buf{};
    while (true) {
        int wait_ms = -1;
        if (deadline) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                *deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                ::kill(pid, SIGKILL);
                result.timed_out = true;
                return;
            }
            wait_ms = static_cast<int>(left.count());
        }
        pollfd pfd{fd, POLLIN, 0};
        const int ready = ::poll(&pfd, 1, wait_ms);
        if (ready < 0 && errno != EINTR) {
            return;
        }
        if (ready <= 0) {
            continue;
        }
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        result.output.append(buf.data(), static_cast<std::size_t>(n));
    }
}

} // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const RunOptions& options) {
    ProcessResult result;
    if (argv.empty()) {
        result.error = "cannot run an empty command";
        return result;
    }
    std::array<int, 2> fds{-1, -1};
    if (options.capture && ::pipe(fds.data()) != 0) {
        result.error = fmt::format("cannot run {}: pipe: {}", argv[0], std::strerror(errno));
        return result;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (options.capture) {
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
        posix_spawn_file_actions_addclose(&actions, fds[0]);
    } else if (options.stdout_to_stderr) {
        posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
    }
    std::vector<char*> args;
    for (const auto& arg : argv) {
        args.push_back(const_cast<char*>(arg.c_str())); // NOLINT: posix_spawn's signature
    }
    args.push_back(nullptr);
    pid_t pid = 0;
    const int err = options.search_path
                        ? ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ)
                        : ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (options.capture) {
        ::close(fds[1]);
    }
    if (err != 0) {
        if (options.capture) {
            ::close(fds[0]);
        }
        result.error = fmt::format("cannot run {}: {}", argv[0], std::strerror(err));
        return result;
    }
    result.started = true;
    if (options.capture) {
        collect(fds[0], pid, options, result);
        ::close(fds[0]);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            result.error = fmt::format("cannot wait for {}: {}", argv[0], std::strerror(errno));
            return result;
        }
    }
    if (WIFEXITED(status)) {
        result.exit_status = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.signal = WTERMSIG(status);
    }
    return result;
}

} // namespace pt::host
