#pragma once
// An idempotent Kafka producer (librdkafka, enable.idempotence=true) for the daemon's outputs:
// alerts, apology letters, dead letters and changelog records. The daemon's event loop calls
// Produce, Poll and Flush; delivery reports arrive inside Poll/Flush on that same thread (never
// elsewhere), so the caller's callback may touch loop state. Without a transactional id a failed
// delivery is produced again (never dropped); a fatal error (idempotence broken, producer fenced)
// is reported through fatal_error() and the daemon stops.
//
// With KafkaSettings::transactional_id, the producer is transactional: InitTransactions once,
// then BeginTransaction / Produce... / CommitTransaction (or AbortTransaction). Threading:
// InitTransactions, CommitTransaction and AbortTransaction block, and may run on a worker thread
// while the loop thread keeps calling Poll (it must: the commit waits for the delivery reports of
// the transaction's messages, which only the loop thread serves) and calls neither Produce nor
// Flush until the call returned. Called on the loop thread itself (the thread that last called
// Produce, Poll or Flush; e.g. inside a consumer's on_revoked), they serve the delivery reports
// while they wait. BeginTransaction is cheap (no broker round trip), on either thread. A failed
// delivery is then not produced again: the transaction cannot commit and must be aborted; the
// failure is in last_delivery_error() and in the commit's result. The counters and the delivery
// callback are confined to the loop thread; the transaction calls touch only librdkafka (which is
// thread-safe) and atomics.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ontime/base/result.h"
#include "ontime/streams/event_source.h"
#include "ontime/streams/group_metadata.h"
#include "ontime/streams/output_sink.h"

namespace ontime::streams {

// Connection settings shared by the producer and consumers.
struct KafkaSettings {
  std::string brokers;
  std::string client_id = "ontimed";
  std::string group_id;  // consumers only
  // Producer only: empty for an idempotent, non-transactional producer. Stable across restarts of
  // the same instance (so that its successor fences it and aborts its open transaction).
  std::string transactional_id;
  // Passed to librdkafka as-is, in order, after ontime's own settings (so they can override).
  std::vector<std::pair<std::string, std::string>> properties;
};

// What a transaction call came to, from librdkafka's classification of its error.
struct TransactionResult {
  enum class Kind {
    kOk,
    kRetriable,      // call the same function again (e.g. timed out; the commit resumes)
    kAbortRequired,  // AbortTransaction, then redo the transaction's work from committed offsets
    kFatal,          // the producer is unusable (fenced by a newer instance...): recreate it
  };
  Kind kind = Kind::kOk;
  std::string message;
  bool ok() const { return kind == Kind::kOk; }
};

class KafkaProducer final : public OutputSink {
 public:
  using DeliveredFn = std::function<void(const Delivery&)>;

  // `delivered` is called once per message, after the broker acknowledged it.
  static Result<std::unique_ptr<KafkaProducer>> Create(const KafkaSettings& settings,
                                                       DeliveredFn delivered);
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  // Queues one message (copied). Never fails silently: a full local queue is served by polling
  // until there is room; an error is returned only for an unknown topic or a fatal producer.
  // In a transactional producer, only between BeginTransaction and Commit/AbortTransaction.
  Status Produce(std::string_view topic, std::string_view key, std::string_view value, uint64_t tag,
                 const std::vector<KafkaHeader>& headers = {},
                 int32_t partition = kAnyPartition) override;
  // A null value (a tombstone for a compacted topic).
  Status ProduceTombstone(std::string_view topic, std::string_view key, uint64_t tag,
                          int32_t partition = kAnyPartition) override;
  // Serves delivery reports without blocking.
  void Poll() override;
  // Waits up to `timeout` for every queued message; false on time-out.
  bool Flush(std::chrono::milliseconds timeout) override;
  size_t in_flight() const override;
  // Set once librdkafka reports a fatal error; the producer is unusable after it.
  const std::optional<std::string>& fatal_error() const override;
  // Delivery failures that were retried by producing again (for a log line / metric).
  uint64_t redeliveries() const;
  // Transactional mode: the latest delivery failure (messages purged by an abort excepted).
  const std::optional<std::string>& last_delivery_error() const;
  bool transactional() const;

  // Registers the transactional id with the broker, fencing any older producer with the same id
  // and aborting its open transaction. Once, before the first BeginTransaction. Error codes:
  // "kafka_txn_retriable" (call again), "kafka_txn_fatal", "kafka_txn" (not transactional...).
  Status InitTransactions(std::chrono::milliseconds timeout);
  Status BeginTransaction();
  // Adds the input offsets (`next_offsets`: the next offset to read per partition of
  // `input_topic`; none sent when empty) to the transaction for `group`, then commits it.
  // On kRetriable, call it again with the same arguments: what was already done is not redone.
  TransactionResult CommitTransaction(const std::string& input_topic,
                                      const PartitionOffsets& next_offsets,
                                      const GroupMetadata& group,
                                      std::chrono::milliseconds timeout);
  // Drops the transaction's messages and offsets (their delivery reports are failures, served by
  // Poll as usual); none is visible to read_committed consumers.
  TransactionResult AbortTransaction(std::chrono::milliseconds timeout);

  struct Impl;

 private:
  explicit KafkaProducer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ontime::streams
