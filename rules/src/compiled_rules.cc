#include <algorithm>

#include "ontime/rules/engine.h"

namespace ontime::rules {
namespace {

std::optional<uint32_t> Lookup(const std::vector<std::pair<std::string, uint32_t>>& index,
                               std::string_view code) {
  auto it = std::lower_bound(index.begin(), index.end(), code,
                             [](const auto& entry, std::string_view c) { return entry.first < c; });
  if (it == index.end() || it->first != code) return std::nullopt;
  return it->second;
}

}  // namespace

Result<std::shared_ptr<const CompiledRules>> CompiledRules::Compile(RulesConfig config) {
  auto calendar = BusinessCalendar::Build(config.calendar);
  if (!calendar.ok()) return calendar.error();
  auto rules = std::make_shared<CompiledRules>();
  rules->config_ = std::move(config);
  rules->calendar_ = std::move(calendar).value();
  const RulesConfig& c = rules->config_;
  if (c.procedures.size() > kMaxCodes || c.departments.size() > kMaxCodes) {
    return Error{"too_many_codes",
                 "at most " + std::to_string(kMaxCodes) + " procedures and as many departments"};
  }
  for (uint32_t i = 0; i < c.departments.size(); ++i) {
    rules->department_index_.emplace_back(c.departments[i].code, i);
  }
  std::sort(rules->department_index_.begin(), rules->department_index_.end());
  if (c.defaults.max_apology_letters < 0) {
    return Error{"invalid_limit", "defaults.max_apology_letters must be 0 or more"};
  }
  if (c.defaults.max_apology_letters > 0 && !c.escalation) {
    return Error{"missing_escalation", "defaults.max_apology_letters needs an escalation contact"};
  }
  if (c.predict) {
    const PredictConfig& pc = *c.predict;
    if (!(pc.threshold > 0 && pc.threshold <= 1)) {
      return Error{"invalid_predict", "predict.threshold must be in (0, 1]"};
    }
    if (pc.min_history < 1)
      return Error{"invalid_predict", "predict.min_history must be 1 or more"};
    if (pc.fractions.size() > 32) {
      return Error{"invalid_predict", "predict.fractions: at most 32"};
    }
    for (size_t k = 0; k < pc.fractions.size(); ++k) {
      const double f = pc.fractions[k];
      if (!(f > 0 && f < 1) || (k > 0 && !(f > pc.fractions[k - 1]))) {
        return Error{"invalid_predict", "predict.fractions must increase, each in (0, 1)"};
      }
    }
  }
  for (uint32_t i = 0; i < c.procedures.size(); ++i) {
    rules->procedure_index_.emplace_back(c.procedures[i].code, i);
  }
  std::sort(rules->procedure_index_.begin(), rules->procedure_index_.end());
  for (const Procedure& p : c.procedures) {
    ProcedureRules r;
    auto department = rules->FindDepartment(p.department);
    if (!department) {
      return Error{"unknown_department",
                   "procedure " + p.code + ": unknown department \"" + p.department + "\""};
    }
    r.department = *department;
    r.sla = p.sla;
    r.at_risk_remaining = p.at_risk_remaining.value_or(c.defaults.at_risk_remaining);
    r.apology_extension = p.apology_extension.value_or(c.defaults.apology_extension);
    r.on_supplement = p.on_supplement.value_or(c.defaults.on_supplement);
    r.pause_on_fee = p.pause_on_fee;
    r.max_apology_letters = c.defaults.max_apology_letters;
    if (r.sla <= Duration::zero() || r.apology_extension <= Duration::zero()) {
      return Error{"invalid_duration",
                   "procedure " + p.code + ": sla and apology_extension must be positive"};
    }
    // Every deadline the engine computes starts no later than kLatestEventTime: the calendar
    // must have room for it there, so that no event or breach can ask past its table.
    const BusinessCalendar& cal = *rules->calendar_;
    for (Duration budget : {r.sla, r.apology_extension}) {
      if (!cal.Add(kLatestEventTime, budget)) {
        return Error{"invalid_duration", "procedure " + p.code +
                                             ": a budget longer than the calendar's working time "
                                             "after 2200-01-01"};
      }
    }
    r.step_budgets.assign(c.departments.size(), Duration{0});
    for (const StepBudget& step : p.steps) {
      auto step_department = rules->FindDepartment(step.department);
      if (!step_department) {
        return Error{
            "unknown_department",
            "procedure " + p.code + ": step for unknown department \"" + step.department + "\""};
      }
      if (!rules->calendar_->Add(kLatestEventTime, step.budget)) {
        return Error{"invalid_duration", "procedure " + p.code + ": step budget for " +
                                             step.department +
                                             " is longer than the calendar's "
                                             "working time after 2200-01-01"};
      }
      r.step_budgets[*step_department] = step.budget;
    }
    rules->procedure_rules_.push_back(std::move(r));
  }
  return std::shared_ptr<const CompiledRules>(std::move(rules));
}

std::optional<uint32_t> CompiledRules::FindProcedure(std::string_view code) const {
  return Lookup(procedure_index_, code);
}

std::optional<uint32_t> CompiledRules::FindDepartment(std::string_view code) const {
  return Lookup(department_index_, code);
}

}  // namespace ontime::rules
