#include "ontime/daemon/replay.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <optional>
#include <ostream>
#include <vector>

#include "ontime/base/clock.h"
#include "ontime/daemon/progress.h"
#include "ontime/streams/event_pipeline.h"
#include "ontime/streams/json_output.h"
#include "ontime/streams/json_writer.h"
#include "ontime/streams/line_source.h"

namespace ontime::daemon {
namespace {

// Writes what the live daemon would have produced, in order, as JSON Lines.
class EmitWriter final : public rules::EngineListener {
 public:
  EmitWriter(FILE* file, const rules::BusinessCalendar& calendar)
      : file_(file), calendar_(calendar) {}

  void OnAlert(const rules::Alert& alert) override {
    ++alerts_;
    if (!file_) return;
    line_.clear();
    streams::AppendAlertJson(line_, alert, calendar_);
    Write();
  }
  void OnApologyLetter(const rules::ApologyLetter& letter) override {
    ++letters_;
    if (!file_) return;
    line_.clear();
    streams::AppendLetterJson(line_, letter, calendar_);
    Write();
  }
  size_t alerts() const { return alerts_; }
  size_t letters() const { return letters_; }

 private:
  void Write() {
    line_.push_back('\n');
    std::fwrite(line_.data(), 1, line_.size(), file_);
  }
  FILE* file_;
  const rules::BusinessCalendar& calendar_;
  std::string line_;
  size_t alerts_ = 0;
  size_t letters_ = 0;
};

// What a replay counted, for its summary lines.
struct ReplayStats {
  size_t lines = 0;
  size_t invalid = 0;
  size_t duplicates = 0;
  size_t orphans = 0;
  size_t unknown_types = 0;
  size_t alerts = 0;
  size_t letters = 0;
};

struct InvalidLine {
  size_t line;
  std::string reason;
  std::string message;
};

bool WriteReport(const std::string& path, const rules::Engine& engine, Instant now,
                 const std::vector<InvalidLine>& invalid, std::ostream& err) {
  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) {
    err << "ontimed: cannot write report " << path << "\n";
    return false;
  }
  const rules::BusinessCalendar& calendar = engine.rules().calendar();
  std::string buf;
  streams::JsonWriter w(buf);
  w.BeginObject().Key("now").Time(now, calendar);
  w.Break().Key("dossiers").BeginArray();
  engine.ForEachDossier(now, [&](const rules::DossierView& d) {
    w.Break();
    streams::WriteDossierJson(w, d, calendar);
    if (buf.size() > (1 << 20)) {
      std::fwrite(buf.data(), 1, buf.size(), file);
      buf.clear();
    }
  });
  w.EndArray();
  const rules::Summary s = engine.Summarize(now);
  w.Break().Key("summary").BeginObject();
  w.Key("accepted").Int(s.accepted);
  w.Key("closed_on_time").Int(s.closed_on_time);
  w.Key("closed_late").Int(s.closed_late);
  w.Key("open").Int(s.open);
  w.Key("open_overdue").Int(s.open_overdue);
  w.Key("open_at_risk").Int(s.open_at_risk);
  w.Key("on_time_rate").Number(s.on_time_rate);
  w.Key("avg_resolution_working_minutes").Number(s.avg_resolution_working_minutes);
  w.Key("apology_letters").Int(s.apology_letters);
  w.Key("invalid_events").Int(static_cast<int64_t>(invalid.size()));
  w.EndObject();
  w.Break().Key("invalid").BeginArray();
  for (const InvalidLine& line : invalid) {
    w.Break().BeginObject();
    w.Key("line").Int(static_cast<int64_t>(line.line));
    w.Field("reason", line.reason);
    w.Field("message", line.message);
    w.EndObject();
  }
  w.EndArray().EndObject();
  buf.push_back('\n');
  std::fwrite(buf.data(), 1, buf.size(), file);
  bool ok = std::fclose(file) == 0;
  if (!ok) err << "ontimed: cannot write report " << path << "\n";
  return ok;
}

}  // namespace

int RunReplay(const Config& config, const ReplayOptions& options, std::ostream& out,
              std::ostream& err) {
  auto rules = rules::CompiledRules::Compile(config.rules);
  if (!rules.ok()) {
    err << "ontimed: " << rules.error().message << "\n";
    return kExitConfig;
  }
  if (options.now && !rules::InEventTimeRange(*options.now)) {
    err << "ontimed: --now must lie in 1970-01-01T00:00Z..2200-01-01T00:00Z\n";
    return 1;
  }
  auto source = streams::LineSource::Open(options.events_path);
  if (!source.ok()) {
    err << "ontimed: cannot read events: " << source.error().message << "\n";
    return 1;
  }
  FILE* emit = nullptr;
  if (!options.emit_path.empty()) {
    emit = options.emit_path == "-" ? stdout : std::fopen(options.emit_path.c_str(), "wb");
    if (!emit) {
      err << "ontimed: cannot write " << options.emit_path << "\n";
      return 1;
    }
  }
  EmitWriter writer(emit, rules.value()->calendar());
  rules::Engine engine(rules.value(), &writer);
  streams::EventPipeline pipeline(engine);
  // With --now, an event later than it (plus the skew allowed) is a wrong clock upstream.
  std::optional<ManualClock> now_clock;
  if (options.now) {
    now_clock.emplace(*options.now);
    pipeline.RejectFutureEvents(*now_clock, config.ingest.max_clock_skew);
  }

  ReplayStats stats;
  std::vector<InvalidLine> invalid;
  std::optional<ProgressLine> progress;
  if (options.progress) {
    progress.emplace(err, (*source)->bytes(), [] { return std::chrono::steady_clock::now(); });
  }
  // A few lines at a time: decoded together, their dossiers' lookups prefetched together.
  constexpr size_t kBatch = streams::EventPipeline::kBatch;
  std::string_view lines[kBatch];
  size_t line_numbers[kBatch];
  streams::ProcessedEvent results[kBatch];
  while (size_t n = (*source)->NextBatch(lines, line_numbers, kBatch)) {
    pipeline.ProcessBatch(lines, n, /*padded=*/true, results);
    for (size_t j = 0; j < n; ++j) {
      ++stats.lines;
      if (progress) progress->Update(stats.lines, (*source)->consumed());
      streams::ProcessedEvent& result = results[j];
      if (result.invalid) {
        invalid.push_back({line_numbers[j], std::string(result.reason), std::move(result.message)});
        continue;
      }
      switch (result.status) {
        case rules::ApplyStatus::kDuplicate: ++stats.duplicates; break;
        case rules::ApplyStatus::kOrphan: ++stats.orphans; break;
        case rules::ApplyStatus::kUnknownType: ++stats.unknown_types; break;
        default: break;
      }
    }
  }
  if (progress) progress->Finish();
  if (!(*source)->error().empty()) {
    err << "ontimed: cannot read events: " << options.events_path << ": " << (*source)->error()
        << "\n";
    return 1;
  }
  // The clock is the largest occurred_at seen; it never moves back to an older last line.
  const Instant now = options.now.value_or(engine.clock().value_or(Instant{}));
  engine.AdvanceTo(now);
  if (emit && emit != stdout && std::fclose(emit) != 0) {
    err << "ontimed: cannot write " << options.emit_path << "\n";
    return 1;
  }
  if (emit == stdout) std::fflush(stdout);
  if (!options.report_path.empty() &&
      !WriteReport(options.report_path, engine, now, invalid, err)) {
    return 1;
  }
  stats.invalid = invalid.size();
  stats.alerts = writer.alerts();
  stats.letters = writer.letters();
  const rules::Summary s = engine.Summarize(now);
  const auto& calendar = engine.rules().calendar();
  out << "replayed " << stats.lines << " events up to "
      << FormatRfc3339(now, calendar.UtcOffsetAt(now)) << "\n"
      << "  invalid " << stats.invalid << ", duplicates " << stats.duplicates << ", orphans "
      << stats.orphans << ", unknown types " << stats.unknown_types << "\n"
      << "  dossiers accepted " << s.accepted << ", closed on time " << s.closed_on_time
      << ", closed late " << s.closed_late << ", open " << s.open << " (at risk " << s.open_at_risk
      << ", overdue " << s.open_overdue << ")\n"
      << "  on-time rate " << std::fixed << std::setprecision(2) << s.on_time_rate * 100 << "%"
      << ", average resolution " << std::setprecision(1) << s.avg_resolution_working_minutes
      << " working minutes\n"
      << "  alerts " << stats.alerts << ", apology letters " << stats.letters << "\n";
  out.unsetf(std::ios::floatfield);
  return 0;
}

}  // namespace ontime::daemon
