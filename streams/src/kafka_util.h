#pragma once
// librdkafka helpers shared by the producer and the consumers (private to streams).

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ontime/base/result.h"
#include "ontime/streams/event_source.h"
#include "ontime/streams/group_metadata.h"

namespace ontime::streams {

using Clock = std::chrono::steady_clock;

// Milliseconds left until `deadline`, for librdkafka's int timeouts: 0 once passed (poll without
// waiting), or at least 1 where 0 would mean "wait for ever" or "no time" to the call.
inline int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(left.count(), 0));
}
inline int RemainingMsAtLeastOne(Clock::time_point deadline) {
  return std::max(RemainingMs(deadline), 1);
}

// Sets each property; the first one librdkafka rejects is the error.
// rd_kafka_new with every thread of the client SCHED_BATCH: the same share of the cores, but a
// thread woken (a broker thread told of a message to send, on every produce) does not preempt
// the event loop mid-turn; it runs at the next tick or when the loop waits. Best effort.
rd_kafka_t* NewKafkaClient(rd_kafka_type_t type, rd_kafka_conf_t* conf, char* error,
                           size_t error_size);

Status ApplyProperties(rd_kafka_conf_t* conf,
                       const std::vector<std::pair<std::string, std::string>>& properties);

// Properties that only make sense for a consumer (librdkafka warns when a producer gets them).
bool IsConsumerOnlyProperty(std::string_view name);
bool IsProducerOnlyProperty(std::string_view name);

// A KafkaMessage viewing `m` (valid while `m` is); headers are left to the caller.
KafkaMessage ToKafkaMessage(const rd_kafka_message_t* m);

// The message's headers, copied.
std::vector<KafkaHeader> CopyHeaders(const rd_kafka_message_t* m);

struct GroupMetadata::Impl {
  rd_kafka_consumer_group_metadata_t* handle = nullptr;
  ~Impl() {
    if (handle) rd_kafka_consumer_group_metadata_destroy(handle);
  }
};

}  // namespace ontime::streams
