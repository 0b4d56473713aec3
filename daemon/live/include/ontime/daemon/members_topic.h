#pragma once
// The Kafka side of the group's members topic (`<group_id>.members`, one partition, compacted):
// this instance's record produced, keyed by its instance id, by an idempotent producer of its own
// (not the transactional one: a member record is no output and must not wait for a commit), and
// every instance's record read by a tail that follows the topic from its beginning. What a record
// says is the HTTP room's (MemberRecord); here they are keys and values. Blocking: for one worker
// thread (every call on it); the clients are made at first use.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ontime/base/result.h"
#include "ontime/streams/kafka_producer.h"
#include "ontime/streams/partition_reader.h"

namespace ontime::daemon {

class KafkaMembers {
 public:
  struct Record {
    int64_t offset = 0;
    std::string key;
    std::optional<std::string> value;  // nullopt: a tombstone
  };

  KafkaMembers(streams::KafkaSettings settings, std::string topic);
  ~KafkaMembers();
  KafkaMembers(const KafkaMembers&) = delete;
  KafkaMembers& operator=(const KafkaMembers&) = delete;

  // Produces `value` under `key` and waits up to `timeout` for the broker's acknowledgement.
  Status Publish(const std::string& key, const std::string& value,
                 std::chrono::milliseconds timeout);
  // The records that arrived since the last call (from the topic's beginning at the first),
  // waiting up to `wait` for the first.
  Result<std::vector<Record>> Poll(std::chrono::milliseconds wait);
  const std::string& topic() const { return topic_; }

 private:
  streams::KafkaSettings settings_;
  std::string topic_;
  std::unique_ptr<streams::KafkaProducer> producer_;
  std::unique_ptr<streams::PartitionTail> tail_;
};

}  // namespace ontime::daemon
