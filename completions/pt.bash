# SPDX-License-Identifier: MIT
# bash completion for pt(1). Installed as share/bash-completion/completions/pt.
#
# Every candidate comes from pt itself: `pt __complete -- WORD...` (completions/README.md, pt(1)
# COMPLETION) answers from the CLI11 definitions in cmd/ and from the host under --root or
# PT_ROOT, so nothing here lists subcommands, flags or values, and a new flag completes without
# touching this file. The words are passed as typed, --root DIR included.
#
# Everything is a function, so the file has no global state and works whether bash-completion
# loads it lazily (from inside a function) or it is sourced by hand.

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
    local line directive="" prefix="" i
    local -a candidates=()

    # The same binary the user is completing for (./build/cmd/pt works too).
    while IFS= read -r line; do
        case $line in
        :files | :dirs) directive=$line ;;
        *) candidates+=("${line%%$'\t'*}") ;;
        esac
    done < <("${_pt_words[0]:-pt}" __complete -- "${_pt_words[@]:1:_pt_cword}" 2>/dev/null)

    if [[ -n $directive ]]; then
        # pt asks for the shell's own file or directory names, after any --option=.
        [[ $cur == --*=* ]] && prefix=${cur%%=*}=
        local kind=-f
        [[ $directive == :dirs ]] && kind=-d
        compopt -o filenames 2>/dev/null
        mapfile -t candidates < <(compgen "$kind" -- "${cur#"$prefix"}")
        for ((i = 0; i < ${#candidates[@]}; i++)); do
            candidates[i]=$prefix${candidates[i]}
        done
    fi
    COMPREPLY=("${candidates[@]}")
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
