#pragma once
// A DDSketch-style quantile sketch of working times (Masson, Rim & Lee, VLDB 2019): values fall in
// logarithmic buckets of ratio gamma = (1 + a) / (1 - a), so any quantile it answers lies within
// a relative error a = kRelativeAccuracy of a true value of that rank. Bounded memory whatever
// the number of values: keys are clamped to a fixed range (1 s .. 100 years), at most
// kMaxBuckets. Mergeable exactly (counts add). Integer counts and a fixed order of operations:
// the same values give the same answers on every run. Used by the engine (predicted_late) and its
// tests.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ontime/base/result.h"
#include "ontime/base/time.h"

namespace ontime::rules {

class QuantileSketch {
 public:
  static constexpr double kRelativeAccuracy = 0.01;
  static constexpr int32_t kMaxKey = 1100;  // gamma^1100 s is past 100 years
  static constexpr size_t kMaxBuckets = kMaxKey + 1;

  void Add(Duration value);
  void Merge(const QuantileSketch& other);
  void Clear();

  uint64_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  size_t bucket_count() const { return buckets_.size() + (zero_count_ > 0 ? 1 : 0); }

  // How many values lie above x, at the sketch's resolution: those in buckets above x's bucket
  // (values in x's own bucket count as not above it).
  uint64_t CountAbove(Duration x) const;
  // The q-quantile (0 <= q <= 1) of all values; nullopt when empty.
  std::optional<Duration> Quantile(double q) const;
  // The q-quantile of the values above `floor` (as CountAbove counts them); nullopt when none.
  std::optional<Duration> QuantileAbove(Duration floor, double q) const;

  // Little-endian: u64 zero count, u32 n, n x (u16 key, u64 count). Decode checks every key and
  // count and that the bytes are exactly that.
  void Encode(std::string& out) const;
  static Result<QuantileSketch> Decode(std::string_view bytes);

  bool operator==(const QuantileSketch&) const = default;

  // 0 for values under 1 s (the zero bucket), else ceil(log_gamma(seconds)) + 1, clamped.
  static int32_t Key(Duration value);

 private:
  static Duration Value(int32_t key);  // the bucket's representative value
  // The value of rank `rank` (0-based) among the values counted from bucket `from_key` up.
  Duration ValueAtRank(uint64_t rank, int32_t from_key) const;

  uint64_t zero_count_ = 0;
  uint64_t count_ = 0;
  std::vector<std::pair<int32_t, uint64_t>> buckets_;  // (key >= 1, count > 0), by key
};

}  // namespace ontime::rules
