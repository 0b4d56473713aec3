#pragma once
// The engine's state: every dossier's record, the indexes into them, the timers and the gauges.
// Private to rules/: engine.cc holds the state machine, views.cc the views, snapshot_codec.cc
// the snapshot. Single-threaded, like the Engine that owns it.

#include <array>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "dossier.h"
#include "dossier_record.h"
#include "flat_index.h"
#include "ontime/rules/engine.h"
#include "ontime/rules/quantile_sketch.h"
#include "record_store.h"
#include "timer_heap.h"

namespace ontime::rules {

struct Engine::State {
  std::shared_ptr<const CompiledRules> rules;
  EngineListener* listener;
  EngineListener no_listener;
  RecordStore<Dossier> dossiers;  // slots; a free one has no text
  std::vector<uint32_t> free_slots;
  size_t live = 0;  // slots in use
  uint32_t next_seq = 0;
  FlatIndex index;
  TimerHeap<Dossier, RecordStore<Dossier>> timers{dossiers};
  std::optional<Instant> clock;
  std::vector<std::array<int64_t, kOpenStateCount>> open_counts;

  // The live daemon's partitioned state.
  std::optional<Duration> retention;      // closed dossiers leave this long after their close
  std::vector<Instant> partition_clocks;  // the latest event instant seen, by input partition
  std::vector<size_t> partition_sizes;    // dossiers held, by input partition (kept as they come
                                          // and go: no walk over the state to count them)
  // Partitions given away whose dossiers are still being freed (ReleasePartition), by partition,
  // and the next slot DropReleased looks at.
  std::vector<uint8_t> released;
  size_t releasing = 0;  // partitions released and not yet empty
  uint32_t release_cursor = 0;
  bool Released(int32_t partition) const {
    return releasing > 0 && static_cast<size_t>(partition) < released.size() &&
           released[static_cast<size_t>(partition)] != 0;
  }
  bool Released(const Dossier& d) const { return releasing > 0 && Released(d.partition); }
  // A dossier found by id that is held here: a released one is freed first, as if gone (an
  // event or a restored record for its id starts afresh).
  std::optional<uint32_t> FindHeld(std::string_view id) {
    auto i = FindIndex(id);
    if (i && Released(dossiers[*i])) {
      FreeDossier(*i);
      return std::nullopt;
    }
    return i;
  }
  // A reconfiguration under way (BeginReconfigure): the slots not yet recomputed under the new
  // rules (those below the cursor are done; a slot taken since is new), how many moved.
  std::vector<bool> reconfigure_pending;
  uint32_t reconfigure_cursor = 0;
  size_t recomputed = 0;
  bool ReconfigurePending(uint32_t i) const {
    return i < reconfigure_pending.size() && reconfigure_pending[i];
  }
  // Dossier i under the new rules: its first cycle's deadlines moved by the change of budget, its
  // timers rescheduled.
  void Recompute(uint32_t i);
  bool track_changes = false;
  std::vector<std::pair<uint32_t, uint32_t>> changed;    // (slot, seq) changed since the last drain
  std::vector<std::pair<int32_t, std::string>> removed;  // (partition, id) left since then
  std::string record_buffer;

  // predicted_late: working times to close learned per history slot, per input partition;
  // predictions merge the partitions held. A slot is a procedure (every department's closes) or
  // a procedure and the department that closed the dossier (HistorySlot).
  struct History {
    std::vector<QuantileSketch> by_partition;
    QuantileSketch merged;
    bool stale = false;
  };
  static constexpr uint32_t kAnyDepartment = rules::kAnyDepartment;
  std::vector<History> history;                               // by slot
  std::vector<std::pair<int32_t, uint32_t>> history_changed;  // (partition, slot) to drain
  // Closes not yet in `history`: a prediction at instant t counts only the closes before t,
  // whatever order the live daemon's partitions delivered them in. They join the history once
  // AdvanceTo passes them (no later prediction can be at or before their instant).
  struct PendingClose {
    Instant closed_at{};
    Duration working_time{};
    uint32_t procedure = 0;
    uint32_t department = 0;  // the one holding the dossier when it closed
    int32_t partition = 0;
  };
  std::vector<PendingClose> pending_closes;  // in the order they closed
  // A merged history plus the pending closes of a prediction (HistoryAsOf): kept, so that an
  // evaluation at every event does not allocate a sketch.
  QuantileSketch prediction_scratch;
  void SettleHistory(Instant before);
  // Slots: [0, P) the procedures, then P + procedure x D + department.
  static uint32_t HistorySlot(size_t procedures, size_t departments, uint32_t procedure,
                              uint32_t department) {
    return department == kAnyDepartment
               ? procedure
               : static_cast<uint32_t>(procedures + procedure * departments + department);
  }
  // (procedure, department or kAnyDepartment) of a slot.
  static std::pair<uint32_t, uint32_t> SlotKey(size_t procedures, size_t departments,
                                               uint32_t slot) {
    if (slot < procedures) return {slot, kAnyDepartment};
    const size_t k = slot - procedures;
    return {static_cast<uint32_t>(k / departments), static_cast<uint32_t>(k % departments)};
  }
  uint32_t HistorySlot(uint32_t procedure, uint32_t department) const {
    return HistorySlot(rules->config().procedures.size(), rules->department_count(), procedure,
                       department);
  }
  std::pair<uint32_t, uint32_t> SlotKey(uint32_t slot) const {
    return SlotKey(rules->config().procedures.size(), rules->department_count(), slot);
  }
  size_t slot_count() const {
    return rules->config().procedures.size() * (1 + rules->department_count());
  }
  bool InSlot(const PendingClose& c, uint32_t slot) const {
    return slot == c.procedure || slot == HistorySlot(c.procedure, c.department);
  }
  // What a history record of `slot` on `partition` persists: the settled sketch, and for a
  // department's slot the pending closes of that procedure, department and partition.
  std::vector<std::pair<Instant, Duration>> PendingOf(uint32_t slot, int32_t partition) const;
  void EncodeHistory(uint32_t slot, int32_t partition, std::string& out);
  // Takes a history record back on `partition` (RestoreDossier, Load).
  Status RestoreHistory(int32_t partition, std::string_view record);
  std::vector<int64_t> predicted_counts;  // open dossiers with kPredictedSent, by department

  const BusinessCalendar& calendar() const { return rules->calendar(); }
  const CompiledRules::ProcedureRules& procedure_rules(const Dossier& d) const {
    return rules->procedure_rules(d.procedure);
  }
  Duration StepBudget(const Dossier& d) const { return procedure_rules(d).step_budgets[d.holder]; }

  std::optional<uint32_t> FindIndex(std::string_view id) const {
    return index.Find(id, HashText(id),
                      [this](uint32_t i) -> std::string_view { return dossiers[i].id(); });
  }

  // A slot for a new dossier (a free one, or a new one at the end), with its texts; indexed.
  uint32_t NewDossier(std::string_view id, const std::optional<ApplicantView>& applicant,
                      int32_t partition);
  // Frees the slot: index, timer and gauge too. No change is recorded. A released partition's
  // release ends with its last dossier.
  void FreeDossier(uint32_t i);
  // What a partition holds besides its dossiers (closes to learn, histories, changes to drain,
  // its clock), forgotten when it is dropped or released.
  void ForgetPartitionExtras(int32_t partition);
  // Records that dossier i changed (for the changelog), when changes are tracked.
  void MarkChanged(uint32_t i) {
    Dossier& d = dossiers[i];
    if (!track_changes || d.changed) return;
    d.changed = true;
    changed.emplace_back(i, d.seq);
  }
  // The closed dossier leaves the state (retention): freed, and reported as removed.
  void Retire(uint32_t i);
  Instant& PartitionClock(int32_t partition);
  size_t& PartitionSize(int32_t partition);

  // Timers: the next instant anything can happen to a dossier.
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

  // A closed dossier's only timer: when it leaves the state (retention on).
  Instant RetireAt(const Dossier& d) const { return retention ? d.closed_at + *retention : kNever; }
  Instant NextTimer(const Dossier& d) const;

  // predicted_late.
  const PredictConfig* predict() const {
    return rules->config().predict ? &*rules->config().predict : nullptr;
  }
  Duration WorkingTime(const Dossier& d, Instant at) const {
    return d.working_run + (d.running() ? calendar().Between(d.run_since, at) : Duration{});
  }
  Duration FractionTarget(const Dossier& d, size_t k) const;
  bool PredictActive(const Dossier& d) const {
    return predict() && d.running() && !d.has(kFirstBreached) && !d.has(kPredictedSent);
  }
  Instant PredictAt(const Dossier& d) const;
  QuantileSketch& HistoryOf(uint32_t slot, int32_t partition);
  const QuantileSketch& MergedHistory(uint32_t slot);
  // The merged history of `slot` as of instant `at` (closes before it; kNever: every close
  // known), in `scratch` when pending closes have to be added.
  const QuantileSketch& HistoryAsOf(uint32_t slot, Instant at, QuantileSketch& scratch);
  // From the history of the procedure and `department` when it has min_history closes, else
  // from the procedure's (kAnyDepartment: the procedure's), as of `at`.
  std::optional<Engine::Prediction> PredictFor(uint32_t procedure, uint32_t department,
                                               Duration used, Duration budget, Instant at);
  void Learn(const Dossier& d);
  // Evaluates P(late) for dossier i at `at` (an event, or its fraction timer when `timer`).
  void Predict(uint32_t i, Instant at, bool timer);
  // Adds delta to predicted_counts when d counts there (open, predicted late).
  void CountPredicted(const Dossier& d, int delta) {
    if (d.open() && d.has(kPredictedSent)) predicted_counts[d.holder] += delta;
  }

  void Reschedule(uint32_t i);

  // dossier_open{department,state}.

  OpenState GaugeState(const Dossier& d) const;
  void UpdateGauge(Dossier& d);

  // What fires.

  Alert MakeAlert(const Dossier& d, AlertKind kind, Instant due, Instant detected) const;

  void Breach(Dossier& d);

  // A pause that began after the breach (the dossier's timers ran late): the new cycle's
  // remaining time counts from the pause.
  void ContinuePauseAfterBreach(Dossier& d, Instant new_due);

  // Cycle n+1 starts at `at`. Cycle 1 has ended (breach or upstream extension): from here on the
  // first cycle's due is final, as it stood when a pause in progress began.
  void StartCycle(Dossier& d, Instant due, Duration budget, Instant at);

  void Fire(uint32_t i, Instant at);

  void FireBefore(Instant limit);
  // At most `budget` of them (spent as they fire): true when none earlier than `limit` is left.
  bool FireBefore(Instant limit, size_t& budget);

  void FireDossierBefore(uint32_t i, Instant limit);

  // The clock's running and paused segments.

  void Pause(uint32_t i, Instant p, uint8_t reason);

  // Ends the pause `reason` at r. kTimeOutOfRange, changing nothing, when a moved due would lie
  // past the calendar.
  ApplyStatus Resume(uint32_t i, Instant r, uint8_t reason);

  void Close(uint32_t i, Instant c, DossierState state, std::optional<Outcome> fixed_outcome);

  // Events.

  // The configuration's indices of an event's codes, looked up once per event (Engine::Apply).
  struct EventCodes {
    uint32_t procedure = 0;              // on `accepted`
    std::optional<uint32_t> department;  // `accepted`: given or the procedure's; `transferred`
  };

  // A new dossier on `partition`, its slot in `slot` when kApplied.
  ApplyStatus Accept(const Event& e, const EventCodes& codes, int32_t partition, uint32_t& slot);

  ApplyStatus Transfer(uint32_t i, const Event& e, std::optional<uint32_t> department);

  ApplyStatus Extend(uint32_t i, const Event& e);

  ApplyStatus ApplyToDossier(uint32_t i, const Event& e, const EventCodes& codes);

  // Views (views.cc).

  DossierView View(const Dossier& d, Instant now) const;
};

}  // namespace ontime::rules
