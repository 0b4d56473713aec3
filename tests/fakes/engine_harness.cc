#include "fakes/engine_harness.h"

#include <cstdio>

namespace ontime::testing {
namespace {

constexpr const char* kWeek[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

rules::TimeRange Range(int h1, int m1, int h2, int m2) { return {h1 * 60 + m1, h2 * 60 + m2}; }

}  // namespace

Instant LocalTime(const std::string& text) {
  std::string date;
  std::string clock;
  auto space = text.find(' ');
  std::string head = text.substr(0, space);
  clock = text.substr(space + 1);
  for (int i = 0; i < 7; ++i) {
    if (head == kWeek[i]) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "2026-03-%02d", 2 + i);
      date = buf;
    }
  }
  if (date.empty()) date = head;
  if (clock.size() == 5) clock += ":00";
  auto t = ParseRfc3339(date + "T" + clock + "+07:00");
  EXPECT_TRUE(t.has_value()) << "bad test time " << text;
  return t.value_or(Instant{});
}

std::string Local(Instant t) {
  std::string full = FormatRfc3339(t, std::chrono::hours(7));  // 2026-03-02T09:00:00+07:00
  std::string date = full.substr(0, 10);
  std::string clock = full.substr(11, full.size() - 11 - 6);
  if (clock.size() == 8 && clock.substr(5) == ":00") clock = clock.substr(0, 5);
  for (int i = 0; i < 7; ++i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "2026-03-%02d", 2 + i);
    if (date == buf) return std::string(kWeek[i]) + " " + clock;
  }
  return date + " " + clock;
}

rules::RulesConfig TestRules() {
  using namespace std::chrono;
  rules::RulesConfig c;
  c.calendar.timezone = "Asia/Ho_Chi_Minh";
  c.calendar.utc_offsets = {{Instant{}, hours(7)}};
  for (int d = 0; d < 5; ++d) c.calendar.weekly[d] = {Range(7, 30, 11, 30), Range(13, 0, 17, 0)};
  c.calendar.holidays = {{*ParseDate("2026-03-06"), "Test holiday"}};
  c.calendar.working_days = {{*ParseDate("2026-03-07"), {Range(7, 30, 11, 30)}}};
  c.defaults.at_risk_remaining = {false, 0, hours(8)};
  c.defaults.apology_extension = hours(40);
  c.departments = {
      {"SXD", "Construction", {"Nguyen Van A", "Director", "head.sxd@example.gov.vn"}},
      {"UBND", "People's Committee", {"Tran Thi B", "Chair", "head.ubnd@example.gov.vn"}}};
  auto procedure = [](std::string code, std::string name, std::string department, Duration sla) {
    rules::Procedure p;
    p.code = std::move(code);
    p.name = std::move(name);
    p.department = std::move(department);
    p.sla = sla;
    return p;
  };
  rules::Procedure p2d = procedure("P2D", "Two-day permit", "SXD", hours(16));
  p2d.at_risk_remaining = rules::Threshold{false, 0, hours(4)};
  p2d.steps = {{"SXD", hours(8)}, {"UBND", hours(4)}};
  rules::Procedure p4h = procedure("P4H", "Four-hour certificate", "UBND", hours(4));
  p4h.at_risk_remaining = rules::Threshold{true, 20, {}};
  rules::Procedure prst = procedure("PRST", "Restart on supplement", "SXD", hours(16));
  prst.on_supplement = rules::OnSupplement::kRestart;
  prst.at_risk_remaining = rules::Threshold{false, 0, hours(1)};
  rules::Procedure pfee = procedure("PFEE", "Fee pauses", "SXD", hours(16));
  pfee.pause_on_fee = true;
  pfee.at_risk_remaining = rules::Threshold{false, 0, hours(1)};
  c.procedures = {p2d, p4h, prst, pfee};
  return c;
}

void PrintTo(const Emitted& e, std::ostream* os) {
  *os << "{" << e.id << " at " << e.detected << " due " << e.due << " dept " << e.department
      << " cycle " << e.cycle << "}";
}

void Recorder::OnAlert(const rules::Alert& a) {
  emitted.push_back(
      {a.AlertId(), Local(a.detected_at), Local(a.due_at), std::string(a.department), a.cycle});
  alert_notify.push_back(a.notify ? a.notify->email : "");
}

void Recorder::OnApologyLetter(const rules::ApologyLetter& l) {
  emitted.push_back(
      {l.LetterId(), Local(l.issued_at), Local(l.new_due_at), std::string(l.department), l.cycle});
  letter_signers.push_back(l.signer ? l.signer->name : "");
  letter_original_due.push_back(l.original_due_at);
}

void Recorder::OnClosed(uint32_t, rules::Outcome outcome, double, double working) {
  closed.emplace_back(outcome, working);
}

EngineHarness::EngineHarness() : EngineHarness(TestRules()) {}

EngineHarness::EngineHarness(rules::RulesConfig config) {
  auto compiled = rules::CompiledRules::Compile(std::move(config));
  EXPECT_TRUE(compiled.ok()) << (compiled.ok() ? "" : compiled.error().message);
  rules_ = compiled.value();
  engine_ = std::make_unique<rules::Engine>(rules_, &recorder_);
}

rules::ApplyStatus EngineHarness::Accept(const std::string& dossier, const std::string& at,
                                         const std::string& procedure) {
  return Send(dossier, "accepted", at, {{"procedure", procedure}});
}

rules::ApplyStatus EngineHarness::Send(const std::string& dossier, const std::string& type,
                                       const std::string& at,
                                       std::map<std::string, std::string> fields) {
  rules::Event e;
  storage_.push_back(fields.count("event_id") ? fields["event_id"]
                                              : "e" + std::to_string(++next_event_));
  e.event_id = storage_.back();
  storage_.push_back(dossier);
  e.dossier_id = storage_.back();
  e.type = rules::EventTypeFromName(type);
  e.type_name = type;
  e.occurred_at = LocalTime(at);
  if (fields.count("procedure")) {
    storage_.push_back(fields["procedure"]);
    e.procedure = storage_.back();
  }
  if (fields.count("department")) {
    storage_.push_back(fields["department"]);
    e.department = storage_.back();
  }
  if (fields.count("due_at")) e.due_at = LocalTime(fields["due_at"]);
  if (fields.count("method")) {
    e.method =
        fields["method"] == "cash" ? rules::PaymentMethod::kCash : rules::PaymentMethod::kOnline;
  }
  if (fields.count("applicant")) {
    storage_.push_back(fields["applicant"]);
    e.applicant = rules::ApplicantView{storage_.back(), "1 Main Street", "0900", ""};
  }
  const int32_t partition = fields.count("partition") ? std::stoi(fields["partition"]) : 0;
  return engine_->Apply(e, rules::Engine::TimersBefore::kAll, partition);
}

void EngineHarness::AdvanceTo(const std::string& at) { engine_->AdvanceTo(LocalTime(at)); }

rules::DossierView EngineHarness::View(const std::string& dossier, const std::string& now) {
  auto view = engine_->Find(dossier, LocalTime(now));
  EXPECT_TRUE(view.has_value()) << "no dossier " << dossier;
  return view.value_or(rules::DossierView{});
}

std::vector<Emitted> EngineHarness::TakeEmitted() {
  std::vector<Emitted> out;
  out.swap(recorder_.emitted);
  return out;
}

}  // namespace ontime::testing
