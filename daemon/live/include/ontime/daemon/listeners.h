#pragma once
// Engine listeners side by side: the engine reports to one ListenerFanOut, which hands every
// callback to each of its listeners in order (metrics, then the outputs). FreshOutputs passes on
// only the alerts and letters about an instant within output.max_age of the wall clock: a first
// start on months of history advances every cycle but mails nobody about deadlines long gone.
// Single-threaded (the engine's thread).

#include <vector>

#include "ontime/base/clock.h"
#include "ontime/daemon/logging.h"
#include "ontime/daemon/metrics.h"
#include "ontime/rules/output.h"

namespace ontime::daemon {

class ListenerFanOut final : public rules::EngineListener {
 public:
  void Add(rules::EngineListener* listener) { listeners_.push_back(listener); }

  void OnAlert(const rules::Alert& a) override {
    for (auto* l : listeners_) l->OnAlert(a);
  }
  void OnApologyLetter(const rules::ApologyLetter& letter) override {
    for (auto* l : listeners_) l->OnApologyLetter(letter);
  }
  void OnAccepted(uint32_t department, rules::Channel channel,
                  std::optional<double> reception_seconds) override {
    for (auto* l : listeners_) l->OnAccepted(department, channel, reception_seconds);
  }
  void OnClosed(uint32_t department, rules::Outcome outcome, double wall_seconds,
                double working_seconds) override {
    for (auto* l : listeners_) l->OnClosed(department, outcome, wall_seconds, working_seconds);
  }
  void OnSupplementRequested(uint32_t department) override {
    for (auto* l : listeners_) l->OnSupplementRequested(department);
  }
  void OnReturned(uint32_t department, rules::ReturnChannel channel) override {
    for (auto* l : listeners_) l->OnReturned(department, channel);
  }
  void OnFeePaid(uint32_t department, rules::PaymentMethod method) override {
    for (auto* l : listeners_) l->OnFeePaid(department, method);
  }
  void OnRated(uint32_t department, rules::Rating rating) override {
    for (auto* l : listeners_) l->OnRated(department, rating);
  }
  void OnAlertsEnded(std::string_view dossier_id, Instant at) override {
    for (auto* l : listeners_) l->OnAlertsEnded(dossier_id, at);
  }

 private:
  std::vector<rules::EngineListener*> listeners_;
};

// Alerts and letters only, and only fresh ones, to `next`.
class FreshOutputs final : public rules::EngineListener {
 public:
  FreshOutputs(const Clock& clock, Logger& log, DaemonMetrics& metrics, rules::EngineListener& next)
      : clock_(clock), log_(log), metrics_(metrics), next_(next) {}

  void set_max_age(Duration max_age) { max_age_ = max_age; }
  // Held back since the last NewCatchUp (the count a catch-up's log line reports).
  size_t stale() const { return stale_; }
  // A new catch-up begins: its first stale output is logged again.
  void NewCatchUp() { stale_ = 0; }

  void OnAlert(const rules::Alert& alert) override {
    if (Stale(alert.detected_at)) {
      metrics_.CountStaleAlert(alert.kind);
      return;
    }
    next_.OnAlert(alert);
  }
  void OnApologyLetter(const rules::ApologyLetter& letter) override {
    if (Stale(letter.issued_at)) {
      metrics_.CountStaleLetter();
      return;
    }
    next_.OnApologyLetter(letter);
  }
  void OnAlertsEnded(std::string_view dossier_id, Instant at) override {
    next_.OnAlertsEnded(dossier_id, at);
  }

 private:
  bool Stale(Instant at);

  const Clock& clock_;
  Logger& log_;
  DaemonMetrics& metrics_;
  rules::EngineListener& next_;
  Duration max_age_ = std::chrono::hours(7 * 24);
  size_t stale_ = 0;
};

}  // namespace ontime::daemon
