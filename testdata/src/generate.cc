#include "ontime/testdata/generate.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "ontime/rules/calendar.h"
#include "ontime/rules/event.h"

namespace ontime::testdata {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
// Events may precede their dossier's arrival day by this many days (online `submitted`).
constexpr int kLeadDays = 2;
constexpr size_t kFlushBytes = 1 << 20;

// The event types, in the engine's order (kStatusCodes follows it).
using Kind = rules::EventType;

// National status codes (contract section 1); 0 = none.
constexpr int kStatusCodes[] = {1, 2, 3, 4, 5, 0, 6, 0, 7, 8, 9, 10, 0, 0};

constexpr std::string_view kChannels[] = {"online", "direct", "postal"};
constexpr std::string_view kReturnChannels[] = {"counter", "postal", "online"};
constexpr std::string_view kRatings[] = {"very_satisfied", "satisfied", "dissatisfied"};
constexpr std::string_view kMethods[] = {"online", "cash"};

constexpr std::string_view kFamilyNames[] = {
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ",
    "Võ",     "Đặng", "Bùi", "Đỗ",  "Hồ",    "Ngô",   "Dương", "Lý"};
constexpr std::string_view kMiddleNames[] = {"Văn",   "Thị",   "Hữu",  "Đức",  "Minh",
                                             "Ngọc",  "Thanh", "Quốc", "Xuân", "Hoàng",
                                             "Thu",   "Gia"};
constexpr std::string_view kGivenNames[] = {
    "An",   "Bình", "Cường", "Dũng", "Giang", "Hà",   "Hải",  "Hạnh", "Hiếu",  "Hoa",
    "Hùng", "Hương", "Khánh", "Lan", "Linh",  "Long", "Mai",  "Nam",  "Nga",   "Phong",
    "Phương", "Quân", "Sơn", "Tâm",  "Thảo",  "Thủy", "Trang", "Tuấn", "Vy",   "Yến"};
constexpr std::string_view kStreets[] = {
    "Trần Hưng Đạo", "Lê Lợi",        "Nguyễn Huệ",  "Hai Bà Trưng", "Lý Thường Kiệt",
    "Quang Trung",   "Phan Chu Trinh", "Điện Biên Phủ", "Nguyễn Tất Thành", "Hùng Vương"};
constexpr std::string_view kWards[] = {
    "phường Tân Lập, TP. Buôn Ma Thuột",  "phường Thắng Lợi, TP. Buôn Ma Thuột",
    "phường Ea Tam, TP. Buôn Ma Thuột",   "xã Hòa Thắng, TP. Buôn Ma Thuột",
    "thị trấn Ea Kar, huyện Ea Kar",      "thị trấn Krông Năng, huyện Krông Năng",
    "phường An Lạc, thị xã Buôn Hồ",      "xã Ea Kao, TP. Buôn Ma Thuột"};
constexpr std::string_view kPhonePrefixes[] = {"090", "091", "093", "094", "096", "097",
                                               "098", "032", "035", "038", "077", "086"};

constexpr std::string_view kSupplementReasons[] = {
    "Thiếu bản sao giấy tờ tùy thân",
    "Bản vẽ thiết kế chưa đúng quy định",
    "Thiếu văn bản xác nhận của UBND cấp xã",
    "Thông tin trong tờ khai không khớp với giấy tờ kèm theo"};
constexpr std::string_view kWithdrawReason = "Công dân có đơn xin rút hồ sơ";
constexpr std::string_view kStopReason = "Hồ sơ không đủ điều kiện giải quyết (mẫu 05)";
constexpr std::string_view kRefuseReason = "Hồ sơ không thuộc thẩm quyền tiếp nhận";
constexpr std::string_view kExtendReason = "Cần xác minh thêm thông tin tại cơ quan liên quan";

// One event of the stream, compact: the rest is derived from the dossier when it is written.
struct Ev {
  int64_t t;         // UTC milliseconds
  uint32_t dossier;  // index into the dossier table
  uint8_t ordinal;   // 1-based position within the dossier; the event_id suffix
  Kind kind;
  uint16_t param;    // department, reason, method, channel, rating or extension hours
};
static_assert(sizeof(Ev) == 16);

struct Dossier {
  int32_t day;        // local civil day of acceptance (days since epoch)
  uint32_t seq;       // 1-based within the day
  uint16_t procedure;
  uint16_t reception_seconds;
  uint8_t channel;    // index into kChannels
  uint8_t omit_department;
  uint16_t department;  // the procedure's default holder
};

struct CivilFields {
  int y;
  unsigned m;
  unsigned d;
};

// Howard Hinnant's civil_from_days.
CivilFields CivilFromDays(int64_t z) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = static_cast<unsigned>(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1;
  unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int>(y + (m <= 2)), m, d};
}

// Working hours as a table of UTC intervals with cumulative working time: a small stand-in for
// BusinessCalendar built from the plain spec, so the generator has no dependency on it.
class WorkingTable {
 public:
  WorkingTable(const rules::CalendarSpec& spec, int64_t offset_ms, int64_t first_day,
               int64_t last_day)
      : spec_(spec), offset_ms_(offset_ms) {
    for (const auto& h : spec.holidays) holidays_.push_back(h.date.time_since_epoch().count());
    if (spec.builtin_holidays == rules::BuiltinHolidays::kVietnam) {
      int first_year = CivilFromDays(first_day).y;
      int last_year = CivilFromDays(last_day).y;
      for (int y = first_year; y <= last_year; ++y) {
        for (const auto& h : rules::VietnameseHolidays(y, spec.weekly)) {
          holidays_.push_back(h.date.time_since_epoch().count());
        }
      }
    }
    std::sort(holidays_.begin(), holidays_.end());
    for (int64_t d = first_day; d <= last_day; ++d) {
      int64_t cum = intervals_.empty() ? 0 : intervals_.back().cum_end;
      for (const auto& r : HoursOf(d)) {
        if (r.end_minute <= r.start_minute) continue;
        int64_t s = d * kDay + r.start_minute * kMinute - offset_ms_;
        int64_t e = d * kDay + r.end_minute * kMinute - offset_ms_;
        cum += e - s;
        intervals_.push_back({s, e, cum});
      }
    }
  }

  // The working hours of a local civil day: an explicit working day, else none on a holiday, else
  // the weekly hours.
  const std::vector<rules::TimeRange>& HoursOf(int64_t day) const {
    using namespace std::chrono;
    sys_days civil{days{day}};
    for (const auto& w : spec_.working_days) {
      if (w.date == civil) return w.hours;
    }
    if (std::binary_search(holidays_.begin(), holidays_.end(), day)) return kNoHours;
    unsigned iso = weekday{civil}.iso_encoding();  // 1 = Monday
    return spec_.weekly[iso - 1];
  }

  // The earliest t' >= t with d of working time in [t, t'] (contract section 3's Add).
  int64_t Add(int64_t t, int64_t d) const {
    if (d <= 0) return t;
    auto it = std::upper_bound(intervals_.begin(), intervals_.end(), t,
                               [](int64_t v, const Interval& iv) { return v < iv.end; });
    if (it == intervals_.end()) return t + d;
    int64_t begin_cum = it->cum_end - (it->end - std::max(t, it->start));
    int64_t target = begin_cum + d;
    auto jt = std::lower_bound(it, intervals_.end(), target,
                               [](const Interval& iv, int64_t v) { return iv.cum_end < v; });
    if (jt == intervals_.end()) return intervals_.back().end + (target - intervals_.back().cum_end);
    return jt->end - (jt->cum_end - target);
  }

 private:
  struct Interval {
    int64_t start;
    int64_t end;
    int64_t cum_end;  // working time from the table's start to `end`
  };
  static inline const std::vector<rules::TimeRange> kNoHours;
  const rules::CalendarSpec& spec_;
  int64_t offset_ms_;
  std::vector<int64_t> holidays_;  // local civil days, sorted
  std::vector<Interval> intervals_;
};

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  // [0, 1) from the top 53 bits: portable, unlike std distributions.
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double Uniform(double a, double b) { return a + (b - a) * Uniform(); }
  int64_t Between(int64_t a, int64_t b) {  // [a, b]
    return a + static_cast<int64_t>(Uniform() * static_cast<double>(b - a + 1));
  }
  bool Chance(double p) { return Uniform() < p; }
  double LogNormal(double mu, double sigma) {
    double u1 = 1.0 - Uniform();
    double u2 = Uniform();
    double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    return std::exp(mu + sigma * z);
  }

 private:
  std::mt19937_64 engine_;
};

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

void Append2(std::string& out, unsigned v) {
  out.push_back(static_cast<char>('0' + v / 10 % 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

template <typename T>
void AppendInt(std::string& out, T v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

class Writer {
 public:
  Writer(const rules::RulesConfig& rules, const GenerateOptions& options, int64_t offset_ms,
         int64_t first_day, const std::vector<Dossier>& dossiers, std::ostream& out)
      : rules_(rules),
        options_(options),
        offset_ms_(offset_ms),
        dossiers_(dossiers),
        out_(out),
        rng_(SplitMix(options.seed ^ 0x6f6e74696d65ULL)),
        first_id_day_(first_day) {
    int64_t off_min = offset_ms / kMinute;
    offset_text_.push_back(off_min < 0 ? '-' : '+');
    if (off_min < 0) off_min = -off_min;
    Append2(offset_text_, static_cast<unsigned>(off_min / 60));
    offset_text_.push_back(':');
    Append2(offset_text_, static_cast<unsigned>(off_min % 60));
    buf_.reserve(kFlushBytes + 4096);
  }

  void Write(const Ev& e) {
    size_t line_start = buf_.size();
    int invalid = -1;
    if (rng_.Chance(options_.invalid_fraction)) invalid = static_cast<int>(rng_.Between(0, 3));
    if (invalid == 3 && e.kind != Kind::kAccepted) invalid = 2;
    double style = rng_.Uniform();
    bool cloud = invalid < 0 && style < 0.01;
    bool numeric = invalid < 0 && !cloud && style < 0.02 &&
                   kStatusCodes[static_cast<int>(e.kind)] != 0;
    const Dossier& d = dossiers_[e.dossier];

    if (cloud) {
      buf_ += R"({"specversion":"1.0","id":")";
      AppendDossierId(d);
      buf_.push_back('-');
      AppendInt(buf_, e.ordinal);
      buf_ += R"(","type":"vn.gov.dossier.)";
      buf_ += rules::ToString(e.kind);
      buf_ += R"(","source":"/one-stop","subject":")";
      AppendDossierId(d);
      buf_ += R"(","time":")";
      AppendTime(e.t);
      buf_ += R"(","datacontenttype":"application/json","data":{)";
      size_t mark = buf_.size();
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
        AppendInt(buf_, kStatusCodes[static_cast<int>(e.kind)]);
      } else {
        buf_ += R"(","type":")";
        buf_ += rules::ToString(e.kind);
        buf_.push_back('"');
      }
      if (invalid != 1) {
        buf_ += R"(,"dossier_id":")";
        AppendDossierId(d);
        buf_.push_back('"');
      }
      buf_ += R"(,"occurred_at":")";
      if (invalid == 2) {
        static constexpr std::string_view kBad[] = {"2026-02-30T25:61:00+07:00", "yesterday",
                                                    "2026-03-02 09:00:00", ""};
        buf_ += kBad[rng_.Between(0, 3)];
      } else {
        AppendTime(e.t);
      }
      buf_.push_back('"');
      AppendDetails(e, d, invalid == 3);
      buf_ += "}\n";
      if (invalid == 0) {  // truncated: cut somewhere in the middle, keep the newline
        size_t len = buf_.size() - line_start - 1;
        buf_.resize(line_start + len / 3 + static_cast<size_t>(rng_.Between(0, len / 3)));
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
    // "H12.22-YYMMDD-": the prefix of the acceptance day, built once per day.
    size_t slot = static_cast<size_t>(d.day - first_id_day_);
    if (slot >= id_prefixes_.size()) id_prefixes_.resize(slot + 1);
    auto& prefix = id_prefixes_[slot];
    if (prefix[0] == 0) {
      CivilFields c = CivilFromDays(d.day);
      std::string p = "H12.22-";
      Append2(p, static_cast<unsigned>(c.y % 100));
      Append2(p, c.m);
      Append2(p, c.d);
      p.push_back('-');
      std::copy(p.begin(), p.end(), prefix.begin());
    }
    buf_.append(prefix.data(), prefix.size());
    uint32_t seq = d.seq;
    if (seq < 10000) {
      char digits[4] = {static_cast<char>('0' + seq / 1000),
                        static_cast<char>('0' + seq / 100 % 10),
                        static_cast<char>('0' + seq / 10 % 10), static_cast<char>('0' + seq % 10)};
      buf_.append(digits, 4);
    } else {
      AppendInt(buf_, seq);
    }
  }

  void AppendTime(int64_t t) {
    int64_t local = t + offset_ms_;
    int64_t day = FloorDiv(local, kDay);
    if (day != time_day_) {
      time_day_ = day;
      CivilFields c = CivilFromDays(day);
      time_prefix_.clear();
      AppendInt(time_prefix_, c.y);
      time_prefix_.push_back('-');
      Append2(time_prefix_, c.m);
      time_prefix_.push_back('-');
      Append2(time_prefix_, c.d);
      time_prefix_.push_back('T');
    }
    buf_ += time_prefix_;
    int64_t ms = local - day * kDay;
    Append2(buf_, static_cast<unsigned>(ms / kHour));
    buf_.push_back(':');
    Append2(buf_, static_cast<unsigned>(ms / kMinute % 60));
    buf_.push_back(':');
    Append2(buf_, static_cast<unsigned>(ms / kSecond % 60));
    if (unsigned frac = static_cast<unsigned>(ms % 1000); frac != 0) {
      buf_.push_back('.');
      buf_.push_back(static_cast<char>('0' + frac / 100));
      Append2(buf_, frac % 100);
    }
    buf_ += offset_text_;
  }

  void AppendString(std::string_view key, std::string_view value) {
    buf_ += ",\"";
    buf_ += key;
    buf_ += "\":\"";
    buf_ += value;
    buf_.push_back('"');
  }

  // The type-specific fields, each preceded by a comma.
  void AppendDetails(const Ev& e, const Dossier& d, bool unknown_procedure) {
    switch (e.kind) {
      case Kind::kAccepted: {
        const rules::Procedure& p = rules_.procedures[d.procedure];
        AppendString("procedure", unknown_procedure ? std::string_view("9.999999") : p.code);
        if (!d.omit_department) AppendString("department", p.department);
        AppendString("channel", kChannels[d.channel]);
        if (d.channel == 1) {
          buf_ += R"(,"reception_seconds":)";
          AppendInt(buf_, d.reception_seconds);
        }
        if (options_.with_applicant) AppendApplicant(e.dossier);
        break;
      }
      case Kind::kTransferred:
        AppendString("department", rules_.departments[e.param].code);
        break;
      case Kind::kSupplementRequested:
        AppendString("reason", kSupplementReasons[e.param % std::size(kSupplementReasons)]);
        break;
      case Kind::kFeePaid:
        AppendString("method", kMethods[e.param & 1]);
        break;
      case Kind::kWithdrawn:
        AppendString("reason", kWithdrawReason);
        break;
      case Kind::kStopped:
        AppendString("reason", kStopReason);
        break;
      case Kind::kRefused:
        AppendString("reason", kRefuseReason);
        break;
      case Kind::kExtended:
        buf_ += R"(,"due_at":")";
        AppendTime(e.t + static_cast<int64_t>(e.param) * kHour);
        buf_.push_back('"');
        AppendString("reason", kExtendReason);
        break;
      case Kind::kReturned:
        AppendString("return_channel", kReturnChannels[e.param % 3]);
        break;
      case Kind::kRated:
        AppendString("rating", kRatings[e.param % 3]);
        break;
      default:
        break;
    }
  }

  // Derived from the dossier index alone, so it costs no draws from the main stream.
  void AppendApplicant(uint32_t dossier) {
    uint64_t h = SplitMix(options_.seed * 0x100000001b3ULL + dossier);
    auto pick = [&h](size_t n) {
      size_t v = static_cast<size_t>(h % n);
      h = SplitMix(h);
      return v;
    };
    buf_ += R"(,"applicant":{"name":")";
    buf_ += kFamilyNames[pick(std::size(kFamilyNames))];
    buf_.push_back(' ');
    buf_ += kMiddleNames[pick(std::size(kMiddleNames))];
    buf_.push_back(' ');
    buf_ += kGivenNames[pick(std::size(kGivenNames))];
    buf_ += R"(","address":"Số )";
    AppendInt(buf_, 1 + pick(250));
    buf_ += " đường ";
    buf_ += kStreets[pick(std::size(kStreets))];
    buf_ += ", ";
    buf_ += kWards[pick(std::size(kWards))];
    buf_ += R"(, tỉnh Đắk Lắk","phone":")";
    buf_ += kPhonePrefixes[pick(std::size(kPhonePrefixes))];
    uint64_t digits = pick(10'000'000);
    for (uint64_t div = 1'000'000; div > 0; div /= 10) {
      buf_.push_back(static_cast<char>('0' + digits / div % 10));
    }
    buf_.push_back('"');
    if (pick(10) < 3) {
      buf_ += R"(,"email":"congdan)";
      AppendInt(buf_, pick(1'000'000));
      buf_ += R"(@gmail.com")";
    }
    buf_.push_back('}');
  }

  const rules::RulesConfig& rules_;
  const GenerateOptions& options_;
  int64_t offset_ms_;
  const std::vector<Dossier>& dossiers_;
  std::ostream& out_;
  Rng rng_;
  std::string buf_;
  std::string offset_text_;
  std::string time_prefix_;
  int64_t time_day_ = INT64_MIN;
  int64_t first_id_day_;
  std::vector<std::array<char, 14>> id_prefixes_;
  size_t lines_ = 0;
};

struct Pause {
  int64_t at_work;  // working time consumed when the pause begins
  int64_t length;   // calendar milliseconds
};

class DossierTimeline {
 public:
  DossierTimeline(const WorkingTable& table, int64_t accepted) : table_(table), start_(accepted) {}
  void AddPause(Pause p) {
    pauses_.push_back(p);
    std::sort(pauses_.begin(), pauses_.end(),
              [](const Pause& a, const Pause& b) { return a.at_work < b.at_work; });
  }
  // The instant at which `work` of working time has run, pauses that began before it included.
  int64_t At(int64_t work) const {
    int64_t t = start_;
    int64_t done = 0;
    for (const Pause& p : pauses_) {
      if (p.at_work >= work) break;
      t = table_.Add(t, p.at_work - done) + p.length;
      done = p.at_work;
    }
    return table_.Add(t, work - done);
  }

 private:
  const WorkingTable& table_;
  int64_t start_;
  std::vector<Pause> pauses_;
};

class Generator {
 public:
  Generator(const rules::RulesConfig& rules, const GenerateOptions& options, std::ostream& out)
      : rules_(rules), options_(options), out_(out), rng_(options.seed) {
    // One fixed offset: the one in force at `start` (+07:00 when the spec has none).
    offset_ms_ = 7 * kHour;
    for (const auto& change : rules.calendar.utc_offsets) {
      if (&change == &rules.calendar.utc_offsets.front() || change.from <= options.start) {
        offset_ms_ = static_cast<int64_t>(change.offset.count()) * kSecond;
      }
    }
    start_ms_ = options.start.time_since_epoch().count();
    first_day_ = FloorDiv(start_ms_ + offset_ms_, kDay);
    int64_t max_budget = 0;
    for (const auto& p : rules.procedures) {
      max_budget = std::max<int64_t>(max_budget, p.sla.count());
    }
    // Enough working days past the last arrival for the slowest dossier (1.6 budgets, pauses).
    int64_t day_length = std::max<int64_t>(rules.calendar.day_length.count(), kHour);
    int64_t tail_days = 2 * (max_budget / day_length) + 60;
    table_ = std::make_unique<WorkingTable>(rules.calendar, offset_ms_, first_day_ - kLeadDays - 1,
                                            first_day_ + options.days + tail_days);
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
    Writer writer(rules_, options_, offset_ms_, first_day_, dossiers_, out_);
    if (rules_.procedures.empty() || rules_.departments.empty()) return 0;
    for (int i = 0; i < options_.days; ++i) {
      int64_t day = first_day_ + i;
      GenerateDay(day);
      // Nothing generated later can land before day + 1 - kLeadDays.
      FlushBefore(day + 1 - kLeadDays, writer);
    }
    FlushBefore(INT64_MAX, writer);
    writer.Flush();
    return writer.lines();
  }

 private:
  size_t BucketOf(int64_t t) const {
    int64_t day = FloorDiv(t + offset_ms_, kDay);
    return static_cast<size_t>(std::max<int64_t>(0, day - (first_day_ - kLeadDays - 1)));
  }

  void Push(const Ev& e) {
    size_t b = BucketOf(e.t);
    if (b >= buckets_.size()) buckets_.resize(b + 1);
    buckets_[b].push_back(e);
  }

  void FlushBefore(int64_t day, Writer& writer) {
    size_t limit = day == INT64_MAX
                       ? buckets_.size()
                       : std::min(buckets_.size(), BucketOf(day * kDay - offset_ms_));
    for (; flushed_ < limit; ++flushed_) {
      auto& bucket = buckets_[flushed_];
      std::sort(bucket.begin(), bucket.end(), [](const Ev& a, const Ev& b) {
        if (a.t != b.t) return a.t < b.t;
        if (a.dossier != b.dossier) return a.dossier < b.dossier;
        return a.ordinal < b.ordinal;
      });
      // The dossier table is large and visited in time order, i.e. at random: prefetch ahead.
      constexpr size_t kAhead = 8;
      for (size_t i = 0; i < bucket.size(); ++i) {
        if (i + kAhead < bucket.size()) __builtin_prefetch(&dossiers_[bucket[i + kAhead].dossier]);
        writer.Write(bucket[i]);
      }
      std::vector<Ev>().swap(bucket);
    }
  }

  void GenerateDay(int64_t day) {
    // The day's working intervals (local minutes), clipped to the start instant.
    std::vector<std::pair<int64_t, int64_t>> spans;
    int64_t total = 0;
    for (const auto& r : table_->HoursOf(day)) {
      int64_t s = std::max(day * kDay + r.start_minute * kMinute - offset_ms_, start_ms_);
      int64_t e = day * kDay + r.end_minute * kMinute - offset_ms_;
      if (e <= s) continue;
      spans.emplace_back(s, e);
      total += e - s;
    }
    if (total == 0) return;
    int count = static_cast<int>(options_.dossiers_per_day * rng_.Uniform(0.9, 1.1) + 0.5);
    std::vector<int64_t> arrivals(static_cast<size_t>(count));
    for (auto& a : arrivals) {
      int64_t w = static_cast<int64_t>(rng_.Uniform() * static_cast<double>(total));
      for (const auto& [s, e] : spans) {
        if (w < e - s) {
          a = (s + w) / kSecond * kSecond;
          break;
        }
        w -= e - s;
      }
    }
    std::sort(arrivals.begin(), arrivals.end());
    uint32_t seq = 0;
    for (int64_t a : arrivals) GenerateDossier(static_cast<int32_t>(day), ++seq, a);
  }

  size_t PickProcedure() {
    double u = rng_.Uniform() * procedure_cum_.back();
    auto it = std::upper_bound(procedure_cum_.begin(), procedure_cum_.end(), u);
    return std::min(static_cast<size_t>(it - procedure_cum_.begin()), procedure_cum_.size() - 1);
  }

  int DepartmentIndex(const std::string& code) const {
    for (size_t i = 0; i < rules_.departments.size(); ++i) {
      if (rules_.departments[i].code == code) return static_cast<int>(i);
    }
    return 0;
  }

  int64_t Jitter(int64_t t) {
    // Most systems stamp whole seconds; some keep milliseconds.
    if (rng_.Chance(0.3)) return t / kSecond * kSecond + rng_.Between(1, 999);
    return t / kSecond * kSecond;
  }

  void GenerateDossier(int32_t day, uint32_t seq, int64_t accepted) {
    const uint32_t index = static_cast<uint32_t>(dossiers_.size());
    const size_t pi = PickProcedure();
    const rules::Procedure& proc = rules_.procedures[pi];
    Dossier d{};
    d.day = day;
    d.seq = seq;
    d.procedure = static_cast<uint16_t>(pi);
    double ch = rng_.Uniform();
    d.channel = ch < 0.85 ? 0 : ch < 0.97 ? 1 : 2;
    if (d.channel == 1) {
      // Lognormal with mean 798 s (13.3 min): mu = ln(798) - sigma^2 / 2, sigma = 0.6.
      double s = rng_.LogNormal(std::log(798.0) - 0.18, 0.6);
      d.reception_seconds = static_cast<uint16_t>(std::clamp(s, 60.0, 7200.0));
    }
    d.omit_department = rng_.Chance(0.15) ? 1 : 0;
    d.department = static_cast<uint16_t>(DepartmentIndex(proc.department));
    dossiers_.push_back(d);

    struct Item {
      int64_t t;
      Kind kind;
      uint16_t param;
    };
    Item items[16];
    int n = 0;
    auto add = [&](int64_t t, Kind k, uint16_t param = 0) {
      if (n < 16) items[n++] = Item{t, k, param};
    };

    if (d.channel == 0) {
      add(Jitter(accepted - rng_.Between(5 * kMinute, 18 * kHour)), Kind::kSubmitted);
    }
    add(accepted, Kind::kAccepted);

    const int64_t budget = std::max<int64_t>(proc.sla.count(), kHour);
    double outcome = rng_.Uniform();
    double lateness = rng_.Uniform();
    if (outcome < 0.005) {
      add(Jitter(accepted + rng_.Between(2 * kMinute, 90 * kMinute)), Kind::kRefused);
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
    const int64_t end_work = std::max<int64_t>(static_cast<int64_t>(f * budget), kMinute);

    DossierTimeline timeline(*table_, accepted);
    const bool supplement = !extended && rng_.Chance(0.10);
    int64_t supplement_work = 0;
    int64_t supplement_length = 0;
    if (supplement) {
      supplement_work = static_cast<int64_t>(rng_.Uniform(0.1, 0.6) * end_work);
      supplement_length = rng_.Between(1 * kDay, 5 * kDay);
      timeline.AddPause({supplement_work, supplement_length});
    }
    const bool fee = proc.pause_on_fee && !withdrawn && !stopped;
    int64_t fee_work = 0;
    int64_t fee_length = 0;
    if (fee) {
      fee_work = static_cast<int64_t>(rng_.Uniform(0.8, 0.95) * end_work);
      fee_length = rng_.Between(10 * kMinute, 2 * kDay);
      timeline.AddPause({fee_work, fee_length});
    }
    const uint16_t fee_method = rng_.Chance(0.7) ? 0 : 1;

    // Approval by another department (normally UBND) and back.
    int target = -1;
    bool step_budget = false;
    for (const auto& s : proc.steps) {
      int di = DepartmentIndex(s.department);
      if (di != d.department) {
        target = di;
        step_budget = true;
        break;
      }
    }
    if (target < 0 && ubnd_ >= 0 && ubnd_ != d.department) target = ubnd_;
    double transfer_draw = rng_.Uniform();
    double transfer_at = rng_.Uniform(0.45, 0.65);
    double transfer_len = rng_.Uniform(0.1, 0.25);
    if (target >= 0 && !withdrawn && (step_budget || transfer_draw < 0.30)) {
      int64_t out_work = static_cast<int64_t>(transfer_at * end_work);
      int64_t back_work = static_cast<int64_t>((transfer_at + transfer_len) * end_work);
      if (out_work < end_work) add(Jitter(timeline.At(out_work)), Kind::kTransferred,
                                   static_cast<uint16_t>(target));
      if (back_work < end_work) add(Jitter(timeline.At(back_work)), Kind::kTransferred,
                                    d.department);
    }
    if (supplement) {
      int64_t at = timeline.At(supplement_work);
      add(Jitter(at), Kind::kSupplementRequested,
          static_cast<uint16_t>(rng_.Between(0, std::size(kSupplementReasons) - 1)));
      add(Jitter(at + supplement_length), Kind::kSupplementReceived);
    }
    if (fee) {
      int64_t at = timeline.At(fee_work);
      add(Jitter(at), Kind::kFeeRequested);
      add(Jitter(at + fee_length), Kind::kFeePaid, fee_method);
    }
    double extension_days = rng_.Uniform(3, 8);
    if (extended) {
      int64_t at = timeline.At(static_cast<int64_t>(0.85 * budget));
      int64_t due = timeline.At(budget);
      int64_t new_due = due + static_cast<int64_t>(extension_days) * kDay;
      int64_t ts = Jitter(at);
      add(ts, Kind::kExtended, static_cast<uint16_t>((new_due - ts + kHour - 1) / kHour));
    }
    const int64_t end = Jitter(timeline.At(end_work));
    if (withdrawn) {
      add(end, Kind::kWithdrawn);
    } else if (stopped) {
      add(end, Kind::kStopped);
    } else {
      add(end, Kind::kResolved);
      double rc = rng_.Uniform();
      uint16_t return_channel = rc < 0.10 ? 1 : (d.channel == 0 && rc < 0.55) ? 2 : 0;
      int64_t returned = return_channel == 2
                             ? end + rng_.Between(1 * kMinute, 30 * kMinute)
                             : table_->Add(end, rng_.Between(5 * kMinute, 8 * kHour));
      returned = Jitter(returned);
      add(returned, Kind::kReturned, return_channel);
      double rate = rng_.Uniform();
      if (rate < 0.40) {
        double r = rng_.Uniform();
        uint16_t rating = r < 0.55 ? 0 : r < 0.96 ? 1 : 2;
        add(Jitter(returned + rng_.Between(1 * kMinute, 3 * kDay)), Kind::kRated, rating);
      }
    }
    Emit(index, items, n);
  }

  template <typename Item>
  void Emit(uint32_t index, Item* items, int n) {
    std::stable_sort(items, items + n, [](const Item& a, const Item& b) { return a.t < b.t; });
    int64_t last = INT64_MIN;
    for (int i = 0; i < n; ++i) {
      int64_t t = std::max(items[i].t, last == INT64_MIN ? INT64_MIN : last + kSecond);
      last = t;
      Push(Ev{t, index, static_cast<uint8_t>(i + 1), items[i].kind, items[i].param});
    }
  }

  const rules::RulesConfig& rules_;
  const GenerateOptions& options_;
  std::ostream& out_;
  Rng rng_;
  int64_t offset_ms_ = 0;
  int64_t start_ms_ = 0;
  int64_t first_day_ = 0;
  std::unique_ptr<WorkingTable> table_;
  std::vector<double> procedure_cum_;
  int ubnd_ = -1;
  std::vector<Dossier> dossiers_;
  std::vector<std::vector<Ev>> buckets_;
  size_t flushed_ = 0;
};

}  // namespace

size_t GenerateEvents(const rules::RulesConfig& rules, const GenerateOptions& options,
                      std::ostream& out) {
  Generator generator(rules, options, out);
  return generator.Run();
}

}  // namespace ontime::testdata
