#pragma once
// Each dossier's story for GET /api/v1/dossiers/{id}: the events applied to it (type, instant,
// department, reason) and what ontime emitted for it (alerts, apology letters), oldest first, at
// most `limit` entries a dossier (the first one, its acceptance, is kept; the oldest after it go).
// Kept outside the engine's hot records and compact: 16 bytes an entry (instant, interned reason
// or cycle number, interned department, kind). A dossier's entries and its id share one heap
// block (room for 8 entries at first, doubling), found through an open-addressing table of
// (64-bit hash, block) slots: an event touches the slot and the block, two cache lines, where a
// hash map of strings to vectors touched five (it was 12% of the live path's CPU). About 180
// bytes a dossier with up to 8 entries (computed: 16-byte slot at most 3/4 full, 16-byte block
// header, the entries, the id, malloc's rounding). A predicted_late alert's figures (P(late),
// expected close) do not fit an entry: they are kept beside, one per cycle, for the dossiers that
// had one. Fed by the engine (alerts, letters: an EngineListener in the daemon's fan-out) and by
// the live path (events: an EventObserver). Memory only: after a restart it holds what was seen
// since. The dossiers are spread over kShards tables, so that a table's growth (a new dossier
// crossing its size) moves a 64th of them in one loop turn, not a million. Single-threaded: the
// engine's thread.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ontime/base/time.h"
#include "ontime/rules/engine.h"

namespace ontime::daemon {

// Told of every input event the live path handed to the engine, with what the engine made of it.
class EventObserver {
 public:
  virtual ~EventObserver() = default;
  virtual void OnEvent(const rules::Event& event, rules::ApplyStatus status) = 0;
};

enum class TimelineKind : uint8_t { kEvent, kAlert, kLetter };

// One entry as read back; views valid until the store changes.
struct TimelineEntry {
  TimelineKind kind = TimelineKind::kEvent;
  std::string_view type;  // the event type, the alert kind, or "apology_letter"
  Instant at{};
  std::string_view department;  // empty when the event named none
  std::string_view reason;      // events only; empty when none was given
  int number = 0;               // alerts: the cycle (step_overdue: the step); letters: the cycle
  // predicted_late alerts: P(late) when it was detected and the expected close instant; none
  // when not kept.
  std::optional<double> probability;
  Instant expected_close_at{};
};

// A dossier's predicted_late alert as kept beside its timeline.
struct PredictedLate {
  int cycle = 1;
  Instant detected_at{};
  double probability = 0;
  Instant expected_close_at{};
};

class TimelineStore final : public rules::EngineListener, public EventObserver {
 public:
  static constexpr size_t kMaxReasons = 1 << 20;  // distinct reasons kept; later new ones dropped

  explicit TimelineStore(size_t limit) : limit_(limit) {}
  ~TimelineStore() override;
  TimelineStore(const TimelineStore&) = delete;
  TimelineStore& operator=(const TimelineStore&) = delete;

  void RecordEvent(std::string_view dossier_id, rules::EventType type, Instant at,
                   std::string_view department, std::string_view reason);
  void RecordAlert(const rules::Alert& alert);
  void RecordLetter(const rules::ApologyLetter& letter);
  void Forget(std::string_view dossier_id);
  std::vector<TimelineEntry> Get(std::string_view dossier_id) const;
  // The dossier's latest predicted_late alert (the highest cycle), if it had one.
  std::optional<PredictedLate> LatestPrediction(std::string_view dossier_id) const;

  // Applied events and events after close (a late `returned`) only: invalid, duplicate and
  // orphan events are not part of a dossier's story.
  void OnEvent(const rules::Event& event, rules::ApplyStatus status) override;
  void OnAlert(const rules::Alert& alert) override { RecordAlert(alert); }
  void OnApologyLetter(const rules::ApologyLetter& letter) override { RecordLetter(letter); }

  size_t dossiers() const;
  size_t entries() const { return entries_; }
  size_t predictions() const { return predictions_.size(); }

 private:
  struct Entry {
    int64_t at_ms;
    uint32_t value;       // events: interned reason (0 = none); alerts and letters: the number
    uint16_t department;  // interned department (0 = none)
    uint8_t code;         // event type, or kAlertCode + alert kind, or kLetterCode
    uint8_t unused = 0;
  };
  static_assert(sizeof(Entry) == 16);
  static constexpr uint8_t kAlertCode = 64;
  static constexpr uint8_t kLetterCode = 128;

  void Add(std::string_view dossier_id, Entry entry);
  uint16_t Department(std::string_view code);
  uint32_t Reason(std::string_view reason);

  struct Hash {
    using is_transparent = void;  // NOLINT(readability-identifier-naming): the standard name
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Block;  // a dossier's entries, then its id
  struct Slot {
    uint64_t hash = 0;
    Block* block = nullptr;  // none: the slot is free
  };
  struct Table {
    std::vector<Slot> slots;  // a power of two of them, linear probing; or none yet
    size_t size = 0;
  };
  static constexpr size_t kShards = 64;
  static constexpr uint32_t kFirstCapacity = 8;
  Table& TableOf(uint64_t hash) { return tables_[hash >> 58]; }  // slots use the low bits
  const Table& TableOf(uint64_t hash) const { return tables_[hash >> 58]; }
  static Slot* FindSlot(const Table& table, uint64_t hash, std::string_view dossier_id);
  static Slot* Insert(Table& table, Slot slot);  // where it went
  static void Erase(Table& table, Slot* slot);
  const Block* Find(std::string_view dossier_id) const;

  size_t limit_;
  size_t entries_ = 0;
  std::array<Table, kShards> tables_;
  // By cycle, oldest first, at most `limit_` a dossier (few dossiers: one map).
  std::unordered_map<std::string, std::vector<PredictedLate>, Hash, std::equal_to<>> predictions_;
  std::vector<std::string> departments_{""};
  std::unordered_map<std::string, uint16_t, Hash, std::equal_to<>> department_ids_;
  std::vector<std::string> reasons_{""};
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> reason_ids_;
};

}  // namespace ontime::daemon
