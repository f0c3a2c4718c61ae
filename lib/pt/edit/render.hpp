// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace pt::out {
struct TextStyle;
}

namespace pt::edit {

struct Plan;

// The text rendering of a plan, what a writer prints without --apply:
//
//   # modify /etc/default/grub: turn the IOMMU on          one block per file, in plan order:
//   --- a/etc/default/grub                                 a comment line with the action and
//   +++ b/etc/default/grub                                 the reason, then a unified diff
//   @@ -6,7 +6,7 @@                                        (edit::unified_diff, 3 lines of
//   ...                                                    context)
//
//   write "vfio-pci" > /sys/bus/pci/devices/0000:01:00.0/driver_override   # reason
//
//   note: ...                                              (left out with style.quiet)
//
//   then run: update-grub
//   a reboot is needed for this to take effect
//
// An empty plan renders as "nothing to do" followed by its notes. With style.color, diff lines
// are coloured (red removals, green additions, cyan hunk headers).
std::string render_text(const Plan& plan, const out::TextStyle& style);

// The JSON rendering of a plan; the schema is documented in pt-undo(1) (PLAN JSON):
//   {"title": str, "changes": bool,
//    "files": [{"path", "action": "create"|"modify"|"remove", "mode": "0644"|null, "reason",
//               "diff"}],
//    "writes": [{"path", "value", "reason", "expect_link": {"path", "name"}|null}],
//    "follow_ups": [str], "notes": [str], "reboot_needed": bool}
// "mode" is the mode of a created file (null otherwise: an existing file keeps its own).
nlohmann::ordered_json to_json(const Plan& plan);

struct ApplyResult;

// What a writer prints after `--apply` carried out `plan`:
//   recovered: NOTE                         what was mended from an interrupted earlier pt
//   wrote|created|removed PATH              one line per file written, in plan order
//   wrote "VALUE" > PATH                    one line per sysfs write done
//   journal: ID (pt undo restores the files)
//   ran: COMMAND (exit status N)            each follow-up that ran, or the commands to run by
//                                           hand and why they were not run (`not_run_reason`)
//   reboot needed: ... | no reboot needed
// `root_prefix` is the --root directory, shown when the follow-ups were not run there.
std::string render_apply_result(const Plan& plan,
                                const ApplyResult& result,
                                std::string_view not_run_reason,
                                std::string_view root_prefix);

// to_json(plan) with what `--apply` did, as documented in pt-undo(1): "applied": true,
// "journal": id|null, "follow_up_results": [{"command", "ran", "exit_status"|null,
// "not_run_reason"|null}], "recovered": [str].
nlohmann::ordered_json
to_json(const Plan& plan, const ApplyResult& result, std::string_view not_run_reason);

struct JournalEntry;
struct UndoResult;

// One journal entry as `pt undo --list --json` shows it (schema in pt-undo(1)): {"id", "time",
// "title", "status", "undone", "undone_time", "error", "files": [{"path", "action"}], "writes":
// [{"path", "value", "reason"}], "follow_ups", "reboot_needed"}.
nlohmann::ordered_json to_json(const JournalEntry& entry);

// `pt undo --list`: "ID  TIME  STATUS[ UNDONE_TIME]  TITLE", then its files and writes indented,
// and its error unless `quiet`. An empty journal says so, naming `journal_dir`.
std::string
render_journal(const std::vector<JournalEntry>& entries, std::string_view journal_dir, bool quiet);

// What `pt undo` restored: "undid ID (TIME): TITLE", a line per file, the sysfs writes it does
// not undo, and the commands that make the restored files take effect: "ran: ..." for those it
// ran, or (not_run_reason "offline root" or "--no-refresh", as for an apply) the ones to run.
std::string render_undo_result(const UndoResult& result,
                               std::string_view not_run_reason,
                               std::string_view root_prefix);

// {"undone": entry with "files": [{"path", "result"}] and "writes_not_undone", "recovered",
// "follow_up_results": as an apply's (pt-undo(1))}.
nlohmann::ordered_json to_json(const UndoResult& result, std::string_view not_run_reason);

// `value` in double quotes with C escapes, as the write lines show it: "vfio-pci".
std::string quote_value(std::string_view value);

} // namespace pt::edit
