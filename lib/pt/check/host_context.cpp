// SPDX-License-Identifier: MIT
#include "pt/check/host_context.hpp"

#include <algorithm>

namespace pt::check {

HostContext::HostContext(const model::Host& model)
    : host(model)
    , root(model.root())
    , facts(model.facts())
    , topology(model.topology())
    , iommu(model.iommu())
    , log(model.log())
    , log_facts(model.log_facts())
    , proc_modules(model.proc_modules()) {}

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
