#include "ontime/rules/calendar.h"

#include <chrono>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ontime/base/time.h"

namespace ontime::rules {
namespace {

using namespace std::chrono_literals;
using std::chrono::days;

Instant T(const std::string& text) {
  auto t = ParseRfc3339(text);
  EXPECT_TRUE(t.has_value()) << text;
  return t.value_or(Instant{});
}
// Local time in the +07:00 test calendars: L("2026-03-02 09:00").
Instant L(const std::string& local) {
  return T(local.substr(0, 10) + "T" + local.substr(11) + ":00+07:00");
}
CivilDay Day(const char* text) { return ParseDate(text).value(); }
TimeRange R(int start_hour, int start_minute, int end_hour, int end_minute) {
  return {start_hour * 60 + start_minute, end_hour * 60 + end_minute};
}

// Asia/Ho_Chi_Minh, Mon-Fri 07:30-11:30, 13:00-17:00.
CalendarSpec OfficeSpec() {
  CalendarSpec spec;
  spec.utc_offsets = {{Instant{}, 7h}};
  for (int d = 0; d < 5; ++d) spec.weekly[d] = {R(7, 30, 11, 30), R(13, 0, 17, 0)};
  return spec;
}

// The office calendar of March 2026 (Mon 2 Mar): a holiday on Wednesday 4 Mar and a make-up
// Saturday morning on 7 Mar.
CalendarSpec MarchSpec() {
  CalendarSpec spec = OfficeSpec();
  spec.holidays = {{Day("2026-03-04"), "Test holiday"}};
  spec.working_days = {{Day("2026-03-07"), {R(7, 30, 11, 30)}}};
  return spec;
}

std::shared_ptr<const BusinessCalendar> Build(const CalendarSpec& spec, int first = 2024,
                                              int last = 2030) {
  auto calendar = BusinessCalendar::Build(spec, first, last);
  EXPECT_TRUE(calendar.ok()) << (calendar.ok() ? "" : calendar.error().message);
  return calendar.ok() ? *calendar : nullptr;
}

struct BetweenCase {
  const char* what;
  Instant a;
  Instant b;
  Duration expected;
};

TEST(CalendarTest, BetweenCountsOnlyWorkingTime) {
  auto cal = Build(MarchSpec());
  const BetweenCase cases[] = {
      {"inside the morning", L("2026-03-02 09:00"), L("2026-03-02 10:00"), 1h},
      {"across lunch", L("2026-03-02 11:00"), L("2026-03-02 13:30"), 1h},
      {"inside lunch", L("2026-03-02 11:40"), L("2026-03-02 12:50"), 0h},
      {"overnight", L("2026-03-02 16:00"), L("2026-03-03 08:30"), 2h},
      {"whole day", L("2026-03-02 00:00"), L("2026-03-03 00:00"), 8h},
      {"over the holiday", L("2026-03-03 16:00"), L("2026-03-05 08:30"), 2h},
      {"on the holiday", L("2026-03-04 07:00"), L("2026-03-04 18:00"), 0h},
      {"make-up Saturday", L("2026-03-06 17:00"), L("2026-03-09 07:30"), 4h},
      {"make-up Saturday, afternoon off", L("2026-03-07 11:00"), L("2026-03-07 14:00"), 30min},
      {"ordinary weekend", L("2026-03-13 16:00"), L("2026-03-16 08:30"), 2h},
      {"a working week with holiday", L("2026-03-02 00:00"), L("2026-03-09 00:00"), 36h},
      {"milliseconds", T("2026-03-02T09:00:00.001+07:00"), T("2026-03-02T09:00:00.999+07:00"),
       998ms},
      {"inputs in Z", T("2026-03-02T02:00:00Z"), T("2026-03-02T05:00:00Z"), 150min},
      {"inputs at -05:00", T("2026-03-01T21:00:00-05:00"), T("2026-03-02T01:00:00-05:00"), 150min},
      {"end before start", L("2026-03-02 10:00"), L("2026-03-02 09:00"), 0h},
      {"empty", L("2026-03-02 10:00"), L("2026-03-02 10:00"), 0h},
  };
  for (const BetweenCase& c : cases) {
    EXPECT_EQ(cal->Between(c.a, c.b), c.expected) << c.what;
  }
}

TEST(CalendarTest, RemainingIsSigned) {
  auto cal = Build(MarchSpec());
  EXPECT_EQ(cal->Remaining(L("2026-03-02 09:00"), L("2026-03-02 10:00")), 1h);
  EXPECT_EQ(cal->Remaining(L("2026-03-02 10:00"), L("2026-03-02 09:00")), -1h);
  EXPECT_EQ(cal->Remaining(L("2026-03-03 08:00"), L("2026-03-02 16:30")), -1h);
}

struct AddCase {
  const char* what;
  Instant start;
  Duration budget;
  Instant expected;
};

TEST(CalendarTest, AddFindsTheEarliestInstant) {
  auto cal = Build(MarchSpec());
  const AddCase cases[] = {
      {"ends exactly at 11:30", L("2026-03-02 09:00"), 150min, L("2026-03-02 11:30")},
      {"a whole morning", L("2026-03-02 07:30"), 4h, L("2026-03-02 11:30")},
      {"one ms past the morning", L("2026-03-02 09:00"), 150min + 1ms,
       T("2026-03-02T13:00:00.001+07:00")},
      {"ends exactly at 17:00", L("2026-03-02 13:00"), 4h, L("2026-03-02 17:00")},
      {"one day", L("2026-03-02 07:30"), 8h, L("2026-03-02 17:00")},
      {"starts in lunch", L("2026-03-02 11:45"), 1h, L("2026-03-02 14:00")},
      {"zero in lunch", L("2026-03-02 11:45"), 0h, L("2026-03-02 11:45")},
      {"zero at night", L("2026-03-02 22:00"), 0h, L("2026-03-02 22:00")},
      {"starts on Saturday", L("2026-03-14 10:00"), 1h, L("2026-03-16 08:30")},
      {"skips the holiday", L("2026-03-03 16:00"), 2h, L("2026-03-05 08:30")},
      {"uses the make-up Saturday", L("2026-03-06 16:30"), 1h, L("2026-03-07 08:00")},
      {"past the make-up Saturday", L("2026-03-06 16:30"), 5h, L("2026-03-09 08:00")},
      {"input in Z", T("2026-03-02T04:00:00Z"), 30min, L("2026-03-02 11:30")},
      {"input at -05:00", T("2026-03-01T23:00:00-05:00"), 30min, L("2026-03-02 11:30")},
  };
  for (const AddCase& c : cases) {
    EXPECT_EQ(FormatRfc3339(cal->Add(c.start, c.budget).value(), 7h), FormatRfc3339(c.expected, 7h))
        << c.what;
  }
}

TEST(CalendarTest, EarliestWithRemaining) {
  auto cal = Build(MarchSpec());
  const AddCase cases[] = {
      {"due 13:30, 30m left from the morning's end", L("2026-03-02 13:30"), 30min,
       L("2026-03-02 11:30")},
      {"due 13:30, nothing left", L("2026-03-02 13:30"), 0h, L("2026-03-02 13:30")},
      {"due at 13:00, nothing left", L("2026-03-02 13:00"), 0h, L("2026-03-02 11:30")},
      {"the previous evening", L("2026-03-03 08:30"), 1h, L("2026-03-02 17:00")},
      {"over the holiday", L("2026-03-05 08:00"), 1h, L("2026-03-03 16:30")},
      {"inside a morning", L("2026-03-02 11:00"), 1h, L("2026-03-02 10:00")},
  };
  for (const AddCase& c : cases) {
    EXPECT_EQ(FormatRfc3339(cal->EarliestWithRemaining(c.start, c.budget), 7h),
              FormatRfc3339(c.expected, 7h))
        << c.what;
  }
  // More than all the working time in the table: the table's start.
  EXPECT_EQ(cal->EarliestWithRemaining(L("2026-03-02 13:30"), 100'000h), L("2024-01-01 00:00"));
  EXPECT_EQ(cal->EarliestWithRemaining(L("2026-03-02 13:30"), Duration::max()),
            L("2024-01-01 00:00"));
}

TEST(CalendarTest, AddRefusesToReachPastTheTable) {
  auto cal = Build(MarchSpec(), 2026, 2026);
  // 2025 is outside the table: no working time; Thu 1 Jan (no holidays configured) and 1h on 2 Jan.
  EXPECT_EQ(cal->Between(L("2025-12-31 09:00"), L("2026-01-02 08:30")), 9h);
  EXPECT_EQ(cal->Between(L("2026-12-31 16:00"), L("2027-01-04 10:00")), 1h);
  EXPECT_EQ(cal->Add(L("2026-12-31 16:00"), 1h), L("2026-12-31 17:00"));  // the last working hour
  EXPECT_EQ(cal->Add(L("2026-12-31 16:00"), 1h + 1ms), std::nullopt);     // past the table
  EXPECT_EQ(cal->Add(L("2030-06-03 09:00"), 2h), std::nullopt);
  EXPECT_EQ(cal->Add(L("2026-12-31 16:00"), Duration::max()), std::nullopt);
  EXPECT_EQ(cal->Add(L("2025-12-31 16:00"), 0h), L("2025-12-31 16:00"));
  EXPECT_EQ(cal->covered_until(), L("2027-01-01 00:00"));
}

TEST(CalendarTest, DayMayEndAt2400) {
  CalendarSpec spec;
  spec.utc_offsets = {{Instant{}, 7h}};
  for (auto& hours : spec.weekly) hours = {R(0, 0, 24, 0)};
  auto round_the_clock = Build(spec);
  EXPECT_EQ(round_the_clock->Between(L("2026-03-02 22:00"), L("2026-03-04 01:00")), 27h);
  EXPECT_EQ(round_the_clock->Add(L("2026-03-02 23:00"), 48h), L("2026-03-04 23:00"));

  CalendarSpec night;
  night.utc_offsets = {{Instant{}, 7h}};
  night.weekly[0] = {R(22, 0, 24, 0)};  // Monday 22:00 to midnight
  night.weekly[1] = {R(0, 0, 2, 0)};    // Tuesday midnight to 02:00
  auto shift = Build(night);
  EXPECT_EQ(shift->Add(L("2026-03-02 23:00"), 2h), L("2026-03-03 01:00"));
  EXPECT_EQ(shift->Add(L("2026-03-02 12:00"), 2h), L("2026-03-03 00:00"));
  EXPECT_EQ(shift->Between(L("2026-03-02 00:00"), L("2026-03-09 00:00")), 4h);
}

// A North-American style zone built by hand: -05:00, -04:00 from 8 Mar 2026 02:00 local, and
// -05:00 again from 1 Nov 2026 02:00 local.
CalendarSpec DstSpec() {
  CalendarSpec spec;
  spec.timezone = "America/New_York";
  spec.utc_offsets = {
      {Instant{}, -5h}, {T("2026-03-08T07:00:00Z"), -4h}, {T("2026-11-01T06:00:00Z"), -5h}};
  for (int d = 0; d < 5; ++d) spec.weekly[d] = {R(9, 0, 17, 0)};
  return spec;
}

TEST(CalendarTest, HonoursTheOffsetInForce) {
  auto cal = Build(DstSpec());
  EXPECT_EQ(cal->UtcOffsetAt(T("2026-03-08T06:59:59.999Z")), -5h);
  EXPECT_EQ(cal->UtcOffsetAt(T("2026-03-08T07:00:00Z")), -4h);
  EXPECT_EQ(cal->UtcOffsetAt(T("2026-11-01T06:00:00Z")), -5h);
  EXPECT_EQ(cal->UtcOffsetAt(T("1990-01-01T00:00:00Z")), -5h);  // the first entry applies before
  // Friday before the change ends at 22:00Z, Monday after it starts at 13:00Z.
  EXPECT_EQ(cal->Add(T("2026-03-06T16:00:00-05:00"), 2h), T("2026-03-09T10:00:00-04:00"));
  EXPECT_EQ(cal->Add(T("2026-03-06T16:00:00-05:00"), 2h), T("2026-03-09T14:00:00Z"));
  EXPECT_EQ(cal->Between(T("2026-03-09T12:00:00Z"), T("2026-03-09T14:00:00Z")), 1h);
  // And back in November: Monday 2 Nov starts at 14:00Z.
  EXPECT_EQ(cal->Add(T("2026-10-30T16:00:00-04:00"), 1h), T("2026-10-30T21:00:00Z"));
  EXPECT_EQ(cal->Add(T("2026-10-30T16:00:00-04:00"), 1h + 1ms), T("2026-11-02T14:00:00.001Z"));

  // Round the clock, the spring-forward day has 23 hours and the fall-back day 25.
  CalendarSpec spec = DstSpec();
  for (auto& hours : spec.weekly) hours = {R(0, 0, 24, 0)};
  auto always = Build(spec);
  EXPECT_EQ(always->Between(T("2026-03-08T00:00:00-05:00"), T("2026-03-09T00:00:00-04:00")), 23h);
  EXPECT_EQ(always->Between(T("2026-11-01T00:00:00-04:00"), T("2026-11-02T00:00:00-05:00")), 25h);
}

TEST(CalendarTest, UtcOffsetAtWithoutOffsetsIsUtc) {
  CalendarSpec spec = OfficeSpec();
  spec.utc_offsets.clear();
  auto cal = Build(spec);
  EXPECT_EQ(cal->UtcOffsetAt(T("2026-03-02T00:00:00Z")), 0s);
  EXPECT_EQ(cal->Add(T("2026-03-02T07:30:00Z"), 4h), T("2026-03-02T11:30:00Z"));
}

struct BuildErrorCase {
  const char* what;
  CalendarSpec spec;
};

TEST(CalendarTest, BuildRejectsBadHours) {
  auto with = [](auto change) {
    CalendarSpec spec = OfficeSpec();
    change(spec);
    return spec;
  };
  const BuildErrorCase cases[] = {
      {"overlapping weekly ranges", with([](CalendarSpec& s) {
         s.weekly[2] = {R(8, 0, 12, 0), R(11, 0, 17, 0)};
       })},
      {"inverted weekly range", with([](CalendarSpec& s) { s.weekly[0] = {R(17, 0, 8, 0)}; })},
      {"empty weekly range", with([](CalendarSpec& s) { s.weekly[0] = {R(8, 0, 8, 0)}; })},
      {"past midnight", with([](CalendarSpec& s) { s.weekly[0] = {R(8, 0, 24, 1)}; })},
      {"overlapping override", with([](CalendarSpec& s) {
         s.working_days = {{Day("2026-05-09"), {R(7, 30, 11, 30), R(11, 0, 12, 0)}}};
       })},
      {"inverted override", with([](CalendarSpec& s) {
         s.working_days = {{Day("2026-05-09"), {R(11, 30, 7, 30)}}};
       })},
      {"zero day length", with([](CalendarSpec& s) { s.day_length = 0h; })},
      {"negative day length", with([](CalendarSpec& s) { s.day_length = -8h; })},
  };
  for (const BuildErrorCase& c : cases) {
    auto result = BusinessCalendar::Build(c.spec, 2026, 2026);
    ASSERT_FALSE(result.ok()) << c.what;
    EXPECT_EQ(result.error().code, "invalid_calendar") << c.what;
    EXPECT_FALSE(result.error().message.empty()) << c.what;
  }
  // Touching ranges are fine.
  auto touching = with([](CalendarSpec& s) { s.weekly[0] = {R(8, 0, 12, 0), R(12, 0, 13, 0)}; });
  EXPECT_TRUE(BusinessCalendar::Build(touching, 2026, 2026).ok());
}

CalendarSpec VietnamSpec() {
  CalendarSpec spec = OfficeSpec();
  spec.builtin_holidays = BuiltinHolidays::kVietnam;
  return spec;
}

// The naive reference: walk the local days one by one (fixed +07:00), with the calendar's own
// holiday decisions and the spec's overrides.
Duration NaiveBetween(const BusinessCalendar& cal, const CalendarSpec& spec, Instant a, Instant b) {
  Duration total{};
  const CivilDay first = std::chrono::floor<days>(a + 7h) - days{1};
  const CivilDay last = std::chrono::floor<days>(b + 7h) + days{1};
  for (CivilDay day = first; day <= last; day += days{1}) {
    const std::vector<TimeRange>* hours =
        &spec.weekly[std::chrono::weekday{day}.iso_encoding() - 1];
    bool overridden = false;
    for (const auto& w : spec.working_days) {
      if (w.date == day) {
        hours = &w.hours;
        overridden = true;
      }
    }
    if (!overridden && cal.IsHoliday(day)) continue;
    for (const TimeRange& r : *hours) {
      const Instant start = Instant{day} - 7h + std::chrono::minutes{r.start_minute};
      const Instant end = Instant{day} - 7h + std::chrono::minutes{r.end_minute};
      const Instant from = std::max(start, a);
      const Instant to = std::min(end, b);
      if (to > from) total += to - from;
    }
  }
  return total;
}

TEST(CalendarTest, MultiYearBudgetsMatchADayByDayWalk) {
  CalendarSpec spec = VietnamSpec();
  spec.working_days = {{Day("2027-05-08"), {R(7, 30, 11, 30)}}};
  spec.holidays = {{Day("2028-06-14"), ""}};
  auto cal = Build(spec, 2020, 2040);
  const Instant start = L("2026-03-02 10:15");
  for (int working_days : {1, 10, 250, 2000}) {
    const Instant due = cal->Add(start, working_days * 8h).value();
    EXPECT_EQ(NaiveBetween(*cal, spec, start, due), working_days * 8h) << working_days;
    EXPECT_EQ(cal->Between(start, due), working_days * 8h) << working_days;
    EXPECT_LT(NaiveBetween(*cal, spec, start, due - 1ms), working_days * 8h) << working_days;
  }
  std::mt19937_64 random(20260302);
  std::uniform_int_distribution<int64_t> ms(L("2024-01-01 00:00").time_since_epoch().count(),
                                            L("2031-12-31 00:00").time_since_epoch().count());
  for (int i = 0; i < 200; ++i) {
    Instant a{Duration{ms(random)}};
    Instant b{Duration{ms(random)}};
    if (b < a) std::swap(a, b);
    ASSERT_EQ(cal->Between(a, b), NaiveBetween(*cal, spec, a, b))
        << FormatRfc3339(a, 7h) << " .. " << FormatRfc3339(b, 7h);
  }
}

TEST(CalendarTest, AddAndBetweenAgreeOnRandomInstants) {
  CalendarSpec spec = VietnamSpec();
  spec.working_days = {{Day("2026-05-09"), {R(7, 30, 11, 30)}}};
  auto cal = Build(spec, 2024, 2032);
  std::mt19937_64 random(42);
  std::uniform_int_distribution<int64_t> instant(L("2025-01-01 00:00").time_since_epoch().count(),
                                                 L("2030-01-01 00:00").time_since_epoch().count());
  std::uniform_int_distribution<int64_t> budget(0, Duration{200h}.count());
  for (int i = 0; i < 10'000; ++i) {
    const Instant t{Duration{instant(random)}};
    const Duration d{i % 10 == 0 ? 0 : budget(random)};
    const Instant end = cal->Add(t, d).value();
    ASSERT_GE(end, t);
    ASSERT_EQ(cal->Between(t, end), d) << FormatRfc3339(t, 7h) << " + " << d.count();
    if (d > Duration::zero()) {
      ASSERT_LT(cal->Between(t, end - 1ms), d) << FormatRfc3339(t, 7h) << " + " << d.count();
    } else {
      ASSERT_EQ(end, t);
    }
    const Instant at_risk = cal->EarliestWithRemaining(end, d);
    ASSERT_LE(cal->Between(at_risk, end), d);
    ASSERT_GT(cal->Between(at_risk - 1ms, end), d);
  }
}

TEST(CalendarTest, BuildsTwoCenturiesQuickly) {
  const auto started = std::chrono::steady_clock::now();
  auto result = BusinessCalendar::Build(VietnamSpec(), 1970, 2200);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(result.ok());
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  std::cout << "Build 1970..2200 with Vietnamese holidays: " << ms << " ms\n";
  RecordProperty("build_ms", static_cast<int>(ms));
  EXPECT_LT(ms, 2000);
  const auto& cal = *result;
  EXPECT_EQ(cal->Add(L("1970-01-01 00:00"), 8h), L("1970-01-02 17:00"));  // 1 Jan is off
  EXPECT_EQ(cal->Add(L("2200-12-31 09:00"), 1h), L("2200-12-31 10:00"));  // a Wednesday
  EXPECT_TRUE(cal->IsHoliday(Day("2199-09-02")));
}

void ExpectHolidays(const std::vector<NamedDay>& actual,
                    const std::vector<std::pair<const char*, const char*>>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(FormatDate(actual[i].date), expected[i].first) << i;
    EXPECT_EQ(actual[i].name, expected[i].second) << i;
  }
}

TEST(VietnameseHolidaysTest, Year2026) {
  ExpectHolidays(VietnameseHolidays(2026, OfficeSpec().weekly),
                 {
                     {"2026-01-01", "New Year's Day"},
                     {"2026-02-16", "Tet (lunar New Year's Eve)"},
                     {"2026-02-17", "Tet (lunar 1/1)"},
                     {"2026-02-18", "Tet (lunar 2/1)"},
                     {"2026-02-19", "Tet (lunar 3/1)"},
                     {"2026-02-20", "Tet (lunar 4/1)"},
                     {"2026-04-26", "Hung Kings' Commemoration (lunar 10/3)"},  // a Sunday
                     {"2026-04-27", "Compensatory day for Hung Kings' Commemoration (lunar 10/3)"},
                     {"2026-04-30", "Reunification Day"},
                     {"2026-05-01", "International Labour Day"},
                     {"2026-09-02", "National Day"},  // a Wednesday
                     {"2026-09-03", "National Day (adjacent day)"},
                 });
}

TEST(VietnameseHolidaysTest, Year2025) {
  ExpectHolidays(VietnameseHolidays(2025, OfficeSpec().weekly),
                 {
                     {"2025-01-01", "New Year's Day"},
                     {"2025-01-28", "Tet (lunar New Year's Eve)"},
                     {"2025-01-29", "Tet (lunar 1/1)"},
                     {"2025-01-30", "Tet (lunar 2/1)"},
                     {"2025-01-31", "Tet (lunar 3/1)"},
                     {"2025-02-01", "Tet (lunar 4/1)"},  // a Saturday
                     {"2025-02-03", "Compensatory day for Tet (lunar 4/1)"},
                     {"2025-04-07", "Hung Kings' Commemoration (lunar 10/3)"},
                     {"2025-04-30", "Reunification Day"},
                     {"2025-05-01", "International Labour Day"},
                     {"2025-09-01", "National Day (adjacent day)"},  // 2 Sep is a Tuesday
                     {"2025-09-02", "National Day"},
                 });
}

TEST(VietnameseHolidaysTest, NationalDayAdjacentDayMatchesTheGovernmentsChoices) {
  const std::pair<int, const char*> cases[] = {
      {2021, "2021-09-03"}, {2022, "2022-09-01"}, {2023, "2023-09-01"},
      {2024, "2024-09-03"}, {2025, "2025-09-01"},
  };
  for (const auto& [year, adjacent] : cases) {
    bool found = false;
    for (const NamedDay& h : VietnameseHolidays(year, OfficeSpec().weekly)) {
      if (h.name == "National Day (adjacent day)") {
        EXPECT_EQ(FormatDate(h.date), adjacent) << year;
        found = true;
      }
    }
    EXPECT_TRUE(found) << year;
  }
}

TEST(VietnameseHolidaysTest, CompensatoryDaysSkipHolidaysAndEachOther) {
  // Tet 2023: eve Sat 21 Jan, 1/1..4/1 Sun 22 .. Wed 25 Jan. Saturday and Sunday are compensated
  // on Thursday 26 and Friday 27.
  ExpectHolidays(
      [] {
        std::vector<NamedDay> tet;
        for (const NamedDay& h : VietnameseHolidays(2023, OfficeSpec().weekly)) {
          if (h.date >= Day("2023-01-20") && h.date <= Day("2023-01-31")) tet.push_back(h);
        }
        return tet;
      }(),
      {
          {"2023-01-21", "Tet (lunar New Year's Eve)"},
          {"2023-01-22", "Tet (lunar 1/1)"},
          {"2023-01-23", "Tet (lunar 2/1)"},
          {"2023-01-24", "Tet (lunar 3/1)"},
          {"2023-01-25", "Tet (lunar 4/1)"},
          {"2023-01-26", "Compensatory day for Tet (lunar New Year's Eve)"},
          {"2023-01-27", "Compensatory day for Tet (lunar 1/1)"},
      });
  // With a six-day week, only Sunday is a day off.
  WeeklyHours six_days = OfficeSpec().weekly;
  six_days[5] = {R(7, 30, 11, 30)};
  int compensatory = 0;
  for (const NamedDay& h : VietnameseHolidays(2023, six_days)) {
    if (h.name.starts_with("Compensatory") && h.date > Day("2023-01-15") &&
        h.date < Day("2023-02-15")) {
      EXPECT_EQ(FormatDate(h.date), "2023-01-26");
      ++compensatory;
    }
  }
  EXPECT_EQ(compensatory, 1);
}

TEST(CalendarTest, DescribeYearListsGeneratedAndConfiguredDays) {
  CalendarSpec spec = VietnamSpec();
  spec.holidays = {{Day("2026-01-01"), "Configured new year"},
                   {Day("2026-03-04"), ""},
                   {Day("2026-12-24"), "Christmas Eve"},
                   {Day("2027-01-05"), "Next year"}};
  spec.working_days = {{Day("2026-05-09"), {R(7, 30, 11, 30)}},
                       {Day("2026-09-03"), {R(7, 30, 11, 30), R(13, 0, 17, 0)}},
                       {Day("2027-02-20"), {R(7, 30, 11, 30)}}};
  auto cal = Build(spec);
  const YearView view = cal->DescribeYear(2026);
  EXPECT_EQ(view.year, 2026);
  ExpectHolidays(view.holidays,
                 {
                     {"2026-01-01", "New Year's Day"},
                     {"2026-02-16", "Tet (lunar New Year's Eve)"},
                     {"2026-02-17", "Tet (lunar 1/1)"},
                     {"2026-02-18", "Tet (lunar 2/1)"},
                     {"2026-02-19", "Tet (lunar 3/1)"},
                     {"2026-02-20", "Tet (lunar 4/1)"},
                     {"2026-03-04", "Holiday"},
                     {"2026-04-26", "Hung Kings' Commemoration (lunar 10/3)"},
                     {"2026-04-27", "Compensatory day for Hung Kings' Commemoration (lunar 10/3)"},
                     {"2026-04-30", "Reunification Day"},
                     {"2026-05-01", "International Labour Day"},
                     {"2026-09-02", "National Day"},
                     // 2026-09-03 is worked: the configured working day beats the generator.
                     {"2026-12-24", "Christmas Eve"},
                 });
  ASSERT_EQ(view.working_days.size(), 2u);
  EXPECT_EQ(view.working_days[0], spec.working_days[0]);
  EXPECT_EQ(view.working_days[1], spec.working_days[1]);

  EXPECT_TRUE(cal->IsHoliday(Day("2026-04-27")));
  EXPECT_TRUE(cal->IsHoliday(Day("2026-03-04")));
  EXPECT_FALSE(cal->IsHoliday(Day("2026-04-28")));
  EXPECT_FALSE(cal->IsHoliday(Day("2026-09-03")));
  EXPECT_TRUE(cal->IsHoliday(Day("2035-09-02")));  // outside the table: computed on demand
  EXPECT_EQ(cal->Between(L("2026-09-02 00:00"), L("2026-09-04 00:00")), 8h);
  EXPECT_EQ(cal->Between(L("2026-05-09 00:00"), L("2026-05-10 00:00")), 4h);
  EXPECT_EQ(cal->Between(L("2026-04-24 17:00"), L("2026-04-28 07:30")), 0h);
}

}  // namespace
}  // namespace ontime::rules
