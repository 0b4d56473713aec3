#include "ontime/daemon/timeline_store.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>

#include "ontime/base/check.h"

namespace ontime::daemon {

// One malloc'd block: this header, `capacity` entries, then the id's bytes.
struct TimelineStore::Block {
  uint32_t count = 0;
  uint32_t capacity = 0;
  uint32_t id_size = 0;
  uint32_t unused = 0;

  Entry* entries() { return reinterpret_cast<Entry*>(this + 1); }
  const Entry* entries() const { return reinterpret_cast<const Entry*>(this + 1); }
  std::string_view id() const {
    return {reinterpret_cast<const char*>(entries() + capacity), id_size};
  }

  static Block* Make(std::string_view id, uint32_t capacity, const Block* from) {
    void* memory = std::malloc(sizeof(Block) + capacity * sizeof(Entry) + id.size());
    ONTIME_CHECK(memory != nullptr, "out of memory for a dossier's timeline");
    auto* b = new (memory) Block;
    b->capacity = capacity;
    b->id_size = static_cast<uint32_t>(id.size());
    if (from != nullptr) {
      b->count = from->count;
      std::memcpy(b->entries(), from->entries(), from->count * sizeof(Entry));
    }
    if (!id.empty()) std::memcpy(b->entries() + capacity, id.data(), id.size());
    return b;
  }
};

TimelineStore::~TimelineStore() {
  for (Table& table : tables_) {
    for (Slot& slot : table.slots) std::free(slot.block);
  }
}

TimelineStore::Slot* TimelineStore::FindSlot(const Table& table, uint64_t hash,
                                             std::string_view dossier_id) {
  if (table.slots.empty()) return nullptr;
  const size_t mask = table.slots.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = table.slots[i];
    if (slot.block == nullptr) return nullptr;
    if (slot.hash == hash && slot.block->id() == dossier_id) return const_cast<Slot*>(&slot);
  }
}

TimelineStore::Slot* TimelineStore::Insert(Table& table, Slot slot) {
  if ((table.size + 1) * 4 > table.slots.size() * 3) {
    std::vector<Slot> old(std::max<size_t>(16, table.slots.size() * 2));
    old.swap(table.slots);
    table.size = 0;
    for (const Slot& s : old) {
      if (s.block != nullptr) Insert(table, s);
    }
  }
  const size_t mask = table.slots.size() - 1;
  size_t i = slot.hash & mask;
  while (table.slots[i].block != nullptr) i = (i + 1) & mask;
  table.slots[i] = slot;
  ++table.size;
  return &table.slots[i];
}

// Backward-shift deletion: the slots after it that probed past it move up, so no tombstones.
void TimelineStore::Erase(Table& table, Slot* slot) {
  const size_t mask = table.slots.size() - 1;
  size_t hole = static_cast<size_t>(slot - table.slots.data());
  for (size_t j = (hole + 1) & mask; table.slots[j].block != nullptr; j = (j + 1) & mask) {
    const size_t home = table.slots[j].hash & mask;
    // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    table.slots[hole] = table.slots[j];
    hole = j;
  }
  table.slots[hole] = Slot{};
  --table.size;
}

const TimelineStore::Block* TimelineStore::Find(std::string_view dossier_id) const {
  const uint64_t hash = Hash{}(dossier_id);
  const Slot* slot = FindSlot(TableOf(hash), hash, dossier_id);
  return slot == nullptr ? nullptr : slot->block;
}

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
  const uint64_t hash = Hash{}(dossier_id);
  Table& table = TableOf(hash);
  Slot* slot = FindSlot(table, hash, dossier_id);
  if (slot == nullptr) {
    const auto capacity = static_cast<uint32_t>(std::min<size_t>(limit_, kFirstCapacity));
    slot = Insert(table, Slot{hash, Block::Make(dossier_id, capacity, nullptr)});
  }
  Block* b = slot->block;
  if (b->count >= limit_) {
    // Keep the first entry (how the dossier began); drop the oldest after it.
    const size_t drop = limit_ > 1 ? 1 : 0;
    std::memmove(b->entries() + drop, b->entries() + drop + 1,
                 (b->count - drop - 1) * sizeof(Entry));
    --b->count;
    --entries_;
  }
  if (b->count == b->capacity) {
    const auto capacity = static_cast<uint32_t>(std::min<size_t>(limit_, size_t{b->capacity} * 2));
    Block* grown = Block::Make(dossier_id, capacity, b);
    std::free(b);
    slot->block = b = grown;
  }
  b->entries()[b->count++] = entry;
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
  const uint64_t hash = Hash{}(dossier_id);
  Table& table = TableOf(hash);
  Slot* slot = FindSlot(table, hash, dossier_id);
  if (slot == nullptr) return;
  entries_ -= slot->block->count;
  std::free(slot->block);
  Erase(table, slot);
  if (auto p = predictions_.find(dossier_id); p != predictions_.end()) predictions_.erase(p);
}

size_t TimelineStore::dossiers() const {
  size_t n = 0;
  for (const Table& table : tables_) n += table.size;
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
  const Block* block = Find(dossier_id);
  if (block == nullptr) return out;
  const auto predicted = predictions_.find(dossier_id);
  out.reserve(block->count);
  for (const Entry& e : std::span(block->entries(), block->count)) {
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
