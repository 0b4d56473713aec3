#pragma once
// Open-addressing hash tables for the engine's hot lookups: dossier id -> record index, and the
// set of (dossier, event_id) hashes seen. Linear probing, power-of-two capacity, load <= 1/2;
// 4 and 8 bytes a slot instead of a node per entry.

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

// A set of non-zero 64-bit hashes.
class FlatHashSet {
 public:
  // Inserts; returns false when it was there already.
  bool Insert(uint64_t h) {
    if (h == 0) h = 1;
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    if (!Place(h)) return false;
    ++size_;
    return true;
  }
  bool Contains(uint64_t h) const {
    if (h == 0) h = 1;
    if (slots_.empty()) return false;
    size_t mask = slots_.size() - 1;
    for (size_t i = Mix(h) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == 0) return false;
      if (slots_[i] == h) return true;
    }
  }
  size_t size() const { return size_; }
  const std::vector<uint64_t>& slots() const { return slots_; }
  void Clear() {
    slots_.clear();
    size_ = 0;
  }

 private:
  bool Place(uint64_t h) {
    size_t mask = slots_.size() - 1;
    size_t i = Mix(h) & mask;
    while (slots_[i] != 0) {
      if (slots_[i] == h) return false;
      i = (i + 1) & mask;
    }
    slots_[i] = h;
    return true;
  }
  void Grow() {
    std::vector<uint64_t> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, 0);
    for (uint64_t h : old) {
      if (h != 0) Place(h);
    }
  }

  std::vector<uint64_t> slots_;
  size_t size_ = 0;
};

// Append-only storage for dossier ids: one allocation per 1 MiB instead of one per id, and views
// that stay valid as long as the arena.
class IdArena {
 public:
  std::string_view Store(std::string_view text) {
    if (text.size() > kChunk - used_ || chunks_.empty()) {
      chunks_.push_back(std::make_unique<char[]>(std::max(kChunk, text.size())));
      used_ = 0;
    }
    char* at = chunks_.back().get() + used_;
    if (!text.empty()) std::memcpy(at, text.data(), text.size());  // an empty view may be null
    used_ += text.size();
    return {at, text.size()};
  }

 private:
  static constexpr size_t kChunk = 1 << 20;
  std::vector<std::unique_ptr<char[]>> chunks_;
  size_t used_ = 0;
};

}  // namespace ontime::rules
