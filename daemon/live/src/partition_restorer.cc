#include "ontime/daemon/partition_restorer.h"

#include <malloc.h>

#include <algorithm>

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
  task->began_wall = loop_.clock().Now();
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
                 const std::string p = std::to_string(partition);
                 if (task->from_checkpoint) {
                   log_.Info("partition read from its checkpoint and the changelog's tail",
                             {{"partition", p},
                              {"checkpoint_offset", std::to_string(task->checkpoint_offset)},
                              {"checkpoint_records", std::to_string(task->checkpoint_records)},
                              {"tail_records", std::to_string(task->read.load())},
                              {"end_offset", std::to_string(task->end)}});
                 } else if (checkpoints_) {
                   log_.Info("checkpoint not used: the whole changelog partition read",
                             {{"partition", p}, {"reason", task->checkpoint_unused}});
                 }
                 metrics_.CountRestoreSource(task->from_checkpoint ? "checkpoint" : "changelog");
                 LoadSome(partition, task);
               });
}

// On the worker: the changelog partition to its end, the latest record of each dossier kept.
void PartitionRestorer::Read(int32_t partition, const std::shared_ptr<Task>& task) {
  const auto visit = [&task](std::string_view key, std::optional<std::string_view> value) {
    ++task->read;
    if (value) {
      task->latest.insert_or_assign(std::string(key), std::string(*value));
    } else {
      task->latest.erase(std::string(key));
    }
  };
  const auto cancelled = [this, &task] { return task->cancelled.load() || work_.stopping(); };
  int64_t from = ChangelogReader::kBeginning;
  if (checkpoints_) {
    auto loaded = checkpoints_->Load(partition, task->began_wall,
                                     [&task](std::string_view key, std::string_view value) {
                                       task->latest.emplace(key, value);
                                     });
    if (loaded.ok()) {
      task->from_checkpoint = true;
      task->checkpoint_offset = from = loaded->offset;
      task->checkpoint_records = loaded->records;
    } else {
      task->checkpoint_unused = loaded.error().message;
      task->latest = {};
    }
  }
  auto read = reader_.Read(partition, from, visit, cancelled, ChangelogReader::Until::kSettled);
  if (!read.ok() && task->from_checkpoint && read.error().code == "kafka_offset_out_of_range") {
    // The checkpoint's offset is past the partition's end (the topic made anew) or before its
    // first offset (records deleted): its records may be stale. All of it, then.
    task->checkpoint_unused = "the changelog has no offset " +
                              std::to_string(task->checkpoint_offset) + " any more (" +
                              read.error().message + ")";
    task->from_checkpoint = false;
    task->latest = {};
    task->read = 0;
    read = reader_.Read(partition, ChangelogReader::kBeginning, visit, cancelled,
                        ChangelogReader::Until::kSettled);
  }
  if (!read.ok()) {
    task->error = read.error().message;
    return;
  }
  task->end = *read;
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
    if (!checkpoints_) {  // else kept for the checkpoint, written once all is loaded
      entry->second.clear();
      entry->second.shrink_to_fit();
    }
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
  Loaded(partition, task);
  if (hooks_.restored) hooks_.restored(partition);
}

// On the worker: the read's table written as the partition's checkpoint, if any; then it goes
// away (a few hundred thousand frees), and the memory it held back to the system.
void PartitionRestorer::Loaded(int32_t partition, const std::shared_ptr<Task>& task) {
  auto written = std::make_shared<std::optional<Status>>();
  work_.Submit(
      [held = std::shared_ptr<Task>(task), partition, written, store = checkpoints_]() mutable {
        if (store) {
          std::sort(held->order.begin(), held->order.end(),
                    [](const auto* a, const auto* b) { return a->first < b->first; });
          size_t next = 0;
          store->Lock(partition);
          *written = store->Write(partition, held->end, held->began_wall,
                                  [&](std::string_view& key, std::string_view& value) {
                                    if (next == held->order.size()) return false;
                                    key = held->order[next]->first;
                                    value = held->order[next]->second;
                                    ++next;
                                    return true;
                                  });
          store->Unlock(partition);
        }
        held->order.clear();
        held->latest = {};
        held.reset();
        malloc_trim(0);
      },
      [this, partition, written, end = task->end] {
        if (!written->has_value()) return;
        if ((*written)->ok()) {
          metrics_.CountCheckpointWrite(true);
          log_.Info("checkpoint written",
                    {{"partition", std::to_string(partition)}, {"offset", std::to_string(end)}});
        } else {
          metrics_.CountCheckpointWrite(false);
          log_.Warning("checkpoint not written", {{"partition", std::to_string(partition)},
                                                  {"error", (*written)->error().message}});
        }
      });
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
