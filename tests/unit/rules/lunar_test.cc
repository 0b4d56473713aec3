#include <chrono>

#include <gtest/gtest.h>

#include "ontime/base/time.h"
#include "ontime/rules/calendar.h"

namespace ontime::rules {
namespace {

CivilDay Day(const char* text) { return ParseDate(text).value(); }

struct LunarCase {
  const char* solar;
  LunarDate lunar;
};

// Published Vietnamese calendar dates (Tet, Hung Kings' day, leap months).
const LunarCase kKnownDates[] = {
    {"2020-01-25", {1, 1, 2020, false}},   {"2023-01-22", {1, 1, 2023, false}},
    {"2024-02-10", {1, 1, 2024, false}},   {"2025-01-29", {1, 1, 2025, false}},
    {"2026-02-17", {1, 1, 2026, false}},   {"2027-02-06", {1, 1, 2027, false}},
    {"2024-04-18", {10, 3, 2024, false}},  {"2025-04-07", {10, 3, 2025, false}},
    {"2026-04-26", {10, 3, 2026, false}},  {"2023-03-22", {1, 2, 2023, true}},
    {"2023-02-20", {1, 2, 2023, false}},   {"2025-07-25", {1, 6, 2025, true}},
    {"2025-06-25", {1, 6, 2025, false}},   {"2026-02-16", {29, 12, 2025, false}},
    {"2025-01-28", {29, 12, 2024, false}}, {"2024-02-09", {30, 12, 2023, false}},
};

TEST(LunarTest, KnownDatesConvertBothWays) {
  for (const LunarCase& c : kKnownDates) {
    SCOPED_TRACE(c.solar);
    EXPECT_EQ(SolarToLunar(Day(c.solar)), c.lunar);
    EXPECT_EQ(LunarToSolar(c.lunar), Day(c.solar));
  }
}

TEST(LunarTest, LeapMonthThatTheYearDoesNotHaveIsRejected) {
  EXPECT_EQ(LunarToSolar({1, 3, 2023, true}), CivilDay{});  // 2023's leap month is the 2nd
  EXPECT_EQ(LunarToSolar({1, 1, 2024, true}), CivilDay{});  // 2024 has no leap month
  EXPECT_EQ(LunarToSolar({1, 13, 2024, false}), CivilDay{});
}

TEST(LunarTest, RoundTripsEveryDayFrom1970To2100) {
  using namespace std::chrono;
  const CivilDay first = Day("1970-01-01");
  const CivilDay last = Day("2100-12-31");
  LunarDate previous = SolarToLunar(first - days{1});
  for (CivilDay day = first; day <= last; day += days{1}) {
    const LunarDate lunar = SolarToLunar(day);
    ASSERT_EQ(LunarToSolar(lunar), day) << FormatDate(day);
    // Consecutive days: the next lunar day, or day 1 of a new month after day 29 or 30.
    if (lunar.day == 1) {
      ASSERT_TRUE(previous.day == 29 || previous.day == 30) << FormatDate(day);
    } else {
      ASSERT_EQ(lunar.day, previous.day + 1) << FormatDate(day);
      ASSERT_EQ(lunar.month, previous.month) << FormatDate(day);
    }
    previous = lunar;
  }
}

}  // namespace
}  // namespace ontime::rules
