#pragma once
// The engine's state as it lives on Kafka (the state issue): each dossier belongs to the input
// partition its events arrive on, and its compact record goes to the same partition of the
// changelog topic (`<group_id>.dossier-state`, compacted) in the transaction that commits the
// input offsets covering the change; a tombstone when it leaves the state. A partition assigned
// is paused, restored from its changelog partition, then consumed from the group's committed
// offset; a partition revoked is committed and released: its dossiers are gone at once for
// everything observable and freed over later loop turns (kReleaseWorkPerTurn each), so that a
// rebalance giving away millions of dossiers does not stall the loop. Single-threaded, on the loop.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ontime/daemon/blocking_work.h"
#include "ontime/daemon/event_loop.h"
#include "ontime/daemon/logging.h"
#include "ontime/daemon/metrics.h"
#include "ontime/daemon/partition_restorer.h"
#include "ontime/daemon/transactor.h"
#include "ontime/rules/engine.h"

namespace ontime::daemon {

class ChangelogState {
 public:
  struct Hooks {
    std::function<void(int32_t partition)> pause;   // hold its input until it is restored
    std::function<void(int32_t partition)> resume;  // its state is in: consume it
    std::function<void(int32_t partition)> forget;  // given away: the watermark lets it go
    std::function<void(const std::string& why)> fatal;
    std::function<void(int32_t partition)> restored;  // its dossiers are in the engine
    std::function<void(std::string_view dossier_id)> restored_dossier;  // one, as it comes in
  };

  // The engine's DropReleased budget per loop turn: at most 2,048 dossiers freed (about 2 ms),
  // or 65,536 slots looked at.
  static constexpr size_t kReleaseWorkPerTurn = 65536;

  ChangelogState(EventLoop& loop, rules::Engine& engine, Transactor& transactor,
                 ChangelogReader& reader, BlockingWork& restore_work, DaemonMetrics& metrics,
                 Logger& log, std::string changelog_topic, Hooks hooks);

  // Restores use and write local checkpoints there (nullptr: none).
  void set_checkpoints(CheckpointStore* checkpoints) { restorer_.set_checkpoints(checkpoints); }

  // The consumer's rebalance, as it happens (inside its poll, on the loop).
  void OnAssigned(const std::vector<int32_t>& added);
  void OnRevoked(const std::vector<int32_t>& revoked);
  // The daemon is stopping: partitions revoked from now on (the consumer's close) are committed
  // and released, but their dossiers stay in the engine, which dies with the process. Dropping
  // them one by one would cost a walk over the whole state (seconds at 10 M dossiers) for nothing.
  void Close() { closing_ = true; }

  // After an aborted transaction the engine is ahead of what Kafka holds: Drop forgets the
  // partitions' dossiers at once (their input is paused), Restore brings them back from the
  // changelog as committed and then resumes them (the caller has sought their input to the
  // committed offsets meanwhile).
  void Drop(const std::vector<int32_t>& partitions);
  void Restore(const std::vector<int32_t>& partitions);

  // The engine's changes since the last call into the open transaction: one record (or
  // tombstone) per changed dossier. The Transactor's collect hook.
  size_t Collect();

  const std::set<int32_t>& assigned() const { return assigned_; }
  size_t restoring() const { return restorer_.restoring(); }
  // The assigned partitions still being restored, and those restored.
  std::set<int32_t> restoring_partitions() const;
  std::set<int32_t> restored_partitions() const;
  // Every assigned partition is restored (and there is at least one).
  bool restored() const { return !assigned_.empty() && restorer_.restoring() == 0; }
  std::string Progress() const { return restorer_.Progress(); }
  // Dossiers restored since start.
  uint64_t restored_dossiers() const { return restored_dossiers_; }

 private:
  void Restored(int32_t partition);
  void UpdateGauges();
  // Frees the released partitions' dossiers, a turn's budget at a time.
  void FreeReleased();

  EventLoop& loop_;
  rules::Engine& engine_;
  Transactor& transactor_;
  DaemonMetrics& metrics_;
  Logger& log_;
  std::string topic_;
  Hooks hooks_;
  PartitionRestorer restorer_;
  std::set<int32_t> assigned_;
  uint64_t restored_dossiers_ = 0;
  bool closing_ = false;
  bool freeing_ = false;  // a FreeReleased turn is posted
  size_t releasing_dossiers_ = 0;
  std::chrono::steady_clock::time_point release_began_{};
};

}  // namespace ontime::daemon
