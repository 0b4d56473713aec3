#include "ontime/daemon/output_writer.h"

#include "ontime/base/check.h"
#include "ontime/streams/dead_letters.h"
#include "ontime/streams/json_output.h"

namespace ontime::daemon {

using namespace std::chrono_literals;

OutputWriter::OutputWriter(streams::OutputSink& sink, const Clock& clock, Logger& log,
                           std::function<void(const std::string&)> on_broken)
    : sink_(sink), clock_(clock), log_(log), on_broken_(std::move(on_broken)) {}

void OutputWriter::OnAlert(const rules::Alert& alert) {
  ONTIME_CHECK(calendar_ != nullptr, "OutputWriter used before set_calendar");
  buffer_.clear();
  streams::AppendAlertJson(buffer_, alert, *calendar_);
  Produce(topics_.alerts, alert.dossier_id, buffer_, {});
  ++alerts_;
  // A dossier going overdue now is worth a line; overdues re-derived from a backlog (thousands
  // when replaying a month) and every other alert only at debug, for `journalctl DOSSIER_ID=`.
  const bool live_overdue =
      alert.kind == rules::AlertKind::kOverdue && clock_.Now() - alert.detected_at < 1h;
  const LogLevel level = live_overdue ? LogLevel::kInfo : LogLevel::kDebug;
  if (log_.Enabled(level)) {
    log_.Log(level, "alert",
             {{"dossier_id", std::string(alert.dossier_id)},
              {"department", std::string(alert.department)},
              {"alert_kind", std::string(rules::ToString(alert.kind))}});
  }
}

void OutputWriter::OnApologyLetter(const rules::ApologyLetter& letter) {
  ONTIME_CHECK(calendar_ != nullptr, "OutputWriter used before set_calendar");
  buffer_.clear();
  streams::AppendLetterJson(buffer_, letter, *calendar_);
  Produce(topics_.letters, letter.dossier_id, buffer_, {});
  ++letters_;
  if (log_.Enabled(LogLevel::kDebug)) {
    log_.Debug("apology letter", {{"dossier_id", std::string(letter.dossier_id)},
                                  {"department", std::string(letter.department)}});
  }
}

void OutputWriter::DeadLetter(const streams::KafkaMessage& message, std::string_view reason,
                              std::string_view why) {
  Produce(
      topics_.dead_letters, message.key, message.value,
      streams::DeadLetterHeaders(reason, why, message.topic, message.partition, message.offset));
  ++dead_letters_;
}

void OutputWriter::Produce(const std::string& topic, std::string_view key, std::string_view value,
                           const std::vector<streams::KafkaHeader>& headers) {
  Status s = sink_.Produce(topic, key, value, /*tag=*/0, headers);
  if (!s.ok()) on_broken_("producing to " + topic + " failed: " + s.error().message);
}

}  // namespace ontime::daemon
