#include "ontime/daemon/pages.h"

#include <cstdio>

#include "ontime/streams/json_output.h"

namespace ontime::daemon {
namespace {

constexpr std::string_view kCss = R"(<style>
:root { --ok: #1b7f3b; --risk: #b26a00; --late: #b3261e; --muted: #5f6368; --line: #dadce0; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, "DejaVu Sans", sans-serif; color: #202124;
  background: #f6f7f9; }
header { background: #0b3d91; color: #fff; padding: 10px 20px; display: flex;
  align-items: baseline; gap: 16px; }
header h1 { margin: 0; font-size: 18px; }
header .sub { opacity: .8; font-size: 13px; }
header a { color: #fff; }
main { padding: 16px 20px; max-width: 1400px; margin: 0 auto; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px;
  margin-bottom: 16px; }
h2 { font-size: 15px; margin: 0 0 10px; }
.tiles { display: flex; flex-wrap: wrap; gap: 12px; }
.tile { min-width: 140px; padding: 8px 12px; border: 1px solid var(--line); border-radius: 6px; }
.tile .value { font-size: 24px; font-weight: 600; }
.tile .label { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
  white-space: nowrap; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.below { color: var(--late); font-weight: 600; }
.meets { color: var(--ok); }
.state-overdue { color: var(--late); font-weight: 600; }
.state-at_risk { color: var(--risk); font-weight: 600; }
.muted { color: var(--muted); }
.countdown { font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; }
</style>
)";

// Fills the board from the embedded figures, then polls the API; counts each row's remaining
// working time down while the calendar is in working hours (the next poll corrects any drift).
constexpr std::string_view kBoardScript = R"JS(<script>
"use strict";
(function () {
  var POLL_MS = 5000;
  var data = JSON.parse(document.getElementById("board-data").textContent);
  var fetchedAt = Date.now();
  var polls = 0;
  function pct(x) { return x === null ? "–" : (x * 100).toFixed(2) + "%"; }
  function minutes(x) { return x === null ? "–" : x.toFixed(1); }
  function set(id, text) { document.getElementById(id).textContent = text; }
  function show(id, on) { document.getElementById(id).hidden = !on; }
  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }
  function duration(seconds) {
    var sign = seconds < 0 ? "-" : "";
    var s = Math.abs(Math.trunc(seconds));
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
    return sign + h + ":" + String(m).padStart(2, "0") + ":" + String(r).padStart(2, "0");
  }
  function remainingNow(row) {
    if (!data.working_now || row.paused) return row.remaining_seconds;
    return row.remaining_seconds - (Date.now() - fetchedAt) / 1000;
  }
  function render() {
    var p = data.province;
    set("province-rate", pct(p.on_time_rate));
    set("province-closed", String(p.closed_on_time + p.closed_late));
    set("province-handling", minutes(p.avg_handling_working_minutes));
    set("province-reception", minutes(p.avg_reception_minutes));
    set("province-open", String(p.open));
    set("province-at-risk", String(p.at_risk));
    set("province-overdue", String(p.overdue));
    set("province-paused", String(p.paused));
    // Only with `predict:` configured: no zero the daemon never measured.
    show("province-predicted-late-tile", data.prediction);
    show("predicted-late-head", data.prediction);
    set("province-predicted-late", p.predicted_late === null ? "–" : String(p.predicted_late));
    var body = document.querySelector("#departments tbody");
    body.textContent = "";
    data.departments.forEach(function (d) {
      var tr = document.createElement("tr");
      tr.dataset.code = d.code;
      cell(tr, d.code, "code");
      cell(tr, d.name, "name");
      var below = d.on_time_rate !== null && d.on_time_rate < d.on_time_target;
      cell(tr, pct(d.on_time_rate), "num rate " + (d.on_time_rate === null ? "" :
                                                   below ? "below" : "meets"));
      cell(tr, pct(d.on_time_target), "num target");
      cell(tr, minutes(d.avg_handling_working_minutes), "num handling");
      cell(tr, minutes(d.avg_reception_minutes), "num reception");
      cell(tr, String(d.open), "num open");
      cell(tr, String(d.at_risk), "num at_risk");
      cell(tr, String(d.overdue), "num overdue");
      cell(tr, String(d.paused), "num paused");
      if (data.prediction) cell(tr, String(d.predicted_late), "num predicted_late");
      body.appendChild(tr);
    });
    set("attention-total", String(data.attention.total));
    var rows = document.querySelector("#attention tbody");
    rows.textContent = "";
    data.attention.dossiers.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.dataset.dossier = r.dossier_id;
      var td = document.createElement("td");
      var a = document.createElement("a");
      a.href = "/dossiers/" + encodeURIComponent(r.dossier_id);
      a.textContent = r.dossier_id;
      td.className = "id";
      td.appendChild(a);
      tr.appendChild(td);
      cell(tr, r.procedure, "procedure");
      cell(tr, r.department, "department");
      cell(tr, r.state + (r.paused ? " (paused)" : ""), "state state-" + r.state);
      cell(tr, String(r.cycle), "num cycle");
      cell(tr, r.due_at, "due");
      var c = cell(tr, duration(r.remaining_seconds), "num countdown");
      c.dataset.remaining = String(r.remaining_seconds);
      rows.appendChild(tr);
    });
    set("updated", data.now);
    document.body.dataset.loaded = "true";
  }
  function tick() {
    var cells = document.querySelectorAll("#attention tbody tr");
    cells.forEach(function (tr, i) {
      var row = data.attention.dossiers[i];
      if (row) tr.querySelector(".countdown").textContent = duration(remainingNow(row));
    });
  }
  function poll() {
    fetch("/api/v1/board?limit=" + data.limit, {credentials: "same-origin"})
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (next) {
        next.limit = data.limit;
        data = next;
        fetchedAt = Date.now();
        render();
        polls += 1;
        document.body.dataset.polls = String(polls);
        set("status", "");
      })
      .catch(function (e) { set("status", "update failed: " + e.message); });
  }
  render();
  setInterval(tick, 1000);
  setInterval(poll, POLL_MS);
})();
</script>
)JS";

void Head(std::string& out, std::string_view title) {
  out += "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>";
  AppendHtmlEscaped(out, title);
  out += "</title>\n";
  out += kCss;
  out += "</head>\n";
}

bool Unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

std::string PercentEncode(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (Unreserved(c)) {
      out.push_back(c);
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof buffer, "%%%02X", static_cast<unsigned char>(c));
      out += buffer;
    }
  }
  return out;
}

std::string Time(Instant t, const rules::BusinessCalendar& calendar) {
  std::string out;
  AppendRfc3339(out, t, calendar.UtcOffsetAt(t));
  return out;
}

std::string WorkingHours(Duration d) {
  const int64_t seconds = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  const int64_t s = seconds < 0 ? -seconds : seconds;
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%s%lld:%02lld:%02lld", seconds < 0 ? "-" : "",
                static_cast<long long>(s / 3600), static_cast<long long>(s / 60 % 60),
                static_cast<long long>(s % 60));
  return buffer;
}

// As the page's script writes them: "99.80%", "12.5", "–" for none.
std::string Percent(std::optional<double> value) {
  if (!value) return "–";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f%%", *value * 100);
  return buffer;
}

// P(late) on the dossier page: "83%".
std::string Probability(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.0f%%", value * 100);
  return buffer;
}

std::string Minutes(std::optional<double> value) {
  if (!value) return "–";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", *value);
  return buffer;
}

void Row(std::string& out, std::string_view label, std::string_view value) {
  out += "<dt>";
  AppendHtmlEscaped(out, label);
  out += "</dt><dd>";
  AppendHtmlEscaped(out, value);
  out += "</dd>\n";
}

}  // namespace

std::string LetterPath(std::string_view letter_id) {
  return "/letters/" + PercentEncode(letter_id);
}
std::string DossierPath(std::string_view dossier_id) {
  return "/dossiers/" + PercentEncode(dossier_id);
}

std::string BoardPage(const BoardSnapshot& board, const rules::BusinessCalendar& calendar) {
  const std::string json = BoardJson(board, calendar);
  std::string out;
  out.reserve(16384 + json.size() * 2);
  Head(out, "ontime — board");
  out += "<body>\n<header><h1>ontime</h1>\n";
  out += "<span class=\"sub\">Province board — hồ sơ thủ tục hành chính</span>\n";
  out += "<span class=\"sub\">as of <span id=\"updated\">" + Time(board.now, calendar) +
         "</span> <span id=\"status\"></span></span></header>\n<main>\n";

  // The same markup the script renders, so the page reads the same before and after it runs.
  const BoardSnapshot::Figures& p = board.province;
  out += "<section><h2>Province</h2><div class=\"tiles\">\n";
  auto tile = [&](std::string_view id, const std::string& value, std::string_view label,
                  std::string_view attributes = {}) {
    out += "<div class=\"tile\"" + std::string(attributes) + "><div class=\"value\" id=\"" +
           std::string(id) + "\">" + value + "</div><div class=\"label\">" + std::string(label) +
           "</div></div>\n";
  };
  tile("province-rate", Percent(p.on_time_rate), "on time (closed)");
  tile("province-closed", std::to_string(p.closed_on_time + p.closed_late), "closed");
  tile("province-handling", Minutes(p.avg_handling_working_minutes),
       "avg handling, working minutes");
  tile("province-reception", Minutes(p.avg_reception_minutes), "avg reception, minutes");
  tile("province-open", std::to_string(p.open_total()), "open");
  tile("province-at-risk", std::to_string(p.count(rules::OpenState::kAtRisk)), "at risk");
  tile("province-overdue", std::to_string(p.count(rules::OpenState::kOverdue)), "overdue");
  tile("province-paused", std::to_string(p.count(rules::OpenState::kPaused)), "paused");
  // Kept in the markup, hidden, without `predict:`: a reload may turn prediction on.
  const std::string hidden = board.prediction ? "" : " hidden";
  tile("province-predicted-late", p.predicted_late ? std::to_string(*p.predicted_late) : "–",
       "predicted late", " id=\"province-predicted-late-tile\"" + hidden);
  out += "</div></section>\n";

  out +=
      "<section><h2>Departments</h2>\n<table id=\"departments\"><thead><tr><th>code</th>"
      "<th>department</th><th class=\"num\">on time</th><th class=\"num\">target</th>"
      "<th class=\"num\">avg handling (working min)</th><th class=\"num\">avg reception "
      "(min)</th><th class=\"num\">open</th><th class=\"num\">at risk</th>"
      "<th class=\"num\">overdue</th><th class=\"num\">paused</th>"
      "<th class=\"num\" id=\"predicted-late-head\"" +
      hidden + ">predicted late</th></tr></thead><tbody>";
  auto cell = [&](std::string_view text, std::string_view css) {
    out += "<td class=\"" + std::string(css) + "\">";
    AppendHtmlEscaped(out, text);
    out += "</td>";
  };
  for (const BoardSnapshot::Department& d : board.departments) {
    const BoardSnapshot::Figures& f = d.figures;
    out += "<tr data-code=\"" + HtmlEscape(d.code) + "\">";
    cell(d.code, "code");
    cell(d.name, "name");
    cell(Percent(f.on_time_rate), !f.on_time_rate                      ? "num rate "
                                  : *f.on_time_rate < d.on_time_target ? "num rate below"
                                                                       : "num rate meets");
    cell(Percent(d.on_time_target), "num target");
    cell(Minutes(f.avg_handling_working_minutes), "num handling");
    cell(Minutes(f.avg_reception_minutes), "num reception");
    cell(std::to_string(f.open_total()), "num open");
    cell(std::to_string(f.count(rules::OpenState::kAtRisk)), "num at_risk");
    cell(std::to_string(f.count(rules::OpenState::kOverdue)), "num overdue");
    cell(std::to_string(f.count(rules::OpenState::kPaused)), "num paused");
    if (f.predicted_late) cell(std::to_string(*f.predicted_late), "num predicted_late");
    out += "</tr>";
  }
  out += "</tbody></table>\n</section>\n";

  out += "<section><h2>At risk and overdue, by due (<span id=\"attention-total\">" +
         std::to_string(board.total) + "</span>)</h2>\n";
  out +=
      "<table id=\"attention\"><thead><tr><th>dossier</th><th>procedure</th>"
      "<th>department</th><th>state</th><th class=\"num\">cycle</th><th>due</th>"
      "<th class=\"num\">remaining working time (current cycle)</th></tr></thead><tbody>";
  for (const BoardSnapshot::Row& r : board.rows) {
    const std::string state = r.overdue ? "overdue" : "at_risk";
    out += "<tr data-dossier=\"" + HtmlEscape(r.dossier_id) + "\"><td class=\"id\"><a href=\"" +
           DossierPath(r.dossier_id) + "\">";
    AppendHtmlEscaped(out, r.dossier_id);
    out += "</a></td>";
    cell(r.procedure, "procedure");
    cell(r.department, "department");
    cell(state + (r.paused ? " (paused)" : ""), "state state-" + state);
    cell(std::to_string(r.cycle), "num cycle");
    cell(Time(r.due_at, calendar), "due");
    const int64_t remaining = std::chrono::duration_cast<std::chrono::seconds>(r.remaining).count();
    out += "<td class=\"num countdown\" data-remaining=\"" + std::to_string(remaining) + "\">" +
           WorkingHours(r.remaining) + "</td></tr>";
  }
  out += "</tbody></table>\n</section>\n</main>\n";
  // "</" only occurs inside JSON strings, where "<\/" means the same: the data cannot end the
  // script element.
  out += "<script type=\"application/json\" id=\"board-data\">";
  for (size_t i = 0; i < json.size(); ++i) {
    if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') {
      out += "<\\/";
      ++i;
    } else {
      out.push_back(json[i]);
    }
  }
  out += "</script>\n";
  out += kBoardScript;
  out += "</body>\n</html>\n";
  return out;
}

std::string MessagePage(std::string_view title, std::string_view message) {
  std::string out;
  Head(out, title);
  out += "<body><header><h1><a href=\"/\">ontime</a></h1></header><main><section><h2>";
  AppendHtmlEscaped(out, title);
  out += "</h2><p>";
  AppendHtmlEscaped(out, message);
  out += "</p></section></main></body>\n</html>\n";
  return out;
}

std::string DossierPage(const rules::DossierView& d, const std::vector<TimelineEntry>& timeline,
                        const std::vector<LetterFields>& letters,
                        const std::optional<PredictedLate>& predicted,
                        const rules::CompiledRules& rules, Instant now) {
  const rules::BusinessCalendar& calendar = rules.calendar();
  std::string out;
  out.reserve(8192);
  Head(out, "ontime — " + std::string(d.dossier_id));
  out += "<body>\n<header><h1><a href=\"/\">ontime</a></h1><span class=\"sub\">dossier ";
  AppendHtmlEscaped(out, d.dossier_id);
  out += "</span></header>\n<main>\n<section><h2>Dossier <span id=\"dossier-id\">";
  AppendHtmlEscaped(out, d.dossier_id);
  out += "</span></h2>\n<dl>\n";
  const std::string state = d.state != rules::DossierState::kOpen ? std::string(ToString(d.state))
                            : d.overdue                           ? "open, overdue"
                            : d.at_risk                           ? "open, at risk"
                            : d.paused                            ? "open, paused"
                                                                  : "open, on track";
  std::string procedure(d.procedure);
  if (auto i = rules.FindProcedure(d.procedure)) procedure += " — " + rules.procedure(*i).name;
  std::string department(d.department);
  if (auto i = rules.FindDepartment(d.department)) department += " — " + rules.department(*i).name;
  Row(out, "state", state);
  Row(out, "procedure", procedure);
  Row(out, "department", department);
  Row(out, "accepted", Time(d.accepted_at, calendar));
  Row(out, "first due (cycle 1)", Time(d.original_due_at, calendar));
  Row(out, "current due (cycle " + std::to_string(d.cycle) + ")", Time(d.due_at, calendar));
  if (d.state == rules::DossierState::kOpen) {
    Row(out, "remaining working time", WorkingHours(d.remaining));
  } else if (d.closed_at) {
    Row(out, "closed", Time(*d.closed_at, calendar));
    if (d.outcome) Row(out, "outcome", ToString(*d.outcome));
  }
  Row(out, "working time run", WorkingHours(d.working_time));
  Row(out, "step", std::to_string(d.step));
  Row(out, "supplements", std::to_string(d.supplements));
  if (predicted) {
    out += "<dt>predicted late (cycle " + std::to_string(predicted->cycle) +
           ")</dt><dd id=\"predicted-late\">P(late) <span id=\"predicted-probability\">" +
           Probability(predicted->probability) + "</span>, expected close <span " +
           "id=\"predicted-close\">" + Time(predicted->expected_close_at, calendar) +
           "</span> <span class=\"muted\">(alert of " + Time(predicted->detected_at, calendar) +
           ")</span></dd>\n";
  }
  Row(out, "as of", Time(now, calendar));
  out += "</dl></section>\n";

  // Deadlines per cycle: cycle 1's first due, then each letter's new due for the cycle after
  // the one it apologised for; the current cycle's due last.
  out +=
      "<section><h2>Deadlines per cycle</h2><table id=\"cycles\"><thead><tr><th "
      "class=\"num\">cycle</th><th>due</th><th>how it was set</th></tr></thead><tbody>\n";
  auto cycle_row = [&](int cycle, Instant due, std::string_view how) {
    out += "<tr><td class=\"num\">" + std::to_string(cycle) + "</td><td>" + Time(due, calendar) +
           "</td><td>";
    AppendHtmlEscaped(out, how);
    out += "</td></tr>\n";
  };
  cycle_row(1, d.original_due_at, "the procedure's budget (or the receipt's due_at)");
  int last_cycle = 1;
  Instant last_due = d.original_due_at;
  for (const LetterFields& letter : letters) {
    cycle_row(letter.cycle + 1, letter.new_due_at, "apology letter " + letter.letter_id);
    last_cycle = letter.cycle + 1;
    last_due = letter.new_due_at;
  }
  if (d.cycle != last_cycle || d.due_at != last_due) {
    cycle_row(d.cycle, d.due_at, "current (moved by pauses or an upstream extension)");
  }
  out += "</tbody></table></section>\n";

  out +=
      "<section><h2>Steps</h2><table id=\"steps\"><thead><tr><th class=\"num\">step</th>"
      "<th>department</th><th>from</th></tr></thead><tbody>\n";
  int step = 0;
  for (const TimelineEntry& e : timeline) {
    if (e.kind != TimelineKind::kEvent || (e.type != "accepted" && e.type != "transferred")) {
      continue;
    }
    out += "<tr><td class=\"num\">" + std::to_string(++step) + "</td><td>";
    AppendHtmlEscaped(out, e.department.empty() ? std::string_view("(default)") : e.department);
    out += "</td><td>" + Time(e.at, calendar) + "</td></tr>\n";
  }
  if (step == 0) {
    out += "<tr><td class=\"num\">" + std::to_string(d.step) + "</td><td>";
    AppendHtmlEscaped(out, d.department);
    out += "</td><td class=\"muted\">(current; earlier steps not in the timeline)</td></tr>\n";
  }
  out += "</tbody></table></section>\n";

  out +=
      "<section><h2>Timeline</h2><table id=\"timeline\"><thead><tr><th>at</th><th>what</th>"
      "<th>department</th><th>detail</th></tr></thead><tbody>\n";
  for (const TimelineEntry& e : timeline) {
    out += "<tr class=\"" +
           std::string(e.kind == TimelineKind::kEvent   ? "event"
                       : e.kind == TimelineKind::kAlert ? "alert"
                                                        : "letter") +
           "\"><td>" + Time(e.at, calendar) + "</td><td>";
    AppendHtmlEscaped(out, e.type);
    out += "</td><td>";
    AppendHtmlEscaped(out, e.department);
    out += "</td><td>";
    if (e.kind == TimelineKind::kLetter) {
      const std::string id = std::string(d.dossier_id) + ":apology:" + std::to_string(e.number);
      out += "<a href=\"" + LetterPath(id) + "\">";
      AppendHtmlEscaped(out, id);
      out += "</a>";
    } else if (e.kind == TimelineKind::kAlert) {
      out += (e.type == "step_overdue" ? "step " : "cycle ") + std::to_string(e.number);
      if (e.probability) {
        out += ", P(late) " + Probability(*e.probability) + ", expected close " +
               Time(e.expected_close_at, calendar);
      }
    } else {
      AppendHtmlEscaped(out, e.reason);
    }
    out += "</td></tr>\n";
  }
  out += "</tbody></table></section>\n";

  out += "<section><h2>Apology letters</h2><ul id=\"letters\">\n";
  for (const LetterFields& letter : letters) {
    out += "<li><a href=\"" + LetterPath(letter.letter_id) + "\">";
    AppendHtmlEscaped(out, letter.letter_id);
    out += "</a> — issued " + Time(letter.issued_at, calendar) + ", new due " +
           Time(letter.new_due_at, calendar) + "</li>\n";
  }
  if (letters.empty()) out += "<li class=\"muted\">none</li>\n";
  out += "</ul></section>\n</main>\n</body>\n</html>\n";
  return out;
}

void WriteTimelineJson(streams::JsonWriter& w, std::string_view dossier_id,
                       const std::vector<TimelineEntry>& timeline,
                       const rules::BusinessCalendar& calendar) {
  w.BeginArray();
  for (const TimelineEntry& e : timeline) {
    w.BeginObject();
    w.Field("kind", e.kind == TimelineKind::kEvent   ? "event"
                    : e.kind == TimelineKind::kAlert ? "alert"
                                                     : "letter");
    w.Field("type", e.type);
    w.Key("at").Time(e.at, calendar);
    if (!e.department.empty()) w.Field("department", e.department);
    if (!e.reason.empty()) w.Field("reason", e.reason);
    if (e.kind == TimelineKind::kAlert) {
      w.Key(e.type == "step_overdue" ? "step" : "cycle").Int(e.number);
      w.Field("alert_id",
              std::string(dossier_id) + ":" + std::string(e.type) + ":" + std::to_string(e.number));
      if (e.probability) {
        w.Key("probability").Number(*e.probability);
        w.Key("expected_close_at").Time(e.expected_close_at, calendar);
      }
    } else if (e.kind == TimelineKind::kLetter) {
      w.Key("cycle").Int(e.number);
      w.Field("letter_id", std::string(dossier_id) + ":apology:" + std::to_string(e.number));
    }
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace ontime::daemon
