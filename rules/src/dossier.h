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
};
inline constexpr uint16_t kKnownFlags = (1 << 9) - 1;

// Bits of Dossier::pause_mask.
enum : uint8_t { kPausedForSupplement = 1, kPausedForFee = 2 };
inline constexpr uint8_t kKnownPauses = kPausedForSupplement | kPausedForFee;

inline constexpr uint8_t kNoOutcome = 0xff;

// The applicant's four strings in one allocation: their lengths, then their bytes.
class PackedApplicant {
 public:
  static PackedApplicant Pack(const ApplicantView& a) {
    const std::string_view parts[4] = {a.name, a.address, a.phone, a.email};
    size_t size = sizeof(uint32_t) * 4;
    for (auto p : parts) size += p.size();
    PackedApplicant packed;
    packed.blob_ = std::make_unique<char[]>(size);
    char* at = packed.blob_.get() + sizeof(uint32_t) * 4;
    for (int i = 0; i < 4; ++i) {
      uint32_t length = static_cast<uint32_t>(parts[i].size());
      std::memcpy(packed.blob_.get() + sizeof(uint32_t) * i, &length, sizeof length);
      if (length > 0) std::memcpy(at, parts[i].data(), length);  // an empty view may be null
      at += length;
    }
    return packed;
  }
  explicit operator bool() const { return blob_ != nullptr; }
  ApplicantView View() const {
    std::string_view parts[4];
    const char* at = blob_.get() + sizeof(uint32_t) * 4;
    for (int i = 0; i < 4; ++i) {
      uint32_t length;
      std::memcpy(&length, blob_.get() + sizeof(uint32_t) * i, sizeof length);
      parts[i] = {at, length};
      at += length;
    }
    return {parts[0], parts[1], parts[2], parts[3]};
  }
  std::optional<ApplicantView> Optional() const {
    return blob_ ? std::optional<ApplicantView>(View()) : std::nullopt;
  }

 private:
  std::unique_ptr<char[]> blob_;
};

// One dossier. Kept compact: codes are indices into the rules, the timer is an index into the
// engine's heap, and the applicant is allocated only when the dossier carried one.
struct Dossier {
  std::string_view id;  // in the engine's IdArena
  PackedApplicant applicant;
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
  Instant timer_at = kNever;
  Duration budget{};        // B: the first cycle's budget
  Duration cycle_budget{};  // the current cycle's budget, for "20%" thresholds
  Duration working_run{};   // working time run before run_since
  Duration paused_wall{};   // wall time spent paused, finished pauses
  uint32_t procedure = 0;
  uint32_t holder = 0;
  uint32_t seq = 0;
  uint32_t heap_pos = kNotInHeap;
  uint16_t cycle = 1;
  uint16_t supplements = 0;
  uint16_t letters = 0;
  uint16_t step = 1;
  uint16_t flags = 0;
  DossierState state = DossierState::kOpen;
  uint8_t pause_mask = 0;
  OpenState open_state = OpenState::kOnTrack;
  uint8_t outcome = kNoOutcome;

  bool open() const { return state == DossierState::kOpen; }
  bool running() const { return open() && pause_mask == 0; }
  bool has(uint16_t flag) const { return (flags & flag) != 0; }
  void set(uint16_t flag, bool on) { flags = on ? (flags | flag) : (flags & ~flag); }
};

inline double Seconds(Duration d) { return static_cast<double>(d.count()) / 1000.0; }

}  // namespace ontime::rules
