#pragma once
// The live daemon's output seam: where alerts, apology letters and dead letters go, with a
// delivery report per message. KafkaProducer in production; tests/fakes/live_fakes.h in tests.
// Single-threaded: the event loop calls it, and delivery reports arrive inside Poll/Flush.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ontime/base/result.h"
#include "ontime/streams/event_source.h"

namespace ontime::streams {

// Produce's partition argument when the partitioner chooses (by key).
inline constexpr int32_t kAnyPartition = -1;

// What a delivery report says about one produced message.
struct Delivery {
  uint64_t tag = 0;  // the caller's tag given to Produce
  std::string_view topic;
  int32_t partition = -1;
  int64_t offset = -1;
};

class OutputSink {
 public:
  virtual ~OutputSink() = default;

  // Queues one message (copied); an error only for an unknown topic or a broken sink.
  // `partition` pins the message to a partition (a changelog partition must be its input's).
  virtual Status Produce(std::string_view topic, std::string_view key, std::string_view value,
                         uint64_t tag, const std::vector<KafkaHeader>& headers = {},
                         int32_t partition = kAnyPartition) = 0;
  // Queues a tombstone: `key` with a null value (not an empty one), which compaction removes.
  virtual Status ProduceTombstone(std::string_view topic, std::string_view key, uint64_t tag,
                                  int32_t partition = kAnyPartition) = 0;
  // Serves delivery reports without blocking.
  virtual void Poll() = 0;
  // Waits up to `timeout` for every queued message; false on time-out.
  virtual bool Flush(std::chrono::milliseconds timeout) = 0;
  virtual size_t in_flight() const = 0;
  // Set once the sink is broken for good (Kafka: a fatal producer error).
  virtual const std::optional<std::string>& fatal_error() const = 0;
};

}  // namespace ontime::streams
