#include "ontime/testdata/generate.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "ontime/rules/calendar.h"
#include "ontime/rules/event.h"
#include "ontime/streams/json_output.h"  // AppendJsonTime
#include "ontime/streams/json_writer.h"  // AppendJsonString

namespace ontime::testdata {
namespace {

using namespace std::chrono_literals;
using rules::BusinessCalendar;
using rules::EventType;
using std::chrono::days;

// Events may precede their dossier's arrival day by this many days (online `submitted`).
constexpr int kLeadDays = 2;
constexpr size_t kFlushBytes = 1 << 20;

constexpr std::string_view kFamilyNames[] = {"Nguyễn", "Trần", "Lê",    "Phạm", "Hoàng", "Huỳnh",
                                             "Phan",   "Vũ",   "Võ",    "Đặng", "Bùi",   "Đỗ",
                                             "Hồ",     "Ngô",  "Dương", "Lý"};
constexpr std::string_view kMiddleNames[] = {"Văn",   "Thị",  "Hữu",  "Đức",   "Minh", "Ngọc",
                                             "Thanh", "Quốc", "Xuân", "Hoàng", "Thu",  "Gia"};
constexpr std::string_view kGivenNames[] = {
    "An",     "Bình",  "Cường", "Dũng", "Giang", "Hà",   "Hải",   "Hạnh", "Hiếu", "Hoa",
    "Hùng",   "Hương", "Khánh", "Lan",  "Linh",  "Long", "Mai",   "Nam",  "Nga",  "Phong",
    "Phương", "Quân",  "Sơn",   "Tâm",  "Thảo",  "Thủy", "Trang", "Tuấn", "Vy",   "Yến"};
constexpr std::string_view kStreets[] = {
    "Trần Hưng Đạo", "Lê Lợi",         "Nguyễn Huệ",    "Hai Bà Trưng",     "Lý Thường Kiệt",
    "Quang Trung",   "Phan Chu Trinh", "Điện Biên Phủ", "Nguyễn Tất Thành", "Hùng Vương"};
constexpr std::string_view kWards[] = {
    "phường Tân Lập, TP. Buôn Ma Thuột", "phường Thắng Lợi, TP. Buôn Ma Thuột",
    "phường Ea Tam, TP. Buôn Ma Thuột",  "xã Hòa Thắng, TP. Buôn Ma Thuột",
    "thị trấn Ea Kar, huyện Ea Kar",     "thị trấn Krông Năng, huyện Krông Năng",
    "phường An Lạc, thị xã Buôn Hồ",     "xã Ea Kao, TP. Buôn Ma Thuột"};
constexpr std::string_view kPhonePrefixes[] = {"090", "091", "093", "094", "096", "097",
                                               "098", "032", "035", "038", "077", "086"};

constexpr std::string_view kSupplementReasons[] = {
    "Thiếu bản sao giấy tờ tùy thân", "Bản vẽ thiết kế chưa đúng quy định",
    "Thiếu văn bản xác nhận của UBND cấp xã",
    "Thông tin trong tờ khai không khớp với giấy tờ kèm theo"};
constexpr std::string_view kWithdrawReason = "Công dân có đơn xin rút hồ sơ";
constexpr std::string_view kStopReason = "Hồ sơ không đủ điều kiện giải quyết (mẫu 05)";
constexpr std::string_view kRefuseReason = "Hồ sơ không thuộc thẩm quyền tiếp nhận";
constexpr std::string_view kExtendReason = "Cần xác minh thêm thông tin tại cơ quan liên quan";

// One event of the stream, compact: the rest is derived from the dossier when it is written.
struct Ev {
  Instant t;
  uint32_t dossier;  // index into the dossier table
  uint8_t ordinal;   // 1-based position within the dossier; the event_id suffix
  EventType type;
  uint16_t param;  // department, reason, method, channel, rating or extension hours
};
static_assert(sizeof(Ev) == 16);

struct Dossier {
  uint32_t day;  // the acceptance day, counted from options.first_day
  uint32_t seq;  // 1-based within the day
  uint16_t procedure;
  uint16_t reception_seconds;
  rules::Channel channel;
  bool omit_department;
  uint16_t department;  // the procedure's default holder
};

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// SplitMix64 as a stream: cheap to seed, so that each line and each applicant has its own.
class SplitMixEngine {
 public:
  explicit SplitMixEngine(uint64_t seed) : state_(seed) {}
  uint64_t operator()() {
    const uint64_t x = SplitMix(state_);
    state_ += 0x9e3779b97f4a7c15ULL;
    return x;
  }

 private:
  uint64_t state_;
};

template <typename Engine>
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  // [0, 1) from the top 53 bits: portable, unlike std distributions.
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double Uniform(double a, double b) { return a + (b - a) * Uniform(); }
  int64_t Between(int64_t a, int64_t b) {  // [a, b]
    return a + static_cast<int64_t>(Uniform() * static_cast<double>(b - a + 1));
  }
  Duration Between(Duration a, Duration b) { return Duration{Between(a.count(), b.count())}; }
  bool Chance(double p) { return Uniform() < p; }
  double LogNormal(double mu, double sigma) {
    double u1 = 1.0 - Uniform();
    double u2 = Uniform();
    double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    return std::exp(mu + sigma * z);
  }

 private:
  Engine engine_;
};
using StreamRng = Rng<std::mt19937_64>;  // the dossiers, one stream in arrival order
using LineRng = Rng<SplitMixEngine>;     // one line's form, or one applicant

template <typename T>
void AppendInt(std::string& out, T v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

// The national status code of each event type (contract section 1), 0 where it has none: the
// inverse of rules::EventTypeFromStatus.
std::array<int, rules::kEventTypeCount> StatusCodes() {
  constexpr int kLastStatus = 10;
  std::array<int, rules::kEventTypeCount> codes{};
  for (int status = 1; status <= kLastStatus; ++status) {
    const EventType type = rules::EventTypeFromStatus(status);
    if (type != EventType::kUnknown) codes[static_cast<size_t>(type)] = status;
  }
  return codes;
}

// The instant a local day begins in the calendar's time zone.
Instant LocalMidnight(const BusinessCalendar& calendar, CivilDay day) {
  const Instant local{day};
  return local - calendar.UtcOffsetAt(local - calendar.UtcOffsetAt(local));
}

// The calendar's Add. Past the end of its table (only a calendar with far less working time
// than its day_length a day gets there), the rest runs in calendar time: still valid events.
Instant AddWorkingTime(const BusinessCalendar& calendar, Instant t, Duration d) {
  if (std::optional<Instant> at = calendar.Add(t, d)) return *at;
  const Instant end = std::max(t, calendar.covered_until());
  return end + (d - calendar.Between(t, end));
}

// How a line is broken on purpose, and what the decoder or the engine says of it.
enum class Breakage : uint8_t {
  kNone,
  kTruncated,         // invalid_json
  kNoDossierId,       // missing_field
  kBadTime,           // invalid_field (missing_field when empty)
  kUnknownProcedure,  // on `accepted` only: unknown_procedure
};

class Writer {
 public:
  Writer(const rules::RulesConfig& rules, const BusinessCalendar& calendar,
         const GenerateOptions& options, const std::vector<Dossier>& dossiers, std::ostream& out)
      : rules_(rules),
        calendar_(calendar),
        options_(options),
        dossiers_(dossiers),
        out_(out),
        line_seed_(SplitMix(options.seed ^ 0x6f6e74696d65ULL)),
        status_codes_(StatusCodes()) {
    // "H12.22-YYMMDD-": the prefix of each acceptance day's dossier ids.
    id_prefixes_.reserve(static_cast<size_t>(options.days));
    for (int i = 0; i < options.days; ++i) {
      const std::string date = FormatDate(options.first_day + days{i});  // YYYY-MM-DD
      id_prefixes_.push_back("H12.22-" + date.substr(2, 2) + date.substr(5, 2) + date.substr(8, 2) +
                             "-");
    }
    buf_.reserve(kFlushBytes + 4096);
  }

  void Write(const Ev& e) {
    const size_t line_start = buf_.size();
    // The line's own draws: breaking it, or not, leaves every other line as it is.
    LineRng rng(line_seed_ ^ (static_cast<uint64_t>(e.dossier) << 8 | e.ordinal));
    Breakage breakage = Breakage::kNone;
    if (rng.Chance(options_.invalid_fraction)) {
      breakage = static_cast<Breakage>(rng.Between(1, 4));
      if (breakage == Breakage::kUnknownProcedure && e.type != EventType::kAccepted) {
        breakage = Breakage::kBadTime;
      }
    }
    const double style = rng.Uniform();
    const int status = status_codes_[static_cast<size_t>(e.type)];
    const bool cloud = breakage == Breakage::kNone && style < 0.01;
    const bool numeric = breakage == Breakage::kNone && !cloud && style < 0.02 && status != 0;
    const Dossier& d = dossiers_[e.dossier];

    if (cloud) {
      buf_ += R"({"specversion":"1.0","id":")";
      AppendDossierId(d);
      buf_.push_back('-');
      AppendInt(buf_, e.ordinal);
      buf_ += R"(","type":"vn.gov.dossier.)";
      buf_ += rules::ToString(e.type);
      buf_ += R"(","source":"/one-stop","subject":")";
      AppendDossierId(d);
      buf_ += R"(","time":)";
      streams::AppendJsonTime(buf_, e.t, calendar_);
      buf_ += R"(,"datacontenttype":"application/json","data":{)";
      const size_t mark = buf_.size();
      AppendDetails(e, d, false);
      if (buf_.size() > mark) buf_.erase(mark, 1);  // the details start with a comma
      buf_ += "}}\n";
    } else {
      buf_ += R"({"event_id":")";
      AppendDossierId(d);
      buf_.push_back('-');
      AppendInt(buf_, e.ordinal);
      if (numeric) {
        buf_ += R"(","status":)";
        AppendInt(buf_, status);
      } else {
        buf_ += R"(","type":")";
        buf_ += rules::ToString(e.type);
        buf_.push_back('"');
      }
      if (breakage != Breakage::kNoDossierId) {
        buf_ += R"(,"dossier_id":")";
        AppendDossierId(d);
        buf_.push_back('"');
      }
      buf_ += R"(,"occurred_at":)";
      if (breakage == Breakage::kBadTime) {
        static constexpr std::string_view kBad[] = {"2026-02-30T25:61:00+07:00", "yesterday",
                                                    "2026-03-02 09:00:00", ""};
        streams::AppendJsonString(buf_, kBad[rng.Between(0, std::size(kBad) - 1)]);
      } else {
        streams::AppendJsonTime(buf_, e.t, calendar_);
      }
      AppendDetails(e, d, breakage == Breakage::kUnknownProcedure);
      buf_ += "}\n";
      if (breakage == Breakage::kTruncated) {  // cut somewhere in the middle, keep the newline
        const size_t len = buf_.size() - line_start - 1;
        buf_.resize(line_start + len / 3 +
                    static_cast<size_t>(rng.Between(0, static_cast<int64_t>(len / 3))));
        buf_.push_back('\n');
      }
    }
    ++lines_;
    if (buf_.size() >= kFlushBytes) Flush();
  }

  void Flush() {
    out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
  }

  size_t lines() const { return lines_; }

 private:
  void AppendDossierId(const Dossier& d) {
    buf_ += id_prefixes_[d.day];
    const uint32_t seq = d.seq;
    if (seq < 10000) {
      const char digits[4] = {
          static_cast<char>('0' + seq / 1000), static_cast<char>('0' + seq / 100 % 10),
          static_cast<char>('0' + seq / 10 % 10), static_cast<char>('0' + seq % 10)};
      buf_.append(digits, 4);
    } else {
      AppendInt(buf_, seq);
    }
  }

  void AppendString(std::string_view key, std::string_view value) {
    buf_ += ",\"";
    buf_ += key;
    buf_ += "\":";
    streams::AppendJsonString(buf_, value);
  }

  // The type-specific fields, each preceded by a comma.
  void AppendDetails(const Ev& e, const Dossier& d, bool unknown_procedure) {
    switch (e.type) {
      case EventType::kAccepted: {
        const rules::Procedure& p = rules_.procedures[d.procedure];
        AppendString("procedure", unknown_procedure ? std::string_view("9.999999") : p.code);
        if (!d.omit_department) AppendString("department", p.department);
        AppendString("channel", rules::ToString(d.channel));
        if (d.channel == rules::Channel::kDirect) {
          buf_ += R"(,"reception_seconds":)";
          AppendInt(buf_, d.reception_seconds);
        }
        if (options_.with_applicant) AppendApplicant(e.dossier);
        break;
      }
      case EventType::kTransferred:
        AppendString("department", rules_.departments[e.param].code);
        break;
      case EventType::kSupplementRequested:
        AppendString("reason", kSupplementReasons[e.param % std::size(kSupplementReasons)]);
        break;
      case EventType::kFeePaid:
        AppendString("method", rules::ToString(static_cast<rules::PaymentMethod>(e.param)));
        break;
      case EventType::kWithdrawn: AppendString("reason", kWithdrawReason); break;
      case EventType::kStopped: AppendString("reason", kStopReason); break;
      case EventType::kRefused: AppendString("reason", kRefuseReason); break;
      case EventType::kExtended:
        buf_ += R"(,"due_at":)";
        streams::AppendJsonTime(buf_, e.t + std::chrono::hours(e.param), calendar_);
        AppendString("reason", kExtendReason);
        break;
      case EventType::kReturned:
        AppendString("return_channel", rules::ToString(static_cast<rules::ReturnChannel>(e.param)));
        break;
      case EventType::kRated:
        AppendString("rating", rules::ToString(static_cast<rules::Rating>(e.param)));
        break;
      default: break;
    }
  }

  // Derived from the dossier index alone, so it costs no draws from the main stream.
  void AppendApplicant(uint32_t dossier) {
    LineRng rng(SplitMix(options_.seed * 0x100000001b3ULL + dossier));
    const auto pick = [&rng](auto& list) { return list[rng.Between(0, std::size(list) - 1)]; };
    std::string& text = scratch_;
    buf_ += R"(,"applicant":{"name":)";
    text.assign(pick(kFamilyNames)).append(" ").append(pick(kMiddleNames)).append(" ");
    text.append(pick(kGivenNames));
    streams::AppendJsonString(buf_, text);
    buf_ += R"(,"address":)";
    text.assign("Số ");
    AppendInt(text, rng.Between(1, 250));
    text.append(" đường ").append(pick(kStreets)).append(", ").append(pick(kWards));
    text.append(", tỉnh Đắk Lắk");
    streams::AppendJsonString(buf_, text);
    buf_ += R"(,"phone":)";
    text.assign(pick(kPhonePrefixes));
    const int64_t digits = rng.Between(0, 9'999'999);
    for (int64_t div = 1'000'000; div > 0; div /= 10) {
      text.push_back(static_cast<char>('0' + digits / div % 10));
    }
    streams::AppendJsonString(buf_, text);
    if (rng.Chance(0.3)) {
      buf_ += R"(,"email":"congdan)";
      AppendInt(buf_, rng.Between(0, 999'999));
      buf_ += R"(@gmail.com")";
    }
    buf_.push_back('}');
  }

  const rules::RulesConfig& rules_;
  const BusinessCalendar& calendar_;
  const GenerateOptions& options_;
  const std::vector<Dossier>& dossiers_;
  std::ostream& out_;
  const uint64_t line_seed_;
  const std::array<int, rules::kEventTypeCount> status_codes_;
  std::vector<std::string> id_prefixes_;  // by day, from options.first_day
  std::string buf_;
  std::string scratch_;  // one applicant field at a time
  size_t lines_ = 0;
};

struct Pause {
  Duration at_work;  // working time consumed when the pause begins
  Duration length;   // calendar time
};

// One dossier's working-time clock: the instant at which some working time has run, with the
// pauses planned for it.
class DossierTimeline {
 public:
  DossierTimeline(const BusinessCalendar& calendar, Instant accepted)
      : calendar_(calendar), start_(accepted) {}
  void AddPause(Pause p) {
    pauses_.push_back(p);
    std::sort(pauses_.begin(), pauses_.end(),
              [](const Pause& a, const Pause& b) { return a.at_work < b.at_work; });
  }
  // The instant at which `work` of working time has run, pauses that began before it included.
  Instant At(Duration work) const {
    Instant t = start_;
    Duration done{};
    for (const Pause& p : pauses_) {
      if (p.at_work >= work) break;
      t = AddWorkingTime(calendar_, t, p.at_work - done) + p.length;
      done = p.at_work;
    }
    return AddWorkingTime(calendar_, t, work - done);
  }

 private:
  const BusinessCalendar& calendar_;
  Instant start_;
  std::vector<Pause> pauses_;
};

class Generator {
 public:
  Generator(const rules::RulesConfig& rules, const BusinessCalendar& calendar,
            const GenerateOptions& options, std::ostream& out)
      : rules_(rules),
        calendar_(calendar),
        options_(options),
        out_(out),
        rng_(options.seed),
        bucket_origin_(options.first_day - days{kLeadDays + 1}) {
    // Buckets are calendar days at one fixed offset, the first day's: monotonic in time even
    // where the zone's offset changes, which is all that ordering the output needs.
    bucket_offset_ = calendar.UtcOffsetAt(LocalMidnight(calendar, options.first_day));
    // Popularity falls with the position in the configuration (a mild Zipf law).
    double cum = 0;
    for (size_t i = 0; i < rules.procedures.size(); ++i) {
      cum += 1.0 / std::pow(static_cast<double>(i + 1), 0.8);
      procedure_cum_.push_back(cum);
    }
    for (size_t i = 0; i < rules.departments.size(); ++i) {
      if (rules.departments[i].code == "UBND") ubnd_ = static_cast<int>(i);
    }
  }

  size_t Run() {
    Writer writer(rules_, calendar_, options_, dossiers_, out_);
    for (int i = 0; i < options_.days; ++i) {
      const CivilDay day = options_.first_day + days{i};
      GenerateDay(day, static_cast<uint32_t>(i));
      // Nothing generated later can land before day + 1 - kLeadDays.
      FlushBefore(BucketOf(day + days{1 - kLeadDays}), writer);
    }
    FlushBefore(buckets_.size(), writer);
    writer.Flush();
    return writer.lines();
  }

 private:
  size_t BucketOf(CivilDay day) const {
    return static_cast<size_t>(std::max<int64_t>(0, (day - bucket_origin_).count()));
  }
  size_t BucketOf(Instant t) const {
    return BucketOf(std::chrono::floor<days>(t + bucket_offset_));
  }

  void Push(const Ev& e) {
    const size_t b = BucketOf(e.t);
    if (b >= buckets_.size()) buckets_.resize(b + 1);
    buckets_[b].push_back(e);
  }

  void FlushBefore(size_t bucket, Writer& writer) {
    const size_t limit = std::min(buckets_.size(), bucket);
    for (; flushed_ < limit; ++flushed_) {
      auto& events = buckets_[flushed_];
      std::sort(events.begin(), events.end(), [](const Ev& a, const Ev& b) {
        if (a.t != b.t) return a.t < b.t;
        if (a.dossier != b.dossier) return a.dossier < b.dossier;
        return a.ordinal < b.ordinal;
      });
      // The dossier table is large and visited in time order, i.e. at random: prefetch ahead.
      constexpr size_t kAhead = 8;
      for (size_t i = 0; i < events.size(); ++i) {
        if (i + kAhead < events.size()) __builtin_prefetch(&dossiers_[events[i + kAhead].dossier]);
        writer.Write(events[i]);
      }
      std::vector<Ev>().swap(events);
    }
  }

  Instant AddWork(Instant t, Duration d) const { return AddWorkingTime(calendar_, t, d); }

  void GenerateDay(CivilDay day, uint32_t day_index) {
    const Instant begin = LocalMidnight(calendar_, day);
    const Instant end = LocalMidnight(calendar_, day + days{1});
    const Duration total = calendar_.Between(begin, end);
    if (total <= Duration::zero()) return;
    const int count = static_cast<int>(options_.dossiers_per_day * rng_.Uniform(0.9, 1.1) + 0.5);
    std::vector<Instant> arrivals(static_cast<size_t>(std::max(count, 0)));
    for (Instant& a : arrivals) {
      const Duration w{static_cast<int64_t>(rng_.Uniform() * static_cast<double>(total.count()))};
      // The start of the day's (w + 1)th millisecond of working time, to the second: inside
      // working hours, also where a range begins.
      a = std::chrono::floor<std::chrono::seconds>(AddWork(begin, w + 1ms) - 1ms);
    }
    std::sort(arrivals.begin(), arrivals.end());
    uint32_t seq = 0;
    for (Instant a : arrivals) GenerateDossier(day_index, ++seq, a);
  }

  size_t PickProcedure() {
    const double u = rng_.Uniform() * procedure_cum_.back();
    auto it = std::upper_bound(procedure_cum_.begin(), procedure_cum_.end(), u);
    return std::min(static_cast<size_t>(it - procedure_cum_.begin()), procedure_cum_.size() - 1);
  }

  int DepartmentIndex(const std::string& code) const {
    for (size_t i = 0; i < rules_.departments.size(); ++i) {
      if (rules_.departments[i].code == code) return static_cast<int>(i);
    }
    return 0;
  }

  Instant Jitter(Instant t) {
    // Most systems stamp whole seconds; some keep milliseconds.
    const Instant whole = std::chrono::floor<std::chrono::seconds>(t);
    if (rng_.Chance(0.3)) return whole + rng_.Between(1ms, 999ms);
    return whole;
  }

  void GenerateDossier(uint32_t day, uint32_t seq, Instant accepted) {
    const uint32_t index = static_cast<uint32_t>(dossiers_.size());
    const size_t pi = PickProcedure();
    const rules::Procedure& proc = rules_.procedures[pi];
    Dossier d{};
    d.day = day;
    d.seq = seq;
    d.procedure = static_cast<uint16_t>(pi);
    const double ch = rng_.Uniform();
    d.channel = ch < 0.85   ? rules::Channel::kOnline
                : ch < 0.97 ? rules::Channel::kDirect
                            : rules::Channel::kPostal;
    if (d.channel == rules::Channel::kDirect) {
      // Lognormal with mean 798 s (13.3 min): mu = ln(798) - sigma^2 / 2, sigma = 0.6.
      const double s = rng_.LogNormal(std::log(798.0) - 0.18, 0.6);
      d.reception_seconds = static_cast<uint16_t>(std::clamp(s, 60.0, 7200.0));
    }
    d.omit_department = rng_.Chance(0.15);
    d.department = static_cast<uint16_t>(DepartmentIndex(proc.department));
    dossiers_.push_back(d);

    struct Item {
      Instant t;
      EventType type;
      uint16_t param;
    };
    Item items[16];
    int n = 0;
    const auto add = [&](Instant t, EventType type, uint16_t param = 0) {
      if (n < 16) items[n++] = Item{t, type, param};
    };

    if (d.channel == rules::Channel::kOnline) {
      add(Jitter(accepted - rng_.Between(5min, 18h)), EventType::kSubmitted);
    }
    add(accepted, EventType::kAccepted);

    const Duration budget = std::max<Duration>(proc.sla, 1h);
    const double outcome = rng_.Uniform();
    const double lateness = rng_.Uniform();
    if (outcome < 0.005) {
      add(Jitter(accepted + rng_.Between(2min, 90min)), EventType::kRefused);
      Emit(index, items, n);
      return;
    }
    const bool withdrawn = outcome < 0.015;
    const bool stopped = !withdrawn && outcome < 0.02;
    // The leading province publishes 99.8% on time: about 0.2% of dossiers end late.
    const bool extended = !withdrawn && !stopped && lateness < 0.001;
    const bool late = !withdrawn && !stopped && !extended && lateness < 0.002;

    double f;
    if (withdrawn) {
      f = rng_.Uniform(0.05, 0.6);
    } else if (stopped) {
      f = rng_.Uniform(0.2, 0.8);
    } else if (extended) {
      f = rng_.Uniform(1.05, 1.45);
    } else if (late) {
      f = rng_.Uniform(1.02, 1.5);
    } else {
      f = 0.05 + 0.93 * std::pow(rng_.Uniform(), 0.8);
    }
    const auto of = [](double share, Duration whole) {
      return Duration{static_cast<int64_t>(share * static_cast<double>(whole.count()))};
    };
    const Duration end_work = std::max<Duration>(of(f, budget), 1min);

    DossierTimeline timeline(calendar_, accepted);
    const bool supplement = !extended && rng_.Chance(0.10);
    Duration supplement_work{};
    Duration supplement_length{};
    if (supplement) {
      supplement_work = of(rng_.Uniform(0.1, 0.6), end_work);
      supplement_length = rng_.Between(days{1}, days{5});
      timeline.AddPause({supplement_work, supplement_length});
    }
    const bool fee = proc.pause_on_fee && !withdrawn && !stopped;
    Duration fee_work{};
    Duration fee_length{};
    if (fee) {
      fee_work = of(rng_.Uniform(0.8, 0.95), end_work);
      fee_length = rng_.Between(10min, days{2});
      timeline.AddPause({fee_work, fee_length});
    }
    const rules::PaymentMethod fee_method =
        rng_.Chance(0.7) ? rules::PaymentMethod::kOnline : rules::PaymentMethod::kCash;

    // Approval by another department (normally UBND) and back.
    int target = -1;
    bool step_budget = false;
    for (const auto& s : proc.steps) {
      const int di = DepartmentIndex(s.department);
      if (di != d.department) {
        target = di;
        step_budget = true;
        break;
      }
    }
    if (target < 0 && ubnd_ >= 0 && ubnd_ != d.department) target = ubnd_;
    const double transfer_draw = rng_.Uniform();
    const double transfer_at = rng_.Uniform(0.45, 0.65);
    const double transfer_len = rng_.Uniform(0.1, 0.25);
    if (target >= 0 && !withdrawn && (step_budget || transfer_draw < 0.30)) {
      const Duration out_work = of(transfer_at, end_work);
      const Duration back_work = of(transfer_at + transfer_len, end_work);
      if (out_work < end_work) {
        add(Jitter(timeline.At(out_work)), EventType::kTransferred, static_cast<uint16_t>(target));
      }
      if (back_work < end_work) {
        add(Jitter(timeline.At(back_work)), EventType::kTransferred, d.department);
      }
    }
    if (supplement) {
      const Instant at = timeline.At(supplement_work);
      add(Jitter(at), EventType::kSupplementRequested,
          static_cast<uint16_t>(rng_.Between(0, std::size(kSupplementReasons) - 1)));
      add(Jitter(at + supplement_length), EventType::kSupplementReceived);
    }
    if (fee) {
      const Instant at = timeline.At(fee_work);
      add(Jitter(at), EventType::kFeeRequested);
      add(Jitter(at + fee_length), EventType::kFeePaid, static_cast<uint16_t>(fee_method));
    }
    const double extension_days = rng_.Uniform(3, 8);
    if (extended) {
      const Instant at = timeline.At(of(0.85, budget));
      const Instant due = timeline.At(budget);
      const Instant new_due = due + days{static_cast<int>(extension_days)};
      const Instant ts = Jitter(at);
      add(ts, EventType::kExtended,
          static_cast<uint16_t>(std::chrono::ceil<std::chrono::hours>(new_due - ts).count()));
    }
    const Instant end = Jitter(timeline.At(end_work));
    if (withdrawn) {
      add(end, EventType::kWithdrawn);
    } else if (stopped) {
      add(end, EventType::kStopped);
    } else {
      add(end, EventType::kResolved);
      const double rc = rng_.Uniform();
      using rules::ReturnChannel;
      const ReturnChannel return_channel = rc < 0.10 ? ReturnChannel::kPostal
                                           : (d.channel == rules::Channel::kOnline && rc < 0.55)
                                               ? ReturnChannel::kOnline
                                               : ReturnChannel::kCounter;
      const Instant returned =
          Jitter(return_channel == ReturnChannel::kOnline ? end + rng_.Between(1min, 30min)
                                                          : AddWork(end, rng_.Between(5min, 8h)));
      add(returned, EventType::kReturned, static_cast<uint16_t>(return_channel));
      if (rng_.Uniform() < 0.40) {
        const double r = rng_.Uniform();
        const rules::Rating rating = r < 0.55   ? rules::Rating::kVerySatisfied
                                     : r < 0.96 ? rules::Rating::kSatisfied
                                                : rules::Rating::kDissatisfied;
        add(Jitter(returned + rng_.Between(1min, days{3})), EventType::kRated,
            static_cast<uint16_t>(rating));
      }
    }
    Emit(index, items, n);
  }

  // Queues one dossier's events in time order, at least a second apart.
  template <typename Item>
  void Emit(uint32_t index, Item* items, int n) {
    std::stable_sort(items, items + n, [](const Item& a, const Item& b) { return a.t < b.t; });
    for (int i = 0; i < n; ++i) {
      const Instant t = i == 0 ? items[i].t : std::max(items[i].t, items[i - 1].t + 1s);
      items[i].t = t;
      Push(Ev{t, index, static_cast<uint8_t>(i + 1), items[i].type, items[i].param});
    }
  }

  const rules::RulesConfig& rules_;
  const BusinessCalendar& calendar_;
  const GenerateOptions& options_;
  std::ostream& out_;
  StreamRng rng_;
  const CivilDay bucket_origin_;  // bucket 0: kLeadDays + 1 days before the first arrivals
  std::chrono::seconds bucket_offset_{};
  std::vector<double> procedure_cum_;
  int ubnd_ = -1;
  std::vector<Dossier> dossiers_;
  std::vector<std::vector<Ev>> buckets_;
  size_t flushed_ = 0;
};

}  // namespace

Result<size_t> GenerateEvents(const rules::RulesConfig& rules, const GenerateOptions& options,
                              std::ostream& out) {
  if (rules.procedures.empty() || rules.departments.empty() || options.days <= 0) {
    return size_t{0};
  }
  // The calendar's table runs from before the first `submitted` to well past the last arrival,
  // for the slowest dossier (1.6 budgets, pauses, extension, return and rating). A day more on
  // each side absorbs the time zone.
  Duration max_budget{};
  for (const auto& p : rules.procedures) max_budget = std::max(max_budget, p.sla);
  const Duration day_length = std::max<Duration>(rules.calendar.day_length, 1h);
  const int tail_days = static_cast<int>(2 * (max_budget / day_length)) + 60;
  const auto year_of = [](CivilDay day) {
    return static_cast<int>(std::chrono::year_month_day{day}.year());
  };
  auto calendar = rules::BusinessCalendar::Build(
      rules.calendar, year_of(options.first_day - days{kLeadDays + 2}),
      year_of(options.first_day + days{options.days + tail_days + 1}));
  if (!calendar.ok()) return calendar.error();
  Generator generator(rules, **calendar, options, out);
  return generator.Run();
}

}  // namespace ontime::testdata
