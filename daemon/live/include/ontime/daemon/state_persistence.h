#pragma once
// The live path's state across restarts: a snapshot of the engine in `state_dir`, bound to the
// input offsets it covers and to the output topics' ends when it was written; at start-up the
// snapshot is restored and the ids produced after it are read back from the output topics, so
// that re-deriving the backlog emits none of them twice. (The Kafka-changelog state of the state
// issue replaces the read-back.) Single-threaded; Snapshot and Restore block on I/O.

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <unordered_set>

#include "ontime/base/clock.h"
#include "ontime/base/result.h"
#include "ontime/daemon/logging.h"
#include "ontime/daemon/offset_tracker.h"
#include "ontime/daemon/output_writer.h"
#include "ontime/daemon/snapshot_store.h"
#include "ontime/rules/engine.h"
#include "ontime/streams/kafka_producer.h"
#include "ontime/streams/output_sink.h"

namespace ontime::daemon {

// What the output topics hold. KafkaOutputLog in production; a fake in tests.
class OutputLog {
 public:
  virtual ~OutputLog() = default;
  virtual Result<streams::PartitionOffsets> EndOffsets(const std::string& topic) = 0;
  // Every message of `topic` from `from` (a partition missing there: from its start) to its end.
  virtual Status Scan(const std::string& topic, const streams::PartitionOffsets& from,
                      const std::function<void(const streams::KafkaMessage&)>& visit) = 0;
};

class KafkaOutputLog final : public OutputLog {
 public:
  explicit KafkaOutputLog(streams::KafkaSettings settings) : settings_(std::move(settings)) {}
  Result<streams::PartitionOffsets> EndOffsets(const std::string& topic) override;
  Status Scan(const std::string& topic, const streams::PartitionOffsets& from,
              const std::function<void(const streams::KafkaMessage&)>& visit) override;

 private:
  streams::KafkaSettings settings_;
};

struct RestoredState {
  std::string mode;                                  // "snapshot" or "rebuild"
  std::map<int32_t, int64_t> next_offsets;           // where each input partition resumes
  std::unordered_set<std::string> already_produced;  // ids in the outputs after the snapshot
};

class StatePersistence {
 public:
  StatePersistence(SnapshotStore& store, OutputLog& outputs, const Clock& clock, Logger& log,
                   std::string input_topic, OutputTopics topics);

  // Loads the snapshot into `engine` (a fresh one) when there is a usable one, then reads what
  // the output topics received after it. Fails only when an output topic cannot be read at all.
  Result<RestoredState> Restore(rules::Engine& engine);

  // Writes a snapshot once `sink` has delivered everything: the engine, the next input offsets,
  // the output topics' ends. False (logged) when it could not.
  bool Snapshot(const rules::Engine& engine, streams::OutputSink& sink,
                const OffsetTracker& offsets, std::chrono::milliseconds flush_timeout,
                LogLevel level);

  const std::string& path() const { return path_; }

 private:
  SnapshotStore& store_;
  OutputLog& outputs_;
  const Clock& clock_;
  Logger& log_;
  std::string input_topic_;
  OutputTopics topics_;
  std::string path_;
};

}  // namespace ontime::daemon
