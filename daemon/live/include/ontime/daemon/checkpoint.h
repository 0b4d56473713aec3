#pragma once
// A local checkpoint (the state issue; Kafka Streams' .checkpoint files): a locally compacted copy
// of one changelog partition up to an offset E, so that a restore reads the file and only the
// changelog's tail from E. Never built from the engine's memory (a state taken while a
// transaction is open could hold what is later aborted): only from what a read_committed reader
// of the changelog saw.
//
// The file, all integers little-endian:
//   header   "ONTCKPT1" | u32 version | u16 topic length, topic | i32 partition | i64 offset E |
//            i64 created (Unix ms) | u64 records | u32 CRC-32C of the header's bytes before it
//   records  in key order: u32 key length, key | u32 value length, value
//   trailer  "ONTCKEND" | u64 records | u32 CRC-32C of the records' bytes
// Written to a temporary file, fsynced, renamed over the last one: a crash leaves the old file or
// the new one, never half of one. A file that is lost, cut short or corrupt costs only restore
// time: its reader says why, and the caller reads the whole changelog partition instead.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "ontime/base/result.h"
#include "ontime/base/time.h"

namespace ontime::daemon {

struct CheckpointHeader {
  static constexpr uint32_t kVersion = 1;
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;  // E: the changelog partition's records before it are in the file
  Instant created{};   // when the read that reached E began (see CheckpointStore::max_age)
  uint64_t records = 0;
};

// Hands the next record (in strictly increasing key order) and returns true, or returns false at
// the end.
using NextRecord = std::function<bool(std::string_view& key, std::string_view& value)>;
using VisitRecord = std::function<void(std::string_view key, std::string_view value)>;

// Writes `path` atomically (temporary file, fsync, rename, fsync of the folder). The header's
// record count is the count of records `next` hands.
Status WriteCheckpoint(const std::string& path, CheckpointHeader header, const NextRecord& next);

// Reads and checks the header only (its own checksum, not the records').
Result<CheckpointHeader> ReadCheckpointHeader(const std::string& path);

// Reads the whole file, each record to `visit`, and checks both checksums and the counts. On an
// error, some records may have been visited already: the caller drops them.
Result<CheckpointHeader> ReadCheckpoint(const std::string& path, const VisitRecord& visit);

// The changelog's records from the old file's E on, latest per key: a value, or nullopt for a
// tombstone.
using Tail = std::map<std::string, std::optional<std::string>, std::less<>>;

// Streams the merge of `old_path` (checked as it is read) with `tail` into `new_path` (atomically,
// as WriteCheckpoint), with `header`'s topic, partition, offset and created. Memory: the tail.
Result<CheckpointHeader> MergeCheckpoint(const std::string& old_path, const Tail& tail,
                                         CheckpointHeader header, const std::string& new_path);

// The checkpoints of one changelog topic in a folder (`<state_dir>/checkpoints`), one file per
// partition: `<topic>-<partition>.ckpt`. Thread-safe: restores and refreshes of a partition run on
// worker threads, one at a time per partition.
class CheckpointStore {
 public:
  // `max_age`: a checkpoint older than this is not used. It must be at most the changelog topic's
  // delete.retention.ms: compaction may have removed, since, a tombstone written after E (the
  // record it deleted with it), and the checkpoint would bring the dossier back.
  CheckpointStore(std::string folder, std::string topic, Duration max_age);

  const std::string& topic() const { return topic_; }
  Duration max_age() const { return Duration(max_age_.load()); }
  // Once the changelog topic's delete.retention.ms is known (any thread).
  void set_max_age(Duration max_age) { max_age_ = max_age.count(); }
  std::string Path(int32_t partition) const;

  // Loads `partition`'s checkpoint if it may be used at `now`: the records to `visit`, the header
  // returned. Errors (their message says why it was not used): "checkpoint_missing",
  // "checkpoint_invalid" (unreadable, cut short, checksum), "checkpoint_foreign" (another topic or
  // partition, a future version), "checkpoint_too_old".
  Result<CheckpointHeader> Load(int32_t partition, Instant now, const VisitRecord& visit) const;
  // The header of a usable checkpoint (the same checks but the records' checksum).
  Result<CheckpointHeader> Usable(int32_t partition, Instant now) const;

  // Writes `partition`'s checkpoint from a full table (records in key order) read up to `offset`
  // by a read that began at `created`.
  Status Write(int32_t partition, int64_t offset, Instant created, const NextRecord& next) const;
  // Merges the old checkpoint with the changelog's tail read from its offset to `offset`.
  Result<CheckpointHeader> Merge(int32_t partition, const Tail& tail, int64_t offset,
                                 Instant created) const;
  // Removes `partition`'s checkpoint (it could not be merged).
  void Remove(int32_t partition) const;

  // One writer per partition at a time: a refresh that finds it busy gives up (TryLock false).
  bool TryLock(int32_t partition);
  void Lock(int32_t partition);
  void Unlock(int32_t partition);

 private:
  Status CheckUsable(const CheckpointHeader& header, int32_t partition, Instant now) const;

  std::string folder_;
  std::string topic_;
  std::atomic<Duration::rep> max_age_;
  std::mutex mutex_;
  std::condition_variable released_;
  std::map<int32_t, bool> busy_;
};

}  // namespace ontime::daemon
