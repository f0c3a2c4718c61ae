// SPDX-License-Identifier: MIT
// pt __complete: shell completion from the CLI11 definitions (so the three shells cannot drift
// from the CLI) and from the library (the values pt would accept under --root).
#include "cmd/complete.hpp"

#include "pt/complete/candidates.hpp"
#include "pt/host/root.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>

namespace pt::cmd {
namespace {

using complete::Candidate;

// What the command line before the current word says.
struct Context {
    const CLI::App* app = nullptr;        // the subcommand, or the top level
    const CLI::Option* pending = nullptr; // an option whose value the current word is
    std::size_t positionals = 0;          // positional words given to the subcommand
    bool after_double_dash = false;       // "--" seen: only positionals follow
    std::optional<std::string> root;      // the last --root DIR
};

bool visible(const CLI::Option* opt) {
    return !opt->get_group().empty(); // CLI11 hides options with an empty group
}

bool takes_value(const CLI::Option* opt) {
    // A flag expects no item (CLI11's expected(0)); its type size is not 0 for a bool flag.
    return opt->get_expected_min() > 0;
}

bool takes_several(const CLI::Option* opt) {
    return opt->get_items_expected_max() > 1;
}

// The named option of `app` that `word` spells ("--device", "-o"), or nullptr.
const CLI::Option* find_option(const CLI::App& app, std::string_view word) {
    for (const CLI::Option* opt : app.get_options()) {
        if (!opt->nonpositional()) {
            continue;
        }
        for (const auto& l : opt->get_lnames()) {
            if (word == "--" + l) {
                return opt;
            }
        }
        for (const auto& s : opt->get_snames()) {
            if (word == "-" + s) {
                return opt;
            }
        }
    }
    return nullptr;
}

const CLI::App* find_subcommand(const CLI::App& app, std::string_view name) {
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        if (sub->get_name() == name) {
            return sub;
        }
    }
    return nullptr;
}

std::vector<const CLI::Option*> positionals(const CLI::App& app) {
    return app.get_options([](const CLI::Option* opt) { return opt->get_positional(); });
}

Context read_words(const CLI::App& top, const std::vector<std::string>& before) {
    Context ctx;
    ctx.app = &top;
    for (std::size_t i = 0; i < before.size(); ++i) {
        const std::string& word = before[i];
        if (ctx.pending != nullptr && (word.empty() || word.front() != '-')) {
            if (ctx.pending->get_lnames() == std::vector<std::string>{"root"}) {
                ctx.root = word;
            }
            if (!takes_several(ctx.pending)) {
                ctx.pending = nullptr;
            }
            continue;
        }
        ctx.pending = nullptr;
        if (ctx.after_double_dash) {
            ++ctx.positionals;
        } else if (word == "--") {
            ctx.after_double_dash = true;
        } else if (word.starts_with("--root=")) {
            ctx.root = word.substr(std::string_view("--root=").size());
        } else if (word.size() > 1 && word.front() == '-') {
            const CLI::Option* opt = find_option(*ctx.app, word);
            if (opt != nullptr && takes_value(opt)) {
                ctx.pending = opt;
            }
        } else if (ctx.app == &top) {
            if (const CLI::App* sub = find_subcommand(top, word)) {
                ctx.app = sub;
            }
        } else {
            ++ctx.positionals;
        }
    }
    return ctx;
}

// The root the words name, else PT_ROOT, else /; "~" as the shell would expand it.
std::string root_dir(const Context& ctx) {
    std::string dir = "/";
    if (ctx.root) {
        dir = *ctx.root;
    } else if (const char* env = std::getenv("PT_ROOT"); env != nullptr && *env != '\0') {
        dir = env;
    }
    if (const char* home = std::getenv("HOME");
        home != nullptr && (dir == "~" || dir.starts_with("~/"))) {
        dir = home + dir.substr(1);
    }
    return dir.empty() ? "/" : dir;
}

enum class Answer { candidates, files, dirs };

struct Values {
    Answer answer = Answer::candidates;
    std::vector<Candidate> candidates;
};

// The values of `opt` (named or positional) of subcommand `sub`, starting with `prefix`. The
// kind follows the option's name and metavariable, as `pt SUB --help` shows them.
Values option_values(const CLI::App& sub,
                     const CLI::Option& opt,
                     const std::string& prefix,
                     const Context& ctx) {
    const std::string name = opt.get_positional() ? opt.get_name(true) : opt.get_name();
    const std::string type = opt.get_type_name();
    const std::string_view subcommand = sub.get_name();
    if (type == "DIR") {
        return {Answer::dirs, {}};
    }
    if (type == "FILE") {
        return {Answer::files, {}};
    }
    const host::Root root(root_dir(ctx));
    std::vector<Candidate> out;
    if (type == "SEL" || name == "SEL") {
        // Only iommu-groups lists bridges and root ports; every other SEL is a device to bind,
        // pass through or check.
        out = complete::device_selectors(
            root,
            prefix,
            subcommand == "iommu-groups" ? complete::Devices::any : complete::Devices::endpoints);
        return {Answer::candidates, out};
    }
    if (name == "VMID" || name == "--vm") {
        out = complete::vmids(root);
    } else if (name == "CTID" || name == "--ct") {
        out = complete::ctids(root);
    } else if ((subcommand == "mapping" && name == "NAME") || name == "--mapping") {
        out = complete::mapping_ids(root);
    } else if (subcommand == "undo" && opt.get_positional()) {
        out = complete::journal_entries(root);
    } else if (subcommand == "grub" && name == "--add") {
        return {Answer::candidates, complete::params_to_add(root, prefix)};
    } else if (subcommand == "grub" && name == "--remove") {
        out = complete::params_to_remove(root);
    } else if (name == "--group") {
        out = complete::iommu_groups(root);
    } else if (name == "--class") {
        out = complete::class_prefixes();
    } else if (name == "--romfile") {
        out = complete::rom_files(root);
    } else if (type == "0|1") {
        out = {{"0", ""}, {"1", ""}};
    }
    return {Answer::candidates, complete::starting_with(std::move(out), prefix)};
}

std::string one_line(std::string text) {
    for (char& c : text) {
        if (c == '\t' || c == '\n') {
            c = ' ';
        }
    }
    return text;
}

void print(const std::vector<Candidate>& candidates, std::string_view prefix = {}) {
    for (const auto& c : candidates) {
        if (c.description.empty()) {
            fmt::print("{}{}\n", prefix, c.value);
        } else {
            fmt::print("{}{}\t{}\n", prefix, c.value, one_line(c.description));
        }
    }
}

void print(const Values& values, std::string_view prefix = {}) {
    switch (values.answer) {
    case Answer::files:
        fmt::print(":files\n");
        break;
    case Answer::dirs:
        fmt::print(":dirs\n");
        break;
    case Answer::candidates:
        print(values.candidates, prefix);
        break;
    }
}

// The flags of `app` (the global ones included: every subcommand adds them to itself).
std::vector<Candidate> flags(const CLI::App& app, std::string_view prefix) {
    std::vector<Candidate> out;
    for (const CLI::Option* opt : app.get_options()) {
        if (!opt->nonpositional() || !visible(opt)) {
            continue;
        }
        for (const auto& l : opt->get_lnames()) {
            out.push_back({"--" + l, opt->get_description()});
        }
        for (const auto& s : opt->get_snames()) {
            out.push_back({"-" + s, opt->get_description()});
        }
    }
    return complete::starting_with(std::move(out), prefix);
}

std::vector<Candidate> subcommands(const CLI::App& app, std::string_view prefix) {
    std::vector<Candidate> out;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        if (!sub->get_group().empty()) {
            out.push_back({sub->get_name(), sub->get_description()});
        }
    }
    return complete::starting_with(std::move(out), prefix);
}

void answer(const CLI::App& top, const std::vector<std::string>& words) {
    const std::vector<std::string> before(words.begin(), words.end() - 1);
    const std::string& current = words.back();
    const Context ctx = read_words(top, before);
    const CLI::App& app = *ctx.app;

    if (ctx.pending != nullptr && !(takes_several(ctx.pending) && current.starts_with("-"))) {
        print(option_values(app, *ctx.pending, current, ctx));
        return;
    }
    if (!ctx.after_double_dash && current.starts_with("--")
        && current.find('=') != std::string::npos) {
        const auto eq = current.find('=');
        const CLI::Option* opt = find_option(app, current.substr(0, eq));
        if (opt != nullptr && takes_value(opt)) {
            print(option_values(app, *opt, current.substr(eq + 1), ctx), current.substr(0, eq + 1));
        }
        return;
    }
    if (!ctx.after_double_dash && current.starts_with("-")) {
        print(flags(app, current));
        return;
    }
    if (&app == &top) {
        print(subcommands(top, current));
        return;
    }
    const auto given = positionals(app);
    std::size_t index = ctx.positionals;
    for (const CLI::Option* opt : given) {
        const auto expected = static_cast<std::size_t>(std::max(opt->get_items_expected_max(), 1));
        if (index < expected) {
            print(option_values(app, *opt, current, ctx));
            return;
        }
        index -= expected;
    }
}

} // namespace

int run_complete(const CLI::App& app, const std::vector<std::string>& args) {
    std::vector<std::string> words = args;
    if (!words.empty() && words.front() == "--") {
        words.erase(words.begin());
    }
    if (words.empty()) {
        words.emplace_back();
    }
    try {
        answer(app, words);
    } catch (const std::exception&) {
        // A root that cannot be read offers nothing; completion never prints an error into the
        // user's command line.
    }
    return 0;
}

} // namespace pt::cmd
