// What the engine shows of a dossier as of some `now`: reports, the HTTP API, the summary.

#include <functional>

#include "engine_state.h"

namespace ontime::rules {

DossierView Engine::State::View(const Dossier& d, Instant now) const {
  const BusinessCalendar& cal = calendar();
  DossierView v;
  v.dossier_id = d.id();
  v.procedure = rules->procedure(d.procedure).code;
  v.department = rules->department(d.holder).code;
  v.state = d.state;
  v.accepted_at = d.accepted_at;
  v.original_due_at = d.first_due;
  v.due_at = d.due;
  v.cycle = d.cycle;
  v.supplements = d.supplements;
  v.apology_letters = d.letters;
  v.step = d.step;
  v.applicant = d.text.applicant();
  if (d.open()) {
    v.paused = d.pause_mask != 0;
    v.remaining = cal.Remaining(now, d.due);
    v.at_risk = !v.paused && cal.Between(now, d.due) <= AtRiskThreshold(d);
    v.overdue = now > d.first_due && !(v.paused && d.has(kFirstPaused));
    v.working_time = d.working_run + (v.paused ? Duration{} : cal.Between(d.run_since, now));
  } else {
    v.closed_at = d.closed_at;
    if (d.outcome == static_cast<uint8_t>(Outcome::kOnTime) ||
        d.outcome == static_cast<uint8_t>(Outcome::kLate)) {
      v.outcome = static_cast<Outcome>(d.outcome);
    }
    v.working_time = d.working_run;
  }
  return v;
}

size_t Engine::timers_pending() const { return state_->timers.size(); }
size_t Engine::dossiers_tracked() const { return state_->live; }

std::optional<DossierView> Engine::Find(std::string_view dossier_id, Instant now) const {
  auto i = state_->FindIndex(dossier_id);
  if (!i || state_->Released(state_->dossiers[*i])) return std::nullopt;
  return state_->View(state_->dossiers[*i], now);
}

void Engine::ForEachDossier(Instant now,
                            const std::function<void(const DossierView&)>& visit) const {
  for (const Dossier& d : state_->dossiers) {
    if (d.in_use() && !state_->Released(d)) visit(state_->View(d, now));
  }
}

Summary Engine::Summarize(Instant now) const {
  Summary s;
  double working_minutes = 0;
  for (const Dossier& d : state_->dossiers) {
    if (!d.in_use() || state_->Released(d)) continue;
    ++s.accepted;
    s.apology_letters += d.letters;
    if (d.open()) {
      ++s.open;
      DossierView v = state_->View(d, now);
      if (v.overdue) ++s.open_overdue;
      if (v.at_risk) ++s.open_at_risk;
      continue;
    }
    if (d.outcome == static_cast<uint8_t>(Outcome::kOnTime)) {
      ++s.closed_on_time;
    } else if (d.outcome == static_cast<uint8_t>(Outcome::kLate)) {
      ++s.closed_late;
    } else {
      continue;
    }
    working_minutes += static_cast<double>(d.working_run.count()) / 60000.0;
  }
  int64_t judged = s.closed_on_time + s.closed_late;
  if (judged > 0) {
    s.on_time_rate = static_cast<double>(s.closed_on_time) / static_cast<double>(judged);
    s.avg_resolution_working_minutes = working_minutes / static_cast<double>(judged);
  }
  return s;
}

const std::vector<std::array<int64_t, kOpenStateCount>>& Engine::open_counts() const {
  return state_->open_counts;
}

}  // namespace ontime::rules
