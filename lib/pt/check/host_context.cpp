// SPDX-License-Identifier: MIT
#include "pt/check/host_context.hpp"

#include <algorithm>

namespace pt::check {

std::optional<bool> HostContext::module_loaded(std::string_view name) const {
    const std::string normal = conf::normalise_module(name);
    if (proc_modules
        && std::find(proc_modules->begin(), proc_modules->end(), normal) != proc_modules->end()) {
        return true;
    }
    if (root.exists(host::join("/sys/module", normal))) {
        return true;
    }
    if (!proc_modules) {
        return std::nullopt;
    }
    return false;
}

HostContext load_host(const host::Root& root) {
    HostContext ctx(root);
    ctx.facts = kernel::read_host_facts(root);
    ctx.topology = pci::scan(root, nullptr);
    ctx.iommu = iommu::read_iommu(root, &ctx.topology);
    ctx.modprobe = conf::read_modprobe_d(root);
    ctx.log = kernel::read_kernel_log(root);
    if (ctx.log.lines) {
        ctx.log_facts = kernel::read_log_facts(*ctx.log.lines);
    }
    if (const auto text = root.read_attr("/proc/modules")) {
        std::vector<std::string> names;
        std::size_t pos = 0;
        while (pos < text->size()) {
            const auto end = std::min(text->find('\n', pos), text->size());
            const auto line = std::string_view(*text).substr(pos, end - pos);
            const auto space = std::min(line.find(' '), line.size());
            if (space > 0) {
                names.push_back(conf::normalise_module(line.substr(0, space)));
            }
            pos = end + 1;
        }
        ctx.proc_modules = std::move(names);
    }
    return ctx;
}

Check make(std::string what,
           std::string id,
           Status status,
           std::string summary,
           std::string evidence,
           std::string fix) {
    return Check{
        std::move(what),
        Finding{std::move(id), status, std::move(summary), std::move(evidence), std::move(fix)}};
}

} // namespace pt::check
