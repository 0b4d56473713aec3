#include "ontime/streams/json_output.h"

#include <cmath>

#include "ontime/streams/json_writer.h"

namespace ontime::streams {
namespace {

void WritePerson(JsonWriter& w, const rules::Person* person, bool with_email) {
  w.BeginObject();
  w.Field("name", person ? person->name : "");
  w.Field("title", person ? person->title : "");
  if (with_email) w.Field("email", person ? person->email : "");
  w.EndObject();
}

}  // namespace

void AppendJsonTime(std::string& out, Instant t, const rules::BusinessCalendar& calendar) {
  JsonWriter(out).Time(t, calendar);
}

void AppendJsonSeconds(std::string& out, Duration d) { JsonWriter(out).Seconds(d); }

void AppendAlertJson(std::string& out, const rules::Alert& a,
                     const rules::BusinessCalendar& calendar) {
  JsonWriter w(out);
  w.BeginObject();
  w.Field("alert_id", a.AlertId());
  w.Field("kind", rules::ToString(a.kind));
  if (a.kind == rules::AlertKind::kStepOverdue) w.Key("step").Int(a.step);
  w.Field("dossier_id", a.dossier_id);
  w.Field("procedure", a.procedure);
  w.Field("department", a.department);
  w.Key("cycle").Int(a.cycle);
  w.Key("due_at").Time(a.due_at, calendar);
  w.Key("detected_at").Time(a.detected_at, calendar);
  w.Key("remaining_seconds").Seconds(a.remaining);
  if (a.kind == rules::AlertKind::kPredictedLate) {
    w.Key("probability").Number(std::round(a.probability * 10000) / 10000);
    w.Key("expected_close_at").Time(a.expected_close_at, calendar);
  }
  w.Key("notify");
  WritePerson(w, a.notify, true);
  w.EndObject();
}

void AppendLetterJson(std::string& out, const rules::ApologyLetter& l,
                      const rules::BusinessCalendar& calendar) {
  JsonWriter w(out);
  w.BeginObject();
  w.Field("letter_id", l.LetterId());
  w.Field("dossier_id", l.dossier_id);
  w.Field("procedure", l.procedure);
  w.Field("department", l.department);
  w.Key("applicant");
  if (l.applicant) {
    w.BeginObject();
    w.Field("name", l.applicant->name);
    w.Field("address", l.applicant->address);
    w.Field("phone", l.applicant->phone);
    w.Field("email", l.applicant->email);
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("cycle").Int(l.cycle);
  w.Key("accepted_at").Time(l.accepted_at, calendar);
  w.Key("original_due_at").Time(l.original_due_at, calendar);
  w.Key("new_due_at").Time(l.new_due_at, calendar);
  w.Field("reason", l.reason);
  w.Key("signer");
  WritePerson(w, l.signer, false);
  w.Key("issued_at").Time(l.issued_at, calendar);
  w.Field("form", rules::kApologyForm);
  w.EndObject();
}

void AppendDossierJson(std::string& out, const rules::DossierView& d,
                       const rules::BusinessCalendar& calendar) {
  JsonWriter w(out);
  WriteDossierJson(w, d, calendar);
}

void WriteDossierJson(JsonWriter& w, const rules::DossierView& d,
                      const rules::BusinessCalendar& calendar) {
  w.BeginObject();
  w.Field("dossier_id", d.dossier_id);
  w.Field("procedure", d.procedure);
  w.Field("department", d.department);
  w.Field("state", rules::ToString(d.state));
  w.Key("accepted_at").Time(d.accepted_at, calendar);
  w.Key("original_due_at").Time(d.original_due_at, calendar);
  w.Key("due_at").Time(d.due_at, calendar);
  w.Key("closed_at").OptionalTime(d.closed_at, calendar);
  w.Key("outcome");
  if (d.outcome) {
    w.String(rules::ToString(*d.outcome));
  } else {
    w.Null();
  }
  w.Key("at_risk").Bool(d.at_risk);
  w.Key("overdue").Bool(d.overdue);
  w.Key("paused").Bool(d.paused);
  w.Key("cycle").Int(d.cycle);
  w.Key("supplements").Int(d.supplements);
  w.Key("apology_letters").Int(d.apology_letters);
  w.Key("working_seconds").Seconds(d.working_time);
  w.Key("step").Int(d.step);
  w.Key("remaining_seconds")
      .Seconds(d.state == rules::DossierState::kOpen ? d.remaining : Duration{});
  w.EndObject();
}

}  // namespace ontime::streams
