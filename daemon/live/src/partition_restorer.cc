#include "ontime/daemon/partition_restorer.h"

#include <malloc.h>

namespace ontime::daemon {

PartitionRestorer::PartitionRestorer(EventLoop& loop, rules::Engine& engine,
                                     ChangelogReader& reader, BlockingWork& work,
                                     DaemonMetrics& metrics, Logger& log, Hooks hooks)
    : loop_(loop),
      engine_(engine),
      reader_(reader),
      work_(work),
      metrics_(metrics),
      log_(log),
      hooks_(std::move(hooks)) {}

PartitionRestorer::~PartitionRestorer() {
  for (auto& [partition, task] : tasks_) task->cancelled = true;
}

void PartitionRestorer::Restore(int32_t partition) {
  Cancel(partition);
  auto task = std::make_shared<Task>();
  task->began = loop_.clock().Monotonic();
  tasks_[partition] = task;
  log_.Info("restoring a partition from the changelog", {{"partition", std::to_string(partition)}});
  work_.Submit([this, partition, task] { Read(partition, task); },
               [this, partition, task] {
                 if (task->cancelled) return;
                 task->reading = false;
                 if (!task->error.empty()) {
                   tasks_.erase(partition);
                   engine_.DropPartition(partition);
                   if (hooks_.failed) hooks_.failed(partition, task->error);
                   return;
                 }
                 LoadSome(partition, task);
               });
}

// On the worker: the changelog partition to its end, the latest record of each dossier kept.
void PartitionRestorer::Read(int32_t partition, const std::shared_ptr<Task>& task) {
  Status read = reader_.Read(
      partition,
      [&task](std::string_view key, std::optional<std::string_view> value) {
        ++task->read;
        if (value) {
          task->latest.insert_or_assign(std::string(key), std::string(*value));
        } else {
          task->latest.erase(std::string(key));
        }
      },
      [this, &task] { return task->cancelled.load() || work_.stopping(); });
  if (!read.ok()) {
    task->error = read.error().message;
    return;
  }
  // The loading order too, here: a walk over the whole partition's table is no loop turn's work.
  task->order.reserve(task->latest.size());
  for (auto& entry : task->latest) task->order.push_back(&entry);
}

// On the loop: kRecordsPerTurn records into the engine, then the rest in a later turn.
void PartitionRestorer::LoadSome(int32_t partition, const std::shared_ptr<Task>& task) {
  if (task->cancelled) return;
  const size_t end = std::min(task->order.size(), task->loaded + kRecordsPerTurn);
  for (; task->loaded < end; ++task->loaded) {
    auto* entry = task->order[task->loaded];
    if (Status restored = engine_.RestoreDossier(partition, entry->second); !restored.ok()) {
      // A record this version cannot read: the dossier is lost to this instance, loudly.
      ++task->invalid;
      metrics_.CountChangelogInvalid();
      log_.Error("changelog record not restored", {{"partition", std::to_string(partition)},
                                                   {"dossier_id", entry->first},
                                                   {"error", restored.error().message}});
    } else if (hooks_.restored_dossier) {
      hooks_.restored_dossier(entry->first);
    }
    entry->second.clear();
    entry->second.shrink_to_fit();
  }
  if (task->loaded < task->order.size()) {
    loop_.Post([this, partition, task] { LoadSome(partition, task); });
    return;
  }
  const double seconds =
      std::chrono::duration<double>(loop_.clock().Monotonic() - task->began).count();
  metrics_.CountRestored(task->loaded - task->invalid, seconds);
  log_.Info("partition restored",
            {{"partition", std::to_string(partition)},
             {"records_read", std::to_string(task->read.load())},
             {"dossiers", std::to_string(task->loaded - task->invalid)},
             {"invalid", std::to_string(task->invalid)},
             {"seconds", LogSeconds(loop_.clock().Monotonic() - task->began)}});
  tasks_.erase(partition);
  // The read's table goes away on the worker (a few hundred thousand frees), and the memory it
  // held back to the system.
  work_.Submit(
      [held = std::shared_ptr<Task>(task)]() mutable {
        held->order.clear();
        held->latest = {};
        held.reset();
        malloc_trim(0);
      },
      {});
  if (hooks_.restored) hooks_.restored(partition);
}

void PartitionRestorer::Cancel(int32_t partition) {
  Abandon(partition);
  engine_.DropPartition(partition);
}

void PartitionRestorer::Abandon(int32_t partition) {
  auto it = tasks_.find(partition);
  if (it != tasks_.end()) {
    it->second->cancelled = true;
    tasks_.erase(it);
  }
}

std::string PartitionRestorer::Progress() const {
  std::string out;
  for (const auto& [partition, task] : tasks_) {
    if (!out.empty()) out += ", ";
    out += std::to_string(partition) + ": ";
    out += task->reading ? "reading " + std::to_string(task->read.load())
                         : "loading " + std::to_string(task->loaded) + "/" +
                               std::to_string(task->order.size());
  }
  return out;
}

}  // namespace ontime::daemon
