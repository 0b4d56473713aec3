#pragma once
// librdkafka helpers shared by the producer and the consumers (private to streams).

#include <librdkafka/rdkafka.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ontime/base/result.h"
#include "ontime/streams/event_source.h"
#include "ontime/streams/group_metadata.h"

namespace ontime::streams {

// Sets each property; the first one librdkafka rejects is the error.
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
