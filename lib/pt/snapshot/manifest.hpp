// SPDX-License-Identifier: MIT
#pragma once

#include "pt/out/json.hpp"
#include "pt/snapshot/collect.hpp"

#include <string>

namespace pt::snapshot {

// The manifest stored in the archive at k_manifest_path, and printed by `pt snapshot --json`:
// {"format": 1, "pt_version", "created" (UTC, ISO 8601), "source_root", "live",
//  "counts": {"files", "links", "folders"}, "kernel_log_lines",
//  "collected": [{"what", "detail", "count", "paths": [...]}],
//  "redacted": [{"path", "line", "key"}], "missing": [{"path", "reason"}],
//  "refused": [{"path", "reason"}], "never_collected": ["..."]}. The schema is documented in
//  pt-snapshot(1).
out::Json manifest(const Snapshot& snap);

// The snapshot as a .tar.gz: its entries plus the manifest (pretty-printed JSON), ready for
// write_output_file. `members` is set to the number of archive members.
std::string archive(const Snapshot& snap, std::size_t& members);

// What `pt snapshot` prints: where the archive went, what was collected (a line per category
// with its count), what was redacted and what was missing, what is never collected, and how to
// use the archive offline. `quiet` leaves out all but the first line.
std::string summary(const Snapshot& snap,
                    const std::string& output,
                    std::size_t bytes,
                    std::size_t members,
                    bool quiet);

} // namespace pt::snapshot
