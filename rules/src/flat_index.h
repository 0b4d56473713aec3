#pragma once
// An open-addressing hash table for the engine's hot lookup: dossier id -> record slot. Linear
// probing, power-of-two capacity, load <= 1/2, backward-shift deletion; 4 bytes a slot instead of
// a node per entry.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

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
  template <typename KeyOf>
  std::optional<uint32_t> Find(std::string_view key, uint64_t hash, const KeyOf& key_of) const {
    if (slots_.empty()) return std::nullopt;
    size_t mask = slots_.size() - 1;
    for (size_t i = Mix(hash) & mask;; i = (i + 1) & mask) {
      uint32_t slot = slots_[i];
      if (slot == 0) return std::nullopt;
      if (key_of(slot - 1) == key) return slot - 1;
    }
  }

  template <typename HashOf>
  void Insert(uint32_t value, uint64_t hash, const HashOf& hash_of) {
    if ((size_ + 1) * 2 > slots_.size()) Grow(hash_of);
    Place(value, hash);
    ++size_;
  }

  // Removes `value` (stored under `hash`); backward-shift deletion keeps every probe chain whole.
  template <typename HashOf>
  void Erase(uint32_t value, uint64_t hash, const HashOf& hash_of) {
    if (slots_.empty()) return;
    const size_t mask = slots_.size() - 1;
    size_t i = Mix(hash) & mask;
    while (slots_[i] != value + 1) {
      if (slots_[i] == 0) return;  // not there
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
    --size_;
  }

  size_t size() const { return size_; }
  void Clear() {
    slots_.clear();
    size_ = 0;
  }

 private:
  void Place(uint32_t value, uint64_t hash) {
    size_t mask = slots_.size() - 1;
    size_t i = Mix(hash) & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = value + 1;
  }

  template <typename HashOf>
  void Grow(const HashOf& hash_of) {
    std::vector<uint32_t> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, 0);
    for (uint32_t slot : old) {
      if (slot != 0) Place(slot - 1, hash_of(slot - 1));
    }
  }

  std::vector<uint32_t> slots_;
  size_t size_ = 0;
};

}  // namespace ontime::rules
