#pragma once
// An open-addressing hash table for the engine's hot lookup: dossier id -> record slot. Linear
// probing, power-of-two capacity, load <= 1/2, backward-shift deletion; 4 bytes a slot instead of
// a node per entry. It grows incrementally (as Redis's dict rehashes): the table twice the size is
// taken at once, but the old one's entries move over a few dozen slots per Insert or Erase, so
// that no single insertion rehashes a million dossiers on the event loop.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "ontime/base/check.h"

namespace ontime::rules {

inline uint64_t HashText(std::string_view text) { return std::hash<std::string_view>{}(text); }

inline uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

// Maps keys to uint32 values; the key of a value is given by `key_of(value)`.
class FlatIndex {
 public:
  // Old-table slots moved per Insert or Erase while growing: the old table is empty long before
  // the new one fills (it holds at most half the new one's capacity, and a grow needs as many
  // insertions again as there are entries).
  static constexpr size_t kMovesPerOperation = 64;

  template <typename KeyOf>
  std::optional<uint32_t> Find(std::string_view key, uint64_t hash, const KeyOf& key_of) const {
    if (slots_.size() > 0) {
      const size_t mask = slots_.size() - 1;
      for (size_t i = Mix(hash) & mask;; i = (i + 1) & mask) {
        const uint32_t slot = slots_[i];
        if (slot == 0) break;
        if (key_of(slot - 1) == key) return slot - 1;
      }
    }
    if (old_.size() > 0) {
      // Slots below `moved_` were copied into the new table (their copies here are stale) and
      // erased ones are kGone; both still continue the probe chain.
      const size_t mask = old_.size() - 1;
      for (size_t i = Mix(hash) & mask;; i = (i + 1) & mask) {
        const uint32_t slot = old_[i];
        if (slot == 0) break;
        if (slot == kGone || i < moved_) continue;
        if (key_of(slot - 1) == key) return slot - 1;
      }
    }
    return std::nullopt;
  }

  // Prefetch hints for Find(hash): the home slot of the hash (stage 0), then, once that is in
  // the cache, the first value on its probe chain or kNoValue (the caller prefetches its key).
  void PrefetchSlot(uint64_t hash) const {
    if (slots_.size() > 0) __builtin_prefetch(slots_.data() + (Mix(hash) & (slots_.size() - 1)));
  }
  static constexpr uint32_t kNoValue = 0xFFFFFFFFu;
  uint32_t FirstCandidate(uint64_t hash) const {
    if (slots_.size() == 0) return kNoValue;
    const uint32_t slot = slots_[Mix(hash) & (slots_.size() - 1)];
    return slot == 0 ? kNoValue : slot - 1;
  }

  template <typename HashOf>
  void Insert(uint32_t value, uint64_t hash, const HashOf& hash_of) {
    ONTIME_CHECK(value + 1 < kGone, "FlatIndex value out of range");
    MoveSome(hash_of);
    if ((size_ + 1) * 2 > slots_.size()) Grow(hash_of);
    Place(slots_, value, hash);
    ++size_;
  }

  // Removes `value` (stored under `hash`).
  template <typename HashOf>
  void Erase(uint32_t value, uint64_t hash, const HashOf& hash_of) {
    MoveSome(hash_of);
    if (EraseFromNew(value, hash, hash_of)) {
      --size_;
      return;
    }
    if (old_.size() == 0) return;
    const size_t mask = old_.size() - 1;
    for (size_t i = Mix(hash) & mask; old_[i] != 0; i = (i + 1) & mask) {
      if (old_[i] == value + 1 && i >= moved_) {
        old_[i] = kGone;  // a tombstone keeps the old table's chains whole until it goes
        --size_;
        return;
      }
    }
  }

  size_t size() const { return size_; }
  // True while entries are still moving from the old table (tests).
  bool growing() const { return old_.size() > 0; }
  void Clear() {
    slots_ = {};
    old_ = {};
    moved_ = 0;
    size_ = 0;
  }

 private:
  static constexpr uint32_t kGone = 0xFFFFFFFFu;

  // Zeroed slots from calloc: a large table comes from fresh pages the kernel zeroes as they are
  // first touched, not all at once when the table is taken.
  class Slots {
   public:
    Slots() = default;
    explicit Slots(size_t n)
        : data_(static_cast<uint32_t*>(std::calloc(n, sizeof(uint32_t)))), size_(n) {
      ONTIME_CHECK(data_ != nullptr, "out of memory for the dossier index");
    }
    Slots(Slots&& other) noexcept
        : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)) {}
    Slots& operator=(Slots&& other) noexcept {
      data_ = std::move(other.data_);
      size_ = std::exchange(other.size_, 0);
      return *this;
    }
    size_t size() const { return size_; }
    uint32_t& operator[](size_t i) { return data_.get()[i]; }
    uint32_t operator[](size_t i) const { return data_.get()[i]; }
    const uint32_t* data() const { return data_.get(); }

   private:
    struct Free {
      void operator()(uint32_t* p) const { std::free(p); }
    };
    std::unique_ptr<uint32_t, Free> data_;
    size_t size_ = 0;
  };

  static void Place(Slots& table, uint32_t value, uint64_t hash) {
    const size_t mask = table.size() - 1;
    size_t i = Mix(hash) & mask;
    while (table[i] != 0) i = (i + 1) & mask;
    table[i] = value + 1;
  }

  // Backward-shift deletion in the new table: every probe chain stays whole.
  template <typename HashOf>
  bool EraseFromNew(uint32_t value, uint64_t hash, const HashOf& hash_of) {
    if (slots_.size() == 0) return false;
    const size_t mask = slots_.size() - 1;
    size_t i = Mix(hash) & mask;
    while (slots_[i] != value + 1) {
      if (slots_[i] == 0) return false;  // not there
      i = (i + 1) & mask;
    }
    size_t hole = i;
    for (size_t j = (hole + 1) & mask; slots_[j] != 0; j = (j + 1) & mask) {
      const size_t home = Mix(hash_of(slots_[j] - 1)) & mask;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const bool home_after_hole =
          hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (!home_after_hole) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = 0;
    return true;
  }

  template <typename HashOf>
  void MoveSome(const HashOf& hash_of, size_t slots = kMovesPerOperation) {
    if (old_.size() == 0) return;
    const size_t end = std::min(old_.size(), moved_ + slots);
    for (; moved_ < end; ++moved_) {
      const uint32_t slot = old_[moved_];
      if (slot != 0 && slot != kGone) Place(slots_, slot - 1, hash_of(slot - 1));
    }
    if (moved_ == old_.size()) {
      old_ = {};
      moved_ = 0;
    }
  }

  template <typename HashOf>
  void Grow(const HashOf& hash_of) {
    MoveSome(hash_of, old_.size());  // never two old tables (it does not happen: see above)
    old_ = std::move(slots_);
    moved_ = 0;
    slots_ = Slots(old_.size() == 0 ? 1024 : old_.size() * 2);
  }

  Slots slots_;
  Slots old_;         // the table before the last Grow, while its entries move
  size_t moved_ = 0;  // old_'s slots below this are moved
  size_t size_ = 0;   // entries in both
};

}  // namespace ontime::rules
