// Transcripts of dossiers through the SLA engine (contract section 3). The calendar: Mon-Fri
// 07:30-11:30 and 13:00-17:00 at +07:00, Friday 2026-03-06 a holiday, Saturday 2026-03-07 a
// make-up morning. "P2D" has a budget of 2 working days (16h), due Wed 09:00 when accepted
// Mon 09:00, at risk 4h before (Tue 14:30), and a 1d step budget in SXD (Tue 09:00).

#include <sstream>

#include "fakes/engine_harness.h"

namespace ontime::testing {
namespace {

using rules::ApplyStatus;
using rules::Outcome;

class EngineScenario : public EngineHarness {};

TEST_F(EngineScenario, ResolvedExactlyAtDueIsOnTimeWithoutLetter) {
  Accept("D1", "Mon 09:00");
  Send("D1", "resolved", "Wed 09:00");
  EXPECT_EQ(TakeEmitted(), (std::vector<Emitted>{
                               {"D1:step_overdue:1", "Tue 09:00", "Tue 09:00", "SXD", 1},
                               {"D1:at_risk:1", "Tue 14:30", "Wed 09:00", "SXD", 1},
                           }));
  auto view = View("D1", "Wed 10:00");
  EXPECT_EQ(view.outcome, Outcome::kOnTime);
  EXPECT_EQ(view.state, rules::DossierState::kResolved);
  EXPECT_EQ(view.working_time, std::chrono::hours(16));
}

TEST_F(EngineScenario, OneMillisecondLateBreachesAndStartsTheNextCycle) {
  Accept("D2", "Mon 09:00");
  Send("D2", "resolved", "Wed 09:00:00.001");
  EXPECT_EQ(TakeEmitted(), (std::vector<Emitted>{
                               {"D2:step_overdue:1", "Tue 09:00", "Tue 09:00", "SXD", 1},
                               {"D2:at_risk:1", "Tue 14:30", "Wed 09:00", "SXD", 1},
                               {"D2:overdue:1", "Wed 09:00", "Wed 09:00", "SXD", 1},
                               // 40h of working time from Wed 09:00, over the Friday holiday and
                               // the make-up Saturday morning.
                               {"D2:apology:1", "Wed 09:00", "2026-03-11 14:30", "SXD", 1},
                           }));
  EXPECT_EQ(recorder_.letter_signers, std::vector<std::string>{"Nguyen Van A"});
  auto view = View("D2", "Thu 09:00");
  EXPECT_EQ(view.outcome, Outcome::kLate);
  EXPECT_EQ(view.cycle, 2);
  EXPECT_EQ(Local(view.original_due_at), "Wed 09:00");
  EXPECT_EQ(Local(view.due_at), "2026-03-11 14:30");
  EXPECT_EQ(view.apology_letters, 1);
}

TEST_F(EngineScenario, SupplementPausesTheClockAndResumeMovesTheDue) {
  Accept("D3", "Mon 09:00", "PFEE");
  Send("D3", "supplement_requested", "Tue 09:00");  // 8h of the budget left
  auto paused = View("D3", "Thu 10:00");
  EXPECT_TRUE(paused.paused);
  EXPECT_FALSE(paused.overdue) << "a dossier paused before its due is not overdue";
  EXPECT_FALSE(paused.at_risk);
  EXPECT_EQ(Local(paused.due_at), "Wed 09:00") << "as it stood when the pause began";
  Send("D3", "supplement_received", "Thu 13:00");
  auto running = View("D3", "Thu 14:00");
  // Thu 13:00-17:00 (4h), Friday holiday, Saturday make-up 07:30-11:30 (4h): ends at 11:30.
  EXPECT_EQ(Local(running.due_at), "Sat 11:30");
  EXPECT_EQ(running.supplements, 1);
  Send("D3", "resolved", "Sat 11:30");
  EXPECT_EQ(TakeEmitted(), (std::vector<Emitted>{
                               {"D3:at_risk:1", "Sat 10:30", "Sat 11:30", "SXD", 1},
                           }));
  auto closed = View("D3", "Sat 12:00");
  EXPECT_EQ(closed.outcome, Outcome::kOnTime);
  EXPECT_EQ(closed.working_time, std::chrono::hours(16));
}

TEST_F(EngineScenario, RestartModeGivesTheWholeBudgetAgainAfterSupplement) {
  Accept("D4", "Mon 09:00", "PRST");
  Send("D4", "supplement_requested", "Tue 09:00");
  Send("D4", "supplement_received", "Thu 13:00");
  // 16h from Thu 13:00: Thu 4h, Sat 4h, Mon 8h, ending at the interval end 17:00.
  EXPECT_EQ(Local(View("D4", "Thu 14:00").due_at), "2026-03-09 17:00");
  EXPECT_EQ(Local(View("D4", "Thu 14:00").original_due_at), "2026-03-09 17:00");
}

TEST_F(EngineScenario, StepBudgetsAlertTheHeadOfTheHoldingDepartment) {
  Accept("D5", "Mon 09:00");
  Send("D5", "transferred", "Mon 16:00", {{"department", "UBND"}});  // step 2, 4h: Tue 10:30
  Send("D5", "transferred", "Tue 11:00", {{"department", "SXD"}});   // step 3, 8h: Wed 11:00
  Send("D5", "resolved", "Wed 08:59");
  EXPECT_EQ(TakeEmitted(), (std::vector<Emitted>{
                               {"D5:step_overdue:2", "Tue 10:30", "Tue 10:30", "UBND", 1},
                               {"D5:at_risk:1", "Tue 14:30", "Wed 09:00", "SXD", 1},
                           }));
  EXPECT_EQ(recorder_.alert_notify,
            (std::vector<std::string>{"head.ubnd@example.gov.vn", "head.sxd@example.gov.vn"}));
  EXPECT_EQ(View("D5", "Wed 09:00").outcome, Outcome::kOnTime);
}

TEST_F(EngineScenario, PercentageThresholdIsOfTheCycleBudget) {
  Accept("D6", "Mon 10:00", "P4H");  // due Mon 15:30; 20% of 4h = 48 min
  AdvanceTo("Mon 15:00");
  EXPECT_EQ(TakeEmitted(), (std::vector<Emitted>{
                               {"D6:at_risk:1", "Mon 14:42", "Mon 15:30", "UBND", 1},
                           }));
  EXPECT_TRUE(View("D6", "Mon 15:00").at_risk);
  EXPECT_FALSE(View("D6", "Mon 15:00").overdue);
}

TEST_F(EngineScenario, DuplicatesOrphansAndUnknownCodes) {
  EXPECT_EQ(Send("D7", "resolved", "Mon 08:00"), ApplyStatus::kOrphan);
  EXPECT_EQ(Send("D7", "accepted", "Mon 09:00", {{"procedure", "P2D"}, {"event_id", "x1"}}),
            ApplyStatus::kApplied);
  EXPECT_EQ(Send("D7", "accepted", "Mon 09:00", {{"procedure", "P2D"}, {"event_id", "x1"}}),
            ApplyStatus::kDuplicate);
  EXPECT_EQ(Send("D7", "accepted", "Mon 09:05", {{"procedure", "P2D"}}),
            ApplyStatus::kAlreadyAccepted);
  EXPECT_EQ(Send("D7b", "accepted", "Mon 09:00", {{"procedure", "9.999999"}}),
            ApplyStatus::kUnknownProcedure);
  EXPECT_EQ(Send("D7", "transferred", "Mon 10:00", {{"department", "NOPE"}}),
            ApplyStatus::kUnknownDepartment);
  EXPECT_EQ(Send("D7", "resolved", "Mon 11:00", {{"event_id", "x2"}}), ApplyStatus::kApplied);
  EXPECT_EQ(Send("D7", "resolved", "Mon 11:00", {{"event_id", "x2"}}), ApplyStatus::kDuplicate);
  EXPECT_EQ(Send("D7", "resolved", "Mon 11:30"), ApplyStatus::kAfterClose);
  EXPECT_EQ(engine_->dossiers_tracked(), 1u);
}

TEST_F(EngineScenario, AnExtensionBeforeTheBreachStartsACycleWithoutLetterButStaysLate) {
  Accept("D8", "Mon 09:00");
  Send("D8", "extended", "Tue 16:00", {{"due_at", "2026-03-10 17:00"}});
  auto view = View("D8", "Thu 09:00");
  EXPECT_EQ(view.cycle, 2);
  EXPECT_TRUE(view.overdue) << "overdue is against the first cycle's due";
  EXPECT_EQ(Local(view.due_at), "2026-03-10 17:00");
  Send("D8", "resolved", "Thu 10:00");
  EXPECT_EQ(TakeEmitted(), (std::vector<Emitted>{
                               {"D8:step_overdue:1", "Tue 09:00", "Tue 09:00", "SXD", 1},
                               {"D8:at_risk:1", "Tue 14:30", "Wed 09:00", "SXD", 1},
                           }));
  EXPECT_EQ(View("D8", "Thu 11:00").outcome, Outcome::kLate)
      << "an extension never turns a late dossier on time";
}

TEST_F(EngineScenario, APauseAfterTheBreachLeavesItStandingAndPausesTheNextCycle) {
  Accept("D9", "Mon 09:00", "PFEE");
  AdvanceTo("Wed 10:00");
  EXPECT_EQ(TakeEmitted(), (std::vector<Emitted>{
                               {"D9:at_risk:1", "Wed 08:00", "Wed 09:00", "SXD", 1},
                               {"D9:overdue:1", "Wed 09:00", "Wed 09:00", "SXD", 1},
                               {"D9:apology:1", "Wed 09:00", "2026-03-11 14:30", "SXD", 1},
                           }));
  Send("D9", "supplement_requested", "Wed 10:00");
  auto paused = View("D9", "Wed 11:00");
  EXPECT_TRUE(paused.overdue);
  EXPECT_TRUE(paused.paused);
  Send("D9", "supplement_received", "Thu 10:00");  // 8 working hours later
  EXPECT_EQ(Local(View("D9", "Thu 11:00").due_at), "2026-03-12 14:30");
}

TEST_F(EngineScenario, ClosedWhilePausedIsJudgedWhenThePauseBegan) {
  Accept("D11", "Mon 09:00", "PFEE");
  Send("D11", "supplement_requested", "Tue 09:00");
  Send("D11", "resolved", "Thu 10:00");
  auto view = View("D11", "Thu 11:00");
  EXPECT_EQ(view.outcome, Outcome::kOnTime);
  EXPECT_EQ(view.working_time, std::chrono::hours(8));
  EXPECT_TRUE(TakeEmitted().empty());
}

TEST_F(EngineScenario, FeesPauseOnlyWhereTheProcedureSaysSo) {
  Accept("D12", "Mon 09:00", "P2D");
  Accept("D13", "Mon 09:00", "PFEE");
  Send("D12", "fee_requested", "Mon 10:00");
  Send("D13", "fee_requested", "Mon 10:00");
  EXPECT_FALSE(View("D12", "Mon 11:00").paused);
  EXPECT_TRUE(View("D13", "Mon 11:00").paused);
  Send("D13", "fee_paid", "Tue 10:00", {{"method", "online"}});  // 8 working hours later
  EXPECT_FALSE(View("D13", "Tue 11:00").paused);
  EXPECT_EQ(Local(View("D13", "Tue 11:00").due_at), "Thu 09:00");
}

TEST_F(EngineScenario, WithdrawnAndRefusedAreExcludedFromOnTimeFigures) {
  Accept("D14", "Mon 09:00");
  Accept("D15", "Mon 09:00");
  Accept("D16", "Mon 09:00");
  Send("D14", "withdrawn", "Mon 10:00");
  Send("D15", "refused", "Mon 10:00");
  Send("D16", "returned", "Mon 11:00");
  auto summary = engine_->Summarize(LocalTime("Mon 12:00"));
  EXPECT_EQ(summary.accepted, 3);
  EXPECT_EQ(summary.closed_on_time, 1);
  EXPECT_EQ(summary.closed_late, 0);
  EXPECT_EQ(summary.open, 0);
  EXPECT_DOUBLE_EQ(summary.on_time_rate, 1.0);
  EXPECT_EQ(View("D14", "Mon 12:00").state, rules::DossierState::kWithdrawn);
  EXPECT_EQ(View("D15", "Mon 12:00").state, rules::DossierState::kRefused);
  EXPECT_EQ(View("D16", "Mon 12:00").state, rules::DossierState::kResolved);
  EXPECT_FALSE(View("D14", "Mon 12:00").outcome.has_value());
}

TEST_F(EngineScenario, DueAtOnTheReceiptSlipOverridesTheRule) {
  Send("D17", "accepted", "Mon 09:00", {{"procedure", "P2D"}, {"due_at", "Thu 17:00"}});
  auto view = View("D17", "Mon 10:00");
  EXPECT_EQ(Local(view.due_at), "Thu 17:00");
  EXPECT_EQ(Local(view.original_due_at), "Thu 17:00");
}

TEST_F(EngineScenario, TimersFireInInstantOrderAcrossDossiers) {
  Accept("A", "Mon 10:00", "P4H");  // at risk Mon 14:42, due Mon 15:30
  Accept("B", "Mon 09:00", "P4H");  // at risk Mon 13:42, due Mon 14:30
  AdvanceTo("Mon 15:31");
  std::vector<std::string> ids;
  for (const auto& e : TakeEmitted()) ids.push_back(e.id + "@" + e.detected);
  EXPECT_EQ(ids, (std::vector<std::string>{"B:at_risk:1@Mon 13:42", "B:overdue:1@Mon 14:30",
                                           "B:apology:1@Mon 14:30", "A:at_risk:1@Mon 14:42",
                                           "A:overdue:1@Mon 15:30", "A:apology:1@Mon 15:30"}));
}

TEST_F(EngineScenario, SnapshotRestoresStateAndPendingTimers) {
  Accept("S1", "Mon 09:00");
  Accept("S2", "Mon 09:00", "PFEE");
  Send("S2", "supplement_requested", "Mon 10:00");
  std::stringstream snapshot;
  engine_->Save(snapshot);
  TakeEmitted();

  Recorder restored_recorder;
  rules::Engine restored(rules_, &restored_recorder);
  ASSERT_TRUE(restored.Load(snapshot).ok());
  EXPECT_EQ(restored.dossiers_tracked(), 2u);
  EXPECT_EQ(restored.timers_pending(), engine_->timers_pending());
  EXPECT_TRUE(restored.Find("S2", LocalTime("Mon 11:00"))->paused);
  rules::Event duplicate;
  duplicate.event_id = "e1";  // the id Accept("S1") used
  duplicate.dossier_id = "S1";
  duplicate.type = rules::EventType::kResolved;
  duplicate.occurred_at = LocalTime("Mon 09:30");
  EXPECT_EQ(restored.Apply(duplicate), ApplyStatus::kDuplicate);
  restored.AdvanceTo(LocalTime("Wed 09:01"));
  AdvanceTo("Wed 09:01");
  EXPECT_EQ(restored_recorder.emitted, TakeEmitted());
  EXPECT_FALSE(restored_recorder.emitted.empty());
}

TEST_F(EngineScenario, ReconfigureRecomputesOpenDeadlines) {
  Accept("R1", "Mon 09:00");
  auto config = TestRules();
  config.procedures[0].sla = std::chrono::hours(24);
  auto rules = rules::CompiledRules::Compile(config);
  ASSERT_TRUE(rules.ok());
  auto recomputed = engine_->Reconfigure(*rules);
  ASSERT_TRUE(recomputed.ok());
  EXPECT_EQ(*recomputed, 1u);
  EXPECT_EQ(Local(View("R1", "Mon 10:00").due_at), "Thu 09:00");
}

TEST_F(EngineScenario, ReconfigureRefusesToDropAProcedureInUse) {
  Accept("R2", "Mon 09:00", "PFEE");
  auto config = TestRules();
  config.procedures.pop_back();
  auto rules = rules::CompiledRules::Compile(config);
  ASSERT_TRUE(rules.ok());
  auto result = engine_->Reconfigure(*rules);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("PFEE"), std::string::npos);
}

}  // namespace
}  // namespace ontime::testing

namespace ontime::testing {
namespace {

TEST_F(EngineHarness, WithDossierTimersOnlyTheEventsOwnDossierCatchesUpFirst) {
  Accept("A", "Mon 10:00", "P4H");  // at risk Mon 14:42, due Mon 15:30
  Accept("B", "Mon 09:00", "P4H");  // at risk Mon 13:42, due Mon 14:30
  rules::Event late;
  late.event_id = "b-late";
  late.dossier_id = "B";
  late.type = rules::EventType::kResolved;
  late.occurred_at = LocalTime("Mon 16:00");
  EXPECT_EQ(engine_->Apply(late, rules::Engine::TimersBefore::kDossier),
            rules::ApplyStatus::kApplied);
  std::vector<std::string> ids;
  for (const auto& e : TakeEmitted()) ids.push_back(e.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"B:at_risk:1", "B:overdue:1", "B:apology:1"}))
      << "A's timers wait for the watermark";
  engine_->AdvanceTo(LocalTime("Mon 16:00"));
  ids.clear();
  for (const auto& e : TakeEmitted()) ids.push_back(e.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"A:at_risk:1", "A:overdue:1", "A:apology:1"}));
}

}  // namespace
}  // namespace ontime::testing
