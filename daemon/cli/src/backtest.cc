#include "ontime/daemon/backtest.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <unordered_map>

#include "ontime/rules/engine.h"
#include "ontime/streams/event_pipeline.h"
#include "ontime/streams/json_writer.h"

namespace ontime::daemon {
namespace {

// The first alert of each scored kind per dossier, in cycle 1 and before its due.
class FirstAlerts final : public rules::EngineListener {
 public:
  struct Seen {
    Instant detected{};
    Instant due{};
  };
  void OnAlert(const rules::Alert& a) override {
    if (a.cycle != 1 || a.detected_at >= a.due_at) return;
    auto* seen = a.kind == rules::AlertKind::kAtRisk          ? &at_risk
                 : a.kind == rules::AlertKind::kPredictedLate ? &predicted
                                                              : nullptr;
    if (seen) seen->try_emplace(std::string(a.dossier_id), Seen{a.detected_at, a.due_at});
  }
  std::unordered_map<std::string, Seen> at_risk, predicted;
};

struct Judged {
  std::string procedure;
  bool late = false;
  bool first_part = false;
  std::optional<FirstAlerts::Seen> at_risk, predicted;
};

void Score(AlertScore& s, bool late, const std::optional<FirstAlerts::Seen>& alert,
           std::vector<Duration>& leads) {
  ++s.dossiers;
  s.late += late;
  if (!alert) return;
  ++s.alerted;
  if (!late) return;
  ++s.alerted_late;
  leads.push_back(alert->due - alert->detected);
}

// Scores `dossiers` (those `in` selects) on one alert kind, per procedure and overall ("").
template <typename In, typename Alert>
PartScores ScorePart(const std::vector<Judged>& dossiers, In in, Alert alert) {
  PartScores scores;
  std::map<std::string, std::vector<Duration>> leads;
  for (const Judged& d : dossiers) {
    if (!in(d)) continue;
    for (const std::string& key : {d.procedure, std::string()}) {
      Score(scores[key], d.late, alert(d), leads[key]);
    }
  }
  for (auto& [key, s] : scores) {
    s.precision = s.alerted > 0 ? static_cast<double>(s.alerted_late) / s.alerted : 0;
    s.recall = s.late > 0 ? static_cast<double>(s.alerted_late) / s.late : 0;
    std::vector<Duration>& l = leads[key];
    if (!l.empty()) {
      std::sort(l.begin(), l.end());
      // The lower median of an even count: a lead time that was actually seen.
      s.median_lead = l[(l.size() - 1) / 2];
    }
  }
  return scores;
}

struct Run {
  std::vector<Judged> dossiers;
  size_t invalid = 0;
};

Run Replay(const std::shared_ptr<const rules::CompiledRules>& rules,
           const std::vector<std::string>& lines, double split) {
  FirstAlerts alerts;
  rules::Engine engine(rules, &alerts);
  streams::EventPipeline pipeline(engine);
  Run run;
  for (const std::string& line : lines) {
    if (pipeline.Process(line).invalid) ++run.invalid;
  }
  const Instant now = engine.clock().value_or(Instant{});
  engine.AdvanceTo(now);
  const size_t accepted = engine.dossiers_tracked();
  const auto first_part = static_cast<size_t>(split * static_cast<double>(accepted) + 0.5);
  size_t order = 0;
  engine.ForEachDossier(now, [&](const rules::DossierView& d) {
    const size_t position = order++;
    if (!d.outcome ||
        (*d.outcome != rules::Outcome::kOnTime && *d.outcome != rules::Outcome::kLate)) {
      return;
    }
    Judged j;
    j.procedure = std::string(d.procedure);
    j.late = *d.outcome == rules::Outcome::kLate;
    j.first_part = position < first_part;
    const std::string id(d.dossier_id);
    if (auto it = alerts.at_risk.find(id); it != alerts.at_risk.end()) j.at_risk = it->second;
    if (auto it = alerts.predicted.find(id); it != alerts.predicted.end()) j.predicted = it->second;
    run.dossiers.push_back(std::move(j));
  });
  return run;
}

std::string Percent(double v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", v * 100);
  return buf;
}

std::string Days(const std::optional<Duration>& d) {
  if (!d) return "–";
  char buf[24];
  std::snprintf(buf, sizeof buf, "%.1f d", static_cast<double>(d->count()) / 86'400'000.0);
  return buf;
}

std::string Row(const std::string& name, const AlertScore& s) {
  return "| " + name + " | " + std::to_string(s.dossiers) + " | " + std::to_string(s.late) + " | " +
         std::to_string(s.alerted) + " | " + Percent(s.precision) + " | " + Percent(s.recall) +
         " | " + Days(s.median_lead) + " |\n";
}

const AlertScore& Overall(const PartScores& p) {
  static const AlertScore kNone;
  auto it = p.find("");
  return it == p.end() ? kNone : it->second;
}

std::string Threshold(double t) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2f", t);
  return buf;
}

std::string Markdown(const BacktestResult& r) {
  const auto& chosen = r.sweep[r.chosen];
  const std::string t = Threshold(chosen.threshold);
  std::string md;
  md += "Threshold chosen on the first part: **" + t + "** (events " + std::to_string(r.events) +
        ", invalid " + std::to_string(r.invalid) + ").\n\n";
  md += "Second part, overall:\n\n";
  md += "| alert | dossiers | late | alerted | precision | recall | median lead |\n";
  md += "|---|---:|---:|---:|---:|---:|---:|\n";
  md += Row("at_risk", Overall(r.at_risk_second));
  md += Row("predicted_late @ " + t, Overall(chosen.second));
  md += "\nThreshold sweep, overall (precision / recall / median lead):\n\n";
  md += "| threshold | first part | second part | whole log |\n|---:|---|---|---|\n";
  auto cell = [](const AlertScore& s) {
    return Percent(s.precision) + " / " + Percent(s.recall) + " / " + Days(s.median_lead);
  };
  md += "| at_risk | " + cell(Overall(r.at_risk_first)) + " | " + cell(Overall(r.at_risk_second)) +
        " | " + cell(Overall(r.at_risk_all)) + " |\n";
  for (const auto& s : r.sweep) {
    md += "| " + Threshold(s.threshold) + " | " + cell(Overall(s.first)) + " | " +
          cell(Overall(s.second)) + " | " + cell(Overall(s.all)) + " |\n";
  }
  md += "\nPer procedure, second part (at_risk | predicted_late @ " + t + "):\n\n";
  md += "| procedure | dossiers | late | at_risk P / R / lead | predicted P / R / lead |\n";
  md += "|---|---:|---:|---|---|\n";
  for (const auto& [code, s] : r.at_risk_second) {
    if (code.empty()) continue;
    auto p = chosen.second.find(code);
    md += "| " + code + " | " + std::to_string(s.dossiers) + " | " + std::to_string(s.late) +
          " | " + cell(s) + " | " + (p == chosen.second.end() ? "–" : cell(p->second)) + " |\n";
  }
  return md;
}

void WriteScore(streams::JsonWriter& w, const AlertScore& s) {
  w.BeginObject();
  w.Key("dossiers").Int(s.dossiers);
  w.Key("late").Int(s.late);
  w.Key("alerted").Int(s.alerted);
  w.Key("alerted_late").Int(s.alerted_late);
  w.Key("precision").Number(s.precision);
  w.Key("recall").Number(s.recall);
  w.Key("median_lead_days");
  if (s.median_lead) {
    w.Number(static_cast<double>(s.median_lead->count()) / 86'400'000.0);
  } else {
    w.Null();
  }
  w.EndObject();
}

void WriteParts(streams::JsonWriter& w, const PartScores& first, const PartScores& second,
                const PartScores& all) {
  w.BeginObject();
  for (const auto& [name, part] :
       {std::pair{"first", &first}, std::pair{"second", &second}, std::pair{"all", &all}}) {
    w.Key(name).BeginObject();
    for (const auto& [code, s] : *part) {
      w.Key(code.empty() ? "overall" : code);
      WriteScore(w, s);
    }
    w.EndObject();
  }
  w.EndObject();
}

std::string Json(const BacktestResult& r) {
  std::string out;
  streams::JsonWriter w(out);
  w.BeginObject();
  w.Key("events").Int(static_cast<int64_t>(r.events));
  w.Key("invalid").Int(static_cast<int64_t>(r.invalid));
  w.Key("chosen_threshold").Number(r.sweep[r.chosen].threshold);
  w.Key("at_risk");
  WriteParts(w, r.at_risk_first, r.at_risk_second, r.at_risk_all);
  w.Key("predicted_late").BeginArray();
  for (const auto& s : r.sweep) {
    w.BeginObject().Key("threshold").Number(s.threshold).Key("scores");
    WriteParts(w, s.first, s.second, s.all);
    w.EndObject();
  }
  w.EndArray().EndObject();
  out.push_back('\n');
  return out;
}

}  // namespace

Result<BacktestResult> Backtest(const Config& config, const std::vector<std::string>& lines,
                                const BacktestOptions& options) {
  rules::RulesConfig rules_config = config.rules;
  if (!rules_config.predict) rules_config.predict.emplace();
  BacktestResult result;
  result.events = lines.size();
  auto first = [](const Judged& d) { return d.first_part; };
  auto second = [](const Judged& d) { return !d.first_part; };
  auto all = [](const Judged&) { return true; };
  auto at_risk = [](const Judged& d) { return d.at_risk; };
  auto predicted = [](const Judged& d) { return d.predicted; };
  for (size_t k = 0; k < options.thresholds.size(); ++k) {
    rules_config.predict->threshold = options.thresholds[k];
    auto rules = rules::CompiledRules::Compile(rules_config);
    if (!rules.ok()) return rules.error();
    const Run run = Replay(rules.value(), lines, options.split);
    if (k == 0) {
      result.invalid = run.invalid;
      result.at_risk_first = ScorePart(run.dossiers, first, at_risk);
      result.at_risk_second = ScorePart(run.dossiers, second, at_risk);
      result.at_risk_all = ScorePart(run.dossiers, all, at_risk);
    }
    BacktestResult::Sweep s;
    s.threshold = options.thresholds[k];
    s.first = ScorePart(run.dossiers, first, predicted);
    s.second = ScorePart(run.dossiers, second, predicted);
    s.all = ScorePart(run.dossiers, all, predicted);
    result.sweep.push_back(std::move(s));
  }
  if (result.sweep.empty()) return Error{"backtest", "no threshold to try"};
  // On the first part: at least at_risk's precision, then the longest median lead time (more
  // recall, then the lower threshold, on ties); if none reaches that precision, the most precise.
  const AlertScore& base = Overall(result.at_risk_first);
  auto lead = [](const AlertScore& s) { return s.median_lead.value_or(Duration::min()); };
  std::optional<size_t> best;
  for (size_t k = 0; k < result.sweep.size(); ++k) {
    const AlertScore& s = Overall(result.sweep[k].first);
    if (s.alerted == 0 || s.precision < base.precision) continue;
    if (!best) {
      best = k;
      continue;
    }
    const AlertScore& b = Overall(result.sweep[*best].first);
    if (lead(s) > lead(b) || (lead(s) == lead(b) && s.recall > b.recall)) best = k;
  }
  if (!best) {
    best = 0;
    for (size_t k = 1; k < result.sweep.size(); ++k) {
      if (Overall(result.sweep[k].first).precision > Overall(result.sweep[*best].first).precision) {
        best = k;
      }
    }
  }
  result.chosen = *best;
  return result;
}

int RunBacktest(const Config& config, const BacktestOptions& options, std::ostream& out,
                std::ostream& err) {
  std::ifstream in(options.events_path, std::ios::binary);
  if (!in) {
    err << "ontimed backtest: cannot read " << options.events_path << "\n";
    return 1;
  }
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    lines.push_back(std::move(line));
  }
  auto result = Backtest(config, lines, options);
  if (!result.ok()) {
    err << "ontimed backtest: " << result.error().message << "\n";
    return kExitConfig;
  }
  const std::string md = Markdown(*result);
  out << md;
  if (options.out_dir.empty()) return 0;
  std::error_code ec;
  std::filesystem::create_directories(options.out_dir, ec);
  for (const auto& [name, text] :
       {std::pair{"backtest.md", md}, {"backtest.json", Json(*result)}}) {
    const std::string path = options.out_dir + "/" + name;
    std::ofstream file(path, std::ios::binary);
    file << text;
    if (!file.flush()) {
      err << "ontimed backtest: cannot write " << path << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace ontime::daemon
