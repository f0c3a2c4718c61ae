# The shell completions end to end: completions/pt.bash, _pt and pt.fish, each driven as its
# shell drives it, asking the real pt (`pt __complete`, see completions/README.md) about a copy of
# a fixture root. seed-rtx3090 has bridges and root ports (00:01.0 host bridge, 00:01.1,
# 40:01.1, 80:01.1, c0:03.1 and c1:00.0 ports) next to the endpoints 01:00.0 (NVMe), 41:00.0
# (NIC), 81:00.0/.1 (the RTX 3090) and c2:00.0 (the BMC's VGA).
# shellcheck shell=bash disable=SC2016,SC2030,SC2031,SC2154
# ($ROOT, $OUT, $ERR, $TESTDIR, $top and $PT belong to tests/cli/run; single quotes hold code for
# another shell.)

# cp_bash WORD...: what completions/pt.bash offers for the last WORD, one per line, as bash asks
# it (COMP_WORDS, COMP_CWORD, then _pt). The first word is the pt under test.
cp_bash() {
    env -u BASH_ENV bash --norc --noprofile -c '
        source "$1" || exit 1
        shift
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        _pt
        [ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' _ "$top/completions/pt.bash" "$PT" "$@"
}

# cp_zsh WORD...: what completions/_pt hands to _describe (the values, ':' unescaped) or
# "FILES ..." for _files, for the command line "pt WORD...". zsh's completion system needs a
# terminal, so _describe and _files are replaced by printers; the rest is the real function.
cp_zsh() {
    zsh -f -c '
        emulate zsh
        _describe() {
            local a
            for a in "$@"; do
                [[ $a == -* || $a == values || $a == pt ]] && continue
                print -rl -- "${(@P)a}"
            done
        }
        _files() { print -r -- "FILES${*:+ $*}"; }
        file=$1
        shift
        words=("$@")
        CURRENT=$#
        source "$file"' _ "$top/completions/_pt" "$PT" "$@" | sed -E 's/\\:/\x01/g; s/:.*//; s/\x01/:/g'
}

# cp_fish LINE: what fish offers for the command line LINE (which starts with "pt "), values only.
cp_fish() {
    PATH=$(dirname "$PT"):$PATH fish --no-config -c 'source $argv[1]; complete -C $argv[2]' \
        "$top/completions/pt.fish" "$1" 2>&1 | cut -f1
}

# cp_same WHAT WANT GOT: fails unless the two newline-separated lists hold the same items.
cp_same() {
    local want got
    want=$(printf '%s\n' "$2" | sed '/^$/d' | sort -u)
    got=$(printf '%s\n' "$3" | sed '/^$/d' | sort -u)
    check [ "$want" = "$got" ] || fail "$1:" "expected: $(printf '%s' "$want" | tr '\n' ' ')" \
        "got:      $(printf '%s' "$got" | tr '\n' ' ')"
}

# cp_endpoints ROOT: the short selectors of the root's endpoints, read from sysfs here (class not
# 0x06xxxx), independently of pt: every slot with an endpoint, and every endpoint function.
cp_endpoints() {
    local dev name class
    for dev in "$1"/sys/bus/pci/devices/*; do
        name=${dev##*/}
        class=$(cat "$dev/class")
        [[ $class == 0x06* ]] && continue
        printf '%s\n%s\n' "${name:5:5}" "${name:5}"
    done | sort -u
}

# cp_need SHELL: the shell is installed; else the test says so (skip where the harness has it).
cp_need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    if declare -F skip >/dev/null; then
        skip "$1 is not installed"
    else
        fail "$1 is not installed, so its completion cannot be checked (scripts/install-deps installs it)"
    fi
    return 1
}

suite_completion() {
    local got want line

    TEST "bash: SEL of bind offers the short forms of the endpoints only, read through --root"
    use_root seed-rtx3090
    want=$(cp_endpoints "$ROOT")
    check [ -n "$want" ] || fail "found no endpoint in the fixture root"
    for sub in bind unbind blacklist rom-dump verify; do
        cp_same "pt --root ROOT $sub <TAB>" "$want" "$(cp_bash --root "$ROOT" "$sub" "")"
    done
    cp_same "pt --root ROOT vmconf 100 <TAB>" "$want" "$(cp_bash --root "$ROOT" vmconf 100 "")"
    cp_same "pt --root ROOT mapping gpu <TAB>" "$want" "$(cp_bash --root "$ROOT" mapping gpu "")"
    cp_same "pt --root ROOT vmconf 100 --remove <TAB>" "$want" "$(cp_bash --root "$ROOT" vmconf 100 --remove "")"
    got=$(cp_bash --root "$ROOT" bind "")
    check grep -qx '00:01.1' <<<"$got" && fail "bind offers the root port 00:01.1"
    check grep -qx '81:00' <<<"$got" || fail "bind does not offer the slot form 81:00"

    TEST "bash: iommu-groups --device offers bridges and root ports too, and full forms after 000"
    use_root seed-rtx3090
    got=$(cp_bash --root "$ROOT" iommu-groups --device "")
    check grep -qx '00:01.1' <<<"$got" || fail "iommu-groups --device does not offer the root port 00:01.1"
    cp_same "pt --root ROOT iommu-groups --device 0000:8<TAB>" \
        "$(printf '%s\n' 0000:80:01 0000:80:01.1 0000:81:00 0000:81:00.0 0000:81:00.1)" \
        "$(cp_bash --root "$ROOT" iommu-groups --device 0000:8)"

    TEST "bash: a selector that bash split at ':' completes after the last ':'"
    use_root seed-rtx3090
    # Bash hands "81:00." over as three words, and replaces only the text after the last ':'.
    cp_same "pt --root ROOT bind 81:00.<TAB>" "$(printf '%s\n' 00.0 00.1)" \
        "$(cp_bash --root "$ROOT" bind 81 : 00.)"
    cp_same "pt --root=ROOT rom-dump --check x.rom --device=81:00.<TAB>" "$(printf '%s\n' 00.0 00.1)" \
        "$(cp_bash --root = "$ROOT" rom-dump --check x.rom --device = 81 : 00.)"

    TEST "bash: --root wins over PT_ROOT; PT_ROOT alone is read; a missing root offers nothing"
    use_root seed-rtx3090
    want=$(cp_endpoints "$ROOT")
    cp_same "PT_ROOT=ROOT pt bind <TAB>" "$want" "$(export PT_ROOT=$ROOT; cp_bash bind "")"
    cp_same "PT_ROOT=missing pt --root ROOT bind <TAB>" "$want" \
        "$(export PT_ROOT=$TESTDIR/missing; cp_bash --root "$ROOT" bind "")"
    cp_same "pt --root missing bind <TAB>" "" "$(cp_bash --root "$TESTDIR/missing" bind "")"

    TEST "bash: grub --add offers nothing pt warns against, and the endpoints' IDs for vfio-pci.ids="
    use_root seed-rtx3090
    got=$(cp_bash --root "$ROOT" grub --add "")
    check [ -n "$got" ] || fail "grub --add offers nothing"
    for line in $got; do
        case $line in
        *=) continue ;; # a list to fill in (vfio-pci.ids=), checked below
        esac
        run_pt grub --add "$line"
        expect_exit 0
        expect_stderr_not_contains "warning"
    done
    for line in video amd_iommu vfio_virqfd pcie_acs; do
        cp_same "pt grub --add $line<TAB>" "" "$(cp_bash --root "$ROOT" grub --add "$line")"
    done
    cp_same "pt --root ROOT grub --add vfio-pci.ids=10de:<TAB>" \
        "$(printf '%s\n' vfio-pci.ids=10de:2204 vfio-pci.ids=10de:1aef)" \
        "$(cp_bash --root "$ROOT" grub --add vfio-pci.ids=10de:)"

    TEST "bash: VMIDs, mapping IDs, groups, FILE and DIR arguments"
    use_root pve-cluster
    want=$(find "$ROOT"/etc/pve/nodes/*/qemu-server -name '*.conf' -printf '%f\n' | sed 's/\.conf$//' | sort -u)
    check [ -n "$want" ] || fail "the fixture root has no VM config"
    cp_same "pt --root ROOT vmconf <TAB>" "$want" "$(cp_bash --root "$ROOT" vmconf "")"
    cp_same "pt --root ROOT verify --vm <TAB>" "$want" "$(cp_bash --root "$ROOT" verify --vm "")"
    use_root lxc-nvidia
    want=$(find "$ROOT"/etc/pve/nodes/*/lxc -name '*.conf' -printf '%f\n' | sed 's/\.conf$//' | sort -u)
    check [ -n "$want" ] || fail "the fixture root has no container config"
    cp_same "pt --root ROOT lxc <TAB>" "$want" "$(cp_bash --root "$ROOT" lxc "")"
    cp_same "pt --root ROOT verify --ct <TAB>" "$want" "$(cp_bash --root "$ROOT" verify --ct "")"
    use_root pve-cluster
    want=$(grep -E '^[A-Za-z][A-Za-z0-9_-]*[[:space:]]*$' "$ROOT/etc/pve/mapping/pci.cfg")
    check [ -n "$want" ] || fail "the fixture root has no mapping"
    cp_same "pt --root ROOT mapping <TAB>" "$want" "$(cp_bash --root "$ROOT" mapping "")"
    want=$(find "$ROOT/sys/kernel/iommu_groups" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -n)
    got=$(cp_bash --root "$ROOT" iommu-groups --group "")
    check [ "$got" = "$want" ] || fail "--group offered '${got//$'\n'/ }', expected '${want//$'\n'/ }' in numeric order"
    mkdir -p "$TESTDIR/dir/sub"
    touch "$TESTDIR/dir/file.tar.gz"
    cp_same "pt snapshot -o DIR/f<TAB>" "$TESTDIR/dir/file.tar.gz" "$(cp_bash snapshot -o "$TESTDIR/dir/f")"
    cp_same "pt --root DIR/s<TAB>" "$TESTDIR/dir/sub" "$(cp_bash --root "$TESTDIR/dir/s")"

    TEST "bash: undo offers the journal entries that are not undone, newest first"
    use_root seed-rtx3090
    cp_same "pt undo <TAB> without a journal" "" "$(cp_bash --root "$ROOT" undo "")"
    mkdir -p "$ROOT/etc/default"
    printf '%s\n' 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"' >"$ROOT/etc/default/grub"
    run_pt grub --add iommu=pt --apply --no-refresh
    expect_exit 0
    want=$(ls "$ROOT/var/lib/pt/journal")
    check [ -n "$want" ] || fail "the apply wrote no journal entry"
    # pt undo takes an entry id once it lists a positional in --help (issue 17); before, it takes
    # no word and nothing may be offered.
    if "$PT" undo --help | grep -q '^Positionals:'; then
        cp_same "pt undo <TAB>" "$want" "$(cp_bash --root "$ROOT" undo "")"
    else
        cp_same "pt undo <TAB> (no positional)" "" "$(cp_bash --root "$ROOT" undo "")"
    fi

    TEST "zsh: _pt offers subcommands, flags and the endpoints under --root"
    if cp_need zsh; then
        use_root seed-rtx3090
        cp_same "zsh: pt <TAB>" "$("$PT" __complete -- "" | cut -f1)" "$(cp_zsh "")"
        cp_same "zsh: pt grub -<TAB>" "$("$PT" __complete -- grub - | cut -f1)" "$(cp_zsh grub -)"
        cp_same "zsh: pt --root ROOT bind <TAB>" "$(cp_endpoints "$ROOT")" "$(cp_zsh --root "$ROOT" bind "")"
        cp_same "zsh: pt snapshot -o <TAB>" "FILES" "$(cp_zsh snapshot -o "")"
        cp_same "zsh: pt --root <TAB>" "FILES -/" "$(cp_zsh --root "")"
        check zsh -n "$top/completions/_pt" 2>"$TESTDIR/zsh.err" || fail "zsh -n completions/_pt:" "$(cat "$TESTDIR/zsh.err")"
    fi

    TEST "fish: pt.fish offers subcommands, flags with descriptions and the endpoints under --root"
    if cp_need fish; then
        use_root seed-rtx3090
        cp_same "fish: pt <TAB>" "$("$PT" __complete -- "" | cut -f1)" "$(cp_fish "pt ")"
        cp_same "fish: pt vmconf --<TAB>" "$("$PT" __complete -- vmconf -- | cut -f1 | grep -- '^--')" \
            "$(cp_fish "pt vmconf --")"
        cp_same "fish: pt --root ROOT bind 81<TAB>" "$(cp_endpoints "$ROOT" | grep '^81')" \
            "$(cp_fish "pt --root $ROOT bind 81")"
        got=$(PATH=$(dirname "$PT"):$PATH fish --no-config -c 'source $argv[1]; complete -C "pt grub --iommu-p"' \
            "$top/completions/pt.fish" 2>&1)
        check test "${got#--iommu-pt$'\t'Add iommu=pt}" != "$got" || fail "fish: pt grub --iommu-p<TAB> gave '$got', expected --iommu-pt with its --help text"
    fi

    TEST "pt __complete is not a subcommand: --help does not list it, and it never fails"
    run_raw --help
    expect_exit 0
    expect_stdout_not_contains "__complete"
    run_raw __complete -- --root "$TESTDIR/missing" bind ""
    expect_exit 0
    expect_stdout_empty
    expect_stderr_empty
}
