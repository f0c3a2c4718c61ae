# The man pages and shell completions cannot drift from the binary: every subcommand and every
# flag that `pt --help` and `pt SUB --help` list must be documented and completed, nothing that
# pt lacks may be, every page renders without warnings, and the bash completion completes real
# things.
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

# docs_completion_has FILE FLAG: the completion FILE names FLAG. fish spells flags as
# `-l name` and `-s x`; bash and zsh spell them out.
docs_completion_has() {
    local file=$1 flag=$2
    case $file in
    *.fish)
        if [[ $flag == --* ]]; then
            grep -qP -- "(^|\\s)-l \\Q${flag#--}\\E(\\s|$)" "$file"
        else
            grep -qP -- "(^|\\s)-s \\Q${flag#-}\\E(\\s|$)" "$file"
        fi
        ;;
    *)
        grep -qP -- "(?<![A-Za-z0-9-])\\Q${flag}\\E(?![A-Za-z0-9-])" "$file"
        ;;
    esac
}

# docs_completion_flags FILE: the long flags a completion file offers, one per line.
docs_completion_flags() {
    case $1 in
    *.fish) grep -E '^complete -c pt ' "$1" | grep -oP '(?<=\s-l )[a-z][a-z0-9-]*' | sed 's/^/--/' ;;
    *) grep -v '^ *#' "$1" | grep -oP '(?<![A-Za-z0-9-])--[a-z][a-z0-9-]*' ;;
    esac | sort -u
}

# docs_bash_complete WORD...: what completions/pt.bash offers for the last WORD of the command
# line WORD..., one per line, as bash would ask it (COMP_WORDS, COMP_CWORD, then _pt).
docs_bash_complete() {
    env -u BASH_ENV bash --norc --noprofile -c '
        source "$1" || exit 1
        shift
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        _pt
        [ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' _ "$top/completions/pt.bash" "$@"
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

# docs_zsh_lines NAME [SUB]: lines of completions/_pt: the body of function NAME; with SUB, only
# the `case` branch of NAME that handles SUB (a pattern line "a|SUB)" up to its ";;").
docs_zsh_lines() {
    awk -v fn="$1" -v sub_="${2:-}" '
        $0 ~ "^" fn "\\(\\) *\\{" { infn = 1; next }
        infn && /^}/ { infn = 0 }
        !infn { next }
        sub_ == "" { print; next }
        /^ *[a-z|*-]+\) *$/ {
            pattern = $1
            sub(/\)$/, "", pattern)
            n = split(pattern, names, "|")
            inbranch = 0
            for (i = 1; i <= n; i++) if (names[i] == sub_) inbranch = 1
            next
        }
        /^ *;; *$/ { inbranch = 0 }
        inbranch { print }' "$top/completions/_pt"
}

# docs_zsh_array NAME: the lines of every `NAME=(` ... `)` array assignment in completions/_pt.
docs_zsh_array() {
    awk -v name="$1" '
        $0 ~ "^ *" name "=\\( *$" { inarray = 1; next }
        inarray && /^ *\) *$/ { inarray = 0 }
        inarray { print }' "$top/completions/_pt"
}

# docs_zsh_spec_flags: the flags that the _arguments specs on stdin offer: options inside single
# quotes ('--gpu[...]', '(-q --quiet)') and brace groups ({-q,--quiet}), with the [descriptions]
# left out, so that "[with --apply, ...]" does not count as offering --apply.
docs_zsh_spec_flags() {
    sed "s/'\\\\''/Q/g" | grep -oP "'[^']*'|\\{[^}]*\\}" | sed -E 's/\[[^]]*\]//g' \
        | grep -oP '(?<![A-Za-z0-9-])--?[A-Za-z][a-z0-9-]*' | sort -u
}

# docs_zsh_flags [SUB]: the flags completions/_pt offers after `pt` (no SUB) or `pt SUB`: the
# global specs, plus _pt's own specs or SUB's case branch with the arrays it expands ($writer).
docs_zsh_flags() {
    local branch var
    {
        docs_zsh_lines _pt_global_specs
        if [ -z "${1:-}" ]; then
            docs_zsh_lines _pt
        else
            branch=$(docs_zsh_lines _pt_subcommand_arguments "$1")
            printf '%s\n' "$branch"
            for var in $(printf '%s\n' "$branch" | grep -oP '\$\{?\K[a-z_]+' | sort -u); do
                docs_zsh_array "$var"
            done
        fi
    } | docs_zsh_spec_flags
}

# docs_zsh_subcommands: the names of the 'name:description' entries of _pt_subcommands.
docs_zsh_subcommands() {
    docs_zsh_lines _pt_subcommands | grep -oP "^ *'\\K[a-z][a-z0-9-]*(?=:)" | sort -u
}

# docs_fake_root DIR: a root with two PCI functions and IOMMU groups 1, 2 and 10.
docs_fake_root() {
    mkdir -p "$1/sys/bus/pci/devices/0000:01:00.0" "$1/sys/bus/pci/devices/0000:01:00.1" \
        "$1/sys/bus/pci/devices/0000:00:1f.3" \
        "$1/sys/kernel/iommu_groups/1/devices" "$1/sys/kernel/iommu_groups/2/devices" \
        "$1/sys/kernel/iommu_groups/10/devices"
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

    TEST "every subcommand is in each completion file"
    for file in "${completions[@]}"; do
        check [ -f "$file" ] || { fail "${file#"$top"/} does not exist"; continue; }
        for sub in $(docs_subcommands); do
            check grep -qw -- "$sub" "$file" || fail "${file#"$top"/} does not complete the subcommand $sub"
        done
    done

    TEST "every flag of pt and pt SUB --help is in each completion file"
    for file in "${completions[@]}"; do
        check [ -f "$file" ] || { fail "${file#"$top"/} does not exist"; continue; }
        for flag in $(docs_all_flags); do
            check docs_completion_has "$file" "$flag" || fail "${file#"$top"/} does not complete $flag"
        done
    done

    TEST "completion files offer no long flag that pt lacks"
    known=$(docs_all_flags)
    for file in "${completions[@]}"; do
        [ -f "$file" ] || continue
        for flag in $(docs_completion_flags "$file"); do
            check printf '%s\n' "$known" | grep -qx -- "$flag" || fail "${file#"$top"/} offers $flag, which no pt --help lists"
        done
    done

    TEST "bash: subcommands and flags complete exactly as pt --help lists them"
    docs_same_set "pt <TAB>" "$(docs_subcommands)" "$(docs_bash_complete pt "")"
    docs_same_set "pt -<TAB>" "$(docs_help_flags)" "$(docs_bash_complete pt -)"
    for sub in $(docs_subcommands); do
        docs_same_set "pt $sub -<TAB>" "$(docs_help_flags "$sub")" "$(docs_bash_complete pt "$sub" -)"
        docs_same_set "pt --json $sub -<TAB>" "$(docs_help_flags "$sub")" "$(docs_bash_complete pt --json "$sub" -)"
    done
    docs_same_set "pt iommu-groups --de<TAB>" "--device" "$(docs_bash_complete pt iommu-groups --de)"

    TEST "bash: --device completes the PCI addresses under --root"
    docs_fake_root "$TESTDIR/root"
    docs_same_set "pt --root ROOT iommu-groups --device <TAB>" \
        "$(printf '%s\n' 0000:00:1f.3 0000:01:00.0 0000:01:00.1)" \
        "$(docs_bash_complete pt --root "$TESTDIR/root" iommu-groups --device "")"
    docs_same_set "pt iommu-groups --root ROOT --device 0000:01<TAB>" \
        "$(printf '%s\n' 0000:01:00.0 0000:01:00.1)" \
        "$(docs_bash_complete pt iommu-groups --root "$TESTDIR/root" --device 0000:01)"
    docs_same_set "pt iommu-groups --root=ROOT --device=0000:00<TAB>" \
        "--device=0000:00:1f.3" \
        "$(docs_bash_complete pt iommu-groups "--root=$TESTDIR/root" --device=0000:00)"

    TEST "bash: --device completes a word that bash split at ':' (PT_ROOT)"
    docs_fake_root "$TESTDIR/root"
    # Bash hands "0000:01:00." over as five words, and replaces only the text after the last ':'.
    docs_same_set "PT_ROOT=ROOT pt iommu-groups --device 0000:01:00.<TAB>" \
        "$(printf '%s\n' 00.0 00.1)" \
        "$(export PT_ROOT=$TESTDIR/root; docs_bash_complete pt iommu-groups --device 0000 : 01 : 00.)"
    docs_same_set "pt iommu-groups --device 0000:01:00.0 <TAB> (repeatable)" \
        "$(printf '%s\n' 0000:00:1f.3 0000:01:00.0 0000:01:00.1)" \
        "$(export PT_ROOT=$TESTDIR/root; docs_bash_complete pt iommu-groups --device 0000 : 01 : 00.0 "")"
    docs_same_set "pt iommu-groups --device <TAB> without a root that has devices" "" \
        "$(export PT_ROOT=$TESTDIR/nonexistent; docs_bash_complete pt iommu-groups --device "")"

    TEST "bash: --group completes the IOMMU groups under --root in numeric order"
    docs_fake_root "$TESTDIR/root"
    got=$(docs_bash_complete pt --root "$TESTDIR/root" iommu-groups --group "" | tr '\n' ' ')
    check [ "$got" = "1 2 10 " ] || fail "pt --root ROOT iommu-groups --group <TAB> offered '$got', expected '1 2 10 '"

    TEST "zsh: _pt lists exactly the subcommands, and each one's branch offers exactly its flags"
    docs_same_set "zsh: pt <TAB>" "$(docs_subcommands)" "$(docs_zsh_subcommands)"
    docs_same_set "zsh: pt -<TAB>" "$(docs_help_flags)" "$(docs_zsh_flags)"
    for sub in $(docs_subcommands); do
        if [ -z "$(docs_zsh_lines _pt_subcommand_arguments "$sub")" ]; then
            fail "completions/_pt: _pt_subcommand_arguments has no case branch for $sub"
            continue
        fi
        docs_same_set "zsh: pt $sub -<TAB>" "$(docs_help_flags "$sub")" "$(docs_zsh_flags "$sub")"
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

    TEST "zsh: completions/_pt parses"
    if require_tool zsh zsh; then
        check zsh -n "$top/completions/_pt" 2>"$TESTDIR/zsh.err" || fail "zsh -n completions/_pt:" "$(cat "$TESTDIR/zsh.err")"
    fi

    TEST "fish: completions/pt.fish parses, completes --device under --root, subcommands and flags"
    if require_tool fish fish; then
        check fish -n "$top/completions/pt.fish" 2>"$TESTDIR/fish.err" || fail "fish -n completions/pt.fish:" "$(cat "$TESTDIR/fish.err")"
        docs_fake_root "$TESTDIR/root"
        got=$(fish --no-config -c 'source $argv[1]; complete -C "pt --root $argv[2] iommu-groups --device 0000:01"' \
            "$top/completions/pt.fish" "$TESTDIR/root" 2>&1 | cut -f1)
        docs_same_set "fish: pt --root ROOT iommu-groups --device 0000:01<TAB>" \
            "$(printf '%s\n' 0000:01:00.0 0000:01:00.1)" "$got"
        got=$(fish --no-config -c 'complete -e -c pt; source $argv[1]; complete -C "pt "' \
            "$top/completions/pt.fish" 2>&1 | cut -f1)
        docs_same_set "fish: pt <TAB>" "$(docs_subcommands)" "$got"
        for sub in $(docs_subcommands); do
            got=$(fish --no-config -c 'complete -e -c pt; source $argv[1]; complete -C "pt $argv[2] -"' \
                "$top/completions/pt.fish" "$sub" 2>&1 | cut -f1)
            docs_same_set "fish: pt $sub -<TAB>" "$(docs_help_flags "$sub")" "$got"
        done
    fi
}
