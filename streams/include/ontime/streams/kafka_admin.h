#pragma once
// Topic administration through librdkafka's Admin API: what the daemon checks and creates at
// start-up (its changelog and output topics). Blocking, one short-lived client per call; any
// thread.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ontime/base/result.h"
#include "ontime/streams/event_source.h"
#include "ontime/streams/kafka_producer.h"

namespace ontime::streams {

struct TopicSpec {
  std::string name;
  int partitions = 1;
  int replication_factor = -1;  // -1: the broker's default.replication.factor
  std::vector<std::pair<std::string, std::string>> configs;  // e.g. {"cleanup.policy", "compact"}
};

struct TopicInfo {
  int partitions = 0;
  // Every configuration entry the broker reports (defaults included), e.g. "cleanup.policy".
  std::map<std::string, std::string> configs;
};

// Each of `names`, nullopt when the topic does not exist.
Result<std::map<std::string, std::optional<TopicInfo>>> DescribeTopics(
    const KafkaSettings& settings, const std::vector<std::string>& names,
    std::chrono::milliseconds timeout);

// Creates the topics; one that already exists is left as it is (not an error, not checked).
Status CreateTopics(const KafkaSettings& settings, const std::vector<TopicSpec>& topics,
                    std::chrono::milliseconds timeout);

// Deletes every record of `topic` before the given offset of each partition (what
// kafka-delete-records does): an events topic's old records, in tests and tooling.
Status DeleteRecords(const KafkaSettings& settings, const std::string& topic,
                     const PartitionOffsets& before, std::chrono::milliseconds timeout);

}  // namespace ontime::streams
