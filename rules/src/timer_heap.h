#pragma once
// The engine's timers: one per record (dossier), kept in a 4-ary min-heap ordered by
// (instant, seq). Each entry carries its own key, so that sifting compares entries side by side
// instead of loading every child's record (a cache miss each with a million dossiers); each record
// holds its entry's position (heap_pos), so scheduling, moving and cancelling a timer are O(log n)
// with no allocation, and the earliest is at the top. Records are any type with `uint32_t seq` and
// `uint32_t heap_pos` fields, in a container indexed by record number. Not thread-safe.

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
  // The record whose timer is earliest, and that timer's instant; only when !empty().
  uint32_t top() const { return heap_.front().record; }
  Instant top_at() const { return heap_.front().at; }
  bool scheduled(uint32_t i) const { return records_[i].heap_pos != kNotInHeap; }
  // Record i's timer; kNever when it has none.
  Instant at(uint32_t i) const {
    const uint32_t pos = records_[i].heap_pos;
    return pos == kNotInHeap ? kNever : heap_[pos].at;
  }

  // Sets record i's timer to `at`, scheduling it or moving it.
  void Schedule(uint32_t i, Instant at) {
    Record& r = records_[i];
    if (r.heap_pos == kNotInHeap) {
      heap_.push_back({at, r.seq, i});
      r.heap_pos = static_cast<uint32_t>(heap_.size() - 1);
      SiftUp(r.heap_pos);
      return;
    }
    Entry& entry = heap_[r.heap_pos];
    const Instant old = entry.at;
    entry.at = at;
    entry.seq = r.seq;
    if (at < old) {
      SiftUp(r.heap_pos);
    } else {
      SiftDown(r.heap_pos);
    }
  }

  void Cancel(uint32_t i) {
    Record& r = records_[i];
    const size_t pos = r.heap_pos;
    if (pos == kNotInHeap) return;
    r.heap_pos = kNotInHeap;
    const Entry last = heap_.back();
    heap_.pop_back();
    if (pos == heap_.size()) return;
    Set(pos, last);
    SiftUp(pos);
    SiftDown(records_[last.record].heap_pos);
  }

  // Forgets every timer (the records' own fields are the caller's to reset).
  void Clear() { heap_.clear(); }

 private:
  struct Entry {
    Instant at;
    uint32_t seq;  // the record's: ties between timers of the same instant
    uint32_t record;
  };
  static bool Earlier(const Entry& x, const Entry& y) {
    return x.at < y.at || (x.at == y.at && x.seq < y.seq);
  }
  void Set(size_t pos, const Entry& entry) {
    heap_[pos] = entry;
    records_[entry.record].heap_pos = static_cast<uint32_t>(pos);
  }
  void SiftUp(size_t pos) {
    const Entry entry = heap_[pos];
    while (pos > 0) {
      const size_t parent = (pos - 1) / 4;
      if (!Earlier(entry, heap_[parent])) break;
      Set(pos, heap_[parent]);
      pos = parent;
    }
    Set(pos, entry);
  }
  void SiftDown(size_t pos) {
    const Entry entry = heap_[pos];
    for (;;) {
      const size_t first = pos * 4 + 1;
      if (first >= heap_.size()) break;
      size_t best = first;
      const size_t last = std::min(first + 4, heap_.size());
      for (size_t c = first + 1; c < last; ++c) {
        if (Earlier(heap_[c], heap_[best])) best = c;
      }
      if (!Earlier(heap_[best], entry)) break;
      Set(pos, heap_[best]);
      pos = best;
    }
    Set(pos, entry);
  }

  Records& records_;
  std::vector<Entry> heap_;
};

}  // namespace ontime::rules
