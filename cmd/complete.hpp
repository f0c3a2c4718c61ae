// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace CLI { // NOLINT(readability-identifier-naming): CLI11's namespace
class App;
} // namespace CLI

namespace pt::cmd {

// The hidden subcommand the shell completions call (completions/README.md, pt(1) COMPLETION):
//   pt __complete -- WORD...
// WORD... are the words of the command line after "pt", the last one the word being completed
// (empty after a space). It prints one candidate per line, "VALUE" or "VALUE<TAB>DESCRIPTION",
// or one directive line, ":files" or ":dirs", asking the shell for its own file or directory
// completion of that word. It always exits 0; an unreadable root offers nothing.
inline constexpr std::string_view k_complete_command = "__complete";

// Answers one completion request from `app`'s definitions (subcommands, flags and their help
// text, the kind of each option's value) and the values under the root the words name (--root,
// else PT_ROOT, else /).
int run_complete(const CLI::App& app, const std::vector<std::string>& args);

} // namespace pt::cmd
