# SPDX-License-Identifier: MIT
# bash completion for pt(1). Installed as share/bash-completion/completions/pt.
#
# Adding a subcommand is a local change here:
#   1. add its name to _pt_subcommands;
#   2. add a line for it to _pt_subcommand_options (its own flags, not the global ones);
#   3. if one of its options takes an argument, give the option a kind in _pt_option_kind
#      (and, when it may take several values, list it in _pt_multi_value).
# tests/cli/suites/docs.bash checks that every flag of `pt SUB --help` appears in this file.
#
# Everything is a function, so the file has no global state and works whether bash-completion
# loads it lazily (from inside a function) or it is sourced by hand.

# The subcommands, in the order pt --help lists them.
_pt_subcommands() {
    echo "iommu-groups grub blacklist bind unbind undo vmconf mapping rom-dump verify snapshot"
}

# Options every subcommand accepts, before or after its name.
_pt_global_options() {
    echo "--root --json --no-color -q --quiet -h --help"
}

# Options accepted only before the subcommand name.
_pt_top_options() {
    echo "--version"
}

# The flags of one subcommand, beyond the global ones.
_pt_subcommand_options() {
    case $1 in
    iommu-groups) echo "--gpu --group --device --class --vfio-ids -n --numeric" ;;
    grub) echo "--iommu-pt --sysfb-off --vfio-ids --acs-override --add --remove --apply --no-refresh" ;;
    blacklist) echo "--softdep --hard --remove --apply --no-refresh" ;;
    bind) echo "--include-group --force --now --apply --no-refresh" ;;
    unbind) echo "--now --apply --no-refresh" ;;
    undo) echo "--list" ;;
    vmconf) echo "--check --all --function-only --no-x-vga --display --compute --cpu --force --set-machine --ovmf --rombar --romfile --hide-hypervisor --mapping --remove --qm --apply" ;;
    mapping) echo "--check --apply" ;;
    rom-dump) echo "-o --output --check --device --strip-header --force --install --apply" ;;
    verify) echo "--vm --guest" ;;
    snapshot) echo "-o --output" ;;
    esac
}

# What a subcommand's positional argument is (the device selector SEL), or nothing.
_pt_positional_kind() {
    case $1 in
    blacklist | bind | unbind) echo device ;;
    verify) echo device ;;
    rom-dump) echo device ;;
    vmconf) (($(_pt_positional_count) == 0)) && echo vmid || echo device ;;
    mapping) (($(_pt_positional_count) == 0)) && echo mapping || echo device ;;
    esac
}

# How many positional arguments precede the current word after the subcommand (options and the
# arguments of options that take one are skipped). Reads the words _pt_join_words made.
_pt_positional_count() {
    local i n=0 seen=0 word
    for ((i = 1; i < _pt_cword; i++)); do
        word=${_pt_words[i]}
        case $word in
        --*=*) ;;
        -*) [[ -n $(_pt_option_kind "$word" "${subcommand:-}") ]] && ((i++)) ;;
        *) if ((seen)); then ((n++)); else seen=1; fi ;;
        esac
    done
    echo "$n"
}

# What the argument of option $1 of subcommand $2 is: dir, device, group, class, param;
# nothing for a flag.
_pt_option_kind() {
    case $1 in
    --root) echo dir ;;
    --device) echo device ;;
    --group) echo group ;;
    --class) echo class ;;
    --vm) [[ $2 == verify ]] && echo vmid ;;
    -o | --output) [[ $2 == snapshot || $2 == rom-dump ]] && echo file ;;
    --check) [[ $2 == rom-dump ]] && echo file ;;
    --install) [[ $2 == rom-dump ]] && echo romname ;;
    --vfio-ids) [[ $2 == grub ]] && echo device ;;
    --add) [[ $2 == grub ]] && echo param ;;
    --remove) [[ $2 == grub ]] && echo param
        [[ $2 == vmconf ]] && echo device ;;
    --mapping) [[ $2 == vmconf ]] && echo mapping ;;
    --romfile) [[ $2 == vmconf ]] && echo romfile ;;
    --rombar) [[ $2 == vmconf ]] && echo bool ;;
    esac
}

# Options that take several values after one flag (--group 1 14, --device 01:00 02:00).
_pt_multi_value() {
    case $1 in
    --device | --group | --vfio-ids | --add | --remove) return 0 ;;
    esac
    return 1
}

# The root pt would read: the last --root DIR (or --root=DIR) on the command line, else
# $PT_ROOT, else /. Reads the words _pt_join_words made.
_pt_root() {
    local i root=${PT_ROOT:-/}
    for ((i = 1; i < _pt_cword; i++)); do
        case ${_pt_words[i]} in
        --root) ((i + 1 < _pt_cword)) && root=${_pt_words[i + 1]} ;;
        --root=*) root=${_pt_words[i]#--root=} ;;
        esac
    done
    # A tilde the user typed reaches completion unexpanded.
    # shellcheck disable=SC2088
    [[ $root == "~" || $root == "~/"* ]] && root=$HOME${root#"~"}
    printf '%s\n' "${root:-/}"
}

# The entries of one directory under the root, one per line, sorted as sort(1) is told.
_pt_list_dir() {
    local dir=$1 entry
    shift
    [[ -d $dir ]] || return 0
    for entry in "$dir"/*; do
        [[ -e $entry || -L $entry ]] && printf '%s\n' "${entry##*/}"
    done | sort "$@"
}

# Prints the candidates for an option argument of kind $1 that start with $2.
_pt_complete_kind() {
    local kind=$1 cur=$2 root
    case $kind in
    dir)
        compgen -d -- "$cur"
        ;;
    file)
        compgen -f -- "$cur"
        ;;
    device)
        root=$(_pt_root)
        compgen -W "$(_pt_list_dir "${root%/}/sys/bus/pci/devices")" -- "$cur"
        ;;
    group)
        root=$(_pt_root)
        compgen -W "$(_pt_list_dir "${root%/}/sys/kernel/iommu_groups" -n)" -- "$cur"
        ;;
    param)
        # The parameters pt knows about; anything else can be typed.
        compgen -W "intel_iommu=on iommu=pt initcall_blacklist=sysfb_init amd_iommu=on video=efifb:off pcie_acs_override=downstream,multifunction" -- "$cur"
        ;;
    vmid)
        # The VM ids of every node's configs under the root.
        root=$(_pt_root)
        compgen -W "$(for f in "${root%/}"/etc/pve/nodes/*/qemu-server/*.conf "${root%/}"/etc/pve/qemu-server/*.conf; do [[ -e $f ]] && f=${f##*/} && echo "${f%.conf}"; done | sort -un)" -- "$cur"
        ;;
    mapping)
        # The mapping IDs of /etc/pve/mapping/pci.cfg (section headers: no leading whitespace).
        root=$(_pt_root)
        [[ -f ${root%/}/etc/pve/mapping/pci.cfg ]] \
            && compgen -W "$(grep -E '^[A-Za-z][A-Za-z0-9_-]+[[:space:]]*$' "${root%/}/etc/pve/mapping/pci.cfg")" -- "$cur"
        ;;
    romfile)
        # ROM files must be bare names under /usr/share/kvm.
        root=$(_pt_root)
        compgen -W "$(_pt_list_dir "${root%/}/usr/share/kvm")" -- "$cur"
        ;;
    bool)
        compgen -W "0 1" -- "$cur"
        ;;
    class)
        # Common class prefixes: display, VGA, 3D, storage, NVMe, network, USB.
        compgen -W "03 0300 0302 0380 01 0108 02 0c03" -- "$cur"
        ;;
    esac
}

# bash splits words at the characters of COMP_WORDBREAKS, ':' and '=' among them, so
# 0000:01:00.0 arrives as five words and --root=DIR as three. This rebuilds the words as the
# user typed them into _pt_words, with the current one at _pt_cword.
_pt_join_words() {
    _pt_words=()
    _pt_cword=0
    local i n=-1 glue=0 word
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        word=${COMP_WORDS[i]}
        if ((n >= 0)) && { [[ $word == [:=] ]] || ((glue)); }; then
            _pt_words[n]+=$word
        else
            _pt_words[++n]=$word
        fi
        if [[ $word == [:=] ]]; then glue=1; else glue=0; fi
        ((i == COMP_CWORD)) && _pt_cword=$n
    done
    if ((COMP_CWORD >= ${#COMP_WORDS[@]})); then
        _pt_words[++n]=""
        _pt_cword=$n
    fi
}

_pt() {
    local _pt_words _pt_cword
    _pt_join_words
    local cur=${_pt_words[_pt_cword]}
    local raw=${COMP_WORDS[COMP_CWORD]-}
    local i word kind subcommand="" active="" candidates="" prefix=""

    # Find the subcommand, and the option whose values the current word continues.
    for ((i = 1; i < _pt_cword; i++)); do
        word=${_pt_words[i]}
        case $word in
        --*=*)
            active=""
            ;;
        -*)
            active=""
            if [[ -n $(_pt_option_kind "$word" "$subcommand") ]]; then
                if _pt_multi_value "$word"; then
                    active=$word
                elif ((i + 1 < _pt_cword)); then
                    ((i++))
                else
                    active=$word
                fi
            fi
            ;;
        *)
            if [[ -z $active && -z $subcommand ]]; then
                subcommand=$word
            elif [[ -n $active ]] && ! _pt_multi_value "$active"; then
                active=""
            fi
            ;;
        esac
    done

    if [[ $cur == --*=* && -n $(_pt_option_kind "${cur%%=*}" "$subcommand") ]]; then
        # --root=DIR, --device=SEL
        kind=$(_pt_option_kind "${cur%%=*}" "$subcommand")
        prefix=${cur%%=*}=
        candidates=$(_pt_complete_kind "$kind" "${cur#*=}")
    elif [[ -n $active && $cur != -* ]]; then
        kind=$(_pt_option_kind "$active" "$subcommand")
        candidates=$(_pt_complete_kind "$kind" "$cur")
    elif [[ $cur == -* ]]; then
        if [[ -z $subcommand ]]; then
            candidates=$(compgen -W "$(_pt_global_options) $(_pt_top_options)" -- "$cur")
        else
            candidates=$(compgen -W "$(_pt_global_options) $(_pt_subcommand_options "$subcommand")" -- "$cur")
        fi
    elif [[ -z $subcommand ]]; then
        candidates=$(compgen -W "$(_pt_subcommands)" -- "$cur")
    elif [[ -n $(_pt_positional_kind "$subcommand") ]]; then
        kind=$(_pt_positional_kind "$subcommand")
        candidates=$(_pt_complete_kind "$kind" "$cur")
    fi

    [[ $kind == dir ]] && compopt -o filenames 2>/dev/null
    COMPREPLY=()
    local IFS=$'\n'
    for word in $candidates; do
        COMPREPLY+=("$prefix$word")
    done
    # Readline replaces only the text after the last ':' or '=' it split at; drop what precedes.
    if [[ $cur != "$raw" && $cur == *[:=]* ]]; then
        local strip=${cur%"${cur##*[:=]}"}
        for ((i = 0; i < ${#COMPREPLY[@]}; i++)); do
            COMPREPLY[i]=${COMPREPLY[i]#"$strip"}
        done
    fi
    return 0
}

complete -F _pt pt
