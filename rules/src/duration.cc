#include "ontime/rules/duration.h"

#include <cmath>
#include <cstdint>
#include <limits>

namespace ontime::rules {
namespace {

constexpr int64_t kMaxNumber = int64_t{1} << 40;  // far beyond any SLA, far from overflow

// Reads an unsigned decimal integer at `pos`; false if none or too large.
bool ReadNumber(std::string_view text, size_t& pos, int64_t& out) {
  const size_t start = pos;
  int64_t value = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
    value = value * 10 + (text[pos] - '0');
    if (value > kMaxNumber) return false;
    ++pos;
  }
  out = value;
  return pos > start;
}

bool AddChecked(int64_t& total, int64_t count, int64_t unit_ms) {
  if (count != 0 && unit_ms > std::numeric_limits<int64_t>::max() / count) return false;
  const int64_t part = count * unit_ms;
  if (total > std::numeric_limits<int64_t>::max() - part) return false;
  total += part;
  return true;
}

}  // namespace

std::optional<Duration> ParseDuration(std::string_view text, Duration day_length) {
  if (text == "0") return Duration::zero();
  // Units in descending order, each at most once: d, h, m, s, ms.
  const int64_t unit_ms[] = {day_length.count(), 3'600'000, 60'000, 1000, 1};
  int next_unit = 0;
  int64_t total = 0;
  size_t pos = 0;
  if (text.empty()) return std::nullopt;
  while (pos < text.size()) {
    int64_t number;
    if (!ReadNumber(text, pos, number) || pos >= text.size()) return std::nullopt;
    int unit;
    switch (text[pos]) {
      case 'd': unit = 0; break;
      case 'h': unit = 1; break;
      case 'm': unit = pos + 1 < text.size() && text[pos + 1] == 's' ? 4 : 2; break;
      case 's': unit = 3; break;
      default: return std::nullopt;
    }
    pos += unit == 4 ? 2 : 1;
    if (unit < next_unit) return std::nullopt;
    next_unit = unit + 1;
    if (!AddChecked(total, number, unit_ms[unit])) return std::nullopt;
  }
  return Duration{total};
}

std::string FormatDuration(Duration d, Duration day_length) {
  if (d == Duration::zero()) return "0";
  std::string out;
  int64_t rest = d.count();
  if (rest < 0) {
    out.push_back('-');
    rest = -rest;
  }
  const struct {
    int64_t ms;
    const char* suffix;
  } units[] = {{day_length.count() > 0 ? day_length.count() : 86'400'000, "d"},
               {3'600'000, "h"},
               {60'000, "m"},
               {1000, "s"},
               {1, "ms"}};
  for (const auto& unit : units) {
    const int64_t count = rest / unit.ms;
    if (count == 0) continue;
    out += std::to_string(count);
    out += unit.suffix;
    rest -= count * unit.ms;
  }
  return out;
}

Duration Threshold::Resolve(Duration cycle_budget) const {
  if (!is_percent) return absolute;
  // Exact to the millisecond and rounded down, so that "remaining <= threshold" never holds a
  // fraction of a millisecond early: the percentage in thousandths of a percent. Budgets fit in
  // the calendar's table (under 2^43 ms), so the product stays far inside 64 bits.
  const int64_t thousandths = std::llround(percent * 1000.0);
  const int64_t product = cycle_budget.count() * thousandths;
  int64_t floor = product / 100000;
  if (product % 100000 != 0 && product < 0) --floor;
  return Duration{floor};
}

std::optional<Threshold> ParseThreshold(std::string_view text, Duration day_length) {
  if (!text.empty() && text.back() == '%') {
    // "20%", "12.5%": digits, optionally one '.' followed by digits.
    const std::string_view number = text.substr(0, text.size() - 1);
    double value = 0;
    double scale = 0;  // 0 before the decimal point, then 0.1, 0.01, ...
    size_t digits_before = 0;
    size_t digits_after = 0;
    for (const char c : number) {
      if (c == '.') {
        if (scale != 0 || digits_before == 0) return std::nullopt;
        scale = 0.1;
      } else if (c >= '0' && c <= '9') {
        if (scale == 0) {
          value = value * 10 + (c - '0');
          ++digits_before;
          if (value > 1000) return std::nullopt;
        } else {
          value += (c - '0') * scale;
          scale /= 10;
          ++digits_after;
        }
      } else {
        return std::nullopt;
      }
    }
    if (digits_before == 0 || (scale != 0 && digits_after == 0)) return std::nullopt;
    if (!(value > 0 && value <= 100)) return std::nullopt;
    Threshold threshold;
    threshold.is_percent = true;
    threshold.percent = value;
    return threshold;
  }
  auto duration = ParseDuration(text, day_length);
  if (!duration) return std::nullopt;
  Threshold threshold;
  threshold.absolute = *duration;
  return threshold;
}

}  // namespace ontime::rules
