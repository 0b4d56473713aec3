#include "ontime/streams/event_pipeline.h"

#include <algorithm>
#include <optional>

namespace ontime::streams {
namespace {

std::string Utc(Instant t) { return FormatRfc3339(t, std::chrono::seconds(0)); }

// Why the engine refused the event, for people.
std::string InvalidMessage(const rules::Event& event, rules::ApplyStatus status) {
  switch (status) {
    case rules::ApplyStatus::kUnknownProcedure:
      return "unknown procedure \"" + std::string(event.procedure) + "\"";
    case rules::ApplyStatus::kUnknownDepartment:
      return "unknown department \"" + std::string(event.department) + "\"";
    case rules::ApplyStatus::kTimeOutOfRange:
      if (!rules::InEventTimeRange(event.occurred_at)) {
        return "occurred_at " + Utc(event.occurred_at) +
               " lies outside 1970-01-01T00:00Z..2200-01-01T00:00Z";
      }
      if (event.due_at && !rules::InEventTimeRange(*event.due_at)) {
        return "due_at " + Utc(*event.due_at) +
               " lies outside 1970-01-01T00:00Z..2200-01-01T00:00Z";
      }
      return "a deadline it sets would lie past the end of the calendar (2200)";
    default: return std::string(rules::ToString(status));
  }
}

}  // namespace

ProcessedEvent EventPipeline::Process(std::string_view json, bool padded,
                                      rules::Engine::TimersBefore timers) {
  return Process(json, padded, timers, nullptr, 0);
}

ProcessedEvent EventPipeline::Process(std::string_view json, rules::Engine::TimersBefore timers,
                                      const std::function<void(Instant)>& before_apply,
                                      int32_t partition) {
  return Process(json, false, timers, &before_apply, partition);
}

ProcessedEvent EventPipeline::Process(std::string_view json, bool padded,
                                      rules::Engine::TimersBefore timers,
                                      const std::function<void(Instant)>* before_apply,
                                      int32_t partition) {
  auto decoded = decoder_.Decode(json, padded);
  return Finish(decoded, timers, before_apply, partition);
}

void EventPipeline::ProcessBatch(const std::string_view* lines, size_t n, bool padded,
                                 ProcessedEvent* out) {
  if (!batch_decoders_) batch_decoders_ = std::make_unique<EventDecoder[]>(kBatch);
  n = std::min(n, kBatch);
  std::optional<Result<rules::Event>> decoded[kBatch];
  uint64_t hashes[kBatch];
  for (size_t j = 0; j < n; ++j) {
    decoded[j].emplace(batch_decoders_[j].Decode(lines[j], padded));
    if (decoded[j]->ok()) hashes[j] = rules::Engine::DossierHash((*decoded[j])->dossier_id);
  }
  // Stage by stage over the batch: each stage's loads are in flight together.
  for (int stage = 0; stage < rules::Engine::kPrefetchStages; ++stage) {
    for (size_t j = 0; j < n; ++j) {
      if (decoded[j]->ok()) engine_.Prefetch(hashes[j], stage);
    }
  }
  for (size_t j = 0; j < n; ++j) {
    out[j] = Finish(*decoded[j], rules::Engine::TimersBefore::kAll, nullptr, 0);
  }
}

ProcessedEvent EventPipeline::Finish(Result<rules::Event>& decoded,
                                     rules::Engine::TimersBefore timers,
                                     const std::function<void(Instant)>* before_apply,
                                     int32_t partition) {
  ProcessedEvent out;
  if (!decoded.ok()) {
    out.invalid = true;
    const std::string& code = decoded.error().code;
    out.reason = code == kInvalidJson    ? kInvalidJson
                 : code == kMissingField ? kMissingField
                                         : kInvalidField;
    out.message = decoded.error().message;
    return out;
  }
  const rules::Event& event = *decoded;
  out.type = event.type;
  out.occurred_at = event.occurred_at;
  // Neither check may let the event move any clock, the daemon's watermark included.
  if (!rules::InEventTimeRange(event.occurred_at) ||
      (event.due_at && !rules::InEventTimeRange(*event.due_at))) {
    out.invalid = true;
    out.status = rules::ApplyStatus::kTimeOutOfRange;
    out.reason = rules::ToString(out.status);
    out.message = InvalidMessage(event, out.status);
    return out;
  }
  if (future_clock_ != nullptr) {
    const Instant latest = future_clock_->Now() + max_skew_;
    if (event.occurred_at > latest) {
      out.invalid = true;
      out.reason = kFutureEvent;
      out.message = "occurred_at " + Utc(event.occurred_at) + " is later than " + Utc(latest) +
                    " (the clock plus ingest.max_clock_skew)";
      return out;
    }
  }
  if (before_apply && *before_apply) (*before_apply)(event.occurred_at);
  out.status = engine_.Apply(event, timers, partition);
  if (applied_) applied_(event, out.status);
  if (rules::IsInvalid(out.status)) {
    out.invalid = true;
    out.reason = rules::ToString(out.status);
    out.message = InvalidMessage(event, out.status);
  }
  return out;
}

}  // namespace ontime::streams
