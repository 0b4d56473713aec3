#pragma once
// librdkafka helpers shared by the producer and the consumers (private to streams).

#include <librdkafka/rdkafka.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ontime/base/result.h"

namespace ontime::streams {

// Sets each property; the first one librdkafka rejects is the error.
Status ApplyProperties(rd_kafka_conf_t* conf,
                       const std::vector<std::pair<std::string, std::string>>& properties);

// Properties that only make sense for a consumer (librdkafka warns when a producer gets them).
bool IsConsumerOnlyProperty(std::string_view name);
bool IsProducerOnlyProperty(std::string_view name);

}  // namespace ontime::streams
