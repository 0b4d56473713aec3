#include "ontime/daemon/changelog_state.h"

namespace ontime::daemon {
namespace {

std::string List(const std::vector<int32_t>& partitions) {
  std::string list;
  for (int32_t p : partitions) list += (list.empty() ? "" : ",") + std::to_string(p);
  return list;
}

}  // namespace

ChangelogState::ChangelogState(EventLoop& loop, rules::Engine& engine, Transactor& transactor,
                               ChangelogReader& reader, BlockingWork& restore_work,
                               DaemonMetrics& metrics, Logger& log, std::string changelog_topic,
                               Hooks hooks)
    : loop_(loop),
      engine_(engine),
      transactor_(transactor),
      metrics_(metrics),
      log_(log),
      topic_(std::move(changelog_topic)),
      hooks_(std::move(hooks)),
      restorer_(loop, engine, reader, restore_work, metrics, log,
                PartitionRestorer::Hooks{[this](int32_t partition) { Restored(partition); },
                                         [this](int32_t partition, const std::string& error) {
                                           if (hooks_.fatal) {
                                             hooks_.fatal("cannot restore partition " +
                                                          std::to_string(partition) + " from " +
                                                          topic_ + ": " + error);
                                           }
                                         },
                                         [this](std::string_view id) {
                                           if (hooks_.restored_dossier) {
                                             hooks_.restored_dossier(id);
                                           }
                                         }}) {}

void ChangelogState::OnAssigned(const std::vector<int32_t>& added) {
  if (added.empty()) return;
  log_.Info("kafka: partitions assigned", {{"partitions", List(added)}});
  for (int32_t p : added) {
    assigned_.insert(p);
    if (hooks_.pause) hooks_.pause(p);
    restorer_.Restore(p);
  }
  UpdateGauges();
}

void ChangelogState::OnRevoked(const std::vector<int32_t>& revoked) {
  if (revoked.empty()) return;
  // What was derived from them so far is committed before they go (cooperative rebalance).
  if (!transactor_.CommitNow()) {
    log_.Warning("kafka: could not commit before giving partitions away",
                 {{"partitions", List(revoked)}});
  }
  if (closing_) {
    size_t kept = 0;
    for (int32_t p : revoked) {
      assigned_.erase(p);
      kept += engine_.dossiers_in(p);
      restorer_.Abandon(p);
      transactor_.ForgetPartition(p);
      if (hooks_.forget) hooks_.forget(p);
    }
    log_.Info("kafka: partitions released at stop",
              {{"partitions", List(revoked)}, {"dossiers", std::to_string(kept)}});
    UpdateGauges();
    return;
  }
  size_t released = 0;
  for (int32_t p : revoked) {
    assigned_.erase(p);
    released += engine_.dossiers_in(p);
    restorer_.Abandon(p);  // a restore under way: what it loaded is released with the rest
    engine_.ReleasePartition(p);
    transactor_.ForgetPartition(p);
    if (hooks_.forget) hooks_.forget(p);
  }
  log_.Info("kafka: partitions revoked",
            {{"partitions", List(revoked)}, {"dossiers_released", std::to_string(released)}});
  UpdateGauges();
  if (released > 0) {
    if (releasing_dossiers_ == 0) release_began_ = loop_.clock().Monotonic();
    releasing_dossiers_ += released;
    FreeReleased();
  }
}

void ChangelogState::FreeReleased() {
  if (freeing_) return;
  freeing_ = true;
  loop_.Post([this] {
    freeing_ = false;
    if (!engine_.DropReleased(kReleaseWorkPerTurn)) {
      FreeReleased();
      return;
    }
    log_.Info("kafka: revoked partitions' dossiers freed",
              {{"dossiers", std::to_string(releasing_dossiers_)},
               {"seconds", LogSeconds(loop_.clock().Monotonic() - release_began_)}});
    releasing_dossiers_ = 0;
  });
}

void ChangelogState::Drop(const std::vector<int32_t>& partitions) {
  for (int32_t p : partitions) {
    if (hooks_.pause) hooks_.pause(p);
    restorer_.Cancel(p);  // drops the engine's dossiers of p
    if (hooks_.forget) hooks_.forget(p);
  }
}

void ChangelogState::Restore(const std::vector<int32_t>& partitions) {
  for (int32_t p : partitions) {
    if (assigned_.contains(p)) restorer_.Restore(p);
  }
  UpdateGauges();
}

size_t ChangelogState::Collect() {
  size_t records = 0;
  engine_.DrainChanges([this, &records](const rules::Engine::DossierChange& c) {
    std::optional<std::string_view> value;
    if (!c.record.empty()) value = c.record;
    Status s = transactor_.ProduceState(topic_, c.partition, c.dossier_id, value);
    if (!s.ok() && hooks_.fatal) {
      hooks_.fatal("producing to " + topic_ + " failed: " + s.error().message);
    }
    ++records;
  });
  return records;
}

void ChangelogState::Restored(int32_t partition) {
  restored_dossiers_ += engine_.dossiers_in(partition);  // restoring is no change to write back
  if (hooks_.restored) hooks_.restored(partition);
  if (hooks_.resume) hooks_.resume(partition);
  UpdateGauges();
}

std::set<int32_t> ChangelogState::restoring_partitions() const {
  std::set<int32_t> restoring;
  for (int32_t p : assigned_) {
    if (restorer_.restoring(p)) restoring.insert(p);
  }
  return restoring;
}

std::set<int32_t> ChangelogState::restored_partitions() const {
  std::set<int32_t> restored;
  for (int32_t p : assigned_) {
    if (!restorer_.restoring(p)) restored.insert(p);
  }
  return restored;
}

void ChangelogState::UpdateGauges() {
  metrics_.SetPartitions(assigned_.size(), restorer_.restoring());
  std::map<int32_t, bool> owned;
  for (int32_t p : assigned_) owned.emplace(p, restorer_.restoring(p));
  metrics_.SetOwnedPartitions(owned);
}

}  // namespace ontime::daemon
