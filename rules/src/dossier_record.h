#pragma once
// One dossier's state as a compact binary record: what the changelog topic holds per dossier
// (key = dossier id) and what the engine's snapshot is made of. Format 1, little-endian whatever
// the host, self-checking:
//
//   u8 format (1)
//   text id   u8 has_applicant  [4 x text: name, address, phone, email]
//   text procedure code   text holding department code      (codes, so records survive a change
//                                                            of configuration)
//   8 x i64 instants (ms): accepted, first due, due, pause began, closed, run since, step due,
//                          anchor
//   4 x i64 durations (ms): budget, cycle budget, working time run, wall time paused
//   5 x u16: cycle, supplements, apology letters, step, flags
//   4 x u8: state, pause mask, gauge state, outcome
//   u32 n  n x u64: fingerprints of the event ids seen
//   u32 crc32c of every byte above
//
// text = u32 length + bytes. Decoding trusts nothing: lengths are bounded, every enum, flag and
// code is checked, and the checksum must match. Format 2 (written only once prediction has moved
// a dossier's predict points) adds u8 predict points after the outcome.
//
// A learned history (predicted_late) on one partition is a record of its own:
//   u8 kHistoryRecordFormat ('S')  text procedure code  text department code (empty: the
//   procedure's, every department)  text sketch (QuantileSketch::Encode, the settled closes)
//   department's only: u32 n  n x (i64 closed_at ms, i64 working time ms), the closes not yet
//   settled (Engine::State::pending_closes), which count only for predictions after them
//   u32 crc32c

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dossier.h"
#include "ontime/base/result.h"
#include "ontime/rules/quantile_sketch.h"

namespace ontime::rules {

inline constexpr size_t kMaxDossierRecordBytes = 1u << 20;

// Appends d's record to `out`.
void EncodeDossierRecord(const Dossier& d, const CompiledRules& rules, std::string& out);

// Fills `d` (a fresh record: no slot, no timer) from `record`; an error says what is wrong.
Status DecodeDossierRecord(std::string_view record, const CompiledRules& rules, Dossier& d);

inline constexpr uint8_t kHistoryRecordFormat = 'S';
struct HistoryRecord {
  uint32_t procedure = 0;
  uint32_t department = 0;  // kAnyDepartment for a procedure's history
  QuantileSketch sketch;
  std::vector<std::pair<Instant, Duration>> pending;  // (closed_at, working time)
};
// `pending` is written for a department's history only.
void EncodeHistoryRecord(std::string_view procedure, std::string_view department,
                         const QuantileSketch& sketch,
                         const std::vector<std::pair<Instant, Duration>>& pending,
                         std::string& out);
Status DecodeHistoryRecord(std::string_view record, const CompiledRules& rules,
                           HistoryRecord& decoded);
inline constexpr uint32_t kAnyDepartment = ~0u;

}  // namespace ontime::rules
