#include "ontime/daemon/time_zone.h"

#include <date/tz.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <optional>
#include <string_view>

namespace ontime::daemon {
namespace {

using std::chrono::seconds;

// One rule of a POSIX TZ string: "M3.5.0/3" (month, week 1..5 with 5 = last, weekday 0 = Sunday),
// "J60" (day 1..365, February 29 never counted) or "59" (day 0..365); /time is local, default 2h.
struct PosixRule {
  char kind = 'M';
  int month = 0;
  int week = 0;
  int weekday = 0;
  int day = 0;
  seconds time = std::chrono::hours(2);
};

// A TZif footer such as "CET-1CEST,M3.5.0,M10.5.0/3": what the zone does after the last
// transition the file lists. Offsets here are east of UTC (POSIX writes them west).
struct PosixTz {
  seconds standard{};
  seconds daylight{};
  PosixRule start;  // daylight time begins, in local standard time
  PosixRule end;    // daylight time ends, in local daylight time
};

class PosixParser {
 public:
  explicit PosixParser(std::string_view text) : text_(text) {}

  // Only zones with daylight saving rules are of interest; anything else gives nullopt.
  std::optional<PosixTz> Parse() {
    PosixTz tz;
    seconds west{};
    if (!Name() || !Time(west)) return std::nullopt;
    tz.standard = -west;
    if (!Name()) return std::nullopt;
    tz.daylight = tz.standard + std::chrono::hours(1);
    if (Peek() != ',' && Time(west)) tz.daylight = -west;
    if (!Eat(',') || !Rule(tz.start) || !Eat(',') || !Rule(tz.end)) return std::nullopt;
    if (pos_ != text_.size()) return std::nullopt;
    return tz;
  }

 private:
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool Eat(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  bool Number(int& out) {
    const size_t start = pos_;
    out = 0;
    while (pos_ < text_.size() && pos_ - start < 4 && text_[pos_] >= '0' && text_[pos_] <= '9') {
      out = out * 10 + (text_[pos_++] - '0');
    }
    return pos_ > start;
  }
  bool Name() {
    if (Eat('<')) {
      const size_t close = text_.find('>', pos_);
      if (close == std::string_view::npos) return false;
      pos_ = close + 1;
      return true;
    }
    const size_t start = pos_;
    while (pos_ < text_.size() && ((text_[pos_] >= 'A' && text_[pos_] <= 'Z') ||
                                   (text_[pos_] >= 'a' && text_[pos_] <= 'z'))) {
      ++pos_;
    }
    return pos_ - start >= 3;
  }
  // [+-]hh[:mm[:ss]]
  bool Time(seconds& out) {
    const bool negative = Eat('-');
    if (!negative) Eat('+');
    int hours = 0;
    int minutes = 0;
    int secs = 0;
    if (!Number(hours)) return false;
    if (Eat(':') && !Number(minutes)) return false;
    if (Eat(':') && !Number(secs)) return false;
    out = seconds(hours * 3600 + minutes * 60 + secs);
    if (negative) out = -out;
    return true;
  }
  bool Rule(PosixRule& rule) {
    if (Eat('M')) {
      rule.kind = 'M';
      if (!Number(rule.month) || !Eat('.') || !Number(rule.week) || !Eat('.') ||
          !Number(rule.weekday)) {
        return false;
      }
      if (rule.month < 1 || rule.month > 12 || rule.week < 1 || rule.week > 5 || rule.weekday > 6) {
        return false;
      }
    } else {
      rule.kind = Eat('J') ? 'J' : 'N';
      if (!Number(rule.day) || rule.day > 365 || (rule.kind == 'J' && rule.day < 1)) return false;
    }
    if (Eat('/') && !Time(rule.time)) return false;
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

date::sys_days RuleDay(const PosixRule& rule, int year) {
  const date::year y{year};
  if (rule.kind == 'J') {
    const int extra = y.is_leap() && rule.day >= 60 ? 1 : 0;
    return date::sys_days{y / 1 / 1} + date::days{rule.day - 1 + extra};
  }
  if (rule.kind == 'N') return date::sys_days{y / 1 / 1} + date::days{rule.day};
  const date::month m{static_cast<unsigned>(rule.month)};
  const date::sys_days first{y / m / 1};
  const int first_weekday = static_cast<int>(date::weekday{first}.c_encoding());
  int day = (rule.weekday - first_weekday + 7) % 7 + (rule.week - 1) * 7;
  const int days_in_month = static_cast<int>(static_cast<unsigned>((y / m / date::last).day()));
  while (day >= days_in_month) day -= 7;
  return first + date::days{day};
}

// The footer of a TZif (version 2+) file: its last line.
std::optional<PosixTz> ReadFooter(const std::string& zone_name) {
  const char* dir = std::getenv("TZDIR");
  std::ifstream in(std::string(dir != nullptr ? dir : "/usr/share/zoneinfo") + "/" + zone_name,
                   std::ios::binary);
  if (!in) return std::nullopt;
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 2 || bytes.back() != '\n') return std::nullopt;
  const size_t newline = bytes.rfind('\n', bytes.size() - 2);
  if (newline == std::string::npos) return std::nullopt;
  return PosixParser(std::string_view(bytes).substr(newline + 1, bytes.size() - newline - 2))
      .Parse();
}

}  // namespace

Result<std::vector<rules::UtcOffsetChange>> LoadUtcOffsets(const std::string& iana_name,
                                                           int first_year, int last_year) {
  std::vector<rules::UtcOffsetChange> changes;
  auto add = [&changes](date::sys_seconds from, seconds offset) {
    // Only the total offset matters; a change of abbreviation or of `save` alone is no change.
    if (changes.empty() || changes.back().offset != offset) {
      changes.push_back({std::chrono::time_point_cast<Duration>(from), offset});
    }
  };
  try {
    // Debian builds date-tz with USE_OS_TZDB: it reads /usr/share/zoneinfo and has no remote API.
    const date::time_zone* zone = date::locate_zone(iana_name);
    const date::sys_seconds begin = date::sys_days{date::year{first_year} / 1 / 1};
    const date::sys_seconds end = date::sys_days{date::year{last_year + 1} / 1 / 1};
    date::sys_seconds t = begin;
    date::sys_info info;
    while (t < end) {
      info = zone->get_info(t);
      add(std::max(info.begin, begin), std::chrono::duration_cast<seconds>(info.offset));
      if (info.end <= t) break;  // defensive: the database must move forward
      t = info.end;
    }
    // The OS reader stops at the last transition the file lists (2037 in "fat" files, earlier in
    // "slim" ones); after it the footer's POSIX rule applies, so summer time goes on.
    if (info.end > end && info.begin < end) {
      if (const auto footer = ReadFooter(zone->name());
          footer && (info.offset == footer->standard || info.offset == footer->daylight)) {
        const int from_year = std::max(
            first_year,
            static_cast<int>(
                date::year_month_day{date::floor<date::days>(std::max(info.begin, begin))}.year()));
        for (int year = from_year; year <= last_year; ++year) {
          std::pair<date::sys_seconds, seconds> year_changes[2] = {
              {RuleDay(footer->start, year) + footer->start.time - footer->standard,
               footer->daylight},
              {RuleDay(footer->end, year) + footer->end.time - footer->daylight, footer->standard}};
          std::sort(std::begin(year_changes), std::end(year_changes));
          for (const auto& [from, offset] : year_changes) {
            if (from > info.begin && from > begin && from < end) add(from, offset);
          }
        }
      }
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
