# SPDX-License-Identifier: MIT
# fish completion for pt(1). Installed as share/fish/vendor_completions.d/pt.fish.
#
# Adding a subcommand is a local change here:
#   1. add its name to __pt_subcommands;
#   2. add a `complete` line naming it and a block with its flags, conditioned on
#      "__fish_seen_subcommand_from NAME", like the iommu-groups block below.
# The global options need no change: they are offered everywhere. tests/cli/suites/docs.bash
# checks that every flag of `pt SUB --help` appears in this file.

function __pt_subcommands
    printf "%s\n" iommu-groups grub blacklist bind unbind undo vmconf mapping rom-dump verify snapshot
end

# True while no subcommand is on the command line yet.
function __pt_needs_subcommand
    not __fish_seen_subcommand_from (__pt_subcommands)
end

# The root pt would read: the last --root DIR (or --root=DIR) on the command line, else
# $PT_ROOT, else /.
function __pt_root
    set -l tokens (commandline -opc)
    set -l root /
    set -q PT_ROOT[1]; and test -n "$PT_ROOT"; and set root $PT_ROOT
    set -l count (count $tokens)
    for i in (seq 2 $count)
        switch $tokens[$i]
            case --root
                if test $i -lt $count
                    set root $tokens[(math $i + 1)]
                end
            case '--root=*'
                set root (string replace -- --root= '' $tokens[$i])
        end
    end
    string replace -r -- '^~(?=/|$)' $HOME $root
end

# PCI addresses under $root/sys/bus/pci/devices, each described by its class and IDs.
function __pt_devices
    set -l dir (string replace -r -- '/$' '' (__pt_root))/sys/bus/pci/devices
    test -d $dir; or return 0
    for entry in $dir/*
        set -l class (string sub -s 3 -l 4 -- (cat $entry/class 2>/dev/null))
        set -l vendor (string sub -s 3 -- (cat $entry/vendor 2>/dev/null))
        set -l device (string sub -s 3 -- (cat $entry/device 2>/dev/null))
        printf '%s\tclass %s [%s:%s]\n' (string replace -r -- '.*/' '' $entry) "$class" "$vendor" "$device"
    end
end

# IOMMU group numbers under $root/sys/kernel/iommu_groups, in numeric order.
function __pt_groups
    set -l dir (string replace -r -- '/$' '' (__pt_root))/sys/kernel/iommu_groups
    test -d $dir; or return 0
    for entry in $dir/*
        printf '%s\tIOMMU group\n' (string replace -r -- '.*/' '' $entry)
    end | sort -n
end

# Common class-code prefixes, with what they select.
function __pt_classes
    printf '%s\t%s\n' \
        03 'display controller' \
        0300 'VGA compatible controller' \
        0302 '3D controller' \
        0380 'display controller' \
        01 'mass storage controller' \
        0108 'NVMe controller' \
        02 'network controller' \
        0c03 'USB controller'
end

complete -c pt -f

# Global options: before or after the subcommand name.
complete -c pt -l root -x -a '(__fish_complete_directories (commandline -ct))' -d "Treat DIR as the host's / for every read and write"
complete -c pt -l json -d 'Print one JSON document instead of text'
complete -c pt -l no-color -d 'Never colour the output'
complete -c pt -s q -l quiet -d 'Leave out explanations; keep the facts'
complete -c pt -s h -l help -d 'Print the help and exit'
complete -c pt -n __pt_needs_subcommand -l version -d 'Print the version and exit'

# Subcommands.
complete -c pt -n __pt_needs_subcommand -a iommu-groups -d "List IOMMU groups with their devices, and judge each GPU's isolation"

# pt iommu-groups
set -l iommu_groups '__fish_seen_subcommand_from iommu-groups'
complete -c pt -n $iommu_groups -l gpu -d 'Only groups that hold a display device (class 03xx)'
complete -c pt -n $iommu_groups -l group -x -a '(__pt_groups)' -d 'Only IOMMU group N (repeatable)'
complete -c pt -n $iommu_groups -l device -x -a '(__pt_devices)' -d 'Only the groups of the devices SEL matches (repeatable)'
complete -c pt -n $iommu_groups -l class -x -a '(__pt_classes)' -d 'Only groups holding a device whose class starts with HEX'
complete -c pt -n $iommu_groups -l vfio-ids -d "Print the vendor:device IDs of the selected group's endpoints for vfio-pci.ids="
complete -c pt -n $iommu_groups -s n -l numeric -d 'Show numeric IDs only; do not read pci.ids'

complete -c pt -n __pt_needs_subcommand -a grub -d 'Put the IOMMU flags on the kernel command line, GRUB or systemd-boot'
complete -c pt -n __pt_needs_subcommand -a blacklist -d 'Keep host drivers off the passthrough GPU'
complete -c pt -n __pt_needs_subcommand -a bind -d 'Hand a device and its IOMMU group to vfio-pci'
complete -c pt -n __pt_needs_subcommand -a unbind -d 'Give a device back to the host'
complete -c pt -n __pt_needs_subcommand -a undo -d 'Restore the files of the last --apply'
complete -c pt -n __pt_needs_subcommand -a vmconf -d 'Add a PCI device to a Proxmox VM config, or lint VM configs'
complete -c pt -n __pt_needs_subcommand -a mapping -d "Add or check this node's entry of a cluster PCI mapping"
complete -c pt -n __pt_needs_subcommand -a rom-dump -d "Dump a GPU's option ROM and validate it, or check a ROM file"
complete -c pt -n __pt_needs_subcommand -a verify -d 'Check the whole passthrough chain, with cause and fix'
complete -c pt -n __pt_needs_subcommand -a snapshot -d 'Capture what pt reads into a .tar.gz for offline verify'

# The options every writer shares.
set -l writers '__fish_seen_subcommand_from grub blacklist bind unbind'
complete -c pt -n $writers -l apply -d 'Carry the plan out; without it, only show it'
complete -c pt -n $writers -l no-refresh -d 'With --apply, do not run update-initramfs / update-grub / refresh'

# pt grub
set -l grub '__fish_seen_subcommand_from grub'
complete -c pt -n $grub -l iommu-pt -d 'Add iommu=pt (identity DMA for host devices)'
complete -c pt -n $grub -l sysfb-off -d 'Add initcall_blacklist=sysfb_init'
complete -c pt -n $grub -l vfio-ids -x -a '(__pt_devices)' -d 'Add vfio-pci.ids= for the groups of SEL'
complete -c pt -n $grub -l acs-override -d 'Add pcie_acs_override=downstream,multifunction'
complete -c pt -n $grub -l add -x -d 'Add kernel parameter PARAM'
complete -c pt -n $grub -l remove -x -d 'Remove kernel parameter PARAM'

# pt blacklist [SEL]
set -l blacklist '__fish_seen_subcommand_from blacklist'
complete -c pt -n $blacklist -f -a '(__pt_devices)'
complete -c pt -n $blacklist -l softdep -d 'Write softdep DRIVER pre: vfio-pci instead'
complete -c pt -n $blacklist -l hard -d 'Also write install DRIVER /bin/false'
complete -c pt -n $blacklist -l remove -d "Take pt's entries out"

# pt bind SEL, pt unbind SEL
set -l bind '__fish_seen_subcommand_from bind'
set -l unbind '__fish_seen_subcommand_from unbind'
complete -c pt -n "$bind; or $unbind" -f -a '(__pt_devices)'
complete -c pt -n $bind -l include-group -d 'Also bind the other slots of the IOMMU group'
complete -c pt -n $bind -l force -d 'Bind even a device the host needs'
complete -c pt -n $bind -l now -d 'Also bind at runtime'
complete -c pt -n $unbind -l now -d 'Also unbind at runtime'

# pt undo
set -l undo '__fish_seen_subcommand_from undo'
complete -c pt -n $undo -l list -d 'List the journal entries instead of undoing'

# pt vmconf VMID SEL, pt vmconf (VMID | --all) --check
function __pt_vmids
    set -l root (string replace -r -- '/$' '' (__pt_root))
    for f in $root/etc/pve/nodes/*/qemu-server/*.conf $root/etc/pve/qemu-server/*.conf
        string replace -r -- '.*/(\d+)\.conf$' '$1\tVM' $f
    end | sort -un
end
function __pt_mapping_ids
    set -l cfg (string replace -r -- '/$' '' (__pt_root))/etc/pve/mapping/pci.cfg
    test -f $cfg; and string match -r -- '^[A-Za-z][A-Za-z0-9_-]+$' <$cfg
end
function __pt_kvm_roms
    for f in (string replace -r -- '/$' '' (__pt_root))/usr/share/kvm/*
        string replace -r -- '.*/' '' $f
    end
end
# True while the subcommand has no positional argument yet (VMID for vmconf, NAME for mapping).
function __pt_first_positional
    set -l words (commandline -opc)
    set -l seen 0
    set -l skip 0
    for w in $words[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $w
            case --root --romfile --rombar --mapping --remove
                set skip 1
            case '-*'
            case '*'
                if test $seen = 1
                    return 1
                end
                set seen 1
        end
    end
    return 0
end
set -l vmconf '__fish_seen_subcommand_from vmconf'
complete -c pt -n "$vmconf; and __pt_first_positional" -f -a '(__pt_vmids)'
complete -c pt -n "$vmconf; and not __pt_first_positional" -f -a '(__pt_devices)'
complete -c pt -n $vmconf -l check -d 'Lint the VM config instead of editing it'
complete -c pt -n $vmconf -l all -d 'With --check, lint every VM of every node'
complete -c pt -n $vmconf -l function-only -d 'Pass only the function SEL names'
complete -c pt -n $vmconf -l no-x-vga -d 'The same as --compute'
complete -c pt -n $vmconf -l display -d "x-vga=1: the GPU is the VM's display"
complete -c pt -n $vmconf -l compute -d 'A compute-only entry; removes x-vga=1'
complete -c pt -n $vmconf -l cpu -x -a 'host x86-64-v2-AES x86-64-v3 x86-64-v4' -d 'The CPU type of cpu:'
complete -c pt -n $vmconf -l force -d 'Edit a template'
complete -c pt -n $vmconf -l set-machine -d 'Switch an explicit i440fx machine to q35'
complete -c pt -n $vmconf -l ovmf -d 'Set bios: ovmf'
complete -c pt -n $vmconf -l rombar -x -a '0 1' -d 'rombar=0 hides the ROM from the guest'
complete -c pt -n $vmconf -l romfile -x -a '(__pt_kvm_roms)' -d 'ROM file under /usr/share/kvm'
complete -c pt -n $vmconf -l hide-hypervisor -d 'Add hidden=1 to cpu:'
complete -c pt -n $vmconf -l mapping -x -a '(__pt_mapping_ids)' -d 'Write mapping=ID instead of the address'
complete -c pt -n $vmconf -l remove -x -a '(__pt_devices)' -d 'Remove the entries that pass SEL'
complete -c pt -n $vmconf -l qm -d 'Print the equivalent qm set command instead'
complete -c pt -n $vmconf -l apply -d 'Write the VM config; without it, only show the diff'

# pt mapping NAME SEL, pt mapping [NAME] --check
set -l mapping '__fish_seen_subcommand_from mapping'
complete -c pt -n "$mapping; and __pt_first_positional" -f -a '(__pt_mapping_ids)'
complete -c pt -n "$mapping; and not __pt_first_positional" -f -a '(__pt_devices)'
complete -c pt -n $mapping -l check -d "Compare this node's entries with the hardware"
complete -c pt -n $mapping -l apply -d 'Write /etc/pve/mapping/pci.cfg; without it, only show the diff'

# pt rom-dump SEL [-o FILE], pt rom-dump --check FILE [--device SEL] [--strip-header -o FIXED]
set -l romdump '__fish_seen_subcommand_from rom-dump'
complete -c pt -n $romdump -f -a '(__pt_devices)'
complete -c pt -n $romdump -s o -l output -r -F -d 'Write the ROM (with --check: the fixed ROM) to FILE'
complete -c pt -n $romdump -l check -r -F -d 'Check a ROM file instead of dumping'
complete -c pt -n $romdump -l device -x -a '(__pt_devices)' -d 'With --check, compare the IDs with this card'
complete -c pt -n $romdump -l strip-header -d 'With --check and -o, cut the vendor header'
complete -c pt -n $romdump -l force -d 'Write even a ROM that does not validate'
complete -c pt -n $romdump -l install -x -d 'Copy the ROM to /usr/share/kvm/NAME.rom'
complete -c pt -n $romdump -l apply -d 'With --install, write the file; without it, only show the plan'

# pt verify [SEL] [--vm VMID], pt verify --guest
function __pt_verify_vmids
    for f in (string replace -r -- '/$' '' (__pt_root))/etc/pve/nodes/*/qemu-server/*.conf
        string replace -r -- '.*/(\d+)\.conf$' '$1\tVM' $f
    end | sort -un
end
set -l verify '__fish_seen_subcommand_from verify'
complete -c pt -n $verify -f -a '(__pt_devices)'
complete -c pt -n $verify -l vm -x -a '(__pt_verify_vmids)' -d "Check only this VM's config and mappings"
complete -c pt -n $verify -l guest -d 'Run inside the VM: check the GPU as the guest sees it'

# pt snapshot -o FILE
set -l snapshot '__fish_seen_subcommand_from snapshot'
complete -c pt -n $snapshot -s o -l output -r -F -d 'The archive to write (FILE.tar.gz)'
