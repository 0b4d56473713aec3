#pragma once
// What the engine emits (contract section 4) and the listener it reports to. The engine calls the
// listener synchronously, on the thread that called it; references are valid during the call.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ontime/base/time.h"
#include "ontime/rules/config.h"
#include "ontime/rules/event.h"

namespace ontime::rules {

// kEscalated: a breach after `defaults.max_apology_letters` letters, sent to the escalation
// contact in place of another letter. kPredictedLate (extension): its procedure's history says
// the dossier will likely be late (RulesConfig::predict).
enum class AlertKind : uint8_t { kAtRisk, kOverdue, kStepOverdue, kEscalated, kPredictedLate };
inline constexpr int kAlertKindCount = 5;
std::string_view ToString(AlertKind kind);

enum class Outcome : uint8_t { kOnTime, kLate, kWithdrawn, kRefused };
inline constexpr int kOutcomeCount = 4;
std::string_view ToString(Outcome outcome);

struct Alert {
  AlertKind kind = AlertKind::kAtRisk;
  std::string_view dossier_id;
  std::string_view procedure;
  std::string_view department;  // the holder the alert is about
  uint32_t department_index = 0;
  int cycle = 1;
  int step = 0;  // for kStepOverdue
  Instant due_at{};
  Instant detected_at{};
  Duration remaining{};            // working time from detected_at to due_at, negative once past
  const Person* notify = nullptr;  // the holder's head; for kEscalated the escalation contact
  // kPredictedLate: P(late) when it was detected, and the conditional median close instant.
  double probability = 0;
  Instant expected_close_at{};

  std::string AlertId() const;  // "<dossier_id>:<kind>:<cycle or step>"
};

struct ApologyLetter {
  std::string_view dossier_id;
  std::string_view procedure;
  std::string_view department;
  uint32_t department_index = 0;
  std::optional<ApplicantView> applicant;  // none when the dossier carried none
  int cycle = 1;                           // the cycle whose due was breached
  Instant accepted_at{};
  Instant original_due_at{};
  Instant new_due_at{};
  Instant issued_at{};
  std::string_view reason;
  const Person* signer = nullptr;

  std::string LetterId() const;  // "<dossier_id>:apology:<cycle>"
};
inline constexpr std::string_view kApologyForm = "03/2025/TT-VPCP-04";

// Everything metrics need, by department index (the order of RulesConfig::departments).
class EngineListener {
 public:
  virtual ~EngineListener() = default;
  virtual void OnAlert(const Alert&) {}
  virtual void OnApologyLetter(const ApologyLetter&) {}
  virtual void OnAccepted(uint32_t /*department*/, Channel,
                          std::optional<double> /*reception_seconds*/) {}
  // wall_seconds: wall clock minus pauses; working_seconds: working time the clock ran.
  virtual void OnClosed(uint32_t /*department*/, Outcome, double /*wall_seconds*/,
                        double /*working_seconds*/) {}
  virtual void OnSupplementRequested(uint32_t /*department*/) {}
  virtual void OnReturned(uint32_t /*department*/, ReturnChannel) {}
  virtual void OnFeePaid(uint32_t /*department*/, PaymentMethod) {}
  virtual void OnRated(uint32_t /*department*/, Rating) {}
  // The dossier's alerts so far no longer hold at `at`: it closed, or an upstream extension
  // started a new cycle. (Alertmanager resolves them.)
  virtual void OnAlertsEnded(std::string_view /*dossier_id*/, Instant /*at*/) {}
};

}  // namespace ontime::rules
