// The contract's corners (section 3, as clarified): a pause at the very due instant, an upstream
// extension ending cycle 1, an extension while paused; their combinations with restart mode and
// steps; and event times no calendar can honour. The calendar and procedures are the harness's
// (fakes/engine_harness.h): Mon-Fri 07:30-11:30 and 13:00-17:00 at +07:00, Friday 2026-03-06 a
// holiday, Saturday 2026-03-07 a make-up morning. PFEE and PRST: 16h budgets, at risk 1h before;
// accepted Mon 09:00 they are due Wed 09:00.

#include "fakes/engine_harness.h"

namespace ontime::testing {
namespace {

using rules::ApplyStatus;
using rules::Outcome;

class EngineEdges : public EngineHarness {};

// --- a pause at the very due instant is in time -----------------------------------------------

TEST_F(EngineEdges, APauseAtTheVeryDueIsInTimeAndTheDueMovesToTheResume) {
  Accept("D1", "Mon 09:00", "PFEE");
  Send("D1", "supplement_requested", "Wed 09:00");
  AdvanceTo("Thu 12:00");
  EXPECT_EQ(TakeEmitted(), (std::vector<Emitted>{
                               {"D1:at_risk:1", "Wed 08:00", "Wed 09:00", "SXD", 1},
                           }))
      << "no breach while paused: R = 0";
  auto paused = View("D1", "Thu 12:00");
  EXPECT_TRUE(paused.paused);
  EXPECT_FALSE(paused.overdue);
  EXPECT_EQ(paused.cycle, 1);
  EXPECT_EQ(Local(paused.due_at), "Wed 09:00");

  Send("D1", "supplement_received", "Thu 13:00");  // due = add(r, 0) = r
  auto resumed = View("D1", "Thu 13:00");
  EXPECT_EQ(Local(resumed.due_at), "Thu 13:00");
  EXPECT_EQ(Local(resumed.original_due_at), "Thu 13:00") << "cycle 1 still current";
  EXPECT_FALSE(resumed.overdue);
  AdvanceTo("Thu 13:00:00.001");
  EXPECT_EQ(TakeEmitted(), (std::vector<Emitted>{
                               {"D1:overdue:1", "Thu 13:00", "Thu 13:00", "SXD", 1},
                               // 40h from Thu 13:00: Thu 4h, Sat 4h, Mon..Wed 24h, Thu 8h.
                               {"D1:apology:1", "Thu 13:00", "2026-03-12 17:00", "SXD", 1},
                           }));
}

TEST_F(EngineEdges, ClosedAfterAPauseAtTheDueIsOnTime) {
  Accept("D2", "Mon 09:00", "PFEE");
  Accept("D3", "Mon 09:00", "PFEE");
  Send("D2", "supplement_requested", "Wed 09:00");
  Send("D3", "supplement_requested", "Wed 09:00");
  Send("D2", "resolved", "Thu 10:00");  // while paused: judged when the pause began
  Send("D3", "supplement_received", "Thu 13:00");
  Send("D3", "resolved", "Thu 13:00");  // at the moved due
  AdvanceTo("2026-03-20 09:00");
  EXPECT_EQ(View("D2", "Thu 11:00").outcome, Outcome::kOnTime);
  EXPECT_EQ(View("D3", "Thu 14:00").outcome, Outcome::kOnTime);
  EXPECT_EQ(TakeEmitted(), (std::vector<Emitted>{
                               {"D2:at_risk:1", "Wed 08:00", "Wed 09:00", "SXD", 1},
                               {"D3:at_risk:1", "Wed 08:00", "Wed 09:00", "SXD", 1},
                           }));
}

TEST_F(EngineEdges, APauseAtTheDueInRestartModeRestartsTheWholeBudget) {
  Accept("D4", "Mon 09:00", "PRST");
  Send("D4", "supplement_requested", "Wed 09:00");
  Send("D4", "supplement_received", "Thu 13:00");
  // 16h from Thu 13:00: Thu 4h, Sat 4h, Mon 8h.
  auto view = View("D4", "Thu 14:00");
  EXPECT_EQ(Local(view.due_at), "2026-03-09 17:00");
  EXPECT_EQ(Local(view.original_due_at), "2026-03-09 17:00");
  Send("D4", "resolved", "2026-03-09 17:00");
  EXPECT_EQ(View("D4", "2026-03-10 09:00").outcome, Outcome::kOnTime);
  EXPECT_EQ(TakeEmitted(), (std::vector<Emitted>{
                               {"D4:at_risk:1", "Wed 08:00", "Wed 09:00", "SXD", 1},
                           }));
}

TEST_F(EngineEdges, APauseAtTheStepDueKeepsTheStepInTime) {
  // P2D: step budget in SXD 8h, due Tue 09:00; the dossier's due Wed 09:00, at risk 4h before.
  Accept("D5", "Mon 09:00", "P2D");
  Send("D5", "supplement_requested", "Tue 09:00");
  AdvanceTo("Wed 12:00");
  EXPECT_TRUE(TakeEmitted().empty());
  Send("D5", "supplement_received", "Wed 13:00");
  // The step had 0 left: due at the resume. The dossier had 8h: Wed 13:00-17:00, Thu to 11:30,
  // at risk from Wed 17:00 (nothing but the night between then and Thu 07:30).
  EXPECT_EQ(Local(View("D5", "Wed 13:00").due_at), "Thu 11:30");
  AdvanceTo("Wed 18:00");
  EXPECT_EQ(TakeEmitted(), (std::vector<Emitted>{
                               {"D5:step_overdue:1", "Wed 13:00", "Wed 13:00", "SXD", 1},
                               {"D5:at_risk:1", "Wed 17:00", "Thu 11:30", "SXD", 1},
                           }));
}

// --- an upstream extension ends cycle 1 ---------------------------------------------------------

TEST_F(EngineEdges, ExtendedThenPausedIsOverdueOnceTheFirstDuePasses) {
  Accept("D6", "Mon 09:00", "PFEE");
  Send("D6", "extended", "Tue 10:00", {{"due_at", "2026-03-11 17:00"}});
  Send("D6", "supplement_requested", "Tue 11:00");
  EXPECT_FALSE(View("D6", "Wed 08:59").overdue);
  auto after_first_due = View("D6", "Wed 09:00:00.001");
  EXPECT_TRUE(after_first_due.paused);
  EXPECT_TRUE(after_first_due.overdue) << "paused or not, once the final first due has passed";
  EXPECT_EQ(after_first_due.cycle, 2);
  EXPECT_EQ(Local(after_first_due.original_due_at), "Wed 09:00");
  AdvanceTo("Wed 10:00");
  EXPECT_TRUE(TakeEmitted().empty()) << "no letter for a cycle extended before its breach";
  EXPECT_EQ(engine_->open_counts()[0][static_cast<int>(rules::OpenState::kOverdue)], 1);

  Send("D6", "supplement_received", "Thu 10:00");
  // R = between(Tue 11:00, 2026-03-11 17:00) = 48.5h, from Thu 10:00.
  auto resumed = View("D6", "Thu 11:00");
  EXPECT_EQ(Local(resumed.due_at), "2026-03-13 16:00");
  EXPECT_EQ(Local(resumed.original_due_at), "Wed 09:00") << "final: the pause does not move it";
  EXPECT_TRUE(resumed.overdue);

  AdvanceTo("2026-03-13 16:00:00.001");
  EXPECT_EQ(TakeEmitted(), (std::vector<Emitted>{
                               {"D6:at_risk:2", "2026-03-13 15:00", "2026-03-13 16:00", "SXD", 2},
                               {"D6:overdue:2", "2026-03-13 16:00", "2026-03-13 16:00", "SXD", 2},
                               {"D6:apology:2", "2026-03-13 16:00", "2026-03-20 16:00", "SXD", 2},
                           }));
  ASSERT_EQ(recorder_.letter_original_due.size(), 1u);
  EXPECT_EQ(Local(recorder_.letter_original_due[0]), "Wed 09:00");
}

TEST_F(EngineEdges, ExtendedThenPausedInRestartModeRestartsWithoutMovingTheFirstDue) {
  Accept("D7", "Mon 09:00", "PRST");
  Send("D7", "extended", "Tue 10:00", {{"due_at", "2026-03-11 17:00"}});
  Send("D7", "supplement_requested", "Tue 11:00");
  EXPECT_TRUE(View("D7", "Wed 10:00").overdue);
  Send("D7", "supplement_received", "Thu 10:00");
  // B = 16h from Thu 10:00: Thu 5.5h, Sat 4h, Mon 6.5h.
  auto resumed = View("D7", "Thu 11:00");
  EXPECT_EQ(Local(resumed.due_at), "2026-03-09 15:30");
  EXPECT_EQ(Local(resumed.original_due_at), "Wed 09:00");
  Send("D7", "resolved", "2026-03-09 15:00");
  EXPECT_EQ(View("D7", "2026-03-10 09:00").outcome, Outcome::kLate)
      << "an extension never turns a late dossier on time";
}

// --- an extension while paused ------------------------------------------------------------------

TEST_F(EngineEdges, AnExtensionWhilePausedCountsItsRemainingTimeFromItsOwnInstant) {
  Accept("D8", "Mon 09:00", "PFEE");
  Send("D8", "supplement_requested", "Tue 09:00");
  Send("D8", "extended", "Tue 14:00", {{"due_at", "2026-03-13 17:00"}});
  auto extended = View("D8", "Tue 15:00");
  EXPECT_EQ(extended.cycle, 2);
  EXPECT_TRUE(extended.paused);
  EXPECT_EQ(Local(extended.due_at), "2026-03-13 17:00") << "the new cycle's due is its due_at";
  EXPECT_EQ(Local(extended.original_due_at), "Wed 09:00") << "as it stood when the pause began";
  EXPECT_FALSE(extended.overdue);
  EXPECT_TRUE(View("D8", "Wed 10:00").overdue) << "cycle 1 ended: its due is final";

  Send("D8", "supplement_received", "Thu 10:00");
  // R = between(Tue 14:00, 2026-03-13 17:00) = 63h (not from the pause: that would be 66.5h).
  auto resumed = View("D8", "Thu 11:00");
  EXPECT_EQ(Local(resumed.due_at), "2026-03-17 14:30");
  EXPECT_EQ(Local(resumed.original_due_at), "Wed 09:00");
  AdvanceTo("2026-03-17 14:30");
  EXPECT_EQ(TakeEmitted(), (std::vector<Emitted>{
                               {"D8:at_risk:2", "2026-03-17 13:30", "2026-03-17 14:30", "SXD", 2},
                           }));
}

TEST_F(EngineEdges, AnExtensionWhilePausedOverridesRestartModeAtTheResume) {
  Accept("D9", "Mon 09:00", "PRST");
  Send("D9", "supplement_requested", "Tue 09:00");
  Send("D9", "extended", "Tue 14:00", {{"due_at", "2026-03-13 17:00"}});
  Send("D9", "supplement_received", "Thu 10:00");
  EXPECT_EQ(Local(View("D9", "Thu 11:00").due_at), "2026-03-17 14:30")
      << "the extension's R, not a restart of the whole budget";
}

TEST_F(EngineEdges, ClosedWhilePausedAfterAnExtensionIsJudgedWhenThePauseBegan) {
  Accept("D10", "Mon 09:00", "PFEE");
  Send("D10", "supplement_requested", "Tue 09:00");
  Send("D10", "extended", "Tue 14:00", {{"due_at", "2026-03-13 17:00"}});
  Send("D10", "resolved", "Thu 10:00");
  EXPECT_EQ(View("D10", "Thu 11:00").outcome, Outcome::kOnTime)
      << "the pause began Tue 09:00, before the first due";
}

TEST_F(EngineEdges, AnExtensionWhilePausedLeavesTheStepBudgetAlone) {
  Accept("D11", "Mon 09:00", "P2D");
  Send("D11", "supplement_requested", "Mon 10:00");  // step 7h left, dossier 15h left
  Send("D11", "extended", "Mon 14:00", {{"due_at", "Thu 17:00"}});
  Send("D11", "supplement_received", "Tue 13:00");
  // Step: 7h from Tue 13:00. Dossier: between(Mon 14:00, Thu 17:00) = 27h from Tue 13:00.
  EXPECT_EQ(Local(View("D11", "Tue 14:00").due_at), "2026-03-09 10:30");
  AdvanceTo("Wed 11:00");
  EXPECT_EQ(TakeEmitted(), (std::vector<Emitted>{
                               {"D11:step_overdue:1", "Wed 10:30", "Wed 10:30", "SXD", 2},
                           }));
  EXPECT_TRUE(View("D11", "Wed 11:00").overdue) << "the first due, final at Wed 09:00, passed";
}

// --- event times no calendar can honour ----------------------------------------------------------

TEST_F(EngineEdges, EventTimesOutsideTheRangeAreInvalidAndMoveNoClock) {
  // +07:00 local: 2200-01-01 07:00 is 2200-01-01T00:00Z, the last instant allowed.
  EXPECT_EQ(Accept("D12", "2200-01-01 07:00:00.001"), ApplyStatus::kTimeOutOfRange);
  EXPECT_EQ(Accept("D13", "1970-01-01 06:59:59.999"), ApplyStatus::kTimeOutOfRange);
  EXPECT_EQ(Send("D14", "accepted", "Mon 09:00",
                 {{"procedure", "PFEE"}, {"due_at", "2200-01-01 07:00:00.001"}}),
            ApplyStatus::kTimeOutOfRange);
  EXPECT_FALSE(engine_->clock().has_value()) << "not one of them moved the clock";
  EXPECT_EQ(engine_->dossiers_tracked(), 0u);

  Accept("D15", "Mon 09:00", "PFEE");
  EXPECT_EQ(Send("D15", "extended", "Tue 09:00", {{"due_at", "2201-01-01 09:00"}}),
            ApplyStatus::kTimeOutOfRange);
  EXPECT_EQ(View("D15", "Tue 10:00").cycle, 1);
  EXPECT_EQ(Accept("D16", "2200-01-01 07:00", "PFEE"), ApplyStatus::kApplied);
}

TEST_F(EngineEdges, ADeadlinePastTheCalendarRejectsTheEventAndChangesNothing) {
  // A receipt slip's due in 2200 makes B two centuries of working time; restarting it in 2100
  // would need a calendar to 2330.
  Send("D17", "accepted", "1970-01-02 09:00",
       {{"procedure", "PRST"}, {"due_at", "2200-01-01 07:00"}});
  Send("D17", "supplement_requested", "2100-01-04 09:00");
  EXPECT_EQ(Send("D17", "supplement_received", "2100-01-05 09:00"), ApplyStatus::kTimeOutOfRange);
  auto view = View("D17", "2100-01-05 10:00");
  EXPECT_TRUE(view.paused) << "the refused resume changed nothing";
  EXPECT_EQ(Local(view.due_at), "2200-01-01 07:00");
}

TEST_F(EngineEdges, TheClockStopsAtTheLastInstantSoBreachesCannotRunAway) {
  Accept("D18", "2199-12-01 09:00", "PFEE");
  AdvanceTo("2300-01-01 00:00");
  EXPECT_EQ(engine_->clock(), rules::kLatestEventTime);
  auto emitted = TakeEmitted();
  // Cycles of 40h (a week) from a due of 3 Dec 2199 to 1 Jan 2200: a handful, not thousands.
  EXPECT_GE(emitted.size(), 3u);
  EXPECT_LE(emitted.size(), 20u);
  EXPECT_LE(View("D18", "2200-01-01 07:00").cycle, 6);
}

// --- no letter floods
// -----------------------------------------------------------------------------

class EscalationEdges : public EngineHarness {
 protected:
  static rules::RulesConfig Rules() {
    rules::RulesConfig config = TestRules();
    config.defaults.max_apology_letters = 1;
    config.escalation = rules::Person{"Le Van C", "Chief Inspector", "inspect@example.gov.vn"};
    return config;
  }
  EscalationEdges() : EngineHarness(Rules()) {}
};

TEST_F(EscalationEdges, AfterTheLastLetterAllowedEachBreachEscalatesInstead) {
  Accept("D19", "Mon 09:00", "PFEE");
  AdvanceTo("2026-03-20 12:00");
  EXPECT_EQ(TakeEmitted(),
            (std::vector<Emitted>{
                {"D19:at_risk:1", "Wed 08:00", "Wed 09:00", "SXD", 1},
                {"D19:overdue:1", "Wed 09:00", "Wed 09:00", "SXD", 1},
                {"D19:apology:1", "Wed 09:00", "2026-03-11 14:30", "SXD", 1},
                {"D19:at_risk:2", "2026-03-11 13:30", "2026-03-11 14:30", "SXD", 2},
                {"D19:overdue:2", "2026-03-11 14:30", "2026-03-11 14:30", "SXD", 2},
                {"D19:escalated:2", "2026-03-11 14:30", "2026-03-11 14:30", "SXD", 2},
                {"D19:at_risk:3", "2026-03-18 13:30", "2026-03-18 14:30", "SXD", 3},
                {"D19:overdue:3", "2026-03-18 14:30", "2026-03-18 14:30", "SXD", 3},
                {"D19:escalated:3", "2026-03-18 14:30", "2026-03-18 14:30", "SXD", 3},
            }));
  EXPECT_EQ(recorder_.alert_notify,
            (std::vector<std::string>{"head.sxd@example.gov.vn", "head.sxd@example.gov.vn",
                                      "head.sxd@example.gov.vn", "head.sxd@example.gov.vn",
                                      "inspect@example.gov.vn", "head.sxd@example.gov.vn",
                                      "head.sxd@example.gov.vn", "inspect@example.gov.vn"}));
  auto view = View("D19", "2026-03-20 12:00");
  EXPECT_EQ(view.apology_letters, 1);
  EXPECT_EQ(view.cycle, 4);
}

// --- advancing the clock on a budget (the live daemon's loop turns)
// ------------------------------------------------------------------

// Spending a budget of timers per call, the engine emits exactly what one AdvanceTo emits, in the
// same order; the clock moves only once nothing earlier is left.
TEST_F(EngineEdges, AdvancingOnABudgetEmitsWhatOneAdvanceEmits) {
  auto accept_all = [this] {
    for (int n = 0; n < 7; ++n) Accept("B" + std::to_string(n), "Mon 09:00", "P4H");
    Accept("C", "Mon 09:30", "P4H");
  };
  accept_all();
  AdvanceTo("Tue 09:00");
  const std::vector<Emitted> at_once = TakeEmitted();
  ASSERT_EQ(at_once.size(), 8u * 3) << "at risk, overdue and a letter each";

  engine_ = std::make_unique<rules::Engine>(rules_, &recorder_);
  accept_all();
  int calls = 0;
  bool done = false;
  while (!done) {
    size_t budget = 3;
    done = engine_->AdvanceTo(LocalTime("Tue 09:00"), budget);
    ++calls;
    if (!done) {
      EXPECT_EQ(budget, 0u) << "spent before it stops";
      EXPECT_LT(*engine_->clock(), LocalTime("Tue 09:00")) << "the clock stays";
    }
  }
  EXPECT_EQ(TakeEmitted(), at_once);
  EXPECT_EQ(*engine_->clock(), LocalTime("Tue 09:00"));
  EXPECT_GE(calls, 16 / 3) << "16 timers (at risk, due) on a budget of 3";
  size_t none = 0;
  EXPECT_TRUE(engine_->AdvanceTo(LocalTime("Tue 09:00"), none)) << "nothing left: done at once";
}

// --- reloading on a budget (the live daemon's loop turns)
// ------------------------------------------------------

// A reload whose dossiers are recomputed a few at a time, with events and timers reaching
// dossiers not yet recomputed in between, emits what one Reconfigure emits (each alert and letter
// with the same instants; one the reload moved earlier may come later in the sequence, when its
// dossier is reached), and leaves every dossier with the same deadlines.
TEST_F(EngineEdges, ReconfiguringOnABudgetEmitsWhatOneReconfigureEmits) {
  auto shorter = TestRules();
  shorter.procedures[0].sla = std::chrono::hours(8);  // P2D: 2 working days -> 1
  auto reloaded = rules::CompiledRules::Compile(shorter);
  ASSERT_TRUE(reloaded.ok());
  constexpr int kDossiers = 40;
  auto id = [](int n) { return "K" + std::to_string(n); };
  auto before_reload = [&] {
    for (int n = 0; n < kDossiers; ++n) {
      Accept(id(n), "Mon 09:" + std::string(n < 10 ? "0" : "") + std::to_string(n), "P2D");
    }
    for (int n = 0; n < kDossiers; n += 4) Send(id(n), "supplement_requested", "Mon 10:00");
    for (int n = 0; n < kDossiers; n += 8) Send(id(n), "supplement_received", "Mon 10:30");
  };
  // After the reload: every few dossiers an event, between them whatever timers fall due.
  std::vector<std::pair<int, std::string>> after = {{1, "transferred"},
                                                    {2, "supplement_requested"},
                                                    {3, "resolved"},
                                                    {5, "transferred"},
                                                    {4, "supplement_received"},
                                                    {9, "resolved"},
                                                    {30, "supplement_requested"},
                                                    {31, "resolved"},
                                                    {12, "supplement_received"},
                                                    {39, "transferred"}};
  const std::vector<std::string> when = {"Mon 13:00", "Mon 13:30", "Mon 14:00", "Mon 15:00",
                                         "Mon 16:00", "Tue 08:00", "Tue 09:00", "Tue 10:00",
                                         "Tue 14:00", "Wed 09:00"};
  auto send = [&](size_t k) {
    std::map<std::string, std::string> fields;
    if (after[k].second == "transferred") fields["department"] = "UBND";
    Send(id(after[k].first), after[k].second, when[k], fields);
  };
  auto deadlines = [&] {
    std::vector<std::string> out;
    for (int n = 0; n < kDossiers; ++n) {
      auto v = engine_->Find(id(n), LocalTime("Thu 17:00"));
      out.push_back(v ? Local(v->due_at) : "gone");
    }
    return out;
  };

  before_reload();
  AdvanceTo("Mon 11:00");
  auto at_once = engine_->Reconfigure(*reloaded);
  ASSERT_TRUE(at_once.ok());
  for (size_t k = 0; k < after.size(); ++k) send(k);
  AdvanceTo("Thu 17:00");
  const std::vector<Emitted> emitted_at_once = TakeEmitted();
  const std::vector<std::string> deadlines_at_once = deadlines();
  ASSERT_GT(*at_once, 30u);

  engine_ = std::make_unique<rules::Engine>(rules_, &recorder_);
  before_reload();
  AdvanceTo("Mon 11:00");
  ASSERT_TRUE(engine_->BeginReconfigure(*reloaded).ok());
  size_t emitted_while_reconfiguring = 0;
  for (size_t k = 0; k < after.size(); ++k) {
    const size_t before = recorder_.emitted.size();
    send(k);
    if (engine_->reconfiguring()) emitted_while_reconfiguring += recorder_.emitted.size() - before;
    engine_->ContinueReconfigure(2);
  }
  EXPECT_GT(emitted_while_reconfiguring, 0u) << "timers reached dossiers not yet recomputed";
  while (!engine_->ContinueReconfigure(2)) {
  }
  EXPECT_FALSE(engine_->reconfiguring());
  AdvanceTo("Thu 17:00");
  auto sorted = [](std::vector<Emitted> v) {
    std::sort(v.begin(), v.end(), [](const Emitted& a, const Emitted& b) { return a.id < b.id; });
    return v;
  };
  EXPECT_EQ(sorted(TakeEmitted()), sorted(emitted_at_once));
  EXPECT_EQ(deadlines(), deadlines_at_once);
  EXPECT_EQ(engine_->recomputed(), *at_once);
}

// --- rules that would let a breach loop are refused
// ------------------------------------------------

TEST(EngineEdgeRules, ZeroOrUncoverableExtensionsAndAMissingEscalationDoNotCompile) {
  auto zero = TestRules();
  zero.defaults.apology_extension = Duration::zero();
  EXPECT_FALSE(rules::CompiledRules::Compile(zero).ok());

  auto too_long = TestRules();
  too_long.defaults.apology_extension = std::chrono::hours(8 * 400);  // 400 working days
  EXPECT_FALSE(rules::CompiledRules::Compile(too_long).ok());

  auto no_contact = TestRules();
  no_contact.defaults.max_apology_letters = 2;
  EXPECT_FALSE(rules::CompiledRules::Compile(no_contact).ok());
  no_contact.escalation = rules::Person{"Le Van C", "Chief Inspector", "inspect@example.gov.vn"};
  EXPECT_TRUE(rules::CompiledRules::Compile(no_contact).ok());
}

}  // namespace
}  // namespace ontime::testing
