#pragma once
// The Vietnamese holiday generator without names' allocations, for BusinessCalendar::Build,
// which marks two centuries of holidays on every build.

#include <vector>

#include "ontime/rules/calendar.h"

namespace ontime::rules::internal {

struct HolidayDate {
  CivilDay date;
  const char* name;  // the holiday's name, or the one compensated
  bool compensatory = false;
};

// Appends the year's holidays and compensatory days to `out`, sorted by date.
void VietnameseHolidayDates(int year, const WeeklyHours& weekly, std::vector<HolidayDate>& out);

}  // namespace ontime::rules::internal
