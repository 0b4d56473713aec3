#include "ontime/streams/json_output.h"

#include <cstdio>

namespace ontime::streams {
namespace {

void Key(std::string& out, std::string_view key) {
  out.push_back('"');
  out.append(key);
  out.append("\":");
}

void AppendInt(std::string& out, int64_t value) { out.append(std::to_string(value)); }

void AppendPerson(std::string& out, const rules::Person* person, bool with_email) {
  out.push_back('{');
  Key(out, "name");
  AppendJsonString(out, person ? person->name : "");
  out.push_back(',');
  Key(out, "title");
  AppendJsonString(out, person ? person->title : "");
  if (with_email) {
    out.push_back(',');
    Key(out, "email");
    AppendJsonString(out, person ? person->email : "");
  }
  out.push_back('}');
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  size_t run = 0;  // start of the bytes that need no escaping, copied in one go
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
        out.append(buf);
      }
    }
  }
  out.append(text.data() + run, text.size() - run);
  out.push_back('"');
}

void AppendJsonTime(std::string& out, Instant t, const rules::BusinessCalendar& calendar) {
  out.push_back('"');
  AppendRfc3339(out, t, calendar.UtcOffsetAt(t));
  out.push_back('"');
}

void AppendJsonSeconds(std::string& out, Duration d) {
  int64_t ms = d.count();
  if (ms % 1000 == 0) {
    AppendInt(out, ms / 1000);
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%lld.%03lld", ms < 0 ? "-" : "",
                static_cast<long long>((ms < 0 ? -ms : ms) / 1000),
                static_cast<long long>((ms < 0 ? -ms : ms) % 1000));
  out.append(buf);
}

void AppendAlertJson(std::string& out, const rules::Alert& a,
                     const rules::BusinessCalendar& calendar) {
  out.push_back('{');
  Key(out, "alert_id");
  AppendJsonString(out, a.AlertId());
  out.push_back(',');
  Key(out, "kind");
  AppendJsonString(out, rules::ToString(a.kind));
  if (a.kind == rules::AlertKind::kStepOverdue) {
    out.push_back(',');
    Key(out, "step");
    AppendInt(out, a.step);
  }
  out.push_back(',');
  Key(out, "dossier_id");
  AppendJsonString(out, a.dossier_id);
  out.push_back(',');
  Key(out, "procedure");
  AppendJsonString(out, a.procedure);
  out.push_back(',');
  Key(out, "department");
  AppendJsonString(out, a.department);
  out.push_back(',');
  Key(out, "cycle");
  AppendInt(out, a.cycle);
  out.push_back(',');
  Key(out, "due_at");
  AppendJsonTime(out, a.due_at, calendar);
  out.push_back(',');
  Key(out, "detected_at");
  AppendJsonTime(out, a.detected_at, calendar);
  out.push_back(',');
  Key(out, "remaining_seconds");
  AppendJsonSeconds(out, a.remaining);
  out.push_back(',');
  Key(out, "notify");
  AppendPerson(out, a.notify, true);
  out.push_back('}');
}

void AppendLetterJson(std::string& out, const rules::ApologyLetter& l,
                      const rules::BusinessCalendar& calendar) {
  out.push_back('{');
  Key(out, "letter_id");
  AppendJsonString(out, l.LetterId());
  out.push_back(',');
  Key(out, "dossier_id");
  AppendJsonString(out, l.dossier_id);
  out.push_back(',');
  Key(out, "procedure");
  AppendJsonString(out, l.procedure);
  out.push_back(',');
  Key(out, "department");
  AppendJsonString(out, l.department);
  out.push_back(',');
  Key(out, "applicant");
  if (l.applicant) {
    out.push_back('{');
    Key(out, "name");
    AppendJsonString(out, l.applicant->name);
    out.push_back(',');
    Key(out, "address");
    AppendJsonString(out, l.applicant->address);
    out.push_back(',');
    Key(out, "phone");
    AppendJsonString(out, l.applicant->phone);
    out.push_back(',');
    Key(out, "email");
    AppendJsonString(out, l.applicant->email);
    out.push_back('}');
  } else {
    out.append("null");
  }
  out.push_back(',');
  Key(out, "cycle");
  AppendInt(out, l.cycle);
  out.push_back(',');
  Key(out, "accepted_at");
  AppendJsonTime(out, l.accepted_at, calendar);
  out.push_back(',');
  Key(out, "original_due_at");
  AppendJsonTime(out, l.original_due_at, calendar);
  out.push_back(',');
  Key(out, "new_due_at");
  AppendJsonTime(out, l.new_due_at, calendar);
  out.push_back(',');
  Key(out, "reason");
  AppendJsonString(out, l.reason);
  out.push_back(',');
  Key(out, "signer");
  AppendPerson(out, l.signer, false);
  out.push_back(',');
  Key(out, "issued_at");
  AppendJsonTime(out, l.issued_at, calendar);
  out.push_back(',');
  Key(out, "form");
  AppendJsonString(out, rules::kApologyForm);
  out.push_back('}');
}

void AppendDossierJson(std::string& out, const rules::DossierView& d,
                       const rules::BusinessCalendar& calendar) {
  out.push_back('{');
  Key(out, "dossier_id");
  AppendJsonString(out, d.dossier_id);
  out.push_back(',');
  Key(out, "procedure");
  AppendJsonString(out, d.procedure);
  out.push_back(',');
  Key(out, "department");
  AppendJsonString(out, d.department);
  out.push_back(',');
  Key(out, "state");
  AppendJsonString(out, rules::ToString(d.state));
  out.push_back(',');
  Key(out, "accepted_at");
  AppendJsonTime(out, d.accepted_at, calendar);
  out.push_back(',');
  Key(out, "original_due_at");
  AppendJsonTime(out, d.original_due_at, calendar);
  out.push_back(',');
  Key(out, "due_at");
  AppendJsonTime(out, d.due_at, calendar);
  out.push_back(',');
  Key(out, "closed_at");
  if (d.closed_at) {
    AppendJsonTime(out, *d.closed_at, calendar);
  } else {
    out.append("null");
  }
  out.push_back(',');
  Key(out, "outcome");
  if (d.outcome) {
    AppendJsonString(out, rules::ToString(*d.outcome));
  } else {
    out.append("null");
  }
  out.push_back(',');
  Key(out, "at_risk");
  out.append(d.at_risk ? "true" : "false");
  out.push_back(',');
  Key(out, "overdue");
  out.append(d.overdue ? "true" : "false");
  out.push_back(',');
  Key(out, "paused");
  out.append(d.paused ? "true" : "false");
  out.push_back(',');
  Key(out, "cycle");
  AppendInt(out, d.cycle);
  out.push_back(',');
  Key(out, "supplements");
  AppendInt(out, d.supplements);
  out.push_back(',');
  Key(out, "apology_letters");
  AppendInt(out, d.apology_letters);
  out.push_back(',');
  Key(out, "working_seconds");
  AppendJsonSeconds(out, d.working_time);
  out.push_back(',');
  Key(out, "step");
  AppendInt(out, d.step);
  out.push_back(',');
  Key(out, "remaining_seconds");
  AppendJsonSeconds(out, d.state == rules::DossierState::kOpen ? d.remaining : Duration{});
  out.push_back('}');
}

}  // namespace ontime::streams
