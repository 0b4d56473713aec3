#pragma once
// Restore on assignment (the state issue): a partition's dossiers come back from its changelog
// partition before any of its input is processed. The changelog is read on a BlockingWork thread
// (the latest record of each dossier kept, tombstones dropping it, and the order to load them in);
// the records then go into the engine on the loop, kRecordsPerTurn per turn, so that the loop
// never stalls on a large state. With a CheckpointStore, the read starts from the partition's
// local checkpoint (if it may be used; the log says why not) and reads only the changelog's tail
// after it; once loaded, the table read (the partition's latest records up to the end reached) is
// written as the new checkpoint, on the worker.
// Single-threaded on the loop's side.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ontime/base/result.h"
#include "ontime/daemon/blocking_work.h"
#include "ontime/daemon/checkpoint.h"
#include "ontime/daemon/event_loop.h"
#include "ontime/daemon/logging.h"
#include "ontime/daemon/metrics.h"
#include "ontime/rules/engine.h"

namespace ontime::daemon {

// Reads one changelog partition (KafkaChangelogReader in production, a fake in tests).
class ChangelogReader {
 public:
  using Visit = std::function<void(std::string_view key, std::optional<std::string_view> value)>;
  // Read's `from` for the partition's first offset (librdkafka's RD_KAFKA_OFFSET_BEGINNING).
  static constexpr int64_t kBeginning = -2;
  enum class Until {
    kSettled,       // a restore: also waits out an open transaction (another instance's, dying)
    kCommittedEnd,  // a checkpoint's refresh: the end a read_committed consumer sees now
  };
  virtual ~ChangelogReader() = default;
  // Blocking (on the worker): every record of `partition` from `from` (an offset, or kBeginning)
  // to its end as a read_committed consumer sees it; a nullopt value is a tombstone. Returns the
  // end reached (the next offset to read). Stops early, with an error, once `cancelled()` is
  // true; "kafka_offset_out_of_range" when `from` is past the end or before the first offset.
  virtual Result<int64_t> Read(int32_t partition, int64_t from, const Visit& visit,
                               const std::function<bool()>& cancelled, Until until) = 0;
};

class PartitionRestorer {
 public:
  struct Hooks {
    std::function<void(int32_t partition)> restored;  // its state is in the engine: consume it
    std::function<void(int32_t partition, const std::string& error)> failed;
    std::function<void(std::string_view dossier_id)> restored_dossier;  // each, as it goes in
  };
  // Records into the engine per loop turn (each restored and its views seeded: a few
  // microseconds), so that a turn stays within a few milliseconds.
  static constexpr size_t kRecordsPerTurn = 1000;

  PartitionRestorer(EventLoop& loop, rules::Engine& engine, ChangelogReader& reader,
                    BlockingWork& work, DaemonMetrics& metrics, Logger& log, Hooks hooks);
  ~PartitionRestorer();
  // Restores use and write the partitions' checkpoints there (nullptr: none).
  void set_checkpoints(CheckpointStore* checkpoints) { checkpoints_ = checkpoints; }

  // Forgets what the engine holds of `partition` and restores it from its changelog.
  void Restore(int32_t partition);
  // The partition was given away before its restore ended: stop, and drop what was loaded.
  void Cancel(int32_t partition);
  // The process is stopping: stop restoring `partition`, leave the engine as it is.
  void Abandon(int32_t partition);
  size_t restoring() const { return tasks_.size(); }
  bool restoring(int32_t partition) const { return tasks_.contains(partition); }
  // "0: reading 12000, 3: loading 5000/80000" for sd_notify's STATUS=.
  std::string Progress() const;

 private:
  struct Task {
    std::atomic<bool> cancelled{false};
    std::atomic<size_t> read{0};
    std::unordered_map<std::string, std::string> latest;  // filled on the worker
    std::string error;
    std::vector<std::pair<const std::string, std::string>*> order;
    size_t loaded = 0;
    size_t invalid = 0;
    bool reading = true;
    std::chrono::steady_clock::time_point began{};
    Instant began_wall{};  // the checkpoint's age is judged, and the new one dated, by it
    bool from_checkpoint = false;
    uint64_t checkpoint_records = 0;
    int64_t checkpoint_offset = 0;
    std::string checkpoint_unused;  // why the checkpoint was not used
    int64_t end = 0;                // the changelog's offset the read reached
  };

  void Read(int32_t partition, const std::shared_ptr<Task>& task);
  void LoadSome(int32_t partition, const std::shared_ptr<Task>& task);
  void Loaded(int32_t partition, const std::shared_ptr<Task>& task);

  EventLoop& loop_;
  rules::Engine& engine_;
  ChangelogReader& reader_;
  BlockingWork& work_;
  DaemonMetrics& metrics_;
  Logger& log_;
  Hooks hooks_;
  CheckpointStore* checkpoints_ = nullptr;
  std::map<int32_t, std::shared_ptr<Task>> tasks_;
};

}  // namespace ontime::daemon
