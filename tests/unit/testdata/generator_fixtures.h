#pragma once
// What the generator's tests share: a small province (15-day permits with steps and a transfer to
// UBND, 10-day records paused for fees, 4-hour copies; weekday hours 07:30-11:30, 13:00-17:00 at
// +07:00), the options they vary, and the output split into lines.

#include <sstream>
#include <string>
#include <vector>

#include "ontime/rules/config.h"
#include "ontime/testdata/generate.h"

namespace ontime::testdata {

inline rules::RulesConfig TestRules() {
  using namespace std::chrono_literals;
  rules::RulesConfig r;
  r.calendar.utc_offsets.push_back({Instant{}, std::chrono::hours(7)});
  for (int d = 0; d < 5; ++d) r.calendar.weekly[d] = {{450, 690}, {780, 1020}};
  r.departments = {{"SXD", "Construction", {"A", "Director", "a@x"}, 0.998},
                   {"STP", "Justice", {"B", "Director", "b@x"}, 0.998},
                   {"UBND", "People's Committee", {"C", "Chairman", "c@x"}, 0.998}};
  rules::Procedure permit;
  permit.code = "1.004227";
  permit.department = "SXD";
  permit.sla = 15 * 8h;
  permit.steps = {{"SXD", 12 * 8h}, {"UBND", 3 * 8h}};
  rules::Procedure record;
  record.code = "2.000488";
  record.department = "STP";
  record.sla = 10 * 8h;
  record.pause_on_fee = true;
  rules::Procedure copy;
  copy.code = "2.000815";
  copy.department = "STP";
  copy.sla = 4h;
  r.procedures = {permit, record, copy};
  return r;
}

inline GenerateOptions Options(int days, int per_day, uint64_t seed, double invalid) {
  GenerateOptions o;
  o.first_day = *ParseDate("2026-03-02");  // a Monday
  o.days = days;
  o.dossiers_per_day = per_day;
  o.seed = seed;
  o.invalid_fraction = invalid;
  return o;
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace ontime::testdata
