// The SLA engine's state machine (contract section 3): events and timers move each dossier's
// clock through its cycles, pauses and steps, and what falls due is emitted to the listener.

#include "ontime/rules/engine.h"

#include <algorithm>
#include <cmath>

#include "engine_state.h"
#include "ontime/base/check.h"

namespace ontime::rules {
namespace {

constexpr std::string_view kLetterReason =
    "The legal processing time ended before the result was ready.";

}  // namespace

Instant Engine::State::NextTimer(const Dossier& d) const {
  if (!d.open()) return RetireAt(d);
  Instant next = kNever;
  if (d.running() && !d.has(kAtRiskSent)) next = std::min(next, AtRiskAt(d));
  if (DueTimerActive(d)) next = std::min(next, d.due);
  if (FirstDueTimerActive(d)) next = std::min(next, d.first_due);
  if (StepTimerActive(d)) next = std::min(next, d.step_due);
  if (PredictActive(d)) next = std::min(next, PredictAt(d));
  return next;
}

Duration Engine::State::FractionTarget(const Dossier& d, size_t k) const {
  const double f = predict()->fractions[k];
  return Duration{static_cast<int64_t>(std::llround(f * static_cast<double>(d.budget.count())))};
}

Instant Engine::State::PredictAt(const Dossier& d) const {
  if (d.predict_points >= predict()->fractions.size()) return kNever;
  const Duration target = FractionTarget(d, d.predict_points);
  if (target <= d.working_run) return d.run_since;
  return calendar().Add(d.run_since, target - d.working_run).value_or(kNever);
}

QuantileSketch& Engine::State::HistoryOf(uint32_t slot, int32_t partition) {
  if (history.size() < slot_count()) history.resize(slot_count());
  History& h = history[slot];
  const size_t p = static_cast<size_t>(std::max(partition, 0));
  if (h.by_partition.size() <= p) h.by_partition.resize(p + 1);
  return h.by_partition[p];
}

const QuantileSketch& Engine::State::MergedHistory(uint32_t slot) {
  if (history.size() < slot_count()) history.resize(slot_count());
  History& h = history[slot];
  if (h.stale) {
    // In partition order, whatever order they were learned or restored in: the same sums.
    h.merged.Clear();
    for (const QuantileSketch& part : h.by_partition) h.merged.Merge(part);
    h.stale = false;
  }
  return h.merged;
}

void Engine::State::SettleHistory(Instant before) {
  if (pending_closes.empty()) return;
  std::erase_if(pending_closes, [&](const PendingClose& c) {
    if (c.closed_at >= before) return false;
    for (const uint32_t slot : {c.procedure, HistorySlot(c.procedure, c.department)}) {
      HistoryOf(slot, c.partition).Add(c.working_time);
      history[slot].stale = true;
    }
    return true;
  });
}

std::vector<std::pair<Instant, Duration>> Engine::State::PendingOf(uint32_t slot,
                                                                   int32_t partition) const {
  std::vector<std::pair<Instant, Duration>> pending;
  const auto [procedure, department] = SlotKey(slot);
  if (department == kAnyDepartment) return pending;  // the department's record carries them
  for (const PendingClose& c : pending_closes) {
    if (c.procedure == procedure && c.department == department && c.partition == partition) {
      pending.emplace_back(c.closed_at, c.working_time);
    }
  }
  return pending;
}

void Engine::State::EncodeHistory(uint32_t slot, int32_t partition, std::string& out) {
  const auto [procedure, department] = SlotKey(slot);
  EncodeHistoryRecord(rules->procedure(procedure).code,
                      department == kAnyDepartment
                          ? std::string_view{}
                          : std::string_view{rules->department(department).code},
                      HistoryOf(slot, partition), PendingOf(slot, partition), out);
}

Status Engine::State::RestoreHistory(int32_t partition, std::string_view record) {
  HistoryRecord h;
  if (Status decoded = DecodeHistoryRecord(record, *rules, h); !decoded.ok()) return decoded;
  const uint32_t slot = HistorySlot(h.procedure, h.department);
  HistoryOf(slot, partition) = std::move(h.sketch);
  history[slot].stale = true;
  if (h.department == kAnyDepartment) return Ok{};
  std::erase_if(pending_closes, [&](const PendingClose& c) {
    return c.procedure == h.procedure && c.department == h.department && c.partition == partition;
  });
  for (const auto& [closed_at, working] : h.pending) {
    pending_closes.push_back({closed_at, working, h.procedure, h.department, partition});
  }
  return Ok{};
}

const QuantileSketch& Engine::State::HistoryAsOf(uint32_t slot, Instant at,
                                                 QuantileSketch& scratch) {
  const QuantileSketch* merged = &MergedHistory(slot);
  for (const PendingClose& c : pending_closes) {
    if (!InSlot(c, slot) || c.closed_at >= at) continue;
    if (merged != &scratch) {
      scratch = *merged;
      merged = &scratch;
    }
    scratch.Add(c.working_time);
  }
  return *merged;
}

std::optional<Engine::Prediction> Engine::State::PredictFor(uint32_t procedure, uint32_t department,
                                                            Duration used, Duration budget,
                                                            Instant at) {
  const PredictConfig* config = predict();
  if (!config || used >= budget) return std::nullopt;
  const auto enough = static_cast<uint64_t>(config->min_history);
  QuantileSketch& scratch = prediction_scratch;  // its buckets' capacity kept between calls
  const QuantileSketch* h = nullptr;
  if (department != kAnyDepartment) {
    const QuantileSketch& own = HistoryAsOf(HistorySlot(procedure, department), at, scratch);
    if (own.count() >= enough) h = &own;
  }
  if (!h) h = &HistoryAsOf(procedure, at, scratch);
  if (h->count() < enough) return std::nullopt;
  const uint64_t above_used = h->CountAbove(used);
  if (above_used == 0) return std::nullopt;
  Prediction p;
  p.probability = static_cast<double>(h->CountAbove(budget)) / static_cast<double>(above_used);
  p.median = std::max(h->QuantileAbove(used, 0.5).value_or(used), used);
  p.history = h->count();
  return p;
}

void Engine::State::Learn(const Dossier& d) {
  if (!predict()) return;
  const auto outcome = static_cast<Outcome>(d.outcome);
  if (outcome != Outcome::kOnTime && outcome != Outcome::kLate) return;
  pending_closes.push_back({d.closed_at, d.working_run, d.procedure, d.holder, d.partition});
  if (!track_changes) return;
  for (const uint32_t slot : {uint32_t{d.procedure}, HistorySlot(d.procedure, d.holder)}) {
    const std::pair<int32_t, uint32_t> key{d.partition, slot};
    if (std::find(history_changed.begin(), history_changed.end(), key) == history_changed.end()) {
      history_changed.push_back(key);
    }
  }
}

void Engine::State::Predict(uint32_t i, Instant at, bool timer) {
  Dossier& d = dossiers[i];
  if (!PredictActive(d)) return;
  const size_t points = predict()->fractions.size();
  const Duration used = WorkingTime(d, at);
  if (timer && d.predict_points < points) ++d.predict_points;  // never the same point twice
  while (d.predict_points < points && FractionTarget(d, d.predict_points) <= used) {
    ++d.predict_points;
  }
  const std::optional<Prediction> p = PredictFor(d.procedure, d.holder, used, d.budget, at);
  if (!p || p->probability < predict()->threshold) return;
  d.set(kPredictedSent, true);
  CountPredicted(d, +1);
  Alert alert = MakeAlert(d, AlertKind::kPredictedLate, d.first_due, at);
  alert.probability = p->probability;
  alert.expected_close_at = calendar().Add(at, p->median - used).value_or(kLatestEventTime);
  listener->OnAlert(alert);
}

void Engine::State::Reschedule(uint32_t i) {
  Dossier& d = dossiers[i];
  const Instant next = NextTimer(d);
  if (next == kNever) {
    timers.Cancel(i);
  } else {
    timers.Schedule(i, next);
  }
}

OpenState Engine::State::GaugeState(const Dossier& d) const {
  if (d.has(kFirstBreached)) return OpenState::kOverdue;
  if (d.pause_mask != 0) return OpenState::kPaused;
  if (d.has(kAtRiskSent)) return OpenState::kAtRisk;
  return OpenState::kOnTrack;
}

void Engine::State::UpdateGauge(Dossier& d) {
  if (!d.open()) return;
  OpenState now = GaugeState(d);
  if (now == d.open_state) return;
  --open_counts[d.holder][static_cast<int>(d.open_state)];
  ++open_counts[d.holder][static_cast<int>(now)];
  d.open_state = now;
}

Alert Engine::State::MakeAlert(const Dossier& d, AlertKind kind, Instant due,
                               Instant detected) const {
  Alert a;
  a.kind = kind;
  a.dossier_id = d.id();
  a.procedure = rules->procedure(d.procedure).code;
  a.department = rules->department(d.holder).code;
  a.department_index = d.holder;
  a.cycle = d.cycle;
  a.step = d.step;
  a.due_at = due;
  a.detected_at = detected;
  a.remaining = calendar().Remaining(detected, due);
  a.notify = &rules->department(d.holder).head;
  return a;
}

void Engine::State::Breach(Dossier& d) {
  Instant breach = d.due;
  listener->OnAlert(MakeAlert(d, AlertKind::kOverdue, breach, breach));
  if (d.first_due <= breach && !(d.pause_mask != 0 && d.has(kFirstPaused))) {
    d.set(kFirstBreached, true);
  }
  Duration extension = procedure_rules(d).apology_extension;
  // The clock never passes kLatestEventTime and Compile checked that every extension fits in
  // the calendar from there, so a new cycle always ends after its breach: never a loop.
  std::optional<Instant> next_due = calendar().Add(breach, extension);
  ONTIME_CHECK(next_due && *next_due > breach, "a breach must start a cycle that ends after it");
  Instant new_due = *next_due;
  const int max_letters = procedure_rules(d).max_apology_letters;
  if (max_letters > 0 && d.letters >= max_letters) {
    // Enough letters for one citizen: whoever the province names hears of it instead.
    Alert escalated = MakeAlert(d, AlertKind::kEscalated, breach, breach);
    escalated.notify = &*rules->config().escalation;
    listener->OnAlert(escalated);
    StartCycle(d, new_due, extension, breach);
    ContinuePauseAfterBreach(d, new_due);
    return;
  }
  ApologyLetter letter;
  letter.dossier_id = d.id();
  letter.procedure = rules->procedure(d.procedure).code;
  letter.department = rules->department(d.holder).code;
  letter.department_index = d.holder;
  letter.applicant = d.text.applicant();
  letter.cycle = d.cycle;
  letter.accepted_at = d.accepted_at;
  letter.original_due_at = d.first_due;
  letter.new_due_at = new_due;
  letter.issued_at = breach;
  letter.reason = kLetterReason;
  letter.signer = &rules->department(d.holder).head;
  ++d.letters;
  listener->OnApologyLetter(letter);
  StartCycle(d, new_due, extension, breach);
  ContinuePauseAfterBreach(d, new_due);
}

void Engine::State::ContinuePauseAfterBreach(Dossier& d, Instant new_due) {
  if (d.pause_mask == 0) return;
  d.anchor = d.pause_began;
  d.set(kDuePaused, d.pause_began <= new_due);
}

void Engine::State::StartCycle(Dossier& d, Instant due, Duration budget, Instant at) {
  ++d.cycle;
  d.due = due;
  d.cycle_budget = budget;
  d.anchor = at;
  d.set(kAtRiskSent, false);
  d.set(kFirstPaused, false);
  CountPredicted(d, -1);
  d.set(kPredictedSent, false);
}

void Engine::State::Fire(uint32_t i, Instant at) {
  Dossier& d = dossiers[i];
  if (!d.open()) {
    if (RetireAt(d) <= at) Retire(i);
    return;
  }
  MarkChanged(i);
  if (PredictActive(d) && PredictAt(d) <= at) Predict(i, at, true);
  if (d.running() && !d.has(kAtRiskSent) && AtRiskAt(d) <= at) {
    d.set(kAtRiskSent, true);
    listener->OnAlert(MakeAlert(d, AlertKind::kAtRisk, d.due, AtRiskAt(d)));
  }
  if (FirstDueTimerActive(d) && d.first_due <= at) d.set(kFirstBreached, true);
  if (DueTimerActive(d) && d.due <= at) Breach(d);
  if (StepTimerActive(d) && d.step_due <= at) {
    d.set(kStepAlertSent, true);
    listener->OnAlert(MakeAlert(d, AlertKind::kStepOverdue, d.step_due, d.step_due));
  }
  UpdateGauge(d);
  Reschedule(i);
}

void Engine::State::FireBefore(Instant limit) {
  size_t unlimited = SIZE_MAX;
  FireBefore(limit, unlimited);
}

bool Engine::State::FireBefore(Instant limit, size_t& budget) {
  while (!timers.empty()) {
    uint32_t i = timers.top();
    Instant at = timers.top_at();
    if (at >= limit) return true;
    if (budget == 0) return false;
    --budget;
    if (Released(dossiers[i])) {
      FreeDossier(i);  // given away: the new owner fires it
      continue;
    }
    if (ReconfigurePending(i)) {
      Recompute(i);  // new rules: its timer may move
      continue;
    }
    Fire(i, at);
  }
  return true;
}

void Engine::State::FireDossierBefore(uint32_t i, Instant limit) {
  while (timers.scheduled(i) && timers.at(i) < limit) {
    Fire(i, timers.at(i));
  }
}

void Engine::State::Pause(uint32_t i, Instant p, uint8_t reason) {
  Dossier& d = dossiers[i];
  if (d.pause_mask != 0) {
    d.pause_mask |= reason;
    return;
  }
  d.pause_mask = reason;
  d.pause_began = p;
  // The at-risk floor stays the cycle's start if the pause is older than it (a lagging dossier
  // whose timers already ran past it, in replay).
  d.anchor = std::max(d.anchor, p);
  d.working_run += calendar().Between(d.run_since, p);
  // A pause at the very due instant is in time: R = 0, applied at resume.
  d.set(kDuePaused, p <= d.due);
  d.set(kFirstPaused, d.cycle == 1 && !d.has(kFirstBreached) && p <= d.first_due);
  d.set(kStepPaused, StepBudget(d) > Duration::zero() && p <= d.step_due);
  d.set(kExtendedInPause, false);
  UpdateGauge(d);
  Reschedule(i);
}

ApplyStatus Engine::State::Resume(uint32_t i, Instant r, uint8_t reason) {
  Dossier& d = dossiers[i];
  if ((d.pause_mask & reason) == 0) return ApplyStatus::kApplied;
  if ((d.pause_mask & ~reason) != 0) {  // still paused for another reason
    d.pause_mask &= ~reason;
    return ApplyStatus::kApplied;
  }
  const BusinessCalendar& cal = calendar();
  const Instant p = d.pause_began;
  r = std::max(r, p);
  // An upstream extension during the pause set its own remaining time (from its instant).
  const bool restart = d.has(kRestartOnResume) && !d.has(kExtendedInPause);
  std::optional<Instant> due = d.due;
  std::optional<Instant> step_due = d.step_due;
  if (d.has(kDuePaused)) {
    // R counts from the pause, or from an upstream extension that came during it.
    const Instant remaining_from = d.has(kExtendedInPause) ? d.anchor : p;
    due = restart ? cal.Add(r, d.budget) : cal.Add(r, cal.Between(remaining_from, d.due));
  }
  if (d.has(kStepPaused)) step_due = cal.Add(r, cal.Between(p, d.step_due));
  if (!due || !step_due) return ApplyStatus::kTimeOutOfRange;
  d.pause_mask = 0;
  d.paused_wall += r - p;
  d.run_since = r;
  d.anchor = std::max(d.anchor, r);  // no at-risk before the cycle's start or this resume
  if (d.has(kDuePaused) && restart) d.cycle_budget = d.budget;
  d.due = *due;
  d.step_due = *step_due;
  if (d.has(kFirstPaused)) d.first_due = d.due;  // in cycle 1 the two are one due
  for (uint16_t flag :
       {kDuePaused, kFirstPaused, kStepPaused, kExtendedInPause, kRestartOnResume}) {
    d.set(flag, false);
  }
  UpdateGauge(d);
  Reschedule(i);
  return ApplyStatus::kApplied;
}

void Engine::State::Close(uint32_t i, Instant c, DossierState state,
                          std::optional<Outcome> fixed_outcome) {
  Dossier& d = dossiers[i];
  bool paused = d.pause_mask != 0;
  Outcome outcome;
  if (fixed_outcome) {
    outcome = *fixed_outcome;
  } else {
    Instant judged_at = paused ? d.pause_began : c;
    outcome = judged_at <= d.first_due ? Outcome::kOnTime : Outcome::kLate;
  }
  if (!paused) d.working_run += calendar().Between(d.run_since, c);
  Duration wall = (c - d.accepted_at) - d.paused_wall - (paused ? c - d.pause_began : Duration{});
  --open_counts[d.holder][static_cast<int>(d.open_state)];
  CountPredicted(d, -1);
  d.state = state;
  d.closed_at = c;
  d.outcome = static_cast<uint8_t>(outcome);
  Learn(d);
  Reschedule(i);  // with retention: when it leaves the state
  listener->OnClosed(d.holder, outcome, Seconds(std::max(wall, Duration{})),
                     Seconds(d.working_run));
  listener->OnAlertsEnded(d.id(), c);
}

uint32_t Engine::State::NewDossier(std::string_view id,
                                   const std::optional<ApplicantView>& applicant,
                                   int32_t partition) {
  uint32_t i;
  if (free_slots.empty()) {
    i = static_cast<uint32_t>(dossiers.size());
    ONTIME_CHECK(i < kNotInHeap, "more dossiers than the engine can index");
    dossiers.emplace_back();
  } else {
    i = free_slots.back();
    free_slots.pop_back();
  }
  Dossier& d = dossiers[i];
  if (ReconfigurePending(i)) reconfigure_pending[i] = false;  // a new dossier: the new rules
  d.text = DossierText::Pack(id, applicant);
  d.seq = next_seq++;
  d.partition = partition;
  index.Insert(i, HashText(d.id()), [this](uint32_t k) { return HashText(dossiers[k].id()); });
  ++live;
  ++PartitionSize(partition);
  return i;
}

void Engine::State::FreeDossier(uint32_t i) {
  Dossier& d = dossiers[i];
  if (!d.in_use()) return;
  index.Erase(i, HashText(d.id()), [this](uint32_t k) { return HashText(dossiers[k].id()); });
  timers.Cancel(i);
  if (d.open()) --open_counts[d.holder][static_cast<int>(d.open_state)];
  CountPredicted(d, -1);
  const int32_t partition = d.partition;
  const size_t left = --PartitionSize(partition);
  d = Dossier{};
  free_slots.push_back(i);
  --live;
  if (left == 0 && Released(partition)) {
    released[static_cast<size_t>(partition)] = 0;
    if (--releasing == 0) release_cursor = 0;
  }
}

void Engine::State::Retire(uint32_t i) {
  const Dossier& d = dossiers[i];
  if (track_changes) removed.emplace_back(d.partition, std::string(d.id()));
  FreeDossier(i);
}

namespace {
constexpr int32_t kMaxPartitions = 1 << 16;
}  // namespace

Instant& Engine::State::PartitionClock(int32_t partition) {
  const size_t p = static_cast<size_t>(std::clamp(partition, 0, kMaxPartitions - 1));
  if (p >= partition_clocks.size()) partition_clocks.resize(p + 1, kEarliestEventTime);
  return partition_clocks[p];
}

size_t& Engine::State::PartitionSize(int32_t partition) {
  const size_t p = static_cast<size_t>(std::clamp(partition, 0, kMaxPartitions - 1));
  if (p >= partition_sizes.size()) partition_sizes.resize(p + 1, 0);
  return partition_sizes[p];
}

ApplyStatus Engine::State::Accept(const Event& e, const EventCodes& codes, int32_t partition,
                                  uint32_t& slot) {
  const uint32_t procedure = codes.procedure;
  const auto& pr = rules->procedure_rules(procedure);
  const uint32_t department = *codes.department;
  const BusinessCalendar& cal = calendar();
  const Instant t = e.occurred_at;
  const std::optional<Instant> due = e.due_at ? e.due_at : cal.Add(t, pr.sla);
  const Duration step_budget = pr.step_budgets[department];
  const std::optional<Instant> step_due =
      step_budget > Duration::zero() ? cal.Add(t, step_budget) : Instant{};
  if (!due || !step_due) return ApplyStatus::kTimeOutOfRange;
  const uint32_t i = NewDossier(e.dossier_id, e.applicant, partition);
  slot = i;
  Dossier& d = dossiers[i];
  d.accepted_at = t;
  d.run_since = t;
  d.anchor = t;
  d.procedure = static_cast<uint16_t>(procedure);  // Compile bounds both by kMaxCodes
  d.holder = static_cast<uint16_t>(department);
  d.budget = e.due_at ? cal.Between(t, *e.due_at) : pr.sla;
  d.set(kBudgetFromDueAt, e.due_at.has_value());
  d.due = *due;
  d.first_due = d.due;
  d.cycle_budget = d.budget;
  d.step_due = *step_due;
  ++open_counts[d.holder][static_cast<int>(d.open_state)];
  listener->OnAccepted(department, e.channel, e.reception_seconds);
  Reschedule(i);
  return ApplyStatus::kApplied;
}

ApplyStatus Engine::State::Transfer(uint32_t i, const Event& e,
                                    std::optional<uint32_t> department) {
  if (!department) return ApplyStatus::kUnknownDepartment;
  Dossier& d = dossiers[i];
  if (*department == d.holder) return ApplyStatus::kApplied;
  // A step entered during a pause starts counting at the resume: anchor it at the pause.
  const bool paused = d.pause_mask != 0;
  const Duration budget = procedure_rules(d).step_budgets[*department];
  const std::optional<Instant> step_due =
      budget > Duration::zero() ? calendar().Add(paused ? d.pause_began : e.occurred_at, budget)
                                : Instant{};
  if (!step_due) return ApplyStatus::kTimeOutOfRange;
  --open_counts[d.holder][static_cast<int>(d.open_state)];
  CountPredicted(d, -1);
  d.holder = static_cast<uint16_t>(*department);
  ++open_counts[d.holder][static_cast<int>(d.open_state)];
  CountPredicted(d, +1);
  ++d.step;
  d.set(kStepAlertSent, false);
  d.step_due = *step_due;
  d.set(kStepPaused, paused && budget > Duration::zero());
  Reschedule(i);
  return ApplyStatus::kApplied;
}

ApplyStatus Engine::State::Extend(uint32_t i, const Event& e) {
  Dossier& d = dossiers[i];
  if (!e.due_at) return ApplyStatus::kApplied;  // the decoder requires it; nothing to do
  StartCycle(d, *e.due_at, calendar().Between(e.occurred_at, *e.due_at), e.occurred_at);
  if (d.pause_mask != 0) {
    // During a pause: R = Between(extended instant, due_at) (the anchor), applied at resume.
    d.set(kDuePaused, true);
    d.set(kExtendedInPause, true);
  }
  UpdateGauge(d);
  Reschedule(i);
  listener->OnAlertsEnded(d.id(), e.occurred_at);
  return ApplyStatus::kApplied;
}

ApplyStatus Engine::State::ApplyToDossier(uint32_t i, const Event& e, const EventCodes& codes) {
  Dossier& d = dossiers[i];
  Instant t = e.occurred_at;
  if (!d.open()) {
    switch (e.type) {
      case EventType::kReturned: listener->OnReturned(d.holder, e.return_channel); break;
      case EventType::kRated: listener->OnRated(d.holder, e.rating); break;
      case EventType::kFeePaid: listener->OnFeePaid(d.holder, e.method); break;
      default: break;
    }
    return ApplyStatus::kAfterClose;
  }
  const auto& pr = procedure_rules(d);
  switch (e.type) {
    case EventType::kSubmitted: return ApplyStatus::kApplied;
    case EventType::kAccepted: return ApplyStatus::kAlreadyAccepted;
    case EventType::kTransferred: return Transfer(i, e, codes.department);
    case EventType::kSupplementRequested:
      if ((d.pause_mask & kPausedForSupplement) == 0) {
        ++d.supplements;
        listener->OnSupplementRequested(d.holder);
        d.set(kRestartOnResume, false);
        Pause(i, t, kPausedForSupplement);
      }
      return ApplyStatus::kApplied;
    case EventType::kSupplementReceived:
      if ((d.pause_mask & kPausedForSupplement) != 0) {
        const bool restart_before = d.has(kRestartOnResume);
        d.set(kRestartOnResume, pr.on_supplement == OnSupplement::kRestart && d.has(kDuePaused));
        ApplyStatus resumed = Resume(i, t, kPausedForSupplement);
        if (resumed != ApplyStatus::kApplied) d.set(kRestartOnResume, restart_before);
        return resumed;
      }
      return ApplyStatus::kApplied;
    case EventType::kFeeRequested:
      if (pr.pause_on_fee) Pause(i, t, kPausedForFee);
      return ApplyStatus::kApplied;
    case EventType::kFeePaid:
      if (pr.pause_on_fee) {
        if (ApplyStatus resumed = Resume(i, t, kPausedForFee); resumed != ApplyStatus::kApplied) {
          return resumed;
        }
      }
      listener->OnFeePaid(d.holder, e.method);
      return ApplyStatus::kApplied;
    case EventType::kWithdrawn:
      Close(i, t, DossierState::kWithdrawn, Outcome::kWithdrawn);
      return ApplyStatus::kApplied;
    case EventType::kRefused:
      Close(i, t, DossierState::kRefused, Outcome::kRefused);
      return ApplyStatus::kApplied;
    case EventType::kStopped:
      Close(i, t, DossierState::kStopped, std::nullopt);
      return ApplyStatus::kApplied;
    case EventType::kResolved:
      Close(i, t, DossierState::kResolved, std::nullopt);
      return ApplyStatus::kApplied;
    case EventType::kReturned:
      listener->OnReturned(d.holder, e.return_channel);
      Close(i, t, DossierState::kResolved, std::nullopt);
      return ApplyStatus::kApplied;
    case EventType::kExtended: return Extend(i, e);
    case EventType::kRated: listener->OnRated(d.holder, e.rating); return ApplyStatus::kApplied;
    case EventType::kUnknown: return ApplyStatus::kUnknownType;
  }
  return ApplyStatus::kApplied;
}

Engine::Engine(std::shared_ptr<const CompiledRules> rules, EngineListener* listener)
    : state_(std::make_unique<State>()) {
  state_->rules = std::move(rules);
  state_->listener = listener ? listener : &state_->no_listener;
  state_->open_counts.assign(state_->rules->department_count(), {});
  state_->predicted_counts.assign(state_->rules->department_count(), 0);
}

Engine::~Engine() = default;

void Engine::AdvanceTo(Instant now) {
  now = std::min(now, kLatestEventTime);  // the clock never passes the last instant events may have
  state_->FireBefore(now);
  state_->SettleHistory(now);
  if (!state_->clock || *state_->clock < now) state_->clock = now;
}

bool Engine::AdvanceTo(Instant now, size_t& budget) {
  now = std::min(now, kLatestEventTime);
  if (!state_->FireBefore(now, budget)) return false;
  state_->SettleHistory(now);
  if (!state_->clock || *state_->clock < now) state_->clock = now;
  return true;
}

uint64_t Engine::DossierHash(std::string_view dossier_id) { return HashText(dossier_id); }

void Engine::Prefetch(uint64_t hash, int stage) const {
  const State& s = *state_;
  if (stage == 0) {
    s.index.PrefetchSlot(hash);
    return;
  }
  const uint32_t i = s.index.FirstCandidate(hash);
  if (i == FlatIndex::kNoValue || i >= s.dossiers.size()) return;
  const Dossier& d = s.dossiers[i];
  if (stage == 1) {
    // The id (or the pointer to it) and the event fingerprints are in the record's first line;
    // the fields Apply reads next in the second.
    __builtin_prefetch(&d);
    __builtin_prefetch(reinterpret_cast<const char*>(&d) + 64);
  } else {
    d.text.PrefetchBlob();
  }
}

ApplyStatus Engine::Apply(const Event& e, TimersBefore timers) { return Apply(e, timers, 0); }

ApplyStatus Engine::Apply(const Event& e, TimersBefore timers, int32_t partition) {
  if (!InEventTimeRange(e.occurred_at) || (e.due_at && !InEventTimeRange(*e.due_at))) {
    return ApplyStatus::kTimeOutOfRange;  // before it can move the clock
  }
  State& s = *state_;
  auto i = s.FindHeld(e.dossier_id);
  if (i && s.ReconfigurePending(*i)) s.Recompute(*i);  // new rules, before anything happens
  if (timers == TimersBefore::kAll) {
    AdvanceTo(e.occurred_at);
  } else {
    if (i) s.FireDossierBefore(*i, e.occurred_at);
    if (!s.clock || *s.clock < e.occurred_at) s.clock = e.occurred_at;
  }
  // Its timers may have retired the dossier (retention), or freed it (released).
  if (s.retention || s.releasing > 0) i = s.FindHeld(e.dossier_id);
  if (e.type == EventType::kUnknown) return ApplyStatus::kUnknownType;
  // Codes the configuration lacks make an event invalid whatever its dossier's state: ops see it.
  State::EventCodes codes;
  if (e.type == EventType::kAccepted) {
    auto procedure = s.rules->FindProcedure(e.procedure);
    if (!procedure) return ApplyStatus::kUnknownProcedure;
    codes.procedure = *procedure;
    codes.department = s.rules->procedure_rules(*procedure).department;
  }
  if (e.type == EventType::kAccepted || e.type == EventType::kTransferred) {
    if (!e.department.empty()) {
      codes.department = s.rules->FindDepartment(e.department);
      if (!codes.department) return ApplyStatus::kUnknownDepartment;
    }
  }
  const uint64_t fingerprint = EventFingerprint(e.event_id);
  if (i && s.dossiers[*i].events.Contains(fingerprint)) return ApplyStatus::kDuplicate;
  ApplyStatus status;
  if (!i) {
    if (e.type == EventType::kSubmitted) return ApplyStatus::kApplied;  // not accepted: no clock
    // A dossier that already left the state (or an event that old): too late to act on.
    if (s.retention && e.occurred_at + *s.retention < s.PartitionClock(partition)) {
      return ApplyStatus::kAfterRetention;
    }
    if (e.type != EventType::kAccepted) return ApplyStatus::kOrphan;
    uint32_t slot = 0;
    status = s.Accept(e, codes, partition, slot);
    if (status == ApplyStatus::kApplied) i = slot;
  } else {
    status = s.ApplyToDossier(*i, e, codes);
  }
  if (IsInvalid(status) || !i) return status;
  if (s.PredictActive(s.dossiers[*i])) {
    s.Predict(*i, e.occurred_at, false);
    s.Reschedule(*i);
  }
  s.dossiers[*i].events.Insert(fingerprint);
  s.MarkChanged(*i);
  Instant& partition_clock = s.PartitionClock(partition);
  partition_clock = std::max(partition_clock, e.occurred_at);
  return status;
}

std::optional<Instant> Engine::clock() const { return state_->clock; }

std::optional<Instant> Engine::next_timer() const {
  if (state_->timers.empty()) return std::nullopt;
  return state_->timers.top_at();
}

const CompiledRules& Engine::rules() const { return *state_->rules; }

const std::vector<int64_t>& Engine::predicted_late_counts() const {
  return state_->predicted_counts;
}

std::optional<Engine::Prediction> Engine::PredictFor(std::string_view procedure, Duration used,
                                                     Duration budget,
                                                     std::string_view department) const {
  auto index = state_->rules->FindProcedure(procedure);
  if (!index) return std::nullopt;
  uint32_t holder = State::kAnyDepartment;
  if (!department.empty()) {
    auto found = state_->rules->FindDepartment(department);
    if (!found) return std::nullopt;
    holder = *found;
  }
  return state_->PredictFor(*index, holder, used, budget, kNever);
}

uint64_t Engine::history_count(std::string_view procedure) const {
  auto index = state_->rules->FindProcedure(procedure);
  if (!index) return 0;
  uint64_t pending = 0;
  for (const auto& c : state_->pending_closes) pending += c.procedure == *index;
  return state_->MergedHistory(*index).count() + pending;
}

Result<size_t> Engine::Reconfigure(std::shared_ptr<const CompiledRules> rules) {
  if (Status begun = BeginReconfigure(std::move(rules)); !begun.ok()) return begun.error();
  ContinueReconfigure(SIZE_MAX);
  return state_->recomputed;
}

Status Engine::BeginReconfigure(std::shared_ptr<const CompiledRules> rules) {
  State& s = *state_;
  DropReleased(SIZE_MAX);         // the walks below would meet them
  ContinueReconfigure(SIZE_MAX);  // the previous one, to its end
  const CompiledRules& old = *s.rules;
  std::vector<uint32_t> procedure_map(old.config().procedures.size(), kNotInHeap);
  std::vector<uint32_t> department_map(old.department_count(), kNotInHeap);
  bool identity = true;   // every code where it was: no dossier's indices change
  bool vanished = false;  // a code gone: no dossier may use it
  for (uint32_t p = 0; p < procedure_map.size(); ++p) {
    if (auto found = rules->FindProcedure(old.procedure(p).code)) procedure_map[p] = *found;
    identity = identity && procedure_map[p] == p;
    vanished = vanished || procedure_map[p] == kNotInHeap;
  }
  for (uint32_t d = 0; d < department_map.size(); ++d) {
    if (auto found = rules->FindDepartment(old.department(d).code)) department_map[d] = *found;
    identity = identity && department_map[d] == d;
    vanished = vanished || department_map[d] == kNotInHeap;
  }
  if (vanished) {
    for (const Dossier& d : s.dossiers) {
      if (!d.in_use()) continue;
      if (procedure_map[d.procedure] == kNotInHeap) {
        return Error{"procedure_in_use", "procedure " + old.procedure(d.procedure).code +
                                             " is missing from the new rules but dossier " +
                                             std::string(d.id()) + " uses it"};
      }
      if (department_map[d.holder] == kNotInHeap) {
        return Error{"department_in_use", "department " + old.department(d.holder).code +
                                              " is missing from the new rules but dossier " +
                                              std::string(d.id()) + " is held there"};
      }
    }
  }
  s.rules = std::move(rules);
  // The learned histories follow their procedures' and departments' codes; a vanished one's are
  // forgotten.
  const size_t old_procedures = procedure_map.size();  // `old` is gone with s.rules' move
  const size_t old_departments = department_map.size();
  auto new_slot = [&](uint32_t slot) {
    auto [procedure, department] = State::SlotKey(old_procedures, old_departments, slot);
    if (procedure_map[procedure] == kNotInHeap) return kNotInHeap;
    if (department != State::kAnyDepartment) {
      if (department_map[department] == kNotInHeap) return kNotInHeap;
      department = department_map[department];
    }
    return s.HistorySlot(procedure_map[procedure], department);
  };
  std::vector<State::History> history(s.slot_count());
  for (uint32_t slot = 0; slot < s.history.size(); ++slot) {
    if (const uint32_t to = new_slot(slot); to != kNotInHeap) {
      history[to] = std::move(s.history[slot]);
    }
  }
  s.history = std::move(history);
  for (auto& [partition, slot] : s.history_changed) slot = new_slot(slot);
  std::erase_if(s.history_changed, [](const auto& c) { return c.second == kNotInHeap; });
  std::erase_if(s.pending_closes, [&](const auto& c) {
    return procedure_map[c.procedure] == kNotInHeap || department_map[c.department] == kNotInHeap;
  });
  for (auto& c : s.pending_closes) {
    c.procedure = procedure_map[c.procedure];
    c.department = department_map[c.department];
  }
  if (identity) {
    // The gauges' rows stay the departments they were; a department added starts at zero.
    s.open_counts.resize(s.rules->department_count());
    s.predicted_counts.resize(s.rules->department_count(), 0);
  } else {
    // Codes moved: every dossier's indices at once (a few nanoseconds each), and the gauges
    // counted again under them.
    s.open_counts.assign(s.rules->department_count(), {});
    s.predicted_counts.assign(s.rules->department_count(), 0);
    for (Dossier& d : s.dossiers) {
      if (!d.in_use()) continue;
      d.procedure = static_cast<uint16_t>(procedure_map[d.procedure]);
      d.holder = static_cast<uint16_t>(department_map[d.holder]);
      if (!d.open()) continue;
      ++s.open_counts[d.holder][static_cast<int>(d.open_state)];
      s.CountPredicted(d, +1);
    }
  }
  s.reconfigure_pending.assign(s.dossiers.size(), true);
  s.reconfigure_cursor = 0;
  s.recomputed = 0;
  return Ok{};
}

bool Engine::ContinueReconfigure(size_t budget) {
  State& s = *state_;
  const uint32_t end = static_cast<uint32_t>(s.reconfigure_pending.size());
  while (s.reconfigure_cursor < end && budget > 0) {
    const uint32_t i = s.reconfigure_cursor++;
    if (!s.reconfigure_pending[i]) continue;  // reached first by an event or a timer
    --budget;
    s.Recompute(i);
  }
  if (s.reconfigure_cursor < end) return false;
  s.reconfigure_pending = {};
  s.reconfigure_cursor = 0;
  return true;
}

bool Engine::reconfiguring() const { return !state_->reconfigure_pending.empty(); }
size_t Engine::recomputed() const { return state_->recomputed; }

void Engine::State::Recompute(uint32_t i) {
  reconfigure_pending[i] = false;
  Dossier& d = dossiers[i];
  if (!d.in_use() || !d.open()) return;
  // The first cycle, still running on the procedure's budget: move its due by the change of
  // budget, under the new calendar.
  if (d.cycle == 1 && !d.has(kBudgetFromDueAt) && !d.has(kFirstBreached)) {
    const BusinessCalendar& cal = calendar();
    Duration new_budget = procedure_rules(d).sla;
    Instant new_due = d.due;
    if (d.paused_wall == Duration{} && d.pause_mask == 0) {
      new_due = cal.Add(d.accepted_at, new_budget).value_or(d.due);
    } else if (new_budget > d.budget) {
      // Past the calendar's table (a dossier of 2200): its due stays as it was.
      new_due = cal.Add(d.due, new_budget - d.budget).value_or(d.due);
    } else if (new_budget < d.budget) {
      new_due = cal.EarliestWithRemaining(d.due, d.budget - new_budget);
    }
    if (new_due != d.due || new_budget != d.budget) {
      ++recomputed;
      MarkChanged(i);
    }
    d.due = new_due;
    d.first_due = new_due;
    d.budget = new_budget;
    d.cycle_budget = new_budget;
  }
  Reschedule(i);
}

}  // namespace ontime::rules
