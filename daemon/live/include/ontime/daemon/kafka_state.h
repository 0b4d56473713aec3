#pragma once
// The state seams on Kafka: the transactional producer (outputs, changelog records and the input
// offsets of the consumer's group in one transaction) and the changelog partition reader.

#include <chrono>
#include <string>
#include <vector>

#include "ontime/daemon/partition_restorer.h"
#include "ontime/daemon/transactor.h"
#include "ontime/streams/kafka_consumer.h"
#include "ontime/streams/kafka_producer.h"

namespace ontime::daemon {

class KafkaTransactions final : public TransactionalProducer {
 public:
  static constexpr std::chrono::milliseconds kCallTimeout{10000};

  // `consumer` gives the group metadata at each commit; it may be set after construction.
  KafkaTransactions(streams::KafkaProducer& producer, std::string input_topic)
      : producer_(producer), input_topic_(std::move(input_topic)) {}
  void set_consumer(const streams::KafkaConsumer* consumer) { consumer_ = consumer; }

  Status Produce(std::string_view topic, std::string_view key, std::string_view value,
                 const std::vector<streams::KafkaHeader>& headers) override {
    return producer_.Produce(topic, key, value, 0, headers);
  }
  Status ProduceState(std::string_view topic, int32_t partition, std::string_view key,
                      std::optional<std::string_view> value) override {
    return value ? producer_.Produce(topic, key, *value, 0, {}, partition)
                 : producer_.ProduceTombstone(topic, key, 0, partition);
  }
  void Poll() override { producer_.Poll(); }
  size_t in_flight() const override { return producer_.in_flight(); }
  const std::optional<std::string>& fatal_error() const override { return producer_.fatal_error(); }
  Status Begin() override { return producer_.BeginTransaction(); }
  Result Init() override;
  Result Commit(const streams::PartitionOffsets& next_offsets) override;
  Result Abort() override;

 private:
  streams::KafkaProducer& producer_;
  std::string input_topic_;
  const streams::KafkaConsumer* consumer_ = nullptr;
};

// What the daemon needs of the broker's topics before it consumes.
struct TopicPlan {
  std::string input;
  std::string changelog;
  std::vector<std::string> outputs;  // alerts, letters, dead letters
  bool create = true;                // create what is missing (never the input)
  // The members topic (one partition, compacted: each instance's HTTP address and partitions);
  // empty: none.
  std::string members = {};
};

// What EnsureTopics learnt of the topics besides the input's partition count.
struct TopicFacts {
  // The changelog's delete.retention.ms (how long compaction keeps a tombstone): a local
  // checkpoint older than this is not used. A topic created here gets the broker's default.
  std::chrono::milliseconds changelog_delete_retention{std::chrono::hours(24)};
};

// Blocking: checks (and creates, where allowed) the topics; returns the input's partition count.
// Errors by code:
//   "kafka_unreachable"  no answer from the brokers: try again;
//   "input_missing"      the input topic does not exist: try again (the message says what to run);
//   "topic_missing"      a topic is missing and may not be created: a configuration matter;
//   "changelog_foreign"  the changelog exists but is not ours to use (not compacted, or not as
//                        many partitions as the input): a configuration matter.
Result<int> EnsureTopics(const streams::KafkaSettings& settings, const TopicPlan& plan,
                         std::chrono::milliseconds timeout, TopicFacts* facts = nullptr);

class KafkaChangelogReader final : public ChangelogReader {
 public:
  static constexpr std::chrono::seconds kOpenTransactionWait{60};
  KafkaChangelogReader(streams::KafkaSettings settings, std::string topic)
      : settings_(std::move(settings)), topic_(std::move(topic)) {}
  Result<int64_t> Read(int32_t partition, int64_t from, const Visit& visit,
                       const std::function<bool()>& cancelled, Until until) override;

 private:
  streams::KafkaSettings settings_;
  std::string topic_;
};

}  // namespace ontime::daemon
