// The letters' store on disk: a letter is written by the store's own thread, and is on disk once
// the barrier handed out before a commit returns; segments that hold no kept letter are deleted
// (nothing is ever rewritten); a reopened store finds the newest `keep` letters, including those
// of the single file an older version wrote.
#include "ontime/daemon/letter_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace ontime::daemon {
namespace {

std::string TempDir() {
  std::string dir = std::filesystem::temp_directory_path() /
                    ("ontime-letters-" + std::to_string(::getpid()) + "-" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string Letter(const std::string& id, const std::string& dossier, int n = 0) {
  return R"({"letter_id":")" + id + R"(","dossier_id":")" + dossier + R"(","n":)" +
         std::to_string(n) + "}";
}

std::string Id(int i) { return "D" + std::to_string(i) + ":apology:1"; }
std::string Dossier(int i) { return "D" + std::to_string(i); }

// The files in `dir`, by name.
std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& item : std::filesystem::directory_iterator(dir)) {
    names.push_back(item.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string Contents(const std::string& path) {
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

TEST(LetterStoreTest, ALetterIsOnDiskOnceTheBarrierReturns) {
  const std::string dir = TempDir();
  auto store = LetterStore::Open(dir + "/letters.jsonl", 100).value();
  store->Put("A:apology:1", "A", Letter("A:apology:1", "A"));
  EXPECT_EQ(store->Find("A:apology:1"), Letter("A:apology:1", "A")) << "found before it is written";
  store->WrittenBarrier()();
  EXPECT_EQ(Files(dir), std::vector<std::string>{"letters.000001.jsonl"});
  EXPECT_EQ(Contents(dir + "/letters.000001.jsonl"), Letter("A:apology:1", "A") + "\n");
  store->Put("B:apology:1", "B", Letter("B:apology:1", "B"));
  std::function<void()> barrier = store->WrittenBarrier();
  store.reset();  // the barrier outlives the store, as on the commit's worker
  barrier();
  EXPECT_EQ(Contents(dir + "/letters.000001.jsonl"),
            Letter("A:apology:1", "A") + "\n" + Letter("B:apology:1", "B") + "\n");
}

TEST(LetterStoreTest, SegmentsWithoutAKeptLetterAreDeletedAndNothingIsRewritten) {
  const std::string dir = TempDir();
  constexpr int kKeep = 4096;  // segments of 1,024 letters
  auto store = LetterStore::Open(dir + "/letters.jsonl", kKeep).value();
  for (int i = 0; i < 3 * kKeep; ++i) store->Put(Id(i), Dossier(i), Letter(Id(i), Dossier(i)));
  store->WrittenBarrier()();
  EXPECT_EQ(store->size(), static_cast<size_t>(kKeep));
  // The newest 4,096 letters fill four segments exactly (9..12); 1..8 hold none of them.
  EXPECT_EQ(Files(dir), (std::vector<std::string>{"letters.000009.jsonl", "letters.000010.jsonl",
                                                  "letters.000011.jsonl", "letters.000012.jsonl"}));
  EXPECT_EQ(store->segments(), 4u);
  EXPECT_FALSE(store->Find(Id(2 * kKeep - 1)).has_value());
  EXPECT_EQ(store->Find(Id(2 * kKeep)), Letter(Id(2 * kKeep), Dossier(2 * kKeep)))
      << "read back from disk";

  // A re-derived letter goes to the newest segment and frees its place in the older one.
  store->Put(Id(2 * kKeep), Dossier(2 * kKeep), Letter(Id(2 * kKeep), Dossier(2 * kKeep), 2));
  store.reset();
  auto reopened = LetterStore::Open(dir + "/letters.jsonl", kKeep).value();
  EXPECT_EQ(reopened->size(), static_cast<size_t>(kKeep));
  EXPECT_EQ(reopened->Find(Id(2 * kKeep)), Letter(Id(2 * kKeep), Dossier(2 * kKeep), 2));
  EXPECT_EQ(reopened->Find(Id(3 * kKeep - 1)), Letter(Id(3 * kKeep - 1), Dossier(3 * kKeep - 1)));
  EXPECT_FALSE(reopened->Find(Id(2 * kKeep - 1)).has_value());
  EXPECT_EQ(reopened->IdsOf(Dossier(2 * kKeep + 5)), std::vector<std::string>{Id(2 * kKeep + 5)});
}

TEST(LetterStoreTest, TheSingleFileOfAnOlderVersionIsReadAndGoesWhenItsLettersDo) {
  const std::string dir = TempDir();
  std::ofstream(dir + "/letters.jsonl")
      << Letter("OLD:apology:1", "OLD") << "\n"
      << Letter("OLD:apology:2", "OLD") << "\n"
      << R"({"letter_id":"TORN:apology:1","dossier)";  // a crash mid-write
  auto store = LetterStore::Open(dir + "/letters.jsonl", 2).value();
  EXPECT_EQ(store->IdsOf("OLD"), (std::vector<std::string>{"OLD:apology:1", "OLD:apology:2"}));
  EXPECT_FALSE(store->Find("TORN:apology:1").has_value());
  EXPECT_EQ(store->Find("OLD:apology:2"), Letter("OLD:apology:2", "OLD"));
  store->Put("NEW:apology:1", "NEW", Letter("NEW:apology:1", "NEW"));
  store->WrittenBarrier()();
  EXPECT_TRUE(std::filesystem::exists(dir + "/letters.jsonl")) << "OLD:apology:2 is still kept";
  store->Put("NEW:apology:2", "NEW", Letter("NEW:apology:2", "NEW"));
  store->WrittenBarrier()();
  EXPECT_EQ(Files(dir), std::vector<std::string>{"letters.000001.jsonl"});
  EXPECT_EQ(store->IdsOf("OLD"), std::vector<std::string>{});
}

TEST(LetterStoreTest, EachStartAppendsToANewSegment) {
  const std::string dir = TempDir();
  {
    auto store = LetterStore::Open(dir + "/letters.jsonl", 100).value();
    store->Put("A:apology:1", "A", Letter("A:apology:1", "A"));
  }
  {
    auto store = LetterStore::Open(dir + "/letters.jsonl", 100).value();
    EXPECT_EQ(Files(dir), std::vector<std::string>{"letters.000001.jsonl"})
        << "nothing created until a letter comes";
    store->Put("B:apology:1", "B", Letter("B:apology:1", "B"));
  }
  EXPECT_EQ(Files(dir), (std::vector<std::string>{"letters.000001.jsonl", "letters.000002.jsonl"}));
  auto store = LetterStore::Open(dir + "/letters.jsonl", 100).value();
  EXPECT_EQ(store->size(), 2u);
  EXPECT_EQ(store->Find("A:apology:1"), Letter("A:apology:1", "A"));
  EXPECT_EQ(store->Find("B:apology:1"), Letter("B:apology:1", "B"));
}

TEST(LetterStoreTest, WithoutAFileEverythingStaysInMemory) {
  auto store = LetterStore::Open("", 2).value();
  store->Put("A:apology:1", "A", Letter("A:apology:1", "A"));
  store->Put("A:apology:2", "A", Letter("A:apology:2", "A"));
  store->Put("B:apology:1", "B", Letter("B:apology:1", "B"));
  store->WrittenBarrier()();
  EXPECT_FALSE(store->Find("A:apology:1").has_value());
  EXPECT_EQ(store->Find("B:apology:1"), Letter("B:apology:1", "B"));
  EXPECT_EQ(store->segments(), 0u);
}

}  // namespace
}  // namespace ontime::daemon
