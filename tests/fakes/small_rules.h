#pragma once
// A small set of rules for the daemon's unit tests: Mon-Fri 08:00-12:00, 13:00-17:00 at +07:00;
// SXD holds the 15-day permit "1.004227", UBND (on-time target 0.95) a 4-hour one "P4H".

#include <memory>
#include <string>

#include "ontime/rules/engine.h"

namespace ontime::testing {

rules::RulesConfig SmallRules();
std::shared_ptr<const rules::CompiledRules> Compile(rules::RulesConfig config);
// "2026-03-02T09:00:00" read at +07:00.
Instant At(const std::string& local);

}  // namespace ontime::testing
