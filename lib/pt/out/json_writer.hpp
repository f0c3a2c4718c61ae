// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::out {

// Writes JSON text straight into a string, byte for byte what nlohmann's
// `dump(2, ' ', false, error_handler_t::replace)` gives for the same document (two-space
// indent, "key": value, empty containers as {} and []), without building the tree first. For
// large documents (`pt iommu-groups --json` on an SR-IOV host: megabytes) the tree cost more than
// the reading of sysfs did.
//
// The caller keeps the structure balanced: key() only directly inside an object, a value after
// every key. The writer does not check; the unit tests compare its output with nlohmann's.
class JsonWriter {
public:
    explicit JsonWriter(std::string& out)
        : m_out(out) {}

    void begin_object();
    void end_object();
    void begin_array();
    void end_array();

    // The next member's name; its value follows with one of the value calls or a begin_*.
    void key(std::string_view name);

    void value(std::string_view text);

    void value(const char* text) { value(std::string_view(text)); }

    void value(const std::string& text) { value(std::string_view(text)); }

    void value(bool flag);
    void value(long long number);

    void value(int number) { value(static_cast<long long>(number)); }

    void value(long number) { value(static_cast<long long>(number)); }

    void null();

    template <typename T>
    void value(const std::optional<T>& maybe) {
        if (maybe) {
            value(*maybe);
        } else {
            null();
        }
    }

    void value(const std::vector<std::string>& list) {
        begin_array();
        for (const auto& item : list) {
            value(item);
        }
        end_array();
    }

    // key(name) then value(v), the common case.
    template <typename T>
    void member(std::string_view name, const T& v) {
        key(name);
        value(v);
    }

private:
    void before_value();
    void newline_indent(std::size_t depth);
    void close(char bracket);
    void write_string(std::string_view text);

    std::string& m_out;
    std::vector<bool> m_empty; // one per open container: nothing written in it yet
    bool m_after_key = false;
};

} // namespace pt::out
