#include "ontime/base/time.h"

#include <chrono>
#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace ontime {
namespace {

using namespace std::chrono_literals;

// 2026-03-02T02:00:00Z in milliseconds since the epoch.
constexpr int64_t kMonday0200Z = 1772416800000;

struct ParseCase {
  const char* text;
  std::optional<int64_t> expected_ms;
};

TEST(TimeTest, ParseRfc3339) {
  const ParseCase cases[] = {
      {"2026-03-02T09:00:00+07:00", kMonday0200Z},
      {"2026-03-02T02:00:00Z", kMonday0200Z},
      {"2026-03-02t02:00:00z", kMonday0200Z},
      {"2026-03-02 02:00:00Z", kMonday0200Z},
      {"2026-03-01T21:00:00-05:00", kMonday0200Z},
      {"2026-03-02T02:00:00+00:00", kMonday0200Z},
      {"2026-03-02T02:00:00.125Z", kMonday0200Z + 125},
      {"2026-03-02T02:00:00.1Z", kMonday0200Z + 100},
      {"2026-03-02T02:00:00.12Z", kMonday0200Z + 120},
      {"2026-03-02T02:00:00.999999999Z", kMonday0200Z + 999},  // truncated, not rounded
      {"2026-03-02T07:45:00+05:45", kMonday0200Z},
      {"1970-01-01T00:00:00Z", 0},
      {"1969-12-31T23:59:59.999Z", -1},
      {"2026-03-02T09:00:00", std::nullopt},  // an offset is required
      {"2026-03-02T09:00+07:00", std::nullopt},
      {"2026-03-02", std::nullopt},
      {"2026-02-30T09:00:00Z", std::nullopt},
      {"2026-13-02T09:00:00Z", std::nullopt},
      {"2026-03-02T24:00:00Z", std::nullopt},
      {"2026-03-02T09:60:00Z", std::nullopt},
      {"2026-03-02T09:00:00.Z", std::nullopt},
      {"2026-03-02T09:00:00+0700", std::nullopt},
      {"2026-03-02T09:00:00+07:00 ", std::nullopt},
      {"2026-03-02X09:00:00Z", std::nullopt},
      {"", std::nullopt},
  };
  for (const ParseCase& c : cases) {
    auto parsed = ParseRfc3339(c.text);
    ASSERT_EQ(parsed.has_value(), c.expected_ms.has_value()) << c.text;
    if (parsed) {
      EXPECT_EQ(parsed->time_since_epoch().count(), *c.expected_ms) << c.text;
    }
  }
}

TEST(TimeTest, FormatRfc3339) {
  const Instant t{Duration{kMonday0200Z}};
  EXPECT_EQ(FormatRfc3339(t, 7h), "2026-03-02T09:00:00+07:00");
  EXPECT_EQ(FormatRfc3339(t, 0s), "2026-03-02T02:00:00+00:00");  // never "Z"
  EXPECT_EQ(FormatRfc3339(t, -5h), "2026-03-01T21:00:00-05:00");
  EXPECT_EQ(FormatRfc3339(t, 5h + 45min), "2026-03-02T07:45:00+05:45");
  EXPECT_EQ(FormatRfc3339(t + 5ms, 7h), "2026-03-02T09:00:00.005+07:00");
  EXPECT_EQ(FormatRfc3339(t + 120ms, 7h), "2026-03-02T09:00:00.120+07:00");
  EXPECT_EQ(FormatRfc3339(Instant{Duration{-1}}, 0s), "1969-12-31T23:59:59.999+00:00");

  std::string out = "due=";
  AppendRfc3339(out, t, 7h);
  EXPECT_EQ(out, "due=2026-03-02T09:00:00+07:00");
}

TEST(TimeTest, FormatThenParseRoundTrips) {
  for (int64_t ms : {int64_t{0}, kMonday0200Z, kMonday0200Z + 1, int64_t{4102444799999}}) {
    for (auto offset : {0s, 25200s, -18000s, 20700s}) {
      const Instant t{Duration{ms}};
      EXPECT_EQ(ParseRfc3339(FormatRfc3339(t, offset)), t) << ms << " " << offset.count();
    }
  }
}

TEST(TimeTest, ParseAndFormatDate) {
  using namespace std::chrono;
  EXPECT_EQ(ParseDate("2026-05-09"), sys_days{2026y / May / 9});
  EXPECT_EQ(ParseDate("2024-02-29"), sys_days{2024y / February / 29});
  EXPECT_EQ(ParseDate("1970-01-01")->time_since_epoch().count(), 0);
  for (const char* bad : {"2026-02-29", "2026-5-09", "2026-05-9", "2026/05/09", "2026-05-09T00", "",
                          "20260509", "2026-00-10"}) {
    EXPECT_FALSE(ParseDate(bad).has_value()) << bad;
  }
  EXPECT_EQ(FormatDate(sys_days{2026y / May / 9}), "2026-05-09");
  EXPECT_EQ(FormatDate(sys_days{1999y / December / 31}), "1999-12-31");
}

}  // namespace
}  // namespace ontime
