#include "ontime/daemon/snapshot_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <ostream>

namespace ontime::daemon {
namespace {

namespace fs = std::filesystem;

class SnapshotStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = fs::temp_directory_path() / ("ontime-snapshot-" + std::to_string(getpid()) + "-" + name);
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(SnapshotStoreTest, NoSnapshotIsNotAnError) {
  SnapshotStore store(dir_.string());
  auto read = store.Read();
  ASSERT_TRUE(read.ok());
  EXPECT_FALSE(read->has_value());
}

TEST_F(SnapshotStoreTest, RoundTripsMetaAndEngineBytes) {
  SnapshotStore store((dir_ / "nested").string());
  SnapshotMeta meta;
  meta.written_at = Instant(Duration(1767225600123));
  meta.input_topic = "dossier.events";
  meta.input_offsets = {{0, 17}, {1, 0}, {2, 123456789012}};
  meta.output_ends["dossier.sla.alerts"] = {{0, 5}, {1, 6}};
  meta.output_ends["dossier.apology-letters"] = {{0, 1}};
  std::string engine("binary\0bytes\nend\n with newlines", 31);
  ASSERT_TRUE(store.Write(meta, [&](std::ostream& out) { out << engine; }).ok());

  auto read = store.Read();
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_TRUE(read->has_value());
  const Snapshot& snap = **read;
  EXPECT_EQ(snap.meta.written_at, meta.written_at);
  EXPECT_EQ(snap.meta.input_topic, meta.input_topic);
  EXPECT_EQ(snap.meta.input_offsets, meta.input_offsets);
  EXPECT_EQ(snap.meta.output_ends, meta.output_ends);
  EXPECT_EQ(snap.engine, engine);
  EXPECT_FALSE(fs::exists(store.path() + ".tmp"));
}

TEST_F(SnapshotStoreTest, OverwriteReplacesTheWholeSnapshot) {
  SnapshotStore store(dir_.string());
  SnapshotMeta meta;
  meta.input_topic = "in";
  meta.input_offsets = {{0, 1}};
  ASSERT_TRUE(store.Write(meta, [](std::ostream& out) { out << std::string(10000, 'x'); }).ok());
  meta.input_offsets = {{0, 2}};
  ASSERT_TRUE(store.Write(meta, [](std::ostream& out) { out << "short"; }).ok());
  auto read = store.Read();
  ASSERT_TRUE(read.ok());
  EXPECT_EQ((*read)->engine, "short");
  EXPECT_EQ((*read)->meta.input_offsets.at(0), 2);
}

TEST_F(SnapshotStoreTest, TruncatedOrForeignFilesAreErrors) {
  SnapshotStore store(dir_.string());
  SnapshotMeta meta;
  meta.input_topic = "in";
  ASSERT_TRUE(store.Write(meta, [](std::ostream& out) { out << "0123456789"; }).ok());
  std::string whole;
  {
    std::ifstream in(store.path(), std::ios::binary);
    whole.assign(std::istreambuf_iterator<char>(in), {});
  }
  {
    std::ofstream out(store.path(), std::ios::binary | std::ios::trunc);
    out << whole.substr(0, whole.size() - 8);
  }
  auto truncated = store.Read();
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().code, "snapshot_corrupt");
  {
    std::ofstream out(store.path(), std::ios::binary | std::ios::trunc);
    out << "something else\n";
  }
  EXPECT_FALSE(store.Read().ok());
}

}  // namespace
}  // namespace ontime::daemon
