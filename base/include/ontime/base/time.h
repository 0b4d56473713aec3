#pragma once
// Instants and durations as ontime uses them everywhere: UTC milliseconds since the Unix epoch.
// RFC 3339 parsing keeps the millisecond exactly (further digits are truncated); formatting takes
// the UTC offset to print, which the calendar's time zone decides.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ontime {

using Duration = std::chrono::milliseconds;
using Instant = std::chrono::sys_time<Duration>;

// Days since 1970-01-01 of a civil date (proleptic Gregorian).
using CivilDay = std::chrono::sys_days;

// Parses "2026-03-02T09:00:00+07:00", "2026-03-02T02:00:00.125Z", lower-case t/z too.
// An offset is required (RFC 3339). Returns nullopt on anything malformed.
std::optional<Instant> ParseRfc3339(std::string_view text);

// Formats `t` as RFC 3339 at the given UTC offset: "2026-03-02T09:00:00+07:00", with ".sss" only
// when the millisecond part is not zero, and "Z" never (an offset of 0 prints "+00:00").
std::string FormatRfc3339(Instant t, std::chrono::seconds utc_offset);
void AppendRfc3339(std::string& out, Instant t, std::chrono::seconds utc_offset);

// Parses "2026-05-09" into a civil day.
std::optional<CivilDay> ParseDate(std::string_view text);
std::string FormatDate(CivilDay day);

}  // namespace ontime
