// The local checkpoint file: what is written reads back; a file cut short, corrupt, of another
// partition or too old is refused with its reason; a refresh's merge applies the changelog's tail
// (changed records, new ones, tombstones) to the old file.

#include "ontime/daemon/checkpoint.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace ontime::daemon {
namespace {

using namespace std::chrono_literals;

const Instant kT0 = Instant(std::chrono::duration_cast<Duration>(std::chrono::hours(24 * 20500)));

using Records = std::map<std::string, std::string>;

NextRecord From(const Records& records) {
  auto it = std::make_shared<Records::const_iterator>(records.begin());
  return [it, &records](std::string_view& key, std::string_view& value) {
    if (*it == records.end()) return false;
    key = (*it)->first;
    value = (*it)->second;
    ++*it;
    return true;
  };
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::filesystem::temp_directory_path() /
              ("ontime-checkpoint-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(folder_);
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }

  Result<CheckpointHeader> Load(CheckpointStore& store, int32_t partition, Instant now,
                                Records& out) {
    out.clear();
    return store.Load(partition, now, [&out](std::string_view key, std::string_view value) {
      out.emplace(key, value);
    });
  }
  void Corrupt(const std::string& path, std::streamoff from_end, char byte) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-from_end, std::ios::end);
    f.put(byte);
  }

  std::filesystem::path folder_;
  const Records records_ = {
      {"D-1", std::string("\x01\x02state one", 11)}, {"D-2", ""}, {"D-3", std::string(5000, 'x')}};
};

TEST_F(CheckpointTest, WhatIsWrittenReadsBackWithItsHeader) {
  CheckpointStore store(folder_.string(), "g.dossier-state", 24h);
  ASSERT_TRUE(store.Write(4, 1234, kT0, From(records_)).ok());
  EXPECT_EQ(store.Path(4), (folder_ / "g.dossier-state-4.ckpt").string());
  EXPECT_FALSE(std::filesystem::exists(store.Path(4) + ".tmp")) << "renamed into place";

  Records read;
  auto header = Load(store, 4, kT0 + 1h, read);
  ASSERT_TRUE(header.ok()) << header.error().message;
  EXPECT_EQ(header->topic, "g.dossier-state");
  EXPECT_EQ(header->partition, 4);
  EXPECT_EQ(header->offset, 1234);
  EXPECT_EQ(header->created, kT0);
  EXPECT_EQ(header->records, 3u);
  EXPECT_EQ(read, records_);

  // An empty partition's checkpoint is a valid one.
  ASSERT_TRUE(store.Write(5, 0, kT0, From({})).ok());
  header = Load(store, 5, kT0, read);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->records, 0u);
  EXPECT_TRUE(read.empty());
}

TEST_F(CheckpointTest, AMissingCutShortCorruptForeignOrOldCheckpointIsRefusedWithItsReason) {
  CheckpointStore store(folder_.string(), "g.dossier-state", 24h);
  Records read;
  auto missing = Load(store, 0, kT0, read);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "checkpoint_missing");

  ASSERT_TRUE(store.Write(0, 10, kT0, From(records_)).ok());
  const auto size = std::filesystem::file_size(store.Path(0));
  std::filesystem::resize_file(store.Path(0), size - 30);
  auto cut = Load(store, 0, kT0, read);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().code, "checkpoint_invalid");
  EXPECT_NE(cut.error().message.find("cut short"), std::string::npos) << cut.error().message;

  ASSERT_TRUE(store.Write(0, 10, kT0, From(records_)).ok());
  Corrupt(store.Path(0), 100, 'y');  // inside D-3's value
  auto corrupt = Load(store, 0, kT0, read);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.error().message, store.Path(0) + ": records checksum mismatch");

  ASSERT_TRUE(store.Write(0, 10, kT0, From(records_)).ok());
  {
    std::fstream f(store.Path(0), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);  // inside the topic's name
    f.put('X');
  }
  auto header_corrupt = Load(store, 0, kT0, read);
  ASSERT_FALSE(header_corrupt.ok());
  EXPECT_EQ(header_corrupt.error().message, store.Path(0) + ": header checksum mismatch");

  // Another partition's file where this one's should be; another topic's.
  ASSERT_TRUE(store.Write(1, 10, kT0, From(records_)).ok());
  std::filesystem::rename(store.Path(1), store.Path(0));
  auto other_partition = Load(store, 0, kT0, read);
  ASSERT_FALSE(other_partition.ok());
  EXPECT_EQ(other_partition.error().code, "checkpoint_foreign");
  EXPECT_EQ(other_partition.error().message, "it is of g.dossier-state[1], not g.dossier-state[0]");
  CheckpointStore other_topic(folder_.string(), "other.dossier-state", 24h);
  ASSERT_TRUE(other_topic.Write(0, 10, kT0, From(records_)).ok());
  std::filesystem::rename(other_topic.Path(0), store.Path(0));
  EXPECT_EQ(Load(store, 0, kT0, read).error().code, "checkpoint_foreign");
  { std::ofstream(store.Path(0)) << "not a checkpoint at all"; }
  EXPECT_EQ(Load(store, 0, kT0, read).error().code, "checkpoint_foreign");

  // As old as the changelog keeps its tombstones: no longer safe.
  ASSERT_TRUE(store.Write(0, 10, kT0, From(records_)).ok());
  EXPECT_TRUE(Load(store, 0, kT0 + 24h - 1s, read).ok());
  auto old = Load(store, 0, kT0 + 24h, read);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().code, "checkpoint_too_old");
  EXPECT_EQ(old.error().message,
            "it is 86400 s old, the changelog's tombstones are kept 86400 s "
            "(delete.retention.ms): one may be gone since");
  store.set_max_age(48h);
  EXPECT_TRUE(Load(store, 0, kT0 + 24h, read).ok());
}

TEST_F(CheckpointTest, AMergeAppliesTheTailsChangesNewRecordsAndTombstones) {
  CheckpointStore store(folder_.string(), "g.dossier-state", 24h);
  ASSERT_TRUE(store.Write(2, 100, kT0, From(records_)).ok());
  const Tail tail = {{"A-0", "before all"},  // new, first in order
                     {"D-2", "changed"},
                     {"D-3", std::nullopt},  // left the state
                     {"D-9", "new, last"},
                     {"D-5", std::nullopt}};  // came and left within the tail
  auto merged = store.Merge(2, tail, 180, kT0 + 5min);
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_EQ(merged->offset, 180);
  EXPECT_EQ(merged->records, 4u);
  Records read;
  auto header = Load(store, 2, kT0 + 5min, read);
  ASSERT_TRUE(header.ok()) << header.error().message;
  EXPECT_EQ(header->offset, 180);
  EXPECT_EQ(header->created, kT0 + 5min);
  EXPECT_EQ(read, (Records{{"A-0", "before all"},
                           {"D-1", std::string("\x01\x02state one", 11)},
                           {"D-2", "changed"},
                           {"D-9", "new, last"}}));
}

TEST_F(CheckpointTest, AMergeOfACorruptOldFileFailsAndLeavesNoNewFile) {
  CheckpointStore store(folder_.string(), "g.dossier-state", 24h);
  ASSERT_TRUE(store.Write(0, 100, kT0, From(records_)).ok());
  Corrupt(store.Path(0), 100, 'y');
  auto merged = store.Merge(0, Tail{{"D-4", "x"}}, 120, kT0);
  ASSERT_FALSE(merged.ok());
  EXPECT_NE(merged.error().message.find("records checksum mismatch"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(store.Path(0) + ".tmp"));
  auto header = ReadCheckpointHeader(store.Path(0));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->offset, 100) << "the old file, untouched";
}

}  // namespace
}  // namespace ontime::daemon
