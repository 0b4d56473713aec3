#pragma once
// Which input partition a key goes to, as the input's producer chose it: the daemon answers HTTP
// requests for a dossier owned by another instance by computing its partition from its id (the
// message key). Two partitioners are in use: librdkafka's default, consistent_random (CRC-32 of
// the key), and the Java client's default, murmur2_random (what librdkafka calls the Java
// producer compatible one). Both are computed by librdkafka's own functions, so the answer is the
// producer's exactly; an empty key (a random partition for the producer) has none.

#include <cstdint>
#include <optional>
#include <string_view>

namespace ontime::streams {

enum class Partitioner {
  kConsistentRandom,  // librdkafka's default (C, C++, Python, Go clients): CRC-32 of the key
  kMurmur2Random,     // the Java client's default (and librdkafka's "murmur2_random")
};

// "consistent_random" or "murmur2_random" (librdkafka's `partitioner` property values);
// "consistent" and "murmur2" are the same for a non-empty key.
std::optional<Partitioner> ParsePartitioner(std::string_view name);
std::string_view PartitionerName(Partitioner partitioner);

// The partition of `key` among `partitions` (> 0); nullopt for an empty key or no partitions.
std::optional<int32_t> PartitionForKey(std::string_view key, int32_t partitions,
                                       Partitioner partitioner);

}  // namespace ontime::streams
