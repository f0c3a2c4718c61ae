# The install tree and the Debian package: `cmake --install` puts every file where the docs say,
# `cpack` builds pt_VERSION~debNu1_ARCH.deb (on Debian N) with the right control fields, dpkg installs it into a scratch
# root where the installed pt runs and man finds every page, and remove/purge leave nothing
# behind. Needs the build tree of $PT (found above it, or PT_BUILD_DIR); skips without cpack or
# dpkg. Nothing here touches the machine's own dpkg database or /var/lib/pt.
# shellcheck shell=bash disable=SC2016,SC2034,SC2154
# ($top, $PT, $OUT, $ERR and $TESTDIR belong to tests/cli/run; single quotes hold code for another
# shell or a dpkg-query format.)

# pkg_build_dir: the CMake build tree that holds $PT (the directory with CMakeCache.txt).
pkg_build_dir() {
    if [ -n "${PT_BUILD_DIR:-}" ]; then
        printf '%s\n' "$PT_BUILD_DIR"
        return
    fi
    local dir
    dir=$(dirname "$PT")
    while [ "$dir" != / ]; do
        [ -f "$dir/CMakeCache.txt" ] && { printf '%s\n' "$dir"; return; }
        dir=$(dirname "$dir")
    done
}

suite_package_probe() {
    local tool
    for tool in cmake cpack dpkg dpkg-deb dpkg-query dpkg-shlibdeps file gzip man; do
        command -v "$tool" >/dev/null 2>&1 || { echo "$tool is not installed"; return; }
    done
    [ -n "$(pkg_build_dir)" ] || echo "found no CMakeCache.txt above $PT (set PT_BUILD_DIR)"
}

# pkg_subcommands PT: the subcommands that `PT --help` lists, one per line.
pkg_subcommands() {
    "$1" --help 2>/dev/null | awk '
        /^[^ ].*:$/ { section = $0; next }
        /^[^ ]/ { section = "" }
        section == "Subcommands:" && /^ +[a-z]/ { print $1 }'
}

# pkg_gzip_9n FILE: FILE is a gzip stream made with -9n (no name, no time stamp, best compression).
pkg_gzip_9n() {
    local header
    header=$(od -An -tx1 -N10 "$1" | tr -d ' \n')
    # ID1 ID2 CM=8 | FLG=0 (no FNAME) | MTIME=0 | XFL=2 (maximum compression) | OS
    [[ $header == 1f8b08000000000002* ]]
}

# pkg_files TOP: every file the install tree (or package) should hold, as /usr/... paths, sorted.
pkg_files() {
    local page
    {
        echo /usr/bin/pt
        for page in "$1"/man/*.1; do echo "/usr/share/man/man1/${page##*/}.gz"; done
        for page in "$1"/man/*.5; do echo "/usr/share/man/man5/${page##*/}.gz"; done
        echo /usr/share/bash-completion/completions/pt
        echo /usr/share/doc/pt/changelog.gz
        echo /usr/share/doc/pt/copyright
        echo /usr/share/fish/vendor_completions.d/pt.fish
        echo /usr/share/lintian/overrides/pt
        echo /usr/share/zsh/vendor-completions/_pt
    } | sort
}

# pkg_owner PATH: the Debian package that owns the library PATH (as ldd prints it), whichever
# of /lib and /usr/lib dpkg recorded it under (usrmerge).
pkg_owner() {
    local candidate owner
    for candidate in "$1" "$(readlink -f "$1")" "${1#/usr}" "/usr$1"; do
        owner=$(dpkg-query -S "$candidate" 2>/dev/null | head -n 1 | sed 's/:.*//')
        [ -n "$owner" ] && { printf '%s\n' "$owner"; return; }
    done
}

# pkg_dpkg ARGS...: dpkg on the scratch root $sysroot, never on the machine's own database. The
# maintainer scripts run outside a chroot with DPKG_ROOT=$sysroot (dpkg >= 1.18.5).
pkg_dpkg() {
    dpkg --root="$sysroot" --log="$TESTDIR/dpkg.log" --force-not-root --force-script-chrootless "$@"
}

# pkg_version_suffix: what the package's version adds to pt's on this machine: ~debNu1 on
# Debian N (one package per release; cmake/Packaging.cmake), nothing elsewhere.
pkg_version_suffix() {
    (
        # shellcheck source=/dev/null
        . /etc/os-release
        [ "${ID:-}" = debian ] && [[ ${VERSION_ID:-} =~ ^[0-9]+ ]] && printf '~deb%su1\n' "${BASH_REMATCH[0]}"
    ) || true
}

suite_package() {
    local build version pkgversion arch page name file deb staged sysroot needed lib path owner owners
    local dep deps depends field shipped left real_before
    build=$(pkg_build_dir)
    version=$("$PT" --version | sed -n 's/^pt //p')
    pkgversion=$version$(pkg_version_suffix)
    arch=$(dpkg --print-architecture)
    staged=$WORK/staged
    deb=$WORK/deb/pt_${pkgversion}_${arch}.deb
    sysroot=$WORK/sysroot

    TEST "cmake --install puts pt, pt.1 and a page per subcommand, completions and docs in place"
    check cmake --install "$build" --prefix "$staged/usr" >"$TESTDIR/install.log" 2>&1 \
        || fail "cmake --install failed:" "$(tail -n 20 "$TESTDIR/install.log")"
    check [ -x "$staged/usr/bin/pt" ] || fail "no executable bin/pt"
    (cd "$staged" && find . -not -type d | sed 's|^\.||' | sort) >"$TESTDIR/installed"
    check pkg_files "$top" | diff -u - "$TESTDIR/installed" >"$TESTDIR/diff" \
        || fail "cmake --install made other files than it should:" "$(cat "$TESTDIR/diff")"
    for page in pt $(pkg_subcommands "$PT" | sed 's/^/pt-/'); do
        file=$staged/usr/share/man/man1/$page.1.gz
        if [ ! -f "$file" ]; then
            fail "no share/man/man1/$page.1.gz"
        else
            check man -M "$staged/usr/share/man" -w "$page" 2>/dev/null | grep -qxF "$file" \
                || fail "man -M share/man -w $page does not find $file"
        fi
    done
    for page in "$top"/man/*.1; do
        file=$staged/usr/share/man/man1/${page##*/}.gz
        check [ -f "$file" ] || { fail "man/${page##*/} is not installed"; continue; }
        check pkg_gzip_9n "$file" || fail "share/man/man1/${page##*/}.gz is not made with gzip -9n"
        check gzip -dc "$file" | cmp -s - "$page" || fail "share/man/man1/${page##*/}.gz is not man/${page##*/}"
    done
    for page in "$top"/man/*.5; do
        file=$staged/usr/share/man/man5/${page##*/}.gz
        check [ -f "$file" ] || { fail "man/${page##*/} is not installed"; continue; }
        check gzip -dc "$file" | cmp -s - "$page" || fail "share/man/man5/${page##*/}.gz is not man/${page##*/}"
        check man -M "$staged/usr/share/man" -w 5 "$(basename "$page" .5)" 2>/dev/null | grep -qxF "$file" \
            || fail "man -M share/man -w 5 $(basename "$page" .5) does not find $file"
    done
    for file in "$staged"/usr/share/man/man1/*; do
        check [ -f "$top/man/$(basename "$file" .gz)" ] || fail "share/man/man1/${file##*/} has no source in man/"
    done
    check cmp -s "$top/completions/pt.bash" "$staged/usr/share/bash-completion/completions/pt" \
        || fail "share/bash-completion/completions/pt is not completions/pt.bash"
    check cmp -s "$top/completions/_pt" "$staged/usr/share/zsh/vendor-completions/_pt" \
        || fail "share/zsh/vendor-completions/_pt is not completions/_pt"
    check cmp -s "$top/completions/pt.fish" "$staged/usr/share/fish/vendor_completions.d/pt.fish" \
        || fail "share/fish/vendor_completions.d/pt.fish is not completions/pt.fish"
    check cmp -s "$top/packaging/copyright" "$staged/usr/share/doc/pt/copyright" \
        || fail "share/doc/pt/copyright is not packaging/copyright"
    check pkg_gzip_9n "$staged/usr/share/doc/pt/changelog.gz" || fail "share/doc/pt/changelog.gz is not made with gzip -9n"
    check gzip -dc "$staged/usr/share/doc/pt/changelog.gz" | cmp -s - "$top/packaging/changelog" \
        || fail "share/doc/pt/changelog.gz is not packaging/changelog"

    TEST "the installed pt runs and its bash completion loads"
    OUT=$TESTDIR/stdout ERR=$TESTDIR/stderr
    "$staged/usr/bin/pt" --version >"$OUT" 2>"$ERR"
    RC=$?
    expect_exit 0
    expect_stdout_contains "pt $version"
    check env -u BASH_ENV bash --norc --noprofile -c \
        'source "$1" && complete -p pt' _ "$staged/usr/share/bash-completion/completions/pt" >"$TESTDIR/complete" 2>&1 \
        || fail "the installed bash completion does not register for pt:" "$(cat "$TESTDIR/complete")"

    TEST "packaging/changelog's latest entry is the version pt prints"
    check head -n 1 "$top/packaging/changelog" | grep -qF "pt ($version) " \
        || fail "packaging/changelog starts with '$(head -n 1 "$top/packaging/changelog")', not an entry for pt ($version)"

    TEST "the per-release versions order as apt needs: ~deb12u1 < ~deb13u1 < the next release"
    # A host upgraded from Debian 12 to 13 (Proxmox VE 8 to 9) must get the package built for 13.
    check dpkg --compare-versions "$version~deb12u1" lt "$version~deb13u1" \
        || fail "dpkg orders $version~deb12u1 after $version~deb13u1"
    check dpkg --compare-versions "$version~deb13u1" lt "$version" || fail "dpkg orders $version~deb13u1 after $version"
    check dpkg --compare-versions "$version~deb13u1" lt "$version.1~deb12u1" \
        || fail "dpkg orders $version~deb13u1 after $version.1~deb12u1"

    TEST "cpack builds pt_VERSION~debNu1_ARCH.deb (pt_${pkgversion}_${arch}.deb here)"
    mkdir -p "$WORK/deb"
    (cd "$WORK/deb" && check cpack -G DEB -B "$WORK/deb" --config "$build/CPackConfig.cmake") >"$TESTDIR/cpack.log" 2>&1 \
        || fail "cpack failed:" "$(tail -n 20 "$TESTDIR/cpack.log")"
    check [ -f "$deb" ] || fail "cpack made no ${deb##*/}:" "$(ls "$WORK/deb")"

    TEST "the package's control fields: name, version, section, maintainer, description"
    check dpkg-deb -f "$deb" >"$TESTDIR/control" 2>&1 || fail "dpkg-deb -f failed:" "$(cat "$TESTDIR/control")"
    for field in "Package: pt" "Version: $pkgversion" "Architecture: $arch" "Section: admin" "Priority: optional"; do
        check grep -qxF "$field" "$TESTDIR/control" || fail "the control file lacks '$field':" "$(cat "$TESTDIR/control")"
    done
    for field in Maintainer Homepage Description Installed-Size; do
        check [ -n "$(dpkg-deb -f "$deb" "$field")" ] || fail "the control file has no $field"
    done
    check [ "$(dpkg-deb -f "$deb" Description | wc -l)" -gt 3 ] || fail "the Description has no long description"

    TEST "Depends names exactly the packages of the libraries pt needs (linked or loaded), and pci.ids"
    depends=$(dpkg-deb -f "$deb" Depends)
    deps=$(printf '%s\n' "$depends" | tr ',' '\n' | sed -E 's/^ +//; s/ .*//' | sed '/^$/d' | sort -u)
    needed=$(objdump -p "$build/cmd/pt" | awk '$1 == "NEEDED" { print $2 }')
    check [ -n "$needed" ] || fail "objdump -p found no NEEDED library in $build/cmd/pt"
    owners=""
    for lib in $needed; do
        path=$(ldd "$build/cmd/pt" | awk -v lib="$lib" '$1 == lib { print $3 }')
        check [ -n "$path" ] || { fail "ldd cannot resolve $lib"; continue; }
        owner=$(pkg_owner "$path")
        check [ -n "$owner" ] || { fail "no Debian package owns $path ($lib)"; continue; }
        owners+="$owner"$'\n'
        check printf '%s\n' "$deps" | grep -qxF "$owner" || fail "Depends lacks $owner (for $lib): $depends"
    done
    # libarchive is loaded with dlopen where an initramfs is read, so it is no NEEDED library
    # (pt's start does not pay for it) and the package names its owner by hand.
    check test -z "$(printf '%s\n' "$needed" | grep '^libarchive')" || fail "pt links libarchive (NEEDED), which it should load only to read an initramfs:" "$needed"
    archive_so=$(ldconfig -p | awk '$1 == "libarchive.so.13" { print $NF; exit }')
    check [ -n "$archive_so" ] || fail "ldconfig -p lists no libarchive.so.13"
    owner=$(pkg_owner "$archive_so")
    check [ -n "$owner" ] || fail "no Debian package owns $archive_so"
    owners+="$owner"$'\n'
    check printf '%s\n' "$deps" | grep -qxF "$owner" || fail "Depends lacks $owner (for libarchive.so.13, loaded at run time): $depends"
    check printf '%s\n' "$deps" | grep -qx "pci.ids" || fail "Depends lacks pci.ids: $depends"
    for dep in $deps; do
        [ "$dep" = pci.ids ] && continue
        check test "${dep%-dev}" = "$dep" || fail "Depends names the development package $dep"
        check printf '%s' "$owners" | grep -qxF "$dep" || fail "Depends names $dep, which owns no library pt links: $depends"
    done

    TEST "the package ships the stripped binary, the pages, completions and docs, and a postrm"
    dpkg-deb -c "$deb" | awk '{ print $6 }' | grep -v '/$' | sed 's|^\./|/|' | sort >"$TESTDIR/contents"
    pkg_files "$top" >"$TESTDIR/want"
    check diff -u "$TESTDIR/want" "$TESTDIR/contents" >"$TESTDIR/diff" \
        || fail "the package's files differ from what it should ship:" "$(cat "$TESTDIR/diff")"
    rm -rf "$TESTDIR/x"
    dpkg-deb -x "$deb" "$TESTDIR/x"
    check file "$TESTDIR/x/usr/bin/pt" | grep -q ', stripped' || fail "usr/bin/pt is not stripped:" "$(file "$TESTDIR/x/usr/bin/pt")"
    dpkg-deb -e "$deb" "$TESTDIR/control.d"
    check cmp -s "$top/packaging/postrm" "$TESTDIR/control.d/postrm" || fail "the package's postrm is not packaging/postrm"
    check [ -x "$TESTDIR/control.d/postrm" ] || fail "the package's postrm is not executable"
    check sh -n "$TESTDIR/control.d/postrm" || fail "the package's postrm is not valid sh"

    TEST "lintian finds no error and no warning in the package"
    # The info-level tags it still prints are explained in packaging/README.md.
    if ! command -v lintian >/dev/null 2>&1; then
        fail "lintian is not installed, so the package cannot be checked (apt-get install lintian)"
    elif [ -f "$deb" ]; then
        check lintian --fail-on error,warning "$deb" >"$TESTDIR/lintian" 2>&1 \
            || fail "lintian ${deb##*/}:" "$(grep -v 'running with root privileges' "$TESTDIR/lintian" | head -n 20)"
        ! check grep -E '^[EW]: ' "$TESTDIR/lintian" >/dev/null \
            || fail "lintian reports:" "$(grep -E '^[EW]: ' "$TESTDIR/lintian" | head -n 20)"
    fi

    TEST "dpkg --root installs the package: pt --version runs, man -w finds every page it ships"
    # The scratch root's dpkg database holds this machine's records of the packages pt depends
    # on (and nothing else), so dpkg checks Depends, versions included, for real.
    rm -rf "$sysroot"
    mkdir -p "$sysroot/var/lib/dpkg/info" "$sysroot/var/lib/dpkg/updates"
    for dep in $(dpkg-deb -f "$deb" Depends | tr ',|' '\n' | sed -E 's/\(.*//; s/ //g' | sort -u); do
        dpkg-query -s "$dep" 2>/dev/null && echo
    done >"$sysroot/var/lib/dpkg/status"
    : >"$sysroot/var/lib/dpkg/available"
    OUT=$TESTDIR/stdout ERR=$TESTDIR/stderr
    pkg_dpkg -i "$deb" >"$OUT" 2>"$ERR"
    RC=$?
    expect_exit 0
    check [ "$(dpkg-query --admindir="$sysroot/var/lib/dpkg" -W -f='${Status} ${Version}' pt 2>/dev/null)" = \
        "install ok installed $pkgversion" ] || fail "dpkg does not record pt $pkgversion as installed in the scratch root"
    "$sysroot/usr/bin/pt" --version >"$OUT" 2>"$ERR"
    RC=$?
    expect_exit 0
    expect_stdout_contains "pt $version"
    shipped=$(dpkg-query --admindir="$sysroot/var/lib/dpkg" -L pt | grep '^/usr/share/man/man1/.*\.1\.gz$')
    check [ -n "$shipped" ] || fail "the installed package lists no man page"
    for path in $shipped; do
        name=$(basename "$path" .1.gz)
        check man -M "$sysroot/usr/share/man" -w "$name" 2>/dev/null | grep -qxF "$sysroot$path" \
            || fail "man -w $name does not find the installed $path"
    done
    # The issue names this one; the install test above checks a page for every subcommand.
    check man -M "$sysroot/usr/share/man" -w pt-verify >/dev/null 2>&1 || fail "man -w pt-verify finds no installed page"

    TEST "dpkg -r keeps /var/lib/pt (the undo journal); dpkg -P deletes it; nothing else is left"
    # Without DPKG_ROOT (dpkg < 1.18.5) the postrm would purge this machine's /var/lib/pt.
    if ! dpkg --compare-versions "$(dpkg-query -W -f='${Version}' dpkg)" ge 1.18.5; then
        fail "dpkg is older than 1.18.5 and does not set DPKG_ROOT; not running the postrm"
    elif [ ! -x "$sysroot/usr/bin/pt" ]; then
        fail "the package is not installed in the scratch root"
    else
        [ -e /var/lib/pt ] && real_before=yes || real_before=no
        mkdir -p "$sysroot/var/lib/pt/journal/20261122T101530Z-001"
        echo '{}' >"$sysroot/var/lib/pt/journal/20261122T101530Z-001/manifest.json"
        OUT=$TESTDIR/stdout ERR=$TESTDIR/stderr
        pkg_dpkg -r pt >"$OUT" 2>"$ERR"
        RC=$?
        expect_exit 0
        check [ ! -e "$sysroot/usr/bin/pt" ] || fail "dpkg -r left /usr/bin/pt"
        check [ -f "$sysroot/var/lib/pt/journal/20261122T101530Z-001/manifest.json" ] || fail "dpkg -r deleted /var/lib/pt"
        pkg_dpkg -P pt >"$OUT" 2>"$ERR"
        RC=$?
        expect_exit 0
        check [ ! -e "$sysroot/var/lib/pt" ] || fail "dpkg -P left /var/lib/pt"
        left=$(find "$sysroot" -mindepth 1 -not -path "$sysroot/var/lib/dpkg*" -not -type d)
        check [ -z "$left" ] || fail "files left after dpkg -P:" "$left"
        ! check dpkg-query --admindir="$sysroot/var/lib/dpkg" -W -f='${Status}\n' pt 2>/dev/null | grep -qv not-installed \
            || fail "dpkg still records pt after dpkg -P"
        if [ "$real_before" = yes ] && [ ! -e /var/lib/pt ]; then
            fail "dpkg -P in the scratch root deleted this machine's /var/lib/pt"
        fi
    fi
}
