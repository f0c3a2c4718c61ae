// SPDX-License-Identifier: MIT
#include "pt/check/runner.hpp"

#include "pt/check/host_context.hpp"

namespace pt::check {

Report verify_host(const host::Root& root, const HostRequest& request) {
    const model::Host model(root);
    return verify_host(model, request);
}

Report verify_host(const model::Host& model, const HostRequest& request) {
    const host::Root& root = model.root();
    Report report;
    HostContext ctx(model);
    report.notes = ctx.topology.warnings;
    // VM configs first: they decide the default GPU selection and the ROM check.
    std::vector<Check> vm_checks = check_vms(ctx, request.vmid, report.notes);
    const auto gpus = select_gpus(ctx, request.selector, request.vmid.has_value());

    auto& out = report.checks;
    check_cpu_kvm(ctx, out);
    check_iommu(ctx, out);
    check_cmdline(ctx, out);
    check_modules(ctx, out);
    check_vfio_ids(ctx, out);
    check_initramfs(ctx, out);
    add_platform(root, report);
    check_gpus(ctx, gpus, out, request.vmid);
    out.insert(out.end(),
               std::make_move_iterator(vm_checks.begin()),
               std::make_move_iterator(vm_checks.end()));
    return report;
}

} // namespace pt::check
