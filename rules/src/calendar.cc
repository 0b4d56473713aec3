#include "ontime/rules/calendar.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>

#include "vn_holidays.h"

namespace ontime::rules {
namespace {

using std::chrono::days;

constexpr int64_t kMsPerMinute = 60'000;
constexpr int64_t kMsPerDay = 86'400'000;
constexpr int32_t kMinutesPerDay = 1440;

constexpr const char* kWeekdayNames[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

std::string FormatMinute(int32_t minute) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minute / 60, minute % 60);
  return buf;
}

std::string FormatRange(const TimeRange& r) {
  return FormatMinute(r.start_minute) + "-" + FormatMinute(r.end_minute);
}

// Sorts `ranges` and appends a message to `problems` for every inverted, out-of-day or
// overlapping range. Touching ranges (11:30-12:00, 12:00-13:00) are fine.
void CheckRanges(std::vector<TimeRange>& ranges, const std::string& where,
                 std::vector<std::string>& problems) {
  for (const TimeRange& r : ranges) {
    if (r.start_minute < 0 || r.end_minute > kMinutesPerDay || r.start_minute >= r.end_minute) {
      problems.push_back(where + ": invalid range " + std::to_string(r.start_minute) + ".." +
                         std::to_string(r.end_minute) + " minutes (must be inside one day, start " +
                         "before end)");
    }
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const TimeRange& a, const TimeRange& b) { return a.start_minute < b.start_minute; });
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].start_minute < ranges[i - 1].end_minute) {
      problems.push_back(where + ": ranges " + FormatRange(ranges[i - 1]) + " and " +
                         FormatRange(ranges[i]) + " overlap");
    }
  }
}

int WeekdayIndex(CivilDay day) {  // Monday = 0
  return static_cast<int>(std::chrono::weekday{day}.iso_encoding()) - 1;
}

int YearOf(CivilDay day) { return static_cast<int>(std::chrono::year_month_day{day}.year()); }

}  // namespace

struct BusinessCalendar::Impl {
  // Configuration, kept for IsHoliday/DescribeYear outside the table's years.
  WeeklyHours weekly;
  std::vector<NamedDay> holidays;
  BuiltinHolidays builtin = BuiltinHolidays::kNone;
  std::vector<WorkingDayOverride> working_days;  // sorted by date, hours sorted

  // UTC offsets: change instants (ms since epoch) and offsets (ms).
  std::vector<int64_t> offset_from;
  std::vector<int64_t> offset_ms;

  // Local days [first_day, last_day] covered by the table.
  CivilDay first_day;
  CivilDay last_day;
  int first_year = 0;
  int last_year = 0;
  std::vector<uint8_t> holiday_flags;  // per day in the table: a holiday not overridden
  int64_t table_start = 0;             // UTC ms of first_day 00:00 local
  int64_t table_end = 0;               // UTC ms of (last_day + 1) 00:00 local

  // Working intervals in UTC ms, sorted and disjoint; cumulative[i] is the working time before
  // interval i, cumulative[n] the total.
  std::vector<int64_t> starts;
  std::vector<int64_t> ends;
  std::vector<int64_t> cumulative;

  int64_t OffsetAt(int64_t utc_ms) const {
    if (offset_from.empty()) return 0;
    auto it = std::upper_bound(offset_from.begin(), offset_from.end(), utc_ms);
    size_t i = it == offset_from.begin() ? 0 : static_cast<size_t>(it - offset_from.begin()) - 1;
    return offset_ms[i];
  }

  // The UTC instant of a local time, with the offset in force at that instant. In a gap or
  // overlap of a time-zone change the result is one of the candidates; Build keeps the table
  // monotonic whatever it is.
  int64_t LocalToUtc(int64_t local_ms) const {
    const int64_t guess = local_ms - OffsetAt(local_ms);
    return local_ms - OffsetAt(guess);
  }

  const WorkingDayOverride* FindOverride(CivilDay day) const {
    auto it = std::lower_bound(working_days.begin(), working_days.end(), day,
                               [](const WorkingDayOverride& w, CivilDay d) { return w.date < d; });
    return it != working_days.end() && it->date == day ? &*it : nullptr;
  }

  bool ComputeIsHoliday(CivilDay day) const {
    if (FindOverride(day) != nullptr) return false;
    for (const NamedDay& h : holidays) {
      if (h.date == day) return true;
    }
    if (builtin == BuiltinHolidays::kVietnam) {
      std::vector<internal::HolidayDate> generated;
      internal::VietnameseHolidayDates(YearOf(day), weekly, generated);
      for (const internal::HolidayDate& h : generated) {
        if (h.date == day) return true;
      }
    }
    return false;
  }

  // Working time in [table start, t].
  int64_t WorkedUntil(int64_t t) const {
    auto it = std::upper_bound(starts.begin(), starts.end(), t);
    if (it == starts.begin()) return 0;
    const size_t i = static_cast<size_t>(it - starts.begin()) - 1;
    return cumulative[i] + std::min(t, ends[i]) - starts[i];
  }

  // The earliest instant where WorkedUntil reaches `target` (0 < target <= total).
  int64_t InstantReaching(int64_t target) const {
    auto it = std::lower_bound(cumulative.begin() + 1, cumulative.end(), target);
    const size_t i = static_cast<size_t>(it - cumulative.begin()) - 1;
    return starts[i] + (target - cumulative[i]);
  }
};

Result<std::shared_ptr<const BusinessCalendar>> BusinessCalendar::Build(const CalendarSpec& spec,
                                                                        int first_year,
                                                                        int last_year) {
  using namespace std::chrono;
  std::vector<std::string> problems;
  auto impl = std::make_unique<Impl>();

  if (spec.day_length <= Duration::zero()) problems.push_back("day_length must be positive");
  if (first_year > last_year) problems.push_back("calendar years: first year after last year");
  impl->weekly = spec.weekly;
  for (size_t d = 0; d < impl->weekly.size(); ++d) {
    CheckRanges(impl->weekly[d], std::string("working_hours.") + kWeekdayNames[d], problems);
  }
  impl->working_days = spec.working_days;
  for (WorkingDayOverride& w : impl->working_days) {
    CheckRanges(w.hours, "working_days." + FormatDate(w.date), problems);
  }
  std::sort(
      impl->working_days.begin(), impl->working_days.end(),
      [](const WorkingDayOverride& a, const WorkingDayOverride& b) { return a.date < b.date; });
  for (size_t i = 1; i < impl->working_days.size(); ++i) {
    if (impl->working_days[i].date == impl->working_days[i - 1].date) {
      problems.push_back("working_days." + FormatDate(impl->working_days[i].date) +
                         ": listed twice");
    }
  }
  if (!problems.empty()) {
    std::string message;
    for (const std::string& p : problems) {
      if (!message.empty()) message += "; ";
      message += p;
    }
    return Error{"invalid_calendar", message};
  }
  impl->holidays = spec.holidays;
  impl->builtin = spec.builtin_holidays;

  std::vector<UtcOffsetChange> offsets = spec.utc_offsets;
  std::stable_sort(
      offsets.begin(), offsets.end(),
      [](const UtcOffsetChange& a, const UtcOffsetChange& b) { return a.from < b.from; });
  for (const UtcOffsetChange& change : offsets) {
    impl->offset_from.push_back(change.from.time_since_epoch().count());
    impl->offset_ms.push_back(duration_cast<milliseconds>(change.offset).count());
  }

  impl->first_year = first_year;
  impl->last_year = last_year;
  impl->first_day = sys_days{year{first_year} / January / 1};
  impl->last_day = sys_days{year{last_year} / December / 31};
  const int64_t day_count = (impl->last_day - impl->first_day).count() + 1;
  const int64_t first_day_number = impl->first_day.time_since_epoch().count();

  // Whole days off: configured and generated, unless a working day overrides them.
  impl->holiday_flags.assign(static_cast<size_t>(day_count), 0);
  auto mark = [&](CivilDay day) {
    const int64_t index = day.time_since_epoch().count() - first_day_number;
    if (index >= 0 && index < day_count) impl->holiday_flags[static_cast<size_t>(index)] = 1;
  };
  for (const NamedDay& h : impl->holidays) mark(h.date);
  if (impl->builtin == BuiltinHolidays::kVietnam) {
    std::vector<internal::HolidayDate> generated;
    for (int y = first_year; y <= last_year; ++y) {
      generated.clear();
      internal::VietnameseHolidayDates(y, impl->weekly, generated);
      for (const internal::HolidayDate& h : generated) mark(h.date);
    }
  }
  std::vector<const std::vector<TimeRange>*> override_hours(static_cast<size_t>(day_count),
                                                            nullptr);
  for (const WorkingDayOverride& w : impl->working_days) {
    const int64_t index = w.date.time_since_epoch().count() - first_day_number;
    if (index < 0 || index >= day_count) continue;
    override_hours[static_cast<size_t>(index)] = &w.hours;
    impl->holiday_flags[static_cast<size_t>(index)] = 0;
  }

  // The table: every day's working intervals, converted to UTC with the offset in force, kept
  // sorted and disjoint (a time-zone change inside an interval may shorten or merge it).
  size_t max_ranges = 0;
  for (const auto& hours : impl->weekly) max_ranges = std::max(max_ranges, hours.size());
  for (const auto& w : impl->working_days) max_ranges = std::max(max_ranges, w.hours.size());
  impl->starts.resize(max_ranges * static_cast<size_t>(day_count));
  impl->ends.resize(max_ranges * static_cast<size_t>(day_count));
  // Hot loop (tens of thousands of days): plain locals, and the offset looked up per day only
  // when the zone has changes at all, per range only on the day of a change.
  Impl& table = *impl;
  const bool fixed_offset = table.offset_from.size() <= 1;
  const int64_t constant_offset = table.offset_ms.empty() ? 0 : table.offset_ms[0];
  const uint8_t* holiday_flags = table.holiday_flags.data();
  const int64_t first_weekday = WeekdayIndex(table.first_day);
  int64_t last_end = std::numeric_limits<int64_t>::min();
  int64_t* out_starts = table.starts.data();
  int64_t* out_ends = table.ends.data();
  size_t interval_count = 0;
  for (int64_t i = 0; i < day_count; ++i) {
    const std::vector<TimeRange>* hours = override_hours[static_cast<size_t>(i)];
    if (hours == nullptr) {
      if (holiday_flags[i] != 0) continue;
      hours = &table.weekly[static_cast<size_t>((first_weekday + i) % 7)];
    }
    if (hours->empty()) continue;
    const int64_t local_midnight = (first_day_number + i) * kMsPerDay;
    bool change_today = false;
    int64_t offset = constant_offset;
    if (!fixed_offset) {
      const int64_t day_start = table.LocalToUtc(local_midnight);
      const int64_t day_end = table.LocalToUtc(local_midnight + kMsPerDay);
      offset = local_midnight - day_start;
      change_today = day_end - day_start != kMsPerDay;
    }
    for (const TimeRange& r : *hours) {
      const int64_t local_start = local_midnight + r.start_minute * kMsPerMinute;
      const int64_t local_end = local_midnight + r.end_minute * kMsPerMinute;
      int64_t start = change_today ? table.LocalToUtc(local_start) : local_start - offset;
      const int64_t end = change_today ? table.LocalToUtc(local_end) : local_end - offset;
      start = std::max(start, last_end);
      if (end <= start) continue;
      if (start == last_end) {
        out_ends[interval_count - 1] = end;
      } else {
        out_starts[interval_count] = start;
        out_ends[interval_count] = end;
        ++interval_count;
      }
      last_end = end;
    }
  }
  table.starts.resize(interval_count);
  table.ends.resize(interval_count);
  table.starts.shrink_to_fit();
  table.ends.shrink_to_fit();
  table.cumulative.resize(interval_count + 1);
  const int64_t* starts = table.starts.data();
  const int64_t* ends = table.ends.data();
  int64_t* cumulative = table.cumulative.data();
  cumulative[0] = 0;
  for (size_t i = 0; i < interval_count; ++i) {
    cumulative[i + 1] = cumulative[i] + (ends[i] - starts[i]);
  }
  impl->table_start = impl->LocalToUtc(first_day_number * kMsPerDay);
  impl->table_end = impl->LocalToUtc((first_day_number + day_count) * kMsPerDay);

  auto calendar = std::make_shared<BusinessCalendar>(std::move(impl));
  calendar->day_length_ = spec.day_length;
  calendar->timezone_ = spec.timezone;
  return std::shared_ptr<const BusinessCalendar>(std::move(calendar));
}

BusinessCalendar::BusinessCalendar(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BusinessCalendar::~BusinessCalendar() = default;

Duration BusinessCalendar::Between(Instant a, Instant b) const {
  if (b <= a) return Duration::zero();
  return Duration{impl_->WorkedUntil(b.time_since_epoch().count()) -
                  impl_->WorkedUntil(a.time_since_epoch().count())};
}

Duration BusinessCalendar::Remaining(Instant now, Instant due) const {
  return now <= due ? Between(now, due) : -Between(due, now);
}

std::optional<Instant> BusinessCalendar::Add(Instant t, Duration d) const {
  if (d <= Duration::zero()) return t;
  const int64_t worked = impl_->WorkedUntil(t.time_since_epoch().count());
  // Past the table's last working instant the answer is unknown: refuse rather than guess.
  if (d.count() > impl_->cumulative.back() - worked) return std::nullopt;
  return Instant{Duration{impl_->InstantReaching(worked + d.count())}};
}

Instant BusinessCalendar::covered_until() const { return Instant{Duration{impl_->table_end}}; }

Instant BusinessCalendar::EarliestWithRemaining(Instant due, Duration d) const {
  const int64_t worked = impl_->WorkedUntil(due.time_since_epoch().count());
  const int64_t allowed = std::max<int64_t>(d.count(), 0);
  if (allowed >= worked) return std::min(due, Instant{Duration{impl_->table_start}});
  return Instant{Duration{impl_->InstantReaching(worked - allowed)}};
}

std::chrono::seconds BusinessCalendar::UtcOffsetAt(Instant t) const {
  return std::chrono::duration_cast<std::chrono::seconds>(
      Duration{impl_->OffsetAt(t.time_since_epoch().count())});
}

bool BusinessCalendar::IsHoliday(CivilDay day) const {
  if (day >= impl_->first_day && day <= impl_->last_day) {
    return impl_->holiday_flags[static_cast<size_t>((day - impl_->first_day).count())] != 0;
  }
  return impl_->ComputeIsHoliday(day);
}

YearView BusinessCalendar::DescribeYear(int year_number) const {
  YearView view;
  view.year = year_number;
  std::vector<NamedDay> candidates;
  if (impl_->builtin == BuiltinHolidays::kVietnam) {
    candidates = VietnameseHolidays(year_number, impl_->weekly);
  }
  for (const NamedDay& h : impl_->holidays) {
    if (YearOf(h.date) != year_number) continue;
    const bool generated = std::any_of(candidates.begin(), candidates.end(),
                                       [&](const NamedDay& c) { return c.date == h.date; });
    if (!generated) candidates.push_back({h.date, h.name.empty() ? "Holiday" : h.name});
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const NamedDay& a, const NamedDay& b) { return a.date < b.date; });
  for (NamedDay& h : candidates) {
    // A configured working day overrides the holiday: that date is not treated as one.
    if (impl_->FindOverride(h.date) != nullptr) continue;
    if (!view.holidays.empty() && view.holidays.back().date == h.date) continue;
    view.holidays.push_back(std::move(h));
  }
  for (const WorkingDayOverride& w : impl_->working_days) {
    if (YearOf(w.date) == year_number) view.working_days.push_back(w);
  }
  return view;
}

}  // namespace ontime::rules
