#pragma once
// Keeps the local checkpoints fresh (the state issue): every `interval`, each partition the caller
// names (the partitions restored here) gets its checkpoint refreshed on a worker thread. A
// refresh reads the changelog's tail from the checkpoint's offset to the end a read_committed
// reader sees now, into a small sorted table, and streams the merge of the old file with it into
// a new one: memory is the tail's, and no loop time. A partition with no usable checkpoint gets
// one from a whole read. The loop only arms the timer and hands the partitions out.
// Single-threaded on the loop's side.

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "ontime/daemon/blocking_work.h"
#include "ontime/daemon/checkpoint.h"
#include "ontime/daemon/event_loop.h"
#include "ontime/daemon/logging.h"
#include "ontime/daemon/metrics.h"
#include "ontime/daemon/partition_restorer.h"

namespace ontime::daemon {

class CheckpointRefresher {
 public:
  using Partitions = std::function<std::set<int32_t>()>;
  CheckpointRefresher(EventLoop& loop, CheckpointStore& store, ChangelogReader& reader,
                      BlockingWork& work, DaemonMetrics& metrics, Logger& log,
                      Partitions partitions);
  ~CheckpointRefresher();

  // Refreshes every `interval` from now (0: never).
  void Start(std::chrono::milliseconds interval);
  void Stop();
  // Hands each partition named to the worker now (those still being refreshed excepted).
  void RefreshNow();
  size_t refreshing() const { return in_flight_.size(); }

  // On the worker: one partition's checkpoint brought up to the changelog's end as of `now`.
  // Returns the new header, or an error ("checkpoint_busy": a restore is writing it).
  static Result<CheckpointHeader> Refresh(CheckpointStore& store, ChangelogReader& reader,
                                          int32_t partition, Instant now,
                                          const std::function<bool()>& cancelled);

 private:
  void Arm();

  EventLoop& loop_;
  CheckpointStore& store_;
  ChangelogReader& reader_;
  BlockingWork& work_;
  DaemonMetrics& metrics_;
  Logger& log_;
  Partitions partitions_;
  std::unique_ptr<Timer> timer_;
  std::chrono::milliseconds interval_{0};
  std::set<int32_t> in_flight_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ontime::daemon
