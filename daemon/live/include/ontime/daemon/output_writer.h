#pragma once
// The engine's alerts and apology letters, and the dead letters of invalid events, as messages on
// the output sink (contract sections 1 and 4): JSON values keyed by dossier, written into the open
// transaction (the Transactor). An EngineListener; single-threaded (the engine's thread).

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_set>

#include "ontime/base/clock.h"
#include "ontime/daemon/logging.h"
#include "ontime/rules/calendar.h"
#include "ontime/rules/output.h"
#include "ontime/streams/output_sink.h"

namespace ontime::daemon {

struct OutputTopics {
  std::string alerts = "dossier.sla.alerts";
  std::string letters = "dossier.apology-letters";
  std::string dead_letters = "dossier.events.dlq";
};

class OutputWriter final : public rules::EngineListener {
 public:
  // `on_broken` is told when the sink refuses a message: the daemon cannot go on without losing it.
  OutputWriter(streams::OutputSink& sink, const Clock& clock, Logger& log,
               std::function<void(const std::string&)> on_broken);

  void set_topics(OutputTopics topics) { topics_ = std::move(topics); }
  // Times in the outputs are printed in this calendar's time zone; it must outlive the writer's
  // use of it (the daemon resets it on reload).
  void set_calendar(const rules::BusinessCalendar* calendar) { calendar_ = calendar; }

  // An invalid input event, with its reason, to the dead-letter topic.
  void DeadLetter(const streams::KafkaMessage& message, std::string_view reason,
                  std::string_view why);

  void OnAlert(const rules::Alert& alert) override;
  void OnApologyLetter(const rules::ApologyLetter& letter) override;

  uint64_t alerts() const { return alerts_; }
  uint64_t letters() const { return letters_; }
  uint64_t dead_letters() const { return dead_letters_; }

 private:
  void Produce(const std::string& topic, std::string_view key, std::string_view value,
               const std::vector<streams::KafkaHeader>& headers);

  streams::OutputSink& sink_;
  const Clock& clock_;
  Logger& log_;
  std::function<void(const std::string&)> on_broken_;
  OutputTopics topics_;
  const rules::BusinessCalendar* calendar_ = nullptr;
  std::string buffer_;
  uint64_t alerts_ = 0;
  uint64_t letters_ = 0;
  uint64_t dead_letters_ = 0;
};

}  // namespace ontime::daemon
