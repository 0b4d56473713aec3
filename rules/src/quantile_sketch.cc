#include "ontime/rules/quantile_sketch.h"

#include <algorithm>
#include <cmath>

namespace ontime::rules {
namespace {

constexpr double kGamma =
    (1 + QuantileSketch::kRelativeAccuracy) / (1 - QuantileSketch::kRelativeAccuracy);

void Little(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::optional<uint64_t> ReadLittle(std::string_view bytes, size_t& at, int size) {
  if (bytes.size() - at < static_cast<size_t>(size)) return std::nullopt;
  uint64_t v = 0;
  for (int i = 0; i < size; ++i) {
    v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  }
  at += static_cast<size_t>(size);
  return v;
}

}  // namespace

int32_t QuantileSketch::Key(Duration value) {
  const int64_t ms = value.count();
  if (ms < 1000) return 0;
  const double seconds = static_cast<double>(ms) / 1000.0;
  const double k = std::ceil(std::log(seconds) / std::log(kGamma));
  return static_cast<int32_t>(std::clamp(k, 0.0, static_cast<double>(kMaxKey - 1))) + 1;
}

Duration QuantileSketch::Value(int32_t key) {
  if (key == 0) return Duration::zero();
  // The bucket (gamma^(k-1), gamma^k] s; its representative 2 gamma^k / (gamma + 1) is within a
  // relative error a of every value in it.
  const double seconds = 2.0 * std::pow(kGamma, key - 1) / (kGamma + 1.0);
  return Duration{static_cast<int64_t>(std::llround(seconds * 1000.0))};
}

void QuantileSketch::Add(Duration value) {
  ++count_;
  const int32_t key = Key(value);
  if (key == 0) {
    ++zero_count_;
    return;
  }
  auto it = std::lower_bound(buckets_.begin(), buckets_.end(), key,
                             [](const auto& b, int32_t k) { return b.first < k; });
  if (it != buckets_.end() && it->first == key) {
    ++it->second;
  } else {
    buckets_.insert(it, {key, 1});
  }
}

void QuantileSketch::Merge(const QuantileSketch& other) {
  if (other.empty()) return;
  zero_count_ += other.zero_count_;
  count_ += other.count_;
  std::vector<std::pair<int32_t, uint64_t>> merged;
  merged.reserve(buckets_.size() + other.buckets_.size());
  auto a = buckets_.begin();
  auto b = other.buckets_.begin();
  while (a != buckets_.end() || b != other.buckets_.end()) {
    if (b == other.buckets_.end() || (a != buckets_.end() && a->first < b->first)) {
      merged.push_back(*a++);
    } else if (a == buckets_.end() || b->first < a->first) {
      merged.push_back(*b++);
    } else {
      merged.emplace_back(a->first, a->second + b->second);
      ++a;
      ++b;
    }
  }
  buckets_ = std::move(merged);
}

void QuantileSketch::Clear() { *this = QuantileSketch{}; }

uint64_t QuantileSketch::CountAbove(Duration x) const {
  const int32_t key = Key(x);
  uint64_t above = 0;
  for (auto it = buckets_.rbegin(); it != buckets_.rend() && it->first > key; ++it) {
    above += it->second;
  }
  return above;
}

Duration QuantileSketch::ValueAtRank(uint64_t rank, int32_t from_key) const {
  uint64_t seen = from_key == 0 ? zero_count_ : 0;
  if (rank < seen) return Duration::zero();
  for (const auto& [key, n] : buckets_) {
    if (key < from_key) continue;
    seen += n;
    if (rank < seen) return Value(key);
  }
  return buckets_.empty() ? Duration::zero() : Value(buckets_.back().first);
}

std::optional<Duration> QuantileSketch::Quantile(double q) const {
  if (count_ == 0) return std::nullopt;
  const double clamped = std::clamp(q, 0.0, 1.0);
  const auto rank = static_cast<uint64_t>(clamped * static_cast<double>(count_ - 1));
  return ValueAtRank(rank, 0);
}

std::optional<Duration> QuantileSketch::QuantileAbove(Duration floor, double q) const {
  const uint64_t above = CountAbove(floor);
  if (above == 0) return std::nullopt;
  const double clamped = std::clamp(q, 0.0, 1.0);
  const auto rank = static_cast<uint64_t>(clamped * static_cast<double>(above - 1));
  return ValueAtRank(rank, Key(floor) + 1);
}

void QuantileSketch::Encode(std::string& out) const {
  Little(out, zero_count_, 8);
  Little(out, buckets_.size(), 4);
  for (const auto& [key, n] : buckets_) {
    Little(out, static_cast<uint64_t>(key), 2);
    Little(out, n, 8);
  }
}

Result<QuantileSketch> QuantileSketch::Decode(std::string_view bytes) {
  auto fail = [](const std::string& what) { return Error{"quantile_sketch", what}; };
  size_t at = 0;
  const auto zero = ReadLittle(bytes, at, 8);
  const auto n = ReadLittle(bytes, at, 4);
  if (!zero || !n) return fail("truncated sketch");
  if (*n > kMaxBuckets) return fail("a sketch of " + std::to_string(*n) + " buckets");
  QuantileSketch sketch;
  sketch.zero_count_ = *zero;
  sketch.count_ = *zero;
  int32_t previous = 0;
  for (uint64_t i = 0; i < *n; ++i) {
    const auto key = ReadLittle(bytes, at, 2);
    const auto count = ReadLittle(bytes, at, 8);
    if (!key || !count) return fail("truncated sketch");
    const auto k = static_cast<int32_t>(*key);
    if (k <= previous || k > kMaxKey || *count == 0 || sketch.count_ + *count < sketch.count_) {
      return fail("a sketch bucket out of order or range");
    }
    previous = k;
    sketch.count_ += *count;
    sketch.buckets_.emplace_back(k, *count);
  }
  if (at != bytes.size()) return fail("bytes after the sketch");
  return sketch;
}

}  // namespace ontime::rules
