#pragma once
// An idempotent Kafka producer (librdkafka, enable.idempotence=true) for the daemon's outputs:
// alerts, apology letters and dead letters. Single-threaded: the daemon's event loop calls
// Produce, Poll and Flush; delivery reports arrive inside Poll/Flush on that same thread, so the
// caller's callback may touch loop state. A failed delivery is produced again (never dropped);
// a fatal error (idempotence broken) is reported through fatal_error() and the daemon stops.

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
#include "ontime/streams/output_sink.h"

namespace ontime::streams {

// Connection settings shared by the producer and consumers.
struct KafkaSettings {
  std::string brokers;
  std::string client_id = "ontimed";
  std::string group_id;  // consumers only
  // Passed to librdkafka as-is, in order, after ontime's own settings (so they can override).
  std::vector<std::pair<std::string, std::string>> properties;
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
  Status Produce(std::string_view topic, std::string_view key, std::string_view value, uint64_t tag,
                 const std::vector<KafkaHeader>& headers = {}) override;
  // Serves delivery reports without blocking.
  void Poll() override;
  // Waits up to `timeout` for every queued message; false on time-out.
  bool Flush(std::chrono::milliseconds timeout) override;
  size_t in_flight() const override;
  // Set once librdkafka reports a fatal error; the producer is unusable after it.
  const std::optional<std::string>& fatal_error() const override;
  // Delivery failures that were retried by producing again (for a log line / metric).
  uint64_t redeliveries() const;

  struct Impl;

 private:
  explicit KafkaProducer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ontime::streams
