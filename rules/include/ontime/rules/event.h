#pragma once
// A decoded input event (contract section 1). String fields are views into the buffer the event
// was decoded from: valid only during the Engine call that receives the event.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "ontime/base/time.h"

namespace ontime::rules {

enum class EventType : uint8_t {
  kSubmitted,
  kAccepted,
  kRefused,
  kTransferred,
  kSupplementRequested,
  kSupplementReceived,
  kFeeRequested,
  kFeePaid,
  kWithdrawn,
  kStopped,
  kResolved,
  kReturned,
  kExtended,
  kRated,
  kUnknown,
};
inline constexpr int kEventTypeCount = static_cast<int>(EventType::kUnknown) + 1;

enum class Channel : uint8_t { kDirect, kOnline, kPostal };
enum class Rating : uint8_t { kNone, kVerySatisfied, kSatisfied, kDissatisfied };
enum class PaymentMethod : uint8_t { kNone, kOnline, kCash };
enum class ReturnChannel : uint8_t { kCounter, kPostal, kOnline };

std::string_view ToString(EventType type);
std::string_view ToString(Channel channel);
std::string_view ToString(Rating rating);
std::string_view ToString(PaymentMethod method);
std::string_view ToString(ReturnChannel channel);
// "accepted" -> kAccepted; also the last dot-separated part of a CloudEvents type. kUnknown else.
EventType EventTypeFromName(std::string_view name);
// National status codes 1..10 (contract table); kUnknown outside.
EventType EventTypeFromStatus(int64_t status);

// The instants an event may carry (contract section 1); outside, it is invalid
// (`time_out_of_range`) and never moves the clock. The calendar's table runs a year past the last.
inline constexpr Instant kEarliestEventTime{};  // 1970-01-01T00:00Z
inline constexpr Instant kLatestEventTime{
    std::chrono::sys_days{std::chrono::year{2200} / std::chrono::January / 1}};
inline constexpr bool InEventTimeRange(Instant t) {
  return t >= kEarliestEventTime && t <= kLatestEventTime;
}

struct ApplicantView {
  std::string_view name;
  std::string_view address;
  std::string_view phone;
  std::string_view email;
};

struct Event {
  std::string_view event_id;
  std::string_view dossier_id;
  EventType type = EventType::kUnknown;
  std::string_view type_name;  // as received, for counting unknown types
  Instant occurred_at{};
  std::string_view procedure;
  std::string_view department;
  Channel channel = Channel::kDirect;
  std::optional<Instant> due_at;
  std::optional<double> reception_seconds;
  std::optional<ApplicantView> applicant;
  std::string_view reason;
  Rating rating = Rating::kNone;
  PaymentMethod method = PaymentMethod::kNone;
  ReturnChannel return_channel = ReturnChannel::kCounter;
};

}  // namespace ontime::rules
