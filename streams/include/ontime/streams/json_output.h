#pragma once
// The JSON forms of what ontime emits (contract sections 4 and 5): alerts, apology letters and
// dossier rows. Timestamps are RFC 3339 in the calendar's time zone. Appends to a caller-owned
// buffer so the hot path reuses one allocation. Written with JsonWriter (json_writer.h).

#include <string>
#include <string_view>

#include "ontime/rules/calendar.h"
#include "ontime/rules/engine.h"
#include "ontime/rules/output.h"
#include "ontime/streams/json_writer.h"

namespace ontime::streams {

void AppendJsonTime(std::string& out, Instant t, const rules::BusinessCalendar& calendar);
// Working seconds with millisecond precision: 3600, -12.5.
void AppendJsonSeconds(std::string& out, Duration d);

void AppendAlertJson(std::string& out, const rules::Alert& alert,
                     const rules::BusinessCalendar& calendar);
void AppendLetterJson(std::string& out, const rules::ApologyLetter& letter,
                      const rules::BusinessCalendar& calendar);
// A dossier row of the replay report and the HTTP API.
void AppendDossierJson(std::string& out, const rules::DossierView& dossier,
                       const rules::BusinessCalendar& calendar);
// The same as one element of a larger document.
void WriteDossierJson(JsonWriter& w, const rules::DossierView& dossier,
                      const rules::BusinessCalendar& calendar);

}  // namespace ontime::streams
