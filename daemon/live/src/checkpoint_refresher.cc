#include "ontime/daemon/checkpoint_refresher.h"

namespace ontime::daemon {

CheckpointRefresher::CheckpointRefresher(EventLoop& loop, CheckpointStore& store,
                                         ChangelogReader& reader, BlockingWork& work,
                                         DaemonMetrics& metrics, Logger& log, Partitions partitions)
    : loop_(loop),
      store_(store),
      reader_(reader),
      work_(work),
      metrics_(metrics),
      log_(log),
      partitions_(std::move(partitions)),
      timer_(loop.CreateTimer()) {}

CheckpointRefresher::~CheckpointRefresher() { Stop(); }

void CheckpointRefresher::Start(std::chrono::milliseconds interval) {
  interval_ = interval;
  Arm();
}

void CheckpointRefresher::Stop() {
  *alive_ = false;
  timer_->Cancel();
}

void CheckpointRefresher::Arm() {
  if (interval_ <= std::chrono::milliseconds::zero() || !*alive_) return;
  timer_->Arm(interval_, [this] {
    RefreshNow();
    Arm();
  });
}

void CheckpointRefresher::RefreshNow() {
  for (int32_t partition : partitions_()) {
    if (!in_flight_.insert(partition).second) continue;
    auto result = std::make_shared<Result<CheckpointHeader>>(CheckpointHeader{});
    const Instant now = loop_.clock().Now();
    const auto began = loop_.clock().Monotonic();
    work_.Submit(
        [this, partition, result, now, alive = alive_] {
          *result = Refresh(store_, reader_, partition, now,
                            [this, alive] { return !*alive || work_.stopping(); });
        },
        [this, partition, result, began, alive = alive_] {
          if (!*alive) return;
          in_flight_.erase(partition);
          const std::string p = std::to_string(partition);
          if (result->ok()) {
            metrics_.CountCheckpointWrite(true);
            log_.Debug("checkpoint refreshed",
                       {{"partition", p},
                        {"offset", std::to_string((*result)->offset)},
                        {"records", std::to_string((*result)->records)},
                        {"seconds", LogSeconds(loop_.clock().Monotonic() - began)}});
          } else if (result->error().code != "checkpoint_busy" &&
                     result->error().code != "cancelled") {
            metrics_.CountCheckpointWrite(false);
            log_.Warning("checkpoint not refreshed",
                         {{"partition", p}, {"error", result->error().message}});
          }
        });
  }
}

Result<CheckpointHeader> CheckpointRefresher::Refresh(CheckpointStore& store,
                                                      ChangelogReader& reader, int32_t partition,
                                                      Instant now,
                                                      const std::function<bool()>& cancelled) {
  if (!store.TryLock(partition)) {
    return Error{"checkpoint_busy", "a restore is writing this partition's checkpoint"};
  }
  struct Unlock {
    CheckpointStore& store;
    int32_t partition;
    ~Unlock() { store.Unlock(partition); }
  } unlock{store, partition};
  auto usable = store.Usable(partition, now);
  Tail tail;
  const auto visit = [&tail](std::string_view key, std::optional<std::string_view> value) {
    auto [it, inserted] = tail.try_emplace(std::string(key));
    if (value) {
      it->second.emplace(*value);
    } else {
      it->second.reset();
    }
  };
  int64_t from = usable.ok() ? usable->offset : ChangelogReader::kBeginning;
  auto end = reader.Read(partition, from, visit, cancelled, ChangelogReader::Until::kCommittedEnd);
  if (!end.ok() && usable.ok() && end.error().code == "kafka_offset_out_of_range") {
    usable = end.error();  // the old file is of no use: a whole read
    tail.clear();
    end = reader.Read(partition, ChangelogReader::kBeginning, visit, cancelled,
                      ChangelogReader::Until::kCommittedEnd);
  }
  if (!end.ok()) return end.error();
  if (usable.ok()) {
    if (*end == usable->offset && now - usable->created < store.max_age() / 2) {
      return *usable;  // nothing new, and young enough: as it is
    }
    auto merged = store.Merge(partition, tail, *end, now);
    if (merged.ok()) return merged;
    // The old file turned out unreadable halfway: it goes, the next refresh reads it all.
    store.Remove(partition);
    return merged.error();
  }
  auto it = tail.begin();
  if (Status written = store.Write(partition, *end, now,
                                   [&](std::string_view& key, std::string_view& value) {
                                     while (it != tail.end() && !it->second)
                                       ++it;  // tombstones: not kept
                                     if (it == tail.end()) return false;
                                     key = it->first;
                                     value = *it->second;
                                     ++it;
                                     return true;
                                   });
      !written.ok()) {
    return written.error();
  }
  return store.Usable(partition, now);
}

}  // namespace ontime::daemon
