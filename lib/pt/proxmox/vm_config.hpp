// SPDX-License-Identifier: MIT
#pragma once

#include "pt/pci/address.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pt::proxmox {

// A Proxmox VE VM config (/etc/pve/nodes/<node>/qemu-server/<vmid>.conf), read the way
// qemu-server's parse_vm_config reads it (ground truth §1.2, §1.3) and kept as the exact bytes
// it came from: pt edits it by splicing single lines, so every line it does not own stays byte
// for byte, and text() of an unedited config is the input.

// Which section a line belongs to.
enum class SectionKind {
    main,     // the current config (before the first header)
    pending,  // [PENDING] (case-insensitive): changes waiting for the next full stop and start
    special,  // [special:cloudinit], [special:fleecing], ...
    snapshot, // [snapname]
    unknown,  // any other [...]: qemu-server skips its lines with a warning
};

// One physical line.
struct ConfigLine {
    enum class Kind {
        blank,   // empty or whitespace only
        comment, // starts with '#': part of the section's description
        option,  // key: value
        header,  // [section]
        invalid, // anything else (qemu-server warns and ignores it)
    };
    Kind kind = Kind::blank;
    int number = 0;          // 1-based
    std::size_t offset = 0;  // of its first byte in text()
    std::size_t length = 0;  // including its '\n' when it has one
    std::size_t section = 0; // index into VmConfig::sections()
    std::string key;         // option: "hostpci0"
    std::string value;       // option: the value with surrounding whitespace trimmed
};

struct Section {
    SectionKind kind = SectionKind::main;
    std::string name;           // "" (main), "PENDING" as written, "special:cloudinit", "snap1"
    std::size_t first_line = 0; // index of its header line (main: 0)
    std::size_t end_line = 0;   // one past its last line
};

// One option as found: its value and where.
struct Option {
    std::string key;
    std::string value;
    int line = 0;         // 1-based line number
    bool pending = false; // from the [PENDING] section (effective_options)
};

class VmConfig {
public:
    // Parses any text; never throws. Lines that are not options, comments, headers or blank are
    // kept as Kind::invalid (qemu-server ignores them with a warning).
    static VmConfig parse(std::string text);

    // The exact bytes: the input, with the edits made since.
    const std::string& text() const { return m_text; }

    const std::vector<ConfigLine>& lines() const { return m_lines; }

    const std::vector<Section>& sections() const { return m_sections; }

    // The main section's value of `key` ("bios", "machine", "cpu", "args", "hostpci0"); the last
    // occurrence wins, as in qemu-server. nullopt when absent.
    std::optional<std::string> get(std::string_view key) const;

    // The same with its line number.
    std::optional<Option> find(std::string_view key) const;

    // Every option line of the main section, in file order (duplicates included).
    std::vector<Option> options() const;

    // The index of the first [PENDING] section, or nullopt.
    std::optional<std::size_t> pending_section() const;

    // The value of `key` in the first [PENDING] section, or nullopt.
    std::optional<std::string> get_pending(std::string_view key) const;

    // The keys the first [PENDING] section deletes (its `delete:` line, comma separated).
    std::vector<std::string> pending_deletes() const;

    // What the VM will run with after its next full stop and start: the main section with the
    // [PENDING] values applied and its deletions removed. Pairs in key order.
    std::vector<std::pair<std::string, std::string>> effective() const;

    // The same as options with their lines: one per key (the last occurrence), a [PENDING] value
    // in place of the main one (pending set), keys the section deletes left out. Key order.
    std::vector<Option> effective_options() const;

    // True when the first [PENDING] section holds a value or a deletion.
    bool has_pending_changes() const;

    // Edits of the main section. set() rewrites the line of the last occurrence of `key` (as
    // "key: value", keeping that line's ending), or inserts a new line where qemu-server's sorted
    // writer would put it; remove() removes every line of `key`. Return whether the text changed.
    bool set(std::string_view key, std::string_view value);
    bool remove(std::string_view key);

    // The same on the first [PENDING] section, which set_pending creates (after the main
    // section, before [special:...] and snapshot sections) when missing. remove_pending drops
    // the key's pending line. add_pending_delete adds `key` to the section's `delete:` list;
    // remove_pending_delete takes it out (and drops an empty `delete:` line).
    bool set_pending(std::string_view key, std::string_view value);
    bool remove_pending(std::string_view key);
    bool add_pending_delete(std::string_view key);
    bool remove_pending_delete(std::string_view key);

private:
    void reparse();
    bool set_in(std::size_t section, std::string_view key, std::string_view value);
    bool remove_in(std::size_t section, std::string_view key);
    void splice(std::size_t offset, std::size_t length, std::string_view replacement);
    std::optional<std::string> lookup(std::size_t section, std::string_view key) const;

    std::string m_text;
    std::vector<ConfigLine> m_lines;
    std::vector<Section> m_sections;
};

// True for qemu-server's option key grammar: [a-z][a-z_-]*\d*.
bool is_option_key(std::string_view key);

// "hostpci7" -> 7; nullopt for any other key (also "hostpci" and "hostpci07").
std::optional<int> hostpci_index(std::string_view key);

// The most hostpci entries a VM may have: hostpci0 to hostpci15 (qemu-server
// $MAX_HOSTPCI_DEVICES).
inline constexpr int k_max_hostpci = 16;

// A property string with a default key (machine: type, cpu: cputype):
// set_property replaces `key`=`value` in place, or inserts it after the default key among the
// others in sorted order, as PVE::JSONSchema::print_property_string writes them; `key` equal to
// `default_key` sets the bare first part. get_property reads `key` (the bare part for
// `default_key`), nullopt when absent.
std::string set_property(std::string_view text,
                         std::string_view default_key,
                         std::string_view key,
                         std::string_view value);
std::optional<std::string>
get_property(std::string_view text, std::string_view default_key, std::string_view key);

// The machine type of a `machine:` value ("pc-q35-8.1", "q35"): its default key or type=
// (Machine.pm); "" when absent (the default, i440fx).
std::string machine_type(const std::optional<std::string>& machine);

// A JSON-schema boolean as qemu-server accepts it: 1|on|yes|true, 0|off|no|false, any case.
std::optional<bool> parse_bool(std::string_view text);

// One host PCI ID of a hostpci `host=` list: "0000:81:00", "81:00.0".
struct HostId {
    std::string text;           // as written
    pci::Address address;       // function 0 when all_functions
    bool all_functions = false; // no ".F": every function of the slot (the GUI's All Functions)
    bool upper_case = false;    // has A-F: qemu-server's pattern is lower case only
    bool domain_given = false;
};

// Parses one host ID (any case); nullopt when it is not [DDDD:]BB:DD[.F].
std::optional<HostId> parse_host_id(std::string_view text);

// One part of a hostpciN value as written: `key=value`, or a bare value (the default key, host).
struct HostPciItem {
    std::string key;
    std::string value;
    bool bare = false; // written without "host=" (only ever with key "host")

    bool operator==(const HostPciItem&) const = default;
};

// A hostpciN value, a property string `[host=]ID[;ID...][,key=value...]` (PCI.pm $hostpci_fmt).
struct HostPci {
    std::vector<HostId> hosts;          // host=, in order; empty with mapping
    std::optional<std::string> mapping; // mapping=ID
    std::optional<bool> pcie;
    std::optional<bool> x_vga;
    std::optional<bool> rombar;
    std::optional<bool> legacy_igd;
    std::optional<std::string> romfile;
    std::optional<std::string> mdev;
    // vendor-id=, device-id=, sub-vendor-id=, sub-device-id= as written (0xHHHH when valid).
    std::vector<std::pair<std::string, std::string>> id_overrides;
    // driver=vfio|keep (qemu-server 9.0.25 and later, PCI.pm): with keep, Proxmox neither resets
    // the device nor binds it to vfio-pci. Parsed on any version; the lint judges whether the
    // root's qemu-server knows it.
    std::optional<std::string> driver;
    // Every part in order, also those qemu-server would reject (a second host, a duplicate key),
    // so that formatting gives back every part as written. Used to rewrite a value without
    // reordering what pt does not own.
    std::vector<HostPciItem> items;
    // One sentence per part qemu-server would reject (unknown key, bad ID, bad boolean, both
    // host and mapping, neither).
    std::vector<std::string> problems;
};

// Parses a hostpciN value; never throws (problems go to HostPci::problems). Empty parts
// (",,") are skipped, as PVE::JSONSchema::parse_property_string does.
HostPci parse_hostpci(std::string_view value);

// Formats `items` back into a property string, each part as it was written (an unchanged parse
// gives back the value less its empty parts).
std::string format_hostpci(const HostPci& hostpci);

// Sets `key`=`value` in `hostpci.items`: replaces the first item of that key in place, or
// appends. For "host" and "mapping" it removes the other one (they exclude each other), and the
// host is written bare, as the GUI and qm set write it. Callers edit only values without
// problems: set_item does not mend a value qemu-server rejects.
void set_item(HostPci& hostpci, std::string_view key, std::string_view value);

// Removes every item of `key`.
void remove_item(HostPci& hostpci, std::string_view key);

} // namespace pt::proxmox
