#include "ontime/daemon/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <string>
#include <utility>

#include "ontime/base/check.h"

namespace ontime::daemon {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

constexpr double kMinute = 60;
constexpr double kHour = 3600;
constexpr double kDay = 86400;

const Histogram::BucketBoundaries& ResolutionBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {
      kMinute,   5 * kMinute, 15 * kMinute, 30 * kMinute, kHour,    4 * kHour,
      8 * kHour, kDay,        2 * kDay,     3 * kDay,     5 * kDay, 7 * kDay,
      10 * kDay, 15 * kDay,   30 * kDay,    60 * kDay};
  return kBuckets;
}

const Histogram::BucketBoundaries& ReceptionBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {60,   120,  300,  600, 900,
                                                       1200, 1800, 2700, 3600};
  return kBuckets;
}

constexpr std::array<rules::Channel, 3> kChannels = {
    rules::Channel::kDirect, rules::Channel::kOnline, rules::Channel::kPostal};
constexpr std::array<rules::ReturnChannel, 3> kReturnChannels = {
    rules::ReturnChannel::kCounter, rules::ReturnChannel::kPostal, rules::ReturnChannel::kOnline};
constexpr std::array<rules::PaymentMethod, 2> kPaymentMethods = {rules::PaymentMethod::kOnline,
                                                                 rules::PaymentMethod::kCash};
constexpr std::array<rules::Rating, 3> kRatings = {
    rules::Rating::kVerySatisfied, rules::Rating::kSatisfied, rules::Rating::kDissatisfied};

Family<Counter>& CounterFamily(prometheus::Registry& registry, const std::string& name,
                               const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}
Family<Gauge>& GaugeFamily(prometheus::Registry& registry, const std::string& name,
                           const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}
Family<Histogram>& HistogramFamily(prometheus::Registry& registry, const std::string& name,
                                   const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
}

std::string Str(std::string_view s) { return std::string(s); }

}  // namespace

struct EngineMetrics::Families {
  Family<Counter>* accepted;
  Family<Counter>* closed;
  Family<Gauge>* open;
  Family<Gauge>* open_within_time;
  Family<Gauge>* predicted_late;
  Family<Histogram>* resolution;
  Family<Histogram>* resolution_working;
  Family<Histogram>* reception;
  Family<Counter>* supplements;
  Family<Counter>* alerts;
  Family<Counter>* letters;
  Family<Counter>* returned;
  Family<Counter>* fees;
  Family<Counter>* ratings;
};

// One department's series, indexed by the enum values they are labelled with.
struct EngineMetrics::Department {
  std::string code;
  std::array<Counter*, 3> accepted{};                   // by Channel
  std::array<Counter*, rules::kOutcomeCount> closed{};  // by Outcome
  std::array<Gauge*, rules::kOpenStateCount> open{};    // by OpenState
  Gauge* open_within_time = nullptr;
  Gauge* predicted_late = nullptr;
  Histogram* resolution = nullptr;
  Histogram* resolution_working = nullptr;
  Histogram* reception = nullptr;
  Counter* supplements = nullptr;
  std::array<Counter*, rules::kAlertKindCount> alerts{};  // by AlertKind
  Counter* letters = nullptr;
  std::array<Counter*, 3> returned{};  // by ReturnChannel
  std::array<Counter*, 3> fees{};      // by PaymentMethod (kNone unused)
  std::array<Counter*, 4> ratings{};   // by Rating (kNone unused)
};

EngineMetrics::EngineMetrics(prometheus::Registry& registry, const rules::CompiledRules& rules)
    : families_(std::make_unique<Families>()) {
  Families& f = *families_;
  f.accepted = &CounterFamily(registry, "dossier_accepted_total",
                              "Dossiers accepted, by department and filing channel");
  f.closed = &CounterFamily(registry, "dossier_closed_total",
                            "Dossiers closed, by department and outcome");
  f.open = &GaugeFamily(registry, "dossier_open", "Open dossiers, by department and state");
  f.open_within_time = &GaugeFamily(registry, "dossier_open_within_time",
                                    "Open dossiers not overdue (on track, at risk or paused)");
  f.predicted_late = &GaugeFamily(registry, "dossier_predicted_late",
                                  "Open dossiers predicted late this cycle (predicted_late alert)");
  f.resolution = &HistogramFamily(registry, "dossier_resolution_seconds",
                                  "Time from acceptance to close, wall clock minus pauses");
  f.resolution_working = &HistogramFamily(registry, "dossier_resolution_working_seconds",
                                          "Working time from acceptance to close");
  f.reception = &HistogramFamily(registry, "dossier_reception_seconds",
                                 "Duration of the counter transaction at acceptance");
  f.supplements = &CounterFamily(registry, "dossier_supplement_requests_total",
                                 "Requests for supplementary documents");
  f.alerts = &CounterFamily(registry, "dossier_alerts_total", "SLA alerts, by kind");
  f.letters = &CounterFamily(registry, "dossier_apology_letters_total",
                             "Apology letters generated (form 03/2025/TT-VPCP-04)");
  f.returned =
      &CounterFamily(registry, "dossier_returned_total", "Results handed over, by return channel");
  f.fees = &CounterFamily(registry, "dossier_fee_payments_total", "Fee payments, by method");
  f.ratings = &CounterFamily(registry, "dossier_ratings_total", "Satisfaction ratings");
  Rebind(rules);
}

EngineMetrics::~EngineMetrics() = default;

void EngineMetrics::Rebind(const rules::CompiledRules& rules) {
  // Vanished departments keep their counters; their open gauges must not report stale dossiers.
  // dossier_predicted_late exists only while predict: is configured: a 0 would read as a
  // measurement.
  const bool predicting = rules.config().predict.has_value();
  const Families& f = *families_;
  for (Department& old : departments_) {
    for (Gauge* gauge : old.open) gauge->Set(0);
    old.open_within_time->Set(0);
    if (old.predicted_late && !predicting) f.predicted_late->Remove(old.predicted_late);
    if (old.predicted_late && predicting) old.predicted_late->Set(0);
  }
  std::vector<Department> departments(rules.department_count());
  for (uint32_t i = 0; i < departments.size(); ++i) {
    Department& d = departments[i];
    d.code = rules.department(i).code;
    const prometheus::Labels dept = {{"department", d.code}};
    auto with = [&](const char* key, std::string_view value) {
      prometheus::Labels labels = dept;
      labels.emplace(key, std::string(value));
      return labels;
    };
    for (rules::Channel c : kChannels) {
      d.accepted[static_cast<size_t>(c)] = &f.accepted->Add(with("channel", ToString(c)));
    }
    for (int o = 0; o < rules::kOutcomeCount; ++o) {
      d.closed[o] = &f.closed->Add(with("outcome", ToString(static_cast<rules::Outcome>(o))));
    }
    for (int s = 0; s < rules::kOpenStateCount; ++s) {
      d.open[s] = &f.open->Add(with("state", ToString(static_cast<rules::OpenState>(s))));
    }
    d.open_within_time = &f.open_within_time->Add(dept);
    d.predicted_late = predicting ? &f.predicted_late->Add(dept) : nullptr;
    d.resolution = &f.resolution->Add(dept, ResolutionBuckets());
    d.resolution_working = &f.resolution_working->Add(dept, ResolutionBuckets());
    d.reception = &f.reception->Add(dept, ReceptionBuckets());
    d.supplements = &f.supplements->Add(dept);
    for (int k = 0; k < rules::kAlertKindCount; ++k) {
      d.alerts[k] = &f.alerts->Add(with("kind", ToString(static_cast<rules::AlertKind>(k))));
    }
    d.letters = &f.letters->Add(dept);
    for (rules::ReturnChannel c : kReturnChannels) {
      d.returned[static_cast<size_t>(c)] = &f.returned->Add(with("channel", ToString(c)));
    }
    for (rules::PaymentMethod m : kPaymentMethods) {
      d.fees[static_cast<size_t>(m)] = &f.fees->Add(with("method", ToString(m)));
    }
    for (rules::Rating r : kRatings) {
      d.ratings[static_cast<size_t>(r)] = &f.ratings->Add(with("rating", ToString(r)));
    }
  }
  departments_ = std::move(departments);
}

void EngineMetrics::OnAlert(const rules::Alert& alert) {
  ONTIME_CHECK(alert.department_index < departments_.size(), "alert for an unknown department");
  departments_[alert.department_index].alerts[static_cast<size_t>(alert.kind)]->Increment();
}

void EngineMetrics::OnApologyLetter(const rules::ApologyLetter& letter) {
  ONTIME_CHECK(letter.department_index < departments_.size(), "letter for an unknown department");
  departments_[letter.department_index].letters->Increment();
}

void EngineMetrics::OnAccepted(uint32_t dept, rules::Channel channel,
                               std::optional<double> reception_seconds) {
  ONTIME_CHECK(dept < departments_.size(), "accepted in an unknown department");
  Department& d = departments_[dept];
  d.accepted[static_cast<size_t>(channel)]->Increment();
  if (reception_seconds) d.reception->Observe(*reception_seconds);
}

void EngineMetrics::OnClosed(uint32_t dept, rules::Outcome outcome, double wall_seconds,
                             double working_seconds) {
  ONTIME_CHECK(dept < departments_.size(), "closed in an unknown department");
  Department& d = departments_[dept];
  d.closed[static_cast<size_t>(outcome)]->Increment();
  // Withdrawn and refused dossiers are excluded from the handling-time figures.
  if (outcome == rules::Outcome::kOnTime || outcome == rules::Outcome::kLate) {
    d.resolution->Observe(wall_seconds);
    d.resolution_working->Observe(working_seconds);
  }
}

void EngineMetrics::OnSupplementRequested(uint32_t dept) {
  ONTIME_CHECK(dept < departments_.size(), "supplement in an unknown department");
  departments_[dept].supplements->Increment();
}

void EngineMetrics::OnReturned(uint32_t dept, rules::ReturnChannel channel) {
  ONTIME_CHECK(dept < departments_.size(), "returned in an unknown department");
  departments_[dept].returned[static_cast<size_t>(channel)]->Increment();
}

void EngineMetrics::OnFeePaid(uint32_t dept, rules::PaymentMethod method) {
  ONTIME_CHECK(dept < departments_.size(), "fee in an unknown department");
  if (Counter* counter = departments_[dept].fees[static_cast<size_t>(method)]) {
    counter->Increment();
  }
}

void EngineMetrics::OnRated(uint32_t dept, rules::Rating rating) {
  ONTIME_CHECK(dept < departments_.size(), "rating in an unknown department");
  if (Counter* counter = departments_[dept].ratings[static_cast<size_t>(rating)]) {
    counter->Increment();
  }
}

void EngineMetrics::RefreshGauges(const rules::Engine& engine) {
  const auto& counts = engine.open_counts();
  for (size_t i = 0; i < departments_.size(); ++i) {
    Department& d = departments_[i];
    int64_t within_time = 0;
    for (int s = 0; s < rules::kOpenStateCount; ++s) {
      const int64_t n = i < counts.size() ? counts[i][s] : 0;
      d.open[s]->Set(static_cast<double>(n));
      if (static_cast<rules::OpenState>(s) != rules::OpenState::kOverdue) within_time += n;
    }
    d.open_within_time->Set(static_cast<double>(within_time));
    if (!d.predicted_late) continue;
    const auto& predicted = engine.predicted_late_counts();
    d.predicted_late->Set(i < predicted.size() ? static_cast<double>(predicted[i]) : 0.0);
  }
}

struct DaemonMetrics::Probes {
  std::array<Counter*, rules::kEventTypeCount> events{};
  std::array<Counter*, kInvalidReasons.size()> invalid{};
  std::array<Counter*, kInvalidReasons.size()> dead_letters{};
  Gauge* dossiers_tracked = nullptr;
  Gauge* timers_pending = nullptr;
  Gauge* event_lag = nullptr;
  Family<Gauge>* consumer_lag = nullptr;
  std::map<int32_t, Gauge*> consumer_lag_by_partition;
  Gauge* consumer_lag_seconds = nullptr;
  Gauge* ready = nullptr;
  Counter* restarts_changelog = nullptr;
  Counter* restarts_empty = nullptr;
  Counter* skipped_duplicate = nullptr;
  Counter* skipped_orphan = nullptr;
  Counter* skipped_after_retention = nullptr;
  Gauge* partitions_assigned = nullptr;
  Gauge* partitions_restoring = nullptr;
  Gauge* standby_partitions = nullptr;
  Family<Gauge>* partition_owned = nullptr;
  std::map<int32_t, std::pair<bool, Gauge*>> partition_owned_series;  // restoring, its series
  Counter* restored = nullptr;
  Histogram* restore_seconds = nullptr;
  Counter* restore_from_checkpoint = nullptr;
  Counter* restore_from_changelog = nullptr;
  Counter* checkpoints_written = nullptr;
  Counter* checkpoints_failed = nullptr;
  Counter* changelog_records = nullptr;
  Counter* changelog_invalid = nullptr;
  Counter* transactions_committed = nullptr;
  Counter* transactions_retried = nullptr;
  Counter* transactions_aborted = nullptr;
  Histogram* commit_seconds = nullptr;
  Histogram* loop_stall = nullptr;
  Counter* misrouted = nullptr;
  Histogram* output_delay = nullptr;
  Counter* pushes = nullptr;
  Counter* push_failures = nullptr;
  Counter* reloads_ok = nullptr;
  Counter* reloads_failed = nullptr;
  Counter* recomputations = nullptr;
  std::array<Counter*, rules::kAlertKindCount> stale_alerts{};
  Counter* stale_letters = nullptr;
  Family<Gauge>* on_time_target = nullptr;
  std::vector<Gauge*> on_time_target_series;
};

namespace {

size_t ReasonIndex(std::string_view reason) {
  for (size_t i = 0; i + 1 < DaemonMetrics::kInvalidReasons.size(); ++i) {
    if (DaemonMetrics::kInvalidReasons[i] == reason) return i;
  }
  return DaemonMetrics::kInvalidReasons.size() - 1;  // "other"
}

}  // namespace

DaemonMetrics::DaemonMetrics(prometheus::Registry& registry, std::string_view version)
    : probes_(std::make_unique<Probes>()) {
  Probes& p = *probes_;
  auto& events = CounterFamily(registry, "ontime_events_total", "Input events, by type");
  for (int t = 0; t < rules::kEventTypeCount; ++t) {
    p.events[t] = &events.Add({{"type", Str(ToString(static_cast<rules::EventType>(t)))}});
  }
  auto& invalid = CounterFamily(registry, "ontime_events_invalid_total",
                                "Events that could not be decoded or applied, by reason");
  auto& dead = CounterFamily(registry, "ontime_dead_letters_total",
                             "Events written to the dead-letter topic, by reason");
  for (size_t i = 0; i < kInvalidReasons.size(); ++i) {
    p.invalid[i] = &invalid.Add({{"reason", Str(kInvalidReasons[i])}});
    p.dead_letters[i] = &dead.Add({{"reason", Str(kInvalidReasons[i])}});
  }
  p.misrouted = &CounterFamily(registry, "ontime_events_misrouted_total",
                               "Input messages on another partition than kafka.input_partitioner "
                               "gives their key (the producers partition differently)")
                     .Add({});
  p.dossiers_tracked =
      &GaugeFamily(registry, "ontime_dossiers_tracked", "Dossiers held by the engine").Add({});
  p.timers_pending =
      &GaugeFamily(registry, "ontime_timers_pending", "Engine timers pending").Add({});
  p.event_lag = &GaugeFamily(registry, "ontime_event_lag_seconds",
                             "Wall clock minus occurred_at of the last event applied")
                     .Add({});
  p.consumer_lag = &GaugeFamily(registry, "ontime_kafka_consumer_lag",
                                "Messages behind the partition's high watermark");
  p.consumer_lag_seconds = &GaugeFamily(registry, "ontime_kafka_consumer_lag_seconds",
                                        "Age of the oldest unconsumed event, estimated")
                                .Add({});
  GaugeFamily(registry, "ontime_build_info", "Build information; always 1")
      .Add({{"version", Str(version)}})
      .Set(1);
  p.ready = &GaugeFamily(registry, "ontime_ready", "1 once the daemon serves live data").Add({});
  auto& restarts =
      CounterFamily(registry, "ontime_restarts_total", "Start-ups, by how state was restored");
  p.restarts_changelog = &restarts.Add({{"mode", "changelog"}});
  p.restarts_empty = &restarts.Add({{"mode", "empty"}});
  auto& skipped = CounterFamily(registry, "ontime_events_skipped_total",
                                "Events applied with no effect, by reason");
  p.skipped_duplicate = &skipped.Add({{"reason", "duplicate"}});
  p.skipped_orphan = &skipped.Add({{"reason", "orphan"}});
  p.skipped_after_retention = &skipped.Add({{"reason", "after_retention"}});
  auto& partitions = GaugeFamily(registry, "ontime_partitions", "Input partitions, by state");
  p.partitions_assigned = &partitions.Add({{"state", "assigned"}});
  p.partitions_restoring = &partitions.Add({{"state", "restoring"}});
  p.standby_partitions = &GaugeFamily(registry, "ontime_standby_partitions",
                                      "Partitions of other instances whose checkpoint this one "
                                      "keeps warm (state.standby_replicas)")
                              .Add({});
  p.partition_owned =
      &GaugeFamily(registry, "ontime_partition_owned",
                   "1 for each input partition this instance owns, by state (restoring, live)");
  p.restored = &CounterFamily(registry, "ontime_restored_dossiers_total",
                              "Dossiers restored from the changelog")
                    .Add({});
  p.restore_seconds =
      &HistogramFamily(registry, "ontime_restore_seconds",
                       "Time to restore one partition from the changelog")
           .Add({}, Histogram::BucketBoundaries{0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600});
  auto& sources = CounterFamily(registry, "ontime_restore_source_total",
                                "Partition restores, by what they read: the local checkpoint and "
                                "the changelog's tail, or the whole changelog partition");
  p.restore_from_checkpoint = &sources.Add({{"source", "checkpoint"}});
  p.restore_from_changelog = &sources.Add({{"source", "changelog"}});
  auto& checkpoints =
      CounterFamily(registry, "ontime_checkpoint_writes_total",
                    "Local checkpoints of changelog partitions written, by outcome");
  p.checkpoints_written = &checkpoints.Add({{"outcome", "written"}});
  p.checkpoints_failed = &checkpoints.Add({{"outcome", "failed"}});
  p.changelog_records = &CounterFamily(registry, "ontime_changelog_records_total",
                                       "Dossier state records and tombstones written")
                             .Add({});
  p.changelog_invalid = &CounterFamily(registry, "ontime_changelog_invalid_total",
                                       "Changelog records that could not be restored")
                             .Add({});
  auto& transactions =
      CounterFamily(registry, "ontime_transactions_total", "Kafka transactions, by outcome");
  p.transactions_committed = &transactions.Add({{"outcome", "committed"}});
  p.transactions_retried = &transactions.Add({{"outcome", "retried"}});
  p.transactions_aborted = &transactions.Add({{"outcome", "aborted"}});
  const Histogram::BucketBoundaries fast = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,   0.25,   0.5,   1,    2.5,   10};
  p.commit_seconds = &HistogramFamily(registry, "ontime_transaction_commit_seconds",
                                      "Duration of a transaction's commit")
                          .Add({}, fast);
  // Fine around the goal (p99 < 10 ms): 1, 2.5, 5, 7.5, 10 and 15 ms told apart.
  const Histogram::BucketBoundaries stall = {0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075,
                                             0.01,    0.015,  0.025, 0.05,   0.1,   0.25,
                                             0.5,     1,      2.5,   10};
  p.loop_stall = &HistogramFamily(registry, "ontime_loop_stall_seconds",
                                  "How late the event loop ran its timers (a probe every 5 ms): "
                                  "the longest stall of each 100 ms")
                      .Add({}, stall);
  p.output_delay =
      &HistogramFamily(registry, "ontime_output_delay_seconds",
                       "From the loop taking an event (or a timer firing) to each alert, letter or "
                       "dead letter it caused being handed to the Kafka producer")
           .Add({}, stall);
  p.pushes =
      &CounterFamily(registry, "ontime_alertmanager_pushes_total", "Alertmanager push attempts")
           .Add({});
  p.push_failures = &CounterFamily(registry, "ontime_alertmanager_push_failures_total",
                                   "Alertmanager pushes that failed")
                         .Add({});
  auto& reloads = CounterFamily(registry, "ontime_reloads_total", "Configuration reloads");
  p.reloads_ok = &reloads.Add({{"result", "success"}});
  p.reloads_failed = &reloads.Add({{"result", "failure"}});
  p.recomputations = &CounterFamily(registry, "ontime_deadline_recomputations_total",
                                    "Open dossiers whose deadlines a reload recomputed")
                          .Add({});
  auto& stale = CounterFamily(registry, "ontime_outputs_stale_total",
                              "Alerts and letters not produced: older than output.max_age");
  for (int k = 0; k < rules::kAlertKindCount; ++k) {
    p.stale_alerts[k] = &stale.Add({{"kind", Str(ToString(static_cast<rules::AlertKind>(k)))}});
  }
  p.stale_letters = &stale.Add({{"kind", "apology_letter"}});
  p.on_time_target = &GaugeFamily(registry, "ontime_department_on_time_target",
                                  "Configured on-time target of each department (0..1)");
}

DaemonMetrics::~DaemonMetrics() = default;

void DaemonMetrics::CountEvent(rules::EventType type) {
  probes_->events[static_cast<size_t>(type)]->Increment();
}
void DaemonMetrics::CountMisrouted() { probes_->misrouted->Increment(); }

void DaemonMetrics::CountInvalid(std::string_view reason) {
  probes_->invalid[ReasonIndex(reason)]->Increment();
}
void DaemonMetrics::CountDeadLetter(std::string_view reason) {
  probes_->dead_letters[ReasonIndex(reason)]->Increment();
}
void DaemonMetrics::SetReady(bool ready) { probes_->ready->Set(ready ? 1 : 0); }
void DaemonMetrics::CountRestart(std::string_view mode) {
  (mode == "changelog" ? probes_->restarts_changelog : probes_->restarts_empty)->Increment();
}
void DaemonMetrics::CountSkipped(rules::ApplyStatus status) {
  switch (status) {
    case rules::ApplyStatus::kDuplicate: probes_->skipped_duplicate->Increment(); break;
    case rules::ApplyStatus::kOrphan: probes_->skipped_orphan->Increment(); break;
    case rules::ApplyStatus::kAfterRetention: probes_->skipped_after_retention->Increment(); break;
    default: break;
  }
}
void DaemonMetrics::SetPartitions(size_t assigned, size_t restoring) {
  probes_->partitions_assigned->Set(static_cast<double>(assigned));
  probes_->partitions_restoring->Set(static_cast<double>(restoring));
}
void DaemonMetrics::SetStandbyPartitions(size_t partitions) {
  probes_->standby_partitions->Set(static_cast<double>(partitions));
}
void DaemonMetrics::SetOwnedPartitions(const std::map<int32_t, bool>& restoring_by_partition) {
  auto& series = probes_->partition_owned_series;
  for (auto it = series.begin(); it != series.end();) {
    auto now = restoring_by_partition.find(it->first);
    if (now != restoring_by_partition.end() && now->second == it->second.first) {
      ++it;
      continue;
    }
    probes_->partition_owned->Remove(it->second.second);
    if (now == restoring_by_partition.end()) {
      if (auto lag = probes_->consumer_lag_by_partition.find(it->first);
          lag != probes_->consumer_lag_by_partition.end()) {
        probes_->consumer_lag->Remove(lag->second);
        probes_->consumer_lag_by_partition.erase(lag);
      }
    }
    it = series.erase(it);
  }
  for (const auto& [partition, restoring] : restoring_by_partition) {
    if (series.contains(partition)) continue;
    Gauge& gauge = probes_->partition_owned->Add(
        {{"partition", std::to_string(partition)}, {"state", restoring ? "restoring" : "live"}});
    gauge.Set(1);
    series.emplace(partition, std::pair{restoring, &gauge});
  }
}
void DaemonMetrics::CountRestored(size_t dossiers, double seconds) {
  probes_->restored->Increment(static_cast<double>(dossiers));
  probes_->restore_seconds->Observe(seconds);
}
void DaemonMetrics::CountRestoreSource(std::string_view source) {
  (source == "checkpoint" ? probes_->restore_from_checkpoint : probes_->restore_from_changelog)
      ->Increment();
}
void DaemonMetrics::CountCheckpointWrite(bool written) {
  (written ? probes_->checkpoints_written : probes_->checkpoints_failed)->Increment();
}
void DaemonMetrics::CountChangelogRecords(size_t records) {
  probes_->changelog_records->Increment(static_cast<double>(records));
}
void DaemonMetrics::CountChangelogInvalid() { probes_->changelog_invalid->Increment(); }
void DaemonMetrics::CountTransaction(std::string_view outcome) {
  if (outcome == "committed") {
    probes_->transactions_committed->Increment();
  } else if (outcome == "retried") {
    probes_->transactions_retried->Increment();
  } else {
    probes_->transactions_aborted->Increment();
  }
}
void DaemonMetrics::ObserveCommit(double seconds) { probes_->commit_seconds->Observe(seconds); }
void DaemonMetrics::ObserveLoopStall(double seconds) { probes_->loop_stall->Observe(seconds); }
void DaemonMetrics::ObserveOutputDelay(double seconds) { probes_->output_delay->Observe(seconds); }
void DaemonMetrics::SetEngineSizes(size_t dossiers, size_t timers) {
  probes_->dossiers_tracked->Set(static_cast<double>(dossiers));
  probes_->timers_pending->Set(static_cast<double>(timers));
}
void DaemonMetrics::SetEventLag(double seconds) { probes_->event_lag->Set(seconds); }
void DaemonMetrics::SetConsumerLag(int32_t partition, int64_t messages) {
  Gauge*& gauge = probes_->consumer_lag_by_partition[partition];
  if (gauge == nullptr) {
    gauge = &probes_->consumer_lag->Add({{"partition", std::to_string(partition)}});
  }
  gauge->Set(static_cast<double>(messages));
}
void DaemonMetrics::SetConsumerLagSeconds(double seconds) {
  probes_->consumer_lag_seconds->Set(seconds);
}
void DaemonMetrics::CountAlertmanagerPush(bool ok) {
  probes_->pushes->Increment();
  if (!ok) probes_->push_failures->Increment();
}
void DaemonMetrics::CountReload(bool ok) {
  (ok ? probes_->reloads_ok : probes_->reloads_failed)->Increment();
}
void DaemonMetrics::CountRecomputations(size_t n) {
  probes_->recomputations->Increment(static_cast<double>(n));
}
void DaemonMetrics::CountStaleAlert(rules::AlertKind kind) {
  probes_->stale_alerts[static_cast<size_t>(kind)]->Increment();
}
void DaemonMetrics::CountStaleLetter() { probes_->stale_letters->Increment(); }
void DaemonMetrics::SetOnTimeTargets(const rules::CompiledRules& rules) {
  Probes& p = *probes_;
  for (Gauge* gauge : p.on_time_target_series) p.on_time_target->Remove(gauge);
  p.on_time_target_series.clear();
  for (uint32_t i = 0; i < rules.department_count(); ++i) {
    const rules::Department& d = rules.department(i);
    Gauge& gauge = p.on_time_target->Add({{"department", d.code}});
    gauge.Set(d.on_time_target);
    p.on_time_target_series.push_back(&gauge);
  }
}

std::string SerializeMetrics(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace ontime::daemon
