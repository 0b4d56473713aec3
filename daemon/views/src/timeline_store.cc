#include "ontime/daemon/timeline_store.h"

#include <algorithm>

namespace ontime::daemon {

uint16_t TimelineStore::Department(std::string_view code) {
  if (code.empty()) return 0;
  if (auto it = department_ids_.find(code); it != department_ids_.end()) return it->second;
  if (departments_.size() > UINT16_MAX) return 0;
  const auto id = static_cast<uint16_t>(departments_.size());
  departments_.emplace_back(code);
  department_ids_.emplace(std::string(code), id);
  return id;
}

uint32_t TimelineStore::Reason(std::string_view reason) {
  if (reason.empty()) return 0;
  if (auto it = reason_ids_.find(reason); it != reason_ids_.end()) return it->second;
  if (reasons_.size() >= kMaxReasons) return 0;
  const auto id = static_cast<uint32_t>(reasons_.size());
  reasons_.emplace_back(reason);
  reason_ids_.emplace(std::string(reason), id);
  return id;
}

void TimelineStore::Add(std::string_view dossier_id, Entry entry) {
  if (limit_ == 0) return;
  Map& shard = Shard(dossier_id);
  auto it = shard.find(dossier_id);
  if (it == shard.end()) it = shard.emplace(std::string(dossier_id), 0).first;
  std::vector<Entry>& entries = it->second;
  if (entries.size() >= limit_) {
    // Keep the first entry (how the dossier began); drop the oldest after it.
    entries.erase(entries.begin() + (limit_ > 1 ? 1 : 0));
    --entries_;
  }
  entries.push_back(entry);
  ++entries_;
}

void TimelineStore::RecordEvent(std::string_view dossier_id, rules::EventType type, Instant at,
                                std::string_view department, std::string_view reason) {
  Add(dossier_id, Entry{at.time_since_epoch().count(), Reason(reason), Department(department),
                        static_cast<uint8_t>(type)});
}

void TimelineStore::RecordAlert(const rules::Alert& alert) {
  const int number = alert.kind == rules::AlertKind::kStepOverdue ? alert.step : alert.cycle;
  Add(alert.dossier_id, Entry{alert.detected_at.time_since_epoch().count(),
                              static_cast<uint32_t>(number), Department(alert.department),
                              static_cast<uint8_t>(kAlertCode + static_cast<uint8_t>(alert.kind))});
  if (alert.kind != rules::AlertKind::kPredictedLate || limit_ == 0) return;
  auto it = predictions_.find(alert.dossier_id);
  if (it == predictions_.end()) it = predictions_.emplace(std::string(alert.dossier_id), 0).first;
  std::vector<PredictedLate>& kept = it->second;
  // One a cycle: a re-derived alert (an aborted transaction's stretch) replaces its cycle's.
  std::erase_if(kept, [&](const PredictedLate& p) { return p.cycle == alert.cycle; });
  if (kept.size() >= limit_) kept.erase(kept.begin());
  kept.push_back({alert.cycle, alert.detected_at, alert.probability, alert.expected_close_at});
  std::sort(kept.begin(), kept.end(),
            [](const PredictedLate& a, const PredictedLate& b) { return a.cycle < b.cycle; });
}

void TimelineStore::RecordLetter(const rules::ApologyLetter& letter) {
  Add(letter.dossier_id,
      Entry{letter.issued_at.time_since_epoch().count(), static_cast<uint32_t>(letter.cycle),
            Department(letter.department), kLetterCode});
}

void TimelineStore::Forget(std::string_view dossier_id) {
  Map& shard = Shard(dossier_id);
  auto it = shard.find(dossier_id);
  if (it == shard.end()) return;
  entries_ -= it->second.size();
  shard.erase(it);
  if (auto p = predictions_.find(dossier_id); p != predictions_.end()) predictions_.erase(p);
}

size_t TimelineStore::dossiers() const {
  size_t n = 0;
  for (const Map& shard : dossiers_) n += shard.size();
  return n;
}

void TimelineStore::OnEvent(const rules::Event& event, rules::ApplyStatus status) {
  if (status != rules::ApplyStatus::kApplied && status != rules::ApplyStatus::kAfterClose) return;
  RecordEvent(event.dossier_id, event.type, event.occurred_at, event.department, event.reason);
}

std::optional<PredictedLate> TimelineStore::LatestPrediction(std::string_view dossier_id) const {
  auto it = predictions_.find(dossier_id);
  if (it == predictions_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<TimelineEntry> TimelineStore::Get(std::string_view dossier_id) const {
  std::vector<TimelineEntry> out;
  const Map& shard = Shard(dossier_id);
  auto it = shard.find(dossier_id);
  if (it == shard.end()) return out;
  const auto predicted = predictions_.find(dossier_id);
  out.reserve(it->second.size());
  for (const Entry& e : it->second) {
    TimelineEntry t;
    t.at = Instant(Duration(e.at_ms));
    t.department = departments_[e.department];
    if (e.code == kLetterCode) {
      t.kind = TimelineKind::kLetter;
      t.type = "apology_letter";
      t.number = static_cast<int>(e.value);
    } else if (e.code >= kAlertCode) {
      t.kind = TimelineKind::kAlert;
      const auto kind = static_cast<rules::AlertKind>(e.code - kAlertCode);
      t.type = rules::ToString(kind);
      t.number = static_cast<int>(e.value);
      if (kind == rules::AlertKind::kPredictedLate && predicted != predictions_.end()) {
        for (const PredictedLate& p : predicted->second) {
          if (p.cycle != t.number || p.detected_at != t.at) continue;
          t.probability = p.probability;
          t.expected_close_at = p.expected_close_at;
        }
      }
    } else {
      t.kind = TimelineKind::kEvent;
      t.type = rules::ToString(static_cast<rules::EventType>(e.code));
      t.reason = reasons_[e.value];
    }
    out.push_back(t);
  }
  // Timers fire in instant order but events arrive in file order: sort, stably, by instant.
  std::stable_sort(out.begin(), out.end(),
                   [](const TimelineEntry& a, const TimelineEntry& b) { return a.at < b.at; });
  return out;
}

}  // namespace ontime::daemon
