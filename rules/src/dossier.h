#pragma once
// One dossier's record in the engine, and its packed applicant. Private to rules/: the engine's
// state machine, views and snapshot codec share it.

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>

#include "ontime/rules/engine.h"
#include "timer_heap.h"

namespace ontime::rules {

// Bits of Dossier::flags.
enum : uint16_t {
  kAtRiskSent = 1 << 0,       // this cycle's at_risk alert went out
  kStepAlertSent = 1 << 1,    // this step's step_overdue alert went out
  kFirstBreached = 1 << 2,    // the first cycle's due has passed (the dossier is overdue)
  kDuePaused = 1 << 3,        // paused at or before the current due: it moves on resume
  kFirstPaused = 1 << 4,      // paused in cycle 1 at or before its due: it moves on resume
  kStepPaused = 1 << 5,       // paused at or before the step's due: it moves on resume
  kRestartOnResume = 1 << 6,  // on_supplement: restart, applied at resume
  kBudgetFromDueAt = 1 << 7,  // the budget came from the receipt slip's due_at
  kExtendedInPause = 1 << 8,  // an upstream extension came during this pause: its R applies
  kPredictedSent = 1 << 9,    // this cycle's predicted_late alert went out
};
inline constexpr uint16_t kKnownFlags = (1 << 10) - 1;

// Bits of Dossier::pause_mask.
enum : uint8_t { kPausedForSupplement = 1, kPausedForFee = 2 };
inline constexpr uint8_t kKnownPauses = kPausedForSupplement | kPausedForFee;

inline constexpr uint8_t kNoOutcome = 0xff;

// A dossier's texts: its id and, when it carried one, its applicant's four strings. An id of up
// to kInlineIdBytes with no applicant (most dossiers: "H12.22-260302-000001") is kept inline, with
// no allocation; otherwise one allocation holds a marker, five lengths and the bytes, freed with
// the dossier. Hand-written rather than a std::string per part: 24 bytes in the record instead of
// 32 per string plus a heap chunk each.
class DossierText {
 public:
  static constexpr size_t kInlineIdBytes = 22;

  DossierText() = default;
  DossierText(DossierText&& other) noexcept { Take(other); }
  DossierText& operator=(DossierText&& other) noexcept {
    if (this != &other) {
      Release();
      Take(other);
    }
    return *this;
  }
  ~DossierText() { Release(); }

  static DossierText Pack(std::string_view id, const std::optional<ApplicantView>& applicant) {
    DossierText packed;
    if (!applicant && id.size() <= kInlineIdBytes) {
      packed.bytes_[kTagByte] = kInline;
      packed.bytes_[kLengthByte] = static_cast<char>(id.size());
      if (!id.empty()) std::memcpy(packed.bytes_, id.data(), id.size());
      return packed;
    }
    std::string_view parts[kParts] = {id};
    if (applicant) {
      parts[1] = applicant->name;
      parts[2] = applicant->address;
      parts[3] = applicant->phone;
      parts[4] = applicant->email;
    }
    size_t size = kHeader;
    for (auto p : parts) size += p.size();
    char* blob = new char[size];
    blob[0] = applicant ? 1 : 0;
    char* at = blob + kHeader;
    for (int i = 0; i < kParts; ++i) {
      uint32_t length = static_cast<uint32_t>(parts[i].size());
      std::memcpy(blob + 1 + sizeof(uint32_t) * i, &length, sizeof length);
      if (length > 0) std::memcpy(at, parts[i].data(), length);  // an empty view may be null
      at += length;
    }
    std::memcpy(packed.bytes_, &blob, sizeof blob);
    packed.bytes_[kTagByte] = kBlob;
    return packed;
  }
  explicit operator bool() const { return bytes_[kTagByte] != kEmpty; }
  // Prefetches the out-of-line bytes, if any (Engine::Prefetch).
  void PrefetchBlob() const {
    if (bytes_[kTagByte] == kBlob) __builtin_prefetch(blob());
  }
  std::string_view id() const {
    switch (bytes_[kTagByte]) {
      case kInline: return {bytes_, static_cast<unsigned char>(bytes_[kLengthByte])};
      case kBlob: return Part(0);
      default: return {};
    }
  }
  std::optional<ApplicantView> applicant() const {
    if (bytes_[kTagByte] != kBlob || blob()[0] == 0) return std::nullopt;
    return ApplicantView{Part(1), Part(2), Part(3), Part(4)};
  }

 private:
  static constexpr int kParts = 5;
  static constexpr size_t kHeader = 1 + sizeof(uint32_t) * kParts;
  static constexpr size_t kLengthByte = kInlineIdBytes;
  static constexpr size_t kTagByte = kInlineIdBytes + 1;
  enum : char { kEmpty = 0, kInline = 1, kBlob = 2 };

  const char* blob() const {
    const char* p;
    std::memcpy(&p, bytes_, sizeof p);
    return p;
  }
  uint32_t Length(int i) const {
    uint32_t length;
    std::memcpy(&length, blob() + 1 + sizeof(uint32_t) * i, sizeof length);
    return length;
  }
  std::string_view Part(int part) const {
    const char* at = blob() + kHeader;
    for (int i = 0; i < part; ++i) at += Length(i);
    return {at, Length(part)};
  }
  void Release() {
    if (bytes_[kTagByte] == kBlob) delete[] blob();
    bytes_[kTagByte] = kEmpty;
  }
  void Take(DossierText& other) {
    std::memcpy(bytes_, other.bytes_, sizeof bytes_);
    other.bytes_[kTagByte] = kEmpty;
  }

  char bytes_[kInlineIdBytes + 2] = {};  // inline: id, length, tag; blob: pointer, ..., tag
};
static_assert(sizeof(DossierText) == 24);

// The event ids a dossier has seen, as 64-bit fingerprints: duplicate detection per dossier, so
// it leaves memory with the dossier. The first inline (most dossiers have few events), the rest
// in a small array that doubles; at most kMaxEventFingerprints are kept per dossier.
inline constexpr uint32_t kMaxEventFingerprints = 4096;

// A stable 64-bit fingerprint of an event id (FNV-1a, then a finaliser): it is stored in the
// changelog, so it must not change between builds the way std::hash may. Never 0.
inline uint64_t EventFingerprint(std::string_view event_id) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : event_id) h = (h ^ c) * 0x100000001b3ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h == 0 ? 1 : h;
}

class EventFingerprints {
 public:
  bool Contains(uint64_t h) const {
    if (first_ == h) return true;
    const uint32_t n = more_count();
    for (uint32_t k = 0; k < n; ++k) {
      if (more_[k + 1] == h) return true;
    }
    return false;
  }
  // Adds `h` (not contained); false when the dossier already has the most it may keep.
  bool Insert(uint64_t h) {
    if (first_ == 0) {
      first_ = h;
      return true;
    }
    const uint32_t n = more_count();
    if (n + 1 >= kMaxEventFingerprints) return false;
    if (Capacity(n) == n) {
      auto grown = std::make_unique<uint64_t[]>(Capacity(n + 1) + 1);
      if (more_) std::memcpy(grown.get(), more_.get(), sizeof(uint64_t) * (n + 1));
      more_ = std::move(grown);
    }
    more_[n + 1] = h;
    more_[0] = n + 1;
    return true;
  }
  uint32_t size() const { return (first_ != 0 ? 1 : 0) + more_count(); }
  template <typename Visit>
  void ForEach(const Visit& visit) const {
    if (first_ != 0) visit(first_);
    const uint32_t n = more_count();
    for (uint32_t k = 0; k < n; ++k) visit(more_[k + 1]);
  }

 private:
  uint32_t more_count() const { return more_ ? static_cast<uint32_t>(more_[0]) : 0; }
  // Room for n fingerprints beyond the first: 0, then 3, 7, 15... (a power of two minus the count).
  static uint32_t Capacity(uint32_t n) {
    if (n == 0) return 0;
    uint32_t c = 4;
    while (c - 1 < n) c *= 2;
    return c - 1;
  }
  uint64_t first_ = 0;
  std::unique_ptr<uint64_t[]> more_;  // more_[0] = how many follow
};

// One dossier. Kept compact: codes are indices into the rules, the timer is an index into the
// engine's heap, and the applicant is allocated only when the dossier carried one.
struct Dossier {
  DossierText text;  // the id and the applicant; empty for a free slot
  EventFingerprints events;
  Instant accepted_at{};
  Instant first_due{};
  Instant due{};
  Instant pause_began{};
  Instant closed_at{};
  Instant run_since{};  // the clock last started running (accept, resume)
  Instant step_due{};   // the current step's due, when its department has a budget
  // No at-risk alert before this: the later of the cycle's start and the last resume (or pause).
  // After an upstream extension during a pause: that extension's instant, from which the
  // remaining time to its due is measured at resume.
  Instant anchor{};
  Duration budget{};        // B: the first cycle's budget
  Duration cycle_budget{};  // the current cycle's budget, for "20%" thresholds
  Duration working_run{};   // working time run before run_since
  Duration paused_wall{};   // wall time spent paused, finished pauses
  uint16_t procedure = 0;   // CompiledRules::kMaxCodes bounds both
  uint16_t holder = 0;
  uint32_t seq = 0;  // acceptance order: ties between timers of the same instant
  uint32_t heap_pos = kNotInHeap;
  int32_t partition = 0;  // the input partition its events arrive on
  uint16_t cycle = 1;
  uint16_t supplements = 0;
  uint16_t letters = 0;
  uint16_t step = 1;
  uint16_t flags = 0;
  DossierState state = DossierState::kOpen;
  uint8_t pause_mask : 2 = 0;
  bool changed : 1 = false;  // listed in the engine's changes since the last drain
  OpenState open_state = OpenState::kOnTrack;
  uint8_t outcome = kNoOutcome;
  uint8_t predict_points = 0;  // predicted_late: budget fractions evaluated (PredictConfig)

  std::string_view id() const { return text.id(); }
  bool in_use() const { return static_cast<bool>(text); }
  bool open() const { return state == DossierState::kOpen; }
  bool running() const { return open() && pause_mask == 0; }
  bool has(uint16_t flag) const { return (flags & flag) != 0; }
  void set(uint16_t flag, bool on) { flags = on ? (flags | flag) : (flags & ~flag); }
};

// 168 bytes on LP64: the engine's memory per open dossier is mostly this (docs/benchmarks.md).
static_assert(sizeof(void*) != 8 || sizeof(Dossier) <= 168);

inline double Seconds(Duration d) { return static_cast<double>(d.count()) / 1000.0; }

}  // namespace ontime::rules
