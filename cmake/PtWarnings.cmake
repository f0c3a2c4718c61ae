# Warnings for pt's own code only; third-party headers come in as SYSTEM includes.
add_library(pt_warnings INTERFACE)
target_compile_options(pt_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wimplicit-fallthrough
  $<$<BOOL:${PT_WERROR}>:-Werror>)
