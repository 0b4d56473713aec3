#include "ontime/streams/event_pipeline.h"

namespace ontime::streams {

ProcessedEvent EventPipeline::Process(std::string_view json, bool padded,
                                      rules::Engine::TimersBefore timers) {
  return Process(json, padded, timers, nullptr);
}

ProcessedEvent EventPipeline::Process(std::string_view json, rules::Engine::TimersBefore timers,
                                      const std::function<void(Instant)>& before_apply) {
  return Process(json, false, timers, &before_apply);
}

ProcessedEvent EventPipeline::Process(std::string_view json, bool padded,
                                      rules::Engine::TimersBefore timers,
                                      const std::function<void(Instant)>* before_apply) {
  ProcessedEvent out;
  auto decoded = decoder_.Decode(json, padded);
  if (!decoded.ok()) {
    out.invalid = true;
    const std::string& code = decoded.error().code;
    out.reason = code == kInvalidJson ? kInvalidJson : code == kMissingField ? kMissingField : kInvalidField;
    out.message = decoded.error().message;
    return out;
  }
  const rules::Event& event = *decoded;
  out.type = event.type;
  out.occurred_at = event.occurred_at;
  if (before_apply && *before_apply) (*before_apply)(event.occurred_at);
  out.status = engine_.Apply(event, timers);
  if (rules::IsInvalid(out.status)) {
    out.invalid = true;
    out.reason = rules::ToString(out.status);
    if (out.status == rules::ApplyStatus::kUnknownProcedure) {
      out.message = "unknown procedure \"" + std::string(event.procedure) + "\"";
    } else {
      out.message = "unknown department \"" + std::string(event.department) + "\"";
    }
  }
  return out;
}

}  // namespace ontime::streams
