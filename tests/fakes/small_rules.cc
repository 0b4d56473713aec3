#include "fakes/small_rules.h"

#include <gtest/gtest.h>

namespace ontime::testing {

using std::chrono::hours;

Instant At(const std::string& local) {
  auto t = ParseRfc3339(local + "+07:00");
  EXPECT_TRUE(t.has_value()) << local;
  return t.value_or(Instant{});
}

rules::RulesConfig SmallRules() {
  rules::RulesConfig c;
  c.calendar.utc_offsets = {{Instant{}, hours(7)}};
  for (int d = 0; d < 5; ++d) c.calendar.weekly[d] = {{8 * 60, 12 * 60}, {13 * 60, 17 * 60}};
  c.departments = {{"SXD", "Construction", {"Nguyen Van A", "Director", "sxd@example.gov.vn"}},
                   {"UBND", "People's Committee", {"Tran Thi B", "Chair", "ubnd@example.gov.vn"}}};
  c.departments[1].on_time_target = 0.95;
  rules::Procedure permit;
  permit.code = "1.004227";
  permit.department = "SXD";
  permit.sla = hours(120);
  rules::Procedure quick;
  quick.code = "P4H";
  quick.department = "UBND";
  quick.sla = hours(4);
  quick.at_risk_remaining = rules::Threshold{false, 0, hours(1)};
  c.procedures = {permit, quick};
  return c;
}

std::shared_ptr<const rules::CompiledRules> Compile(rules::RulesConfig config) {
  auto compiled = rules::CompiledRules::Compile(std::move(config));
  EXPECT_TRUE(compiled.ok()) << (compiled.ok() ? "" : compiled.error().message);
  return compiled.ok() ? compiled.value() : nullptr;
}

}  // namespace ontime::testing
