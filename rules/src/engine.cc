#include "ontime/rules/engine.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <istream>
#include <ostream>
#include <limits>

#include "flat_index.h"
#include "ontime/base/check.h"

namespace ontime::rules {
namespace {

constexpr Instant kNever = Instant::max();
constexpr uint32_t kNotInHeap = std::numeric_limits<uint32_t>::max();
constexpr std::string_view kLetterReason =
    "The legal processing time ended before the result was ready.";

// Bits of Dossier::flags.
enum : uint16_t {
  kAtRiskSent = 1 << 0,       // this cycle's at_risk alert went out
  kStepAlertSent = 1 << 1,    // this step's step_overdue alert went out
  kFirstBreached = 1 << 2,    // the first cycle's due has passed (the dossier is overdue)
  kDuePaused = 1 << 3,        // paused at or before the current due: it moves on resume
  kFirstPaused = 1 << 4,      // paused in cycle 1 at or before its due: it moves on resume
  kStepPaused = 1 << 5,       // paused at or before the step's due: it moves on resume
  kRestartOnResume = 1 << 6,  // on_supplement: restart, applied at resume
  kBudgetFromDueAt = 1 << 7,  // the budget came from the receipt slip's due_at
  kExtendedInPause = 1 << 8,  // an upstream extension came during this pause: its R applies
};

// Bits of Dossier::pause_mask.
enum : uint8_t { kPausedForSupplement = 1, kPausedForFee = 2 };

constexpr uint8_t kNoOutcome = 0xff;

// The applicant's four strings in one allocation: their lengths, then their bytes.
class PackedApplicant {
 public:
  static PackedApplicant Pack(const ApplicantView& a) {
    const std::string_view parts[4] = {a.name, a.address, a.phone, a.email};
    size_t size = sizeof(uint32_t) * 4;
    for (auto p : parts) size += p.size();
    PackedApplicant packed;
    packed.blob_ = std::make_unique<char[]>(size);
    char* at = packed.blob_.get() + sizeof(uint32_t) * 4;
    for (int i = 0; i < 4; ++i) {
      uint32_t length = static_cast<uint32_t>(parts[i].size());
      std::memcpy(packed.blob_.get() + sizeof(uint32_t) * i, &length, sizeof length);
      std::memcpy(at, parts[i].data(), length);
      at += length;
    }
    return packed;
  }
  explicit operator bool() const { return blob_ != nullptr; }
  ApplicantView View() const {
    std::string_view parts[4];
    const char* at = blob_.get() + sizeof(uint32_t) * 4;
    for (int i = 0; i < 4; ++i) {
      uint32_t length;
      std::memcpy(&length, blob_.get() + sizeof(uint32_t) * i, sizeof length);
      parts[i] = {at, length};
      at += length;
    }
    return {parts[0], parts[1], parts[2], parts[3]};
  }
  std::optional<ApplicantView> Optional() const {
    return blob_ ? std::optional<ApplicantView>(View()) : std::nullopt;
  }

 private:
  std::unique_ptr<char[]> blob_;
};

// One dossier. Kept compact: codes are indices into the rules, the timer is an index into the
// engine's heap, and the applicant is allocated only when the dossier carried one.
struct Dossier {
  std::string_view id;  // in the engine's IdArena
  PackedApplicant applicant;
  Instant accepted_at{};
  Instant first_due{};
  Instant due{};
  Instant pause_began{};
  Instant closed_at{};
  Instant run_since{};      // the clock last started running (accept, resume)
  Instant step_due{};       // the current step's due, when its department has a budget
  // Running: no at-risk alert before this (the cycle's start, the last resume). Paused: the
  // instant the remaining time to the current due is measured from (the pause, or an upstream
  // extension that came during it), applied at resume.
  Instant anchor{};
  Instant timer_at = kNever;
  Duration budget{};        // B: the first cycle's budget
  Duration cycle_budget{};  // the current cycle's budget, for "20%" thresholds
  Duration working_run{};   // working time run before run_since
  Duration paused_wall{};   // wall time spent paused, finished pauses
  uint32_t procedure = 0;
  uint32_t holder = 0;
  uint32_t seq = 0;
  uint32_t heap_pos = kNotInHeap;
  uint16_t cycle = 1;
  uint16_t supplements = 0;
  uint16_t letters = 0;
  uint16_t step = 1;
  uint16_t flags = 0;
  DossierState state = DossierState::kOpen;
  uint8_t pause_mask = 0;
  OpenState open_state = OpenState::kOnTrack;
  uint8_t outcome = kNoOutcome;

  bool open() const { return state == DossierState::kOpen; }
  bool running() const { return open() && pause_mask == 0; }
  bool has(uint16_t flag) const { return (flags & flag) != 0; }
  void set(uint16_t flag, bool on) { flags = on ? (flags | flag) : (flags & ~flag); }
};

double Seconds(Duration d) { return static_cast<double>(d.count()) / 1000.0; }

}  // namespace

struct Engine::State {
  std::shared_ptr<const CompiledRules> rules;
  EngineListener* listener;
  EngineListener no_listener;
  std::deque<Dossier> dossiers;
  IdArena ids;
  FlatIndex index;
  FlatHashSet seen_events;
  std::vector<uint32_t> heap;  // 4-ary min-heap of dossier indices by (timer_at, seq)
  std::optional<Instant> clock;
  std::vector<std::array<int64_t, kOpenStateCount>> open_counts;

  const BusinessCalendar& calendar() const { return rules->calendar(); }
  const CompiledRules::ProcedureRules& procedure_rules(const Dossier& d) const {
    return rules->procedure_rules(d.procedure);
  }
  Duration StepBudget(const Dossier& d) const { return procedure_rules(d).step_budgets[d.holder]; }

  std::optional<uint32_t> FindIndex(std::string_view id) const {
    return index.Find(id, HashText(id), [this](uint32_t i) -> std::string_view {
      return dossiers[i].id;
    });
  }

  // ---- timers ------------------------------------------------------------------------------

  bool Earlier(uint32_t a, uint32_t b) const {
    const Dossier& x = dossiers[a];
    const Dossier& y = dossiers[b];
    return x.timer_at < y.timer_at || (x.timer_at == y.timer_at && x.seq < y.seq);
  }
  void HeapSet(size_t pos, uint32_t d) {
    heap[pos] = d;
    dossiers[d].heap_pos = static_cast<uint32_t>(pos);
  }
  void SiftUp(size_t pos) {
    uint32_t d = heap[pos];
    while (pos > 0) {
      size_t parent = (pos - 1) / 4;
      if (!Earlier(d, heap[parent])) break;
      HeapSet(pos, heap[parent]);
      pos = parent;
    }
    HeapSet(pos, d);
  }
  void SiftDown(size_t pos) {
    uint32_t d = heap[pos];
    for (;;) {
      size_t first = pos * 4 + 1;
      if (first >= heap.size()) break;
      size_t best = first;
      size_t last = std::min(first + 4, heap.size());
      for (size_t c = first + 1; c < last; ++c) {
        if (Earlier(heap[c], heap[best])) best = c;
      }
      if (!Earlier(heap[best], d)) break;
      HeapSet(pos, heap[best]);
      pos = best;
    }
    HeapSet(pos, d);
  }
  void HeapRemove(uint32_t d) {
    size_t pos = dossiers[d].heap_pos;
    if (pos == kNotInHeap) return;
    dossiers[d].heap_pos = kNotInHeap;
    uint32_t last = heap.back();
    heap.pop_back();
    if (pos == heap.size()) return;
    HeapSet(pos, last);
    SiftUp(pos);
    SiftDown(dossiers[last].heap_pos);
  }

  Duration AtRiskThreshold(const Dossier& d) const {
    return procedure_rules(d).at_risk_remaining.Resolve(d.cycle_budget);
  }
  Instant AtRiskAt(const Dossier& d) const {
    return std::max(calendar().EarliestWithRemaining(d.due, AtRiskThreshold(d)), d.anchor);
  }
  bool DueTimerActive(const Dossier& d) const { return d.running() || !d.has(kDuePaused); }
  // The first cycle's due makes the dossier overdue once passed, also after cycle 1 ended (its
  // due is final then, and passes even during a pause).
  bool FirstDueTimerActive(const Dossier& d) const {
    return !d.has(kFirstBreached) && (d.running() || !d.has(kFirstPaused));
  }
  bool StepTimerActive(const Dossier& d) const {
    return StepBudget(d) > Duration::zero() && !d.has(kStepAlertSent) &&
           (d.running() || !d.has(kStepPaused));
  }

  Instant NextTimer(const Dossier& d) const {
    if (!d.open()) return kNever;
    Instant next = kNever;
    if (d.running() && !d.has(kAtRiskSent)) next = std::min(next, AtRiskAt(d));
    if (DueTimerActive(d)) next = std::min(next, d.due);
    if (FirstDueTimerActive(d)) next = std::min(next, d.first_due);
    if (StepTimerActive(d)) next = std::min(next, d.step_due);
    return next;
  }

  void Reschedule(uint32_t i) {
    Dossier& d = dossiers[i];
    Instant next = NextTimer(d);
    if (next == kNever) {
      HeapRemove(i);
      d.timer_at = kNever;
      return;
    }
    Instant old = d.timer_at;
    d.timer_at = next;
    if (d.heap_pos == kNotInHeap) {
      heap.push_back(i);
      d.heap_pos = static_cast<uint32_t>(heap.size() - 1);
      SiftUp(d.heap_pos);
    } else if (next < old) {
      SiftUp(d.heap_pos);
    } else {
      SiftDown(d.heap_pos);
    }
  }

  // ---- gauges ------------------------------------------------------------------------------

  OpenState GaugeState(const Dossier& d) const {
    if (d.has(kFirstBreached)) return OpenState::kOverdue;
    if (d.pause_mask != 0) return OpenState::kPaused;
    if (d.has(kAtRiskSent)) return OpenState::kAtRisk;
    return OpenState::kOnTrack;
  }
  void UpdateGauge(Dossier& d) {
    if (!d.open()) return;
    OpenState now = GaugeState(d);
    if (now == d.open_state) return;
    --open_counts[d.holder][static_cast<int>(d.open_state)];
    ++open_counts[d.holder][static_cast<int>(now)];
    d.open_state = now;
  }

  // ---- what fires --------------------------------------------------------------------------

  Alert MakeAlert(const Dossier& d, AlertKind kind, Instant due, Instant detected) const {
    Alert a;
    a.kind = kind;
    a.dossier_id = d.id;
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

  void Breach(Dossier& d) {
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
    letter.dossier_id = d.id;
    letter.procedure = rules->procedure(d.procedure).code;
    letter.department = rules->department(d.holder).code;
    letter.department_index = d.holder;
    letter.applicant = d.applicant.Optional();
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

  // A pause that began after the breach (the dossier's timers ran late): the new cycle's
  // remaining time counts from the pause.
  void ContinuePauseAfterBreach(Dossier& d, Instant new_due) {
    if (d.pause_mask == 0) return;
    d.anchor = d.pause_began;
    d.set(kDuePaused, d.pause_began <= new_due);
  }

  // Cycle n+1 starts at `at`. Cycle 1 has ended (breach or upstream extension): from here on the
  // first cycle's due is final, as it stood when a pause in progress began.
  void StartCycle(Dossier& d, Instant due, Duration budget, Instant at) {
    ++d.cycle;
    d.due = due;
    d.cycle_budget = budget;
    d.anchor = at;
    d.set(kAtRiskSent, false);
    d.set(kFirstPaused, false);
  }

  void Fire(uint32_t i, Instant at) {
    Dossier& d = dossiers[i];
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

  void FireBefore(Instant limit) {
    while (!heap.empty()) {
      uint32_t i = heap.front();
      Instant at = dossiers[i].timer_at;
      if (at >= limit) break;
      Fire(i, at);
    }
  }

  void FireDossierBefore(uint32_t i, Instant limit) {
    while (dossiers[i].heap_pos != kNotInHeap && dossiers[i].timer_at < limit) {
      Fire(i, dossiers[i].timer_at);
    }
  }

  // ---- clock segments ----------------------------------------------------------------------

  void Pause(uint32_t i, Instant p, uint8_t reason) {
    Dossier& d = dossiers[i];
    if (d.pause_mask != 0) {
      d.pause_mask |= reason;
      return;
    }
    d.pause_mask = reason;
    d.pause_began = p;
    d.anchor = p;
    d.working_run += calendar().Between(d.run_since, p);
    // A pause at the very due instant is in time: R = 0, applied at resume.
    d.set(kDuePaused, p <= d.due);
    d.set(kFirstPaused, d.cycle == 1 && !d.has(kFirstBreached) && p <= d.first_due);
    d.set(kStepPaused, StepBudget(d) > Duration::zero() && p <= d.step_due);
    d.set(kExtendedInPause, false);
    UpdateGauge(d);
    Reschedule(i);
  }

  // Ends the pause `reason` at r. kTimeOutOfRange, changing nothing, when a moved due would lie
  // past the calendar.
  ApplyStatus Resume(uint32_t i, Instant r, uint8_t reason) {
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
      due = restart ? cal.Add(r, d.budget) : cal.Add(r, cal.Between(d.anchor, d.due));
    }
    if (d.has(kStepPaused)) step_due = cal.Add(r, cal.Between(p, d.step_due));
    if (!due || !step_due) return ApplyStatus::kTimeOutOfRange;
    d.pause_mask = 0;
    d.paused_wall += r - p;
    d.run_since = r;
    d.anchor = r;
    if (d.has(kDuePaused) && restart) d.cycle_budget = d.budget;
    d.due = *due;
    d.step_due = *step_due;
    if (d.has(kFirstPaused)) d.first_due = d.due;  // in cycle 1 the two are one due
    for (uint16_t flag : {kDuePaused, kFirstPaused, kStepPaused, kExtendedInPause,
                          kRestartOnResume}) {
      d.set(flag, false);
    }
    UpdateGauge(d);
    Reschedule(i);
    return ApplyStatus::kApplied;
  }

  void Close(uint32_t i, Instant c, DossierState state, std::optional<Outcome> fixed_outcome) {
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
    d.state = state;
    d.closed_at = c;
    d.outcome = static_cast<uint8_t>(outcome);
    HeapRemove(i);
    d.timer_at = kNever;
    listener->OnClosed(d.holder, outcome, Seconds(std::max(wall, Duration{})),
                       Seconds(d.working_run));
  }

  // ---- events ------------------------------------------------------------------------------

  ApplyStatus Accept(const Event& e) {
    auto procedure = rules->FindProcedure(e.procedure);
    if (!procedure) return ApplyStatus::kUnknownProcedure;
    const auto& pr = rules->procedure_rules(*procedure);
    uint32_t department = pr.department;
    if (!e.department.empty()) {
      auto found = rules->FindDepartment(e.department);
      if (!found) return ApplyStatus::kUnknownDepartment;
      department = *found;
    }
    const BusinessCalendar& cal = calendar();
    const Instant t = e.occurred_at;
    const std::optional<Instant> due = e.due_at ? e.due_at : cal.Add(t, pr.sla);
    const Duration step_budget = pr.step_budgets[department];
    const std::optional<Instant> step_due =
        step_budget > Duration::zero() ? cal.Add(t, step_budget) : Instant{};
    if (!due || !step_due) return ApplyStatus::kTimeOutOfRange;
    uint32_t i = static_cast<uint32_t>(dossiers.size());
    Dossier& d = dossiers.emplace_back();
    d.id = ids.Store(e.dossier_id);
    if (e.applicant) d.applicant = PackedApplicant::Pack(*e.applicant);
    d.accepted_at = t;
    d.run_since = t;
    d.anchor = t;
    d.procedure = *procedure;
    d.holder = department;
    d.seq = i;
    d.budget = e.due_at ? cal.Between(t, *e.due_at) : pr.sla;
    d.set(kBudgetFromDueAt, e.due_at.has_value());
    d.due = *due;
    d.first_due = d.due;
    d.cycle_budget = d.budget;
    d.step_due = *step_due;
    index.Insert(i, HashText(d.id), [this](uint32_t k) { return HashText(dossiers[k].id); });
    ++open_counts[d.holder][static_cast<int>(d.open_state)];
    listener->OnAccepted(department, e.channel, e.reception_seconds);
    Reschedule(i);
    return ApplyStatus::kApplied;
  }

  ApplyStatus Transfer(uint32_t i, const Event& e) {
    auto department = rules->FindDepartment(e.department);
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
    d.holder = *department;
    ++open_counts[d.holder][static_cast<int>(d.open_state)];
    ++d.step;
    d.set(kStepAlertSent, false);
    d.step_due = *step_due;
    d.set(kStepPaused, paused && budget > Duration::zero());
    Reschedule(i);
    return ApplyStatus::kApplied;
  }

  ApplyStatus Extend(uint32_t i, const Event& e) {
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
    return ApplyStatus::kApplied;
  }

  ApplyStatus ApplyToDossier(uint32_t i, const Event& e) {
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
      case EventType::kTransferred: return Transfer(i, e);
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
      case EventType::kRated:
        listener->OnRated(d.holder, e.rating);
        return ApplyStatus::kApplied;
      case EventType::kUnknown: return ApplyStatus::kUnknownType;
    }
    return ApplyStatus::kApplied;
  }

  // ---- views -------------------------------------------------------------------------------

  DossierView View(const Dossier& d, Instant now) const {
    const BusinessCalendar& cal = calendar();
    DossierView v;
    v.dossier_id = d.id;
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
    v.applicant = d.applicant.Optional();
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
};

Engine::Engine(std::shared_ptr<const CompiledRules> rules, EngineListener* listener)
    : state_(std::make_unique<State>()) {
  state_->rules = std::move(rules);
  state_->listener = listener ? listener : &state_->no_listener;
  state_->open_counts.assign(state_->rules->department_count(), {});
}

Engine::~Engine() = default;

void Engine::AdvanceTo(Instant now) {
  now = std::min(now, kLatestEventTime);  // the clock never passes the last instant events may have
  state_->FireBefore(now);
  if (!state_->clock || *state_->clock < now) state_->clock = now;
}

ApplyStatus Engine::Apply(const Event& e, TimersBefore timers) {
  if (!InEventTimeRange(e.occurred_at) || (e.due_at && !InEventTimeRange(*e.due_at))) {
    return ApplyStatus::kTimeOutOfRange;  // before it can move the clock
  }
  State& s = *state_;
  auto i = s.FindIndex(e.dossier_id);
  if (timers == TimersBefore::kAll) {
    AdvanceTo(e.occurred_at);
  } else {
    if (i) s.FireDossierBefore(*i, e.occurred_at);
    if (!s.clock || *s.clock < e.occurred_at) s.clock = e.occurred_at;
  }
  if (e.type == EventType::kUnknown) return ApplyStatus::kUnknownType;
  uint64_t event_key = Mix(HashText(e.dossier_id)) ^ HashText(e.event_id);
  if (s.seen_events.Contains(event_key)) return ApplyStatus::kDuplicate;
  ApplyStatus status;
  if (!i) {
    if (e.type == EventType::kAccepted) {
      status = s.Accept(e);
    } else if (e.type == EventType::kSubmitted) {
      status = ApplyStatus::kApplied;  // filed, not accepted yet: no clock
    } else {
      return ApplyStatus::kOrphan;
    }
  } else {
    status = s.ApplyToDossier(*i, e);
  }
  if (!IsInvalid(status)) s.seen_events.Insert(event_key);
  return status;
}

std::optional<Instant> Engine::clock() const { return state_->clock; }

std::optional<Instant> Engine::next_timer() const {
  if (state_->heap.empty()) return std::nullopt;
  return state_->dossiers[state_->heap.front()].timer_at;
}

size_t Engine::timers_pending() const { return state_->heap.size(); }
size_t Engine::dossiers_tracked() const { return state_->dossiers.size(); }

std::optional<DossierView> Engine::Find(std::string_view dossier_id, Instant now) const {
  auto i = state_->FindIndex(dossier_id);
  if (!i) return std::nullopt;
  return state_->View(state_->dossiers[*i], now);
}

void Engine::ForEachDossier(Instant now,
                            const std::function<void(const DossierView&)>& visit) const {
  for (const Dossier& d : state_->dossiers) visit(state_->View(d, now));
}

Summary Engine::Summarize(Instant now) const {
  Summary s;
  double working_minutes = 0;
  for (const Dossier& d : state_->dossiers) {
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

const CompiledRules& Engine::rules() const { return *state_->rules; }

Result<size_t> Engine::Reconfigure(std::shared_ptr<const CompiledRules> rules) {
  State& s = *state_;
  const CompiledRules& old = *s.rules;
  std::vector<uint32_t> procedure_map(old.config().procedures.size(), kNotInHeap);
  std::vector<uint32_t> department_map(old.department_count(), kNotInHeap);
  for (uint32_t p = 0; p < procedure_map.size(); ++p) {
    if (auto found = rules->FindProcedure(old.procedure(p).code)) procedure_map[p] = *found;
  }
  for (uint32_t d = 0; d < department_map.size(); ++d) {
    if (auto found = rules->FindDepartment(old.department(d).code)) department_map[d] = *found;
  }
  for (const Dossier& d : s.dossiers) {
    if (procedure_map[d.procedure] == kNotInHeap) {
      return Error{"procedure_in_use", "procedure " + old.procedure(d.procedure).code +
                                           " is missing from the new rules but dossier " + std::string(d.id) +
                                           " uses it"};
    }
    if (department_map[d.holder] == kNotInHeap) {
      return Error{"department_in_use", "department " + old.department(d.holder).code +
                                            " is missing from the new rules but dossier " + std::string(d.id) +
                                            " is held there"};
    }
  }
  s.rules = std::move(rules);
  const BusinessCalendar& cal = s.calendar();
  s.open_counts.assign(s.rules->department_count(), {});
  size_t recomputed = 0;
  for (uint32_t i = 0; i < s.dossiers.size(); ++i) {
    Dossier& d = s.dossiers[i];
    d.procedure = procedure_map[d.procedure];
    d.holder = department_map[d.holder];
    if (!d.open()) continue;
    ++s.open_counts[d.holder][static_cast<int>(d.open_state)];
    // The first cycle, still running on the procedure's budget: move its due by the change of
    // budget, under the new calendar.
    if (d.cycle == 1 && !d.has(kBudgetFromDueAt) && !d.has(kFirstBreached)) {
      Duration new_budget = s.procedure_rules(d).sla;
      Instant new_due = d.due;
      if (d.paused_wall == Duration{} && d.pause_mask == 0) {
        new_due = cal.Add(d.accepted_at, new_budget).value_or(d.due);
      } else if (new_budget > d.budget) {
        // Past the calendar's table (a dossier of 2200): its due stays as it was.
        new_due = cal.Add(d.due, new_budget - d.budget).value_or(d.due);
      } else if (new_budget < d.budget) {
        new_due = cal.EarliestWithRemaining(d.due, d.budget - new_budget);
      }
      if (new_due != d.due || new_budget != d.budget) ++recomputed;
      d.due = new_due;
      d.first_due = new_due;
      d.budget = new_budget;
      d.cycle_budget = new_budget;
    }
    s.Reschedule(i);
  }
  return recomputed;
}

}  // namespace ontime::rules

// ---- snapshot ----------------------------------------------------------------------------------
// Little-endian binary: a header, the code tables (so indices survive a configuration change),
// every dossier, the set of seen event ids and the clock. Load rebuilds the index, the timers and
// the gauges under the engine's current rules.

namespace ontime::rules {
namespace {

constexpr char kSnapshotMagic[8] = {'O', 'N', 'T', 'I', 'M', 'E', 'S', '1'};

class Writer {
 public:
  explicit Writer(std::ostream& out) : out_(out) {}
  template <typename T>
  void Pod(const T& value) {
    out_.write(reinterpret_cast<const char*>(&value), sizeof value);
  }
  void Time(Instant t) { Pod(static_cast<int64_t>(t.time_since_epoch().count())); }
  void Span(Duration d) { Pod(static_cast<int64_t>(d.count())); }
  void Text(std::string_view s) {
    Pod(static_cast<uint32_t>(s.size()));
    out_.write(s.data(), static_cast<std::streamsize>(s.size()));
  }

 private:
  std::ostream& out_;
};

class Reader {
 public:
  explicit Reader(std::istream& in) : in_(in) {}
  template <typename T>
  T Pod() {
    T value{};
    in_.read(reinterpret_cast<char*>(&value), sizeof value);
    return value;
  }
  Instant Time() { return Instant{Duration{Pod<int64_t>()}}; }
  Duration Span() { return Duration{Pod<int64_t>()}; }
  std::string Text() {
    uint32_t size = Pod<uint32_t>();
    if (!in_ || size > (1u << 20)) {
      in_.setstate(std::ios::failbit);
      return {};
    }
    std::string s(size, '\0');
    in_.read(s.data(), size);
    return s;
  }
  bool ok() const { return static_cast<bool>(in_); }

 private:
  std::istream& in_;
};

}  // namespace

void Engine::Save(std::ostream& out) const {
  const State& s = *state_;
  Writer w(out);
  out.write(kSnapshotMagic, sizeof kSnapshotMagic);
  w.Pod<uint8_t>(s.clock.has_value());
  w.Time(s.clock.value_or(Instant{}));
  const RulesConfig& config = s.rules->config();
  w.Pod(static_cast<uint32_t>(config.procedures.size()));
  for (const Procedure& p : config.procedures) w.Text(p.code);
  w.Pod(static_cast<uint32_t>(config.departments.size()));
  for (const Department& d : config.departments) w.Text(d.code);
  w.Pod(static_cast<uint64_t>(s.dossiers.size()));
  for (const Dossier& d : s.dossiers) {
    w.Text(d.id);
    w.Pod<uint8_t>(static_cast<bool>(d.applicant));
    if (d.applicant) {
      ApplicantView a = d.applicant.View();
      for (std::string_view part : {a.name, a.address, a.phone, a.email}) w.Text(part);
    }
    for (Instant t : {d.accepted_at, d.first_due, d.due, d.pause_began, d.closed_at, d.run_since,
                      d.step_due, d.anchor}) {
      w.Time(t);
    }
    for (Duration x : {d.budget, d.cycle_budget, d.working_run, d.paused_wall}) w.Span(x);
    w.Pod(d.procedure);
    w.Pod(d.holder);
    for (uint16_t x : {d.cycle, d.supplements, d.letters, d.step, d.flags}) w.Pod(x);
    w.Pod(static_cast<uint8_t>(d.state));
    w.Pod(d.pause_mask);
    w.Pod(static_cast<uint8_t>(d.open_state));
    w.Pod(d.outcome);
  }
  w.Pod(static_cast<uint64_t>(s.seen_events.size()));
  for (uint64_t h : s.seen_events.slots()) {
    if (h != 0) w.Pod(h);
  }
  out.write(kSnapshotMagic, sizeof kSnapshotMagic);
}

Status Engine::Load(std::istream& in) {
  State& s = *state_;
  Reader r(in);
  char magic[sizeof kSnapshotMagic];
  in.read(magic, sizeof magic);
  if (!in || std::string_view(magic, sizeof magic) != std::string_view(kSnapshotMagic, sizeof magic)) {
    return Error{"snapshot", "not an ontime snapshot"};
  }
  bool has_clock = r.Pod<uint8_t>() != 0;
  Instant clock = r.Time();
  auto read_codes = [&r](auto find) {
    std::vector<std::optional<uint32_t>> map(r.template Pod<uint32_t>());
    for (auto& entry : map) entry = find(r.Text());
    return map;
  };
  auto procedures = read_codes([&s](const std::string& code) { return s.rules->FindProcedure(code); });
  auto departments = read_codes([&s](const std::string& code) { return s.rules->FindDepartment(code); });
  if (!r.ok()) return Error{"snapshot", "truncated snapshot header"};
  std::deque<Dossier> dossiers;
  IdArena ids;
  uint64_t count = r.Pod<uint64_t>();
  for (uint64_t n = 0; n < count && r.ok(); ++n) {
    Dossier& d = dossiers.emplace_back();
    d.id = ids.Store(r.Text());
    if (r.Pod<uint8_t>() != 0) {
      std::string name = r.Text();
      std::string address = r.Text();
      std::string phone = r.Text();
      std::string email = r.Text();
      d.applicant = PackedApplicant::Pack({name, address, phone, email});
    }
    for (Instant* t : {&d.accepted_at, &d.first_due, &d.due, &d.pause_began, &d.closed_at,
                       &d.run_since, &d.step_due, &d.anchor}) {
      *t = r.Time();
    }
    for (Duration* x : {&d.budget, &d.cycle_budget, &d.working_run, &d.paused_wall}) *x = r.Span();
    uint32_t procedure = r.Pod<uint32_t>();
    uint32_t holder = r.Pod<uint32_t>();
    for (uint16_t* x : {&d.cycle, &d.supplements, &d.letters, &d.step, &d.flags}) {
      *x = r.Pod<uint16_t>();
    }
    d.state = static_cast<DossierState>(r.Pod<uint8_t>());
    d.pause_mask = r.Pod<uint8_t>();
    d.open_state = static_cast<OpenState>(r.Pod<uint8_t>());
    d.outcome = r.Pod<uint8_t>();
    if (!r.ok()) break;
    if (procedure >= procedures.size() || !procedures[procedure] || holder >= departments.size() ||
        !departments[holder]) {
      return Error{"snapshot", "dossier " + std::string(d.id) + " names a procedure or department the "
                                   "configuration no longer has"};
    }
    d.procedure = *procedures[procedure];
    d.holder = *departments[holder];
    d.seq = static_cast<uint32_t>(n);
  }
  FlatHashSet seen;
  uint64_t seen_count = r.Pod<uint64_t>();
  for (uint64_t n = 0; n < seen_count && r.ok(); ++n) seen.Insert(r.Pod<uint64_t>());
  char trailer[sizeof kSnapshotMagic];
  in.read(trailer, sizeof trailer);
  if (!in || std::string_view(trailer, sizeof trailer) != std::string_view(kSnapshotMagic, sizeof trailer)) {
    return Error{"snapshot", "truncated or corrupt snapshot"};
  }
  s.dossiers = std::move(dossiers);
  s.ids = std::move(ids);
  s.seen_events = std::move(seen);
  s.clock = has_clock ? std::optional<Instant>(clock) : std::nullopt;
  s.index.Clear();
  s.heap.clear();
  s.open_counts.assign(s.rules->department_count(), {});
  for (uint32_t i = 0; i < s.dossiers.size(); ++i) {
    Dossier& d = s.dossiers[i];
    d.heap_pos = kNotInHeap;
    d.timer_at = kNever;
    s.index.Insert(i, HashText(d.id), [&s](uint32_t k) { return HashText(s.dossiers[k].id); });
    if (!d.open()) continue;
    ++s.open_counts[d.holder][static_cast<int>(d.open_state)];
    s.Reschedule(i);
  }
  return Ok{};
}

}  // namespace ontime::rules
