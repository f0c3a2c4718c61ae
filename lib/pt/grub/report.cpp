// SPDX-License-Identifier: MIT
#include "pt/grub/report.hpp"

#include "pt/error.hpp"
#include "pt/model/host.hpp"

#include <utility>

namespace pt::grub {

Report read_report(const model::Host& host) {
    Report out;
    out.platform = proxmox::read_platform(host.root());
    if (out.platform) {
        const auto meta = proxmox::check_systemd_boot_meta(*out.platform);
        if (meta && meta->status != out::Status::pass) {
            out.warnings.push_back(*meta);
        }
    }
    out.status = host.boot();
    if (out.status.detection.kind != boot::Bootloader::unknown && out.status.problems.empty()) {
        try {
            Planned planned = plan_cmdline_changes(host, Request{});
            out.needed = std::move(planned.changes);
            out.follow_ups = planned.plan.follow_ups;
        } catch (const Error& e) {
            out.status.problems.emplace_back(e.what());
        }
    }
    return out;
}

} // namespace pt::grub
