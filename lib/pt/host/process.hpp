// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace pt::host {

// The one way pt runs another program: posix_spawn, no shell, then waitpid. Used for the
// follow-ups of --apply (update-initramfs, update-grub, proxmox-boot-tool refresh) and for
// verify --guest's nvidia-smi; never per device.
struct RunOptions {
    bool search_path = true;       // a bare name is looked up in PATH (posix_spawnp)
    bool stdout_to_stderr = false; // the child's stdout goes to pt's stderr (--json keeps stdout)
    bool capture = false;          // the child's stdout and stderr are collected in `output`
    // With `capture`: the child is killed (SIGKILL) when it runs longer.
    std::optional<std::chrono::milliseconds> timeout;
};

struct ProcessResult {
    bool started = false;
    std::string error;              // why it did not start: "cannot run X: No such file..."
    std::optional<int> exit_status; // nullopt when killed by a signal (or by the timeout)
    int signal = 0;                 // the signal that ended it, else 0
    bool timed_out = false;
    std::string output; // with `capture`: stdout and stderr as written, trailing newlines kept
};

// Runs `argv` (argv[0] the program) and waits for it. Never throws for the child's failures:
// they are in the result. An empty argv does not start.
ProcessResult run_process(const std::vector<std::string>& argv, const RunOptions& options);

} // namespace pt::host
