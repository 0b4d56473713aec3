#include "ontime/daemon/board.h"

#include <algorithm>

#include "ontime/streams/json_writer.h"

namespace ontime::daemon {

void AttentionIndex::OnAlert(const rules::Alert& alert) {
  if (alert.kind == rules::AlertKind::kStepOverdue) return;  // the dossier itself may be in time
  if (auto it = ids_.find(alert.dossier_id); it == ids_.end()) ids_.emplace(alert.dossier_id);
}

void AttentionIndex::OnAlertsEnded(std::string_view dossier_id, Instant) {
  if (auto it = ids_.find(dossier_id); it != ids_.end()) ids_.erase(it);
}

void AttentionIndex::Seed(const rules::DossierView& d) {
  if (d.state == rules::DossierState::kOpen && (d.at_risk || d.overdue)) {
    ids_.emplace(d.dossier_id);
  }
}

std::vector<rules::DossierView> AttentionIndex::Rows(const rules::Engine& engine, Instant now,
                                                     size_t limit, size_t* total) const {
  std::vector<rules::DossierView> rows;
  for (const std::string& id : ids_) {
    std::optional<rules::DossierView> d = engine.Find(id, now);
    if (!d || d->state != rules::DossierState::kOpen || !(d->at_risk || d->overdue)) continue;
    rows.push_back(*d);
  }
  if (total != nullptr) *total = rows.size();
  auto by_due = [](const rules::DossierView& a, const rules::DossierView& b) {
    return a.due_at != b.due_at ? a.due_at < b.due_at : a.dossier_id < b.dossier_id;
  };
  if (rows.size() > limit) {
    std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(limit), rows.end(),
                      by_due);
    rows.resize(limit);
  } else {
    std::sort(rows.begin(), rows.end(), by_due);
  }
  return rows;
}

void BoardFigures::OnAccepted(uint32_t department, rules::Channel,
                              std::optional<double> reception_seconds) {
  if (!reception_seconds || department >= departments_.size()) return;
  ++departments_[department].receptions;
  departments_[department].reception_seconds += *reception_seconds;
}

void BoardFigures::OnClosed(uint32_t department, rules::Outcome outcome, double,
                            double working_seconds) {
  if (department >= departments_.size()) return;
  Department& d = departments_[department];
  if (outcome == rules::Outcome::kOnTime) {
    ++d.closed_on_time;
  } else if (outcome == rules::Outcome::kLate) {
    ++d.closed_late;
  } else {
    return;
  }
  d.handling_working_seconds += working_seconds;
}

void BoardFigures::Seed(const rules::DossierView& dossier, const rules::CompiledRules& rules) {
  if (!dossier.outcome) return;
  std::optional<uint32_t> department = rules.FindDepartment(dossier.department);
  if (!department) return;
  OnClosed(*department, *dossier.outcome, 0,
           std::chrono::duration<double>(dossier.working_time).count());
}

void BoardFigures::Resize(size_t departments) {
  if (departments > departments_.size()) departments_.resize(departments);
}

namespace {

void Rates(streams::JsonWriter& w, int64_t on_time, int64_t late, double handling,
           int64_t receptions, double reception) {
  const int64_t judged = on_time + late;
  w.Key("closed_on_time").Int(on_time);
  w.Key("closed_late").Int(late);
  w.Key("on_time_rate");
  if (judged > 0) {
    w.Number(static_cast<double>(on_time) / static_cast<double>(judged));
  } else {
    w.Null();
  }
  w.Key("avg_handling_working_minutes");
  if (judged > 0) {
    w.Number(handling / 60.0 / static_cast<double>(judged));
  } else {
    w.Null();
  }
  w.Key("avg_reception_minutes");
  if (receptions > 0) {
    w.Number(reception / 60.0 / static_cast<double>(receptions));
  } else {
    w.Null();
  }
}

void Counts(streams::JsonWriter& w, const std::array<int64_t, rules::kOpenStateCount>& c) {
  w.Key("open").Int(c[0] + c[1] + c[2] + c[3]);
  w.Key("on_track").Int(c[static_cast<int>(rules::OpenState::kOnTrack)]);
  w.Key("at_risk").Int(c[static_cast<int>(rules::OpenState::kAtRisk)]);
  w.Key("overdue").Int(c[static_cast<int>(rules::OpenState::kOverdue)]);
  w.Key("paused").Int(c[static_cast<int>(rules::OpenState::kPaused)]);
}

}  // namespace

std::string BoardJson(const rules::Engine& engine, const AttentionIndex& index,
                      const BoardFigures& figures, Instant now, size_t limit) {
  const rules::CompiledRules& rules = engine.rules();
  const rules::BusinessCalendar& calendar = rules.calendar();
  const auto& open = engine.open_counts();
  std::string out;
  streams::JsonWriter w(out);
  w.BeginObject();
  w.Key("now").Time(now, calendar);
  w.Key("limit").Int(static_cast<int64_t>(limit));
  w.Key("working_now").Bool(calendar.Between(now, now + std::chrono::seconds(1)) > Duration{});
  BoardFigures::Department province;
  std::array<int64_t, rules::kOpenStateCount> province_open{};
  for (size_t i = 0; i < rules.department_count(); ++i) {
    if (i < figures.departments().size()) {
      const BoardFigures::Department& d = figures.departments()[i];
      province.closed_on_time += d.closed_on_time;
      province.closed_late += d.closed_late;
      province.handling_working_seconds += d.handling_working_seconds;
      province.receptions += d.receptions;
      province.reception_seconds += d.reception_seconds;
    }
    if (i < open.size()) {
      for (int s = 0; s < rules::kOpenStateCount; ++s) province_open[s] += open[i][s];
    }
  }
  w.Key("province").BeginObject();
  Rates(w, province.closed_on_time, province.closed_late, province.handling_working_seconds,
        province.receptions, province.reception_seconds);
  Counts(w, province_open);
  w.EndObject();
  w.Key("departments").BeginArray();
  for (size_t i = 0; i < rules.department_count(); ++i) {
    const rules::Department& department = rules.department(static_cast<uint32_t>(i));
    const BoardFigures::Department d =
        i < figures.departments().size() ? figures.departments()[i] : BoardFigures::Department{};
    w.Break().BeginObject();
    w.Field("code", department.code);
    w.Field("name", department.name);
    w.Key("on_time_target").Number(department.on_time_target);
    Rates(w, d.closed_on_time, d.closed_late, d.handling_working_seconds, d.receptions,
          d.reception_seconds);
    Counts(w, i < open.size() ? open[i] : std::array<int64_t, rules::kOpenStateCount>{});
    w.EndObject();
  }
  w.EndArray();
  size_t total = 0;
  const std::vector<rules::DossierView> rows = index.Rows(engine, now, limit, &total);
  w.Key("attention").BeginObject();
  w.Key("total").Int(static_cast<int64_t>(total));
  w.Key("dossiers").BeginArray();
  for (const rules::DossierView& d : rows) {
    w.Break().BeginObject();
    w.Field("dossier_id", d.dossier_id);
    w.Field("procedure", d.procedure);
    w.Field("department", d.department);
    w.Field("state", d.overdue ? "overdue" : "at_risk");
    w.Key("paused").Bool(d.paused);
    w.Key("cycle").Int(d.cycle);
    w.Key("due_at").Time(d.due_at, calendar);
    w.Key("original_due_at").Time(d.original_due_at, calendar);
    w.Key("remaining_seconds").Seconds(d.remaining);
    w.EndObject();
  }
  w.EndArray().EndObject();
  w.EndObject();
  out.push_back('\n');
  return out;
}

}  // namespace ontime::daemon
