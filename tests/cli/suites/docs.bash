# The man pages and shell completions cannot drift from the binary: every subcommand and every
# flag that `pt --help` and `pt SUB --help` list must be documented and completed (the completions
# ask `pt __complete`, so "completed" means pt __complete offers it), nothing that pt lacks may
# be, and every page renders without warnings. tests/cli/suites/completion.bash drives the
# shells themselves.
# shellcheck shell=bash disable=SC2016,SC2030,SC2031,SC2034,SC2154
# ($top, $PT, $OUT and $ERR belong to tests/cli/run; single quotes hold code for another shell.)

# docs_help_flags ARGS...: the flags of the Options: section of `pt ARGS --help`, one per line
# ("-h,--help" gives -h and --help; "--root DIR (Env:PT_ROOT)" gives --root).
docs_help_flags() {
    "$PT" "$@" --help 2>/dev/null | awk '
        /^[^ ].*:$/ { section = $0; next }
        /^[^ ]/ { section = "" }
        section == "Options:" && /^ +-/ {
            n = split($1, flags, ",")
            for (i = 1; i <= n; i++) print flags[i]
        }' | grep -E '^(--[a-z][a-z0-9-]*|-[A-Za-z0-9])$' | sort -u
}

# docs_subcommands: the subcommands `pt --help` lists, one per line.
docs_subcommands() {
    "$PT" --help 2>/dev/null | awk '
        /^[^ ].*:$/ { section = $0; next }
        /^[^ ]/ { section = "" }
        section == "Subcommands:" && /^ +[a-z]/ { print $1 }'
}

# docs_all_flags: every flag of pt and of every subcommand, one per line.
docs_all_flags() {
    local sub
    {
        docs_help_flags
        for sub in $(docs_subcommands); do
            docs_help_flags "$sub"
        done
    } | sort -u
}

# docs_man_text FILE: the page with font changes and other inline escapes removed, so that
# "\fB\-\-gpu\fR" reads "\-\-gpu". Comment lines are dropped.
docs_man_text() {
    grep -v '^\.\\"' "$1" | sed -E 's/\\f(\[[^]]*\]|\(..|.)//g; s/\\[%&]//g; s/\\[~ ]/ /g; s/\\c$//'
}

# docs_man_tags FILE: the tag lines of the page's .TP and .IP entries (the line after .TP), with
# inline escapes removed as in docs_man_text.
docs_man_tags() {
    grep -v '^\.\\"' "$1" | awk 'tp { print; tp = 0; next } /^\.TP/ { tp = 1 } /^\.IP / { print }' \
        | sed -E 's/\\f(\[[^]]*\]|\(..|.)//g; s/\\[%&]//g; s/\\[~ ]/ /g'
}

# docs_man_entry FILE FLAG: FILE has an entry for FLAG: a .TP tag that writes it with escaped
# hyphens (\-\-no\-color, \-n) as a word, such as ".B \-\-now" or ".BR \-q \", \" \-\-quiet".
# A mention in running text is not an entry.
docs_man_entry() {
    local escaped=${2//-/\\-}
    docs_man_tags "$1" | grep -qP -- "(?<![A-Za-z0-9\\\\-])\\Q${escaped}\\E(?![A-Za-z0-9]|\\\\-)"
}

# docs_complete WORD...: the values `pt __complete -- WORD...` offers, one per line (the
# descriptions after a tab left out).
docs_complete() {
    "$PT" __complete -- "$@" 2>/dev/null | cut -f1
}

# docs_same_set WHAT WANT GOT: fails, listing the differences, unless the two newline-separated
# lists hold the same items.
docs_same_set() {
    local what=$1 want got missing extra
    want=$(printf '%s\n' "$2" | sed '/^$/d' | sort -u)
    got=$(printf '%s\n' "$3" | sed '/^$/d' | sort -u)
    missing=$(comm -23 <(printf '%s\n' "$want") <(printf '%s\n' "$got") | sed '/^$/d' | tr '\n' ' ')
    extra=$(comm -13 <(printf '%s\n' "$want") <(printf '%s\n' "$got") | sed '/^$/d' | tr '\n' ' ')
    check [ -z "$missing" ] || fail "$what: missing $missing"
    check [ -z "$extra" ] || fail "$what: unexpected $extra"
}

suite_docs() {
    local man=$top/man
    local completions=("$top/completions/pt.bash" "$top/completions/_pt" "$top/completions/pt.fish")
    local sub flag file page known got version name

    TEST "pt --help lists subcommands and flags to check the docs against"
    run_raw --help
    expect_exit 0
    OUT="" ERR="" # the checks below are about files, not about this run's output
    check [ -n "$(docs_subcommands)" ] || fail "found no subcommand in pt --help"
    check docs_help_flags | grep -qx -- --root || fail "found no --root in the Options of pt --help"
    for sub in $(docs_subcommands); do
        check docs_help_flags "$sub" | grep -qx -- --help || fail "found no --help in pt $sub --help"
    done

    TEST "every flag of pt --help has an entry in man/pt.1"
    if [ ! -f "$man/pt.1" ]; then
        fail "man/pt.1 does not exist"
    else
        for flag in $(docs_help_flags); do
            check docs_man_entry "$man/pt.1" "$flag" \
                || fail "man/pt.1 has no entry for $flag (.TP, then a tag line such as .B ${flag//-/\\-})"
        done
    fi

    TEST "every subcommand has man/pt-SUB.1, named in pt.1"
    for sub in $(docs_subcommands); do
        check [ -f "$man/pt-$sub.1" ] || fail "subcommand $sub has no man/pt-$sub.1"
        check docs_man_text "$man/pt.1" | grep -qF -- "pt\\-${sub//-/\\-}" \
            || fail "man/pt.1 does not refer to pt-$sub(1)"
        check docs_man_text "$man/pt.1" | grep -qP -- "^\\.(B|TP|BR) \\Q${sub//-/\\-}\\E" \
            || fail "man/pt.1 does not list the subcommand $sub"
    done

    TEST "every flag of pt SUB --help has an entry in man/pt-SUB.1"
    for sub in $(docs_subcommands); do
        page=$man/pt-$sub.1
        check [ -f "$page" ] || { fail "man/pt-$sub.1 does not exist"; continue; }
        for flag in $(docs_help_flags "$sub"); do
            check docs_man_entry "$page" "$flag" \
                || fail "man/pt-$sub.1 has no entry for $flag (.TP, then a tag line such as .B ${flag//-/\\-})"
        done
    done

    TEST "man pages mention no long flag that pt lacks"
    known=$(docs_all_flags)
    for page in "$man"/*.1; do
        for flag in $(docs_man_text "$page" | grep -oP '(?<![A-Za-z0-9\\-])\\-\\-[a-z](?:[a-z0-9]|\\-)*' | sed 's/\\-/-/g' | sort -u); do
            check printf '%s\n' "$known" | grep -qx -- "$flag" || fail "man/${page##*/} mentions $flag, which no pt --help lists"
        done
    done

    TEST "man pages write the hyphens of flags as \\-"
    for page in "$man"/*.1; do
        if check docs_man_text "$page" | grep -nP '(?<![\\A-Za-z0-9-])--?[a-z]' >"$TESTDIR/bare"; then
            fail "man/${page##*/} has flags with bare hyphens (write \\-):" "$(head -n 5 "$TESTDIR/bare")"
        fi
    done

    TEST "man pages carry the version that pt --version prints"
    run_raw --version
    expect_exit 0
    version=$(cat "$OUT")
    OUT="" ERR=""
    for page in "$man"/*.1; do
        check grep -qF ".TH " "$page" || fail "man/${page##*/} has no .TH line"
        check grep "^\\.TH " "$page" | grep -qF "\"$version\"" \
            || fail "man/${page##*/}: its .TH line does not name \"$version\""
    done

    TEST "every man page renders with man --warnings without a warning"
    if ! command -v man >/dev/null 2>&1; then
        fail "man is not installed, so the pages cannot be checked (apt-get install man-db groff-base)"
    else
        for page in "$man"/*.1; do
            check env MANWIDTH=80 man --warnings -l "$page" >/dev/null 2>"$TESTDIR/man.err" \
                || fail "man --warnings -l man/${page##*/} failed"
            check [ ! -s "$TESTDIR/man.err" ] || fail "man/${page##*/} renders with warnings:" "$(head -n 10 "$TESTDIR/man.err")"
        done
    fi

    TEST "pt __complete offers exactly the subcommands of pt --help, and is not one of them"
    docs_same_set "pt <TAB>" "$(docs_subcommands)" "$(docs_complete "")"
    docs_subcommands | grep -qx __complete && fail "pt --help lists __complete, which is internal"
    run_raw --help
    expect_exit 0
    expect_stdout_not_contains "__complete"

    TEST "pt __complete offers exactly the flags of pt --help and of every pt SUB --help"
    docs_same_set "pt -<TAB>" "$(docs_help_flags)" "$(docs_complete -)"
    for sub in $(docs_subcommands); do
        docs_same_set "pt $sub -<TAB>" "$(docs_help_flags "$sub")" "$(docs_complete "$sub" -)"
        docs_same_set "pt --json $sub -<TAB>" "$(docs_help_flags "$sub")" "$(docs_complete --json "$sub" -)"
    done
    docs_same_set "pt iommu-groups --de<TAB>" "--device" "$(docs_complete iommu-groups --de)"

    TEST "pt __complete describes every flag with its --help text"
    got=$("$PT" __complete -- grub --iommu 2>/dev/null)
    want=$("$PT" grub --help | grep -E '^ +--iommu-pt ' | sed -E 's/^ +--iommu-pt +//')
    check [ -n "$want" ] || fail "found no --iommu-pt line in pt grub --help"
    check [ "$got" = "--iommu-pt"$'\t'"$want" ] || fail "pt __complete -- grub --iommu printed '$got', expected '--iommu-pt<TAB>$want'"

    TEST "completion files keep no hand-kept flag or subcommand list (they ask pt __complete)"
    for file in "${completions[@]}"; do
        [ -f "$file" ] || { fail "${file#"$top"/} does not exist"; continue; }
        check grep -q "__complete" "$file" || fail "${file#"$top"/} does not call pt __complete"
        got=$(grep -v '^ *#' "$file" | grep -oP '(?<![A-Za-z0-9-])--[a-z][a-z0-9-]*' | sort -u | tr '\n' ' ')
        check [ -z "$got" ] || fail "${file#"$top"/} names flags itself: $got"
        for sub in $(docs_subcommands); do
            grep -v '^ *#' "$file" | grep -qw -- "$sub" && fail "${file#"$top"/} names the subcommand $sub itself"
        done
    done

    TEST "every man page's NAME line names it, for whatis and apropos"
    for page in "$man"/*.1; do
        name=$(basename "$page" .1)
        check grep -qP "^\\.TH \\Q${name^^}\\E\\s" <(sed 's/\\-/-/g' "$page") \
            || fail "man/${page##*/}: its .TH line does not name ${name^^}"
        if require_tool lexgrog man-db; then
            check lexgrog "$page" >"$TESTDIR/lexgrog" 2>&1 || fail "lexgrog cannot read the NAME section of man/${page##*/}:" "$(cat "$TESTDIR/lexgrog")"
            check grep -qP "[\":,] ?\\Q$name\\E(, [a-z-]+)* - [^ ]" "$TESTDIR/lexgrog" \
                || fail "man/${page##*/}: the NAME section does not read '$name \\- summary':" "$(cat "$TESTDIR/lexgrog")"
        fi
    done
}
