// String forms of the engine's enums: the exact words of the contract.
#include <array>

#include "ontime/rules/engine.h"
#include "ontime/rules/event.h"
#include "ontime/rules/output.h"

namespace ontime::rules {
namespace {

constexpr std::array<std::string_view, kEventTypeCount> kEventTypeNames = {"submitted",
                                                                           "accepted",
                                                                           "refused",
                                                                           "transferred",
                                                                           "supplement_requested",
                                                                           "supplement_received",
                                                                           "fee_requested",
                                                                           "fee_paid",
                                                                           "withdrawn",
                                                                           "stopped",
                                                                           "resolved",
                                                                           "returned",
                                                                           "extended",
                                                                           "rated",
                                                                           "unknown"};

}  // namespace

std::string_view ToString(EventType type) { return kEventTypeNames[static_cast<int>(type)]; }

std::string_view ToString(Channel channel) {
  switch (channel) {
    case Channel::kDirect: return "direct";
    case Channel::kOnline: return "online";
    case Channel::kPostal: return "postal";
  }
  return "direct";
}

std::string_view ToString(Rating rating) {
  switch (rating) {
    case Rating::kVerySatisfied: return "very_satisfied";
    case Rating::kSatisfied: return "satisfied";
    case Rating::kDissatisfied: return "dissatisfied";
    case Rating::kNone: break;
  }
  return "none";
}

std::string_view ToString(PaymentMethod method) {
  switch (method) {
    case PaymentMethod::kOnline: return "online";
    case PaymentMethod::kCash: return "cash";
    case PaymentMethod::kNone: break;
  }
  return "none";
}

std::string_view ToString(ReturnChannel channel) {
  switch (channel) {
    case ReturnChannel::kCounter: return "counter";
    case ReturnChannel::kPostal: return "postal";
    case ReturnChannel::kOnline: return "online";
  }
  return "counter";
}

EventType EventTypeFromName(std::string_view name) {
  if (auto dot = name.rfind('.'); dot != std::string_view::npos) name = name.substr(dot + 1);
  for (int i = 0; i < kEventTypeCount - 1; ++i) {
    if (kEventTypeNames[i] == name) return static_cast<EventType>(i);
  }
  return EventType::kUnknown;
}

EventType EventTypeFromStatus(int64_t status) {
  switch (status) {
    case 1: return EventType::kSubmitted;
    case 2: return EventType::kAccepted;
    case 3: return EventType::kRefused;
    case 4: return EventType::kTransferred;
    case 5: return EventType::kSupplementRequested;
    case 6: return EventType::kFeeRequested;
    case 7: return EventType::kWithdrawn;
    case 8: return EventType::kStopped;
    case 9: return EventType::kResolved;
    case 10: return EventType::kReturned;
    default: return EventType::kUnknown;
  }
}

std::string_view ToString(AlertKind kind) {
  switch (kind) {
    case AlertKind::kAtRisk: return "at_risk";
    case AlertKind::kOverdue: return "overdue";
    case AlertKind::kStepOverdue: return "step_overdue";
    case AlertKind::kEscalated: return "escalated";
    case AlertKind::kPredictedLate: return "predicted_late";
  }
  return "at_risk";
}

std::string_view ToString(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOnTime: return "on_time";
    case Outcome::kLate: return "late";
    case Outcome::kWithdrawn: return "withdrawn";
    case Outcome::kRefused: return "refused";
  }
  return "on_time";
}

std::string_view ToString(DossierState state) {
  switch (state) {
    case DossierState::kOpen: return "open";
    case DossierState::kResolved: return "resolved";
    case DossierState::kStopped: return "stopped";
    case DossierState::kWithdrawn: return "withdrawn";
    case DossierState::kRefused: return "refused";
  }
  return "open";
}

std::string_view ToString(ApplyStatus status) {
  switch (status) {
    case ApplyStatus::kApplied: return "applied";
    case ApplyStatus::kDuplicate: return "duplicate";
    case ApplyStatus::kOrphan: return "orphan";
    case ApplyStatus::kUnknownType: return "unknown_type";
    case ApplyStatus::kAfterClose: return "after_close";
    case ApplyStatus::kAlreadyAccepted: return "already_accepted";
    case ApplyStatus::kUnknownProcedure: return "unknown_procedure";
    case ApplyStatus::kUnknownDepartment: return "unknown_department";
    case ApplyStatus::kTimeOutOfRange: return "time_out_of_range";
    case ApplyStatus::kAfterRetention: return "after_retention";
  }
  return "applied";
}

bool IsInvalid(ApplyStatus status) {
  return status == ApplyStatus::kUnknownProcedure || status == ApplyStatus::kUnknownDepartment ||
         status == ApplyStatus::kTimeOutOfRange;
}

std::string_view ToString(OpenState state) {
  switch (state) {
    case OpenState::kOnTrack: return "on_track";
    case OpenState::kAtRisk: return "at_risk";
    case OpenState::kOverdue: return "overdue";
    case OpenState::kPaused: return "paused";
  }
  return "on_track";
}

std::string Alert::AlertId() const {
  std::string id;
  id.reserve(dossier_id.size() + 20);
  id.append(dossier_id).append(":").append(ToString(kind)).append(":");
  id.append(std::to_string(kind == AlertKind::kStepOverdue ? step : cycle));
  return id;
}

std::string ApologyLetter::LetterId() const {
  std::string id;
  id.reserve(dossier_id.size() + 16);
  id.append(dossier_id).append(":apology:").append(std::to_string(cycle));
  return id;
}

}  // namespace ontime::rules
