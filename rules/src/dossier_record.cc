#include "dossier_record.h"

#include "ontime/base/crc32c.h"

namespace ontime::rules {
namespace {

constexpr uint8_t kFormat = 1;
constexpr uint8_t kFormatWithPrediction = 2;       // format 1 + u8 predict points after the outcome
constexpr uint32_t kMaxIdBytes = 512;              // 128 characters of UTF-8
constexpr uint32_t kMaxApplicantBytes = 1u << 16;  // each of the four strings
constexpr uint32_t kMaxCodeBytes = 1u << 12;

class RecordWriter {
 public:
  explicit RecordWriter(std::string& out) : out_(out), begin_(out.size()) {}
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U16(uint16_t v) { Little(v, 2); }
  void U32(uint32_t v) { Little(v, 4); }
  void U64(uint64_t v) { Little(v, 8); }
  void I64(int64_t v) { Little(static_cast<uint64_t>(v), 8); }
  void Text(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  void Checksum() {
    Crc32c crc;
    crc.Update(out_.data() + begin_, out_.size() - begin_);
    U32(crc.value());
  }

 private:
  void Little(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string& out_;
  size_t begin_;
};

// Reads what RecordWriter wrote; a short read or a bound exceeded turns it !ok() for good.
class RecordReader {
 public:
  explicit RecordReader(std::string_view in) : in_(in) {}
  uint8_t U8() { return static_cast<uint8_t>(Little(1)); }
  uint16_t U16() { return static_cast<uint16_t>(Little(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Little(4)); }
  uint64_t U64() { return Little(8); }
  int64_t I64() { return static_cast<int64_t>(Little(8)); }
  std::string_view Text(uint32_t max_bytes) {
    const uint32_t size = U32();
    if (!ok_ || size > max_bytes || size > in_.size() - at_) {
      ok_ = false;
      return {};
    }
    std::string_view s = in_.substr(at_, size);
    at_ += size;
    return s;
  }
  size_t at() const { return at_; }
  bool ok() const { return ok_; }
  bool done() const { return at_ == in_.size(); }

 private:
  uint64_t Little(int bytes) {
    if (!ok_ || in_.size() - at_ < static_cast<size_t>(bytes)) {
      ok_ = false;
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
      v |= static_cast<uint64_t>(static_cast<unsigned char>(in_[at_ + i])) << (8 * i);
    }
    at_ += static_cast<size_t>(bytes);
    return v;
  }
  std::string_view in_;
  size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace

void EncodeDossierRecord(const Dossier& d, const CompiledRules& rules, std::string& out) {
  RecordWriter w(out);
  // Format 1 unless prediction has left a trace: records stay byte for byte what they were.
  w.U8(d.predict_points != 0 ? kFormatWithPrediction : kFormat);
  w.Text(d.id());
  const std::optional<ApplicantView> applicant = d.text.applicant();
  w.U8(applicant.has_value());
  if (applicant) {
    for (std::string_view part :
         {applicant->name, applicant->address, applicant->phone, applicant->email}) {
      w.Text(part);
    }
  }
  w.Text(rules.procedure(d.procedure).code);
  w.Text(rules.department(d.holder).code);
  for (Instant t : {d.accepted_at, d.first_due, d.due, d.pause_began, d.closed_at, d.run_since,
                    d.step_due, d.anchor}) {
    w.I64(t.time_since_epoch().count());
  }
  for (Duration x : {d.budget, d.cycle_budget, d.working_run, d.paused_wall}) w.I64(x.count());
  for (uint16_t x : {d.cycle, d.supplements, d.letters, d.step, d.flags}) w.U16(x);
  w.U8(static_cast<uint8_t>(d.state));
  w.U8(d.pause_mask);
  w.U8(static_cast<uint8_t>(d.open_state));
  w.U8(d.outcome);
  if (d.predict_points != 0) w.U8(d.predict_points);
  w.U32(d.events.size());
  d.events.ForEach([&w](uint64_t h) { w.U64(h); });
  w.Checksum();
}

Status DecodeDossierRecord(std::string_view record, const CompiledRules& rules, Dossier& d) {
  auto fail = [](std::string_view id, const std::string& what) {
    return Error{"dossier_record", id.empty() ? what : "dossier " + std::string(id) + ": " + what};
  };
  if (record.size() < 5 || record.size() > kMaxDossierRecordBytes) {
    return fail("", "a dossier record of " + std::to_string(record.size()) + " bytes");
  }
  Crc32c crc;
  crc.Update(record.data(), record.size() - 4);
  RecordReader tail(record.substr(record.size() - 4));
  if (tail.U32() != crc.value()) return fail("", "dossier record checksum mismatch: corrupt");
  RecordReader r(record.substr(0, record.size() - 4));
  const uint8_t format = r.U8();
  if (format != kFormat && format != kFormatWithPrediction) {
    return fail("", "dossier record format " + std::to_string(format) +
                        " is not read by this version (formats 1 and 2)");
  }
  const std::string_view id = r.Text(kMaxIdBytes);
  if (!r.ok() || id.empty()) return fail("", "truncated or oversized dossier id");
  const uint8_t has_applicant = r.U8();
  if (has_applicant > 1) return fail(id, "bad applicant marker");
  std::optional<ApplicantView> applicant;
  if (has_applicant == 1) {
    std::string_view parts[4];
    for (std::string_view& part : parts) part = r.Text(kMaxApplicantBytes);
    applicant = ApplicantView{parts[0], parts[1], parts[2], parts[3]};
  }
  const std::string_view procedure = r.Text(kMaxCodeBytes);
  const std::string_view department = r.Text(kMaxCodeBytes);
  if (!r.ok()) return fail(id, "truncated record");
  for (Instant* t : {&d.accepted_at, &d.first_due, &d.due, &d.pause_began, &d.closed_at,
                     &d.run_since, &d.step_due, &d.anchor}) {
    *t = Instant{Duration{r.I64()}};
  }
  for (Duration* x : {&d.budget, &d.cycle_budget, &d.working_run, &d.paused_wall}) {
    *x = Duration{r.I64()};
  }
  for (uint16_t* x : {&d.cycle, &d.supplements, &d.letters, &d.step, &d.flags}) *x = r.U16();
  const uint8_t state = r.U8();
  const uint8_t pause_mask = r.U8();
  const uint8_t open_state = r.U8();
  d.outcome = r.U8();
  d.predict_points = format == kFormatWithPrediction ? r.U8() : 0;
  const uint32_t fingerprints = r.U32();
  if (!r.ok()) return fail(id, "truncated record");
  if (state > static_cast<uint8_t>(DossierState::kRefused) || open_state >= kOpenStateCount ||
      (d.outcome >= kOutcomeCount && d.outcome != kNoOutcome) || (pause_mask & ~kKnownPauses) ||
      (d.flags & ~kKnownFlags) || d.cycle == 0 || d.step == 0 ||
      (format == kFormatWithPrediction && (d.predict_points == 0 || d.predict_points > 32)) ||
      fingerprints > kMaxEventFingerprints) {
    return fail(id, "a state, flag or counter out of range");
  }
  for (uint32_t n = 0; n < fingerprints && r.ok(); ++n) {
    const uint64_t h = r.U64();
    if (h == 0 || d.events.Contains(h) || !d.events.Insert(h)) {
      return fail(id, "a bad event fingerprint");
    }
  }
  if (!r.ok() || !r.done()) return fail(id, "truncated record, or bytes after it");
  d.state = static_cast<DossierState>(state);
  d.pause_mask = pause_mask & kKnownPauses;
  d.open_state = static_cast<OpenState>(open_state);
  const auto procedure_index = rules.FindProcedure(procedure);
  const auto department_index = rules.FindDepartment(department);
  if (!procedure_index || !department_index) {
    return fail(id, "names a procedure or department the configuration lacks (" +
                        std::string(procedure) + ", " + std::string(department) + ")");
  }
  d.procedure = static_cast<uint16_t>(*procedure_index);  // Compile bounds both by kMaxCodes
  d.holder = static_cast<uint16_t>(*department_index);
  d.text = DossierText::Pack(id, applicant);
  return Ok{};
}

void EncodeHistoryRecord(std::string_view procedure, std::string_view department,
                         const QuantileSketch& sketch,
                         const std::vector<std::pair<Instant, Duration>>& pending,
                         std::string& out) {
  RecordWriter w(out);
  w.U8(kHistoryRecordFormat);
  w.Text(procedure);
  w.Text(department);
  std::string body;
  sketch.Encode(body);
  w.Text(body);
  if (!department.empty()) {
    w.U32(static_cast<uint32_t>(pending.size()));
    for (const auto& [closed_at, working] : pending) {
      w.I64(closed_at.time_since_epoch().count());
      w.I64(working.count());
    }
  }
  w.Checksum();
}

Status DecodeHistoryRecord(std::string_view record, const CompiledRules& rules,
                           HistoryRecord& decoded_record) {
  auto fail = [](const std::string& what) { return Error{"history_record", what}; };
  if (record.size() < 5 || record.size() > kMaxDossierRecordBytes) {
    return fail("a history record of " + std::to_string(record.size()) + " bytes");
  }
  Crc32c crc;
  crc.Update(record.data(), record.size() - 4);
  RecordReader tail(record.substr(record.size() - 4));
  if (tail.U32() != crc.value()) return fail("history record checksum mismatch: corrupt");
  RecordReader r(record.substr(0, record.size() - 4));
  if (r.U8() != kHistoryRecordFormat) return fail("not a history record");
  const std::string_view code = r.Text(kMaxCodeBytes);
  const std::string_view department_code = r.Text(kMaxCodeBytes);
  const std::string_view body = r.Text(static_cast<uint32_t>(kMaxDossierRecordBytes));
  std::vector<std::pair<Instant, Duration>> pending;
  if (!department_code.empty() && r.ok()) {
    const uint32_t n = r.U32();
    // Each takes 16 bytes: a count the record cannot hold is corrupt, whatever it claims.
    if (n > record.size() / 16) return fail("history record with " + std::to_string(n) + " closes");
    pending.reserve(n);
    for (uint32_t k = 0; k < n && r.ok(); ++k) {
      const Instant closed_at{Duration{r.I64()}};
      const Duration working{r.I64()};
      if (closed_at < kEarliestEventTime || closed_at > kLatestEventTime ||
          working < Duration::zero()) {
        return fail("history record with a close out of range");
      }
      pending.emplace_back(closed_at, working);
    }
  }
  if (!r.ok() || !r.done()) return fail("truncated history record, or bytes after it");
  const auto index = rules.FindProcedure(code);
  if (!index) {
    return fail("history of a procedure the configuration lacks (" + std::string(code) + ")");
  }
  std::optional<uint32_t> holder;
  if (!department_code.empty()) {
    holder = rules.FindDepartment(department_code);
    if (!holder) {
      return fail("history of a department the configuration lacks (" +
                  std::string(department_code) + ")");
    }
  }
  auto decoded = QuantileSketch::Decode(body);
  if (!decoded.ok()) return fail("procedure " + std::string(code) + ": " + decoded.error().message);
  decoded_record.procedure = *index;
  decoded_record.department = holder.value_or(kAnyDepartment);
  decoded_record.sketch = std::move(decoded).value();
  decoded_record.pending = std::move(pending);
  return Ok{};
}

}  // namespace ontime::rules
