#pragma once
// The input side of the daemon: a librdkafka consumer in a consumer group (cooperative-sticky).
// Single-threaded: the event loop calls Poll with no timeout; rebalance callbacks run inside Poll
// on that thread.
//
// By default offsets are stored only when the caller says an event's effects are done
// (enable.auto.offset.store=false) and every assigned partition starts at an offset the caller
// chooses (its snapshot's, or the beginning), never at the group's committed one: the state lives
// in the snapshot, not in the group.
//
// With Options::transactional_offsets the input offsets are committed by a transactional
// producer instead (KafkaProducer::CommitTransaction with GroupMetadata()): the consumer stores
// and commits nothing, reads read_committed, and an assigned partition starts at the group's
// committed offset (the earliest when there is none) unless `start` says otherwise.
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
#include "ontime/streams/group_metadata.h"
#include "ontime/streams/kafka_producer.h"

namespace ontime::streams {

class KafkaConsumer final : public EventSource {
 public:
  // Where a newly assigned partition starts: an offset, or nullopt for the beginning.
  using StartOffsetFn = std::function<std::optional<int64_t>(int32_t partition)>;
  // Told after every assignment change, with the partitions now assigned.
  using AssignedFn = std::function<void(const std::vector<int32_t>& partitions)>;

  // Told the partitions just added (after they are assigned, and paused if asked).
  using PartitionsFn = std::function<void(const std::vector<int32_t>& partitions)>;
  // Told the partitions being taken away, before they are unassigned: the caller may still
  // commit their transaction synchronously. `lost`: the group already gave them to another
  // member (session timed out...); committing for them would fail, abort instead.
  using RevokedFn = std::function<void(const std::vector<int32_t>& partitions, bool lost)>;

  struct Options {
    // Where a newly assigned partition starts. nullopt (or no function): the beginning, or with
    // transactional_offsets the group's committed offset.
    StartOffsetFn start;
    bool transactional_offsets = false;
    // Static membership (group.instance.id) when not empty: a restarted member with the same id
    // gets its partitions back at once, without a rebalance. Close does not leave the group then.
    std::string group_instance_id;
    // Newly assigned partitions are paused until Resume(partition) (e.g. after their restore).
    bool pause_on_assign = false;
    PartitionsFn on_assigned;
    RevokedFn on_revoked;
    // After every assignment change, with the partitions now assigned.
    AssignedFn assigned;
  };

  static Result<std::unique_ptr<KafkaConsumer>> Create(const KafkaSettings& settings,
                                                       std::string topic, Options options);
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
  // Nothing with transactional_offsets.
  void StoreOffset(int32_t partition, int64_t next_offset) override;
  // Commits the stored offsets now (synchronously); used at shutdown. Nothing (Ok) with
  // transactional_offsets.
  Status CommitSync() override;
  // Leaves the group (revokes partitions) unless a static member; call before destruction for a
  // clean exit.
  void Close() override;

  // Every assigned partition has reached its end (no backlog) and none is paused: wall-clock
  // timers may fire.
  bool caught_up() const override;
  // The partition has reached its end (its last message was handed out) and is not paused.
  bool at_end(int32_t partition) const override;

  // Stops / restarts fetching an assigned partition (Pause ignores one not assigned); Resume goes
  // on from the partition's position. A revoked partition is no longer paused.
  void Pause(int32_t partition);
  void Resume(int32_t partition);
  bool paused(int32_t partition) const;
  // Reads the partition from `offset` next (asynchronous; the partition must be assigned).
  void Seek(int32_t partition, int64_t offset);
  // This member's identity now (generation included), for KafkaProducer::CommitTransaction. Take
  // it at each commit: it changes with every rebalance.
  streams::GroupMetadata GroupMetadata() const;
  // The group's committed offsets (the next offset to read) of these partitions of the topic;
  // partitions with none are left out.
  Result<PartitionOffsets> Committed(const std::vector<int32_t>& partitions,
                                     std::chrono::milliseconds timeout) const;
  const std::vector<int32_t>& assignment() const override;
  // Messages behind the high watermark, by partition, from the last statistics seen.
  PartitionOffsets Lag() const override;
  // The most recent error from the client (broker down...), for a rate-limited log line.
  std::optional<std::string> TakeError() override;
  // Set once librdkafka reports a fatal consumer error (a static member fenced by another with
  // its group.instance.id): the consumer is unusable, the caller must start anew.
  std::optional<std::string> fatal_error() const;

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
