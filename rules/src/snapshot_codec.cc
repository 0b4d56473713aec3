// The engine's snapshot (Engine::Save / Engine::Load), format 3 or 4. Every integer is
// little-endian on purpose, whatever the host; the whole is covered by a CRC-32C. Layout:
//
//   "ONTIMESN"  u32 version (3, or 4 when there are learned histories)
//   u8 has_clock  i64 clock_ms
//   u64 n  n x (i32 partition, text: dossier record)
//   format 4: u64 m  m x (i32 partition, text: history record)   (predicted_late)
//   u32 crc32c of every byte above        "ONTIMESN"
//
// text = u32 length + bytes; a dossier record is the changelog's (dossier_record.h), which names
// its procedure and department by code and carries its seen event ids. Load trusts nothing: every
// record is checked, and the checksum must match before anything replaces the engine's state.
// It then rebuilds the index, the timers and the gauges under the engine's current rules.

#include <istream>
#include <ostream>
#include <string>

#include "dossier_record.h"
#include "engine_state.h"
#include "ontime/base/check.h"
#include "ontime/base/crc32c.h"

namespace ontime::rules {
namespace {

constexpr std::string_view kMagic = "ONTIMESN";
constexpr uint32_t kVersion = 3;
constexpr uint32_t kVersionWithHistory = 4;
constexpr size_t kFlushBytes = 1u << 16;

// Appends little-endian integers and texts to a buffer, flushed to the stream as it fills; the CRC
// covers every byte written.
class Writer {
 public:
  explicit Writer(std::ostream& out) : out_(out) {}
  void U8(uint8_t v) { buffer_.push_back(static_cast<char>(v)); }
  void U16(uint16_t v) { Little(v, 2); }
  void U32(uint32_t v) { Little(v, 4); }
  void U64(uint64_t v) { Little(v, 8); }
  void I64(int64_t v) { Little(static_cast<uint64_t>(v), 8); }
  void Time(Instant t) { I64(t.time_since_epoch().count()); }
  void Span(Duration d) { I64(d.count()); }
  void Text(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    buffer_.append(s);
    MaybeFlush();
  }
  void Raw(std::string_view s) { buffer_.append(s); }
  // Writes the checksum of everything so far (not itself) and flushes.
  void Checksum() {
    Flush();
    U32(crc_.value());
    Flush();
  }
  void Flush() {
    crc_.Update(buffer_.data(), buffer_.size());
    out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    buffer_.clear();
  }
  void MaybeFlush() {
    if (buffer_.size() >= kFlushBytes) Flush();
  }

 private:
  void Little(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) buffer_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::ostream& out_;
  std::string buffer_;
  Crc32c crc_;
};

// Reads what Writer wrote; any short read or bound exceeded turns it !ok() for good.
class Reader {
 public:
  explicit Reader(std::istream& in) : in_(in) {}
  uint8_t U8() { return static_cast<uint8_t>(Little(1)); }
  uint16_t U16() { return static_cast<uint16_t>(Little(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Little(4)); }
  uint64_t U64() { return Little(8); }
  int64_t I64() { return static_cast<int64_t>(Little(8)); }
  Instant Time() { return Instant{Duration{I64()}}; }
  Duration Span() { return Duration{I64()}; }
  std::string Text(uint32_t max_bytes) {
    const uint32_t size = U32();
    if (!ok_ || size > max_bytes) {
      ok_ = false;
      return {};
    }
    return Bytes(size);
  }
  std::string Bytes(size_t size) {
    std::string s(size, '\0');
    if (ok_ && size > 0) {
      in_.read(s.data(), static_cast<std::streamsize>(size));
      ok_ = static_cast<size_t>(in_.gcount()) == size;
      crc_.Update(s.data(), size);
    }
    return ok_ ? s : std::string();
  }
  // The checksum of everything read so far, to compare with the one stored next.
  uint32_t crc() const { return crc_.value(); }
  bool ok() const { return ok_; }
  void Fail() { ok_ = false; }

 private:
  uint64_t Little(int bytes) {
    unsigned char raw[8] = {};
    if (ok_) {
      in_.read(reinterpret_cast<char*>(raw), bytes);
      ok_ = in_.gcount() == bytes;
      crc_.Update(raw, static_cast<size_t>(bytes));
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(raw[i]) << (8 * i);
    return ok_ ? v : 0;
  }
  std::istream& in_;
  bool ok_ = true;
  Crc32c crc_;
};

}  // namespace

void Engine::Save(std::ostream& out) const {
  const State& s = *state_;
  Writer w(out);
  // (partition, history record), with the closes still pending.
  std::vector<std::pair<int32_t, std::string>> histories;
  std::vector<std::pair<uint32_t, int32_t>> keys;  // (slot, partition)
  for (uint32_t p = 0; p < s.history.size(); ++p) {
    for (size_t k = 0; k < s.history[p].by_partition.size(); ++k) {
      if (!s.history[p].by_partition[k].empty()) keys.emplace_back(p, static_cast<int32_t>(k));
    }
  }
  for (const auto& c : s.pending_closes) {
    keys.emplace_back(c.procedure, c.partition);
    keys.emplace_back(s.HistorySlot(c.procedure, c.department), c.partition);
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  for (auto [slot, partition] : keys) {
    std::string history;
    state_->EncodeHistory(slot, partition, history);
    histories.emplace_back(partition, std::move(history));
  }
  w.Raw(kMagic);
  w.U32(histories.empty() ? kVersion : kVersionWithHistory);
  w.U8(s.clock.has_value());
  w.Time(s.clock.value_or(Instant{}));
  uint64_t held = s.live;  // a partition given away and still being freed is not saved
  if (s.releasing > 0) {
    held = 0;
    for (const Dossier& d : s.dossiers) held += d.in_use() && !s.Released(d);
  }
  w.U64(held);
  std::string record;
  for (const Dossier& d : s.dossiers) {
    if (!d.in_use() || s.Released(d)) continue;
    record.clear();
    EncodeDossierRecord(d, *s.rules, record);
    w.U32(static_cast<uint32_t>(d.partition));
    w.Text(record);
  }
  if (!histories.empty()) {
    w.U64(histories.size());
    for (const auto& [partition, history] : histories) {
      w.U32(static_cast<uint32_t>(partition));
      w.Text(history);
    }
  }
  w.Checksum();
  w.Raw(kMagic);
  w.Flush();
}

Status Engine::Load(std::istream& in) {
  State& s = *state_;
  Reader r(in);
  const std::string magic = r.Bytes(kMagic.size());
  if (!r.ok() || magic.substr(0, 7) != kMagic.substr(0, 7)) {
    return Error{"snapshot", "not an ontime snapshot"};
  }
  const uint32_t version = magic == kMagic ? r.U32() : 1;
  if (version != kVersion && version != kVersionWithHistory) {
    return Error{"snapshot", "snapshot format " + std::to_string(version) +
                                 " is not read by this version (formats 3 and 4)"};
  }
  const bool has_clock = r.U8() != 0;
  const Instant clock = r.Time();
  const uint64_t count = r.U64();
  if (!r.ok()) return Error{"snapshot", "truncated snapshot header"};
  if (count >= kNotInHeap) return Error{"snapshot", "more dossiers than the engine can index"};
  std::vector<std::pair<int32_t, std::string>> records;
  for (uint64_t n = 0; n < count && r.ok(); ++n) {
    const auto partition = static_cast<int32_t>(r.U32());
    records.emplace_back(partition, r.Text(static_cast<uint32_t>(kMaxDossierRecordBytes)));
  }
  std::vector<std::pair<int32_t, std::string>> histories;
  if (version == kVersionWithHistory && r.ok()) {
    const uint64_t m = r.U64();
    constexpr uint64_t kMaxHistories = 1u << 24;
    if (m == 0 || m > kMaxHistories) r.Fail();
    for (uint64_t n = 0; n < m && r.ok(); ++n) {
      const auto partition = static_cast<int32_t>(r.U32());
      if (partition < 0 || partition >= (1 << 16)) r.Fail();
      histories.emplace_back(partition, r.Text(static_cast<uint32_t>(kMaxDossierRecordBytes)));
    }
  }
  const uint32_t computed = r.crc();
  const uint32_t stored = r.U32();
  const std::string trailer = r.Bytes(kMagic.size());
  if (!r.ok() || trailer != kMagic) return Error{"snapshot", "truncated snapshot"};
  if (computed != stored) return Error{"snapshot", "snapshot checksum mismatch: corrupt"};
  // Every record checked before any replaces the state.
  for (const auto& [partition, record] : records) {
    Dossier scratch;
    if (Status decoded = DecodeDossierRecord(record, *s.rules, scratch); !decoded.ok()) {
      return Error{"snapshot", decoded.error().message};
    }
  }
  for (const auto& [partition, history] : histories) {
    HistoryRecord scratch;
    if (Status decoded = DecodeHistoryRecord(history, *s.rules, scratch); !decoded.ok()) {
      return Error{"snapshot", decoded.error().message};
    }
  }
  s.dossiers.clear();
  s.free_slots.clear();
  s.live = 0;
  s.next_seq = 0;
  s.index.Clear();
  s.timers.Clear();
  s.changed.clear();
  s.removed.clear();
  s.partition_clocks.clear();
  s.partition_sizes.clear();
  s.open_counts.assign(s.rules->department_count(), {});
  s.predicted_counts.assign(s.rules->department_count(), 0);
  s.history.clear();
  s.history_changed.clear();
  s.pending_closes.clear();
  for (const auto& [partition, history] : histories) {
    Status restored = RestoreDossier(partition, history);
    ONTIME_CHECK(restored.ok(), "a history record decoded once decodes again");
  }
  for (const auto& [partition, record] : records) {
    Status restored = RestoreDossier(partition, record);
    ONTIME_CHECK(restored.ok(), "a record decoded once decodes again");
  }
  s.clock = has_clock ? std::optional<Instant>(clock) : std::nullopt;
  return Ok{};
}

}  // namespace ontime::rules
