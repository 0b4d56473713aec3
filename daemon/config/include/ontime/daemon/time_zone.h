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
// After the last transition the zone file lists (2037 in Debian's "fat" files), its POSIX TZ
// footer ("CET-1CEST,M3.5.0,M10.5.0/3") generates the rest, as zoneinfo readers do.
Result<std::vector<rules::UtcOffsetChange>> LoadUtcOffsets(const std::string& iana_name,
                                                           int first_year = 1970,
                                                           int last_year = 2200);

}  // namespace ontime::daemon
