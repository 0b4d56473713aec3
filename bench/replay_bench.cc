// Replay throughput: the full `ontimed replay` path (lines -> EventPipeline::ProcessBatch ->
// Engine, alerts and letters formatted to JSON as --emit would, final AdvanceTo) against a
// parse-only baseline (simdjson DOM parse of the same lines), on one core.
//
//   replay_bench [--events N] [--file PATH] [--config YAML] [--per-day N] [--repeat R] [--compare]
//
// Without --file, a synthetic stream of at least N events (default 10,000,000) is generated with
// testdata::GenerateEvents (applicants on, 0.2% invalid lines) and cached under
// <build>/bench-data/. Reports events/s (wall and process CPU), best and median of R runs.
// --no-format: the listener only counts alerts and letters (separates the formatter's cost).
// --compare: then, side by side in the same run, whole processes on the same file: `ontimed
// replay --config YAML --events FILE` (--ontimed PATH, default this build's) and `jq -c -R
// 'fromjson?'` (as `jq -c .`, parsing and re-printing every line, but past a malformed one),
// R runs each, alternating; prints their rates and the ratios the issue states (ontimed over jq,
// ontimed over the parse-only pass).

#include <fcntl.h>
#include <simdjson.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "bench_engine.h"
#include "bench_util.h"
#include "ontime/daemon/config.h"
#include "ontime/rules/engine.h"
#include "ontime/streams/event_pipeline.h"
#include "ontime/streams/json_output.h"
#include "ontime/streams/line_source.h"
#include "ontime/testdata/generate.h"

namespace ontime::bench {
namespace {

class NullBuffer final : public std::streambuf {
 protected:
  int_type overflow(int_type c) override { return c; }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

// Generates at least `events` lines into `path`: a two-week pilot gives lines per day, then the
// number of days is chosen (and raised again in the rare case the stream comes out short).
bool Generate(const rules::RulesConfig& rules, int64_t events, int per_day,
              const std::string& path) {
  testdata::GenerateOptions options;
  options.first_day = *ParseDate("2026-03-02");
  options.dossiers_per_day = per_day;
  options.with_applicant = true;
  options.invalid_fraction = 0.002;
  options.days = 14;
  NullBuffer null_buffer;
  std::ostream null_out(&null_buffer);
  Result<size_t> pilot = testdata::GenerateEvents(rules, options, null_out);
  if (!pilot.ok()) {
    std::fprintf(stderr, "replay_bench: %s\n", pilot.error().message.c_str());
    return false;
  }
  double per_day_lines = static_cast<double>(*pilot) / 14;
  options.days = static_cast<int>(std::ceil(static_cast<double>(events) / per_day_lines * 1.05));
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::ofstream out(path + ".tmp", std::ios::binary | std::ios::trunc);
    Stopwatch sw;
    size_t written = testdata::GenerateEvents(rules, options, out).value();  // as the pilot
    out.close();
    std::printf("generated %zu events (%d days x ~%d dossiers/day) in %.1f s -> %s\n", written,
                options.days, per_day, sw.wall(), path.c_str());
    if (!out) return false;
    if (static_cast<int64_t>(written) >= events) {
      std::filesystem::rename(path + ".tmp", path);
      return true;
    }
    options.days = static_cast<int>(options.days * 1.1) + 1;
  }
  return false;
}

// The whole file in one buffer (padded for simdjson) and its non-blank lines, split as
// streams::LineSource splits them.
struct InputLines {
  std::unique_ptr<char[]> buffer;
  size_t bytes = 0;
  std::vector<std::string_view> lines;
  double split_seconds = 0;
};

bool ReadLines(const std::string& path, InputLines& input) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) return false;
  FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return false;
  input.buffer = std::make_unique<char[]>(size + streams::LineSource::kPadding);
  input.bytes = std::fread(input.buffer.get(), 1, size, file);
  std::fclose(file);
  if (input.bytes != size) return false;
  Stopwatch split;
  input.lines.reserve(size / 128);
  const char* p = input.buffer.get();
  const char* end = p + size;
  while (p < end) {
    const char* newline = static_cast<const char*>(std::memchr(p, '\n', end - p));
    const char* line_end = newline ? newline : end;
    size_t length = static_cast<size_t>(line_end - p);
    if (length > 0 && p[length - 1] == '\r') --length;
    bool blank = true;
    for (size_t i = 0; i < length && blank; ++i) blank = p[i] == ' ' || p[i] == '\t';
    if (!blank) input.lines.emplace_back(p, length);
    p = line_end + 1;
  }
  input.split_seconds = split.wall();
  return true;
}

struct Run {
  double wall = 0;
  double cpu = 0;
};

// A whole process, as a user runs it: its wall time and CPU time (user + system, from wait4), its
// stdout to /dev/null. Run.wall < 0 when it could not run or failed.
Run RunProcess(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const double t0 = WallSeconds();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null_fd = ::open("/dev/null", O_WRONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDOUT_FILENO);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  struct rusage usage {};
  if (pid < 0 || ::wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    return {-1, -1};
  }
  auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return {WallSeconds() - t0, seconds(usage.ru_utime) + seconds(usage.ru_stime)};
}

int Main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows through `| tee`
  Flags flags(argc, argv);
  if (flags.Has("--help")) {
    std::printf(
        "replay_bench [--events N] [--file PATH] [--config YAML] [--per-day N] "
        "[--repeat R] [--no-format] [--compare [--ontimed PATH]]\n");
    return 0;
  }
  const int64_t events = flags.GetInt("--events", 10'000'000);
  const int per_day = static_cast<int>(flags.GetInt("--per-day", 20'000));
  const int repeat = static_cast<int>(std::max<int64_t>(1, flags.GetInt("--repeat", 3)));
  const bool format = !flags.Has("--no-format");
  const bool compare = flags.Has("--compare");
  std::optional<daemon::Config> config = LoadBenchConfig(flags);
  if (!config) return 1;
  std::string path = flags.Get("--file", "");
  if (path.empty()) {
    std::filesystem::create_directories(ONTIME_BENCH_DATA_DIR);
    path = std::string(ONTIME_BENCH_DATA_DIR) + "/events-" + std::to_string(events) + "-" +
           std::to_string(per_day) + ".jsonl";
    if (!std::filesystem::exists(path)) {
      if (!Generate(config->rules, events, per_day, path)) {
        std::fprintf(stderr, "replay_bench: cannot generate %s\n", path.c_str());
        return 1;
      }
    } else {
      std::printf("reusing %s\n", path.c_str());
    }
  }

  // One buffer, split once: both passes see exactly the same padded lines (`ontimed replay`
  // streams its input instead; reading is not what is measured here).
  Stopwatch load;
  InputLines input;
  if (!ReadLines(path, input)) {
    std::fprintf(stderr, "replay_bench: cannot read %s\n", path.c_str());
    return 1;
  }
  const double read_seconds = load.wall();
  const double split_seconds = input.split_seconds;
  const std::vector<std::string_view>& lines = input.lines;
  const double n = static_cast<double>(lines.size());
  const double mb = static_cast<double>(input.bytes) / 1e6;
  std::printf("%zu lines, %.0f MB (%.0f bytes/line); read %.2f s, split %.3f s (%.1f M lines/s)\n",
              lines.size(), mb, mb * 1e6 / n, read_seconds, split_seconds, n / split_seconds / 1e6);

  // (a) Parse-only: the floor for any JSON-in pipeline using this parser.
  std::vector<Run> parse_runs;
  size_t parse_errors = 0;
  for (int r = 0; r < repeat; ++r) {
    simdjson::dom::parser parser;
    size_t errors = 0;
    uint64_t fields = 0;
    Stopwatch sw;
    for (std::string_view l : lines) {
      simdjson::dom::object object;
      if (parser.parse(l.data(), l.size(), false).get(object) != simdjson::SUCCESS) {
        ++errors;
        continue;
      }
      fields += object.size();
    }
    parse_runs.push_back({sw.wall(), sw.cpu()});
    parse_errors = errors;
    if (fields == 0) std::printf("(no fields)\n");
  }

  // (b) The full replay path.
  auto compiled = rules::CompiledRules::Compile(config->rules);
  if (!compiled.ok()) {
    std::fprintf(stderr, "replay_bench: %s\n", compiled.error().message.c_str());
    return 1;
  }
  std::vector<Run> full_runs;
  size_t invalid = 0;
  size_t alerts = 0;
  size_t letters = 0;
  size_t emitted_bytes = 0;
  size_t dossiers = 0;
  double final_advance = 0;
  const int64_t rss_before = StatusBytes("VmRSS");
  for (int r = 0; r < repeat; ++r) {
    EmitListener listener(compiled.value()->calendar(), format);
    auto engine = std::make_unique<rules::Engine>(compiled.value(), &listener);
    streams::EventPipeline pipeline(*engine);
    size_t bad = 0;
    std::optional<Instant> last;
    Stopwatch sw;
    streams::ProcessedEvent results[streams::EventPipeline::kBatch];
    for (size_t k = 0; k < lines.size(); k += streams::EventPipeline::kBatch) {
      const size_t m = std::min(streams::EventPipeline::kBatch, lines.size() - k);
      pipeline.ProcessBatch(&lines[k], m, /*padded=*/true, results);
      for (size_t j = 0; j < m; ++j) {
        if (results[j].invalid) {
          ++bad;
          continue;
        }
        last = results[j].occurred_at;
      }
    }
    Stopwatch end;
    if (last) engine->AdvanceTo(*last);
    final_advance = end.wall();
    full_runs.push_back({sw.wall(), sw.cpu()});
    invalid = bad;
    alerts = listener.alerts();
    letters = listener.letters();
    emitted_bytes = listener.bytes();
    dossiers = engine->dossiers_tracked();
  }
  const int64_t hwm = StatusBytes("VmHWM");

  auto rates = [&](const std::vector<Run>& runs, bool cpu) {
    std::vector<double> v;
    for (const Run& run : runs) v.push_back(n / (cpu ? run.cpu : run.wall));
    return Summarize(v, true);
  };
  Summary parse_wall = rates(parse_runs, false), parse_cpu = rates(parse_runs, true);
  Summary full_wall = rates(full_runs, false), full_cpu = rates(full_runs, true);
  std::printf("parse-only: %zu errors (the deliberately broken lines)\n", parse_errors);
  std::printf(
      "full replay: %zu invalid, %zu dossiers tracked, %zu alerts, %zu letters, "
      "%.0f MB of JSON formatted; final AdvanceTo %.3f s\n",
      invalid, dossiers, alerts, letters, static_cast<double>(emitted_bytes) / 1e6, final_advance);
  std::printf("peak RSS %.0f MiB (input buffer %.0f MiB, before replay %.0f MiB)\n", Mib(hwm),
              mb * 1e6 / (1024.0 * 1024.0), Mib(rss_before));
  const std::string header = "events/s (" + std::to_string(repeat) + " runs)";
  std::printf("%-28s %14s %14s %14s %14s\n", header.c_str(), "best wall", "median wall", "best cpu",
              "median cpu");
  std::printf("%-28s %14.0f %14.0f %14.0f %14.0f\n", "parse-only (simdjson dom)", parse_wall.best,
              parse_wall.median, parse_cpu.best, parse_cpu.median);
  std::printf("%-28s %14.0f %14.0f %14.0f %14.0f\n",
              format ? "full replay" : "full replay, no JSON", full_wall.best, full_wall.median,
              full_cpu.best, full_cpu.median);
  std::printf(
      "ratio full/parse-only (median cpu) %.3f; per event: parse %.0f ns, full %.0f ns, "
      "so decode+engine+emit %.0f ns\n",
      full_cpu.median / parse_cpu.median, 1e9 / parse_cpu.median, 1e9 / full_cpu.median,
      1e9 / full_cpu.median - 1e9 / parse_cpu.median);
  std::printf("goal >= 1,000,000 events/s: %s (median cpu %.2f M/s)\n",
              full_cpu.median >= 1e6 ? "met" : "not met", full_cpu.median / 1e6);
  if (compare) {
    // Side by side, whole processes on the same file, in this run: `ontimed replay` as a user
    // runs it (reading the file included), jq merely parsing and re-printing every line, and
    // the in-process simdjson parse-only pass above.
    const std::string ontimed = flags.Get("--ontimed", ONTIME_BENCH_ONTIMED);
    const std::string config_path =
        flags.Get("--config", std::string(ONTIME_SOURCE_DIR) + "/deploy/examples/province.yaml");
    std::vector<Run> replay_runs, jq_runs;
    for (int r = 0; r < repeat; ++r) {
      replay_runs.push_back(
          RunProcess({ontimed, "replay", "--config", config_path, "--events", path}));
      // `jq -c .` stops at the first malformed line (the generated files have some): each line
      // is read raw and parsed on its own instead, the malformed ones skipped.
      jq_runs.push_back(RunProcess({"jq", "-c", "-R", "fromjson?", path}));
    }
    auto ok = [](const std::vector<Run>& runs) {
      return std::all_of(runs.begin(), runs.end(), [](const Run& run) { return run.wall >= 0; });
    };
    if (!ok(replay_runs) || !ok(jq_runs)) {
      std::printf("compare: %s or jq failed to run\n", ontimed.c_str());
    } else {
      Summary replay_cpu = rates(replay_runs, true), jq_cpu = rates(jq_runs, true);
      Summary replay_wall = rates(replay_runs, false), jq_wall = rates(jq_runs, false);
      std::printf("side by side, whole processes (%d runs each, alternating):\n", repeat);
      std::printf("%-28s %14.0f %14.0f %14.0f %14.0f\n", "ontimed replay", replay_wall.best,
                  replay_wall.median, replay_cpu.best, replay_cpu.median);
      std::printf("%-28s %14.0f %14.0f %14.0f %14.0f\n", "jq -c -R 'fromjson?'", jq_wall.best,
                  jq_wall.median, jq_cpu.best, jq_cpu.median);
      std::printf(
          "ontimed replay / jq %.2f; ontimed replay / simdjson parse-only %.3f (goals: >= "
          "10, >= 0.333; median cpu)\n",
          replay_cpu.median / jq_cpu.median, replay_cpu.median / parse_cpu.median);
      std::printf("RESULT replay_ontimed_events_per_s %.0f\n", replay_cpu.median);
      std::printf("RESULT replay_jq_events_per_s %.0f\n", jq_cpu.median);
      std::printf("RESULT replay_ontimed_over_jq %.2f\n", replay_cpu.median / jq_cpu.median);
      std::printf("RESULT replay_ontimed_over_parse %.3f\n", replay_cpu.median / parse_cpu.median);
    }
  }
  std::printf("RESULT replay_parse_only_events_per_s %.0f\n", parse_cpu.median);
  std::printf("RESULT replay_full_events_per_s %.0f\n", full_cpu.median);
  std::printf("RESULT replay_ratio_full_over_parse %.3f\n", full_cpu.median / parse_cpu.median);
  return 0;
}

}  // namespace
}  // namespace ontime::bench

int main(int argc, char** argv) { return ontime::bench::Main(argc, argv); }
