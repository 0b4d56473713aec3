#pragma once
// `ontimed replay`: the engine over a JSON Lines file on a virtual clock (contract sections 3, 5).
// The clock is the largest occurred_at seen; at the end it moves to `now` (default: the last
// event's time). Invalid lines are counted with their line numbers and never stop the run.

#include <iosfwd>
#include <optional>
#include <string>

#include "ontime/base/time.h"
#include "ontime/daemon/config.h"
#include "ontime/rules/engine.h"

namespace ontime::daemon {

struct ReplayOptions {
  std::string events_path = "-";  // "-" is standard input
  std::optional<Instant> now;
  std::string report_path;  // empty: no report
  std::string emit_path;    // empty: nothing emitted
  bool progress = false;    // a progress line on `err` (the caller checks it is a terminal)
};

// Returns 0, or 1 when a file cannot be read or written (said on `err`).
int RunReplay(const Config& config, const ReplayOptions& options, std::ostream& out,
              std::ostream& err);

}  // namespace ontime::daemon
