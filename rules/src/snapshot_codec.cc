// The engine's snapshot (Engine::Save / Engine::Load), format 2. Every integer is little-endian
// on purpose, whatever the host; the whole is covered by a CRC-32C. Layout:
//
//   "ONTIMESN"  u32 version (2)
//   u8 has_clock  i64 clock_ms
//   u32 n  n x text: procedure codes     } so that indices survive a change of configuration
//   u32 n  n x text: department codes    }
//   u64 n  n x dossier record
//   u64 n  n x u64: seen event keys
//   u32 crc32c of every byte above        "ONTIMESN"
//
// text = u32 length + bytes. A dossier record: its id, an optional packed applicant, eight
// instants, four durations, procedure and holder (indices into the code tables above), the
// counters, flags and states. Load trusts nothing: lengths are bounded, every enum, flag and index
// is checked, and the checksum must match before anything replaces the engine's state. It then
// rebuilds the index, the timers and the gauges under the engine's current rules.

#include <istream>
#include <ostream>
#include <string>

#include "engine_state.h"
#include "ontime/base/crc32c.h"

namespace ontime::rules {
namespace {

constexpr std::string_view kMagic = "ONTIMESN";
constexpr uint32_t kVersion = 2;
constexpr uint32_t kMaxIdBytes = 512;              // 128 characters of UTF-8
constexpr uint32_t kMaxApplicantBytes = 1u << 16;  // each of the four strings
constexpr uint32_t kMaxCodeBytes = 1u << 12;
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

void EncodeDossier(Writer& w, const Dossier& d) {
  w.Text(d.id);
  w.U8(static_cast<bool>(d.applicant));
  if (d.applicant) {
    ApplicantView a = d.applicant.View();
    for (std::string_view part : {a.name, a.address, a.phone, a.email}) w.Text(part);
  }
  for (Instant t : {d.accepted_at, d.first_due, d.due, d.pause_began, d.closed_at, d.run_since,
                    d.step_due, d.anchor}) {
    w.Time(t);
  }
  for (Duration x : {d.budget, d.cycle_budget, d.working_run, d.paused_wall}) w.Span(x);
  w.U32(d.procedure);
  w.U32(d.holder);
  for (uint16_t x : {d.cycle, d.supplements, d.letters, d.step, d.flags}) w.U16(x);
  w.U8(static_cast<uint8_t>(d.state));
  w.U8(d.pause_mask);
  w.U8(static_cast<uint8_t>(d.open_state));
  w.U8(d.outcome);
  w.MaybeFlush();
}

using CodeMap = std::vector<std::optional<uint32_t>>;  // snapshot index -> current rules' index

// One record into `d` (its id stored in `ids`); an error names what is wrong with it.
Status DecodeDossier(Reader& r, const CodeMap& procedures, const CodeMap& departments, IdArena& ids,
                     Dossier& d) {
  const std::string id = r.Text(kMaxIdBytes);
  if (r.ok() && id.empty()) r.Fail();
  if (!r.ok()) return Error{"snapshot", "truncated or oversized dossier id"};
  d.id = ids.Store(id);
  const uint8_t has_applicant = r.U8();
  if (has_applicant > 1) return Error{"snapshot", "dossier " + id + ": bad applicant marker"};
  if (has_applicant == 1) {
    std::string parts[4];
    for (std::string& part : parts) part = r.Text(kMaxApplicantBytes);
    if (!r.ok()) return Error{"snapshot", "dossier " + id + ": truncated applicant"};
    d.applicant = PackedApplicant::Pack({parts[0], parts[1], parts[2], parts[3]});
  }
  for (Instant* t : {&d.accepted_at, &d.first_due, &d.due, &d.pause_began, &d.closed_at,
                     &d.run_since, &d.step_due, &d.anchor}) {
    *t = r.Time();
  }
  for (Duration* x : {&d.budget, &d.cycle_budget, &d.working_run, &d.paused_wall}) *x = r.Span();
  const uint32_t procedure = r.U32();
  const uint32_t holder = r.U32();
  for (uint16_t* x : {&d.cycle, &d.supplements, &d.letters, &d.step, &d.flags}) *x = r.U16();
  const uint8_t state = r.U8();
  d.pause_mask = r.U8();
  const uint8_t open_state = r.U8();
  d.outcome = r.U8();
  if (!r.ok()) return Error{"snapshot", "dossier " + id + ": truncated record"};
  if (state > static_cast<uint8_t>(DossierState::kRefused) || open_state >= kOpenStateCount ||
      (d.outcome >= kOutcomeCount && d.outcome != kNoOutcome) || (d.pause_mask & ~kKnownPauses) ||
      (d.flags & ~kKnownFlags) || d.cycle == 0 || d.step == 0) {
    return Error{"snapshot", "dossier " + id + ": a state, flag or counter out of range"};
  }
  d.state = static_cast<DossierState>(state);
  d.open_state = static_cast<OpenState>(open_state);
  if (procedure >= procedures.size() || !procedures[procedure] || holder >= departments.size() ||
      !departments[holder]) {
    return Error{"snapshot",
                 "dossier " + id + " names a procedure or department the configuration lacks"};
  }
  d.procedure = *procedures[procedure];
  d.holder = *departments[holder];
  return Ok{};
}

}  // namespace

void Engine::Save(std::ostream& out) const {
  const State& s = *state_;
  Writer w(out);
  w.Raw(kMagic);
  w.U32(kVersion);
  w.U8(s.clock.has_value());
  w.Time(s.clock.value_or(Instant{}));
  const RulesConfig& config = s.rules->config();
  w.U32(static_cast<uint32_t>(config.procedures.size()));
  for (const Procedure& p : config.procedures) w.Text(p.code);
  w.U32(static_cast<uint32_t>(config.departments.size()));
  for (const Department& d : config.departments) w.Text(d.code);
  w.U64(s.dossiers.size());
  for (const Dossier& d : s.dossiers) EncodeDossier(w, d);
  w.U64(s.seen_events.size());
  for (uint64_t h : s.seen_events.slots()) {
    if (h == 0) continue;
    w.U64(h);
    w.MaybeFlush();
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
  if (version != kVersion) {
    return Error{"snapshot", "snapshot format " + std::to_string(version) +
                                 " is not read by this version (format " +
                                 std::to_string(kVersion) + ")"};
  }
  const bool has_clock = r.U8() != 0;
  const Instant clock = r.Time();
  auto read_codes = [&r](auto find) {
    CodeMap map;
    const uint32_t count = r.U32();
    for (uint32_t n = 0; n < count && r.ok(); ++n) map.push_back(find(r.Text(kMaxCodeBytes)));
    return map;
  };
  const CodeMap procedures =
      read_codes([&s](const std::string& code) { return s.rules->FindProcedure(code); });
  const CodeMap departments =
      read_codes([&s](const std::string& code) { return s.rules->FindDepartment(code); });
  if (!r.ok()) return Error{"snapshot", "truncated snapshot header"};

  std::deque<Dossier> dossiers;
  IdArena ids;
  const uint64_t count = r.U64();
  if (count >= kNotInHeap) return Error{"snapshot", "more dossiers than the engine can index"};
  for (uint64_t n = 0; n < count; ++n) {
    Dossier& d = dossiers.emplace_back();
    if (Status decoded = DecodeDossier(r, procedures, departments, ids, d); !decoded.ok()) {
      return decoded;
    }
    d.seq = static_cast<uint32_t>(n);
  }
  FlatHashSet seen;
  const uint64_t seen_count = r.U64();
  for (uint64_t n = 0; n < seen_count && r.ok(); ++n) seen.Insert(r.U64());
  const uint32_t computed = r.crc();
  const uint32_t stored = r.U32();
  const std::string trailer = r.Bytes(kMagic.size());
  if (!r.ok() || trailer != kMagic) return Error{"snapshot", "truncated snapshot"};
  if (computed != stored) return Error{"snapshot", "snapshot checksum mismatch: corrupt"};

  s.dossiers = std::move(dossiers);
  s.ids = std::move(ids);
  s.seen_events = std::move(seen);
  s.clock = has_clock ? std::optional<Instant>(clock) : std::nullopt;
  s.index.Clear();
  s.timers.Clear();
  s.open_counts.assign(s.rules->department_count(), {});
  for (uint32_t i = 0; i < s.dossiers.size(); ++i) {
    Dossier& d = s.dossiers[i];
    d.heap_pos = kNotInHeap;
    d.timer_at = kNever;
    s.index.Insert(i, HashText(d.id), [&s](uint32_t k) { return HashText(s.dossiers[k].id); });
    if (!d.open()) continue;
    ++s.open_counts[d.holder][static_cast<int>(d.open_state)];
    s.Reschedule(i);
  }
  return Ok{};
}

}  // namespace ontime::rules
