#include "ontime/daemon/progress.h"

#include <gtest/gtest.h>

#include <sstream>

namespace ontime::daemon {
namespace {

using namespace std::chrono_literals;

// A replay of 1,000 events over a 100,000-byte file on a clock the test moves.
class ProgressTest : public ::testing::Test {
 protected:
  std::chrono::steady_clock::time_point now_{};
  std::ostringstream err_;
  ProgressLine progress_{err_, 100000, [this] { return now_; }, 250ms, /*stride=*/1};
};

TEST_F(ProgressTest, AtMostOneLinePerIntervalRewrittenInPlace) {
  progress_.Update(1, 100);
  EXPECT_EQ(err_.str(), "") << "nothing before the first interval has passed";
  now_ += 100ms;
  progress_.Update(2, 200);
  EXPECT_EQ(progress_.lines_printed(), 0u);
  now_ += 150ms;  // 250 ms since the start
  progress_.Update(500, 50000);
  EXPECT_EQ(err_.str(), "\r500 events  2.0k events/s  50.0%\x1b[K");
  now_ += 249ms;
  progress_.Update(600, 60000);
  EXPECT_EQ(progress_.lines_printed(), 1u);
  now_ += 1ms;
  progress_.Update(1000, 100000);
  EXPECT_EQ(progress_.lines_printed(), 2u);
  EXPECT_TRUE(err_.str().ends_with("\r1,000 events  2.0k events/s  100.0%\x1b[K")) << err_.str();
  progress_.Finish();
  EXPECT_TRUE(err_.str().ends_with("\r\x1b[K")) << "the summary starts on a clean line";
}

TEST_F(ProgressTest, NothingToClearWhenNothingWasPrinted) {
  progress_.Update(1, 1);
  progress_.Finish();
  EXPECT_EQ(err_.str(), "");
}

TEST(ProgressFormatTest, RatesAndShares) {
  EXPECT_EQ(ProgressLine::Format(0, 0, 0, 0), "0 events  0 events/s");
  EXPECT_EQ(ProgressLine::Format(999, 999, 1, 3), "999 events  999 events/s  33.3%");
  EXPECT_EQ(ProgressLine::Format(12345678, 2.5e6, 10, 10),
            "12,345,678 events  2.50M events/s  100.0%");
}

TEST(ProgressStrideTest, ReadsTheClockOnlyEveryStrideEvents) {
  int reads = 0;
  std::ostringstream err;
  ProgressLine progress(err, 0, [&] {
    ++reads;
    return std::chrono::steady_clock::time_point{};
  });
  const int at_start = reads;
  for (size_t events = 1; events <= 10 * ProgressLine::kStride; ++events)
    progress.Update(events, 0);
  EXPECT_EQ(reads - at_start, 10);
}

}  // namespace
}  // namespace ontime::daemon
