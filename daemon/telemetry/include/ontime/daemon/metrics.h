#pragma once
// Prometheus "probes" (contract section 6): every counter, gauge and histogram the daemon exports,
// held as cached references into a registry the daemon owns, so an event costs an index into a
// vector, never a map lookup. Single-threaded: called on the daemon's event-loop thread (the
// engine's thread), including SerializeMetrics for a scrape. prometheus-cpp types stay out of this
// header (forward declarations only).

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ontime/rules/engine.h"
#include "ontime/rules/event.h"
#include "ontime/rules/output.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace ontime::daemon {

// Domain metrics of contract section 6, fed by the engine as its listener. Labels: department
// codes from the rules and fixed value sets, every combination created up front so a query returns
// 0 rather than nothing. One listener among others (ListenerFanOut).
class EngineMetrics final : public rules::EngineListener {
 public:
  EngineMetrics(prometheus::Registry& registry, const rules::CompiledRules& rules);
  ~EngineMetrics() override;
  EngineMetrics(const EngineMetrics&) = delete;
  EngineMetrics& operator=(const EngineMetrics&) = delete;

  void OnAlert(const rules::Alert& alert) override;
  void OnApologyLetter(const rules::ApologyLetter& letter) override;
  void OnAccepted(uint32_t dept, rules::Channel channel,
                  std::optional<double> reception_seconds) override;
  void OnClosed(uint32_t dept, rules::Outcome outcome, double wall_seconds,
                double working_seconds) override;
  void OnSupplementRequested(uint32_t dept) override;
  void OnReturned(uint32_t dept, rules::ReturnChannel channel) override;
  void OnFeePaid(uint32_t dept, rules::PaymentMethod method) override;
  void OnRated(uint32_t dept, rules::Rating rating) override;

  // dossier_open{department,state} and dossier_open_within_time{department} (open and not
  // overdue) from engine.open_counts(), dossier_predicted_late{department} from
  // engine.predicted_late_counts(); call before a scrape.
  void RefreshGauges(const rules::Engine& engine);
  // After a config reload: department indices follow the new rules; new departments get their
  // series, existing ones keep counting (matched by code); vanished ones keep their counters and
  // have their open gauges zeroed.
  void Rebind(const rules::CompiledRules& rules);

  struct Families;
  struct Department;

 private:
  std::unique_ptr<Families> families_;
  std::vector<Department> departments_;  // by department index of the current rules
};

// Daemon metrics: ontime_events_total{type}, ontime_events_invalid_total{reason},
// ontime_dossiers_tracked, ontime_timers_pending, ontime_event_lag_seconds,
// ontime_kafka_consumer_lag{partition}, ontime_build_info{version}, ontime_ready,
// ontime_restarts_total{mode}, ontime_dead_letters_total{reason},
// ontime_kafka_consumer_lag_seconds, ontime_alertmanager_pushes_total,
// ontime_alertmanager_push_failures_total, ontime_reloads_total{result},
// ontime_deadline_recomputations_total, ontime_department_on_time_target{department},
// ontime_outputs_stale_total{kind}.
class DaemonMetrics {
 public:
  // Invalid and dead-letter reasons with a series of their own; anything else counts as "other".
  static constexpr std::array<std::string_view, 8> kInvalidReasons = {
      "invalid_json",       "missing_field",     "invalid_field", "unknown_procedure",
      "unknown_department", "time_out_of_range", "future_event",  "other"};

  DaemonMetrics(prometheus::Registry& registry, std::string_view version);
  ~DaemonMetrics();
  DaemonMetrics(const DaemonMetrics&) = delete;
  DaemonMetrics& operator=(const DaemonMetrics&) = delete;

  void CountEvent(rules::EventType type);
  void CountInvalid(std::string_view reason);
  // An input message on another partition than kafka.input_partitioner gives its key.
  void CountMisrouted();
  void CountDeadLetter(std::string_view reason);
  void SetReady(bool ready);
  void CountRestart(std::string_view mode);  // "changelog" (state restored) | "empty"
  // Events applied with no effect, by reason: duplicate, orphan, after_retention.
  void CountSkipped(rules::ApplyStatus status);
  // The state on Kafka: partitions held and being restored, dossiers restored from the
  // changelog, records written to it, records it held that could not be read, restore times.
  void SetPartitions(size_t assigned, size_t restoring);
  // ontime_partition_owned{partition, state="restoring"|"live"} 1 for each input partition this
  // instance owns (partition -> still restoring); a partition given away loses its series, and
  // its ontime_kafka_consumer_lag too, so that sums across instances count each partition once.
  void SetOwnedPartitions(const std::map<int32_t, bool>& restoring_by_partition);
  void CountRestored(size_t dossiers, double seconds);
  // A partition's restore read "checkpoint" (its local checkpoint and the changelog's tail) or
  // "changelog" (the whole changelog partition).
  void CountRestoreSource(std::string_view source);
  // Partitions of other instances whose checkpoint this one keeps warm (standby replicas).
  void SetStandbyPartitions(size_t partitions);
  // A local checkpoint written (after a restore, or refreshed), or not (an I/O error).
  void CountCheckpointWrite(bool written);
  void CountChangelogRecords(size_t records);
  void CountChangelogInvalid();
  // Transactions: "committed", "retried", "aborted"; a commit's duration.
  void CountTransaction(std::string_view outcome);
  void ObserveCommit(double seconds);
  // How late the event loop ran a timer it had armed: its longest stall in each interval.
  void ObserveLoopStall(double seconds);
  // From the loop taking the input (an event, a timer firing) to an output it caused being handed
  // to the producer: at once, or after the commit in flight, which holds it.
  void ObserveOutputDelay(double seconds);
  void SetEngineSizes(size_t dossiers, size_t timers);
  void SetEventLag(double seconds);
  // A partition's series is created on first use (partitions are few and fixed per topic).
  void SetConsumerLag(int32_t partition, int64_t messages);
  void SetConsumerLagSeconds(double seconds);
  void CountAlertmanagerPush(bool ok);
  void CountReload(bool ok);
  void CountRecomputations(size_t n);
  // ontime_outputs_stale_total{kind}: alerts (by kind) and letters ("apology_letter") not
  // produced because their instant was older than output.max_age when derived.
  void CountStaleAlert(rules::AlertKind kind);
  void CountStaleLetter();
  void SetOnTimeTargets(const rules::CompiledRules& rules);

  struct Probes;

 private:
  std::unique_ptr<Probes> probes_;
};

// The registry in the Prometheus text exposition format 0.0.4.
std::string SerializeMetrics(prometheus::Registry& registry);

}  // namespace ontime::daemon
