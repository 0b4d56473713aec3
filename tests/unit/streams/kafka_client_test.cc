// Kafka client pieces that need no broker: configuration errors, dead-letter headers, and a
// producer that keeps messages (never drops them) while no broker answers.
#include <gtest/gtest.h>

#include <chrono>

#include "ontime/streams/dead_letters.h"
#include "ontime/streams/kafka_admin.h"
#include "ontime/streams/kafka_consumer.h"
#include "ontime/streams/kafka_producer.h"
#include "ontime/streams/partition_reader.h"

namespace ontime::streams {
namespace {

using namespace std::chrono_literals;

KafkaSettings Unreachable() {
  KafkaSettings s;
  s.brokers = "127.0.0.1:1";  // nothing listens on port 1
  s.group_id = "unit";
  return s;
}

TEST(KafkaProducerTest, RejectsAnUnknownProperty) {
  KafkaSettings s = Unreachable();
  s.properties = {{"no.such.property", "1"}};
  auto producer = KafkaProducer::Create(s, [](const Delivery&) {});
  ASSERT_FALSE(producer.ok());
  EXPECT_EQ(producer.error().code, "kafka_config");
  EXPECT_NE(producer.error().message.find("no.such.property"), std::string::npos);
}

TEST(KafkaProducerTest, KeepsMessagesWhileTheBrokerIsAway) {
  int delivered = 0;
  auto producer = KafkaProducer::Create(Unreachable(), [&](const Delivery&) { ++delivered; });
  ASSERT_TRUE(producer.ok()) << producer.error().message;
  ASSERT_TRUE((*producer)->Produce("dossier.sla.alerts", "D1", "{}", 7).ok());
  EXPECT_EQ((*producer)->in_flight(), 1u);
  EXPECT_FALSE((*producer)->Flush(200ms));
  EXPECT_EQ((*producer)->in_flight(), 1u);
  EXPECT_EQ(delivered, 0);
  EXPECT_FALSE((*producer)->fatal_error());
}

TEST(KafkaProducerTest, KeepsATombstoneWhileTheBrokerIsAway) {
  auto producer = KafkaProducer::Create(Unreachable(), [](const Delivery&) {});
  ASSERT_TRUE(producer.ok()) << producer.error().message;
  ASSERT_TRUE((*producer)->ProduceTombstone("dossier.state", "D1", 7, 2).ok());
  EXPECT_EQ((*producer)->in_flight(), 1u);
  EXPECT_FALSE((*producer)->transactional());
}

TEST(KafkaTransactionTest, NeedsATransactionalId) {
  auto producer = KafkaProducer::Create(Unreachable(), [](const Delivery&) {});
  ASSERT_TRUE(producer.ok()) << producer.error().message;
  Status init = (*producer)->InitTransactions(100ms);
  ASSERT_FALSE(init.ok());
  EXPECT_EQ(init.error().code, "kafka_txn");
  EXPECT_FALSE((*producer)->BeginTransaction().ok());
  TransactionResult commit = (*producer)->CommitTransaction("dossier.events", {{0, 5}},
                                                            GroupMetadata::ForGroup("unit"), 100ms);
  EXPECT_EQ(commit.kind, TransactionResult::Kind::kFatal);
}

TEST(KafkaTransactionTest, RejectsIdempotenceTurnedOff) {
  KafkaSettings s = Unreachable();
  s.transactional_id = "unit-1";
  s.properties = {{"enable.idempotence", "false"}};
  auto producer = KafkaProducer::Create(s, [](const Delivery&) {});
  ASSERT_FALSE(producer.ok());
  EXPECT_EQ(producer.error().code, "kafka_config");
}

TEST(KafkaTransactionTest, RejectsAMessageTimeoutLongerThanTheTransactionTimeout) {
  KafkaSettings s = Unreachable();
  s.transactional_id = "unit-1";
  s.properties = {{"message.timeout.ms", "120000"}};
  auto producer = KafkaProducer::Create(s, [](const Delivery&) {});
  ASSERT_FALSE(producer.ok());
  EXPECT_EQ(producer.error().code, "kafka_config");
}

TEST(KafkaTransactionTest, InitTimesOutRetriablyWithoutABroker) {
  KafkaSettings s = Unreachable();
  s.transactional_id = "unit-1";
  auto producer = KafkaProducer::Create(s, [](const Delivery&) {});
  ASSERT_TRUE(producer.ok()) << producer.error().message;
  EXPECT_TRUE((*producer)->transactional());
  auto begin = std::chrono::steady_clock::now();
  Status init = (*producer)->InitTransactions(300ms);
  ASSERT_FALSE(init.ok());
  EXPECT_EQ(init.error().code, "kafka_txn_retriable") << init.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
}

TEST(KafkaTransactionTest, NoProduceOutsideATransaction) {
  KafkaSettings s = Unreachable();
  s.transactional_id = "unit-1";
  auto producer = KafkaProducer::Create(s, [](const Delivery&) {});
  ASSERT_TRUE(producer.ok()) << producer.error().message;
  Status produced = (*producer)->Produce("dossier.sla.alerts", "D1", "{}", 7);
  EXPECT_FALSE(produced.ok());
  EXPECT_EQ((*producer)->in_flight(), 0u);
}

TEST(GroupMetadataTest, MovesItsHandle) {
  GroupMetadata a = GroupMetadata::ForGroup("unit");
  EXPECT_TRUE(a.valid());
  GroupMetadata b = std::move(a);
  EXPECT_TRUE(b.valid());
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): moved-from is documented
}

TEST(KafkaConsumerTest, RejectsAnUnknownProperty) {
  KafkaSettings s = Unreachable();
  s.properties = {{"no.such.property", "1"}};
  auto consumer = KafkaConsumer::Create(
      s, "dossier.events", [](int32_t) { return std::nullopt; }, nullptr);
  ASSERT_FALSE(consumer.ok());
  EXPECT_EQ(consumer.error().code, "kafka_config");
}

TEST(KafkaConsumerTest, NotCaughtUpBeforeAnyAssignment) {
  auto consumer = KafkaConsumer::Create(
      Unreachable(), "dossier.events", [](int32_t) { return std::nullopt; }, nullptr);
  ASSERT_TRUE(consumer.ok()) << consumer.error().message;
  EXPECT_EQ((*consumer)->Poll(10, [](const KafkaMessage&) {}), 0u);
  EXPECT_FALSE((*consumer)->caught_up());
  EXPECT_TRUE((*consumer)->assignment().empty());
  EXPECT_TRUE((*consumer)->Lag().empty());
}

TEST(KafkaConsumerTest, TransactionalOptionsWithoutABroker) {
  KafkaConsumer::Options options;
  options.transactional_offsets = true;
  options.group_instance_id = "unit-host-1";
  options.pause_on_assign = true;
  auto consumer = KafkaConsumer::Create(Unreachable(), "dossier.events", options);
  ASSERT_TRUE(consumer.ok()) << consumer.error().message;
  (*consumer)->Pause(0);  // not assigned: nothing to pause
  EXPECT_FALSE((*consumer)->paused(0));
  EXPECT_FALSE((*consumer)->at_end(0));
  (*consumer)->StoreOffset(0, 5);
  EXPECT_TRUE((*consumer)->CommitSync().ok());  // offsets go through the producer instead
  EXPECT_TRUE((*consumer)->GroupMetadata().valid());
  auto begin = std::chrono::steady_clock::now();
  EXPECT_FALSE((*consumer)->Committed({0}, 300ms).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
}

TEST(KafkaScanTest, FailsWithinItsTimeoutWithoutABroker) {
  auto begin = std::chrono::steady_clock::now();
  Status s = ScanTopic(Unreachable(), "dossier.sla.alerts", {}, 500ms, [](const KafkaMessage&) {});
  EXPECT_FALSE(s.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
}

TEST(PartitionReaderTest, FailsWithinItsTimeoutWithoutABroker) {
  auto begin = std::chrono::steady_clock::now();
  auto end = ReadPartition(
      Unreachable(), "ontime.dossier-state", 0, kOffsetBeginning, [](const KafkaMessage&) {},
      nullptr, 500ms);
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.error().code, "kafka_read");
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
}

TEST(PartitionReaderTest, StopsWhenCancelled) {
  int asked = 0;
  auto end = ReadPartition(
      Unreachable(), "ontime.dossier-state", 0, 0, [](const KafkaMessage&) {},
      [&] { return ++asked > 2; }, 60s);
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.error().code, "cancelled");
}

TEST(KafkaAdminTest, FailsWithinItsTimeoutWithoutABroker) {
  auto begin = std::chrono::steady_clock::now();
  auto described = DescribeTopics(Unreachable(), {"dossier.events"}, 500ms);
  EXPECT_FALSE(described.ok());
  Status created = CreateTopics(Unreachable(), {{"dossier.events", 3, -1, {}}}, 500ms);
  EXPECT_FALSE(created.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
}

TEST(KafkaAdminTest, RejectsAnUnknownProperty) {
  KafkaSettings s = Unreachable();
  s.properties = {{"no.such.property", "1"}};
  auto described = DescribeTopics(s, {"dossier.events"}, 500ms);
  ASSERT_FALSE(described.ok());
  EXPECT_EQ(described.error().code, "kafka_config");
}

TEST(DeadLettersTest, HeadersSayWhyAndWhere) {
  auto headers = DeadLetterHeaders("invalid_json", "bad", "dossier.events", 2, 12345);
  ASSERT_EQ(headers.size(), 5u);
  EXPECT_EQ(headers[0].name, "error.reason");
  EXPECT_EQ(headers[0].value, "invalid_json");
  EXPECT_EQ(headers[1].name, "error.message");
  EXPECT_EQ(headers[1].value, "bad");
  EXPECT_EQ(headers[2].name, "source.topic");
  EXPECT_EQ(headers[2].value, "dossier.events");
  EXPECT_EQ(headers[3].name, "source.partition");
  EXPECT_EQ(headers[3].value, "2");
  EXPECT_EQ(headers[4].name, "source.offset");
  EXPECT_EQ(headers[4].value, "12345");
}

}  // namespace
}  // namespace ontime::streams
