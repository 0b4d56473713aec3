#pragma once
// The SLA engine (contract section 3): every open dossier's clock, its cycles, steps and timers.
// Pure: it never reads a clock and does no I/O. Every call takes the instant it is about (an
// event's occurred_at, or the `now` to advance to), so `replay` and the live daemon drive the very
// same code. Single-threaded: the owner (replay loop or daemon event loop) calls it.
// Emits alerts and apology letters, and the facts metrics need, to an EngineListener.

#include <array>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ontime/base/result.h"
#include "ontime/rules/calendar.h"
#include "ontime/rules/config.h"
#include "ontime/rules/event.h"
#include "ontime/rules/output.h"

namespace ontime::rules {

// The configuration compiled for lookups: procedures and departments by code, thresholds and
// budgets resolved against the defaults, the calendar built. Immutable; shared.
class CompiledRules {
 public:
  struct ProcedureRules {
    uint32_t department = 0;
    Duration sla{};
    Threshold at_risk_remaining;
    Duration apology_extension{};
    OnSupplement on_supplement = OnSupplement::kPause;
    bool pause_on_fee = false;
    int max_apology_letters = 0;         // 0 = no limit; then `escalated` alerts instead of letters
    std::vector<Duration> step_budgets;  // by department index; zero = no step budget
  };

  // At most this many procedures, and as many departments (a dossier's record holds 16-bit codes).
  static constexpr size_t kMaxCodes = 65535;
  static Result<std::shared_ptr<const CompiledRules>> Compile(RulesConfig config);

  const RulesConfig& config() const { return config_; }
  const BusinessCalendar& calendar() const { return *calendar_; }
  std::optional<uint32_t> FindProcedure(std::string_view code) const;
  std::optional<uint32_t> FindDepartment(std::string_view code) const;
  const Procedure& procedure(uint32_t index) const { return config_.procedures[index]; }
  const ProcedureRules& procedure_rules(uint32_t index) const { return procedure_rules_[index]; }
  const Department& department(uint32_t index) const { return config_.departments[index]; }
  size_t department_count() const { return config_.departments.size(); }

 private:
  RulesConfig config_;
  std::shared_ptr<const BusinessCalendar> calendar_;
  std::vector<ProcedureRules> procedure_rules_;
  std::vector<std::pair<std::string, uint32_t>> procedure_index_;   // sorted by code
  std::vector<std::pair<std::string, uint32_t>> department_index_;  // sorted by code
};

enum class DossierState : uint8_t { kOpen, kResolved, kStopped, kWithdrawn, kRefused };
std::string_view ToString(DossierState state);

// What happened to one event. The invalid ones belong in the dead-letter topic.
enum class ApplyStatus : uint8_t {
  kApplied,
  kDuplicate,          // its event_id was seen for this dossier already
  kOrphan,             // the dossier was never accepted
  kUnknownType,        // counted and skipped
  kAfterClose,         // the dossier is closed: counted where the contract says, else no effect
  kAlreadyAccepted,    // a second `accepted` for an existing dossier
  kUnknownProcedure,   // invalid
  kUnknownDepartment,  // invalid
  kTimeOutOfRange,     // invalid: an instant outside kEarliestEventTime..kLatestEventTime, or a
                       // deadline the calendar cannot compute (past its table)
  kAfterRetention,     // retention on: its dossier is not in the state and the event is older than
                       // the retention (the dossier left, or it is too late to act on): skipped
};
std::string_view ToString(ApplyStatus status);
bool IsInvalid(ApplyStatus status);

// The gauge states of an open dossier (dossier_open{state}).
enum class OpenState : uint8_t { kOnTrack, kAtRisk, kOverdue, kPaused };
inline constexpr int kOpenStateCount = 4;
std::string_view ToString(OpenState state);

// A dossier as of some `now`, for reports and the HTTP API.
struct DossierView {
  std::string_view dossier_id;
  std::string_view procedure;
  std::string_view department;
  DossierState state = DossierState::kOpen;
  Instant accepted_at{};
  Instant original_due_at{};
  Instant due_at{};
  std::optional<Instant> closed_at;
  std::optional<Outcome> outcome;  // kOnTime or kLate for judged closes
  bool at_risk = false;
  bool overdue = false;
  bool paused = false;
  int cycle = 1;
  int supplements = 0;
  int apology_letters = 0;
  int step = 1;
  Duration working_time{};
  Duration remaining{};  // to the current due, signed
  std::optional<ApplicantView> applicant;
};

struct Summary {
  int64_t accepted = 0;
  int64_t closed_on_time = 0;
  int64_t closed_late = 0;
  int64_t open = 0;
  int64_t open_overdue = 0;
  int64_t open_at_risk = 0;
  double on_time_rate = 1.0;
  double avg_resolution_working_minutes = 0;
  int64_t apology_letters = 0;
};

class Engine {
 public:
  Engine(std::shared_ptr<const CompiledRules> rules, EngineListener* listener);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Which timers fire before an event is applied.
  enum class TimersBefore {
    kAll,      // every timer strictly earlier than the event (replay: one ordered stream)
    kDossier,  // only the event's own dossier's; the caller advances the rest to a watermark
               // (the live daemon: several partitions, each in order, not with each other)
  };
  // Fires timers strictly earlier than event.occurred_at, then applies the event. A new dossier
  // belongs to `partition`, the input partition its events arrive on (0 in replay).
  ApplyStatus Apply(const Event& event, TimersBefore timers = TimersBefore::kAll);
  ApplyStatus Apply(const Event& event, TimersBefore timers, int32_t partition);
  // A hint for a batch of events about to be applied, changing nothing: each stage prefetches
  // one more of the dependent loads of Apply's dossier lookup (0: the index slot, 1: the record,
  // 2: its text when the id lives out of line). Stage 0 for every event of the batch, then 1,
  // then 2, then Apply on each, overlaps their cache misses instead of paying them one by one.
  // `hash` is DossierHash(dossier_id).
  static uint64_t DossierHash(std::string_view dossier_id);
  void Prefetch(uint64_t hash, int stage) const;
  static constexpr int kPrefetchStages = 3;

  // Fires every timer strictly earlier than `now`; the clock becomes max(clock, now).
  void AdvanceTo(Instant now);
  // The same, spending at most `budget` timers (each fired costs one): true once no timer
  // earlier than `now` is left, and the clock then moves as above; false when the budget ran
  // out first (the clock stays; call again to go on). The outputs are those of AdvanceTo, in
  // the same order; only their grouping into calls differs. The live daemon bounds a loop turn
  // with it (100,000 dossiers due in the same millisecond are 100 turns, not one).
  bool AdvanceTo(Instant now, size_t& budget);

  // The largest instant seen (events and AdvanceTo); nullopt before the first.
  std::optional<Instant> clock() const;
  std::optional<Instant> next_timer() const;
  size_t timers_pending() const;
  size_t dossiers_tracked() const;

  std::optional<DossierView> Find(std::string_view dossier_id, Instant now) const;
  // In acceptance order.
  void ForEachDossier(Instant now, const std::function<void(const DossierView&)>& visit) const;
  Summary Summarize(Instant now) const;
  // dossier_open{department,state}: counts by department index and OpenState.
  const std::vector<std::array<int64_t, kOpenStateCount>>& open_counts() const;

  // predicted_late (RulesConfig::predict): open dossiers predicted late, by department index.
  const std::vector<int64_t>& predicted_late_counts() const;
  struct Prediction {
    double probability = 0;  // P(T > budget | T > used), T the working time to close
    Duration median{};       // the conditional median of T (>= used)
    uint64_t history = 0;    // closed dossiers it is learned from
  };
  // What the engine would predict for a dossier of `procedure` that has used `used` of `budget`,
  // held by `department` (empty: any). The history is that of the dossiers of the procedure
  // closed in that department when there are min_history of them, else the procedure's. nullopt
  // when prediction is off, the procedure or department unknown, the history under min_history
  // or no closed dossier ran longer than `used` (no prediction, never a guess).
  std::optional<Prediction> PredictFor(std::string_view procedure, Duration used, Duration budget,
                                       std::string_view department = {}) const;
  // Closed dossiers learned from, for `procedure` (every partition held).
  uint64_t history_count(std::string_view procedure) const;

  // Applies new rules to every open dossier: deadlines recomputed from their history under the
  // new budgets and calendar. Returns how many open dossiers were recomputed. Departments and
  // procedures are matched by code; a dossier whose procedure vanished keeps its old deadlines.
  // Fails, changing nothing, when a tracked dossier names a code the new rules lack.
  Result<size_t> Reconfigure(std::shared_ptr<const CompiledRules> rules);
  // The same on a budget, for the live daemon's loop: BeginReconfigure checks and switches to the
  // new rules (a walk over the state only when a code vanished or moved), and each
  // ContinueReconfigure recomputes at most `budget` dossiers, true once every one is done. In
  // between, a dossier an event or its timer reaches first is recomputed then, so what it does
  // follows the new rules; one whose deadline the new rules move earlier fires when it is reached
  // (detected at its instant, as any late timer): the alerts and letters are those of one
  // Reconfigure, possibly in another order. The views (Find, ForEachDossier) may show a dossier
  // not yet reached with its previous deadlines. A Begin during another finishes that one first.
  Status BeginReconfigure(std::shared_ptr<const CompiledRules> rules);
  bool ContinueReconfigure(size_t budget);
  bool reconfiguring() const;
  size_t recomputed() const;  // dossiers whose deadlines moved, since BeginReconfigure
  const CompiledRules& rules() const;

  // Binary snapshot of the whole state (dossiers with their partitions and seen event ids, the
  // clock): the dossier records of DrainChanges, framed and checksummed.
  void Save(std::ostream& out) const;
  Status Load(std::istream& in);

  // --- The live daemon's partitioned state (changelog, retention) ---

  // Closed dossiers leave the state `closed` after their close (event time: a timer, fired by
  // events and AdvanceTo like the others). nullopt (the default, replay): they stay.
  void set_retention(std::optional<Duration> closed);
  // Keeps a list of the dossiers changed, and of those that left, since the last DrainChanges.
  void TrackChanges(bool on);

  struct DossierChange {
    int32_t partition = 0;
    std::string_view dossier_id;
    std::string_view record;  // the dossier's state record; empty: it left the state
  };
  // Hands each change since the last drain to `visit` (the leavers first), once per dossier, and
  // forgets them. The views are valid during the call only.
  void DrainChanges(const std::function<void(const DossierChange&)>& visit);
  size_t changes_pending() const;

  // With prediction on, DrainChanges also hands out each learned history of the partition when it
  // changed, under the key kHistoryKeyPrefix + procedure code for the procedure's, and
  // kHistoryKeyPrefix + procedure code + kHistoryKeySeparator + department code for the
  // procedure's in one department (never a dossier id); RestoreDossier takes those records back
  // (they replace that partition's history).
  static constexpr std::string_view kHistoryKeyPrefix = "\x01sketch/";
  static constexpr std::string_view kHistoryKeySeparator = "\x1f";

  // Adds, or replaces, a dossier from a record DrainChanges gave, on `partition`. Checked like a
  // snapshot (format, checksum, every field and code); an error changes nothing. Its timers are
  // scheduled; nothing fires until the next Apply or AdvanceTo.
  Status RestoreDossier(int32_t partition, std::string_view record);
  // Forgets a dossier (a tombstone read while restoring); no change is recorded.
  void ForgetDossier(std::string_view dossier_id);
  // Forgets every dossier of `partition` (given away, or to be restored anew); returns how many.
  // A walk over the whole state: on a revocation during a rebalance, ReleasePartition instead.
  size_t DropPartition(int32_t partition);
  // Gives `partition` away without a walk over the state: its dossiers are gone at once for
  // everything that can be observed (Find, ForEachDossier, their timers fire nothing, no change
  // of theirs is drained, an event or a restored record for one of their ids starts afresh), and
  // DropReleased frees them a budget at a time. Their counts in open_counts() stay until they are
  // freed. DropPartition of a released partition frees the rest of it at once (assigned again).
  void ReleasePartition(int32_t partition);
  // Frees released dossiers, spending `budget` (a slot looked at costs 1, a dossier freed
  // kFreeCost); true when none is left.
  static constexpr size_t kFreeCost = 32;
  bool DropReleased(size_t budget);
  bool releasing() const;
  size_t dossiers_in(int32_t partition) const;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace ontime::rules
