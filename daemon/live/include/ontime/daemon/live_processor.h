#pragma once
// The live path (contract section 3 on the wall clock). Polls the event source; runs each event
// through the pipeline and the engine, the watermark's timers first and then the event's own
// dossier's, so one partition gives exactly replay's order; sends invalid events to the dead
// letters; once the backlog is consumed, fires the engine's timers on the wall clock, waking at
// each next timer; and tells how far each partition is applied (Hooks::consumed: the offsets the
// next transaction commits). Runs on the event loop, which it only reaches through the EventLoop
// seam; the Daemon wires it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "ontime/daemon/event_loop.h"
#include "ontime/daemon/logging.h"
#include "ontime/daemon/metrics.h"
#include "ontime/daemon/output_writer.h"
#include "ontime/daemon/watermark.h"
#include "ontime/rules/engine.h"
#include "ontime/streams/event_pipeline.h"
#include "ontime/streams/event_source.h"
#include "ontime/streams/output_sink.h"
#include "ontime/streams/partitioner.h"

namespace ontime::daemon {

class LiveProcessor {
 public:
  struct Hooks {
    std::function<void()> caught_up;                    // the backlog is consumed, first time
    std::function<void(const std::string& why)> fatal;  // the outputs cannot be delivered
    // The partition is applied up to (excluding) `next_offset`.
    std::function<void(int32_t partition, int64_t next_offset)> consumed;
    // False while the outputs cannot take more (a commit holds too much): polling waits.
    std::function<bool()> accepting;
    // After each batch of events and each firing of timers: the engine's changes go out as they
    // come (a few hundred at a time), never all at a commit.
    std::function<void()> changed;
    // The loop takes input now: a poll of events, the engine's timers firing on the wall clock.
    std::function<void(std::chrono::steady_clock::time_point)> input_taken;
  };

  // Events handled per loop turn: at about 10 us each under load, a turn stays near 2 ms (500
  // took up to 12 ms of CPU); the next batch follows at once in a posted turn.
  static constexpr size_t kPollBatch = 200;
  // Timers fired per loop turn, at most (a few us each): a breach wave of 100,000 dossiers due
  // in the same millisecond goes out over 100 turns, with polls and HTTP in between.
  static constexpr size_t kTimersPerTurn = 1000;

  LiveProcessor(EventLoop& loop, rules::Engine& engine, streams::OutputSink& sink,
                OutputWriter& writer, DaemonMetrics& metrics, Logger& log, Hooks hooks);
  ~LiveProcessor();
  LiveProcessor(const LiveProcessor&) = delete;
  LiveProcessor& operator=(const LiveProcessor&) = delete;

  // Events later than the wall clock plus this are invalid (`future_event`).
  void set_max_clock_skew(Duration skew);
  // Starts polling `source` and the engine's wall-clock timer. `source` must outlive Stop().
  void Start(streams::EventSource& source);
  void Stop();
  // After a reload moved deadlines: wake for the engine's new next timer.
  void RearmTimer() { ArmEngineTimer(); }
  // Told every event the engine applied, with its status (the dossier timelines).
  void set_applied(std::function<void(const rules::Event&, rules::ApplyStatus)> applied) {
    pipeline_.set_applied(std::move(applied));
  }
  // A partition given away or being restored: its events no longer hold the watermark back.
  void ForgetPartition(int32_t partition) { watermark_.Forget(partition); }
  // Checks each message's key against the partition `partitioner` gives it among `partitions`:
  // one that arrived elsewhere is counted (ontime_events_misrouted_total) and logged (the first,
  // then at most one line a minute): the producers partition differently from
  // kafka.input_partitioner, or key by something other than the dossier id, and the API's
  // forwarding then looks for those dossiers on the wrong instance.
  void CheckPartitioning(streams::Partitioner partitioner, int32_t partitions) {
    partitioner_ = partitioner;
    partitions_ = partitions;
  }

  bool caught_up_once() const { return caught_up_once_; }
  uint64_t events() const { return events_; }
  double last_event_lag_seconds() const { return last_event_lag_; }
  double last_message_lag_seconds() const { return last_message_lag_; }

 private:
  void PollLoop();
  void HandleMessage(const streams::KafkaMessage& m);
  void AdvanceToWatermark();
  void UpdateLags();
  void OnCaughtUp();
  void ArmEngineTimer();
  void LogSourceError(const std::string& error);
  void CheckPartition(const streams::KafkaMessage& m);

  EventLoop& loop_;
  rules::Engine& engine_;
  streams::OutputSink& sink_;
  OutputWriter& writer_;
  DaemonMetrics& metrics_;
  Logger& log_;
  Hooks hooks_;
  streams::EventPipeline pipeline_;
  EventTimeWatermark watermark_;
  streams::EventSource* source_ = nullptr;
  std::unique_ptr<Timer> poll_timer_;
  std::unique_ptr<Timer> engine_timer_;
  std::optional<std::chrono::steady_clock::time_point> engine_wake_;  // when armed
  std::chrono::steady_clock::time_point last_error_log_{};
  bool stopped_ = true;
  bool caught_up_once_ = false;
  bool source_trouble_ = false;
  size_t timer_budget_ = kTimersPerTurn;  // what is left of this turn's
  uint64_t events_ = 0;
  std::optional<Instant> last_occurred_at_;  // of the batch's last valid event
  std::optional<Instant> last_timestamp_;    // of the batch's last message with one
  double last_event_lag_ = 0;
  double last_message_lag_ = 0;
  streams::Partitioner partitioner_ = streams::Partitioner::kConsistentRandom;
  int32_t partitions_ = 0;  // 0: not checked
  uint64_t misrouted_ = 0;
  uint64_t misrouted_logged_ = 0;  // of misrouted_, when the last line was logged
  std::optional<std::chrono::steady_clock::time_point> misrouted_log_;
};

}  // namespace ontime::daemon
