#pragma once
// Small helpers shared by the benchmarks: wall and process CPU clocks, /proc/self/status
// readings, best/median summaries and command-line flags. Benchmarks report; they never assert.

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace ontime::bench {

inline double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU time of this process: on a box shared with colleagues it is closer to "one core" than wall.
inline double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Stopwatch {
  double wall0 = WallSeconds();
  double cpu0 = CpuSeconds();
  double wall() const { return WallSeconds() - wall0; }
  double cpu() const { return CpuSeconds() - cpu0; }
};

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM"); 0 when unreadable.
inline int64_t StatusBytes(std::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':') {
      return std::strtoll(line.c_str() + field.size() + 1, nullptr, 10) * 1024;
    }
  }
  return 0;
}

struct Summary {
  double best = 0;
  double median = 0;
  double worst = 0;
};

// For rates: best = the largest value.
inline Summary Summarize(std::vector<double> values, bool higher_is_better) {
  Summary s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  s.median = values.size() % 2 == 1
                 ? values[values.size() / 2]
                 : (values[values.size() / 2 - 1] + values[values.size() / 2]) / 2;
  s.best = higher_is_better ? values.back() : values.front();
  s.worst = higher_is_better ? values.front() : values.back();
  return s;
}

// --name VALUE flags; everything else is an error reported by the caller.
class Flags {
 public:
  Flags(int argc, char** argv) : args_(argv + 1, argv + argc) {}

  bool Has(std::string_view name) const {
    return std::find(args_.begin(), args_.end(), name) != args_.end();
  }
  std::string Get(std::string_view name, std::string fallback) const {
    for (size_t i = 0; i + 1 < args_.size(); ++i) {
      if (args_[i] == name) return std::string(args_[i + 1]);
    }
    return fallback;
  }
  int64_t GetInt(std::string_view name, int64_t fallback) const {
    std::string v = Get(name, "");
    if (v.empty()) return fallback;
    // Accepts 10000000, 10M, 100k.
    char* end = nullptr;
    double x = std::strtod(v.c_str(), &end);
    if (end && (*end == 'k' || *end == 'K')) x *= 1e3;
    if (end && (*end == 'm' || *end == 'M')) x *= 1e6;
    return static_cast<int64_t>(x);
  }

 private:
  std::vector<std::string_view> args_;
};

inline double Mib(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

}  // namespace ontime::bench
