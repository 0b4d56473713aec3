#include "ontime/base/time.h"

#include <cstdio>

namespace ontime {
namespace {

bool Digits(std::string_view s, size_t pos, size_t count, int& out) {
  if (pos + count > s.size()) return false;
  int value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  out = value;
  return true;
}

std::optional<CivilDay> MakeDay(int y, int m, int d) {
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return sys_days{ymd};
}

void Append2(std::string& out, int v) {
  out.push_back(static_cast<char>('0' + v / 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

}  // namespace

std::optional<Instant> ParseRfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  int y, mo, d, h, mi, se;
  if (s.size() < 20) return std::nullopt;
  if (!Digits(s, 0, 4, y) || s[4] != '-' || !Digits(s, 5, 2, mo) || s[7] != '-' ||
      !Digits(s, 8, 2, d))
    return std::nullopt;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  if (!Digits(s, 11, 2, h) || s[13] != ':' || !Digits(s, 14, 2, mi) || s[16] != ':' ||
      !Digits(s, 17, 2, se))
    return std::nullopt;
  if (h > 23 || mi > 59 || se > 60) return std::nullopt;
  if (se == 60) se = 59;  // a leap second is held at :59.999 territory; close enough for SLAs
  size_t pos = 19;
  int millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;
  int offset_minutes = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!Digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  auto day = MakeDay(y, mo, d);
  if (!day) return std::nullopt;
  using namespace std::chrono;
  return Instant{*day} + hours{h} + minutes{mi} + seconds{se} + milliseconds{millis} -
         minutes{offset_minutes};
}

void AppendRfc3339(std::string& out, Instant t, std::chrono::seconds utc_offset) {
  using namespace std::chrono;
  Instant local = t + utc_offset;
  sys_days day = floor<days>(local);
  year_month_day ymd{day};
  auto in_day = local - day;
  int64_t ms = in_day.count();
  int hh = static_cast<int>(ms / 3'600'000);
  int mm = static_cast<int>(ms / 60'000 % 60);
  int ss = static_cast<int>(ms / 1000 % 60);
  int frac = static_cast<int>(ms % 1000);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-", static_cast<int>(ymd.year()));
  out += buf;
  Append2(out, static_cast<int>(static_cast<unsigned>(ymd.month())));
  out.push_back('-');
  Append2(out, static_cast<int>(static_cast<unsigned>(ymd.day())));
  out.push_back('T');
  Append2(out, hh);
  out.push_back(':');
  Append2(out, mm);
  out.push_back(':');
  Append2(out, ss);
  if (frac != 0) {
    out.push_back('.');
    out.push_back(static_cast<char>('0' + frac / 100));
    Append2(out, frac % 100);
  }
  int64_t off = utc_offset.count();
  out.push_back(off < 0 ? '-' : '+');
  if (off < 0) off = -off;
  Append2(out, static_cast<int>(off / 3600));
  out.push_back(':');
  Append2(out, static_cast<int>(off / 60 % 60));
}

std::string FormatRfc3339(Instant t, std::chrono::seconds utc_offset) {
  std::string out;
  out.reserve(29);
  AppendRfc3339(out, t, utc_offset);
  return out;
}

std::optional<CivilDay> ParseDate(std::string_view s) {
  int y, m, d;
  if (s.size() != 10 || !Digits(s, 0, 4, y) || s[4] != '-' || !Digits(s, 5, 2, m) || s[7] != '-' ||
      !Digits(s, 8, 2, d))
    return std::nullopt;
  return MakeDay(y, m, d);
}

std::string FormatDate(CivilDay day) {
  std::chrono::year_month_day ymd{day};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

}  // namespace ontime
