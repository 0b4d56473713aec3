#pragma once
// What the built-in board shows, kept so that a request never scans every dossier (a province
// has a million open): AttentionIndex holds the dossiers that raised an at-risk, overdue or
// escalated alert and have not closed or been extended since (a few per cent of the open ones),
// and a request looks only those up and sorts them by due; BoardFigures counts closes (on time,
// late, handling working time) and reception times by department as the engine reports them.
// Open / at risk / overdue / paused counts are the engine's own gauges (Engine::open_counts), and
// so is "predicted late" (Engine::predicted_late_counts) when the rules have `predict:`.
// After a restart both are seeded from the restored state by one walk (Seed). Single-threaded:
// the engine's thread.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "ontime/base/time.h"
#include "ontime/rules/engine.h"

namespace ontime::daemon {

class AttentionIndex final : public rules::EngineListener {
 public:
  void OnAlert(const rules::Alert& alert) override;
  void OnAlertsEnded(std::string_view dossier_id, Instant at) override;
  // One restored dossier: indexed when it is at risk or overdue now.
  void Seed(const rules::DossierView& dossier);

  // The open dossiers at risk or overdue at `now`, by due (then id), at most `limit`; `total`
  // gets how many there are. Views into the engine: use them before it changes.
  std::vector<rules::DossierView> Rows(const rules::Engine& engine, Instant now, size_t limit,
                                       size_t* total) const;
  size_t candidates() const { return ids_.size(); }

 private:
  struct Hash {
    using is_transparent = void;  // NOLINT(readability-identifier-naming): the standard name
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_set<std::string, Hash, std::equal_to<>> ids_;
};

class BoardFigures final : public rules::EngineListener {
 public:
  struct Department {
    int64_t closed_on_time = 0;
    int64_t closed_late = 0;
    double handling_working_seconds = 0;  // sum over judged closes
    int64_t receptions = 0;               // acceptances that carried reception_seconds
    double reception_seconds = 0;
  };

  explicit BoardFigures(size_t departments) : departments_(departments) {}

  void OnAccepted(uint32_t department, rules::Channel channel,
                  std::optional<double> reception_seconds) override;
  void OnClosed(uint32_t department, rules::Outcome outcome, double wall_seconds,
                double working_seconds) override;
  // One restored dossier: its judged close, if any, counted (reception times are not in the
  // engine's state: they count from the daemon's start).
  void Seed(const rules::DossierView& dossier, const rules::CompiledRules& rules);
  // Reload may add departments (by index; codes keep their index while they stay).
  void Resize(size_t departments);

  const std::vector<Department>& departments() const { return departments_; }

 private:
  std::vector<Department> departments_;
};

// What the board shows at one instant: GET /api/v1/board's JSON and the page's first render.
struct BoardSnapshot {
  struct Figures {
    int64_t closed_on_time = 0;
    int64_t closed_late = 0;
    std::optional<double> on_time_rate;  // none when nothing closed
    std::optional<double> avg_handling_working_minutes;
    std::optional<double> avg_reception_minutes;
    std::array<int64_t, rules::kOpenStateCount> open{};  // by rules::OpenState
    // Open dossiers with this cycle's predicted_late alert out; none when prediction is off (no
    // `predict:`), so that the board shows no zero it never measured.
    std::optional<int64_t> predicted_late;
    int64_t open_total() const { return open[0] + open[1] + open[2] + open[3]; }
    int64_t count(rules::OpenState state) const { return open[static_cast<int>(state)]; }
  };
  struct Department {
    std::string code;
    std::string name;
    double on_time_target = 0;
    Figures figures;
  };
  struct Row {
    std::string dossier_id;
    std::string procedure;
    std::string department;
    bool overdue = false;  // else at risk
    bool paused = false;
    int cycle = 1;
    Instant due_at{};
    Instant original_due_at{};
    Duration remaining{};  // working time to the current due
  };
  Instant now{};
  size_t limit = 0;
  bool working_now = false;  // whether a countdown of working time runs at `now`
  bool prediction = false;   // the rules have `predict:` (the figures carry predicted_late)
  Figures province;
  std::vector<Department> departments;
  size_t total = 0;  // at risk or overdue, of which `rows` are the first `limit` by due
  std::vector<Row> rows;
};

BoardSnapshot TakeBoardSnapshot(const rules::Engine& engine, const AttentionIndex& index,
                                const BoardFigures& figures, Instant now, size_t limit);
// GET /api/v1/board.
std::string BoardJson(const BoardSnapshot& board, const rules::BusinessCalendar& calendar);

}  // namespace ontime::daemon
