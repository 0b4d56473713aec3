#pragma once
// The input side of the daemon: a librdkafka consumer in a consumer group (cooperative-sticky),
// with offsets stored only when the caller says an event's effects are done
// (enable.auto.offset.store=false) and every assigned partition started at an offset the caller
// chooses (its snapshot's, or the beginning), never at the group's committed one: the state lives
// in the snapshot, not in the group. Single-threaded: the event loop calls Poll with no timeout;
// rebalance callbacks run inside Poll on that thread.
// Also: ScanTopic and EndOffsets, one-shot reads used at start-up (and by tests).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ontime/base/result.h"
#include "ontime/streams/event_source.h"
#include "ontime/streams/kafka_producer.h"

namespace ontime::streams {

class KafkaConsumer final : public EventSource {
 public:
  // Where a newly assigned partition starts: an offset, or nullopt for the beginning.
  using StartOffsetFn = std::function<std::optional<int64_t>(int32_t partition)>;
  // Told after every assignment change, with the partitions now assigned.
  using AssignedFn = std::function<void(const std::vector<int32_t>& partitions)>;

  static Result<std::unique_ptr<KafkaConsumer>> Create(const KafkaSettings& settings,
                                                       std::string topic, StartOffsetFn start,
                                                       AssignedFn assigned);
  ~KafkaConsumer();
  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  // Hands up to `max` messages to `handle`, without waiting. Returns how many were handled.
  // The views in a KafkaMessage are valid during the call only.
  size_t Poll(size_t max, const std::function<void(const KafkaMessage&)>& handle) override;
  // The partition's effects are done up to (excluding) `next_offset`: stored for the next commit.
  void StoreOffset(int32_t partition, int64_t next_offset) override;
  // Commits the stored offsets now (synchronously); used at shutdown.
  Status CommitSync() override;
  // Leaves the group (revokes partitions); call before destruction for a clean exit.
  void Close() override;

  // Every assigned partition has reached its end (no backlog): wall-clock timers may fire.
  bool caught_up() const override;
  // The partition has reached its end (its last message was handed out).
  bool at_end(int32_t partition) const override;
  const std::vector<int32_t>& assignment() const override;
  // Messages behind the high watermark, by partition, from the last statistics seen.
  PartitionOffsets Lag() const override;
  // The most recent error from the client (broker down...), for a rate-limited log line.
  std::optional<std::string> TakeError() override;

  struct Impl;

 private:
  explicit KafkaConsumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// End (high watermark) offsets of every partition of `topic`.
Result<PartitionOffsets> EndOffsets(const KafkaSettings& settings, const std::string& topic,
                                    std::chrono::milliseconds timeout);

// Reads `topic` from `from` (partitions missing there: from the beginning) up to the end offsets
// at the time of the call, handing each message to `visit`. Not part of any group.
Status ScanTopic(const KafkaSettings& settings, const std::string& topic,
                 const PartitionOffsets& from, std::chrono::milliseconds timeout,
                 const std::function<void(const KafkaMessage&)>& visit);

}  // namespace ontime::streams
