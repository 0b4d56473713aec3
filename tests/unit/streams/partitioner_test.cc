// A dossier's partition from its id, as the input's producer chose it: the Java client's murmur2
// (Kafka's own test vectors, Utils.murmur2, made positive and taken modulo the count) and
// librdkafka's default CRC-32 (the standard check value of "123456789").
#include "ontime/streams/partitioner.h"

#include <gtest/gtest.h>

namespace ontime::streams {
namespace {

int32_t Murmur2(std::string_view key, int32_t partitions) {
  return PartitionForKey(key, partitions, Partitioner::kMurmur2Random).value();
}
int32_t Crc32(std::string_view key, int32_t partitions) {
  return PartitionForKey(key, partitions, Partitioner::kConsistentRandom).value();
}

TEST(PartitionerTest, Murmur2IsTheJavaClients) {
  // Utils.murmur2("21") = -973932308: (h & 0x7fffffff) % 1000 = 340.
  EXPECT_EQ(Murmur2("21", 1000), 340);
  EXPECT_EQ(Murmur2("foobar", 1000), 166);                      // -790332482
  EXPECT_EQ(Murmur2("a-little-bit-long-string", 1000), 112);    // -985981536
  EXPECT_EQ(Murmur2("a-little-bit-longer-string", 1000), 819);  // -1486304829
  EXPECT_EQ(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", 1000), 677);
  EXPECT_EQ(Murmur2("abc", 12), 3);  // 479470107
}

TEST(PartitionerTest, ConsistentIsTheCrc32OfTheKey) {
  EXPECT_EQ(Crc32("123456789", 1000), 262);  // 0xCBF43926 = 3421780262
  EXPECT_EQ(Crc32("D-2026-000001", 12), 5);  // 4272384365
  EXPECT_EQ(Crc32("F1", 12), 10);            // 3055876678
}

TEST(PartitionerTest, EveryPartitionInRangeAndNoneForAnEmptyKeyOrNoPartitions) {
  for (int i = 0; i < 200; ++i) {
    const std::string key = "D" + std::to_string(i);
    for (Partitioner p : {Partitioner::kConsistentRandom, Partitioner::kMurmur2Random}) {
      const int32_t partition = PartitionForKey(key, 7, p).value();
      EXPECT_GE(partition, 0);
      EXPECT_LT(partition, 7);
    }
  }
  EXPECT_EQ(PartitionForKey("", 4, Partitioner::kMurmur2Random), std::nullopt);
  EXPECT_EQ(PartitionForKey("D1", 0, Partitioner::kConsistentRandom), std::nullopt);
}

TEST(PartitionerTest, NamesAreLibrdkafkasPropertyValues) {
  EXPECT_EQ(ParsePartitioner("consistent_random"), Partitioner::kConsistentRandom);
  EXPECT_EQ(ParsePartitioner("murmur2_random"), Partitioner::kMurmur2Random);
  EXPECT_EQ(ParsePartitioner("murmur2"), Partitioner::kMurmur2Random);
  EXPECT_EQ(ParsePartitioner("fnv1a"), std::nullopt);
  EXPECT_EQ(PartitionerName(Partitioner::kMurmur2Random), "murmur2_random");
}

}  // namespace
}  // namespace ontime::streams
