#include "ontime/streams/dead_letters.h"

#include <string>

namespace ontime::streams {

std::vector<KafkaHeader> DeadLetterHeaders(std::string_view reason, std::string_view message,
                                           std::string_view source_topic, int32_t partition,
                                           int64_t offset) {
  return {{std::string(kHeaderErrorReason), std::string(reason)},
          {std::string(kHeaderErrorMessage), std::string(message)},
          {std::string(kHeaderSourceTopic), std::string(source_topic)},
          {std::string(kHeaderSourcePartition), std::to_string(partition)},
          {std::string(kHeaderSourceOffset), std::to_string(offset)}};
}

}  // namespace ontime::streams
