#pragma once
// A transcript-style harness for the SLA engine (Dragonfly's Run({...}) in spirit):
//   Accept("D1", "Mon 09:00");  Send("D1", "resolved", "Wed 09:00");  ExpectAlerts({...});
// Times are local (+07:00) in the week of Monday 2026-03-02 unless a full date is given.

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "ontime/rules/engine.h"

namespace ontime::testing {

// "Mon 09:00", "Tue 14:30:00.001", "2026-03-09 07:30" -> an instant at +07:00.
Instant LocalTime(const std::string& text);
std::string Local(Instant t);  // back to "Mon 09:00" form ("2026-03-09 07:30" outside the week)

// Mon-Fri 07:30-11:30, 13:00-17:00 at +07:00; 2026-03-06 (Fri) is a holiday and Sat 2026-03-07 a
// make-up morning 07:30-11:30. Departments SXD and UBND. Procedures:
//   P2D   sla 2d, at risk 4h, steps SXD 1d / UBND 4h
//   P4H   sla 4h, at risk 20%
//   PRST  sla 2d, on_supplement restart
//   PFEE  sla 2d, pause_on_fee
rules::RulesConfig TestRules();

struct Emitted {
  std::string id;
  std::string detected;  // detected_at (alerts) or issued_at (letters), Local() form
  std::string due;       // due_at (alerts) or new_due_at (letters)
  std::string department;
  int cycle = 0;
  bool operator==(const Emitted&) const = default;
};
void PrintTo(const Emitted& e, std::ostream* os);

class Recorder : public rules::EngineListener {
 public:
  void OnAlert(const rules::Alert& a) override;
  void OnApologyLetter(const rules::ApologyLetter& l) override;
  void OnClosed(uint32_t, rules::Outcome outcome, double wall, double working) override;
  std::vector<Emitted> emitted;
  std::vector<rules::ApologyLetter> letters;  // views valid only during the call; ids kept below
  std::vector<std::string> letter_signers;
  std::vector<Instant> letter_original_due;
  std::vector<std::string> alert_notify;
  std::vector<std::pair<rules::Outcome, double>> closed;
};

class EngineHarness : public ::testing::Test {
 protected:
  EngineHarness();
  explicit EngineHarness(rules::RulesConfig config);

  rules::ApplyStatus Accept(const std::string& dossier, const std::string& at,
                            const std::string& procedure = "P2D");
  rules::ApplyStatus Send(const std::string& dossier, const std::string& type,
                          const std::string& at, std::map<std::string, std::string> fields = {});
  void AdvanceTo(const std::string& at);
  rules::DossierView View(const std::string& dossier, const std::string& now);
  std::vector<Emitted> TakeEmitted();

  std::shared_ptr<const rules::CompiledRules> rules_;
  Recorder recorder_;
  std::unique_ptr<rules::Engine> engine_;
  int next_event_ = 0;
  std::deque<std::string> storage_;
};

}  // namespace ontime::testing
