// Ho Ngoc Duc's Vietnamese lunar calendar algorithm ("Thuat toan tinh am lich",
// https://www.informatik.uni-leipzig.de/~duc/amlich/calrules.html), transcribed function by
// function with the published names in the comments. Julian day numbers are integer day numbers
// (the day starting at local midnight), proleptic Gregorian, which is all ontime needs (>= 1900).

#include <chrono>
#include <cmath>
#include <numbers>

#include "ontime/rules/calendar.h"

namespace ontime::rules {
namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kDr = kPi / 180.0;
constexpr int64_t kJulianDayOfEpoch = 2440588;  // 1970-01-01
constexpr double kSynodicMonth = 29.530588853;
constexpr double kNewMoon1900 = 2415021.076998695;

int64_t Floor(double x) { return static_cast<int64_t>(std::floor(x)); }

// jdFromDate / jdToDate.
int64_t JulianDay(CivilDay day) { return day.time_since_epoch().count() + kJulianDayOfEpoch; }
CivilDay FromJulianDay(int64_t jd) { return CivilDay{std::chrono::days{jd - kJulianDayOfEpoch}}; }

// NewMoon(k): the Julian date (fractional, UTC) of the k-th new moon after 1900-01-01.
double NewMoon(int64_t k) {
  const double kk = static_cast<double>(k);
  const double t = kk / 1236.85;
  const double t2 = t * t;
  const double t3 = t2 * t;
  double jd1 = 2415020.75933 + 29.53058868 * kk + 0.0001178 * t2 - 0.000000155 * t3;
  jd1 += 0.00033 * std::sin((166.56 + 132.87 * t - 0.009173 * t2) * kDr);
  const double m = 359.2242 + 29.10535608 * kk - 0.0000333 * t2 - 0.00000347 * t3;
  const double mpr = 306.0253 + 385.81691806 * kk + 0.0107306 * t2 + 0.00001236 * t3;
  const double f = 21.2964 + 390.67050646 * kk - 0.0016528 * t2 - 0.00000239 * t3;
  double c1 = (0.1734 - 0.000393 * t) * std::sin(m * kDr) + 0.0021 * std::sin(2 * kDr * m);
  c1 = c1 - 0.4068 * std::sin(mpr * kDr) + 0.0161 * std::sin(kDr * 2 * mpr);
  c1 = c1 - 0.0004 * std::sin(kDr * 3 * mpr);
  c1 = c1 + 0.0104 * std::sin(kDr * 2 * f) - 0.0051 * std::sin(kDr * (m + mpr));
  c1 = c1 - 0.0074 * std::sin(kDr * (m - mpr)) + 0.0004 * std::sin(kDr * (2 * f + m));
  c1 = c1 - 0.0004 * std::sin(kDr * (2 * f - m)) - 0.0006 * std::sin(kDr * (2 * f + mpr));
  c1 = c1 + 0.0010 * std::sin(kDr * (2 * f - mpr)) + 0.0005 * std::sin(kDr * (2 * mpr + m));
  double delta_t;
  if (t < -11) {
    delta_t = 0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3;
  } else {
    delta_t = -0.000278 + 0.000265 * t + 0.000262 * t2;
  }
  return jd1 + c1 - delta_t;
}

// SunLongitude(jdn): the sun's longitude in radians, [0, 2*pi).
double SunLongitude(double jdn) {
  const double t = (jdn - 2451545.0) / 36525;
  const double t2 = t * t;
  const double m = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2;
  const double l0 = 280.46645 + 36000.76983 * t + 0.0003032 * t2;
  double dl = (1.914600 - 0.004817 * t - 0.000014 * t2) * std::sin(kDr * m);
  dl = dl + (0.019993 - 0.000101 * t) * std::sin(kDr * 2 * m) + 0.000290 * std::sin(kDr * 3 * m);
  double l = (l0 + dl) * kDr;
  l = l - kPi * 2 * static_cast<double>(Floor(l / (kPi * 2)));
  return l;
}

// getNewMoonDay(k, timeZone): the local day number of the k-th new moon.
int64_t NewMoonDay(int64_t k, double tz) { return Floor(NewMoon(k) + 0.5 + tz / 24.0); }

// getSunLongitude(dayNumber, timeZone): the sun's longitude at the start of the local day, as
// one of 12 sectors (0..11); sector 9 holds the winter solstice.
int SunLongitudeSector(int64_t day_number, double tz) {
  return static_cast<int>(
      Floor(SunLongitude(static_cast<double>(day_number) - 0.5 - tz / 24.0) / kPi * 6));
}

// getLunarMonth11(yy, timeZone): the day number starting the lunar month holding the winter
// solstice of Gregorian year yy (month 11).
int64_t LunarMonth11(int yy, double tz) {
  using namespace std::chrono;
  const int64_t off = JulianDay(sys_days{year{yy} / December / 31}) - 2415021;
  const int64_t k = Floor(static_cast<double>(off) / kSynodicMonth);
  int64_t nm = NewMoonDay(k, tz);
  if (SunLongitudeSector(nm, tz) >= 9) nm = NewMoonDay(k - 1, tz);
  return nm;
}

// getLeapMonthOffset(a11, timeZone): in a 13-month year, the index (from month 11) of the first
// month without a major solar term: the leap month.
int LeapMonthOffset(int64_t a11, double tz) {
  const int64_t k = Floor((static_cast<double>(a11) - kNewMoon1900) / kSynodicMonth + 0.5);
  int last = 0;
  int i = 1;
  int arc = SunLongitudeSector(NewMoonDay(k + i, tz), tz);
  do {
    last = arc;
    ++i;
    arc = SunLongitudeSector(NewMoonDay(k + i, tz), tz);
  } while (arc != last && i < 14);
  return i - 1;
}

}  // namespace

// convertSolar2Lunar.
LunarDate SolarToLunar(CivilDay day, double time_zone_hours) {
  using namespace std::chrono;
  const double tz = time_zone_hours;
  const int yy = static_cast<int>(year_month_day{day}.year());
  const int64_t day_number = JulianDay(day);
  const int64_t k = Floor((static_cast<double>(day_number) - kNewMoon1900) / kSynodicMonth);
  int64_t month_start = NewMoonDay(k + 1, tz);
  if (month_start > day_number) month_start = NewMoonDay(k, tz);
  // Not in the published code: the mean-motion estimate k can be one month late when the true new
  // moon falls more than about a day after the mean one (e.g. 2054-05-07 would get lunar day 0).
  if (month_start > day_number) month_start = NewMoonDay(k - 1, tz);
  int64_t a11 = LunarMonth11(yy, tz);
  int64_t b11 = a11;
  LunarDate lunar;
  if (a11 >= month_start) {
    lunar.year = yy;
    a11 = LunarMonth11(yy - 1, tz);
  } else {
    lunar.year = yy + 1;
    b11 = LunarMonth11(yy + 1, tz);
  }
  lunar.day = static_cast<int>(day_number - month_start + 1);
  const int diff = static_cast<int>(Floor(static_cast<double>(month_start - a11) / 29));
  lunar.month = diff + 11;
  if (b11 - a11 > 365) {
    const int leap_month_diff = LeapMonthOffset(a11, tz);
    if (diff >= leap_month_diff) {
      lunar.month = diff + 10;
      if (diff == leap_month_diff) lunar.leap_month = true;
    }
  }
  if (lunar.month > 12) lunar.month -= 12;
  if (lunar.month >= 11 && diff < 4) lunar.year -= 1;
  return lunar;
}

// convertLunar2Solar.
CivilDay LunarToSolar(const LunarDate& lunar, double time_zone_hours) {
  const double tz = time_zone_hours;
  if (lunar.month < 1 || lunar.month > 12 || lunar.day < 1 || lunar.day > 30) return CivilDay{};
  int64_t a11;
  int64_t b11;
  if (lunar.month < 11) {
    a11 = LunarMonth11(lunar.year - 1, tz);
    b11 = LunarMonth11(lunar.year, tz);
  } else {
    a11 = LunarMonth11(lunar.year, tz);
    b11 = LunarMonth11(lunar.year + 1, tz);
  }
  const int64_t k = Floor(0.5 + (static_cast<double>(a11) - kNewMoon1900) / kSynodicMonth);
  int off = lunar.month - 11;
  if (off < 0) off += 12;
  if (b11 - a11 > 365) {
    const int leap_off = LeapMonthOffset(a11, tz);
    int leap_month = leap_off - 2;
    if (leap_month < 0) leap_month += 12;
    if (lunar.leap_month && lunar.month != leap_month) return CivilDay{};
    if (lunar.leap_month || off >= leap_off) off += 1;
  } else if (lunar.leap_month) {
    return CivilDay{};
  }
  return FromJulianDay(NewMoonDay(k + off, tz) + lunar.day - 1);
}

}  // namespace ontime::rules
