#include "ontime/daemon/time_zone.h"

#include <date/tz.h>

#include <algorithm>
#include <exception>

namespace ontime::daemon {

Result<std::vector<rules::UtcOffsetChange>> LoadUtcOffsets(const std::string& iana_name,
                                                           int first_year, int last_year) {
  std::vector<rules::UtcOffsetChange> changes;
  try {
    // Debian builds date-tz with USE_OS_TZDB: it reads /usr/share/zoneinfo and has no remote API.
    const date::time_zone* zone = date::locate_zone(iana_name);
    const date::sys_seconds begin = date::sys_days{date::year{first_year} / 1 / 1};
    const date::sys_seconds end = date::sys_days{date::year{last_year + 1} / 1 / 1};
    date::sys_seconds t = begin;
    while (t < end) {
      const date::sys_info info = zone->get_info(t);
      const auto offset = std::chrono::duration_cast<std::chrono::seconds>(info.offset);
      // Only the total offset matters; a change of abbreviation or of `save` alone is no change.
      if (changes.empty() || changes.back().offset != offset) {
        changes.push_back({std::chrono::time_point_cast<Duration>(std::max(info.begin, begin)),
                           offset});
      }
      if (info.end <= t) break;  // defensive: the database must move forward
      t = info.end;
    }
  } catch (const std::exception& e) {
    // locate_zone throws runtime_error both for an unknown name and for a missing database.
    const std::string what = e.what();
    if (what.find("not found") != std::string::npos) {
      return Error{"unknown_time_zone", "unknown time zone \"" + iana_name + "\""};
    }
    return Error{"unknown_time_zone",
                 "cannot load time zone \"" + iana_name + "\" from the tz database: " + what};
  }
  return changes;
}

}  // namespace ontime::daemon
