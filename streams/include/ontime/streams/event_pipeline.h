#pragma once
// Decode, validate and apply one raw event: the path every event takes, from a replay file or a
// Kafka message. Owns the decoder; the engine is the caller's. Not thread-safe.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ontime/base/clock.h"
#include "ontime/rules/engine.h"
#include "ontime/streams/event_decoder.h"

namespace ontime::streams {

struct ProcessedEvent {
  bool invalid = false;     // belongs in the dead-letter topic
  std::string_view reason;  // with invalid: invalid_json, missing_field, unknown_procedure...
  std::string message;      // with invalid: for people
  rules::EventType type = rules::EventType::kUnknown;
  rules::ApplyStatus status = rules::ApplyStatus::kApplied;
  Instant occurred_at{};
};

inline constexpr std::string_view kFutureEvent = "future_event";

class EventPipeline {
 public:
  explicit EventPipeline(rules::Engine& engine) : engine_(engine) {}

  // From now on an event dated later than clock.Now() + max_skew is invalid (`future_event`):
  // the wall clock live, a clock stopped at --now in replay. `clock` must outlive the pipeline.
  void RejectFutureEvents(const Clock& clock, Duration max_skew) {
    future_clock_ = &clock;
    max_skew_ = max_skew;
  }

  // Told every event the engine applied (valid or not), with what became of it: the daemon's
  // dossier timelines.
  void set_applied(std::function<void(const rules::Event&, rules::ApplyStatus)> applied) {
    applied_ = std::move(applied);
  }

  ProcessedEvent Process(std::string_view json, bool padded = false,
                         rules::Engine::TimersBefore timers = rules::Engine::TimersBefore::kAll);
  // Process on each of lines[0..n), in order, with the same results (into out[]), but all n
  // decoded first and their dossiers' lookups prefetched (Engine::Prefetch): their cache misses
  // overlap. At most kBatch lines; the replay path (TimersBefore::kAll, partition 0).
  static constexpr size_t kBatch = 8;
  void ProcessBatch(const std::string_view* lines, size_t n, bool padded, ProcessedEvent* out);
  // As above, calling `before_apply(occurred_at)` once the event is decoded and valid so far,
  // before the engine sees it: the live daemon advances its watermark there. A new dossier
  // belongs to the input `partition` the event came on.
  ProcessedEvent Process(std::string_view json, rules::Engine::TimersBefore timers,
                         const std::function<void(Instant)>& before_apply, int32_t partition = 0);

 private:
  ProcessedEvent Process(std::string_view json, bool padded, rules::Engine::TimersBefore timers,
                         const std::function<void(Instant)>* before_apply, int32_t partition);
  // What Process does once the event is decoded.
  ProcessedEvent Finish(Result<rules::Event>& decoded, rules::Engine::TimersBefore timers,
                        const std::function<void(Instant)>* before_apply, int32_t partition);

  rules::Engine& engine_;
  EventDecoder decoder_;
  std::unique_ptr<EventDecoder[]> batch_decoders_;  // ProcessBatch's: its events live together
  const Clock* future_clock_ = nullptr;
  Duration max_skew_{};
  std::function<void(const rules::Event&, rules::ApplyStatus)> applied_;
};

}  // namespace ontime::streams
