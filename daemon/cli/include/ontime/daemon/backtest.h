#pragma once
// `ontimed backtest`: replays a history once per predict.threshold swept and scores the
// predicted_late alert against the fixed at_risk alert, side by side: precision (alerted dossiers
// that ended late), recall (late dossiers alerted before their due) and the median lead time (due
// minus alert instant, wall clock), per procedure and overall. The dossiers are split by
// acceptance order: the threshold is chosen on the first part and measured on the rest (the
// engine learns online over the whole log, as the daemon would).

#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ontime/base/time.h"
#include "ontime/daemon/config.h"

namespace ontime::daemon {

struct BacktestOptions {
  std::string events_path;
  std::vector<double> thresholds = {0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95};
  double split = 0.5;   // the share of dossiers (by acceptance) the threshold is chosen on
  std::string out_dir;  // empty: no files; else backtest.md and backtest.json there
};

// One alert kind's score over a set of judged (closed on time or late) dossiers.
struct AlertScore {
  int64_t dossiers = 0;
  int64_t late = 0;
  int64_t alerted = 0;                  // an alert of the kind in cycle 1, before its due
  int64_t alerted_late = 0;             // of those, ended late
  double precision = 0;                 // alerted_late / alerted (0 when none alerted)
  double recall = 0;                    // alerted_late / late (0 when none late)
  std::optional<Duration> median_lead;  // of the alerted dossiers that ended late
};

// Scores of one part (first, second, all) by procedure code ("" = overall).
using PartScores = std::map<std::string, AlertScore>;

struct BacktestResult {
  struct Sweep {
    double threshold = 0;
    PartScores first, second, all;  // predicted_late
  };
  PartScores at_risk_first, at_risk_second, at_risk_all;
  std::vector<Sweep> sweep;
  size_t chosen = 0;  // index into sweep, chosen on the first part
  size_t events = 0;
  size_t invalid = 0;
};

// Runs the backtest over JSON Lines `lines`. Fails when the rules do not compile.
Result<BacktestResult> Backtest(const Config& config, const std::vector<std::string>& lines,
                                const BacktestOptions& options);

// The command: reads options.events_path, prints the markdown table, writes out_dir's files.
// Returns 0, kExitConfig, or 1 when a file cannot be read or written.
int RunBacktest(const Config& config, const BacktestOptions& options, std::ostream& out,
                std::ostream& err);

}  // namespace ontime::daemon
