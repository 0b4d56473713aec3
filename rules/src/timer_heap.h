#pragma once
// The engine's timers: one per record (dossier), kept in a 4-ary min-heap of record indices ordered
// by (timer_at, seq). Each record holds its own position (heap_pos), so scheduling, moving and
// cancelling a timer are O(log n) with no allocation, and the earliest is at the top. Records are
// any type with `Instant timer_at`, `uint32_t seq` and `uint32_t heap_pos` fields. Not thread-safe.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "ontime/base/time.h"

namespace ontime::rules {

inline constexpr Instant kNever = Instant::max();
inline constexpr uint32_t kNotInHeap = std::numeric_limits<uint32_t>::max();

template <typename Record, typename Records>
class TimerHeap {
 public:
  explicit TimerHeap(Records& records) : records_(records) {}

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  // The record whose timer is earliest; only when !empty().
  uint32_t top() const { return heap_.front(); }
  bool scheduled(uint32_t i) const { return records_[i].heap_pos != kNotInHeap; }

  // Sets record i's timer to `at`, scheduling it or moving it.
  void Schedule(uint32_t i, Instant at) {
    Record& r = records_[i];
    const Instant old = r.timer_at;
    r.timer_at = at;
    if (r.heap_pos == kNotInHeap) {
      heap_.push_back(i);
      r.heap_pos = static_cast<uint32_t>(heap_.size() - 1);
      SiftUp(r.heap_pos);
    } else if (at < old) {
      SiftUp(r.heap_pos);
    } else {
      SiftDown(r.heap_pos);
    }
  }

  void Cancel(uint32_t i) {
    Record& r = records_[i];
    r.timer_at = kNever;
    const size_t pos = r.heap_pos;
    if (pos == kNotInHeap) return;
    r.heap_pos = kNotInHeap;
    const uint32_t last = heap_.back();
    heap_.pop_back();
    if (pos == heap_.size()) return;
    Set(pos, last);
    SiftUp(pos);
    SiftDown(records_[last].heap_pos);
  }

  // Forgets every timer (the records' own fields are the caller's to reset).
  void Clear() { heap_.clear(); }

 private:
  bool Earlier(uint32_t a, uint32_t b) const {
    const Record& x = records_[a];
    const Record& y = records_[b];
    return x.timer_at < y.timer_at || (x.timer_at == y.timer_at && x.seq < y.seq);
  }
  void Set(size_t pos, uint32_t i) {
    heap_[pos] = i;
    records_[i].heap_pos = static_cast<uint32_t>(pos);
  }
  void SiftUp(size_t pos) {
    const uint32_t i = heap_[pos];
    while (pos > 0) {
      const size_t parent = (pos - 1) / 4;
      if (!Earlier(i, heap_[parent])) break;
      Set(pos, heap_[parent]);
      pos = parent;
    }
    Set(pos, i);
  }
  void SiftDown(size_t pos) {
    const uint32_t i = heap_[pos];
    for (;;) {
      const size_t first = pos * 4 + 1;
      if (first >= heap_.size()) break;
      size_t best = first;
      const size_t last = std::min(first + 4, heap_.size());
      for (size_t c = first + 1; c < last; ++c) {
        if (Earlier(heap_[c], heap_[best])) best = c;
      }
      if (!Earlier(heap_[best], i)) break;
      Set(pos, heap_[best]);
      pos = best;
    }
    Set(pos, i);
  }

  Records& records_;
  std::vector<uint32_t> heap_;
};

}  // namespace ontime::rules
