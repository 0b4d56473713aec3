#include "ontime/daemon/cli.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string_view>

#include "ontime/daemon/backtest.h"
#include "ontime/daemon/config.h"
#include "ontime/daemon/letter_document.h"
#include "ontime/daemon/replay.h"
#include "ontime/daemon/run.h"
#include "ontime/rules/engine.h"
#include "ontime/streams/json_writer.h"
#include "ontime/testdata/generate.h"

namespace ontime::daemon {
namespace {

constexpr int kExitUsage = 64;  // EX_USAGE

constexpr std::string_view kUsage =
    "usage: ontimed <command> [options]\n"
    "  run          --config FILE\n"
    "  replay       --config FILE --events FILE|- [--now RFC3339] [--report FILE] [--emit FILE]\n"
    "  check-config --config FILE\n"
    "  due          --config FILE --procedure CODE --accepted RFC3339\n"
    "  calendar     --config FILE --year YYYY\n"
    "  generate     --config FILE [--start YYYY-MM-DD] [--days N] [--per-day N] [--seed N]\n"
    "               [--invalid-fraction F] [--no-applicant] [--out FILE|-]\n"
    "  letter       --config FILE --letter JSON_FILE|- [--format html]\n"
    "  backtest     --config FILE --events FILE [--thresholds 0.5,0.6,...] [--split 0.5]\n"
    "               [--out-dir DIR]\n";

struct Flags {
  std::map<std::string, std::string> values;
  std::string error;

  const std::string* Get(const std::string& name) const {
    auto it = values.find(name);
    return it == values.end() ? nullptr : &it->second;
  }
};

Flags ParseFlags(const std::vector<std::string>& args, size_t first,
                 const std::vector<std::string>& allowed,
                 const std::vector<std::string>& switches) {
  Flags flags;
  for (size_t i = first; i < args.size(); ++i) {
    const std::string& arg = args[i];
    std::string name = arg;
    std::optional<std::string> value;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    bool is_switch = std::find(switches.begin(), switches.end(), name) != switches.end();
    if (!is_switch && std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      flags.error = "unknown option " + arg;
      return flags;
    }
    if (is_switch) {
      flags.values[name] = "true";
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        flags.error = "option " + name + " needs a value";
        return flags;
      }
      value = args[++i];
    }
    flags.values[name] = *value;
  }
  return flags;
}

// Loads --config, printing every error; nullopt means exit kExitConfig.
std::optional<Config> LoadOrReport(const Flags& flags, std::ostream& err) {
  const std::string* path = flags.Get("--config");
  if (!path) {
    err << "ontimed: --config FILE is required\n";
    return std::nullopt;
  }
  ConfigResult loaded = LoadConfigFile(*path);
  if (!loaded.ok()) {
    for (const ConfigError& e : loaded.errors) err << *path << ": " << e.ToString() << "\n";
    err << "ontimed: " << loaded.errors.size() << " configuration error"
        << (loaded.errors.size() == 1 ? "" : "s") << " in " << *path << "\n";
    return std::nullopt;
  }
  return std::move(loaded.config);
}

// The configuration's rules compiled, or their error written to `err` after `prefix`.
std::shared_ptr<const rules::CompiledRules> CompileOrReport(const Config& config, std::ostream& err,
                                                            std::string_view prefix = "") {
  auto rules = rules::CompiledRules::Compile(config.rules);
  if (rules.ok()) return rules.value();
  err << prefix << rules.error().message << "\n";
  return nullptr;
}

int CheckConfig(const Flags& flags, std::ostream& out, std::ostream& err) {
  auto config = LoadOrReport(flags, err);
  if (!config) return kExitConfig;
  auto rules = CompileOrReport(*config, err, *flags.Get("--config") + ": ");
  if (!rules) return kExitConfig;
  out << *flags.Get("--config") << ": ok (" << config->rules.departments.size() << " departments, "
      << config->rules.procedures.size() << " procedures, time zone "
      << config->rules.calendar.timezone << ")\n";
  return 0;
}

int Due(const Flags& flags, std::ostream& out, std::ostream& err) {
  const std::string* procedure = flags.Get("--procedure");
  const std::string* accepted = flags.Get("--accepted");
  if (!procedure || !accepted) {
    err << "ontimed due: --procedure CODE and --accepted RFC3339 are required\n";
    return kExitUsage;
  }
  auto at = ParseRfc3339(*accepted);
  if (!at) {
    err << "ontimed due: --accepted \"" << *accepted << "\" is not an RFC 3339 timestamp\n";
    return kExitUsage;
  }
  auto config = LoadOrReport(flags, err);
  if (!config) return kExitConfig;
  auto rules = CompileOrReport(*config, err);
  if (!rules) return kExitConfig;
  auto index = rules->FindProcedure(*procedure);
  if (!index) {
    err << "ontimed due: unknown procedure \"" << *procedure << "\"\n";
    return kExitUsage;
  }
  const auto& calendar = rules->calendar();
  if (!rules::InEventTimeRange(*at)) {
    err << "ontimed due: --accepted must lie in 1970-01-01T00:00Z..2200-01-01T00:00Z\n";
    return kExitUsage;
  }
  std::optional<Instant> due = calendar.Add(*at, rules->procedure_rules(*index).sla);
  if (!due) {
    err << "ontimed due: the due lies past the calendar's end\n";
    return kExitUsage;
  }
  out << FormatRfc3339(*due, calendar.UtcOffsetAt(*due)) << "\n";
  return 0;
}

int Calendar(const Flags& flags, std::ostream& out, std::ostream& err) {
  const std::string* year_text = flags.Get("--year");
  int year = 0;
  try {
    year = year_text ? std::stoi(*year_text) : 0;
  } catch (...) {
    year = 0;
  }
  if (year < 1971 || year > 2199) {
    err << "ontimed calendar: --year YYYY (1971..2199) is required\n";
    return kExitUsage;
  }
  auto config = LoadOrReport(flags, err);
  if (!config) return kExitConfig;
  auto calendar = rules::BusinessCalendar::Build(config->rules.calendar);
  if (!calendar.ok()) {
    err << calendar.error().message << "\n";
    return kExitConfig;
  }
  rules::YearView view = (*calendar)->DescribeYear(year);
  std::string json;
  streams::JsonWriter w(json);
  w.BeginObject().Key("year").Int(year).Key("holidays").BeginArray();
  for (const rules::NamedDay& holiday : view.holidays) {
    w.Break().BeginObject().Field("date", FormatDate(holiday.date));
    w.Field("name", holiday.name).EndObject();
  }
  w.EndArray().Break().Key("working_days").BeginArray();
  for (const rules::WorkingDayOverride& day : view.working_days) {
    w.Break().BeginObject().Field("date", FormatDate(day.date)).Key("hours").BeginArray();
    for (const rules::TimeRange& range : day.hours) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "%02d:%02d-%02d:%02d", range.start_minute / 60,
                    range.start_minute % 60, range.end_minute / 60, range.end_minute % 60);
      w.String(buf);
    }
    w.EndArray().EndObject();
  }
  w.EndArray().EndObject();
  json.push_back('\n');
  out << json;
  return 0;
}

int Backtest(const Flags& flags, std::ostream& out, std::ostream& err) {
  BacktestOptions options;
  if (const std::string* events = flags.Get("--events")) {
    options.events_path = *events;
  } else {
    err << "ontimed backtest: --events FILE is required\n";
    return kExitUsage;
  }
  auto number = [](const std::string& text, double& value) {
    char* end = nullptr;
    value = std::strtod(text.c_str(), &end);
    return !text.empty() && end == text.c_str() + text.size() && value > 0 && value <= 1;
  };
  if (const std::string* list = flags.Get("--thresholds")) {
    options.thresholds.clear();
    size_t from = 0;
    while (from <= list->size()) {
      const size_t comma = std::min(list->find(',', from), list->size());
      double value = 0;
      if (!number(list->substr(from, comma - from), value)) {
        err << "ontimed backtest: --thresholds wants numbers in (0, 1], comma-separated\n";
        return kExitUsage;
      }
      options.thresholds.push_back(value);
      from = comma + 1;
    }
  }
  if (const std::string* split = flags.Get("--split")) {
    if (!number(*split, options.split) || options.split >= 1) {
      err << "ontimed backtest: --split wants a number in (0, 1)\n";
      return kExitUsage;
    }
  }
  if (const std::string* dir = flags.Get("--out-dir")) options.out_dir = *dir;
  auto config = LoadOrReport(flags, err);
  if (!config) return kExitConfig;
  return RunBacktest(*config, options, out, err);
}

int Replay(const Flags& flags, std::ostream& out, std::ostream& err) {
  ReplayOptions options;
  if (const std::string* events = flags.Get("--events")) {
    options.events_path = *events;
  } else {
    err << "ontimed replay: --events FILE|- is required\n";
    return kExitUsage;
  }
  if (const std::string* now = flags.Get("--now")) {
    options.now = ParseRfc3339(*now);
    if (!options.now) {
      err << "ontimed replay: --now \"" << *now << "\" is not an RFC 3339 timestamp\n";
      return kExitUsage;
    }
  }
  if (const std::string* report = flags.Get("--report")) options.report_path = *report;
  if (const std::string* emit = flags.Get("--emit")) options.emit_path = *emit;
  // A progress line only where someone watches it: this process's stderr, on a terminal.
  options.progress = &err == &std::cerr && ::isatty(STDERR_FILENO) == 1;
  auto config = LoadOrReport(flags, err);
  if (!config) return kExitConfig;
  // With --emit -, the summary goes to stderr so stdout stays JSON Lines.
  return RunReplay(*config, options, options.emit_path == "-" ? err : out, err);
}

int Generate(const Flags& flags, std::ostream& out, std::ostream& err) {
  auto config = LoadOrReport(flags, err);
  if (!config) return kExitConfig;
  testdata::GenerateOptions options;
  try {
    if (const std::string* start = flags.Get("--start")) {
      auto day = ParseDate(*start);
      if (!day) {
        err << "ontimed generate: --start \"" << *start << "\" is not a date YYYY-MM-DD\n";
        return kExitUsage;
      }
      options.first_day = *day;
    }
    if (const std::string* v = flags.Get("--days")) options.days = std::stoi(*v);
    if (const std::string* v = flags.Get("--per-day")) options.dossiers_per_day = std::stoi(*v);
    if (const std::string* v = flags.Get("--seed")) options.seed = std::stoull(*v);
    if (const std::string* v = flags.Get("--invalid-fraction")) {
      options.invalid_fraction = std::stod(*v);
    }
  } catch (const std::exception&) {
    err << "ontimed generate: a numeric option is not a number\n";
    return kExitUsage;
  }
  if (flags.Get("--no-applicant")) options.with_applicant = false;
  const std::string* path = flags.Get("--out");
  const bool to_stdout = !path || *path == "-";
  std::ofstream file;
  if (!to_stdout) {
    file.open(*path, std::ios::binary);
    if (!file) {
      err << "ontimed generate: cannot write " << *path << "\n";
      return 1;
    }
  }
  Result<size_t> lines = testdata::GenerateEvents(config->rules, options, to_stdout ? out : file);
  if (!lines.ok()) {
    err << "ontimed generate: " << lines.error().message << "\n";
    return 1;
  }
  if (to_stdout) {
    err << "ontimed generate: " << *lines << " events\n";
    return 0;
  }
  file.close();
  if (!file) {
    err << "ontimed generate: cannot write " << *path << "\n";
    return 1;
  }
  err << "ontimed generate: " << *lines << " events written to " << *path << "\n";
  return 0;
}

// A letter event (contract section 4) as the printable form 04 document.
int Letter(const Flags& flags, std::ostream& out, std::ostream& err) {
  const std::string* file = flags.Get("--letter");
  if (!file) {
    err << "ontimed letter: --letter JSON_FILE|- is required\n";
    return kExitUsage;
  }
  if (const std::string* format = flags.Get("--format"); format && *format != "html") {
    err << "ontimed letter: --format \"" << *format << "\" is not one of: html\n";
    return kExitUsage;
  }
  auto config = LoadOrReport(flags, err);
  if (!config) return kExitConfig;
  auto rules = CompileOrReport(*config, err);
  if (!rules) return kExitConfig;
  std::string json;
  if (*file == "-") {
    json.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(*file, std::ios::binary);
    if (!in) {
      err << "ontimed letter: cannot read " << *file << "\n";
      return 1;
    }
    json.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  Result<LetterFields> letter = ParseLetterJson(json);
  if (!letter.ok()) {
    err << "ontimed letter: " << *file << ": " << letter.error().message << "\n";
    return 1;
  }
  out << RenderLetterHtml(*letter, *rules, config->letters);
  return 0;
}

}  // namespace

int RunCommandLine(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() < 2 || args[1] == "--help" || args[1] == "-h" || args[1] == "help") {
    (args.size() < 2 ? err : out) << kUsage;
    return args.size() < 2 ? kExitUsage : 0;
  }
  const std::string& command = args[1];
  if (command == "--version" || command == "version") {
    out << "ontimed " << ONTIME_VERSION << "\n";
    return 0;
  }
  struct Spec {
    std::vector<std::string> options;
    std::vector<std::string> switches;
  };
  static const std::map<std::string, Spec> kCommands = {
      {"run", {{"--config"}, {}}},
      {"replay", {{"--config", "--events", "--now", "--report", "--emit"}, {}}},
      {"check-config", {{"--config"}, {}}},
      {"due", {{"--config", "--procedure", "--accepted"}, {}}},
      {"calendar", {{"--config", "--year"}, {}}},
      {"generate",
       {{"--config", "--start", "--days", "--per-day", "--seed", "--invalid-fraction", "--out"},
        {"--no-applicant"}}},
      {"letter", {{"--config", "--letter", "--format"}, {}}},
      {"backtest", {{"--config", "--events", "--thresholds", "--split", "--out-dir"}, {}}},
  };
  auto spec = kCommands.find(command);
  if (spec == kCommands.end()) {
    err << "ontimed: unknown command \"" << command << "\"\n" << kUsage;
    return kExitUsage;
  }
  Flags flags = ParseFlags(args, 2, spec->second.options, spec->second.switches);
  if (!flags.error.empty()) {
    err << "ontimed " << command << ": " << flags.error << "\n" << kUsage;
    return kExitUsage;
  }
  if (command == "check-config") return CheckConfig(flags, out, err);
  if (command == "due") return Due(flags, out, err);
  if (command == "calendar") return Calendar(flags, out, err);
  if (command == "replay") return Replay(flags, out, err);
  if (command == "generate") return Generate(flags, out, err);
  if (command == "letter") return Letter(flags, out, err);
  if (command == "backtest") return Backtest(flags, out, err);
  auto config = LoadOrReport(flags, err);
  if (!config) return kExitConfig;
  return RunDaemon(*config, *flags.Get("--config"), err);
}

}  // namespace ontime::daemon
