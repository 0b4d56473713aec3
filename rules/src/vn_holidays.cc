// Vietnamese public holidays (Labour Code 2019, art. 112) and their compensatory days.

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "ontime/rules/calendar.h"

namespace ontime::rules {
namespace {

using std::chrono::days;
using std::chrono::weekday;

// WeeklyHours is indexed Monday = 0; std::chrono::weekday counts Sunday = 0.
bool IsWeeklyWorkingDay(CivilDay day, const WeeklyHours& weekly) {
  const unsigned iso = weekday{day}.iso_encoding();  // Monday = 1 ... Sunday = 7
  return !weekly[iso - 1].empty();
}

}  // namespace

std::vector<NamedDay> VietnameseHolidays(int year_number, const WeeklyHours& weekly) {
  using namespace std::chrono;
  const year y{year_number};
  std::vector<NamedDay> days_off;
  days_off.push_back({sys_days{y / January / 1}, "New Year's Day"});

  // Tet: lunar New Year's Eve (the last day of month 12, 29th or 30th) and lunar 1/1 to 4/1. The
  // lunar year that starts in Gregorian year Y has number Y.
  const CivilDay tet = LunarToSolar(LunarDate{1, 1, year_number, false});
  days_off.push_back({tet - days{1}, "Tet (lunar New Year's Eve)"});
  for (int i = 0; i < 4; ++i) {
    days_off.push_back({tet + days{i}, "Tet (lunar " + std::to_string(i + 1) + "/1)"});
  }
  days_off.push_back({LunarToSolar(LunarDate{10, 3, year_number, false}),
                      "Hung Kings' Commemoration (lunar 10/3)"});
  days_off.push_back({sys_days{y / April / 30}, "Reunification Day"});
  days_off.push_back({sys_days{y / May / 1}, "International Labour Day"});

  // National Day: 2 Sep "and one adjacent day before or after" (art. 112 (1)(e)); the government
  // picks the day each year. The rule below reproduces its choices for 2021 (Thu: 2-3), 2022 (Fri:
  // 1-2), 2023 (Sat: 1-2), 2024 (Mon: 2-3) and 2025 (Tue: 1-2): the day before when 2 Sep is a
  // Tuesday, Friday or Saturday (joining a weekend or a bridge), else the day after. Where the
  // government decides otherwise, configure `holidays` and `working_days` for that year.
  const CivilDay national_day = sys_days{y / September / 2};
  const weekday wd{national_day};
  const bool day_before = wd == Tuesday || wd == Friday || wd == Saturday;
  days_off.push_back({national_day, "National Day"});
  days_off.push_back(
      {day_before ? national_day - days{1} : national_day + days{1}, "National Day (adjacent day)"});

  std::sort(days_off.begin(), days_off.end(),
            [](const NamedDay& a, const NamedDay& b) { return a.date < b.date; });

  // Art. 112 (3): a holiday on a weekly day off is compensated on the next working day. Taken in
  // date order, each compensatory day is the next weekly working day that is neither a holiday
  // nor already a compensatory day. A week with no working day at all has nothing to compensate.
  const bool any_working_day =
      std::any_of(weekly.begin(), weekly.end(), [](const auto& hours) { return !hours.empty(); });
  std::vector<NamedDay> compensatory;
  if (any_working_day) {
    auto taken = [&](CivilDay day) {
      auto same = [day](const NamedDay& n) { return n.date == day; };
      return std::any_of(days_off.begin(), days_off.end(), same) ||
             std::any_of(compensatory.begin(), compensatory.end(), same);
    };
    for (const NamedDay& holiday : days_off) {
      if (IsWeeklyWorkingDay(holiday.date, weekly)) continue;
      CivilDay day = holiday.date + days{1};
      while (!IsWeeklyWorkingDay(day, weekly) || taken(day)) day += days{1};
      compensatory.push_back({day, "Compensatory day for " + holiday.name});
    }
  }
  days_off.insert(days_off.end(), compensatory.begin(), compensatory.end());
  std::stable_sort(days_off.begin(), days_off.end(),
                   [](const NamedDay& a, const NamedDay& b) { return a.date < b.date; });
  return days_off;
}

}  // namespace ontime::rules
