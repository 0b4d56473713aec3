#include "ontime/daemon/state_persistence.h"

#include <sstream>

#include "ontime/streams/kafka_consumer.h"

namespace ontime::daemon {
namespace {

using namespace std::chrono_literals;

constexpr auto kQueryTimeout = std::chrono::milliseconds(15s);
constexpr auto kScanTimeout = std::chrono::milliseconds(120s);
constexpr int kScanAttempts = 10;

// The value of `"field":"..."` in a JSON object we produced ourselves (ids need no unescaping
// beyond \" and \\, which AppendJsonString writes for those two characters).
std::optional<std::string> JsonStringField(std::string_view json, std::string_view field) {
  std::string needle = "\"" + std::string(field) + "\":\"";
  size_t at = json.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  std::string value;
  for (size_t i = at + needle.size(); i < json.size(); ++i) {
    char c = json[i];
    if (c == '"') return value;
    if (c == '\\' && i + 1 < json.size()) c = json[++i];
    value.push_back(c);
  }
  return std::nullopt;
}

}  // namespace

Result<streams::PartitionOffsets> KafkaOutputLog::EndOffsets(const std::string& topic) {
  return streams::EndOffsets(settings_, topic, kQueryTimeout);
}

Status KafkaOutputLog::Scan(const std::string& topic, const streams::PartitionOffsets& from,
                            const std::function<void(const streams::KafkaMessage&)>& visit) {
  return streams::ScanTopic(settings_, topic, from, kScanTimeout, visit);
}

StatePersistence::StatePersistence(SnapshotStore& store, OutputLog& outputs, const Clock& clock,
                                   Logger& log, std::string input_topic, OutputTopics topics)
    : store_(store),
      outputs_(outputs),
      clock_(clock),
      log_(log),
      input_topic_(std::move(input_topic)),
      topics_(std::move(topics)),
      path_(store.path()) {}

Result<RestoredState> StatePersistence::Restore(rules::Engine& engine) {
  RestoredState restored;
  auto read = store_.Read();
  std::optional<ontime::daemon::Snapshot> snapshot;
  if (!read.ok()) {
    log_.Error("snapshot unreadable: rebuilding from the input", {{"error", read.error().message}});
  } else {
    snapshot = std::move(read.value());
  }
  if (snapshot && snapshot->meta.input_topic != input_topic_) {
    log_.Warning("snapshot is for another input topic: rebuilding from the input",
                 {{"snapshot_topic", snapshot->meta.input_topic}, {"topic", input_topic_}});
    snapshot.reset();
  }
  if (snapshot) {
    std::istringstream in(std::move(snapshot->engine));
    // A refused snapshot leaves the engine as it was: empty.
    if (Status loaded = engine.Load(in); !loaded.ok()) {
      log_.Error("snapshot rejected by the engine: rebuilding from the input",
                 {{"error", loaded.error().message}});
      snapshot.reset();
    }
  }
  restored.mode = snapshot ? "snapshot" : "rebuild";
  if (snapshot) restored.next_offsets = snapshot->meta.input_offsets;

  // What was produced after the snapshot (or ever, on a rebuild) must not be produced again.
  for (const auto& [topic, field] :
       {std::pair{topics_.alerts, "alert_id"}, std::pair{topics_.letters, "letter_id"}}) {
    streams::PartitionOffsets from;
    if (snapshot) {
      auto it = snapshot->meta.output_ends.find(topic);
      if (it != snapshot->meta.output_ends.end()) from = it->second;
    }
    Status scanned = Error{"", ""};
    for (int attempt = 1; attempt <= kScanAttempts && !scanned.ok(); ++attempt) {
      scanned = outputs_.Scan(topic, from, [&](const streams::KafkaMessage& m) {
        if (auto id = JsonStringField(m.value, field)) {
          restored.already_produced.insert(std::move(*id));
        }
      });
      if (!scanned.ok()) {
        log_.Warning("cannot read an output topic yet", {{"topic", topic},
                                                         {"attempt", std::to_string(attempt)},
                                                         {"error", scanned.error().message}});
      }
    }
    if (!scanned.ok()) return Error{"output_topic", "output topic " + topic + " unreadable"};
  }
  return restored;
}

bool StatePersistence::Snapshot(const rules::Engine& engine, streams::OutputSink& sink,
                                const OffsetTracker& offsets,
                                std::chrono::milliseconds flush_timeout, LogLevel level) {
  const auto begin = clock_.Monotonic();
  if (!sink.Flush(flush_timeout)) {
    log_.Warning("snapshot skipped: producer could not deliver everything",
                 {{"in_flight", std::to_string(sink.in_flight())}});
    return false;
  }
  SnapshotMeta meta;
  meta.written_at = clock_.Now();
  meta.input_topic = input_topic_;
  meta.input_offsets = offsets.next_offsets();
  for (const std::string* topic : {&topics_.alerts, &topics_.letters}) {
    auto ends = outputs_.EndOffsets(*topic);
    if (!ends.ok()) {
      log_.Warning("snapshot skipped: cannot read output end offsets",
                   {{"error", ends.error().message}});
      return false;
    }
    meta.output_ends[*topic] = *ends;
  }
  Status written = store_.Write(meta, [&engine](std::ostream& out) { engine.Save(out); });
  if (!written.ok()) {
    log_.Error("snapshot failed", {{"error", written.error().message}});
    return false;
  }
  log_.Log(level, "snapshot written",
           {{"path", store_.path()},
            {"dossiers", std::to_string(engine.dossiers_tracked())},
            {"seconds", LogSeconds(clock_.Monotonic() - begin)}});
  return true;
}

}  // namespace ontime::daemon
