// SPDX-License-Identifier: MIT
#include "pt/host/process.hpp"
#include "support/catch.hpp"

#include <chrono>
#include <string>

using pt::host::run_process;
using pt::host::RunOptions;

TEST_CASE("host::run_process: exit statuses, capture, timeout, missing programs",
          "[host][process]") {
    const RunOptions plain;
    CHECK(run_process({"true"}, plain).exit_status == 0);
    CHECK(run_process({"false"}, plain).exit_status == 1);

    RunOptions capture;
    capture.capture = true;
    const auto echo = run_process({"sh", "-c", "echo out; echo err >&2; exit 3"}, capture);
    CHECK(echo.started);
    CHECK(echo.exit_status == 3);
    CHECK(echo.output == "out\nerr\n");

    capture.timeout = std::chrono::milliseconds(200);
    const auto slow = run_process({"sleep", "5"}, capture);
    CHECK(slow.timed_out);
    CHECK_FALSE(slow.exit_status.has_value());
    CHECK(slow.signal == 9);

    const auto missing = run_process({"/nonexistent/pt-nope"}, plain);
    CHECK_FALSE(missing.started);
    CHECK(missing.error.find("cannot run /nonexistent/pt-nope") != std::string::npos);
    RunOptions exact;
    exact.search_path = false;
    CHECK_FALSE(run_process({"true"}, exact).started); // not a path: no PATH search
    CHECK_FALSE(run_process({}, plain).started);

    const auto killed = run_process({"sh", "-c", "kill -TERM $$"}, plain);
    CHECK_FALSE(killed.exit_status.has_value());
    CHECK(killed.signal == 15);
}
