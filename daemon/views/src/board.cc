#include "ontime/daemon/board.h"

#include <algorithm>

#include "ontime/streams/json_writer.h"

namespace ontime::daemon {

void AttentionIndex::OnAlert(const rules::Alert& alert) {
  // A step's breach leaves the dossier itself in time, and a prediction is not a breach yet.
  if (alert.kind == rules::AlertKind::kStepOverdue ||
      alert.kind == rules::AlertKind::kPredictedLate) {
    return;
  }
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

BoardSnapshot::Figures MakeFigures(const BoardFigures::Department& d,
                                   const std::array<int64_t, rules::kOpenStateCount>& open,
                                   std::optional<int64_t> predicted_late) {
  BoardSnapshot::Figures f;
  f.closed_on_time = d.closed_on_time;
  f.closed_late = d.closed_late;
  const int64_t judged = d.closed_on_time + d.closed_late;
  if (judged > 0) {
    f.on_time_rate = static_cast<double>(d.closed_on_time) / static_cast<double>(judged);
    f.avg_handling_working_minutes =
        d.handling_working_seconds / 60.0 / static_cast<double>(judged);
  }
  if (d.receptions > 0) {
    f.avg_reception_minutes = d.reception_seconds / 60.0 / static_cast<double>(d.receptions);
  }
  f.open = open;
  f.predicted_late = predicted_late;
  return f;
}

void OptionalNumber(streams::JsonWriter& w, std::string_view key, std::optional<double> value) {
  w.Key(key);
  if (value) {
    w.Number(*value);
  } else {
    w.Null();
  }
}

void WriteFigures(streams::JsonWriter& w, const BoardSnapshot::Figures& f) {
  w.Key("closed_on_time").Int(f.closed_on_time);
  w.Key("closed_late").Int(f.closed_late);
  OptionalNumber(w, "on_time_rate", f.on_time_rate);
  OptionalNumber(w, "avg_handling_working_minutes", f.avg_handling_working_minutes);
  OptionalNumber(w, "avg_reception_minutes", f.avg_reception_minutes);
  w.Key("open").Int(f.open_total());
  w.Key("on_track").Int(f.count(rules::OpenState::kOnTrack));
  w.Key("at_risk").Int(f.count(rules::OpenState::kAtRisk));
  w.Key("overdue").Int(f.count(rules::OpenState::kOverdue));
  w.Key("paused").Int(f.count(rules::OpenState::kPaused));
  w.Key("predicted_late");
  if (f.predicted_late) {
    w.Int(*f.predicted_late);
  } else {
    w.Null();
  }
}

}  // namespace

BoardSnapshot TakeBoardSnapshot(const rules::Engine& engine, const AttentionIndex& index,
                                const BoardFigures& figures, Instant now, size_t limit) {
  const rules::CompiledRules& rules = engine.rules();
  const rules::BusinessCalendar& calendar = rules.calendar();
  const auto& open = engine.open_counts();
  const std::vector<int64_t>& predicted = engine.predicted_late_counts();
  BoardSnapshot board;
  board.now = now;
  board.limit = limit;
  board.working_now = calendar.Between(now, now + std::chrono::seconds(1)) > Duration{};
  board.prediction = rules.config().predict.has_value();
  BoardFigures::Department province;
  std::array<int64_t, rules::kOpenStateCount> province_open{};
  std::optional<int64_t> province_predicted;
  if (board.prediction) province_predicted = 0;
  for (size_t i = 0; i < rules.department_count(); ++i) {
    const BoardFigures::Department d =
        i < figures.departments().size() ? figures.departments()[i] : BoardFigures::Department{};
    const std::array<int64_t, rules::kOpenStateCount> counts =
        i < open.size() ? open[i] : std::array<int64_t, rules::kOpenStateCount>{};
    province.closed_on_time += d.closed_on_time;
    province.closed_late += d.closed_late;
    province.handling_working_seconds += d.handling_working_seconds;
    province.receptions += d.receptions;
    province.reception_seconds += d.reception_seconds;
    for (int s = 0; s < rules::kOpenStateCount; ++s) province_open[s] += counts[s];
    std::optional<int64_t> predicted_late;
    if (board.prediction) {
      predicted_late = i < predicted.size() ? predicted[i] : 0;
      *province_predicted += *predicted_late;
    }
    const rules::Department& department = rules.department(static_cast<uint32_t>(i));
    board.departments.push_back({department.code, department.name, department.on_time_target,
                                 MakeFigures(d, counts, predicted_late)});
  }
  board.province = MakeFigures(province, province_open, province_predicted);
  for (const rules::DossierView& d : index.Rows(engine, now, limit, &board.total)) {
    board.rows.push_back({std::string(d.dossier_id), std::string(d.procedure),
                          std::string(d.department), d.overdue, d.paused, d.cycle, d.due_at,
                          d.original_due_at, d.remaining});
  }
  return board;
}

std::string BoardJson(const BoardSnapshot& board, const rules::BusinessCalendar& calendar) {
  std::string out;
  streams::JsonWriter w(out);
  w.BeginObject();
  w.Key("now").Time(board.now, calendar);
  w.Key("limit").Int(static_cast<int64_t>(board.limit));
  w.Key("working_now").Bool(board.working_now);
  w.Key("prediction").Bool(board.prediction);
  w.Key("province").BeginObject();
  WriteFigures(w, board.province);
  w.EndObject();
  w.Key("departments").BeginArray();
  for (const BoardSnapshot::Department& d : board.departments) {
    w.Break().BeginObject();
    w.Field("code", d.code);
    w.Field("name", d.name);
    w.Key("on_time_target").Number(d.on_time_target);
    WriteFigures(w, d.figures);
    w.EndObject();
  }
  w.EndArray();
  w.Key("attention").BeginObject();
  w.Key("total").Int(static_cast<int64_t>(board.total));
  w.Key("dossiers").BeginArray();
  for (const BoardSnapshot::Row& d : board.rows) {
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
