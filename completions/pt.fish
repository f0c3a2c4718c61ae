# SPDX-License-Identifier: MIT
# fish completion for pt(1). Installed as share/fish/vendor_completions.d/pt.fish.
#
# Every candidate comes from pt itself: `pt __complete -- WORD...` (completions/README.md, pt(1)
# COMPLETION) prints "VALUE<TAB>DESCRIPTION" lines, fish's own format, from the CLI11
# definitions in cmd/ and the host under --root or PT_ROOT, or ":files" / ":dirs" for the
# shell's own file names. The words are passed as typed, --root DIR included.

function __pt_complete
    set -l tokens (commandline -opc)
    set -l current (commandline -ct)
    set -l command $tokens[1]
    set -e tokens[1]
    command -q $command; or return
    set -l out ($command __complete -- $tokens "$current" 2>/dev/null)
    switch "$out[1]"
        case :files
            __fish_complete_path "$current"
        case :dirs
            __fish_complete_directories "$current"
        case '*'
            printf '%s\n' $out
    end
end

complete -c pt -e
complete -c pt -f -a '(__pt_complete)'
