// SPDX-License-Identifier: MIT
#include "pt/out/json_writer.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pt::out {
namespace {

// Printable ASCII other than '"' and '\' is written as it is; anything else (control
// characters, UTF-8, invalid bytes) goes through nlohmann's own escaping, so the rare case stays
// exactly as before (U+FFFD for invalid UTF-8, \u001b for ESC, ...).
bool plain(std::string_view text) {
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte > 0x7e || c == '"' || c == '\\') {
            return false;
        }
    }
    return true;
}

} // namespace

void JsonWriter::newline_indent(std::size_t depth) {
    m_out += '\n';
    m_out.append(depth * 2, ' ');
}

void JsonWriter::before_value() {
    if (m_after_key) {
        m_after_key = false;
        return;
    }
    if (m_empty.empty()) {
        return; // the top-level value
    }
    if (!m_empty.back()) {
        m_out += ',';
    }
    m_empty.back() = false;
    newline_indent(m_empty.size());
}

void JsonWriter::begin_object() {
    before_value();
    m_out += '{';
    m_empty.push_back(true);
}

void JsonWriter::close(char bracket) {
    const bool empty = m_empty.back();
    m_empty.pop_back();
    if (!empty) {
        newline_indent(m_empty.size());
    }
    m_out += bracket;
}

void JsonWriter::end_object() {
    close('}');
}

void JsonWriter::begin_array() {
    before_value();
    m_out += '[';
    m_empty.push_back(true);
}

void JsonWriter::end_array() {
    close(']');
}

void JsonWriter::key(std::string_view name) {
    before_value();
    write_string(name);
    m_out += ": ";
    m_after_key = true;
}

void JsonWriter::value(std::string_view text) {
    before_value();
    write_string(text);
}

void JsonWriter::write_string(std::string_view text) {
    if (plain(text)) {
        m_out += '"';
        m_out += text;
        m_out += '"';
        return;
    }
    m_out += nlohmann::json(std::string(text))
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void JsonWriter::value(bool flag) {
    before_value();
    m_out += flag ? "true" : "false";
}

void JsonWriter::value(long long number) {
    before_value();
    fmt::format_to(std::back_inserter(m_out), "{}", number);
}

void JsonWriter::null() {
    before_value();
    m_out += "null";
}

} // namespace pt::out
