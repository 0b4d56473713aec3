#pragma once
// The engine's dossier records: an array of fixed blocks of kBlockRecords each, indexed by slot.
// Records never move (views and the timer heap hold slot numbers and ids that point into them),
// and, unlike std::deque (512-byte blocks: two 176-byte records each), a block wastes nothing.
// Single-threaded, like the engine.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace ontime::rules {

template <typename Record>
class RecordStore {
 public:
  static constexpr size_t kBlockRecords = 4096;

  size_t size() const { return size_; }
  Record& operator[](size_t i) { return blocks_[i / kBlockRecords][i % kBlockRecords]; }
  const Record& operator[](size_t i) const { return blocks_[i / kBlockRecords][i % kBlockRecords]; }

  // A default record at the end.
  Record& emplace_back() {
    if (size_ == blocks_.size() * kBlockRecords) {
      blocks_.push_back(std::make_unique<Record[]>(kBlockRecords));
    }
    return (*this)[size_++];
  }
  void clear() {
    blocks_.clear();
    size_ = 0;
  }

  template <typename Store, typename Value>
  class Iterator {
   public:
    Iterator(Store* store, size_t i) : store_(store), i_(i) {}
    Value& operator*() const { return (*store_)[i_]; }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator!=(const Iterator& other) const { return i_ != other.i_; }

   private:
    Store* store_;
    size_t i_;
  };
  Iterator<RecordStore, Record> begin() { return {this, 0}; }
  Iterator<RecordStore, Record> end() { return {this, size_}; }
  Iterator<const RecordStore, const Record> begin() const { return {this, 0}; }
  Iterator<const RecordStore, const Record> end() const { return {this, size_}; }

 private:
  std::vector<std::unique_ptr<Record[]>> blocks_;
  size_t size_ = 0;
};

}  // namespace ontime::rules
