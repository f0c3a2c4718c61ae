// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pt::edit {

// A unified diff of one file, in the format of `diff -u` and `git diff`, so that a plan can be
// read by eye and fed to `patch -p1`:
//
//   --- a/etc/default/grub        (--- /dev/null when `before` is nullopt: a new file)
//   +++ b/etc/default/grub        (+++ /dev/null when `after` is nullopt: a removed file)
//   @@ -5,7 +5,7 @@
//
// `path` is a host path ("/etc/default/grub"); its leading '/' is dropped after "a/" and "b/".
// Hunks carry `context` lines of context on each side and hunks closer than twice that merge, as
// in GNU diff. A last line without a newline is followed by "\ No newline at end of file".
// Returns "" when `before` equals `after`. When either side holds a NUL byte (binary content, such
// as a ROM file), the diff is one line, as git prints it: "Binary files /dev/null and b/x differ".
// The diff is minimal (longest common subsequence of lines) except for very large changed regions
// (more than about 16 million line pairs), which are shown as removed and added as a whole: still a
// correct diff, only a longer one.
std::string unified_diff(std::string_view path,
                         const std::optional<std::string>& before,
                         const std::optional<std::string>& after,
                         int context = 3);

} // namespace pt::edit
