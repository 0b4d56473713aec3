#include "ontime/rules/duration.h"

#include <chrono>
#include <optional>

#include <gtest/gtest.h>

namespace ontime::rules {
namespace {

using namespace std::chrono_literals;

constexpr Duration kDay = 8h;

struct ParseCase {
  const char* text;
  std::optional<Duration> expected;
};

TEST(DurationTest, Parse) {
  const ParseCase cases[] = {
      {"15d", 15 * kDay},
      {"4h", 4h},
      {"2d4h", 2 * kDay + 4h},
      {"90m", 90min},
      {"1h30m", 90min},
      {"45s", 45s},
      {"1d2h3m4s", kDay + 2h + 3min + 4s},
      {"0", 0h},
      {"0h", 0h},
      {"250ms", 250ms},
      {"1s500ms", 1500ms},
      {"15x", std::nullopt},
      {"", std::nullopt},
      {"d", std::nullopt},
      {"-1h", std::nullopt},
      {"1.5d", std::nullopt},
      {"4h2d", std::nullopt},  // units descend
      {"1h1h", std::nullopt},  // each at most once
      {"30m1h", std::nullopt},
      {"15", std::nullopt},  // a number needs a unit
      {"15d ", std::nullopt},
      {" 15d", std::nullopt},
      {"1D", std::nullopt},
      {"99999999999999999999d", std::nullopt},
  };
  for (const ParseCase& c : cases) {
    EXPECT_EQ(ParseDuration(c.text, kDay), c.expected) << '"' << c.text << '"';
  }
}

TEST(DurationTest, DayMeansTheCalendarsDayLength) {
  EXPECT_EQ(ParseDuration("1d", 8h), 8h);
  EXPECT_EQ(ParseDuration("1d", 450min), 450min);
  EXPECT_EQ(ParseDuration("2d", 24h), 48h);
}

TEST(DurationTest, FormatIsTheInverseOfParse) {
  const std::pair<Duration, const char*> cases[] = {
      {0h, "0"},        {15 * kDay, "15d"}, {2 * kDay + 4h, "2d4h"},
      {90min, "1h30m"}, {45s, "45s"},       {1500ms, "1s500ms"},
      {-4h, "-4h"},     {9h, "1d1h"},
  };
  for (const auto& [duration, text] : cases) {
    EXPECT_EQ(FormatDuration(duration, kDay), text);
    if (duration >= Duration::zero()) {
      EXPECT_EQ(ParseDuration(text, kDay), duration) << text;
    }
  }
}

struct ThresholdCase {
  const char* text;
  bool ok;
  bool is_percent;
  double percent;
  Duration absolute;
};

TEST(DurationTest, ParseThreshold) {
  const ThresholdCase cases[] = {
      {"1d", true, false, 0, 8h},      {"90m", true, false, 0, 90min},
      {"20%", true, true, 20, 0h},     {"12.5%", true, true, 12.5, 0h},
      {"100%", true, true, 100, 0h},   {"0%", false, false, 0, 0h},
      {"100.5%", false, false, 0, 0h}, {"-5%", false, false, 0, 0h},
      {"%", false, false, 0, 0h},      {".5%", false, false, 0, 0h},
      {"5.%", false, false, 0, 0h},    {"1e1%", false, false, 0, 0h},
      {"20 %", false, false, 0, 0h},   {"15x", false, false, 0, 0h},
  };
  for (const ThresholdCase& c : cases) {
    auto threshold = ParseThreshold(c.text, kDay);
    ASSERT_EQ(threshold.has_value(), c.ok) << c.text;
    if (!threshold) continue;
    EXPECT_EQ(threshold->is_percent, c.is_percent) << c.text;
    EXPECT_DOUBLE_EQ(threshold->percent, c.percent) << c.text;
    EXPECT_EQ(threshold->absolute, c.absolute) << c.text;
  }
}

TEST(DurationTest, ResolveThreshold) {
  EXPECT_EQ(ParseThreshold("20%", kDay)->Resolve(15 * kDay), 3 * kDay);
  EXPECT_EQ(ParseThreshold("12.5%", kDay)->Resolve(8h), 1h);
  EXPECT_EQ(ParseThreshold("100%", kDay)->Resolve(90min), 90min);
  EXPECT_EQ(ParseThreshold("33%", kDay)->Resolve(1s), 330ms);
  // "remaining <= 1.5 ms" first holds at 1 ms: exact thresholds round down, never up.
  EXPECT_EQ(ParseThreshold("50%", kDay)->Resolve(3ms), 1ms);
  EXPECT_EQ(ParseThreshold("25%", kDay)->Resolve(10'800'003ms), 2'700'000ms);  // 2,700,000.75
  EXPECT_EQ(ParseThreshold("2h", kDay)->Resolve(15 * kDay), 2h);  // absolute ignores the budget
}

}  // namespace
}  // namespace ontime::rules
