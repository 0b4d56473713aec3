#pragma once
// A synthetic but realistic traffic generator for demos, load tests and benchmarks: dossiers of
// the configured procedures arriving at a one-stop centre, written as contract input events
// (section 1) in JSON Lines. Single-threaded, deterministic for a seed, memory bounded by the
// events of the dossiers still in flight (16 bytes each). Does not use BusinessCalendar: working
// hours come from the plain CalendarSpec (weekly hours, holidays, built-in Vietnamese holidays,
// working days) at one fixed UTC offset, the one in force at `start`.

#include <cstddef>
#include <cstdint>
#include <ostream>

#include "ontime/base/time.h"
#include "ontime/rules/config.h"

namespace ontime::testdata {

struct GenerateOptions {
  Instant start;                  // arrivals from this instant on (local day of `start` first)
  int days = 30;                  // calendar days of arrivals; processing runs on past the end
  int dossiers_per_day = 1500;    // per working day (a day with working hours), +-10% per day
  uint64_t seed = 1;
  double invalid_fraction = 0.002;  // share of lines deliberately broken (dead-letter traffic)
  bool with_applicant = true;       // `applicant` objects on `accepted`
};

// Writes a realistic stream of input events (contract section 1) as JSON Lines, in occurred_at
// order, for the procedures and departments of `rules`. Returns the number of lines written.
size_t GenerateEvents(const rules::RulesConfig& rules, const GenerateOptions& options,
                      std::ostream& out);

}  // namespace ontime::testdata
