#pragma once
// The SLA rules as typed, validated plain data (contract section 2). The daemon's loader fills it
// from YAML; the engine compiles it (rules.h). No YAML here.

#include <optional>
#include <string>
#include <vector>

#include "ontime/rules/calendar.h"
#include "ontime/rules/duration.h"

namespace ontime::rules {

struct Person {
  std::string name;
  std::string title;
  std::string email;
};

struct Department {
  std::string code;
  std::string name;
  Person head;
  double on_time_target = 0.998;  // extension: the department's on-time target, for alerting
};

enum class OnSupplement { kPause, kRestart };

struct StepBudget {
  std::string department;  // a departments[].code
  Duration budget{};
};

struct Procedure {
  std::string code;
  std::string name;
  std::string department;  // default holder, a departments[].code
  Duration sla{};
  std::optional<Threshold> at_risk_remaining;  // overrides defaults
  std::optional<Duration> apology_extension;   // overrides defaults
  std::optional<OnSupplement> on_supplement;   // overrides defaults
  bool pause_on_fee = false;
  std::vector<StepBudget> steps;
};

struct Defaults {
  Threshold at_risk_remaining{false, 0, std::chrono::hours(8)};
  Duration apology_extension = std::chrono::hours(40);
  OnSupplement on_supplement = OnSupplement::kPause;
  // After this many apology letters for one dossier, each later breach raises an `escalated`
  // alert to `RulesConfig::escalation` instead of another letter. 0 = no limit.
  int max_apology_letters = 0;
};

// predicted_late (extension): from the closed dossiers of each procedure, the engine learns the
// distribution of working time to close T and, for an open running dossier that has used working
// time e of its budget B, estimates P(late) = P(T > B | T > e). Evaluated at each of its events and
// when e reaches each fraction of B; an alert when it reaches `threshold`, once per cycle.
struct PredictConfig {
  double threshold = 0.7;
  // Below this many closed dossiers of its procedure (in the partitions held): no prediction.
  int min_history = 30;
  std::vector<double> fractions = {0.1, 0.2, 0.3, 0.4, 0.5,
                                   0.6, 0.7, 0.8, 0.9};  // increasing, in (0,1)
};

struct RulesConfig {
  CalendarSpec calendar;
  Defaults defaults;
  std::vector<Department> departments;
  std::vector<Procedure> procedures;
  // Who hears of a dossier that has had `defaults.max_apology_letters` letters (the province's
  // inspectorate, say). Required when that limit is set.
  std::optional<Person> escalation;
  // Off (no learning, no prediction) when absent.
  std::optional<PredictConfig> predict;
};

}  // namespace ontime::rules
