// The engine's state as the live daemon keeps it on Kafka: dossier records per input partition
// (the changelog), restored on assignment, dropped on revocation, and closed dossiers leaving
// after the retention.

#include <algorithm>

#include "dossier_record.h"
#include "engine_state.h"

namespace ontime::rules {

void Engine::set_retention(std::optional<Duration> closed) {
  State& s = *state_;
  s.retention = closed;
  for (uint32_t i = 0; i < s.dossiers.size(); ++i) {
    if (s.dossiers[i].in_use() && !s.dossiers[i].open()) s.Reschedule(i);
  }
}

void Engine::TrackChanges(bool on) {
  State& s = *state_;
  s.track_changes = on;
  if (on) return;
  for (auto [i, seq] : s.changed) {
    if (s.dossiers[i].seq == seq) s.dossiers[i].changed = false;
  }
  s.changed.clear();
  s.removed.clear();
  s.history_changed.clear();
}

size_t Engine::changes_pending() const {
  return state_->changed.size() + state_->removed.size() + state_->history_changed.size();
}

void Engine::DrainChanges(const std::function<void(const DossierChange&)>& visit) {
  State& s = *state_;
  for (const auto& [partition, id] : s.removed) visit({partition, id, {}});
  s.removed.clear();
  for (auto [i, seq] : s.changed) {
    Dossier& d = s.dossiers[i];
    if (!d.in_use() || d.seq != seq || !d.changed) continue;  // left, or its slot reused since
    d.changed = false;
    if (s.Released(d)) continue;  // given away: its new owner writes it from now on
    s.record_buffer.clear();
    EncodeDossierRecord(d, *s.rules, s.record_buffer);
    visit({d.partition, d.id(), s.record_buffer});
  }
  s.changed.clear();
  std::string key;
  for (auto [partition, slot] : s.history_changed) {
    const auto [procedure, department] = s.SlotKey(slot);
    key.assign(kHistoryKeyPrefix);
    key.append(s.rules->procedure(procedure).code);
    if (department != State::kAnyDepartment) {
      key.append(kHistoryKeySeparator);
      key.append(s.rules->department(department).code);
    }
    s.record_buffer.clear();
    s.EncodeHistory(slot, partition, s.record_buffer);
    visit({partition, key, s.record_buffer});
  }
  s.history_changed.clear();
}

Status Engine::RestoreDossier(int32_t partition, std::string_view record) {
  State& s = *state_;
  if (!record.empty() && static_cast<uint8_t>(record[0]) == kHistoryRecordFormat) {
    return s.RestoreHistory(partition, record);
  }
  Dossier restored;
  if (Status decoded = DecodeDossierRecord(record, *s.rules, restored); !decoded.ok()) {
    return decoded;
  }
  if (auto existing = s.FindHeld(restored.id())) s.FreeDossier(*existing);
  const uint32_t i = s.NewDossier(restored.id(), restored.text.applicant(), partition);
  Dossier& d = s.dossiers[i];
  // Everything but what NewDossier set: the slot's text (the id), seq and partition.
  restored.text = std::move(d.text);
  restored.seq = d.seq;
  restored.partition = partition;
  restored.heap_pos = kNotInHeap;
  d = std::move(restored);
  if (d.open()) ++s.open_counts[d.holder][static_cast<int>(d.open_state)];
  s.CountPredicted(d, +1);
  s.Reschedule(i);
  Instant latest = std::max({d.accepted_at, d.run_since, d.open() ? d.accepted_at : d.closed_at});
  Instant& partition_clock = s.PartitionClock(partition);
  partition_clock = std::max(partition_clock, latest);
  return Ok{};
}

void Engine::ForgetDossier(std::string_view dossier_id) {
  State& s = *state_;
  if (auto i = s.FindIndex(dossier_id)) s.FreeDossier(*i);
}

size_t Engine::DropPartition(int32_t partition) {
  State& s = *state_;
  size_t dropped = 0;
  // A partition newly assigned holds nothing: no walk over the other partitions' dossiers.
  for (uint32_t i = 0; i < s.dossiers.size() && s.PartitionSize(partition) > 0; ++i) {
    if (s.dossiers[i].in_use() && s.dossiers[i].partition == partition) {
      s.FreeDossier(i);  // the partition's last one ends its release, if it was released
      ++dropped;
    }
  }
  s.ForgetPartitionExtras(partition);
  return dropped;
}

void Engine::ReleasePartition(int32_t partition) {
  State& s = *state_;
  s.ForgetPartitionExtras(partition);
  if (s.PartitionSize(partition) == 0 || s.Released(partition)) return;
  const size_t p = static_cast<size_t>(partition);
  if (p >= s.released.size()) s.released.resize(p + 1, 0);
  s.released[p] = 1;
  ++s.releasing;
  s.release_cursor = 0;  // its dossiers lie anywhere, also behind a release under way
}

bool Engine::DropReleased(size_t budget) {
  State& s = *state_;
  while (s.releasing > 0 && budget > 0) {
    if (s.release_cursor >= s.dossiers.size()) {
      // Every slot looked at since the last release began: none of theirs can be left.
      std::fill(s.released.begin(), s.released.end(), 0);
      s.releasing = 0;
      s.release_cursor = 0;
      break;
    }
    const uint32_t i = s.release_cursor++;
    --budget;
    if (s.dossiers[i].in_use() && s.Released(s.dossiers[i])) {
      s.FreeDossier(i);
      budget -= std::min(budget, kFreeCost);
    }
  }
  return s.releasing == 0;
}

bool Engine::releasing() const { return state_->releasing > 0; }

void Engine::State::ForgetPartitionExtras(int32_t partition) {
  std::erase_if(removed, [partition](const auto& r) { return r.first == partition; });
  std::erase_if(history_changed, [partition](const auto& c) { return c.first == partition; });
  std::erase_if(pending_closes, [partition](const auto& c) { return c.partition == partition; });
  const size_t p = static_cast<size_t>(std::max(partition, 0));
  for (History& h : history) {
    if (p < h.by_partition.size() && !h.by_partition[p].empty()) {
      h.by_partition[p].Clear();
      h.stale = true;
    }
  }
  if (p < partition_clocks.size()) PartitionClock(partition) = kEarliestEventTime;
}

size_t Engine::dossiers_in(int32_t partition) const {
  const State& s = *state_;
  const size_t p = static_cast<size_t>(std::clamp(partition, 0, (1 << 16) - 1));
  return p < s.partition_sizes.size() ? s.partition_sizes[p] : 0;
}

}  // namespace ontime::rules
