# SPDX-License-Identifier: MIT
# What `cmake --install` puts where, and the Debian package (`cpack -G DEB`, or the `package`
# target) built from the same install rules. See packaging/README.md for the choices (CPack rather
# than debian/, the Depends, the lintian result) and tests/cli/suites/package.bash for the test.
#
#   bin/pt
#   share/man/man1/pt.1.gz, pt-SUB.1.gz        every page under man/, gzip -9n (Debian policy 12.1)
#   share/man/man5/pt-profile.5.gz             the file formats (man/*.5), the same way
#   share/bash-completion/completions/pt       bash-completion loads it on demand
#   share/zsh/vendor-completions/_pt           in Debian's zsh fpath (PT_ZSH_COMPLETION_DIR)
#   share/fish/vendor_completions.d/pt.fish    fish's vendor directory
#   share/doc/pt/copyright, changelog.gz       Debian policy 12.5 and 12.7
#
# /var/lib/pt (the journal and the lock) is not installed: pt creates it at run time, and the
# package's postrm deletes it on purge.
include(GNUInstallDirs)

option(PT_GZIP_MAN "Install the man pages and the changelog compressed with gzip -9n" ON)
set(PT_ZSH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions" CACHE STRING
    "Where the zsh completion _pt goes (share/zsh/site-functions for a /usr/local install)")
set(PT_PACKAGE_MAINTAINER "Seed f11661e9 maintainers <maintainers@users.noreply.b-seed-f11661e9.example>"
    CACHE STRING "The Maintainer of the Debian package; keep packaging/changelog's trailer line in step")
set(PT_PACKAGE_HOMEPAGE "https://pt.example.org/" CACHE STRING
    "The Homepage of the Debian package (a placeholder until the project has a public address)")

if(PT_GZIP_MAN)
  find_program(PT_GZIP gzip REQUIRED)
endif()

# pt_install_gzipped(SOURCE NAME DESTINATION): installs SOURCE as DESTINATION/NAME.gz, made with
# gzip -9n at build time (-n: no name or time stamp, so the package is reproducible), or as
# DESTINATION/NAME when PT_GZIP_MAN is off.
set(PT_GZIPPED_FILES "")
function(pt_install_gzipped source name destination)
  if(NOT PT_GZIP_MAN)
    install(FILES ${source} DESTINATION ${destination} RENAME ${name})
    return()
  endif()
  set(plain ${PROJECT_BINARY_DIR}/gz/${destination}/${name})
  add_custom_command(
    OUTPUT ${plain}.gz
    COMMAND ${CMAKE_COMMAND} -E copy ${source} ${plain}
    COMMAND ${PT_GZIP} -9nf ${plain}
    DEPENDS ${source}
    COMMENT "gzip -9n ${name}"
    VERBATIM)
  set(PT_GZIPPED_FILES ${PT_GZIPPED_FILES} ${plain}.gz PARENT_SCOPE)
  install(FILES ${plain}.gz DESTINATION ${destination})
endfunction()

install(TARGETS pt RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# `cmake --install --strip` and cpack (CPACK_STRIP_FILES) run a plain `strip`; drop the .comment
# and .note sections too, as dh_strip does (lintian: binary-has-unneeded-section).
if(CMAKE_STRIP)
  install(CODE "
    if(CMAKE_INSTALL_DO_STRIP)
      execute_process(COMMAND \"${CMAKE_STRIP}\" --remove-section=.comment --remove-section=.note
                      \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/pt\"
                      COMMAND_ERROR_IS_FATAL ANY)
    endif()")
endif()

# Every page under man/ (pt.1 and one pt-SUB.1 per subcommand; tests/cli/suites/docs.bash checks
# that each subcommand has one). CONFIGURE_DEPENDS: a new page is picked up without re-running
# cmake by hand.
file(GLOB PT_MAN_PAGES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/man/*.1)
foreach(page IN LISTS PT_MAN_PAGES)
  get_filename_component(name ${page} NAME)
  pt_install_gzipped(${page} ${name} ${CMAKE_INSTALL_MANDIR}/man1)
endforeach()
# File formats (pt-profile.5).
file(GLOB PT_MAN5_PAGES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/man/*.5)
foreach(page IN LISTS PT_MAN5_PAGES)
  get_filename_component(name ${page} NAME)
  pt_install_gzipped(${page} ${name} ${CMAKE_INSTALL_MANDIR}/man5)
endforeach()

install(FILES completions/pt.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME pt)
install(FILES completions/_pt DESTINATION ${PT_ZSH_COMPLETION_DIR})
install(FILES completions/pt.fish DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)

install(FILES packaging/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
# Why the one lintian warning is overridden: packaging/README.md, "lintian".
install(FILES packaging/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME pt)
# pt is its own upstream, so the package is native (version 0.1.0, no Debian revision) and its
# Debian changelog is changelog.gz, not changelog.Debian.gz (Debian policy 12.7).
pt_install_gzipped(${PROJECT_SOURCE_DIR}/packaging/changelog changelog ${CMAKE_INSTALL_DOCDIR})

if(PT_GZIPPED_FILES)
  add_custom_target(pt_gzipped ALL DEPENDS ${PT_GZIPPED_FILES})
endif()

# --- The Debian package ------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pt)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${PT_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/package)
# One package per Debian release, each built on its release (the libraries differ: libfmt9 on
# Debian 12, libfmt10 on 13): version VERSION~debNu1, from the build machine's /etc/os-release
# (Proxmox VE keeps Debian's). apt orders 0.1.0~deb12u1 < 0.1.0~deb13u1 < 0.1.0, so upgrading a
# host from Debian 12 to 13 (Proxmox VE 8 to 9) moves it to the package built for 13.
set(PT_OS_SUFFIX "")
if(EXISTS /etc/os-release)
  file(STRINGS /etc/os-release PT_OS_ID REGEX "^ID=")
  file(STRINGS /etc/os-release PT_OS_VERSION_ID REGEX "^VERSION_ID=")
  string(REGEX REPLACE "^ID=\"?([^\"]*)\"?$" "\\1" PT_OS_ID "${PT_OS_ID}")
  string(REGEX REPLACE "^VERSION_ID=\"?([0-9]+).*$" "\\1" PT_OS_VERSION_ID "${PT_OS_VERSION_ID}")
  if(PT_OS_ID STREQUAL "debian" AND PT_OS_VERSION_ID MATCHES "^[0-9]+$")
    set(PT_OS_SUFFIX "~deb${PT_OS_VERSION_ID}u1")
  endif()
endif()
set(PT_PACKAGE_VERSION_SUFFIX "${PT_OS_SUFFIX}" CACHE STRING
    "Appended to the project version for the Debian package (~debNu1 on Debian N)")
set(CPACK_DEBIAN_PACKAGE_VERSION "${PROJECT_VERSION}${PT_PACKAGE_VERSION_SUFFIX}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # pt_0.1.0~deb12u1_amd64.deb
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${PT_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${PT_PACKAGE_HOMEPAGE}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "GPU passthrough toolkit for Proxmox VE")
# CPack puts the summary first; this is the long description (an empty line becomes " .").
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "pt takes a Proxmox VE host from an idle GPU to a GPU passed through into a
virtual machine. It lists IOMMU groups and judges each GPU's isolation, puts
the IOMMU flags on the kernel command line (GRUB or systemd-boot), keeps host
drivers off the GPU, binds it to vfio-pci, adds it to a VM configuration or a
cluster resource mapping, checks its option ROM, and verifies the whole chain
with a cause and a fix for each failure.

Every command that edits the host prints its plan as a diff first; with the
option --apply it writes atomically and keeps a journal under /var/lib/pt,
from which pt undo restores the previous files. Every command reads the host
under the directory that --root names, so it can run on a copy or an offline
snapshot, and prints one JSON document with --json.")
# The libraries pt links (libc6, libgcc-s1, libstdc++6, libfmt9, libpci3) come from
# dpkg-shlibdeps on the stripped binary, so they follow the build; pci.ids is read at run time
# (/usr/share/misc/pci.ids) and is no library, so it is named here.
# libarchive is loaded with dlopen (lib/pt/boot/libarchive.hpp), which dpkg-shlibdeps cannot see:
# the package that owns its soname on the build machine (libarchive13 on Debian 12,
# libarchive13t64 on 13) is named here, at least at the version pt was built against.
set(PT_DLOPEN_DEPENDS "")
find_program(PT_DPKG_QUERY dpkg-query)
if(PT_DPKG_QUERY AND LibArchive_LIBRARIES)
  list(GET LibArchive_LIBRARIES 0 PT_LIBARCHIVE_DEV)
  get_filename_component(PT_LIBARCHIVE_DIR "${PT_LIBARCHIVE_DEV}" DIRECTORY)
  get_filename_component(PT_LIBARCHIVE_SO "${PT_LIBARCHIVE_DIR}/libarchive.so.13" REALPATH)
  execute_process(COMMAND ${PT_DPKG_QUERY} -S "${PT_LIBARCHIVE_SO}"
                  OUTPUT_VARIABLE PT_LIBARCHIVE_OWNER ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
  string(REGEX REPLACE "^([^:]+):.*$" "\\1" PT_LIBARCHIVE_OWNER "${PT_LIBARCHIVE_OWNER}")
  if(PT_LIBARCHIVE_OWNER MATCHES "^libarchive[0-9a-z.+-]*$")
    execute_process(COMMAND ${PT_DPKG_QUERY} -W "-f=\${Version}" ${PT_LIBARCHIVE_OWNER}
                    OUTPUT_VARIABLE PT_LIBARCHIVE_VERSION ERROR_QUIET
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    string(REGEX REPLACE "^([0-9.]+).*$" "\\1" PT_LIBARCHIVE_VERSION "${PT_LIBARCHIVE_VERSION}")
    set(PT_DLOPEN_DEPENDS ", ${PT_LIBARCHIVE_OWNER} (>= ${PT_LIBARCHIVE_VERSION})")
  else()
    message(WARNING "no Debian package owns ${PT_LIBARCHIVE_SO}: the package's Depends will "
                    "lack libarchive, which pt loads at run time")
  endif()
endif()
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "pci.ids${PT_DLOPEN_DEPENDS}")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/packaging/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
