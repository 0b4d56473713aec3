#include "ontime/daemon/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "ontime/daemon/time_zone.h"

namespace ontime::daemon {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string SourcePath(const std::string& relative) {
  const char* root = std::getenv("ONTIME_SOURCE_DIR");
  const std::filesystem::path base =
      root != nullptr ? std::filesystem::path(root)
                      : std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "..";
  return (base / relative).string();
}

std::vector<std::string> ErrorStrings(const ConfigResult& result) {
  std::vector<std::string> out;
  for (const ConfigError& error : result.errors) out.push_back(error.ToString());
  return out;
}

// The smallest valid document; tests append the section they are about.
constexpr std::string_view kCalendar =
    "calendar:\n"
    "  working_hours: {mon-fri: [\"07:30-11:30\", \"13:00-17:00\"]}\n";

ConfigResult Load(std::string_view rest) {
  return LoadConfigString(std::string(kCalendar) + std::string(rest));
}

Instant At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

std::chrono::seconds OffsetAt(const std::vector<rules::UtcOffsetChange>& changes, Instant t) {
  std::chrono::seconds offset = changes.front().offset;
  for (const auto& change : changes) {
    if (change.from <= t) offset = change.offset;
  }
  return offset;
}

TEST(ConfigTest, FullFileLoadsIntoTypedStructs) {
  const ConfigResult result = LoadConfigFile(SourcePath("tests/data/config/full.yaml"));
  ASSERT_THAT(ErrorStrings(result), IsEmpty());
  ASSERT_TRUE(result.ok());
  const Config& config = *result.config;
  EXPECT_EQ(config.source_path, SourcePath("tests/data/config/full.yaml"));

  const rules::CalendarSpec& calendar = config.rules.calendar;
  EXPECT_EQ(calendar.timezone, "Asia/Ho_Chi_Minh");
  ASSERT_FALSE(calendar.utc_offsets.empty());
  EXPECT_EQ(calendar.utc_offsets.back().offset, 7h);
  EXPECT_EQ(calendar.day_length, 8h);
  const std::vector<rules::TimeRange> office = {{450, 690}, {780, 1020}};
  for (int day = 0; day < 5; ++day) EXPECT_EQ(calendar.weekly[day], office) << day;
  EXPECT_THAT(calendar.weekly[5], IsEmpty());  // sat: not given by "mon-fri"
  EXPECT_THAT(calendar.weekly[6], IsEmpty());
  EXPECT_THAT(calendar.holidays,
              ElementsAre(rules::NamedDay{*ParseDate("2026-01-01"), ""},
                          rules::NamedDay{*ParseDate("2026-09-01"), "Provincial day"}));
  EXPECT_EQ(calendar.builtin_holidays, rules::BuiltinHolidays::kVietnam);
  EXPECT_THAT(calendar.working_days,
              ElementsAre(rules::WorkingDayOverride{*ParseDate("2026-05-09"), {{450, 690}}}));

  const rules::Defaults& defaults = config.rules.defaults;
  EXPECT_TRUE(defaults.at_risk_remaining.is_percent);
  EXPECT_DOUBLE_EQ(defaults.at_risk_remaining.percent, 20.0);
  EXPECT_EQ(defaults.apology_extension, 24h);  // 3d of 8h
  EXPECT_EQ(defaults.on_supplement, rules::OnSupplement::kRestart);
  EXPECT_EQ(defaults.max_apology_letters, 2);
  ASSERT_TRUE(config.rules.escalation.has_value());
  EXPECT_EQ(config.rules.escalation->name, "Le Van C");
  EXPECT_EQ(config.rules.escalation->title, "Chief Inspector");
  EXPECT_EQ(config.rules.escalation->email, "inspect@example.gov.vn");

  ASSERT_EQ(config.rules.departments.size(), 2u);
  const rules::Department& sxd = config.rules.departments[0];
  EXPECT_EQ(sxd.code, "SXD");
  EXPECT_EQ(sxd.head.name, "Nguyen Van A");
  EXPECT_EQ(sxd.head.title, "Director");
  EXPECT_EQ(sxd.head.email, "head.sxd@example.gov.vn");
  EXPECT_DOUBLE_EQ(sxd.on_time_target, 0.95);
  EXPECT_DOUBLE_EQ(config.rules.departments[1].on_time_target, 0.998);

  ASSERT_EQ(config.rules.procedures.size(), 2u);
  const rules::Procedure& permit = config.rules.procedures[0];
  EXPECT_EQ(permit.code, "1.004227");  // unquoted in the file: the text as written
  EXPECT_EQ(permit.department, "SXD");
  EXPECT_EQ(permit.sla, 120h);
  ASSERT_TRUE(permit.at_risk_remaining.has_value());
  EXPECT_FALSE(permit.at_risk_remaining->is_percent);
  EXPECT_EQ(permit.at_risk_remaining->absolute, 16h);
  EXPECT_EQ(permit.apology_extension, 20h);
  EXPECT_EQ(permit.on_supplement, rules::OnSupplement::kPause);
  EXPECT_FALSE(permit.pause_on_fee);
  ASSERT_EQ(permit.steps.size(), 2u);
  EXPECT_EQ(permit.steps[0].department, "SXD");
  EXPECT_EQ(permit.steps[0].budget, 80h);
  EXPECT_EQ(permit.steps[1].department, "UBND");
  EXPECT_EQ(permit.steps[1].budget, 24h);
  const rules::Procedure& second = config.rules.procedures[1];
  EXPECT_EQ(second.sla, 90min);
  EXPECT_TRUE(second.pause_on_fee);
  EXPECT_FALSE(second.at_risk_remaining.has_value());
  EXPECT_FALSE(second.on_supplement.has_value());

  EXPECT_EQ(config.kafka.brokers, "kafka-1:9092,kafka-2:9092");
  EXPECT_EQ(config.kafka.group_id, "ontimed-hn");
  EXPECT_EQ(config.kafka.client_id, "ontimed-hn-1");
  EXPECT_EQ(config.kafka.topics.events, "in");
  EXPECT_EQ(config.kafka.topics.dead_letters, "in.dlq");
  using Property = std::pair<std::string, std::string>;
  EXPECT_THAT(config.kafka.properties, ElementsAre(Property{"security.protocol", "SASL_SSL"},
                                                   Property{"sasl.mechanism", "SCRAM-SHA-512"},
                                                   Property{"sasl.username", "ontimed"},
                                                   Property{"sasl.password", "not-a-secret"},
                                                   Property{"fetch.max.bytes", "1048576"}));
  EXPECT_EQ(config.http.listen, "0.0.0.0:9100");
  EXPECT_EQ(config.alertmanager.url, "http://alertmanager:9093");
  EXPECT_EQ(config.alertmanager.resend_interval, 300s);
  EXPECT_EQ(config.alertmanager.timeout, 10s);
  EXPECT_EQ(config.ingest.max_clock_skew, 90s);
  EXPECT_EQ(config.output.max_age, 48h);
  EXPECT_EQ(config.log.level, "debug");
  EXPECT_EQ(config.state_dir, "/srv/ontime");
  EXPECT_EQ(config.snapshot_interval, 30s);
}

TEST(ConfigTest, MinimalExampleIsValid) {
  const ConfigResult result = LoadConfigFile(SourcePath("deploy/examples/minimal.yaml"));
  ASSERT_THAT(ErrorStrings(result), IsEmpty());
  const Config& config = *result.config;
  EXPECT_EQ(config.rules.departments.size(), 2u);
  EXPECT_EQ(config.rules.procedures.size(), 3u);
  EXPECT_EQ(config.rules.calendar.working_days.size(), 1u);
  // Sections left out keep their defaults.
  EXPECT_EQ(config.kafka.topics.events, "dossier.events");
  EXPECT_EQ(config.kafka.topics.alerts, "dossier.sla.alerts");
  EXPECT_EQ(config.http.listen, "127.0.0.1:9464");
  EXPECT_EQ(config.alertmanager.url, "");
  EXPECT_EQ(config.log.level, "info");
  EXPECT_EQ(config.state_dir, "/var/lib/ontime");
  EXPECT_EQ(config.snapshot_interval, 60s);
  EXPECT_EQ(config.ingest.max_clock_skew, 5min);
  EXPECT_EQ(config.output.max_age, 7 * 24h);
  EXPECT_EQ(config.rules.defaults.max_apology_letters, 0);
  EXPECT_FALSE(config.rules.escalation.has_value());
}

TEST(ConfigTest, MinimalExampleBuildsABusinessCalendar) {
  const ConfigResult result = LoadConfigFile(SourcePath("deploy/examples/minimal.yaml"));
  ASSERT_TRUE(result.ok());
  const auto calendar = rules::BusinessCalendar::Build(result.config->rules.calendar);
  ASSERT_TRUE(calendar.ok()) << calendar.error().message;
  EXPECT_EQ((*calendar)->UtcOffsetAt(At("2026-03-02T02:00:00Z")), 7h);
  EXPECT_TRUE((*calendar)->IsHoliday(*ParseDate("2026-09-01")));  // configured
  EXPECT_TRUE((*calendar)->IsHoliday(*ParseDate("2026-09-02")));  // builtin: National Day
  // Saturday 2026-01-10 is a make-up working day: 07:30 to 11:30 counts.
  EXPECT_EQ((*calendar)->Between(At("2026-01-10T07:00:00+07:00"), At("2026-01-10T12:00:00+07:00")),
            4h);
}

TEST(ConfigTest, WorkingDays) {
  const ConfigResult result = Load(
      "  working_days:\n"
      "    \"2026-05-09\": [\"07:30-11:30\"]\n"
      "    \"2026-05-10\": []\n"
      "    \"2026-13-01\": [\"07:30-11:30\"]\n"
      "    \"2026-05-09\": [\"13:00-17:00\"]\n");
  EXPECT_THAT(
      ErrorStrings(result),
      ElementsAre(
          R"(calendar.working_days.2026-05-10: a working day needs at least one time range)",
          R"(calendar.working_days.2026-13-01: "2026-13-01" is not a date (YYYY-MM-DD))",
          R"(calendar.working_days.2026-05-09: key "2026-05-09" given twice)"));
}

TEST(ConfigTest, DefaultsAreCountedInDayLength) {
  const ConfigResult result = LoadConfigString(
      "calendar:\n"
      "  day_length: 7h30m\n"
      "  working_hours: {mon-sat: [\"08:00-12:00\", \"13:00-16:30\"]}\n");
  ASSERT_THAT(ErrorStrings(result), IsEmpty());
  const rules::RulesConfig& rules = result.config->rules;
  EXPECT_EQ(rules.calendar.day_length, 450min);
  EXPECT_FALSE(rules.defaults.at_risk_remaining.is_percent);
  EXPECT_EQ(rules.defaults.at_risk_remaining.absolute, 450min);  // 1d
  EXPECT_EQ(rules.defaults.apology_extension, 5 * 450min);       // 5d
  EXPECT_EQ(rules.defaults.on_supplement, rules::OnSupplement::kPause);
  EXPECT_EQ(rules.calendar.timezone, "Asia/Ho_Chi_Minh");
  EXPECT_THAT(rules.calendar.weekly[5],
              ElementsAre(rules::TimeRange{480, 720}, rules::TimeRange{780, 990}));
  EXPECT_THAT(rules.calendar.weekly[6], IsEmpty());
}

TEST(ConfigTest, ManyMistakesAreAllReportedInDocumentOrder) {
  const ConfigResult result = LoadConfigFile(SourcePath("tests/data/config/mistakes.yaml"));
  EXPECT_FALSE(result.ok());
  EXPECT_FALSE(result.config.has_value());
  EXPECT_THAT(
      ErrorStrings(result),
      ElementsAre(
          R"(calendar.working_hours.mon-fri[1]: "13:00-12:00" is not a time range)",
          R"(calendar.working_hours.fri: fri is already given by "mon-fri")",
          R"(calendar.working_hours.funday: "funday" is not a day (mon..sun) or a range of days (mon-fri))",
          R"(calendar.holidays[0]: "2026-02-30" is not a date (YYYY-MM-DD))",
          R"(calendar.holidays[1].date: missing (required))",
          R"(calendar.builtin_holidays: "us" is not one of: vn, none)",
          R"(calendar.colour: unknown key "colour")",
          R"(defaults.at_risk_remaining: "120%" is not a percentage (more than 0%, at most 100%))",
          R"(defaults.apology_extension: must be more than 0)",
          R"(defaults.on_supplement: "ignore" is not one of: pause, restart)",
          R"(defaults.max_apology_letters: "-1" is not a whole number (0 or more))",
          R"(escalation.phone: unknown key "phone")",
          R"(departments[0].head.mail: unknown key "mail")",
          R"(departments[1].code: duplicate department code "SXD" (also departments[0]))",
          R"(departments[2].code: missing (required))",
          R"(departments[2].on_time_target: "1.5" is not a number from 0 to 1)",
          R"(procedures[0].department: unknown department "SXX")",
          R"(procedures[1].sla: missing (required))",
          R"(procedures[2].code: duplicate procedure code "1.0001" (also procedures[0]))",
          R"(procedures[2].sla: must be more than 0)",
          R"(procedures[3].apology_extension: must be more than 0)",
          R"(procedures[3].sla: "15x" is not a duration)",
          R"(procedures[3].pause_on_fee: "maybe" is not true or false)",
          R"(procedures[3].steps.TAX: unknown department "TAX")",
          R"(kafka.topics: expected a map, got a list)",
          R"(http.listen: "localhost:99999": the port must be a number from 1 to 65535)",
          R"(alertmanager.url: "ftp://alertmanager:9093" is not an http:// or https:// URL)",
          R"(ingest.max_clock_skew: must be more than 0)",
          R"(output.max_age: "7x" is not a duration)",
          R"(log.level: "verbose" is not one of: debug, info, warning, error)",
          R"(snapshot_interval: "soon" is not a duration)"));
}

TEST(ConfigTest, YamlSyntaxErrorReportsLineAndColumn) {
  const std::string file = SourcePath("tests/data/config/syntax_error.yaml");
  const ConfigResult result = LoadConfigFile(file);
  EXPECT_FALSE(result.ok());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].path, file + ":5:1");
  EXPECT_EQ(result.errors[0].message, "end of sequence flow not found");
}

TEST(ConfigTest, UnreadableFileIsOneError) {
  const ConfigResult result = LoadConfigFile("/nonexistent/ontime.yaml");
  EXPECT_THAT(ErrorStrings(result),
              ElementsAre("/nonexistent/ontime.yaml: cannot read: No such file or directory"));
}

TEST(ConfigTest, UnknownTimeZone) {
  const ConfigResult result = LoadConfigString(
      "calendar:\n"
      "  timezone: Mars/Olympus_Mons\n"
      "  working_hours: {mon-fri: [\"08:00-17:00\"]}\n");
  EXPECT_THAT(ErrorStrings(result),
              ElementsAre(R"(calendar.timezone: unknown time zone "Mars/Olympus_Mons")"));
}

TEST(ConfigTest, UnknownKeysAtEveryLevel) {
  const ConfigResult result = Load(
      "verbose: true\n"
      "kafka: {topics: {event: x}, propertys: {}}\n"
      "procedures:\n"
      "  - {code: P1, department: D1, sla: 1d, stepz: {}}\n"
      "departments:\n"
      "  - {code: D1, head: {name: A, phone: '1'}}\n");
  EXPECT_THAT(
      ErrorStrings(result),
      ElementsAre(R"(verbose: unknown key "verbose")", R"(kafka.topics.event: unknown key "event")",
                  R"(kafka.propertys: unknown key "propertys")",
                  R"(procedures[0].stepz: unknown key "stepz")",
                  R"(departments[0].head.phone: unknown key "phone")"));
}

TEST(ConfigTest, DuplicateCodesAndKeys) {
  const ConfigResult result = Load(
      "departments: [{code: A}, {code: B}, {code: A}]\n"
      "procedures:\n"
      "  - {code: 1.1, department: A, sla: 1d}\n"
      "  - {code: \"1.1\", department: A, sla: 2d, sla: 3d}\n");
  EXPECT_THAT(
      ErrorStrings(result),
      ElementsAre(R"(departments[2].code: duplicate department code "A" (also departments[0]))",
                  R"(procedures[1].code: duplicate procedure code "1.1" (also procedures[0]))",
                  R"(procedures[1].sla: key "sla" given twice)"));
}

TEST(ConfigTest, WrongTypesAreErrorsNotExceptions) {
  const ConfigResult result = LoadConfigString(
      "calendar: [mon]\n"
      "departments: {code: A}\n"
      "procedures: [P1, {code: [x], sla: {d: 1}}]\n"
      "kafka: {brokers: {a: b}, properties: {acks: [all]}}\n"
      "state_dir: \"\"\n");
  EXPECT_THAT(ErrorStrings(result),
              ElementsAre(R"(calendar: expected a map, got a list)",
                          R"(departments: expected a list, got a map)",
                          R"(procedures[0]: expected a map, got "P1")",
                          R"(procedures[1].department: missing (required))",
                          R"(procedures[1].code: expected a string, got a list)",
                          R"(procedures[1].sla: expected a string, got a map)",
                          R"(kafka.brokers: expected a string, got a map)",
                          R"(kafka.properties.acks: expected a string, got a list)",
                          R"(state_dir: must not be empty)"));
}

struct TimeRangeCase {
  std::string hours;
  std::string error;  // empty: valid
};

TEST(ConfigTest, WorkingHoursTable) {
  const std::vector<TimeRangeCase> cases = {
      {R"(["07:30-11:30", "13:00-17:00"])", ""},
      {R"(["00:00-24:00"])", ""},
      {R"(["07:30-11:30", "11:30-17:00"])", ""},  // touching is fine
      {R"([])", "calendar.working_hours: no working hours on any day of the week"},
      {R"(["7:30-11:30"])",
       R"(calendar.working_hours.mon-fri[0]: "7:30-11:30" is not a time range)"},
      {R"(["07:30-07:30"])",
       R"(calendar.working_hours.mon-fri[0]: "07:30-07:30" is not a time range)"},
      {R"(["24:00-24:00"])",
       R"(calendar.working_hours.mon-fri[0]: "24:00-24:00" is not a time range)"},
      {R"(["08:00-24:30"])",
       R"(calendar.working_hours.mon-fri[0]: "08:00-24:30" is not a time range)"},
      {R"(["08:60-09:00"])",
       R"(calendar.working_hours.mon-fri[0]: "08:60-09:00" is not a time range)"},
      {R"(["13:00-17:00", "07:30-11:30"])",
       R"(calendar.working_hours.mon-fri[1]: "07:30-11:30" must start at or after the end of "13:00-17:00")"},
      {R"(["07:30-12:00", "11:30-17:00"])",
       R"(calendar.working_hours.mon-fri[1]: "11:30-17:00" must start at or after the end of "07:30-12:00")"},
      {R"("07:30-11:30")", R"(calendar.working_hours.mon-fri: expected a list, got "07:30-11:30")"},
  };
  for (const TimeRangeCase& c : cases) {
    const ConfigResult result =
        LoadConfigString("calendar: {working_hours: {mon-fri: " + c.hours + "}}\n");
    if (c.error.empty()) {
      EXPECT_THAT(ErrorStrings(result), IsEmpty()) << c.hours;
    } else {
      EXPECT_THAT(ErrorStrings(result), ElementsAre(c.error)) << c.hours;
    }
  }
}

TEST(ConfigTest, DayKeysAndRepeats) {
  const ConfigResult result = LoadConfigString(
      "calendar:\n"
      "  working_hours:\n"
      "    mon-wed: [\"08:00-12:00\"]\n"
      "    tue-fri: [\"08:00-12:00\"]\n"
      "    sun-mon: []\n"
      "    sat-sun: []\n");
  EXPECT_THAT(
      ErrorStrings(result),
      ElementsAre(
          R"(calendar.working_hours.tue-fri: tue is already given by "mon-wed")",
          R"(calendar.working_hours.tue-fri: wed is already given by "mon-wed")",
          R"(calendar.working_hours.sun-mon: "sun-mon" is not a day (mon..sun) or a range of days (mon-fri))"));
}

TEST(ConfigTest, MissingWorkingHours) {
  EXPECT_THAT(ErrorStrings(LoadConfigString("")),
              ElementsAre("calendar.working_hours: missing (required)"));
}

TEST(ConfigTest, ThresholdsAndDurations) {
  const ConfigResult result = Load(
      "defaults: {at_risk_remaining: 12.5%, apology_extension: 1d4h}\n"
      "departments: [{code: D}]\n"
      "procedures:\n"
      "  - {code: A, department: D, sla: 2d4h, at_risk_remaining: 100%}\n"
      "  - {code: B, department: D, sla: 30s, at_risk_remaining: 0}\n"
      "alertmanager: {resend_interval: 1d, timeout: 500ms}\n");
  EXPECT_THAT(ErrorStrings(result), ElementsAre(R"(alertmanager.timeout: must be at least 1s)"));
}

TEST(ConfigTest, PortsAndUrls) {
  const std::vector<std::pair<std::string, bool>> listens = {
      {"127.0.0.1:9464", true}, {"[::1]:9464", true},   {"0.0.0.0:1", true},
      {"localhost:9464", true}, {"localhost:0", false}, {"9464", false},
      {":9464", false},         {"host:", false},       {"host:12ab", false},
      {"[::1:9464", false},     {"myhost:9464", false}, {"metrics.example.gov.vn:9464", false},
  };
  for (const auto& [listen, valid] : listens) {
    const ConfigResult result = Load("http: {listen: \"" + listen + "\"}\n");
    EXPECT_EQ(result.ok(), valid) << listen;
  }
  EXPECT_THAT(ErrorStrings(Load("http: {listen: \"myhost:9464\"}\n")),
              ElementsAre(R"(http.listen: "myhost:9464": "myhost" is a host name; a listening )"
                          R"(address is an IP address (127.0.0.1, 0.0.0.0, [::1]) or localhost)"));

  const std::vector<std::pair<std::string, bool>> urls = {
      {"", true},  // no Alertmanager
      {"http://127.0.0.1:9093", true},
      {"http://alertmanager:9093/prefix/", true},
      {"http://[::1]:9093", true},
      {"http://alertmanager", true},  // port 80
      {"https://alertmanager:9093", true},
      {"ftp://alertmanager:9093", false},
      {"alertmanager:9093", false},
      {"http://:9093", false},
      {"http://alertmanager:port", false},
      {"http://admin:secret@alertmanager:9093", false},
      {"http://alertmanager:9093/?x=1", false},
      {"http://alertmanager:9093/a b", false},
  };
  for (const auto& [url, valid] : urls) {
    const ConfigResult result = Load("alertmanager: {url: \"" + url + "\"}\n");
    EXPECT_EQ(result.ok(), valid) << url;
  }
  EXPECT_THAT(
      ErrorStrings(Load("alertmanager: {url: \"alertmanager:9093\"}\n")),
      ElementsAre(R"(alertmanager.url: "alertmanager:9093" is not an http:// or https:// URL)"));
  EXPECT_TRUE(Load("alertmanager: {url: \"https://am.example.gov.vn\"}\n").ok());
}

TEST(ConfigTest, CheckpointIntervalIsADurationOrZeroForNone) {
  EXPECT_EQ(Load("").config->state.checkpoint_interval, 5min);
  EXPECT_EQ(Load("state: {checkpoint_interval: 30s}\n").config->state.checkpoint_interval, 30s);
  EXPECT_EQ(Load("state: {checkpoint_interval: 0}\n").config->state.checkpoint_interval, 0s);
  EXPECT_THAT(ErrorStrings(Load("state: {checkpoint_interval: 500ms}\n")),
              ElementsAre("state.checkpoint_interval: must be 0 (no checkpoints) or between 1s "
                          "and 24h"));
  EXPECT_THAT(ErrorStrings(Load("state: {checkpoint_interval: often, every: 1}\n")),
              ElementsAre(R"(state.checkpoint_interval: "often" is not a duration)",
                          R"(state.every: unknown key "every")"));
}

TEST(ConfigTest, StandbyReplicasAreACountAndNeedCheckpoints) {
  EXPECT_EQ(Load("").config->state.standby_replicas, 0);
  EXPECT_EQ(Load("state: {standby_replicas: 2}\n").config->state.standby_replicas, 2);
  EXPECT_THAT(ErrorStrings(Load("state: {standby_replicas: -1}\n")),
              ElementsAre(R"(state.standby_replicas: "-1" is not a count from 0 to 16)"));
  EXPECT_THAT(ErrorStrings(Load("state: {checkpoint_interval: 0, standby_replicas: 1}\n")),
              ElementsAre("state.standby_replicas: needs checkpoints: state.checkpoint_interval "
                          "is 0 (no checkpoints)"));
}

TEST(ConfigTest, ClockSkewAndOutputAgeAreWallClockDurations) {
  const ConfigResult result = Load(
      "ingest: {max_clock_skew: 2m30s}\n"
      "output: {max_age: 1d}\n");
  ASSERT_THAT(ErrorStrings(result), IsEmpty());
  EXPECT_EQ(result.config->ingest.max_clock_skew, 150s);
  EXPECT_EQ(result.config->output.max_age, 24h);  // d = 24 hours, not calendar.day_length

  EXPECT_THAT(ErrorStrings(Load("ingest: {max_clock_skew: 0s}\n"
                                "output: {max_age: soon, max_size: 1}\n")),
              ElementsAre(R"(ingest.max_clock_skew: must be more than 0)",
                          R"(output.max_age: "soon" is not a duration)",
                          R"(output.max_size: unknown key "max_size")"));
  EXPECT_THAT(ErrorStrings(Load("ingest: [5m]\noutput: {max_age: [7d]}\n")),
              ElementsAre(R"(ingest: expected a map, got a list)",
                          R"(output.max_age: expected a string, got a list)"));
}

struct LetterLimitCase {
  std::string yaml;
  std::vector<std::string> errors;
};

TEST(ConfigTest, LetterLimitNeedsAnEscalationContact) {
  const std::string escalation =
      "escalation: {name: \"Le Van C\", title: \"Chief Inspector\", email: \"i@example.gov.vn\"}\n";
  const std::vector<LetterLimitCase> cases = {
      {"defaults: {max_apology_letters: 0}\n", {}},
      {"defaults: {max_apology_letters: 3}\n" + escalation, {}},
      {escalation, {}},  // a contact without a limit is harmless
      {"defaults: {max_apology_letters: 3}\n",
       {"escalation: required when defaults.max_apology_letters is set"}},
      {"defaults: {max_apology_letters: 1}\nescalation: ~\n",
       {"escalation: required when defaults.max_apology_letters is set"}},
      {"defaults: {max_apology_letters: -1}\n",
       {R"(defaults.max_apology_letters: "-1" is not a whole number (0 or more))"}},
      {"defaults: {max_apology_letters: 1.5}\n",
       {R"(defaults.max_apology_letters: "1.5" is not a whole number (0 or more))"}},
      {"defaults: {max_apology_letters: 99999999999}\n",
       {R"(defaults.max_apology_letters: "99999999999" is not a whole number (0 or more))"}},
      {"defaults: {max_apology_letters: [2]}\n",
       {R"(defaults.max_apology_letters: expected a string, got a list)"}},
      {"defaults: {max_apology_letters: 2}\nescalation: {name: A, phone: \"1\"}\n",
       {R"(escalation.phone: unknown key "phone")"}},
      {"defaults: {max_apology_letters: 2}\nescalation: \"inspect@example.gov.vn\"\n",
       {R"(escalation: expected a map, got "inspect@example.gov.vn")"}},
      {"escalation: {name: [A]}\n", {R"(escalation.name: expected a string, got a list)"}},
  };
  for (const LetterLimitCase& c : cases) {
    const ConfigResult result = Load(c.yaml);
    EXPECT_EQ(ErrorStrings(result), c.errors) << c.yaml;
  }
  const ConfigResult limited = Load("defaults: {max_apology_letters: 3}\n" + escalation);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited.config->rules.defaults.max_apology_letters, 3);
  ASSERT_TRUE(limited.config->rules.escalation.has_value());
  EXPECT_EQ(limited.config->rules.escalation->email, "i@example.gov.vn");
  EXPECT_EQ(limited.config->rules.escalation->title, "Chief Inspector");
}

// A zero budget would make a dossier due the instant it is accepted, and a zero extension a
// breach start a cycle due at the breach instant itself.
TEST(ConfigTest, BudgetsAndExtensionsMustBePositive) {
  const ConfigResult result = Load(
      "defaults: {apology_extension: 0d}\n"
      "departments: [{code: D}]\n"
      "procedures:\n"
      "  - {code: A, department: D, sla: 0h, apology_extension: 0m, steps: {D: 0d}}\n"
      "  - {code: B, department: D, sla: -1d, apology_extension: 1h}\n"
      "  - {code: C, sla: 1d}\n");
  EXPECT_THAT(ErrorStrings(result),
              ElementsAre(R"(defaults.apology_extension: must be more than 0)",
                          R"(procedures[0].sla: must be more than 0)",
                          R"(procedures[0].apology_extension: must be more than 0)",
                          R"(procedures[0].steps.D: must be more than 0)",
                          R"(procedures[1].sla: "-1d" is not a duration)",
                          R"(procedures[2].department: missing (required))"));
}

TEST(ConfigTest, SnapshotIntervalIsAtLeastASecond) {
  EXPECT_THAT(ErrorStrings(Load("snapshot_interval: 500ms\n")),
              ElementsAre("snapshot_interval: must be at least 1s"));
  const ConfigResult result = Load("snapshot_interval: 1500ms\n");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.config->snapshot_interval, 1500ms);
}

TEST(ConfigTest, KafkaBrokersAndTopics) {
  const std::vector<std::pair<std::string, bool>> brokers = {
      {"127.0.0.1:9092", true},
      {"kafka-1:9092,kafka-2:9092", true},
      {"kafka-1, kafka-2:9093", true},  // the port defaults to 9092, as in librdkafka
      {"SASL_SSL://kafka-1.example.gov.vn:9093,ssl://[::1]:9093", true},
      {"", false},
      {"kafka-1,", false},
      {"kafka-1:abc", false},
      {"http://kafka-1:9092", false},
      {"kafka 1:9092", false},
  };
  for (const auto& [list, valid] : brokers) {
    const ConfigResult result = Load("kafka: {brokers: \"" + list + "\"}\n");
    EXPECT_EQ(result.ok(), valid) << list << ": " << testing::PrintToString(ErrorStrings(result));
  }
  EXPECT_THAT(ErrorStrings(Load("kafka: {brokers: \"kafka-1:99999\"}\n")),
              ElementsAre(R"(kafka.brokers: "kafka-1:99999": the port must be a number from 1 )"
                          R"(to 65535)"));

  const std::string not_a_topic =
      R"( is not a Kafka topic name (1 to 249 letters, digits, '.', '_' or '-'; not . or ..))";
  const std::string input = R"( (ontimed would read its own output))";
  EXPECT_THAT(
      ErrorStrings(Load("kafka:\n"
                        "  topics: {events: \"^dossier.*\", alerts: \"\",\n"
                        "           letters: dossier.events,\n"
                        "           dead_letters: dossier.events}\n")),
      ElementsAre(R"(kafka.topics.events: "^dossier.*")" + not_a_topic,
                  R"(kafka.topics.alerts: "")" + not_a_topic,
                  R"(kafka.topics.letters: must not be the input topic "dossier.events")" + input,
                  R"(kafka.topics.dead_letters: must not be the input topic )"
                  R"("dossier.events")" +
                      input));
  EXPECT_THAT(
      ErrorStrings(Load("kafka: {topics: {events: in, dead_letters: in}}\n")),
      ElementsAre(R"(kafka.topics.dead_letters: must not be the input topic "in")" + input));
  const ConfigResult same_outputs =
      Load("kafka: {topics: {events: in, alerts: out, letters: out, dead_letters: in.dlq}}\n");
  EXPECT_THAT(ErrorStrings(same_outputs), IsEmpty());
}

// Several instances: the members topic, the input's partitioner and the address the others
// reach this instance at.
TEST(ConfigTest, MembersTopicPartitionerAndAdvertisedAddress) {
  const ConfigResult defaults = Load("kafka: {group_id: ontime-dak-lak}\n");
  ASSERT_TRUE(defaults.ok()) << testing::PrintToString(ErrorStrings(defaults));
  EXPECT_EQ(MembersTopic(defaults.config->kafka), "ontime-dak-lak.members");
  EXPECT_EQ(defaults.config->kafka.input_partitioner, "consistent_random");
  EXPECT_EQ(AdvertisedAddress(defaults.config->http, 9464), "127.0.0.1:9464");

  const ConfigResult given = Load(
      "kafka: {topics: {members: ontime.members}, input_partitioner: murmur2_random}\n"
      "http: {listen: \"0.0.0.0:9464\", advertise: \"ontime-2.example.gov.vn:9464\"}\n");
  ASSERT_TRUE(given.ok()) << testing::PrintToString(ErrorStrings(given));
  EXPECT_EQ(MembersTopic(given.config->kafka), "ontime.members");
  EXPECT_EQ(given.config->kafka.input_partitioner, "murmur2_random");
  EXPECT_EQ(AdvertisedAddress(given.config->http, 40000), "ontime-2.example.gov.vn:9464");
  // A wildcard listen address advertises the host's name with the bound port.
  HttpConfig wildcard;
  wildcard.listen = "0.0.0.0:9464";
  EXPECT_TRUE(AdvertisedAddress(wildcard, 9464).ends_with(":9464"));
  EXPECT_FALSE(AdvertisedAddress(wildcard, 9464).starts_with("0.0.0.0"));
  wildcard.listen = "[::1]:0";
  EXPECT_EQ(AdvertisedAddress(wildcard, 5000), "[::1]:5000");

  EXPECT_THAT(
      ErrorStrings(Load("kafka: {input_partitioner: fnv1a}\nhttp: {advertise: \"h:0\"}\n")),
      ElementsAre(R"(kafka.input_partitioner: must be consistent_random (librdkafka's default) )"
                  R"(or murmur2_random (the Java client's); got "fnv1a")",
                  R"(http.advertise: "h:0": the port must be a number from 1 to 65535)"));
  EXPECT_THAT(ErrorStrings(Load("kafka: {topics: {events: in, members: in}}\n")),
              ElementsAre(R"(kafka.topics.members: must not be the input topic "in" )"
                          R"((ontimed would read its own output))"));
}

TEST(ConfigTest, KafkaPropertiesAreJudgedByLibrdkafka) {
  const ConfigResult valid = Load(
      "kafka:\n"
      "  properties:\n"
      "    session.timeout.ms: \"6000\"\n"
      "    heartbeat.interval.ms: 1000\n"
      "    acks: all\n"
      "    auto.offset.reset: earliest\n"  // a topic-level property
      "    debug: cgrp\n");                // not passed to the check: it would log
  ASSERT_THAT(ErrorStrings(valid), IsEmpty());
  EXPECT_EQ(valid.config->kafka.properties.size(), 5u);

  EXPECT_THAT(
      ErrorStrings(Load("kafka:\n"
                        "  properties:\n"
                        "    no.such.property: \"1\"\n"
                        "    acks: banana\n"
                        "    bootstrap.servers: \"kafka-9:9092\"\n"
                        "    group.id: other\n"
                        "    enable.partition.eof: \"false\"\n"
                        "    linger.ms: \"5\"\n")),
      ElementsAre(
          R"(kafka.properties.no.such.property: No such configuration property: )"
          R"("no.such.property")",
          R"(kafka.properties.acks: Invalid value for configuration property )"
          R"("request.required.acks")",
          "kafka.properties.bootstrap.servers: not a pass-through property: set the brokers "
          "with kafka.brokers",
          "kafka.properties.group.id: not a pass-through property: set the consumer group with "
          "kafka.group_id",
          "kafka.properties.enable.partition.eof: not a pass-through property: ontimed sets it "
          "(true): it tells when the input is caught up"));

  // Valid one by one, refused together when librdkafka builds the clients run builds.
  EXPECT_THAT(ErrorStrings(Load("kafka: {properties: {acks: \"1\"}}\n")),
              ElementsAre("kafka.properties: librdkafka refuses the producer: `acks` must be set "
                          "to `all` when `enable.idempotence` is true"));
  EXPECT_THAT(ErrorStrings(Load("kafka: {properties: {security.protocol: SASL_SSL, "
                                "sasl.mechanism: PLAIN}}\n")),
              ElementsAre("kafka.properties: librdkafka refuses the producer: sasl.username and "
                          "sasl.password must be set"));
  EXPECT_THAT(ErrorStrings(Load("kafka: {properties: {fetch.max.bytes: \"1000\"}}\n")),
              ElementsAre("kafka.properties: librdkafka refuses the consumer: `fetch.max.bytes` "
                          "must be >= `message.max.bytes`"));
}

TEST(TimeZoneTest, HoChiMinhIsPlusSeven) {
  const auto offsets = LoadUtcOffsets("Asia/Ho_Chi_Minh");
  ASSERT_TRUE(offsets.ok()) << offsets.error().message;
  EXPECT_EQ(offsets->front().from, At("1970-01-01T00:00:00Z"));
  EXPECT_EQ(OffsetAt(*offsets, At("2026-01-15T00:00:00Z")), 7h);
  EXPECT_EQ(OffsetAt(*offsets, At("2026-07-15T00:00:00Z")), 7h);
  EXPECT_EQ(OffsetAt(*offsets, At("1970-06-01T00:00:00Z")), 8h);  // Saigon time before 1975
}

TEST(TimeZoneTest, AmsterdamHasSummerTime) {
  const auto offsets = LoadUtcOffsets("Europe/Amsterdam", 2020, 2030);
  ASSERT_TRUE(offsets.ok()) << offsets.error().message;
  EXPECT_EQ(OffsetAt(*offsets, At("2026-01-15T12:00:00Z")), 1h);
  EXPECT_EQ(OffsetAt(*offsets, At("2026-07-15T12:00:00Z")), 2h);
  // 2026-03-29 01:00 UTC: clocks go from 02:00 to 03:00 local.
  EXPECT_EQ(OffsetAt(*offsets, At("2026-03-29T00:59:59Z")), 1h);
  EXPECT_EQ(OffsetAt(*offsets, At("2026-03-29T01:00:00Z")), 2h);
  EXPECT_EQ(offsets->size(), 1u + 2u * 11u);  // one change each spring and autumn
}

// The OS database lists transitions up to 2037; the file's POSIX rule carries them on.
TEST(TimeZoneTest, SummerTimeGoesOnAfter2037) {
  const auto amsterdam = LoadUtcOffsets("Europe/Amsterdam");
  ASSERT_TRUE(amsterdam.ok()) << amsterdam.error().message;
  EXPECT_EQ(OffsetAt(*amsterdam, At("2037-07-15T12:00:00Z")), 2h);
  EXPECT_EQ(OffsetAt(*amsterdam, At("2037-12-15T12:00:00Z")), 1h);
  // Last Sunday of March 2050 is the 27th; at 01:00 UTC, clocks go forward.
  EXPECT_EQ(OffsetAt(*amsterdam, At("2050-03-27T00:59:59Z")), 1h);
  EXPECT_EQ(OffsetAt(*amsterdam, At("2050-03-27T01:00:00Z")), 2h);
  // Last Sunday of October 2050 is the 30th; at 01:00 UTC, clocks go back.
  EXPECT_EQ(OffsetAt(*amsterdam, At("2050-10-30T00:59:59Z")), 2h);
  EXPECT_EQ(OffsetAt(*amsterdam, At("2050-10-30T01:00:00Z")), 1h);
  EXPECT_EQ(OffsetAt(*amsterdam, At("2200-07-15T12:00:00Z")), 2h);

  const auto new_york = LoadUtcOffsets("America/New_York", 2000, 2100);
  ASSERT_TRUE(new_york.ok()) << new_york.error().message;
  // Second Sunday of March 2100 is the 14th, 02:00 EST = 07:00 UTC.
  EXPECT_EQ(OffsetAt(*new_york, At("2100-03-14T06:59:59Z")), -5h);
  EXPECT_EQ(OffsetAt(*new_york, At("2100-03-14T07:00:00Z")), -4h);
  EXPECT_EQ(new_york->back().from, At("2100-11-07T06:00:00Z"));  // first Sunday of November

  const auto sydney = LoadUtcOffsets("Australia/Sydney", 2090, 2090);
  ASSERT_TRUE(sydney.ok()) << sydney.error().message;
  EXPECT_EQ(OffsetAt(*sydney, At("2090-01-15T00:00:00Z")), 11h);
  EXPECT_EQ(OffsetAt(*sydney, At("2090-07-15T00:00:00Z")), 10h);
  EXPECT_EQ(sydney->size(), 3u);
}

TEST(TimeZoneTest, UnknownZoneIsAnError) {
  const auto offsets = LoadUtcOffsets("Mars/Olympus_Mons");
  ASSERT_FALSE(offsets.ok());
  EXPECT_EQ(offsets.error().code, "unknown_time_zone");
  EXPECT_EQ(offsets.error().message, R"(unknown time zone "Mars/Olympus_Mons")");
}

}  // namespace
}  // namespace ontime::daemon
