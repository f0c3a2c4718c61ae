// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace pt::pci {
struct Device;
}

namespace pt::iommu {
struct Listing;
struct VfioIds;
} // namespace pt::iommu

namespace pt::out {

// JSON renderings of the library's models. Keys are snake_case in a fixed order, hex IDs are
// lower-case strings without "0x", addresses are full "0000:01:00.0" strings, and an unknown
// value is null rather than a missing key. The schemas are documented in pt-iommu-groups(1).
using Json = nlohmann::ordered_json;

Json to_json(const pci::Device& dev);
Json to_json(const iommu::Listing& listing);
Json to_json(const iommu::VfioIds& ids);

class JsonWriter;

// The same documents written straight to text: `dump_json(listing)` is byte for byte
// `to_json(listing).dump(2, ' ', false, error_handler_t::replace)`, without the tree in between
// (on a host with thousands of SR-IOV functions the tree cost more than reading sysfs).
void write_json(JsonWriter& out, const pci::Device& dev);
std::string dump_json(const iommu::Listing& listing);

// The cause and the fix of an error message written as "SUBJECT: CAUSE; FIX", plus any further
// lines (a list of devices, of selector forms) that belong to the fix. The fix is the first
// line's text after its last "; " and the lines after it; the cause is the first line's text
// between its first ": " and that "; " (the whole first line when it has no ": "). No "; " and
// no further line: there is no fix (nullopt).
struct ErrorParts {
    std::string cause;
    std::optional<std::string> fix;
};

ErrorParts split_error_message(std::string_view message);

// The document `--json` prints on stdout when pt fails (pt(1), JSON ERRORS):
//   {"error": {"code": 2, "message": "...", "cause": "...", "fix": "..." or null}}
// `message` is the text printed after "pt: error: ". `cause` and `fix` empty: split from the
// message (split_error_message); otherwise as given.
Json error_json(int exit_code,
                std::string_view message,
                std::string_view cause = {},
                std::string_view fix = {});

} // namespace pt::out
