#pragma once
// Decodes one input event (contract section 1) from JSON with simdjson: plain objects, numeric
// `status` in place of `type`, and CloudEvents structured mode. Checks the fields each type
// requires. Reusable and not thread-safe: the views in a returned Event stay valid until the next
// Decode on the same decoder.

#include <memory>
#include <string_view>

#include "ontime/base/result.h"
#include "ontime/rules/event.h"

namespace ontime::streams {

// Error codes (the `reason` of ontime_events_invalid_total and of dead letters).
inline constexpr std::string_view kInvalidJson = "invalid_json";
inline constexpr std::string_view kMissingField = "missing_field";
inline constexpr std::string_view kInvalidField = "invalid_field";

class EventDecoder {
 public:
  EventDecoder();
  ~EventDecoder();
  EventDecoder(const EventDecoder&) = delete;
  EventDecoder& operator=(const EventDecoder&) = delete;

  // `padded`: the caller guarantees 64 readable bytes after `json` (saves a copy).
  Result<rules::Event> Decode(std::string_view json, bool padded = false);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ontime::streams
