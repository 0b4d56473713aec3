#pragma once
// The business calendar: which instants are working time, and the working-time arithmetic the
// SLA rules are written in (contract section 3). Built once from plain data (CalendarSpec) into a
// table of working intervals in UTC with cumulative working time, so Between, Add and
// EarliestWithRemaining are binary searches: O(log intervals), independent of the span.
// Immutable after Build; safe to share between threads.

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ontime/base/result.h"
#include "ontime/base/time.h"

namespace ontime::rules {

// Local minutes from midnight, [start_minute, end_minute); end_minute may be 1440 ("24:00").
struct TimeRange {
  int32_t start_minute = 0;
  int32_t end_minute = 0;
  friend bool operator==(const TimeRange&, const TimeRange&) = default;
};

// The UTC offset in force from `from` on (until the next change). The first entry also applies
// before its `from`. Filled by the daemon from the time-zone database, so rules/ does no I/O.
struct UtcOffsetChange {
  Instant from;
  std::chrono::seconds offset;
};

struct NamedDay {
  CivilDay date;
  std::string name;
  friend bool operator==(const NamedDay&, const NamedDay&) = default;
};

struct WorkingDayOverride {
  CivilDay date;
  std::vector<TimeRange> hours;
  friend bool operator==(const WorkingDayOverride&, const WorkingDayOverride&) = default;
};

enum class BuiltinHolidays { kNone, kVietnam };

using WeeklyHours = std::array<std::vector<TimeRange>, 7>;  // [0] = Monday ... [6] = Sunday

struct CalendarSpec {
  std::string timezone = "Asia/Ho_Chi_Minh";
  std::vector<UtcOffsetChange> utc_offsets;  // sorted by `from`; empty means UTC
  WeeklyHours weekly;
  Duration day_length = std::chrono::hours(8);
  std::vector<NamedDay> holidays;  // explicit whole days off
  BuiltinHolidays builtin_holidays = BuiltinHolidays::kNone;
  std::vector<WorkingDayOverride> working_days;  // explicit working days, with their hours
};

// What the calendar does with one year, for `ontimed calendar`.
struct YearView {
  int year = 0;
  std::vector<NamedDay> holidays;                // every holiday date, generated or configured
  std::vector<WorkingDayOverride> working_days;  // every explicit working day
};

class BusinessCalendar {
 public:
  // Covers local dates from first_year-01-01 to last_year-12-31: there is no working time
  // outside, and Add refuses to answer past the table's end (nullopt). Errors
  // ("invalid_calendar"): inverted, out-of-day or overlapping ranges in a weekday or a working
  // day, a working day listed twice, day_length <= 0. Explicit working_days beat every holiday.
  static Result<std::shared_ptr<const BusinessCalendar>> Build(const CalendarSpec& spec,
                                                               int first_year = 1970,
                                                               int last_year = 2200);

  // Working time inside [a, b]; zero when b <= a.
  Duration Between(Instant a, Instant b) const;
  // Between(now, due) when now <= due, else -Between(due, now).
  Duration Remaining(Instant now, Instant due) const;
  // The earliest t' >= t with Between(t, t') == d (d >= 0). Add(t, 0) == t. Nullopt when the
  // table ends before that much working time: the caller turns it into an error, never a clamp.
  std::optional<Instant> Add(Instant t, Duration d) const;
  // The earliest t with Between(t, due) <= d: the instant a dossier due at `due` turns at risk
  // with threshold d (it may be long before any working time, e.g. the previous evening's end).
  Instant EarliestWithRemaining(Instant due, Duration d) const;

  // The end of the table: local (last_year + 1)-01-01 00:00.
  Instant covered_until() const;

  std::chrono::seconds UtcOffsetAt(Instant t) const;
  Duration day_length() const { return day_length_; }
  const std::string& timezone() const { return timezone_; }

  bool IsHoliday(CivilDay day) const;
  YearView DescribeYear(int year) const;

  struct Impl;
  explicit BusinessCalendar(std::unique_ptr<Impl> impl);
  ~BusinessCalendar();

 private:
  std::unique_ptr<Impl> impl_;
  Duration day_length_;
  std::string timezone_;
};

// Vietnamese public holidays of one (Gregorian) year, named, including the compensatory days of
// Labour Code 2019 art. 112 for holidays on a weekly day off (per `weekly`), sorted by date.
std::vector<NamedDay> VietnameseHolidays(int year, const WeeklyHours& weekly);

// Vietnamese lunisolar calendar (Ho Ngoc Duc's published algorithm, UTC+7 by default).
struct LunarDate {
  int day = 1;
  int month = 1;
  int year = 2000;
  bool leap_month = false;
  friend bool operator==(const LunarDate&, const LunarDate&) = default;
};
LunarDate SolarToLunar(CivilDay day, double time_zone_hours = 7.0);
// Returns nullopt-like CivilDay{} only for impossible input; leap_month must match the year.
CivilDay LunarToSolar(const LunarDate& lunar, double time_zone_hours = 7.0);

}  // namespace ontime::rules
