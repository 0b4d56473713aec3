#pragma once
// The live daemon's input seam: where its events come from, and where it says how far their
// effects are done. KafkaConsumer in production; tests/fakes/live_fakes.h in tests, so the live
// path runs in-process with no broker. Single-threaded: the event loop calls it.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ontime/base/result.h"

namespace ontime::streams {

struct KafkaHeader {
  std::string name;
  std::string value;
};

struct KafkaMessage {
  std::string_view topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string_view key;
  std::string_view value;
  bool null_value = false;              // a tombstone: no value at all (`value` is then empty)
  std::optional<int64_t> timestamp_ms;  // the message's timestamp, when it has one
  const std::vector<KafkaHeader>* headers = nullptr;  // filled by ScanTopic only
};

// Offsets by partition: "the next offset to read".
using PartitionOffsets = std::map<int32_t, int64_t>;

class EventSource {
 public:
  virtual ~EventSource() = default;

  // Hands up to `max` messages to `handle`, without waiting. Returns how many were handled.
  // The views in a KafkaMessage are valid during the call only.
  virtual size_t Poll(size_t max, const std::function<void(const KafkaMessage&)>& handle) = 0;
  // The partition's effects are done up to (excluding) `next_offset`: stored for the next commit.
  virtual void StoreOffset(int32_t partition, int64_t next_offset) = 0;
  // Commits the stored offsets now (synchronously); used at shutdown.
  virtual Status CommitSync() = 0;
  // Leaves the group (revokes partitions); call before destruction for a clean exit.
  virtual void Close() = 0;

  // Every assigned partition has reached its end (no backlog): wall-clock timers may fire.
  virtual bool caught_up() const = 0;
  // The partition has reached its end (its last message was handed out).
  virtual bool at_end(int32_t partition) const = 0;
  virtual const std::vector<int32_t>& assignment() const = 0;
  // Messages behind the high watermark, by partition, from the last statistics seen.
  virtual PartitionOffsets Lag() const = 0;
  // The most recent error from the client (broker down...), for a rate-limited log line.
  virtual std::optional<std::string> TakeError() = 0;
};

}  // namespace ontime::streams
