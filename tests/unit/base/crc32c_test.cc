#include "ontime/base/crc32c.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ontime
