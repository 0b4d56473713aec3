#pragma once
// Dead letters (contract section 1): an event that cannot be decoded or is invalid goes to the
// dead-letter topic with its original key and bytes, plus headers saying why and where it came
// from. This builds the headers; the daemon's producer sends them.

#include <cstdint>
#include <string_view>
#include <vector>

#include "ontime/streams/output_sink.h"

namespace ontime::streams {

inline constexpr std::string_view kHeaderErrorReason = "error.reason";
inline constexpr std::string_view kHeaderErrorMessage = "error.message";
inline constexpr std::string_view kHeaderSourceTopic = "source.topic";
inline constexpr std::string_view kHeaderSourcePartition = "source.partition";
inline constexpr std::string_view kHeaderSourceOffset = "source.offset";

std::vector<KafkaHeader> DeadLetterHeaders(std::string_view reason, std::string_view message,
                                           std::string_view source_topic, int32_t partition,
                                           int64_t offset);

}  // namespace ontime::streams
