// SPDX-License-Identifier: MIT
// The unit tests' main: Catch2 2.x makes it from CATCH_CONFIG_MAIN, 3.x from its session.
#define CATCH_CONFIG_MAIN
#include "support/catch.hpp"

#if PT_CATCH2_MAJOR >= 3
int main(int argc, char* argv[]) {
    return Catch::Session().run(argc, argv);
}
#endif
