#include "ontime/daemon/config.h"

#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>

#include "kafka_check.h"
#include "ontime/daemon/address.h"
#include "ontime/daemon/time_zone.h"
#include "ontime/rules/duration.h"

namespace ontime::daemon {
namespace {

using YAML::Node;
using namespace std::chrono_literals;

constexpr Duration kCalendarDay = 24h;  // what "d" means in wall-clock durations
constexpr std::array<std::string_view, 7> kDayNames = {"mon", "tue", "wed", "thu",
                                                       "fri", "sat", "sun"};

// A key that is absent or has no value ("sla:" or "sla: ~") counts as not given.
bool Given(const Node& node) { return node.IsDefined() && !node.IsNull(); }

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string Index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// How a node looks, for "expected X, got Y".
std::string Describe(const Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: return Quote(node.Scalar());
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    default: return "nothing";
  }
}

// "HH:MM" with HH 00..24 (24 only as "24:00"); minutes from midnight, or -1.
int ParseClock(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return -1;
  for (size_t i : {0, 1, 3, 4}) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return -1;
  }
  const int hours = (text[0] - '0') * 10 + (text[1] - '0');
  const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (minutes > 59 || hours > 24 || (hours == 24 && minutes != 0)) return -1;
  return hours * 60 + minutes;
}

// "07:30-11:30": increasing, non-empty; "24:00" may only end it.
std::optional<rules::TimeRange> ParseTimeRange(std::string_view text) {
  if (text.size() != 11 || text[5] != '-') return std::nullopt;
  const int start = ParseClock(text.substr(0, 5));
  const int end = ParseClock(text.substr(6));
  if (start < 0 || end < 0 || start >= 24 * 60 || start >= end) return std::nullopt;
  return rules::TimeRange{start, end};
}

int DayIndex(std::string_view name) {
  for (size_t i = 0; i < kDayNames.size(); ++i) {
    if (kDayNames[i] == name) return static_cast<int>(i);
  }
  return -1;
}

// "mon" or "mon-fri" (in week order, Monday first): [first, last] day indices.
std::optional<std::pair<int, int>> ParseDays(std::string_view key) {
  const size_t dash = key.find('-');
  if (dash == std::string_view::npos) {
    const int day = DayIndex(key);
    if (day < 0) return std::nullopt;
    return std::pair{day, day};
  }
  const int first = DayIndex(key.substr(0, dash));
  const int last = DayIndex(key.substr(dash + 1));
  if (first < 0 || last < 0 || first > last) return std::nullopt;
  return std::pair{first, last};
}

// Walks the YAML tree once, filling a Config and collecting every error with its path and its
// position, so the report comes out in document order whatever order the sections are read in.
class Loader {
 public:
  explicit Loader(std::string source) : source_(std::move(source)) {}

  ConfigResult Load(const Node& root) {
    Config config;
    config.source_path = source_;
    Node top = root;
    if (top.IsNull()) top = Node(YAML::NodeType::Map);
    if (!top.IsMap()) {
      Fail(source_, "expected a map of sections, got " + Describe(top), top);
    } else {
      LoadTop(top, config);
    }
    ConfigResult result;
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const Located& a, const Located& b) { return a.position < b.position; });
    for (Located& error : errors_) result.errors.push_back(std::move(error.error));
    if (result.errors.empty()) result.config = std::move(config);
    return result;
  }

  // Anything yaml-cpp throws past the checks below ends up here, as one more error.
  void FailInternal(const std::string& what) { Fail(source_, what, Node()); }
  ConfigResult Errors() {
    ConfigResult result;
    for (Located& error : errors_) result.errors.push_back(std::move(error.error));
    return result;
  }

 private:
  struct Located {
    std::pair<int, int> position;  // (line, column); unknown positions sort last
    ConfigError error;
  };

  // The known keys of one map, first occurrence each; unknown and repeated keys are reported.
  class Fields {
   public:
    Node Get(std::string_view key) const {
      const auto it = nodes_.find(key);
      return it == nodes_.end() || it->second.IsNull() ? Node() : it->second;
    }
    bool Has(std::string_view key) const { return Given(Get(key)); }

   private:
    friend class Loader;
    std::map<std::string, Node, std::less<>> nodes_;
  };

  void Fail(std::string path, std::string message, const Node& at) {
    std::pair<int, int> position{INT_MAX, INT_MAX};
    if (at.IsDefined()) {
      const YAML::Mark mark = at.Mark();
      if (mark.pos >= 0) position = {mark.line, mark.column};
    }
    errors_.push_back({position, {std::move(path), std::move(message)}});
  }

  bool ExpectMap(const Node& node, const std::string& path) {
    if (node.IsMap()) return true;
    Fail(path, "expected a map, got " + Describe(node), node);
    return false;
  }

  bool ExpectList(const Node& node, const std::string& path) {
    if (node.IsSequence()) return true;
    Fail(path, "expected a list, got " + Describe(node), node);
    return false;
  }

  // Calls visit(key, value, path_of_value) for each entry, in order; reports non-string and
  // repeated keys (yaml-cpp accepts both silently).
  template <typename Visit>
  void ForEachEntry(const Node& map, const std::string& path, Visit&& visit) {
    std::set<std::string, std::less<>> seen;
    for (const auto& entry : map) {
      const Node& key = entry.first;
      if (!key.IsScalar()) {
        Fail(path, "a key must be a string, got " + Describe(key), key);
        continue;
      }
      const std::string& name = key.Scalar();
      if (!seen.insert(name).second) {
        Fail(Join(path, name), "key " + Quote(name) + " given twice", key);
        continue;
      }
      visit(name, entry.second, Join(path, name), key);
    }
  }

  Fields GetFields(const Node& map, const std::string& path,
                   std::initializer_list<std::string_view> known) {
    Fields fields;
    ForEachEntry(map, path,
                 [&](const std::string& name, const Node& value, const std::string& value_path,
                     const Node& key) {
                   if (std::find(known.begin(), known.end(), name) == known.end()) {
                     Fail(value_path, "unknown key " + Quote(name), key);
                     return;
                   }
                   fields.nodes_.emplace(name, value);
                 });
    return fields;
  }

  void FailMissing(const std::string& path, const Node& parent) {
    Fail(path, "missing (required)", parent);
  }

  std::optional<std::string> String(const Node& node, const std::string& path) {
    if (!node.IsScalar()) {
      Fail(path, "expected a string, got " + Describe(node), node);
      return std::nullopt;
    }
    return node.Scalar();
  }

  // Sets `out` from an optional, non-empty string field.
  void NonEmptyString(const Fields& fields, std::string_view key, const std::string& path,
                      std::string& out) {
    const Node node = fields.Get(key);
    if (!Given(node)) return;
    const std::string field_path = Join(path, key);
    if (auto text = String(node, field_path)) {
      if (text->empty()) {
        Fail(field_path, "must not be empty", node);
      } else {
        out = *text;
      }
    }
  }

  void OptionalString(const Fields& fields, std::string_view key, const std::string& path,
                      std::string& out) {
    const Node node = fields.Get(key);
    if (!Given(node)) return;
    if (auto text = String(node, Join(path, key))) out = *text;
  }

  // A duration of working time ("2d4h"; d = day_length) that must be > 0.
  std::optional<Duration> PositiveDuration(const Node& node, const std::string& path,
                                           Duration day_length) {
    const auto text = String(node, path);
    if (!text) return std::nullopt;
    const auto duration = rules::ParseDuration(*text, day_length);
    if (!duration) {
      Fail(path, Quote(*text) + " is not a duration", node);
      return std::nullopt;
    }
    if (*duration <= Duration::zero()) {
      Fail(path, "must be more than 0", node);
      return std::nullopt;
    }
    return duration;
  }

  std::optional<Duration> WorkingDuration(const Node& node, const std::string& path) {
    return PositiveDuration(node, path, day_length_);
  }

  // Wall-clock durations of the daemon's own settings: "d" is 24 hours.
  std::optional<Duration> WallDuration(const Node& node, const std::string& path) {
    return PositiveDuration(node, path, kCalendarDay);
  }

  std::optional<std::chrono::seconds> WallSeconds(const Node& node, const std::string& path) {
    const auto duration = WallDuration(node, path);
    if (!duration) return std::nullopt;
    if (*duration < 1s) {
      Fail(path, "must be at least 1s", node);
      return std::nullopt;
    }
    return std::chrono::duration_cast<std::chrono::seconds>(*duration);
  }

  std::optional<rules::Threshold> Threshold(const Node& node, const std::string& path) {
    const auto text = String(node, path);
    if (!text) return std::nullopt;
    const auto threshold = rules::ParseThreshold(*text, day_length_);
    if (!threshold) {
      Fail(path,
           Quote(*text) + (!text->empty() && text->back() == '%'
                               ? " is not a percentage (more than 0%, at most 100%)"
                               : " is not a duration or a percentage"),
           node);
    }
    return threshold;
  }

  std::optional<rules::OnSupplement> OnSupplement(const Node& node, const std::string& path) {
    const auto text = String(node, path);
    if (!text) return std::nullopt;
    if (*text == "pause") return rules::OnSupplement::kPause;
    if (*text == "restart") return rules::OnSupplement::kRestart;
    Fail(path, Quote(*text) + " is not one of: pause, restart", node);
    return std::nullopt;
  }

  // "07:30-11:30" items, increasing and not overlapping.
  std::optional<std::vector<rules::TimeRange>> Ranges(const Node& node, const std::string& path) {
    if (!ExpectList(node, path)) return std::nullopt;
    std::vector<rules::TimeRange> ranges;
    bool ok = true;
    std::string previous;
    for (size_t i = 0; i < node.size(); ++i) {
      const Node item = node[i];
      const std::string item_path = Index(path, i);
      const auto text = String(item, item_path);
      if (!text) {
        ok = false;
        continue;
      }
      const auto range = ParseTimeRange(*text);
      if (!range) {
        Fail(item_path, Quote(*text) + " is not a time range", item);
        ok = false;
        continue;
      }
      if (!ranges.empty() && range->start_minute < ranges.back().end_minute) {
        Fail(item_path, Quote(*text) + " must start at or after the end of " + Quote(previous),
             item);
        ok = false;
        continue;
      }
      ranges.push_back(*range);
      previous = *text;
    }
    if (!ok) return std::nullopt;
    return ranges;
  }

  std::optional<CivilDay> Date(const Node& node, const std::string& path) {
    const auto text = String(node, path);
    if (!text) return std::nullopt;
    const auto day = ParseDate(*text);
    if (!day) Fail(path, Quote(*text) + " is not a date (YYYY-MM-DD)", node);
    return day;
  }

  // calendar.day_length decides what every "d" means, so it is read before anything else;
  // its errors are reported when the calendar section is walked.
  static Duration PeekDayLength(const Node& top) {
    const Node calendar = top["calendar"];
    if (!calendar.IsDefined() || !calendar.IsMap()) return rules::CalendarSpec{}.day_length;
    const Node node = calendar["day_length"];
    if (!node.IsDefined() || !node.IsScalar()) return rules::CalendarSpec{}.day_length;
    const auto day_length = rules::ParseDuration(node.Scalar(), kCalendarDay);
    if (!day_length || *day_length <= Duration::zero() || *day_length > kCalendarDay) {
      return rules::CalendarSpec{}.day_length;
    }
    return *day_length;
  }

  void LoadTop(const Node& top, Config& config) {
    day_length_ = PeekDayLength(top);
    const Fields fields =
        GetFields(top, "",
                  {"calendar", "defaults", "escalation", "departments", "procedures", "kafka",
                   "http", "alertmanager", "ingest", "output", "retention", "state", "log",
                   "letters", "state_dir", "snapshot_interval", "predict"});
    rules::RulesConfig& rules = config.rules;
    LoadCalendar(fields.Get("calendar"), top, rules.calendar);
    rules.defaults.at_risk_remaining = rules::Threshold{false, 0, day_length_};
    rules.defaults.apology_extension = 5 * day_length_;
    std::optional<Node> letter_limit;  // defaults.max_apology_letters, when set above 0
    if (const Node node = fields.Get("defaults"); Given(node)) {
      letter_limit = LoadDefaults(node, "defaults", rules.defaults);
    }
    if (const Node node = fields.Get("escalation"); Given(node)) {
      if (ExpectMap(node, "escalation")) rules.escalation = Contact(node, "escalation");
    } else if (letter_limit) {
      // Reported where the limit is set: that is the line to read with it.
      Fail("escalation", "required when defaults.max_apology_letters is set", *letter_limit);
    }
    if (const Node node = fields.Get("departments"); Given(node)) {
      LoadDepartments(node, "departments", rules.departments);
    }
    if (const Node node = fields.Get("procedures"); Given(node)) {
      LoadProcedures(node, "procedures", rules.procedures);
    }
    if (const Node node = fields.Get("kafka"); Given(node)) {
      LoadKafka(node, "kafka", config.kafka);
    }
    if (const Node node = fields.Get("http"); Given(node)) {
      LoadHttp(node, "http", config.http);
    }
    if (const Node node = fields.Get("alertmanager"); Given(node)) {
      LoadAlertmanager(node, "alertmanager", config.alertmanager);
    }
    if (const Node node = fields.Get("ingest"); Given(node) && ExpectMap(node, "ingest")) {
      const Fields ingest = GetFields(node, "ingest", {"max_clock_skew"});
      if (const Node skew = ingest.Get("max_clock_skew"); Given(skew)) {
        if (auto value = WallDuration(skew, "ingest.max_clock_skew")) {
          config.ingest.max_clock_skew = *value;
        }
      }
    }
    if (const Node node = fields.Get("output"); Given(node) && ExpectMap(node, "output")) {
      const Fields output = GetFields(node, "output", {"max_age"});
      if (const Node age = output.Get("max_age"); Given(age)) {
        if (auto value = WallDuration(age, "output.max_age")) config.output.max_age = *value;
      }
    }
    if (const Node node = fields.Get("retention"); Given(node) && ExpectMap(node, "retention")) {
      const Fields retention = GetFields(node, "retention", {"closed"});
      if (const Node closed = retention.Get("closed"); Given(closed)) {
        if (auto value = WallDuration(closed, "retention.closed")) {
          if (*value < std::chrono::hours(1) || *value > std::chrono::hours(24 * 365 * 100)) {
            Fail("retention.closed", "must be between 1h and 100 years", closed);
          } else {
            config.retention.closed = *value;
          }
        }
      }
    }
    if (const Node node = fields.Get("state"); Given(node) && ExpectMap(node, "state")) {
      const Fields state = GetFields(node, "state", {"checkpoint_interval", "standby_replicas"});
      if (const Node interval = state.Get("checkpoint_interval"); Given(interval)) {
        if (interval.IsScalar() && interval.Scalar() == "0") {
          config.state.checkpoint_interval = std::chrono::milliseconds::zero();
        } else if (auto value = WallDuration(interval, "state.checkpoint_interval")) {
          if (*value < 1s || *value > std::chrono::hours(24)) {
            Fail("state.checkpoint_interval", "must be 0 (no checkpoints) or between 1s and 24h",
                 interval);
          } else {
            config.state.checkpoint_interval = *value;
          }
        }
      }
      if (const Node replicas = state.Get("standby_replicas"); Given(replicas)) {
        int value = -1;
        if (!replicas.IsScalar() || !YAML::convert<int>::decode(replicas, value) || value < 0 ||
            value > 16) {
          Fail("state.standby_replicas", Describe(replicas) + " is not a count from 0 to 16",
               replicas);
        } else if (value > 0 && config.state.checkpoint_interval == Duration::zero()) {
          Fail("state.standby_replicas",
               "needs checkpoints: state.checkpoint_interval is 0 (no checkpoints)", replicas);
        } else {
          config.state.standby_replicas = value;
        }
      }
    }
    if (const Node node = fields.Get("predict"); Given(node)) {
      LoadPredict(node, "predict", rules.predict);
    }
    if (const Node node = fields.Get("log"); Given(node)) LoadLog(node, "log", config.log);
    if (const Node node = fields.Get("letters"); Given(node)) {
      LoadLetters(node, "letters", config.letters);
    }
    NonEmptyString(fields, "state_dir", "", config.state_dir);
    if (const Node node = fields.Get("snapshot_interval"); Given(node)) {
      // Each snapshot flushes the producer and asks the broker for the output topics' ends.
      if (auto interval = WallDuration(node, "snapshot_interval")) {
        if (*interval < 1s) {
          Fail("snapshot_interval", "must be at least 1s", node);
        } else {
          config.snapshot_interval = *interval;
        }
      }
    }
  }

  void LoadCalendar(const Node& node, const Node& top, rules::CalendarSpec& calendar) {
    const std::string path = "calendar";
    calendar.day_length = day_length_;
    Fields fields;
    if (Given(node) && ExpectMap(node, path)) {
      fields = GetFields(node, path,
                         {"timezone", "working_hours", "day_length", "holidays", "builtin_holidays",
                          "working_days"});
    } else if (!Given(node)) {
      FailMissing(Join(path, "working_hours"), top);
    }

    if (const Node day_length = fields.Get("day_length"); Given(day_length)) {
      if (const auto value = PositiveDuration(day_length, Join(path, "day_length"), kCalendarDay);
          value && *value > kCalendarDay) {
        Fail(Join(path, "day_length"), "must be at most 24h", day_length);
      }
    }

    if (const Node timezone = fields.Get("timezone"); Given(timezone)) {
      if (auto name = String(timezone, Join(path, "timezone"))) calendar.timezone = *name;
    }
    auto offsets = LoadUtcOffsets(calendar.timezone);
    if (offsets.ok()) {
      calendar.utc_offsets = std::move(offsets.value());
    } else {
      Fail(Join(path, "timezone"), offsets.error().message,
           Given(fields.Get("timezone")) ? fields.Get("timezone") : node);
    }

    if (const Node hours = fields.Get("working_hours"); Given(hours)) {
      LoadWeeklyHours(hours, Join(path, "working_hours"), calendar.weekly);
    } else if (node.IsMap()) {
      FailMissing(Join(path, "working_hours"), node);
    }

    if (const Node holidays = fields.Get("holidays"); Given(holidays)) {
      LoadHolidays(holidays, Join(path, "holidays"), calendar.holidays);
    }

    if (const Node builtin = fields.Get("builtin_holidays"); Given(builtin)) {
      const std::string builtin_path = Join(path, "builtin_holidays");
      if (auto text = String(builtin, builtin_path)) {
        if (*text == "vn") {
          calendar.builtin_holidays = rules::BuiltinHolidays::kVietnam;
        } else if (*text == "none") {
          calendar.builtin_holidays = rules::BuiltinHolidays::kNone;
        } else {
          Fail(builtin_path, Quote(*text) + " is not one of: vn, none", builtin);
        }
      }
    }

    if (const Node days = fields.Get("working_days"); Given(days)) {
      const std::string days_path = Join(path, "working_days");
      if (ExpectMap(days, days_path)) {
        ForEachEntry(days, days_path,
                     [&](const std::string& name, const Node& value, const std::string& day_path,
                         const Node& key) {
                       const auto day = ParseDate(name);
                       if (!day) Fail(day_path, Quote(name) + " is not a date (YYYY-MM-DD)", key);
                       auto ranges = Ranges(value, day_path);
                       if (ranges && ranges->empty()) {
                         Fail(day_path, "a working day needs at least one time range", value);
                         ranges.reset();
                       }
                       if (day && ranges) calendar.working_days.push_back({*day, *ranges});
                     });
      }
    }
  }

  void LoadWeeklyHours(const Node& node, const std::string& path, rules::WeeklyHours& weekly) {
    if (!ExpectMap(node, path)) return;
    std::array<std::string, 7> given_by;  // the key that set each day, to report repeats
    bool any_hours = false;
    const size_t errors_before = errors_.size();
    ForEachEntry(
        node, path,
        [&](const std::string& name, const Node& value, const std::string& day_path,
            const Node& key) {
          const auto days = ParseDays(name);
          if (!days) {
            Fail(day_path, Quote(name) + " is not a day (mon..sun) or a range of days (mon-fri)",
                 key);
            return;
          }
          auto ranges = Ranges(value, day_path);
          for (int day = days->first; day <= days->second; ++day) {
            if (!given_by[day].empty()) {
              Fail(day_path,
                   std::string(kDayNames[day]) + " is already given by " + Quote(given_by[day]),
                   key);
              continue;
            }
            given_by[day] = name;
            if (ranges) {
              weekly[day] = *ranges;
              any_hours = any_hours || !ranges->empty();
            }
          }
        });
    if (!any_hours && errors_.size() == errors_before) {
      Fail(path, "no working hours on any day of the week", node);
    }
  }

  void LoadHolidays(const Node& node, const std::string& path,
                    std::vector<rules::NamedDay>& holidays) {
    if (!ExpectList(node, path)) return;
    for (size_t i = 0; i < node.size(); ++i) {
      const Node item = node[i];
      const std::string item_path = Index(path, i);
      if (item.IsMap()) {
        const Fields fields = GetFields(item, item_path, {"date", "name"});
        rules::NamedDay holiday;
        OptionalString(fields, "name", item_path, holiday.name);
        if (!fields.Has("date")) {
          FailMissing(Join(item_path, "date"), item);
        } else if (auto day = Date(fields.Get("date"), Join(item_path, "date"))) {
          holiday.date = *day;
          holidays.push_back(std::move(holiday));
        }
      } else if (item.IsScalar()) {
        if (auto day = Date(item, item_path)) holidays.push_back({*day, ""});
      } else {
        Fail(item_path, "expected a date or {date, name}, got " + Describe(item), item);
      }
    }
  }

  // A number in (low, high] (or [low, high] when `closed_low`), as written.
  std::optional<double> Fraction(const Node& node, const std::string& path, bool closed_low,
                                 double high) {
    double value = -1;
    const bool in_range = node.IsScalar() && YAML::convert<double>::decode(node, value) &&
                          (closed_low ? value >= 0 : value > 0) && value <= high;
    if (!in_range) {
      Fail(path,
           Describe(node) + " is not a number " + (closed_low ? "from 0" : "above 0") + " to " +
               (high == 1 ? "1" : "below 1"),
           node);
      return std::nullopt;
    }
    return value;
  }

  // predict: {threshold, min_history, fractions}; present = predicted_late on.
  void LoadPredict(const Node& node, const std::string& path,
                   std::optional<rules::PredictConfig>& predict) {
    rules::PredictConfig config;
    if (!node.IsMap() && !(node.IsScalar() && node.Scalar().empty())) {
      ExpectMap(node, path);
      return;
    }
    const Fields fields =
        node.IsMap() ? GetFields(node, path, {"threshold", "min_history", "fractions"}) : Fields();
    if (const Node threshold = fields.Get("threshold"); Given(threshold)) {
      if (auto value = Fraction(threshold, Join(path, "threshold"), false, 1)) {
        config.threshold = *value;
      }
    }
    if (const Node min_history = fields.Get("min_history"); Given(min_history)) {
      const std::string min_path = Join(path, "min_history");
      if (auto value = Count(min_history, min_path)) {
        if (*value < 1) {
          Fail(min_path, "must be 1 or more", min_history);
        } else {
          config.min_history = *value;
        }
      }
    }
    if (const Node fractions = fields.Get("fractions"); Given(fractions)) {
      const std::string list_path = Join(path, "fractions");
      if (ExpectList(fractions, list_path)) {
        std::vector<double> values;
        bool ok = true;
        for (size_t i = 0; i < fractions.size(); ++i) {
          const Node item = fractions[i];
          const std::string item_path = Index(list_path, i);
          auto value = Fraction(item, item_path, false, std::nextafter(1.0, 0.0));
          if (!value) {
            ok = false;
            continue;
          }
          if (!values.empty() && !(*value > values.back())) {
            Fail(item_path, "must be above the fraction before it", item);
            ok = false;
          }
          values.push_back(*value);
        }
        if (values.size() > 32) {
          Fail(list_path, "at most 32 fractions", fractions);
          ok = false;
        }
        if (ok) config.fractions = std::move(values);
      }
    }
    predict = std::move(config);
  }

  // Returns the node of max_apology_letters when it sets a limit (escalation is then required).
  std::optional<Node> LoadDefaults(const Node& node, const std::string& path,
                                   rules::Defaults& defaults) {
    if (!ExpectMap(node, path)) return std::nullopt;
    const Fields fields = GetFields(
        node, path,
        {"at_risk_remaining", "apology_extension", "on_supplement", "max_apology_letters"});
    if (const Node at_risk = fields.Get("at_risk_remaining"); Given(at_risk)) {
      if (auto value = Threshold(at_risk, Join(path, "at_risk_remaining"))) {
        defaults.at_risk_remaining = *value;
      }
    }
    if (const Node extension = fields.Get("apology_extension"); Given(extension)) {
      if (auto value = WorkingDuration(extension, Join(path, "apology_extension"))) {
        defaults.apology_extension = *value;
      }
    }
    if (const Node on_supplement = fields.Get("on_supplement"); Given(on_supplement)) {
      if (auto value = OnSupplement(on_supplement, Join(path, "on_supplement"))) {
        defaults.on_supplement = *value;
      }
    }
    const Node limit = fields.Get("max_apology_letters");
    if (!Given(limit)) return std::nullopt;
    const auto value = Count(limit, Join(path, "max_apology_letters"));
    if (!value) return std::nullopt;
    defaults.max_apology_letters = *value;
    if (*value == 0) return std::nullopt;
    return limit;
  }

  // A whole number >= 0, as written ("3"; not "3.0", "-1" or "0x3").
  std::optional<int> Count(const Node& node, const std::string& path) {
    const auto text = String(node, path);
    if (!text) return std::nullopt;
    int value = -1;
    const char* end = text->data() + text->size();
    const auto [stop, error] = std::from_chars(text->data(), end, value);
    if (text->empty() || (*text)[0] == '-' || error != std::errc() || stop != end) {
      Fail(path, Quote(*text) + " is not a whole number (0 or more)", node);
      return std::nullopt;
    }
    return value;
  }

  // {name, title, email}, each an optional string: a department head, the escalation contact.
  rules::Person Contact(const Node& node, const std::string& path) {
    rules::Person person;
    const Fields fields = GetFields(node, path, {"name", "title", "email"});
    OptionalString(fields, "name", path, person.name);
    OptionalString(fields, "title", path, person.title);
    OptionalString(fields, "email", path, person.email);
    return person;
  }

  // A required, non-empty code, unique within its list; nullopt after reporting otherwise.
  std::optional<std::string> Code(const Fields& fields, const Node& item,
                                  const std::string& item_path, std::string_view list_name,
                                  std::map<std::string, std::string, std::less<>>& seen) {
    const std::string code_path = Join(item_path, "code");
    const Node node = fields.Get("code");
    if (!Given(node)) {
      FailMissing(code_path, item);
      return std::nullopt;
    }
    // Scalar() is the text as written: an unquoted 1.004227 stays "1.004227".
    auto code = String(node, code_path);
    if (!code) return std::nullopt;
    if (code->empty()) {
      Fail(code_path, "must not be empty", node);
      return std::nullopt;
    }
    if (const auto it = seen.find(*code); it != seen.end()) {
      Fail(code_path,
           "duplicate " + std::string(list_name) + " code " + Quote(*code) + " (also " +
               it->second + ")",
           node);
      return std::nullopt;
    }
    seen.emplace(*code, item_path);
    return code;
  }

  void LoadDepartments(const Node& node, const std::string& path,
                       std::vector<rules::Department>& departments) {
    if (!ExpectList(node, path)) return;
    std::map<std::string, std::string, std::less<>> seen;
    for (size_t i = 0; i < node.size(); ++i) {
      const Node item = node[i];
      const std::string item_path = Index(path, i);
      if (!ExpectMap(item, item_path)) continue;
      const Fields fields = GetFields(item, item_path, {"code", "name", "head", "on_time_target"});
      rules::Department department;
      const auto code = Code(fields, item, item_path, "department", seen);
      OptionalString(fields, "name", item_path, department.name);
      if (const Node head = fields.Get("head"); Given(head)) {
        const std::string head_path = Join(item_path, "head");
        if (ExpectMap(head, head_path)) department.head = Contact(head, head_path);
      }
      if (const Node target = fields.Get("on_time_target"); Given(target)) {
        const std::string target_path = Join(item_path, "on_time_target");
        double value = -1;
        if (!target.IsScalar() || !YAML::convert<double>::decode(target, value) || !(value >= 0) ||
            value > 1) {
          Fail(target_path, Describe(target) + " is not a number from 0 to 1", target);
        } else {
          department.on_time_target = value;
        }
      }
      if (code) {
        department_codes_.insert(*code);
        department.code = *code;
        departments.push_back(std::move(department));
      }
    }
  }

  bool KnownDepartment(std::string_view code) const {
    return department_codes_.find(code) != department_codes_.end();
  }

  void LoadProcedures(const Node& node, const std::string& path,
                      std::vector<rules::Procedure>& procedures) {
    if (!ExpectList(node, path)) return;
    std::map<std::string, std::string, std::less<>> seen;
    for (size_t i = 0; i < node.size(); ++i) {
      const Node item = node[i];
      const std::string item_path = Index(path, i);
      if (!ExpectMap(item, item_path)) continue;
      const Fields fields =
          GetFields(item, item_path,
                    {"code", "name", "department", "sla", "at_risk_remaining", "apology_extension",
                     "on_supplement", "pause_on_fee", "steps"});
      rules::Procedure procedure;
      const auto code = Code(fields, item, item_path, "procedure", seen);
      bool ok = code.has_value();
      OptionalString(fields, "name", item_path, procedure.name);
      // The holder of a dossier whose `accepted` event names none; the rules need one.
      if (const Node department = fields.Get("department"); Given(department)) {
        const std::string department_path = Join(item_path, "department");
        if (auto text = String(department, department_path)) {
          if (KnownDepartment(*text)) {
            procedure.department = *text;
          } else {
            Fail(department_path, "unknown department " + Quote(*text), department);
          }
        }
      } else {
        FailMissing(Join(item_path, "department"), item);
      }
      if (const Node sla = fields.Get("sla"); Given(sla)) {
        if (auto value = WorkingDuration(sla, Join(item_path, "sla"))) {
          procedure.sla = *value;
        } else {
          ok = false;
        }
      } else {
        FailMissing(Join(item_path, "sla"), item);
        ok = false;
      }
      if (const Node at_risk = fields.Get("at_risk_remaining"); Given(at_risk)) {
        procedure.at_risk_remaining = Threshold(at_risk, Join(item_path, "at_risk_remaining"));
      }
      if (const Node extension = fields.Get("apology_extension"); Given(extension)) {
        procedure.apology_extension =
            WorkingDuration(extension, Join(item_path, "apology_extension"));
      }
      if (const Node on_supplement = fields.Get("on_supplement"); Given(on_supplement)) {
        procedure.on_supplement = OnSupplement(on_supplement, Join(item_path, "on_supplement"));
      }
      if (const Node pause = fields.Get("pause_on_fee"); Given(pause)) {
        bool value = false;
        if (!pause.IsScalar() || !YAML::convert<bool>::decode(pause, value)) {
          Fail(Join(item_path, "pause_on_fee"), Describe(pause) + " is not true or false", pause);
        }
        procedure.pause_on_fee = value;
      }
      if (const Node steps = fields.Get("steps"); Given(steps)) {
        const std::string steps_path = Join(item_path, "steps");
        if (ExpectMap(steps, steps_path)) {
          ForEachEntry(steps, steps_path,
                       [&](const std::string& name, const Node& value, const std::string& step_path,
                           const Node& key) {
                         if (!KnownDepartment(name)) {
                           Fail(step_path, "unknown department " + Quote(name), key);
                         }
                         auto budget = WorkingDuration(value, step_path);
                         if (budget && KnownDepartment(name)) {
                           procedure.steps.push_back({name, *budget});
                         }
                       });
        }
      }
      if (ok) {
        procedure.code = *code;
        procedures.push_back(std::move(procedure));
      }
    }
  }

  // Sets `out` from an optional string field that `check` (nullopt: fine, else why not) accepts.
  template <typename Check>
  void CheckedString(const Fields& fields, std::string_view key, const std::string& path,
                     std::string& out, Check&& check) {
    const Node node = fields.Get(key);
    if (!Given(node)) return;
    const std::string field_path = Join(path, key);
    const auto text = String(node, field_path);
    if (!text) return;
    if (std::optional<std::string> problem = check(*text)) {
      Fail(field_path, *problem, node);
    } else {
      out = *text;
    }
  }

  void LoadKafka(const Node& node, const std::string& path, KafkaConfig& kafka) {
    if (!ExpectMap(node, path)) return;
    const Fields fields =
        GetFields(node, path,
                  {"brokers", "group_id", "client_id", "instance_id", "commit_interval",
                   "create_topics", "ready_max_lag", "topics", "properties", "input_partitioner"});
    CheckedString(fields, "input_partitioner", path, kafka.input_partitioner,
                  [](const std::string& name) -> std::optional<std::string> {
                    if (name == "consistent_random" || name == "murmur2_random") {
                      return std::nullopt;
                    }
                    return "must be consistent_random (librdkafka's default) or murmur2_random "
                           "(the Java client's); got " +
                           Quote(name);
                  });
    CheckedString(fields, "brokers", path, kafka.brokers, CheckBrokers);
    NonEmptyString(fields, "group_id", path, kafka.group_id);
    NonEmptyString(fields, "client_id", path, kafka.client_id);
    NonEmptyString(fields, "instance_id", path, kafka.instance_id);
    if (const Node interval = fields.Get("commit_interval"); Given(interval)) {
      if (auto value = WallDuration(interval, Join(path, "commit_interval"))) {
        if (*value < 10ms || *value > 10s) {
          Fail(Join(path, "commit_interval"), "must be between 10ms and 10s", interval);
        } else {
          kafka.commit_interval = *value;
        }
      }
    }
    if (const Node create = fields.Get("create_topics"); Given(create)) {
      bool value = true;
      if (!create.IsScalar() || !YAML::convert<bool>::decode(create, value)) {
        Fail(Join(path, "create_topics"), Describe(create) + " is not true or false", create);
      }
      kafka.create_topics = value;
    }
    if (const Node lag = fields.Get("ready_max_lag"); Given(lag)) {
      int64_t value = -1;
      if (!lag.IsScalar() || !YAML::convert<int64_t>::decode(lag, value) || value < 0) {
        Fail(Join(path, "ready_max_lag"), Describe(lag) + " is not a count of messages", lag);
      } else {
        kafka.ready_max_lag = value;
      }
    }
    if (const Node topics = fields.Get("topics"); Given(topics)) {
      const std::string topics_path = Join(path, "topics");
      if (ExpectMap(topics, topics_path)) {
        const Fields topic_fields =
            GetFields(topics, topics_path,
                      {"events", "alerts", "letters", "dead_letters", "changelog", "members"});
        CheckedString(topic_fields, "events", topics_path, kafka.topics.events, CheckTopicName);
        // An output on the input topic (given or default) feeds the daemon its own messages:
        // dead letters would come back as invalid events and be dead-lettered again, for ever.
        for (const auto& [key, topic] : {std::pair{"alerts", &kafka.topics.alerts},
                                         std::pair{"letters", &kafka.topics.letters},
                                         std::pair{"dead_letters", &kafka.topics.dead_letters},
                                         std::pair{"changelog", &kafka.topics.changelog},
                                         std::pair{"members", &kafka.topics.members}}) {
          CheckedString(topic_fields, key, topics_path, *topic,
                        [&](const std::string& name) -> std::optional<std::string> {
                          if (auto problem = CheckTopicName(name)) return problem;
                          if (name == kafka.topics.events) {
                            return "must not be the input topic " + Quote(name) +
                                   " (ontimed would read its own output)";
                          }
                          return std::nullopt;
                        });
        }
      }
    }
    if (const Node properties = fields.Get("properties"); Given(properties)) {
      const std::string properties_path = Join(path, "properties");
      if (ExpectMap(properties, properties_path)) {
        const size_t errors_before = errors_.size();
        ForEachEntry(properties, properties_path,
                     [&](const std::string& name, const Node& value,
                         const std::string& property_path, const Node& key) {
                       const auto text = String(value, property_path);
                       if (!text) return;
                       if (auto problem = CheckKafkaProperty(name, *text)) {
                         Fail(property_path, *problem, key);
                         return;
                       }
                       kafka.properties.emplace_back(name, *text);
                     });
        // Each property is fine alone; librdkafka also judges them together, when it builds a
        // client (run does that at start-up, after loading this file).
        if (errors_.size() == errors_before && !kafka.properties.empty()) {
          if (auto problem = CheckKafkaClients(kafka)) Fail(properties_path, *problem, properties);
        }
      }
    }
  }

  // The contents of a secret file (a token, a password), trailing white space dropped; it must
  // be readable and not empty. Sets `file` to its path and `secret` to what it holds.
  void SecretFile(const Fields& fields, std::string_view key, const std::string& path,
                  std::string& file, std::string& secret) {
    const Node node = fields.Get(key);
    if (!Given(node)) return;
    const std::string field_path = Join(path, key);
    const auto name = String(node, field_path);
    if (!name) return;
    std::ifstream in(*name, std::ios::binary);
    if (!in) {
      Fail(field_path, "cannot read " + Quote(*name) + ": " + std::strerror(errno), node);
      return;
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    if (text.empty()) {
      Fail(field_path, Quote(*name) + " is empty", node);
      return;
    }
    file = *name;
    secret = std::move(text);
  }

  // A file that must exist and be readable (a CA bundle, a certificate, a key).
  void ReadableFile(const Fields& fields, std::string_view key, const std::string& path,
                    std::string& out) {
    CheckedString(fields, key, path, out,
                  [](const std::string& name) -> std::optional<std::string> {
                    if (std::ifstream(name, std::ios::binary)) return std::nullopt;
                    return "cannot read " + Quote(name) + ": " + std::strerror(errno);
                  });
  }

  std::optional<bool> Bool(const Node& node, const std::string& path) {
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
      Fail(path, Describe(node) + " is not true or false", node);
      return std::nullopt;
    }
    return value;
  }

  void LoadHttp(const Node& node, const std::string& path, HttpConfig& http) {
    if (!ExpectMap(node, path)) return;
    const Fields fields = GetFields(
        node, path, {"listen", "advertise", "token_file", "token_for_health", "timeline_limit"});
    CheckedString(fields, "advertise", path, http.advertise,
                  [](const std::string& address) -> std::optional<std::string> {
                    auto checked = ParseHostPort(address);  // port 1..65535
                    if (!checked.ok()) return checked.error().message;
                    return std::nullopt;
                  });
    SecretFile(fields, "token_file", path, http.token_file, http.token);
    if (const Node health = fields.Get("token_for_health"); Given(health)) {
      if (auto value = Bool(health, Join(path, "token_for_health"))) {
        http.token_for_health = *value;
        if (*value && !fields.Has("token_file")) {
          Fail(Join(path, "token_for_health"), "needs http.token_file", health);
        }
      }
    }
    if (const Node limit = fields.Get("timeline_limit"); Given(limit)) {
      if (auto value = Count(limit, Join(path, "timeline_limit"))) {
        if (*value > 1000) {
          Fail(Join(path, "timeline_limit"), "must be at most 1000", limit);
        } else {
          http.timeline_limit = static_cast<size_t>(*value);
        }
      }
    }
    CheckedString(fields, "listen", path, http.listen,
                  [](const std::string& listen) -> std::optional<std::string> {
                    auto checked = ParseListenAddress(listen);
                    if (checked.ok()) return std::nullopt;
                    return checked.error().message;
                  });
  }

  void LoadAlertmanager(const Node& node, const std::string& path, AlertmanagerConfig& am) {
    if (!ExpectMap(node, path)) return;
    const Fields fields =
        GetFields(node, path,
                  {"url", "resend_interval", "timeout", "tls", "bearer_token_file", "basic_auth"});
    CheckedString(fields, "url", path, am.url,
                  [](const std::string& url) -> std::optional<std::string> {
                    if (url.empty()) return std::nullopt;  // no Alertmanager
                    auto checked = ParseAlertmanagerUrl(url);
                    if (checked.ok()) return std::nullopt;
                    return checked.error().message;
                  });
    if (const Node resend = fields.Get("resend_interval"); Given(resend)) {
      if (auto value = WallSeconds(resend, Join(path, "resend_interval"))) {
        am.resend_interval = *value;
      }
    }
    if (const Node timeout = fields.Get("timeout"); Given(timeout)) {
      if (auto value = WallSeconds(timeout, Join(path, "timeout"))) am.timeout = *value;
    }
    if (const Node tls = fields.Get("tls"); Given(tls)) {
      const std::string tls_path = Join(path, "tls");
      if (ExpectMap(tls, tls_path)) {
        const Fields tls_fields = GetFields(tls, tls_path, {"ca_file", "cert_file", "key_file"});
        ReadableFile(tls_fields, "ca_file", tls_path, am.ca_file);
        ReadableFile(tls_fields, "cert_file", tls_path, am.cert_file);
        ReadableFile(tls_fields, "key_file", tls_path, am.key_file);
        if (tls_fields.Has("cert_file") != tls_fields.Has("key_file")) {
          Fail(tls_path, "cert_file and key_file go together (a client certificate and its key)",
               tls);
        }
        if (!am.url.empty() && !am.url.starts_with("https://")) {
          Fail(tls_path, "only applies to an https:// url", tls);
        }
      }
    }
    std::string unused_file;
    SecretFile(fields, "bearer_token_file", path, unused_file, am.bearer_token);
    if (const Node basic = fields.Get("basic_auth"); Given(basic)) {
      const std::string basic_path = Join(path, "basic_auth");
      if (ExpectMap(basic, basic_path)) {
        const Fields basic_fields = GetFields(basic, basic_path, {"username", "password_file"});
        NonEmptyString(basic_fields, "username", basic_path, am.basic_username);
        SecretFile(basic_fields, "password_file", basic_path, unused_file, am.basic_password);
        if (!basic_fields.Has("username")) FailMissing(Join(basic_path, "username"), basic);
        if (!basic_fields.Has("password_file")) {
          FailMissing(Join(basic_path, "password_file"), basic);
        }
        if (fields.Has("bearer_token_file")) {
          Fail(basic_path, "give bearer_token_file or basic_auth, not both", basic);
        }
      }
    }
  }

  // letters: {parent_agency, place, keep, departments: {CODE: {agency, number_prefix}}}.
  void LoadLetters(const Node& node, const std::string& path, LettersConfig& letters) {
    if (!ExpectMap(node, path)) return;
    const Fields fields = GetFields(node, path, {"parent_agency", "place", "keep", "departments"});
    OptionalString(fields, "parent_agency", path, letters.parent_agency);
    OptionalString(fields, "place", path, letters.place);
    if (const Node keep = fields.Get("keep"); Given(keep)) {
      if (auto value = Count(keep, Join(path, "keep"))) letters.keep = static_cast<size_t>(*value);
    }
    const Node departments = fields.Get("departments");
    const std::string departments_path = Join(path, "departments");
    if (!Given(departments) || !ExpectMap(departments, departments_path)) return;
    ForEachEntry(departments, departments_path,
                 [&](const std::string& code, const Node& value, const std::string& item_path,
                     const Node& key) {
                   if (!department_codes_.contains(code)) {
                     Fail(item_path, "unknown department " + Quote(code), key);
                     return;
                   }
                   if (!ExpectMap(value, item_path)) return;
                   LetterheadConfig letterhead;
                   const Fields item = GetFields(value, item_path, {"agency", "number_prefix"});
                   NonEmptyString(item, "agency", item_path, letterhead.agency);
                   CheckedString(item, "number_prefix", item_path, letterhead.number_prefix,
                                 [](const std::string& prefix) -> std::optional<std::string> {
                                   const bool ok =
                                       !prefix.empty() && prefix.size() <= 32 &&
                                       std::all_of(prefix.begin(), prefix.end(), [](char c) {
                                         return std::isalnum(static_cast<unsigned char>(c)) ||
                                                c == '-' || c == '/' || c == '.' || c == '_';
                                       });
                                   if (ok) return std::nullopt;
                                   return Quote(prefix) +
                                          " must be 1 to 32 letters, digits, '-', '/', '.' or '_'";
                                 });
                   letters.departments.emplace(code, std::move(letterhead));
                 });
  }

  void LoadLog(const Node& node, const std::string& path, LogConfig& log) {
    if (!ExpectMap(node, path)) return;
    const Fields fields = GetFields(node, path, {"level"});
    const Node level = fields.Get("level");
    if (!Given(level)) return;
    if (auto text = String(level, Join(path, "level"))) {
      if (*text == "debug" || *text == "info" || *text == "warning" || *text == "error") {
        log.level = *text;
      } else {
        Fail(Join(path, "level"), Quote(*text) + " is not one of: debug, info, warning, error",
             level);
      }
    }
  }

  std::string source_;
  Duration day_length_ = rules::CalendarSpec{}.day_length;
  std::set<std::string, std::less<>> department_codes_;
  std::vector<Located> errors_;
};

}  // namespace

std::string ConfigError::ToString() const { return path + ": " + message; }

std::string ChangelogTopic(const KafkaConfig& kafka) {
  return kafka.topics.changelog.empty() ? kafka.group_id + ".dossier-state"
                                        : kafka.topics.changelog;
}

std::string MembersTopic(const KafkaConfig& kafka) {
  return kafka.topics.members.empty() ? kafka.group_id + ".members" : kafka.topics.members;
}

std::string AdvertisedAddress(const HttpConfig& http, uint16_t bound_port) {
  if (!http.advertise.empty()) return http.advertise;
  Result<HostPort> listen = ParseListenAddress(http.listen, {.allow_port_zero = true});
  const std::string port = std::to_string(bound_port);
  if (!listen.ok()) return "127.0.0.1:" + port;
  if (listen->host == "0.0.0.0" || listen->host == "::") {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0 && host[0] != '\0') {
      return std::string(host) + ":" + port;
    }
    return "127.0.0.1:" + port;
  }
  if (listen->host.find(':') != std::string::npos) return "[" + listen->host + "]:" + port;
  return listen->host + ":" + port;
}

std::string InstanceId(const KafkaConfig& kafka) {
  if (!kafka.instance_id.empty()) return kafka.instance_id;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "ontimed";
  return host;
}

ConfigResult LoadConfigString(std::string_view yaml, std::string source_name) {
  Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    ConfigResult result;
    result.errors.push_back({source_name + ":" + std::to_string(e.mark.line + 1) + ":" +
                                 std::to_string(e.mark.column + 1),
                             e.msg});
    return result;
  } catch (const YAML::Exception& e) {
    ConfigResult result;
    result.errors.push_back({source_name, e.what()});
    return result;
  }
  Loader loader(source_name);
  try {
    return loader.Load(root);
  } catch (const YAML::Exception& e) {
    // The checks above should leave yaml-cpp nothing to throw; if it does, it is still an error.
    loader.FailInternal(std::string("cannot read the configuration: ") + e.what());
    return loader.Errors();
  }
}

ConfigResult LoadConfigFile(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    ConfigResult result;
    result.errors.push_back({file, std::string("cannot read: ") + std::strerror(errno)});
    return result;
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) {
    ConfigResult result;
    result.errors.push_back({file, std::string("cannot read: ") + std::strerror(errno)});
    return result;
  }
  return LoadConfigString(contents.str(), file);
}

}  // namespace ontime::daemon
