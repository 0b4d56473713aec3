// The streams module's Kafka building blocks against a real broker: transactions (committed,
// aborted, fenced), tombstones, ReadPartition on a compacted changelog, topic administration, and
// the consumer's transactional mode (committed offsets, pause on assign, static membership).

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "integration/broker_environment.h"
#include "ontime/streams/kafka_admin.h"
#include "ontime/streams/kafka_consumer.h"
#include "ontime/streams/kafka_producer.h"
#include "ontime/streams/partition_reader.h"

namespace ontime::integration {
namespace {

using namespace std::chrono_literals;
using streams::GroupMetadata;
using streams::KafkaConsumer;
using streams::KafkaMessage;
using streams::KafkaProducer;
using streams::KafkaSettings;
using streams::PartitionOffsets;
using streams::TopicSpec;
using streams::TransactionResult;
using Kind = streams::TransactionResult::Kind;

// A record as read back.
struct Record {
  int64_t offset = -1;
  std::string key;
  std::string value;
  bool null_value = false;
};

class KafkaStreamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Broker().bootstrap().empty()) << "no broker";
    static int counter = 0;
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    prefix_ = "ks" + std::to_string(getpid()) + "." + std::to_string(++counter) + "." + name;
    settings_.brokers = Broker().bootstrap();
    settings_.client_id = "kafka-streams-test";
    settings_.group_id = prefix_ + ".group";
    settings_.properties = {{"topic.metadata.refresh.interval.ms", "2000"}};
  }

  std::string Topic(const std::string& what) const { return prefix_ + "." + what; }

  void Create(const std::vector<TopicSpec>& topics) {
    Status s = streams::CreateTopics(settings_, topics, 30s);
    ASSERT_TRUE(s.ok()) << s.error().message;
  }

  std::unique_ptr<KafkaProducer> Transactional(const std::string& id,
                                               std::vector<uint64_t>* delivered = nullptr) {
    KafkaSettings s = settings_;
    s.transactional_id = prefix_ + "." + id;
    auto producer = KafkaProducer::Create(s, [delivered](const streams::Delivery& d) {
      if (delivered) delivered->push_back(d.tag);
    });
    EXPECT_TRUE(producer.ok()) << producer.error().message;
    if (!producer.ok()) return nullptr;
    Status init = (*producer)->InitTransactions(30s);
    EXPECT_TRUE(init.ok()) << init.error().message;
    return std::move(*producer);
  }

  // The daemon's threading: the commit on a worker, the loop thread serving delivery reports.
  static TransactionResult CommitOnWorker(KafkaProducer& producer, const std::string& input,
                                          const PartitionOffsets& offsets,
                                          const GroupMetadata& group) {
    auto result = std::async(
        std::launch::async, [&] { return producer.CommitTransaction(input, offsets, group, 30s); });
    while (result.wait_for(1ms) != std::future_status::ready) producer.Poll();
    producer.Poll();
    return result.get();
  }
  static TransactionResult AbortOnWorker(KafkaProducer& producer) {
    auto result = std::async(std::launch::async, [&] { return producer.AbortTransaction(30s); });
    while (result.wait_for(1ms) != std::future_status::ready) producer.Poll();
    producer.Poll();
    return result.get();
  }

  // Every committed record of the partition, and the offset the reader reached.
  std::pair<std::vector<Record>, int64_t> ReadAll(const std::string& topic, int32_t partition,
                                                  int64_t from = streams::kOffsetBeginning) {
    std::vector<Record> records;
    auto end = streams::ReadPartition(
        settings_, topic, partition, from,
        [&](const KafkaMessage& m) {
          records.push_back({m.offset, std::string(m.key), std::string(m.value), m.null_value});
        },
        nullptr, 30s);
    EXPECT_TRUE(end.ok()) << end.error().message;
    return {records, end.ok() ? *end : -1};
  }

  Result<PartitionOffsets> CommittedOffsets(const std::string& topic,
                                            const std::vector<int32_t>& partitions) {
    KafkaConsumer::Options options;
    options.transactional_offsets = true;
    auto consumer = KafkaConsumer::Create(settings_, topic, options);
    if (!consumer.ok()) return consumer.error();
    auto committed = (*consumer)->Committed(partitions, 30s);
    (*consumer)->Close();
    return committed;
  }

  int64_t EndOffset(const std::string& topic, int32_t partition) {
    auto ends = streams::EndOffsets(settings_, topic, 30s);
    EXPECT_TRUE(ends.ok()) << ends.error().message;
    return ends.ok() ? (*ends)[partition] : -1;
  }

  std::string prefix_;
  KafkaSettings settings_;
};

TEST_F(KafkaStreamsTest, ACommittedTransactionIsVisibleWithItsInputOffsets) {
  Create({{Topic("in"), 2, -1, {}}, {Topic("out"), 2, -1, {}}});
  std::vector<uint64_t> delivered;
  auto producer = Transactional("t", &delivered);
  ASSERT_TRUE(producer);
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Produce(Topic("out"), "D1", "alert-1", 1, {{"h", "v"}}, 1).ok());
  ASSERT_TRUE(producer->Produce(Topic("out"), "D2", "alert-2", 2, {}, 1).ok());
  ASSERT_TRUE(producer->ProduceTombstone(Topic("out"), "D1", 3, 1).ok());
  TransactionResult commit = CommitOnWorker(*producer, Topic("in"), {{0, 7}, {1, 3}},
                                            GroupMetadata::ForGroup(settings_.group_id));
  ASSERT_TRUE(commit.ok()) << commit.message;
  EXPECT_EQ(delivered, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(producer->in_flight(), 0u);

  auto [records, end] = ReadAll(Topic("out"), 1);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].key, "D1");
  EXPECT_EQ(records[0].value, "alert-1");
  EXPECT_FALSE(records[0].null_value);
  EXPECT_EQ(records[2].key, "D1");
  EXPECT_TRUE(records[2].null_value);
  EXPECT_EQ(end, 4);  // three records and the commit marker
  EXPECT_EQ(ReadAll(Topic("out"), 0).first.size(), 0u);

  auto committed = CommittedOffsets(Topic("in"), {0, 1});
  ASSERT_TRUE(committed.ok()) << committed.error().message;
  EXPECT_EQ(*committed, (PartitionOffsets{{0, 7}, {1, 3}}));
}

TEST_F(KafkaStreamsTest, AnAbortedTransactionIsNotVisibleNorAreItsOffsets) {
  Create({{Topic("in"), 1, -1, {}}, {Topic("out"), 1, -1, {}}});
  std::vector<uint64_t> delivered;
  auto producer = Transactional("t", &delivered);
  ASSERT_TRUE(producer);
  GroupMetadata group = GroupMetadata::ForGroup(settings_.group_id);

  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Produce(Topic("out"), "D1", "kept", 1, {}, 0).ok());
  ASSERT_TRUE(CommitOnWorker(*producer, Topic("in"), {{0, 1}}, group).ok());

  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Produce(Topic("out"), "D2", "dropped", 2, {}, 0).ok());
  ASSERT_TRUE(producer->Flush(10s));  // on the broker, inside the open transaction
  TransactionResult abort = AbortOnWorker(*producer);
  ASSERT_TRUE(abort.ok()) << abort.message;
  EXPECT_FALSE(producer->last_delivery_error());

  // Aborted with messages still queued: purged, their reports failures, not an error.
  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Produce(Topic("out"), "D3", "dropped too", 3, {}, 0).ok());
  ASSERT_TRUE(AbortOnWorker(*producer).ok());
  EXPECT_EQ(producer->in_flight(), 0u);
  EXPECT_FALSE(producer->last_delivery_error());
  EXPECT_EQ(delivered, (std::vector<uint64_t>{1, 2}));

  // The end is an abort marker: the reader stops there all the same.
  auto [records, end] = ReadAll(Topic("out"), 0);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, "kept");
  EXPECT_EQ(end, EndOffset(Topic("out"), 0));
  auto committed = CommittedOffsets(Topic("in"), {0});
  ASSERT_TRUE(committed.ok()) << committed.error().message;
  EXPECT_EQ(*committed, (PartitionOffsets{{0, 1}}));
}

TEST_F(KafkaStreamsTest, ACommitOnTheLoopThreadServesItsOwnDeliveryReports) {
  Create({{Topic("out"), 1, -1, {}}});
  std::vector<uint64_t> delivered;
  auto producer = Transactional("t", &delivered);
  ASSERT_TRUE(producer);
  ASSERT_TRUE(producer->BeginTransaction().ok());
  for (uint64_t i = 0; i < 100; ++i) {
    ASSERT_TRUE(producer->Produce(Topic("out"), "D", "v", i, {}, 0).ok());
  }
  auto begin = std::chrono::steady_clock::now();
  TransactionResult commit =
      producer->CommitTransaction(Topic("in"), {}, GroupMetadata::ForGroup("unused"), 20s);
  ASSERT_TRUE(commit.ok()) << commit.message;
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 10s);
  EXPECT_EQ(delivered.size(), 100u);
}

TEST_F(KafkaStreamsTest, ReadPartitionReadsACompactedChangelogWrittenInTransactions) {
  Create({{Topic("state"), 2, -1, {{"cleanup.policy", "compact"}}}});
  auto producer = Transactional("t");
  ASSERT_TRUE(producer);
  GroupMetadata group = GroupMetadata::ForGroup(settings_.group_id);
  for (int t = 0; t < 5; ++t) {
    ASSERT_TRUE(producer->BeginTransaction().ok());
    for (int i = 0; i < 20; ++i) {
      std::string key = "D" + std::to_string(i);
      if (t == 4 && i % 5 == 0) {
        ASSERT_TRUE(producer->ProduceTombstone(Topic("state"), key, 0, 1).ok());
      } else {
        ASSERT_TRUE(
            producer->Produce(Topic("state"), key, key + "@" + std::to_string(t), 0, {}, 1).ok());
      }
    }
    ASSERT_TRUE(CommitOnWorker(*producer, Topic("in"), {}, group).ok());
  }
  auto begin = std::chrono::steady_clock::now();
  auto [records, end] = ReadAll(Topic("state"), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);  // no waiting at the markers
  ASSERT_EQ(records.size(), 100u);
  EXPECT_EQ(end, 105);  // 100 records and 5 commit markers
  EXPECT_EQ(end, EndOffset(Topic("state"), 1));
  int tombstones = 0;
  for (const Record& r : records) tombstones += r.null_value ? 1 : 0;
  EXPECT_EQ(tombstones, 4);

  // From a checkpoint: the tail only.
  auto [tail, tail_end] = ReadAll(Topic("state"), 1, records[80].offset);
  ASSERT_EQ(tail.size(), 20u);
  EXPECT_EQ(tail.front().offset, records[80].offset);
  EXPECT_EQ(tail_end, 105);
  // Already at the end; an empty partition.
  EXPECT_EQ(ReadAll(Topic("state"), 1, 105).second, 105);
  EXPECT_EQ(ReadAll(Topic("state"), 0).second, 0);
  // Past the end: a foreign or recreated topic.
  auto past = streams::ReadPartition(
      settings_, Topic("state"), 1, 500, [](const KafkaMessage&) {}, nullptr, 20s);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().code, "kafka_offset_out_of_range") << past.error().message;
}

TEST_F(KafkaStreamsTest, ReadPartitionReadsAMillionRecordsInAFewSeconds) {
  Create({{Topic("state"), 1, -1, {{"cleanup.policy", "compact"}}}});
  constexpr int kRecords = 1'000'000;
  {
    KafkaSettings s = settings_;
    s.properties.push_back({"linger.ms", "50"});
    s.properties.push_back({"batch.size", "1000000"});
    s.properties.push_back({"compression.type", "lz4"});
    auto producer = KafkaProducer::Create(s, [](const streams::Delivery&) {});
    ASSERT_TRUE(producer.ok()) << producer.error().message;
    std::string value(40, 'x');
    for (int i = 0; i < kRecords; ++i) {
      ASSERT_TRUE((*producer)->Produce(Topic("state"), "D" + std::to_string(i), value, 0).ok());
      if (i % 10000 == 0) (*producer)->Poll();
    }
    ASSERT_TRUE((*producer)->Flush(60s));
  }
  int64_t count = 0;
  auto begin = std::chrono::steady_clock::now();
  auto end = streams::ReadPartition(
      settings_, Topic("state"), 0, streams::kOffsetBeginning,
      [&](const KafkaMessage& m) { count += m.key.empty() ? 0 : 1; }, nullptr, 60s);
  auto took = std::chrono::steady_clock::now() - begin;
  ASSERT_TRUE(end.ok()) << end.error().message;
  EXPECT_EQ(count, kRecords);
  EXPECT_EQ(*end, kRecords);
  std::cout << "ReadPartition: " << kRecords << " records in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
  EXPECT_LT(took, 10s);
}

TEST_F(KafkaStreamsTest, DescribesAndCreatesTopics) {
  auto before = streams::DescribeTopics(settings_, {Topic("state"), Topic("plain")}, 30s);
  ASSERT_TRUE(before.ok()) << before.error().message;
  EXPECT_FALSE(before->at(Topic("state")));
  EXPECT_FALSE(before->at(Topic("plain")));

  std::vector<TopicSpec> specs = {{Topic("state"), 3, -1, {{"cleanup.policy", "compact"}}},
                                  {Topic("plain"), 2, 1, {}}};
  Create(specs);
  Create(specs);  // already there: fine

  auto after = streams::DescribeTopics(settings_, {Topic("state"), Topic("plain")}, 30s);
  ASSERT_TRUE(after.ok()) << after.error().message;
  ASSERT_TRUE(after->at(Topic("state")));
  EXPECT_EQ(after->at(Topic("state"))->partitions, 3);
  EXPECT_EQ(after->at(Topic("state"))->configs.at("cleanup.policy"), "compact");
  ASSERT_TRUE(after->at(Topic("plain")));
  EXPECT_EQ(after->at(Topic("plain"))->partitions, 2);
  EXPECT_EQ(after->at(Topic("plain"))->configs.at("cleanup.policy"), "delete");

  Status bad = streams::CreateTopics(
      settings_, {{Topic("bad"), 1, -1, {{"cleanup.policy", "no-such-policy"}}}}, 30s);
  EXPECT_FALSE(bad.ok());
}

TEST_F(KafkaStreamsTest, ASecondProducerWithTheSameIdFencesTheFirst) {
  Create({{Topic("out"), 1, -1, {}}});
  auto zombie = Transactional("t");
  ASSERT_TRUE(zombie);
  ASSERT_TRUE(zombie->BeginTransaction().ok());
  ASSERT_TRUE(zombie->Produce(Topic("out"), "D1", "from the zombie", 1, {}, 0).ok());
  ASSERT_TRUE(zombie->Flush(10s));

  auto successor = Transactional("t");  // aborts the zombie's open transaction
  ASSERT_TRUE(successor);
  TransactionResult commit =
      CommitOnWorker(*zombie, Topic("in"), {}, GroupMetadata::ForGroup(settings_.group_id));
  EXPECT_EQ(commit.kind, Kind::kFatal) << commit.message;
  zombie->Poll();
  EXPECT_TRUE(zombie->fatal_error());
  std::cout << "fenced commit: " << commit.message << "\n";
  EXPECT_FALSE(zombie->Produce(Topic("out"), "D1", "again", 2, {}, 0).ok());

  ASSERT_TRUE(successor->BeginTransaction().ok());
  ASSERT_TRUE(successor->Produce(Topic("out"), "D1", "from the successor", 1, {}, 0).ok());
  ASSERT_TRUE(CommitOnWorker(*successor, Topic("in"), {}, GroupMetadata::ForGroup("g")).ok());
  auto [records, end] = ReadAll(Topic("out"), 0);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, "from the successor");
}

// Polls `consumer` (and `producer`, if any) until `done` or a deadline; the messages are copied.
bool PollUntil(KafkaConsumer& consumer, const std::function<bool()>& done,
               std::vector<Record>* records = nullptr, std::chrono::seconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    size_t n = consumer.Poll(100, [&](const KafkaMessage& m) {
      if (records) {
        records->push_back({m.offset, std::string(m.key), std::string(m.value), m.null_value});
        records->back().key += "@" + std::to_string(m.partition);
      }
    });
    if (n == 0) std::this_thread::yield();
  }
  return true;
}

TEST_F(KafkaStreamsTest, ConsumeProduceCommitInOneTransaction) {
  Create({{Topic("in"), 2, -1, {}}, {Topic("out"), 2, -1, {}}});
  {
    auto feeder = Transactional("feeder");  // the input ends in commit markers
    ASSERT_TRUE(feeder);
    ASSERT_TRUE(feeder->BeginTransaction().ok());
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(
          feeder->Produce(Topic("in"), "D" + std::to_string(i), "event", 0, {}, i % 2).ok());
    }
    ASSERT_TRUE(CommitOnWorker(*feeder, "", {}, GroupMetadata::ForGroup("unused")).ok());
  }
  std::vector<int32_t> added;
  std::vector<int32_t> revoked;
  KafkaConsumer::Options options;
  options.transactional_offsets = true;
  options.pause_on_assign = true;
  options.on_assigned = [&](const std::vector<int32_t>& p) {
    added.insert(added.end(), p.begin(), p.end());
  };
  options.on_revoked = [&](const std::vector<int32_t>& p, bool lost) {
    EXPECT_FALSE(lost);
    revoked.insert(revoked.end(), p.begin(), p.end());
  };
  auto consumer = KafkaConsumer::Create(settings_, Topic("in"), options);
  ASSERT_TRUE(consumer.ok()) << consumer.error().message;
  KafkaConsumer& c = **consumer;
  std::vector<Record> records;
  ASSERT_TRUE(PollUntil(
      c, [&] { return c.assignment().size() == 2; }, &records));
  EXPECT_EQ(added, (std::vector<int32_t>{0, 1}));
  EXPECT_TRUE(c.paused(0) && c.paused(1));
  EXPECT_FALSE(c.caught_up());
  // Paused (a restore would run now): nothing is handed out.
  auto quiet_until = std::chrono::steady_clock::now() + 1s;
  PollUntil(
      c, [&] { return std::chrono::steady_clock::now() > quiet_until; }, &records);
  EXPECT_TRUE(records.empty());
  EXPECT_FALSE(c.caught_up());

  c.Resume(0);
  c.Resume(1);
  ASSERT_TRUE(PollUntil(
      c, [&] { return c.caught_up(); }, &records))
      << records.size();
  ASSERT_EQ(records.size(), 10u);

  auto producer = Transactional("t");
  ASSERT_TRUE(producer);
  ASSERT_TRUE(producer->BeginTransaction().ok());
  PartitionOffsets next;
  for (const Record& r : records) {
    int32_t partition = r.key.back() - '0';
    ASSERT_TRUE(producer->Produce(Topic("out"), r.key, "alert", 0, {}, partition).ok());
    next[partition] = std::max(next[partition], r.offset + 1);
  }
  TransactionResult commit = CommitOnWorker(*producer, Topic("in"), next, c.GroupMetadata());
  ASSERT_TRUE(commit.ok()) << commit.message;
  auto committed = c.Committed({0, 1}, 30s);
  ASSERT_TRUE(committed.ok()) << committed.error().message;
  EXPECT_EQ(*committed, next);
  c.Close();
  EXPECT_EQ(revoked, (std::vector<int32_t>{0, 1}));

  // The next member of the group goes on from the committed offsets.
  KafkaConsumer::Options again;
  again.transactional_offsets = true;
  auto successor = KafkaConsumer::Create(settings_, Topic("in"), again);
  ASSERT_TRUE(successor.ok()) << successor.error().message;
  std::vector<Record> rest;
  ASSERT_TRUE(PollUntil(
      **successor, [&] { return (*successor)->caught_up(); }, &rest));
  EXPECT_TRUE(rest.empty());
  (*successor)->Close();
}

TEST_F(KafkaStreamsTest, AStaticMemberGetsItsPartitionsBackAtOnce) {
  Create({{Topic("in"), 2, -1, {}}});
  settings_.properties.push_back({"session.timeout.ms", "45000"});
  KafkaConsumer::Options options;
  options.transactional_offsets = true;
  options.group_instance_id = "host-1";
  {
    auto first = KafkaConsumer::Create(settings_, Topic("in"), options);
    ASSERT_TRUE(first.ok()) << first.error().message;
    ASSERT_TRUE(PollUntil(**first, [&] { return (*first)->caught_up(); }));
    (*first)->Close();  // a static member does not leave the group (as after a SIGKILL)
  }
  auto begin = std::chrono::steady_clock::now();
  auto second = KafkaConsumer::Create(settings_, Topic("in"), options);
  ASSERT_TRUE(second.ok()) << second.error().message;
  ASSERT_TRUE(PollUntil(**second, [&] { return (*second)->assignment().size() == 2; }));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 15s);  // not the 45 s session time-out
  (*second)->Close();
}

}  // namespace
}  // namespace ontime::integration
