// SPDX-License-Identifier: MIT
// libFuzzer target for Proxmox VM configs (pt/proxmox/vm_config): VmConfig::parse and its
// editors, and the hostpci property-string parser. Input: `OPS\nCONFIG`, OPS up to 6 words
//   sKEY=VALUE  set          rKEY  remove
//   pKEY=VALUE  set_pending  qKEY  remove_pending
//   dKEY        add_pending_delete   eKEY  remove_pending_delete
//   hKEY=ITEM=VALUE  set_item(ITEM, VALUE) on the hostpci value of KEY, written back with set
// KEY must be a qemu-server option key, VALUE non-empty without blanks at its ends (as pt's
// callers pass them); other words are dropped. Properties:
//   - text() of a parse is the input, and the lines tile it;
//   - each edit makes the value read back (get / get_pending / pending_deletes), leaves the
//     other keys of that section and every other section alone, returns whether the text
//     changed, and applied a second time returns false and changes nothing;
//   - a hostpci value without problems formats back to a value that parses the same, and
//     set_item's value reads back after format and parse.
#include "pt/proxmox/vm_config.hpp"
#include "pt/strings.hpp"

#include <algorithm>
#include <tuple>

#include "fuzz_support.hpp"

using namespace pt;       // NOLINT(google-build-using-namespace): a fuzz target
using namespace pt::fuzz; // NOLINT(google-build-using-namespace)
using proxmox::ConfigLine;
using proxmox::SectionKind;
using proxmox::VmConfig;

namespace {

using LineView = std::tuple<ConfigLine::Kind, std::string, std::string>;
using SectionView = std::tuple<SectionKind, std::string, std::vector<LineView>>;

// The sections as (kind, name, lines) without positions, leaving out `skip` (by index).
std::vector<SectionView> view(const VmConfig& c, std::optional<std::size_t> skip) {
    std::vector<SectionView> out;
    for (std::size_t s = 0; s < c.sections().size(); ++s) {
        if (skip && s == *skip) {
            continue;
        }
        const auto& sec = c.sections()[s];
        std::vector<LineView> lines;
        for (std::size_t i = sec.first_line; i < sec.end_line; ++i) {
            const auto& l = c.lines()[i];
            lines.emplace_back(l.kind, l.key, l.value);
        }
        out.emplace_back(sec.kind, sec.name, std::move(lines));
    }
    return out;
}

void check_tiling(const VmConfig& c) {
    std::size_t at = 0;
    int number = 0;
    for (const auto& l : c.lines()) {
        require(l.offset == at && l.length > 0 && l.number == ++number, "lines do not tile");
        at += l.length;
        require(l.section < c.sections().size(), "a line's section is out of range");
    }
    require(at == c.text().size(), "lines do not cover the text");
}

// Keys of the section's options, each with its value as get/lookup reads it (last wins).
std::vector<std::pair<std::string, std::string>> values(const VmConfig& c, std::size_t s) {
    std::vector<std::pair<std::string, std::string>> out;
    const auto& sec = c.sections()[s];
    for (std::size_t i = sec.first_line; i < sec.end_line; ++i) {
        const auto& l = c.lines()[i];
        if (l.kind != ConfigLine::Kind::option) {
            continue;
        }
        const auto it =
            std::find_if(out.begin(), out.end(), [&](const auto& kv) { return kv.first == l.key; });
        if (it != out.end()) {
            it->second = l.value;
        } else {
            out.emplace_back(l.key, l.value);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::pair<std::string, std::string>>
without(std::vector<std::pair<std::string, std::string>> kv, std::string_view key) {
    kv.erase(std::remove_if(kv.begin(), kv.end(), [&](const auto& p) { return p.first == key; }),
             kv.end());
    return kv;
}

bool good_value(std::string_view v) {
    return !v.empty() && trim(v) == v && v.find('\n') == std::string_view::npos;
}

void check_hostpci(std::string_view value) {
    const auto parsed = proxmox::parse_hostpci(value);
    const auto formatted = proxmox::format_hostpci(parsed);
    const auto again = proxmox::parse_hostpci(formatted);
    const auto detail = show(value) + " -> " + show(formatted);
    // Every part comes back as written, also in a value qemu-server rejects.
    require(again.items == parsed.items, "a formatted hostpci value has other parts", detail);
    require(formatted == proxmox::format_hostpci(again), "format is not stable", detail);
    if (!parsed.problems.empty()) {
        return;
    }
    require(again.problems.empty(), "a formatted hostpci value has problems", detail);
    require(again.mapping == parsed.mapping && again.pcie == parsed.pcie
                && again.x_vga == parsed.x_vga && again.rombar == parsed.rombar
                && again.romfile == parsed.romfile && again.hosts.size() == parsed.hosts.size(),
            "a formatted hostpci value parses differently",
            detail);
}

void check_set_item(std::string_view value, std::string_view item, std::string_view item_value) {
    auto parsed = proxmox::parse_hostpci(value);
    if (!parsed.problems.empty()) {
        return; // pt refuses to edit such an entry (vmconf_plan.cpp, refuse_unsound_entry)
    }
    proxmox::set_item(parsed, item, item_value);
    const auto formatted = proxmox::format_hostpci(parsed);
    const auto again = proxmox::parse_hostpci(formatted);
    const auto detail = show(value) + " set " + std::string(item) + "=" + std::string(item_value)
                        + " -> " + show(formatted);
    const auto it = std::find_if(
        again.items.begin(), again.items.end(), [&](const auto& kv) { return kv.key == item; });
    require(it != again.items.end() && it->value == item_value,
            "set_item's value does not read back",
            detail);
    if (item == "host" || item == "mapping") {
        const std::string other = item == "host" ? "mapping" : "host";
        require(std::none_of(again.items.begin(),
                             again.items.end(),
                             [&](const auto& kv) { return kv.key == other; }),
                "host and mapping both set after set_item",
                detail);
    }
    auto twice = parsed;
    proxmox::set_item(twice, item, item_value);
    require(proxmox::format_hostpci(twice) == formatted, "set_item is not idempotent", detail);
}

// Applies one op; returns false when the op is not a valid request.
bool apply(VmConfig& config, std::string_view word) {
    if (word.size() < 2) {
        return false;
    }
    const char op = word.front();
    const auto body = word.substr(1);
    const auto eq = body.find('=');
    const auto key = body.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : body.substr(eq + 1);
    if (!proxmox::is_option_key(key)) {
        return false;
    }
    const bool needs_value = op == 's' || op == 'p' || op == 'h';
    if (needs_value != (eq != std::string_view::npos) || (needs_value && !good_value(value))) {
        return false;
    }
    const auto detail = std::string(word) + " on " + show(config.text());
    const auto before_text = config.text();
    const auto main_before = values(config, 0);
    const auto pending_before = config.pending_section();
    const auto pending_values =
        pending_before ? values(config, *pending_before) : decltype(main_before){};
    const auto others_main = view(config, 0);
    const auto others_pending = view(config, pending_before);

    const auto main_edit = [&](bool /*changed*/) {
        require(view(config, 0) == others_main,
                "a main-section edit changed another section",
                detail + " -> " + show(config.text()));
    };
    const auto pending_edit = [&](bool /*changed*/) {
        require(values(config, 0) == main_before,
                "a pending edit changed the main section",
                detail + " -> " + show(config.text()));
        const auto p = config.pending_section();
        require(p.has_value(), "no [PENDING] section after a pending edit", detail);
        auto others = view(config, p);
        if (!pending_before) {
            // The new section may leave a blank line at the end of the main section.
            auto old_view = view(VmConfig::parse(before_text), std::nullopt);
            old_view.erase(old_view.begin());
            others.erase(others.begin());
            require(others == old_view,
                    "creating [PENDING] changed another section",
                    detail + " -> " + show(config.text()));
        } else {
            require(others == others_pending,
                    "a pending edit changed another section",
                    detail + " -> " + show(config.text()));
        }
    };

    bool invalid = false;
    const auto run = [&]() -> bool {
        switch (op) {
        case 's': {
            const bool c = config.set(key, value);
            main_edit(c);
            require(config.get(key) == value,
                    "set: the value does not read back",
                    detail + " -> " + show(config.text()));
            require(without(values(config, 0), key) == without(main_before, key),
                    "set changed another key",
                    detail + " -> " + show(config.text()));
            return c;
        }
        case 'r': {
            const bool c = config.remove(key);
            main_edit(c);
            require(!config.get(key), "remove: the key is still there", detail);
            require(values(config, 0) == without(main_before, key),
                    "remove changed another key",
                    detail + " -> " + show(config.text()));
            return c;
        }
        case 'p': {
            const bool c = config.set_pending(key, value);
            pending_edit(c);
            require(config.get_pending(key) == value,
                    "set_pending: the value does not read back",
                    detail + " -> " + show(config.text()));
            if (pending_before) {
                require(without(values(config, *config.pending_section()), key)
                            == without(pending_values, key),
                        "set_pending changed another pending key",
                        detail + " -> " + show(config.text()));
            }
            return c;
        }
        case 'q': {
            const bool c = config.remove_pending(key);
            if (!pending_before) {
                require(!c && config.text() == before_text, "remove_pending without [PENDING]");
                return c;
            }
            pending_edit(c);
            require(!config.get_pending(key), "remove_pending: the key is still there", detail);
            return c;
        }
        case 'd': {
            const bool c = config.add_pending_delete(key);
            if (c || pending_before) {
                pending_edit(c);
            }
            const auto del = config.pending_deletes();
            require(std::find(del.begin(), del.end(), key) != del.end(),
                    "add_pending_delete: the key is not in delete:",
                    detail + " -> " + show(config.text()));
            return c;
        }
        case 'e': {
            const bool c = config.remove_pending_delete(key);
            if (pending_before) {
                pending_edit(c);
            }
            const auto del = config.pending_deletes();
            require(std::find(del.begin(), del.end(), key) == del.end(),
                    "remove_pending_delete: the key is still in delete:",
                    detail + " -> " + show(config.text()));
            return c;
        }
        case 'h': {
            const auto item_eq = value.find('=');
            if (item_eq == std::string_view::npos || item_eq == 0) {
                invalid = true;
                return false;
            }
            const auto item = value.substr(0, item_eq);
            const auto item_value = value.substr(item_eq + 1);
            if (item_value.empty() || item.find(',') != std::string_view::npos
                || item_value.find_first_of(",=") != std::string_view::npos) {
                invalid = true;
                return false;
            }
            const auto current = config.get(key).value_or("");
            check_set_item(current, item, item_value);
            auto parsed = proxmox::parse_hostpci(current);
            proxmox::set_item(parsed, item, item_value);
            const auto formatted = proxmox::format_hostpci(parsed);
            if (!good_value(formatted)) {
                invalid = true;
                return false;
            }
            const bool c = config.set(key, formatted);
            main_edit(c);
            require(
                config.get(key) == formatted, "set: the hostpci value does not read back", detail);
            return c;
        }
        default:
            // Not an op (a control byte, say): no request, so nothing to apply twice either.
            invalid = true;
            return false;
        }
    };
    const bool reported = run();
    if (invalid) {
        return false;
    }
    require(reported == (config.text() != before_text),
            "an edit's return value does not say whether the text changed",
            detail + " -> " + show(config.text()));
    check_tiling(config);
    // The same op again: nothing to do.
    const auto once = config.text();
    if (op == 'h') {
        const auto current = config.get(key).value_or("");
        auto parsed = proxmox::parse_hostpci(current);
        proxmox::set_item(
            parsed, value.substr(0, value.find('=')), value.substr(value.find('=') + 1));
        require(!config.set(key, proxmox::format_hostpci(parsed)), "set_item then set twice");
    } else {
        const bool second = op == 's'   ? config.set(key, value)
                            : op == 'r' ? config.remove(key)
                            : op == 'p' ? config.set_pending(key, value)
                            : op == 'q' ? config.remove_pending(key)
                            : op == 'd' ? config.add_pending_delete(key)
                                        : config.remove_pending_delete(key);
        require(!second,
                "an edit applied twice reports a change the second time",
                std::string(word) + " on " + show(once) + " -> " + show(config.text()));
    }
    require(config.text() == once,
            "an edit applied twice changes the text",
            std::string(word) + " on " + show(once) + " -> " + show(config.text()));
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto [control, file] = split_input(data, size);
    auto config = VmConfig::parse(std::string(file));
    require(config.text() == file, "parse then text() is not the input");
    check_tiling(config);
    (void)config.effective();
    (void)config.pending_deletes();
    for (const auto& l : config.lines()) {
        if (l.kind == ConfigLine::Kind::option) {
            require(proxmox::is_option_key(l.key) && good_value(l.value),
                    "an option line with a bad key or an untrimmed value",
                    show(l.key) + ": " + show(l.value));
            if (proxmox::hostpci_index(l.key)) {
                check_hostpci(l.value);
            }
        }
    }
    for (const auto word : words(control, 6)) {
        apply(config, word);
    }
    return 0;
}
