#pragma once
// The daemon's own pages, everything inside the binary (no CDN, no framework): the board at `/`
// (rendered on the server; its plain JavaScript then polls GET /api/v1/board every few seconds,
// re-renders the same markup and counts each at-risk or overdue dossier's remaining working time
// down), and a dossier's page at /dossiers/{id},
// rendered on the server: its figures, deadlines per cycle, steps, timeline and letters. Every
// text from data is HTML-escaped (server) or set as text (JavaScript). Pure functions.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ontime/daemon/board.h"
#include "ontime/daemon/letter_document.h"
#include "ontime/daemon/timeline_store.h"
#include "ontime/rules/engine.h"
#include "ontime/streams/json_writer.h"

namespace ontime::daemon {

// The board page, rendered with `board`, which is also embedded (as BoardJson) for the script.
std::string BoardPage(const BoardSnapshot& board, const rules::BusinessCalendar& calendar);

// `predicted`: the dossier's latest predicted_late alert, shown with the figures when there is one.
std::string DossierPage(const rules::DossierView& dossier,
                        const std::vector<TimelineEntry>& timeline,
                        const std::vector<LetterFields>& letters,
                        const std::optional<PredictedLate>& predicted,
                        const rules::CompiledRules& rules, Instant now);

// A page for errors (404 of a page route): a heading and a line of text.
std::string MessagePage(std::string_view title, std::string_view message);

// The timeline as the API's "timeline" array: {kind, type, at, department?, reason?, cycle |
// step?, alert_id?, probability?, expected_close_at?, letter_id?} per entry, oldest first
// (probability and expected_close_at: predicted_late alerts).
void WriteTimelineJson(streams::JsonWriter& w, std::string_view dossier_id,
                       const std::vector<TimelineEntry>& timeline,
                       const rules::BusinessCalendar& calendar);

// "/letters/<id>" with the id percent-encoded.
std::string LetterPath(std::string_view letter_id);
std::string DossierPath(std::string_view dossier_id);

}  // namespace ontime::daemon
