#include "ontime/streams/partitioner.h"

#include <librdkafka/rdkafka.h>

namespace ontime::streams {

std::optional<Partitioner> ParsePartitioner(std::string_view name) {
  if (name == "consistent_random" || name == "consistent") return Partitioner::kConsistentRandom;
  if (name == "murmur2_random" || name == "murmur2") return Partitioner::kMurmur2Random;
  return std::nullopt;
}

std::string_view PartitionerName(Partitioner partitioner) {
  return partitioner == Partitioner::kMurmur2Random ? "murmur2_random" : "consistent_random";
}

std::optional<int32_t> PartitionForKey(std::string_view key, int32_t partitions,
                                       Partitioner partitioner) {
  if (key.empty() || partitions <= 0) return std::nullopt;
  // The non-random variants read neither the topic handle nor the opaques for a non-empty key:
  // they are the hash modulo the partition count, as the *_random ones for a keyed message.
  if (partitioner == Partitioner::kMurmur2Random) {
    return rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), partitions, nullptr,
                                            nullptr);
  }
  return rd_kafka_msg_partitioner_consistent(nullptr, key.data(), key.size(), partitions, nullptr,
                                             nullptr);
}

}  // namespace ontime::streams
