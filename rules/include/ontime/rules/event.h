#pragma once
// A decoded input event (contract section 1). String fields are views into the buffer the event
// was decoded from: valid only during the Engine call that receives the event.

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
