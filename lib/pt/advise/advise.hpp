// SPDX-License-Identifier: MIT
#pragma once

#include "pt/out/json.hpp"
#include "pt/pci/address.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pt::model {
class Host;
}

namespace pt::advise {

// pt advise [SEL]: which way to put a card to work on this host, from this host's facts: a VM
// that owns the card (PCI passthrough), containers that share it through the host's driver
// (LXC), or neither (bare metal), with the reasons, the risks and the first command.

enum class Recommendation { vm, lxc, bare_metal };

// "vm", "lxc", "bare-metal" (the JSON values).
std::string to_string(Recommendation recommendation);

struct Request {
    std::optional<std::string> selector; // SEL; default: the one card the host can spare
    bool display = false;                // --display: the card drives a screen (gaming, a desktop)
    bool share = false; // --share: several containers or services use the card at once
};

struct Advice {
    pci::Address card;     // function 0 of the card's slot
    std::string card_name; // "10de:2204 GA102 [GeForce RTX 3090]"
    Recommendation recommendation = Recommendation::vm;
    std::vector<std::string> reasons; // this host's facts that decide it, most decisive first
    std::vector<std::string> risks;   // what can still go wrong on that path, with its remedy
    std::string next;                 // the first command of that path
};

// Advises on `host`. Reads nothing beyond the model but the containers' configs
// (/etc/pve/nodes/*/lxc/*.conf) and, for the next step of the LXC path, the card's device nodes
// (its drm folder in sysfs, /proc/driver/nvidia/gpus/ADDR/information).
// Throws pt::UsageError for a malformed SEL or one that names several cards (listing them);
// pt::Error when SEL matches no display device, or when the host has no GPU, or several that it
// can spare and no SEL picks one (listing them, with the command for each).
Advice advise(const model::Host& host, const Request& request);

// "pt advise: 0000:81:00 10de:2204 GA102 [GeForce RTX 3090]", "recommendation: vm (...)", the
// reasons, the risks and "next: ...".
std::string render_text(const Advice& advice);

// {"card", "name", "recommendation": "vm"|"lxc"|"bare-metal", "reasons": [...], "risks": [...],
//  "next": "..."}; documented in pt-advise(1).
out::Json to_json(const Advice& advice);

} // namespace pt::advise
