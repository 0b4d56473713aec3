// Vietnamese public holidays (Labour Code 2019, art. 112) and their compensatory days.

#include "vn_holidays.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "ontime/rules/calendar.h"

namespace ontime::rules {
namespace {

using internal::HolidayDate;
using std::chrono::days;
using std::chrono::weekday;

// WeeklyHours is indexed Monday = 0; std::chrono::weekday counts Sunday = 0.
bool IsWeeklyWorkingDay(CivilDay day, const WeeklyHours& weekly) {
  const unsigned iso = weekday{day}.iso_encoding();  // Monday = 1 ... Sunday = 7
  return !weekly[iso - 1].empty();
}

struct LunarHolidays {
  CivilDay tet;   // lunar 1/1
  CivilDay hung;  // lunar 10/3
};

LunarHolidays ComputeLunarHolidays(int year_number) {
  return {LunarToSolar(LunarDate{1, 1, year_number, false}),
          LunarToSolar(LunarDate{10, 3, year_number, false})};
}

// Calendars are built often (every test, every configuration load) over two centuries; the
// lunar dates do not depend on the configuration, so they are computed once per process.
constexpr int kCacheFirstYear = 1900;
constexpr int kCacheLastYear = 2300;

LunarHolidays LunarHolidaysOf(int year_number) {
  if (year_number < kCacheFirstYear || year_number > kCacheLastYear) {
    return ComputeLunarHolidays(year_number);
  }
  static const std::vector<LunarHolidays> kCache = [] {
    std::vector<LunarHolidays> years;
    years.reserve(kCacheLastYear - kCacheFirstYear + 1);
    for (int y = kCacheFirstYear; y <= kCacheLastYear; ++y) {
      years.push_back(ComputeLunarHolidays(y));
    }
    return years;
  }();
  return kCache[static_cast<size_t>(year_number - kCacheFirstYear)];
}

}  // namespace

namespace internal {

void VietnameseHolidayDates(int year_number, const WeeklyHours& weekly,
                            std::vector<HolidayDate>& out) {
  using namespace std::chrono;
  const year y{year_number};
  const size_t first = out.size();
  out.push_back({sys_days{y / January / 1}, "New Year's Day"});

  // Tet: lunar New Year's Eve (the last day of month 12, the 29th or the 30th) and lunar 1/1 to
  // 4/1. The lunar year starting in Gregorian year Y (in late January or February) is number Y.
  const LunarHolidays lunar = LunarHolidaysOf(year_number);
  out.push_back({lunar.tet - days{1}, "Tet (lunar New Year's Eve)"});
  out.push_back({lunar.tet, "Tet (lunar 1/1)"});
  out.push_back({lunar.tet + days{1}, "Tet (lunar 2/1)"});
  out.push_back({lunar.tet + days{2}, "Tet (lunar 3/1)"});
  out.push_back({lunar.tet + days{3}, "Tet (lunar 4/1)"});
  out.push_back({lunar.hung, "Hung Kings' Commemoration (lunar 10/3)"});
  out.push_back({sys_days{y / April / 30}, "Reunification Day"});
  out.push_back({sys_days{y / May / 1}, "International Labour Day"});

  // National Day: 2 Sep "and one adjacent day before or after" (art. 112 (1)(e)); the government
  // picks the day each year. The rule below reproduces its choices for 2021 (Thu: 2-3), 2022 (Fri:
  // 1-2), 2023 (Sat: 1-2), 2024 (Mon: 2-3) and 2025 (Tue: 1-2): the day before when 2 Sep is a
  // Tuesday, Friday or Saturday (joining a weekend or a bridge), else the day after. Where the
  // government decides otherwise, configure `holidays` and `working_days` for that year.
  const CivilDay national_day = sys_days{y / September / 2};
  const weekday wd{national_day};
  const bool day_before = wd == Tuesday || wd == Friday || wd == Saturday;
  out.push_back({national_day, "National Day"});
  out.push_back({day_before ? national_day - days{1} : national_day + days{1},
                 "National Day (adjacent day)"});

  auto by_date = [](const HolidayDate& a, const HolidayDate& b) { return a.date < b.date; };
  std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(), by_date);

  // Art. 112 (3): a holiday on a weekly day off is compensated on the next working day. Taken in
  // date order, each compensatory day is the next weekly working day that is neither a holiday
  // nor already a compensatory day. A week with no working day at all has nothing to compensate.
  const bool any_working_day =
      std::any_of(weekly.begin(), weekly.end(), [](const auto& hours) { return !hours.empty(); });
  if (!any_working_day) return;
  const size_t holidays_end = out.size();
  for (size_t i = first; i < holidays_end; ++i) {
    if (IsWeeklyWorkingDay(out[i].date, weekly)) continue;
    CivilDay day = out[i].date + days{1};
    auto taken = [&] {
      return std::any_of(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                         [day](const HolidayDate& h) { return h.date == day; });
    };
    while (!IsWeeklyWorkingDay(day, weekly) || taken()) day += days{1};
    out.push_back({day, out[i].name, true});
  }
  std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(), by_date);
}

}  // namespace internal

std::vector<NamedDay> VietnameseHolidays(int year_number, const WeeklyHours& weekly) {
  std::vector<HolidayDate> dates;
  internal::VietnameseHolidayDates(year_number, weekly, dates);
  std::vector<NamedDay> named;
  named.reserve(dates.size());
  for (const HolidayDate& h : dates) {
    named.push_back({h.date, h.compensatory ? std::string("Compensatory day for ") + h.name
                                            : std::string(h.name)});
  }
  return named;
}

}  // namespace ontime::rules
