// The engine's dossier index (rules/src/flat_index.h, white box): it grows without rehashing
// everything at once, so that no single insertion does work in proportion to the state (a
// million dossiers), and it finds, inserts and erases correctly while its entries move.

#include "flat_index.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace ontime::rules {
namespace {

struct Keys {
  std::vector<std::string> ids;
  mutable size_t hashes = 0;  // hash_of calls: the entries one operation moved or shifted
  std::string_view KeyOf(uint32_t v) const { return ids[v]; }
  uint64_t HashOf(uint32_t v) const {
    ++hashes;
    return HashText(ids[v]);
  }
};

TEST(FlatIndexTest, NoInsertionRehashesTheWholeTable) {
  Keys keys;
  FlatIndex index;
  constexpr uint32_t kEntries = 300000;  // grows 1024 -> 1,048,576 slots, ten times
  size_t most = 0;
  size_t grows = 0;
  bool was_growing = false;
  for (uint32_t v = 0; v < kEntries; ++v) {
    keys.ids.push_back("D-" + std::to_string(v));
    keys.hashes = 0;
    index.Insert(v, HashText(keys.ids[v]), [&](uint32_t k) { return keys.HashOf(k); });
    most = std::max(most, keys.hashes);
    if (index.growing() && !was_growing) ++grows;
    was_growing = index.growing();
  }
  EXPECT_EQ(index.size(), kEntries);
  EXPECT_GE(grows, 9u);
  // Each insertion moves at most kMovesPerOperation old slots (the old table held 131,072
  // entries at the last grow: rehashing them at once is what this replaces).
  EXPECT_LE(most, FlatIndex::kMovesPerOperation);
  for (uint32_t v = 0; v < kEntries; v += 7) {
    EXPECT_EQ(
        index.Find(keys.ids[v], HashText(keys.ids[v]), [&](uint32_t k) { return keys.KeyOf(k); }),
        v);
  }
}

// Random insertions and erasures against std::unordered_map, checked after every operation
// for the keys touched and regularly for all: while entries move from the old table, each key
// is found exactly where it is, never where it was erased.
TEST(FlatIndexTest, AgreesWithAMapWhileGrowing) {
  Keys keys;
  FlatIndex index;
  std::unordered_map<std::string, uint32_t> reference;
  std::vector<uint32_t> free_values;
  std::mt19937 random(7);
  const auto key_of = [&](uint32_t k) { return keys.KeyOf(k); };
  const auto hash_of = [&](uint32_t k) { return keys.HashOf(k); };
  size_t growing_checks = 0;
  for (int step = 0; step < 200000; ++step) {
    const bool insert = reference.empty() || random() % 3 != 0;
    if (insert) {
      // A new key, or one erased before (a dossier back after its tombstone).
      const std::string id = "K" + std::to_string(random() % 150000);
      if (reference.contains(id)) continue;
      uint32_t v;
      if (!free_values.empty() && random() % 2 == 0) {
        v = free_values.back();  // a slot reused, as the engine reuses free dossier slots
        free_values.pop_back();
        keys.ids[v] = id;
      } else {
        v = static_cast<uint32_t>(keys.ids.size());
        keys.ids.push_back(id);
      }
      index.Insert(v, HashText(id), hash_of);
      reference[id] = v;
      ASSERT_EQ(index.Find(id, HashText(id), key_of), v);
    } else {
      auto it = reference.begin();
      std::advance(it, random() % std::min<size_t>(reference.size(), 64));
      const std::string id = it->first;
      const uint32_t v = it->second;
      index.Erase(v, HashText(id), hash_of);
      reference.erase(it);
      free_values.push_back(v);
      ASSERT_FALSE(index.Find(id, HashText(id), key_of).has_value()) << id;
    }
    ASSERT_EQ(index.size(), reference.size());
    if (step % 5000 == 0 || (index.growing() && step % 97 == 0)) {
      growing_checks += index.growing();
      for (const auto& [id, v] : reference) {
        ASSERT_EQ(index.Find(id, HashText(id), key_of), v) << id << " at step " << step;
      }
      for (int k = 0; k < 200; ++k) {
        const std::string absent = "absent-" + std::to_string(k);
        ASSERT_FALSE(index.Find(absent, HashText(absent), key_of).has_value());
      }
    }
  }
  EXPECT_GT(growing_checks, 10u) << "the checks ran while entries were moving";
}

}  // namespace
}  // namespace ontime::rules
