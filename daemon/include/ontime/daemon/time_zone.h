#pragma once
// UTC offsets of an IANA time zone from the operating system's tz database (/usr/share/zoneinfo,
// never downloaded), as the plain data rules::CalendarSpec takes. Thread-safe.

#include <string>
#include <vector>

#include "ontime/base/result.h"
#include "ontime/rules/calendar.h"

namespace ontime::daemon {

// Every offset change from first_year-01-01 to the end of last_year; the first entry starts at
// first_year-01-01 (UTC). Unknown zone or unreadable database: Error{"unknown_time_zone", ...}.
// Beyond the last transition the database lists (2037 for Debian's data), the last offset holds.
Result<std::vector<rules::UtcOffsetChange>> LoadUtcOffsets(const std::string& iana_name,
                                                           int first_year = 1970,
                                                           int last_year = 2200);

}  // namespace ontime::daemon
