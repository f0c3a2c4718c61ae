// SPDX-License-Identifier: MIT
#include "pt/boot/config.hpp"

#include "pt/conf/kernel_cmdline_file.hpp"
#include "pt/error.hpp"
#include "pt/host/root.hpp"
#include "pt/kernel/cmdline.hpp"
#include "pt/strings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace pt::boot {
namespace {

std::string format_param(const kernel::Param& param) {
    return param.value ? fmt::format("{}={}", param.name, *param.value) : param.name;
}

std::string join(const std::vector<std::string>& items, std::string_view sep = " ") {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        out += i == 0 ? "" : std::string(sep);
        out += items[i];
    }
    return out;
}

// /etc/default/grub, then /etc/default/grub.d/*.cfg in glob order (grub-mkconfig sources them
// with `for x in ${sysconfdir}/default/grub.d/*.cfg`). nullopt when the main file is missing.
std::optional<conf::GrubConfig> read_grub(const host::Root& root) {
    if (!root.exists(std::string(k_grub_main))) {
        return std::nullopt;
    }
    std::vector<conf::GrubFile> files;
    files.push_back({std::string(k_grub_main), root.read_file(std::string(k_grub_main))});
    for (const auto& name : root.list(k_grub_dropins)) {
        if (!name.ends_with(".cfg") || name.starts_with(".")) {
            continue;
        }
        const auto path = host::join(k_grub_dropins, name);
        files.push_back({path, root.read_file(path)});
    }
    return conf::GrubConfig(std::move(files));
}

// Parameters the bootloader adds by itself, left out when configured and running lines are
// compared: GRUB's 10_linux writes BOOT_IMAGE=, root= and ro; the EFI stub gets initrd=.
bool added_by_loader(const kernel::Param& param, Bootloader kind) {
    if (param.name == "BOOT_IMAGE" || param.name == "initrd") {
        return true;
    }
    return is_grub(kind) && (param.name == "root" || param.name == "ro" || param.name == "rw");
}

bool contains(const std::vector<kernel::Param>& params, const kernel::Param& param) {
    return std::any_of(params.begin(), params.end(), [&](const kernel::Param& p) {
        return kernel::same_param_name(p.name, param.name) && p.value == param.value;
    });
}

std::vector<std::string> missing_from(const std::vector<kernel::Param>& from,
                                      const std::vector<kernel::Param>& in,
                                      Bootloader kind) {
    std::vector<std::string> out;
    for (const auto& param : from) {
        if (!added_by_loader(param, kind) && !contains(in, param)) {
            out.push_back(format_param(param));
        }
    }
    return out;
}

} // namespace

bool is_grub(Bootloader kind) {
    return kind == Bootloader::grub || kind == Bootloader::proxmox_grub;
}

// The command line proxmox-boot-tool uses when /etc/kernel/cmdline is missing: /proc/cmdline
// without the initrd= the EFI stub got (zz-proxmox-boot) and without GRUB's BOOT_IMAGE=.
std::string cmdline_from_proc(std::string_view proc) {
    std::string out;
    for (const auto& token : kernel::tokenize_cmdline(proc)) {
        if (token.param.name == "initrd" || token.param.name == "BOOT_IMAGE") {
            continue;
        }
        out += out.empty() ? "" : " ";
        out += proc.substr(token.begin, token.end - token.begin);
    }
    return out;
}

BootFiles read_boot_files(const host::Root& root) {
    BootFiles out;
    try {
        out.grub = read_grub(root);
    } catch (const Error& e) {
        out.grub_error = e.what();
    }
    if (root.exists(std::string(k_kernel_cmdline))) {
        out.kernel_cmdline = root.read_file(std::string(k_kernel_cmdline));
    }
    out.grub_cfg = read_grub_cfg(root);
    return out;
}

Status describe_status(const Detection& detection,
                       const kernel::HostFacts& facts,
                       const BootFiles& files) {
    Status out;
    out.detection = detection;
    const Bootloader kind = out.detection.kind;
    out.cpu = facts.cpu;
    if (facts.release) {
        out.kernel_release = facts.release->text;
    }
    out.running = facts.cmdline_text;

    const std::optional<conf::GrubConfig>& grub = files.grub;
    if (files.grub_error) {
        out.problems.push_back(*files.grub_error);
    }
    const std::optional<std::string>& kernel_file = files.kernel_cmdline;
    std::optional<std::string> grub_line;
    if (grub) {
        const auto problems = grub->problems();
        if (problems.empty()) {
            grub_line = grub->cmdline();
        } else if (is_grub(kind)) {
            out.problems.insert(out.problems.end(), problems.begin(), problems.end());
        }
    }
    std::optional<std::string> sd_line;
    if (kernel_file) {
        sd_line = conf::split_kernel_cmdline(*kernel_file).first_line;
    }

    if (is_grub(kind)) {
        if (grub) {
            for (const auto variable : {conf::k_grub_cmdline, conf::k_grub_cmdline_default}) {
                const auto value = grub->evaluate(variable);
                for (const auto& ref : value.chain) {
                    const auto& a = grub->at(ref);
                    const auto& file = grub->files[ref.file];
                    out.sources.push_back(
                        {file.path,
                         a.line,
                         a.variable,
                         file.text.substr(a.value_begin, a.value_end - a.value_begin)});
                }
            }
            out.configured = grub_line;
        } else {
            out.problems.push_back(fmt::format("{} does not exist", k_grub_main));
        }
    } else if (kind == Bootloader::proxmox_systemd_boot) {
        if (sd_line) {
            out.sources.push_back({std::string(k_kernel_cmdline), 1, {}, *sd_line});
            out.configured = sd_line;
            if (!conf::has_root_param(*sd_line)) {
                out.problems.push_back(
                    fmt::format("{} line 1 has no root=: proxmox-boot-tool refresh refuses it",
                                k_kernel_cmdline));
            }
        } else if (out.running) {
            out.configured = cmdline_from_proc(*out.running);
            out.notes.push_back(fmt::format("{} does not exist: proxmox-boot-tool refresh uses "
                                            "/proc/cmdline without initrd=",
                                            k_kernel_cmdline));
        }
    } else {
        out.problems.emplace_back("the bootloader is unknown (see the evidence), so pt does not "
                                  "know which configuration the next boot uses");
    }

    if (kind == Bootloader::grub) {
        out.staged = files.grub_cfg;
    }
    if (out.configured && out.staged) {
        out.not_staged = missing_from(kernel::parse_cmdline(*out.configured),
                                      kernel::parse_cmdline(out.staged->cmdline),
                                      kind);
        if (!out.not_staged.empty()) {
            out.notes.push_back(fmt::format("configured but not in {} (line {}): {}; update-grub "
                                            "has not run since the change, so the next boot "
                                            "does not get them",
                                            out.staged->path,
                                            out.staged->line,
                                            join(out.not_staged)));
        }
    }
    if (out.configured && out.running) {
        const auto configured = kernel::parse_cmdline(*out.configured);
        const auto running = kernel::parse_cmdline(*out.running);
        out.pending = missing_from(configured, running, kind);
        out.not_configured = missing_from(running, configured, kind);
        if (!out.pending.empty()) {
            out.notes.push_back(fmt::format(
                "configured but not in the running kernel: {}; a reboot is pending (after {})",
                join(out.pending),
                kind == Bootloader::grub ? "update-grub" : "proxmox-boot-tool refresh"));
        }
        if (!out.not_configured.empty()) {
            out.notes.push_back(fmt::format(
                "in the running kernel but not configured: {}; removed since the last boot "
                "(reboot pending), or set in a file this bootloader does not read",
                join(out.not_configured)));
        }
    }
    // The wrong file: parameters written where this bootloader never looks.
    const auto ignore_root = [](const std::vector<kernel::Param>& params) {
        std::vector<kernel::Param> out_params;
        for (const auto& p : params) {
            if (p.name != "root" && p.name != "boot" && p.name != "ro" && p.name != "rw") {
                out_params.push_back(p);
            }
        }
        return out_params;
    };
    if (is_grub(kind) && sd_line && grub_line) {
        const auto extra = missing_from(
            ignore_root(kernel::parse_cmdline(*sd_line)), kernel::parse_cmdline(*grub_line), kind);
        if (!extra.empty()) {
            out.notes.push_back(
                fmt::format("{} sets {}, but {} does not read that file (only systemd-boot under "
                            "proxmox-boot-tool does); the wrong file was edited",
                            k_kernel_cmdline,
                            join(extra),
                            describe(kind)));
        }
    }
    if (kind == Bootloader::proxmox_systemd_boot && grub_line && out.configured) {
        const auto extra = missing_from(
            kernel::parse_cmdline(*grub_line), kernel::parse_cmdline(*out.configured), kind);
        if (!extra.empty()) {
            out.notes.push_back(fmt::format(
                "/etc/default/grub sets {}, but systemd-boot does not read it (it uses the first "
                "line of {}); the wrong file was edited",
                join(extra),
                k_kernel_cmdline));
        }
    }

    return out;
}

std::optional<StagedCmdline> read_grub_cfg(const host::Root& root) {
    const auto text = root.read_file_if_exists(k_grub_cfg);
    if (!text) {
        return std::nullopt;
    }
    std::size_t number = 0;
    std::size_t pos = 0;
    while (pos < text->size()) {
        const auto end = std::min(text->find('\n', pos), text->size());
        const std::string_view line = std::string_view(*text).substr(pos, end - pos);
        pos = end + 1;
        ++number;
        // "\tlinux\t/boot/vmlinuz-6.8.12-4-pve root=/dev/mapper/pve-root ro  quiet" (10_linux).
        const auto tokens = kernel::tokenize_cmdline(line);
        if (tokens.size() < 2 || tokens[0].param.name != "linux" || tokens[0].param.value) {
            continue;
        }
        // From the first parameter after the kernel image to the end of the line, as written.
        std::string cmdline;
        if (tokens.size() > 2) {
            cmdline = std::string(trim(line.substr(tokens[2].begin)));
        }
        return StagedCmdline{std::string(k_grub_cfg), number, cmdline};
    }
    return std::nullopt;
}

} // namespace pt::boot
