// SPDX-License-Identifier: MIT
#include "pt/edit/diff.hpp"
#include "support/catch.hpp"

#include <map>
#include <optional>
#include <string>

using pt::edit::unified_diff;

namespace {

// "1\n2\n...\nn\n" with the lines in `replace` swapped for their replacement.
std::string numbers(int n, const std::map<int, std::string>& replace = {}) {
    std::string out;
    for (int i = 1; i <= n; ++i) {
        const auto it = replace.find(i);
        out += (it == replace.end() ? std::to_string(i) : it->second) + "\n";
    }
    return out;
}

} // namespace

TEST_CASE("edit::unified_diff: equal contents give no diff", "[edit][diff]") {
    CHECK(unified_diff("/etc/x", std::string("a\n"), std::string("a\n")).empty());
    CHECK(unified_diff("/etc/x", std::nullopt, std::nullopt).empty());
}

TEST_CASE("edit::unified_diff: a changed line with 3 lines of context", "[edit][diff]") {
    CHECK(unified_diff("/etc/default/grub", numbers(10), numbers(10, {{5, "five"}}))
          == "--- a/etc/default/grub\n"
             "+++ b/etc/default/grub\n"
             "@@ -2,7 +2,7 @@\n"
             " 2\n"
             " 3\n"
             " 4\n"
             "-5\n"
             "+five\n"
             " 6\n"
             " 7\n"
             " 8\n");
}

TEST_CASE("edit::unified_diff: hunks", "[edit][diff]") {
    SECTION("distant changes make two hunks (as diff -u)") {
        CHECK(unified_diff("/x", numbers(20), numbers(20, {{5, "five"}, {16, "sixteen"}}))
              == "--- a/x\n+++ b/x\n"
                 "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
                 "@@ -13,7 +13,7 @@\n 13\n 14\n 15\n-16\n+sixteen\n 17\n 18\n 19\n");
    }
    SECTION("changes at most 6 lines apart share a hunk") {
        CHECK(unified_diff("/x", numbers(20), numbers(20, {{5, "five"}, {11, "eleven"}}))
              == "--- a/x\n+++ b/x\n"
                 "@@ -2,13 +2,13 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n 9\n 10\n"
                 "-11\n+eleven\n 12\n 13\n 14\n");
    }
    SECTION("removals come before additions") {
        CHECK(unified_diff("/x", std::string("a\nb\nc\n"), std::string("X\nb\nY\n"))
              == "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n-a\n+X\n b\n-c\n+Y\n");
    }
}

TEST_CASE("edit::unified_diff: added and removed lines", "[edit][diff]") {
    SECTION("a line added at the end") {
        CHECK(unified_diff("/etc/modules", std::string("a\nb\n"), std::string("a\nb\nc\n"))
              == "--- a/etc/modules\n+++ b/etc/modules\n@@ -1,2 +1,3 @@\n a\n b\n+c\n");
    }
    SECTION("a line removed at the start") {
        CHECK(unified_diff("/etc/modules", std::string("a\nb\nc\n"), std::string("b\nc\n"))
              == "--- a/etc/modules\n+++ b/etc/modules\n@@ -1,3 +1,2 @@\n-a\n b\n c\n");
    }
    SECTION("a line added to an empty file") {
        CHECK(unified_diff("/e", std::string(), std::string("x\n"))
              == "--- a/e\n+++ b/e\n@@ -0,0 +1 @@\n+x\n");
    }
}

TEST_CASE("edit::unified_diff: no newline at end of file", "[edit][diff]") {
    SECTION("the old last line lacks it") {
        CHECK(unified_diff("/x", std::string("a\nb"), std::string("a\nc\n"))
              == "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of "
                 "file\n+c\n");
    }
    SECTION("only the newline is added") {
        CHECK(unified_diff("/x", std::string("a\nb"), std::string("a\nb\n"))
              == "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of "
                 "file\n+b\n");
    }
}

TEST_CASE("edit::unified_diff: new and removed files", "[edit][diff]") {
    SECTION("a new file diffs from /dev/null") {
        CHECK(unified_diff("/etc/modprobe.d/pt.conf", std::nullopt, std::string("x\ny\n"))
              == "--- /dev/null\n+++ b/etc/modprobe.d/pt.conf\n@@ -0,0 +1,2 @@\n+x\n+y\n");
    }
    SECTION("a removed file diffs to /dev/null") {
        CHECK(unified_diff("/etc/modprobe.d/pt.conf", std::string("x\n"), std::nullopt)
              == "--- a/etc/modprobe.d/pt.conf\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n");
    }
    SECTION("a new empty file has a header and no hunk") {
        CHECK(unified_diff("/e", std::nullopt, std::string()) == "--- /dev/null\n+++ b/e\n");
    }
}
