// Timer storm: N dossiers (default 100,000) whose first due falls in the same second (accepted at
// the same instant, `due_at` spread over one second's milliseconds), then one AdvanceTo past that
// second fires every overdue alert and apology letter. Reports the time to schedule them (the
// Apply calls), the at-risk wave before, and the breach wave: wall time and cost per timer.
// The listener formats each alert and letter to JSON, as the daemon would before producing it
// (--no-format: count only). --open M first accepts M more dossiers whose deadlines lie weeks
// later (they stay open and keep their timers pending): the cost per expired dossier against the
// number open (bench/scaling.py). --reload: the rules reloaded with M open on the procedure's
// budget (Reconfigure moves each one's due): the time that takes.
//
//   timer_bench [--dossiers N] [--open M] [--config YAML] [--repeat R] [--no-format]

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench_engine.h"
#include "bench_util.h"
#include "ontime/daemon/config.h"
#include "ontime/rules/engine.h"
#include "ontime/streams/json_output.h"

namespace ontime::bench {
namespace {

struct Run {
  double schedule = 0;
  double at_risk = 0;
  double breach = 0;
  double breach_cpu = 0;
  size_t at_risk_alerts = 0;
  size_t overdue_alerts = 0;
  size_t letters = 0;
  size_t timers_after = 0;
  double reload = 0;  // Reconfigure with the open dossiers held (--reload)
  size_t recomputed = 0;
};

// `count` dossiers accepted at `accepted` and due at `due` (plus i % 1000 ms; nullopt: on the
// procedure's budget), ids prefixed.
void Accept(rules::Engine& engine, const std::string& procedure, const char* prefix, int64_t count,
            Instant accepted, std::optional<Instant> due) {
  std::string id;
  std::string event_id;
  for (int64_t i = 0; i < count; ++i) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s%08lld", prefix, static_cast<long long>(i + 1));
    id = buf;
    event_id = id + "-2";
    rules::Event e;
    e.event_id = event_id;
    e.dossier_id = id;
    e.type = rules::EventType::kAccepted;
    e.type_name = "accepted";
    e.occurred_at = accepted;
    e.procedure = procedure;
    if (due) e.due_at = *due + Duration(i % 1000);
    engine.Apply(e);
  }
}

Run RunOnce(const std::shared_ptr<const rules::CompiledRules>& compiled,
            const std::shared_ptr<const rules::CompiledRules>& reloaded,
            const std::string& procedure, const std::string& open_procedure, int64_t count,
            int64_t open, bool format) {
  EmitListener listener(compiled->calendar(), format);
  rules::Engine engine(compiled, &listener);
  // Monday 08:00; the receipt slip promises Friday of the next week, 16:00:00.xxx.
  const Instant accepted = *ParseRfc3339("2026-03-02T08:00:00+07:00");
  const Instant due = *ParseRfc3339("2026-03-13T16:00:00+07:00");
  // The open ones: due at the end of April, their at-risk timers weeks after the storm.
  // With --reload, on the procedure's budget: the reload moves each one's due.
  std::optional<Instant> open_due = *ParseRfc3339("2026-04-29T16:00:00+07:00");
  if (reloaded) open_due.reset();
  Accept(engine, open_procedure, "OPEN-", open, accepted, open_due);
  Run run;
  if (reloaded) {
    Stopwatch reload;
    auto recomputed = engine.Reconfigure(reloaded);
    run.reload = reload.wall();
    run.recomputed = recomputed.ok() ? *recomputed : 0;
  }
  std::vector<std::string> ids(static_cast<size_t>(count));
  std::vector<std::string> event_ids(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "H12.22-260302-%06lld", static_cast<long long>(i + 1));
    ids[static_cast<size_t>(i)] = buf;
    event_ids[static_cast<size_t>(i)] = std::string(buf) + "-2";
  }
  Stopwatch schedule;
  for (int64_t i = 0; i < count; ++i) {
    rules::Event e;
    e.event_id = event_ids[static_cast<size_t>(i)];
    e.dossier_id = ids[static_cast<size_t>(i)];
    e.type = rules::EventType::kAccepted;
    e.type_name = "accepted";
    e.occurred_at = accepted;
    e.procedure = procedure;
    e.due_at = due + Duration(i % 1000);
    engine.Apply(e);
  }
  run.schedule = schedule.wall();
  Stopwatch at_risk;
  engine.AdvanceTo(due - Duration(1));  // every at-risk timer, none of the dues
  run.at_risk = at_risk.wall();
  run.at_risk_alerts = listener.alerts(rules::AlertKind::kAtRisk);
  Stopwatch breach;
  engine.AdvanceTo(due + std::chrono::seconds(1));
  run.breach = breach.wall();
  run.breach_cpu = breach.cpu();
  run.overdue_alerts = listener.alerts(rules::AlertKind::kOverdue);
  run.letters = listener.letters();
  run.timers_after = engine.timers_pending();
  return run;
}

int Main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows through `| tee`
  Flags flags(argc, argv);
  if (flags.Has("--help")) {
    std::printf(
        "timer_bench [--dossiers N] [--open M] [--reload] [--config YAML] [--repeat R] "
        "[--no-format]\n");
    return 0;
  }
  const int64_t count = flags.GetInt("--dossiers", 100'000);
  const int64_t open = flags.GetInt("--open", 0);
  const int repeat = static_cast<int>(std::max<int64_t>(1, flags.GetInt("--repeat", 5)));
  const bool format = !flags.Has("--no-format");
  std::optional<daemon::Config> config = LoadBenchConfig(flags);
  if (!config) return 1;
  auto compiled = rules::CompiledRules::Compile(config->rules);
  if (!compiled.ok()) {
    std::fprintf(stderr, "timer_bench: %s\n", compiled.error().message.c_str());
    return 1;
  }
  // The most frequent procedure; its budget is replaced by due_at anyway.
  const std::string procedure = config->rules.procedures.front().code;
  // --reload: the open dossiers on the procedure with the longest budget (their timers weeks
  // after the storm), then the rules again with that budget a working day longer.
  std::shared_ptr<const rules::CompiledRules> reloaded;
  std::string open_procedure = procedure;
  if (flags.Has("--reload")) {
    rules::RulesConfig longer = config->rules;
    auto longest = std::max_element(
        longer.procedures.begin(), longer.procedures.end(),
        [](const rules::Procedure& a, const rules::Procedure& b) { return a.sla < b.sla; });
    open_procedure = longest->code;
    longest->sla += std::chrono::hours(8);
    auto compiled_longer = rules::CompiledRules::Compile(longer);
    if (!compiled_longer.ok()) return 1;
    reloaded = compiled_longer.value();
  }
  std::vector<double> schedule, at_risk, breach, breach_cpu, reload;
  Run last;
  for (int r = 0; r < repeat; ++r) {
    last = RunOnce(compiled.value(), reloaded, procedure, open_procedure, count, open, format);
    reload.push_back(last.reload);
    schedule.push_back(last.schedule);
    at_risk.push_back(last.at_risk);
    breach.push_back(last.breach);
    breach_cpu.push_back(last.breach_cpu);
  }
  const double n = static_cast<double>(count);
  Summary s = Summarize(schedule, false), a = Summarize(at_risk, false),
          b = Summarize(breach, false), bc = Summarize(breach_cpu, false);
  std::printf(
      "%lld dossiers due in one second (procedure %s, due_at), %lld more open, %d runs, JSON %s\n",
      static_cast<long long>(count), procedure.c_str(), static_cast<long long>(open), repeat,
      format ? "formatted" : "not formatted");
  std::printf(
      "fired: %zu at-risk alerts, %zu overdue alerts, %zu letters; %zu timers pending "
      "after (next cycles)\n",
      last.at_risk_alerts, last.overdue_alerts, last.letters, last.timers_after);
  std::printf("%-34s %10s %10s %12s\n", "phase (wall)", "best s", "median s", "median/item");
  std::printf("%-34s %10.4f %10.4f %9.0f ns\n", "schedule (Apply accepted)", s.best, s.median,
              s.median / n * 1e9);
  std::printf("%-34s %10.4f %10.4f %9.0f ns\n", "AdvanceTo: at-risk wave", a.best, a.median,
              a.median / n * 1e9);
  std::printf("%-34s %10.4f %10.4f %9.0f ns\n", "AdvanceTo(due+1s): breach wave", b.best, b.median,
              b.median / n * 1e9);
  std::printf("%-34s %10.4f %10.4f %9.0f ns\n", "  the same, process cpu time", bc.best, bc.median,
              bc.median / n * 1e9);
  std::printf("goal: all breaches handled within 1 s: %s (median %.3f s for %lld dossiers)\n",
              b.median <= 1.0 ? "met" : "not met", b.median, static_cast<long long>(count));
  std::printf("RESULT timer_schedule_ns_per_dossier %.0f\n", s.median / n * 1e9);
  std::printf("RESULT timer_breach_wave_seconds %.4f\n", b.median);
  std::printf("RESULT timer_breach_ns_per_dossier %.0f\n", b.median / n * 1e9);
  std::printf("RESULT timer_breach_cpu_ns_per_dossier %.0f\n", bc.median / n * 1e9);
  std::printf("RESULT timer_at_risk_ns_per_dossier %.0f\n", a.median / n * 1e9);
  std::printf("RESULT timer_open_dossiers %lld\n", static_cast<long long>(open));
  if (reloaded) {
    const Summary rl = Summarize(reload, false);
    std::printf(
        "reload (Reconfigure, %zu of %lld open dossiers' dues moved): best %.4f s, "
        "median %.4f s, %.0f ns a dossier\n",
        last.recomputed, static_cast<long long>(open), rl.best, rl.median,
        open > 0 ? rl.median / static_cast<double>(open) * 1e9 : 0.0);
    std::printf("RESULT timer_reload_seconds %.4f\n", rl.median);
  }
  return 0;
}

}  // namespace
}  // namespace ontime::bench

int main(int argc, char** argv) { return ontime::bench::Main(argc, argv); }
