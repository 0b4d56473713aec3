#pragma once
// Reads one partition from an offset to its end, outside any consumer group: how a partition's
// state is restored from its compacted changelog. Sees only committed transactions
// (isolation.level=read_committed) and stops at the partition's end even when the last offsets are
// transaction markers, which are never delivered. Blocking, with its own librdkafka client: meant
// for a worker thread, any number at once.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ontime/base/result.h"
#include "ontime/streams/event_source.h"
#include "ontime/streams/kafka_producer.h"

namespace ontime::streams {

// ReadPartition's `from_offset` for the partition's first offset (librdkafka's
// RD_KAFKA_OFFSET_BEGINNING).
inline constexpr int64_t kOffsetBeginning = -2;

// Hands every record of `topic`[`partition`] from `from_offset` to the end (as it is when the
// reader gets there) to `visit`, in offset order; a tombstone has null_value set. The views in a
// KafkaMessage are valid during the call only; headers are not filled. Returns the next offset to
// read (the end), to resume from later. Errors: "kafka_offset_out_of_range" when `from_offset` is
// past the end or before the first offset (a foreign or recreated topic), "cancelled" once
// `cancelled` (if given) returns true, checked between fetches; "kafka_read" on time-out.
Result<int64_t> ReadPartition(const KafkaSettings& settings, const std::string& topic,
                              int32_t partition, int64_t from_offset,
                              const std::function<void(const KafkaMessage&)>& visit,
                              const std::function<bool()>& cancelled,
                              std::chrono::milliseconds timeout);

}  // namespace ontime::streams

namespace ontime::streams {

// Follows one partition from its beginning for as long as it lives, outside any consumer group:
// how the daemon keeps up with its group's small `<group_id>.members` topic. One librdkafka
// client, kept open; every call on one thread at a time (a worker thread: Poll waits).
class PartitionTail {
 public:
  static Result<std::unique_ptr<PartitionTail>> Open(const KafkaSettings& settings,
                                                     const std::string& topic, int32_t partition);
  ~PartitionTail();
  PartitionTail(const PartitionTail&) = delete;
  PartitionTail& operator=(const PartitionTail&) = delete;

  // Hands the records that arrive within `wait` (at least one wait for the first) to `visit`,
  // in offset order, and returns how many; a tombstone has null_value set. Transient errors
  // (broker away) are kept for last_error() and retried by the client.
  size_t Poll(std::chrono::milliseconds wait,
              const std::function<void(const KafkaMessage&)>& visit);
  const std::string& last_error() const { return last_error_; }

  struct Impl;

 private:
  explicit PartitionTail(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string last_error_;
};

}  // namespace ontime::streams
