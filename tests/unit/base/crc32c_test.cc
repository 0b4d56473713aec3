#include "ontime/base/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace ontime {
namespace {

TEST(Crc32cTest, MatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32c::Of("123456789"), 0xE3069283u);  // the CRC-32C check value
  EXPECT_EQ(Crc32c::Of(""), 0u);
}

TEST(Crc32cTest, IncrementalEqualsOneShot) {
  Crc32c crc;
  crc.Update("1234", 4);
  crc.Update("56789", 5);
  EXPECT_EQ(crc.value(), Crc32c::Of("123456789"));
}

// Bit by bit, from the definition (reflected 0x1EDC6F41, initial and final value all ones).
uint32_t Reference(std::string_view bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : bytes) {
    crc ^= c;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
  }
  return ~crc;
}

TEST(Crc32cTest, EveryLengthAndSplitMatchesTheDefinition) {
  std::string bytes;
  uint32_t x = 12345;
  for (int i = 0; i < 300; ++i) {
    x = x * 1103515245u + 12345u;
    bytes.push_back(static_cast<char>(x >> 16));
  }
  for (size_t n = 0; n <= bytes.size(); ++n) {
    const std::string_view prefix(bytes.data(), n);
    ASSERT_EQ(Crc32c::Of(prefix), Reference(prefix)) << n;
    ASSERT_EQ(Crc32c::OfPortable(prefix), Reference(prefix)) << n;
    Crc32c split;
    split.Update(prefix.data(), n / 3);
    split.Update(prefix.data() + n / 3, n - n / 3);
    ASSERT_EQ(split.value(), Reference(prefix)) << n;
  }
  EXPECT_EQ(Crc32c::OfPortable("123456789"), 0xE3069283u);
}

}  // namespace
}  // namespace ontime
