#pragma once
// Synthetic but realistic traffic for demos (`make demo`), the replay benchmark, and the tests
// that need a stream of events (integration, Prometheus boards): dossiers of the configured
// procedures arriving at a province's one-stop centre, written as contract input events
// (section 1) in JSON Lines, in occurred_at order.
//
// What it models, after the province it imitates: arrivals spread over each day's working hours,
// a mild Zipf mix of the procedures, 85% filed online (`submitted` before `accepted`), direct
// receptions of 13.3 minutes on average (lognormal), supplements, fee pauses, transfers to the
// approving department and back, refusals, withdrawals, stops, and about 99.8% resolved on time
// (0.1% late, 0.1% extended upstream); then return and rating. Working time is the configured
// BusinessCalendar's and timestamps are in its time zone. Some lines use a numeric `status` or
// the CloudEvents form, and `invalid_fraction` of them are broken on purpose (dead-letter
// traffic). Single-threaded, deterministic for a seed, memory bounded by the events of the
// dossiers still in flight (16 bytes each).

#include <cstddef>
#include <cstdint>
#include <ostream>

#include "ontime/base/result.h"
#include "ontime/base/time.h"
#include "ontime/rules/config.h"

namespace ontime::testdata {

struct GenerateOptions {
  CivilDay first_day{std::chrono::year{2026} / 3 / 2};  // local day of the first arrivals
  int days = 30;                // calendar days of arrivals; processing runs on past the end
  int dossiers_per_day = 1500;  // per working day (a day with working hours), +-10% per day
  uint64_t seed = 1;
  double invalid_fraction = 0.002;  // share of lines deliberately broken (dead-letter traffic)
  bool with_applicant = true;       // `applicant` objects on `accepted`
};

// Writes the events of the dossiers arriving on `options.days` days from `options.first_day`,
// for the procedures and departments of `rules`. A line's breakage is drawn for that line alone,
// so the same seed with another invalid_fraction gives the same events, line for line, with only
// the broken ones changed. Returns the number of lines written, or the calendar's error
// ("invalid_calendar").
Result<size_t> GenerateEvents(const rules::RulesConfig& rules, const GenerateOptions& options,
                              std::ostream& out);

}  // namespace ontime::testdata
