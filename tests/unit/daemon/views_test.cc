// The daemon's pages and their access: the board's figures and rows, a dossier's page and API
// timeline, letters by id (kept across a restart), the bearer token.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "fakes/small_rules.h"
#include "ontime/daemon/board.h"
#include "ontime/daemon/dossier_api.h"
#include "ontime/daemon/letter_store.h"
#include "ontime/daemon/listeners.h"
#include "ontime/daemon/timeline_store.h"
#include "ontime/rules/engine.h"

namespace ontime::daemon {
namespace {

using testing::At;
using testing::Compile;
using testing::SmallRules;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// One department's object in the board's JSON, from its code to its closing brace.
std::string DepartmentJson(const std::string& board, const std::string& code) {
  const size_t begin = board.find(R"({"code":")" + code + "\"");
  if (begin == std::string::npos) return {};
  return board.substr(begin, board.find('}', begin) + 1 - begin);
}

std::string TempDir() {
  std::string dir = std::filesystem::temp_directory_path() /
                    ("ontime-views-" + std::to_string(::getpid()) + "-" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

class ViewsTest : public ::testing::Test {
 protected:
  explicit ViewsTest(rules::RulesConfig config = SmallRules())
      : rules_(Compile(std::move(config))),
        metrics_(registry_, *rules_),
        daemon_metrics_(registry_, "0.1.0"),
        dir_(TempDir()),
        letters_(LetterStore::Open(dir_ + "/letters.jsonl", 100).value()),
        timeline_(32),
        figures_(rules_->department_count()) {
    letters_->set_calendar(&rules_->calendar());
    for (rules::EngineListener* l : std::initializer_list<rules::EngineListener*>{
             &metrics_, letters_.get(), &timeline_, &attention_, &figures_}) {
      fan_out_.Add(l);
    }
    engine_ = std::make_unique<rules::Engine>(rules_, &fan_out_);
  }
  ~ViewsTest() override {
    letters_.reset();  // its writer thread done with the directory first
    std::filesystem::remove_all(dir_);
  }

  Router MakeRouter(std::string token = {}) {
    return Router(
        *engine_, registry_, metrics_, daemon_metrics_, health_, [this] { return now_; },
        RouterViews{letters_.get(), &timeline_, &attention_, &figures_, &letterheads_,
                    std::move(token), false});
  }

  void Apply(std::string id, rules::EventType type, const std::string& at,
             std::string_view procedure = {}, std::optional<double> reception = {}) {
    storage_.push_back(std::make_unique<std::string>(id));
    storage_.push_back(std::make_unique<std::string>(id + "/" + std::to_string(storage_.size())));
    rules::Event e;
    e.dossier_id = *storage_[storage_.size() - 2];
    e.event_id = *storage_.back();
    e.type = type;
    e.occurred_at = At(at);
    e.procedure = procedure;
    e.reception_seconds = reception;
    const rules::ApplyStatus status = engine_->Apply(e);
    ASSERT_EQ(status, rules::ApplyStatus::kApplied) << id;
    timeline_.OnEvent(e, status);
  }

  // Monday 2 March 2026, 14:30 (+07:00), after a morning at the counters.
  void Morning() {
    Apply("LATE", rules::EventType::kAccepted, "2026-03-02T08:00:00", "P4H", 300);  // due 12:00
    Apply("RISK", rules::EventType::kAccepted, "2026-03-02T10:00:00", "P4H", 180);  // due 15:00
    Apply("CALM", rules::EventType::kAccepted, "2026-03-02T10:00:00", "1.004227");
    Apply("DONE", rules::EventType::kAccepted, "2026-03-02T08:00:00", "P4H");
    Apply("DONE", rules::EventType::kResolved, "2026-03-02T11:00:00");
    Apply("SLOW", rules::EventType::kAccepted, "2026-03-02T08:00:00", "P4H");
    Apply("SLOW", rules::EventType::kResolved, "2026-03-02T13:30:00");  // late
    now_ = At("2026-03-02T14:30:00");
    engine_->AdvanceTo(now_);
  }

  std::shared_ptr<const rules::CompiledRules> rules_;
  prometheus::Registry registry_;
  EngineMetrics metrics_;
  DaemonMetrics daemon_metrics_;
  HealthState health_;
  std::string dir_;
  std::unique_ptr<LetterStore> letters_;
  TimelineStore timeline_;
  AttentionIndex attention_;
  BoardFigures figures_;
  LettersConfig letterheads_;
  ListenerFanOut fan_out_;
  std::unique_ptr<rules::Engine> engine_;
  Instant now_ = At("2026-03-02T08:00:00");
  std::vector<std::unique_ptr<std::string>> storage_;
};

TEST_F(ViewsTest, BoardShowsFiguresAndTheDossiersAtRiskOrOverdueByDue) {
  Morning();
  Router router = MakeRouter();
  const HttpResponse board = router.Handle("/api/v1/board");
  ASSERT_EQ(board.status, 200) << board.body;
  EXPECT_EQ(board.content_type, "application/json");
  const std::string& b = board.body;
  // Province: 1 on time, 1 late; handling 3 and 4.5 working hours (the lunch hour does not count).
  EXPECT_TRUE(Contains(b, R"("province":{"closed_on_time":1,"closed_late":1,"on_time_rate":0.5,)"
                          R"("avg_handling_working_minutes":225.0,"avg_reception_minutes":4.0,)"
                          R"("open":3,"on_track":1,"at_risk":1,"overdue":1,"paused":0,)"
                          R"("predicted_late":null})"))
      << b;
  // No `predict:` in these rules: predicted late is marked absent, not a zero.
  EXPECT_TRUE(Contains(b, R"("working_now":true,"prediction":false,)")) << b;
  EXPECT_FALSE(Contains(b, R"("predicted_late":0)")) << b;
  EXPECT_TRUE(Contains(b, R"({"code":"UBND","name":"People's Committee","on_time_target":0.95,)"
                          R"("closed_on_time":1,"closed_late":1,"on_time_rate":0.5,)"))
      << b;
  // Overdue LATE (its next cycle is due later) and at-risk RISK, sorted by their current due.
  const size_t risk = b.find(R"("dossier_id":"RISK","procedure":"P4H","department":"UBND",)"
                             R"("state":"at_risk","paused":false,"cycle":1,)"
                             R"("due_at":"2026-03-02T15:00:00+07:00")");
  const size_t late = b.find(R"("dossier_id":"LATE","procedure":"P4H","department":"UBND",)"
                             R"("state":"overdue","paused":false,"cycle":2,)");
  ASSERT_NE(risk, std::string::npos) << b;
  ASSERT_NE(late, std::string::npos) << b;
  EXPECT_LT(risk, late);
  EXPECT_TRUE(Contains(b, R"("attention":{"total":2,)")) << b;
  EXPECT_FALSE(Contains(b, "\"CALM\"")) << b;
  EXPECT_TRUE(Contains(b, R"("remaining_seconds":1800)")) << b;  // RISK: half an hour left

  // Resolved: out of the index at once.
  Apply("RISK", rules::EventType::kResolved, "2026-03-02T14:40:00");
  EXPECT_FALSE(Contains(router.Handle("/api/v1/board").body, "\"RISK\""));
  EXPECT_EQ(attention_.candidates(), 1u);

  const HttpResponse page = router.Handle("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  // Rendered on the server (the script then keeps it fresh): the figures and rows are there.
  EXPECT_TRUE(Contains(page.body, R"(<div class="value" id="province-rate">66.67%</div>)"));
  EXPECT_TRUE(Contains(page.body, R"(<div class="value" id="province-overdue">1</div>)"));
  EXPECT_TRUE(Contains(
      page.body, R"(<td class="num rate below">66.67%</td><td class="num target">95.00%</td>)"));
  EXPECT_TRUE(
      Contains(page.body,
               R"(<tr data-dossier="LATE"><td class="id"><a href="/dossiers/LATE">LATE</a></td>)"));
  EXPECT_FALSE(Contains(page.body, "data-dossier=\"RISK\""));
  // The predicted-late tile and column are in the markup for the script, hidden, with no cells.
  EXPECT_TRUE(Contains(page.body, R"(<div class="tile" id="province-predicted-late-tile" hidden>)"
                                  R"(<div class="value" id="province-predicted-late">–</div>)"));
  EXPECT_TRUE(Contains(page.body, R"(<th class="num" id="predicted-late-head" hidden>)"));
  EXPECT_FALSE(Contains(page.body, "<td class=\"num predicted_late\">"));
  EXPECT_TRUE(Contains(page.body, "<script type=\"application/json\" id=\"board-data\">{"));
  EXPECT_TRUE(Contains(page.body, "fetch(\"/api/v1/board?limit=\""));
  EXPECT_FALSE(Contains(page.body, "http://")) << "the board loads nothing from elsewhere";
  EXPECT_EQ(router.Handle("/api/v1/board?limit=0").status, 400);
}

rules::RulesConfig PredictingRules() {
  rules::RulesConfig c = SmallRules();
  rules::PredictConfig predict;
  predict.min_history = 4;
  predict.threshold = 0.7;
  c.predict = predict;
  return c;
}

// The small rules with `predict:`: 4 closed dossiers of a procedure are enough to predict.
class PredictionViewsTest : public ViewsTest {
 protected:
  PredictionViewsTest() : ViewsTest(PredictingRules()) {}

  // Monday: three P4H dossiers take 8 working hours (late), one takes 2 (on time). Tuesday 09:00:
  // NEXT (P4H) is accepted; 3 of the 4 closed ran past 4 hours, so P(late) = 0.75 at once.
  void History() {
    for (const char* id : {"H1", "H2", "H3"}) {
      Apply(id, rules::EventType::kAccepted, "2026-03-02T08:00:00", "P4H");
      Apply(id, rules::EventType::kResolved, "2026-03-03T08:00:00");
    }
    Apply("H4", rules::EventType::kAccepted, "2026-03-02T08:00:00", "P4H");
    Apply("H4", rules::EventType::kResolved, "2026-03-02T10:00:00");
    Apply("NEXT", rules::EventType::kAccepted, "2026-03-03T09:00:00", "P4H");
    Apply("CALM", rules::EventType::kAccepted, "2026-03-03T09:00:00", "1.004227");  // no history
    now_ = At("2026-03-03T09:30:00");
    engine_->AdvanceTo(now_);
  }

  // The expected close the engine gives NEXT: acceptance + the conditional median, in working
  // time (the sketch's median of 8 hours, within 1%).
  std::string ExpectedClose() {
    auto p = engine_->PredictFor("P4H", Duration::zero(), std::chrono::hours(4));
    EXPECT_TRUE(p.has_value());
    const Instant close =
        rules_->calendar().Add(At("2026-03-03T09:00:00"), p ? p->median : Duration{}).value();
    return FormatRfc3339(close, std::chrono::hours(7));
  }
};

TEST_F(PredictionViewsTest, BoardCountsThePredictedLatePerDepartmentAndInTheProvince) {
  History();
  Router router = MakeRouter();
  std::string b = router.Handle("/api/v1/board").body;
  EXPECT_TRUE(Contains(b, R"("working_now":true,"prediction":true,)")) << b;
  EXPECT_TRUE(Contains(b, R"("open":2,"on_track":2,"at_risk":0,"overdue":0,"paused":0,)"
                          R"("predicted_late":1},"departments":)"))
      << b;
  EXPECT_TRUE(DepartmentJson(b, "SXD").ends_with(R"("open":1,"on_track":1,"at_risk":0,)"
                                                 R"("overdue":0,"paused":0,"predicted_late":0})"))
      << b;
  EXPECT_TRUE(DepartmentJson(b, "UBND").ends_with(R"("open":1,"on_track":1,"at_risk":0,)"
                                                  R"("overdue":0,"paused":0,"predicted_late":1})"))
      << b;
  // A prediction is not a breach: NEXT is on track, not among the at-risk and overdue.
  EXPECT_TRUE(Contains(b, R"("attention":{"total":0,)")) << b;
  EXPECT_EQ(attention_.candidates(), 0u);

  const HttpResponse page = router.Handle("/");
  EXPECT_TRUE(Contains(page.body, R"(<div class="tile" id="province-predicted-late-tile">)"
                                  R"(<div class="value" id="province-predicted-late">1</div>)"));
  EXPECT_TRUE(
      Contains(page.body, R"(<th class="num" id="predicted-late-head">predicted late</th>)"));
  EXPECT_TRUE(Contains(page.body, R"(<td class="num paused">0</td><td class="num predicted_late">)"
                                  R"(1</td></tr>)"));
  EXPECT_TRUE(Contains(page.body, R"(<td class="num paused">0</td><td class="num predicted_late">)"
                                  R"(0</td></tr>)"));

  // NEXT closes: no longer counted.
  Apply("NEXT", rules::EventType::kResolved, "2026-03-03T09:45:00");
  b = router.Handle("/api/v1/board").body;
  EXPECT_TRUE(Contains(b, R"("paused":0,"predicted_late":0},"departments":)")) << b;
  EXPECT_FALSE(Contains(b, R"("predicted_late":1)")) << b;
}

TEST_F(PredictionViewsTest, DossierPageShowsTheLatestPredictionWithItsOdds) {
  History();
  Router router = MakeRouter();
  const std::string close = ExpectedClose();
  const HttpResponse api = router.Handle("/api/v1/dossiers/NEXT");
  ASSERT_EQ(api.status, 200);
  EXPECT_TRUE(Contains(
      api.body,
      R"({"kind":"alert","type":"predicted_late","at":"2026-03-03T09:00:00+07:00","department":"UBND",)"
      R"("cycle":1,"alert_id":"NEXT:predicted_late:1","probability":0.75,"expected_close_at":")" +
          close + R"("})"))
      << api.body;

  const HttpResponse page = router.Handle("/dossiers/NEXT");
  ASSERT_EQ(page.status, 200);
  EXPECT_TRUE(
      Contains(page.body, R"(<dt>predicted late (cycle 1)</dt><dd id="predicted-late">P(late) )"
                          R"(<span id="predicted-probability">75%</span>, expected close )"
                          R"(<span id="predicted-close">)" +
                              close + "</span>"))
      << page.body;
  EXPECT_TRUE(Contains(page.body,
                       "<td>predicted_late</td><td>UBND</td><td>cycle 1, P(late) 75%, "
                       "expected close " +
                           close + "</td>"))
      << page.body;
  // CALM's procedure has no history: no prediction, nothing on its page.
  const std::string calm = router.Handle("/dossiers/CALM").body;
  EXPECT_FALSE(Contains(calm, "id=\"predicted-late\"")) << calm;
  EXPECT_FALSE(Contains(calm, "P(late)")) << calm;
}

TEST_F(ViewsTest, RestartSeedsTheBoardFromTheRestoredState) {
  Morning();
  AttentionIndex index;
  BoardFigures figures(rules_->department_count());
  engine_->ForEachDossier(now_, [&](const rules::DossierView& d) {
    index.Seed(d);
    figures.Seed(d, *rules_);
  });
  EXPECT_EQ(index.candidates(), 2u);
  size_t total = 0;
  EXPECT_EQ(index.Rows(*engine_, now_, 1, &total).size(), 1u);
  EXPECT_EQ(total, 2u);
  EXPECT_EQ(figures.departments()[1].closed_on_time, 1);
  EXPECT_EQ(figures.departments()[1].closed_late, 1);
}

TEST_F(ViewsTest, DossierPageAndApiTellTheStoryAndLinkTheLetters) {
  Morning();
  Router router = MakeRouter();
  const HttpResponse api = router.Handle("/api/v1/dossiers/LATE");
  ASSERT_EQ(api.status, 200);
  EXPECT_TRUE(Contains(
      api.body,
      R"("timeline":[{"kind":"event","type":"accepted","at":"2026-03-02T08:00:00+07:00"},)"
      R"({"kind":"alert","type":"at_risk","at":"2026-03-02T11:00:00+07:00","department":"UBND","cycle":1,"alert_id":"LATE:at_risk:1"},)"
      R"({"kind":"alert","type":"overdue","at":"2026-03-02T12:00:00+07:00","department":"UBND","cycle":1,"alert_id":"LATE:overdue:1"},)"
      R"({"kind":"letter","type":"apology_letter","at":"2026-03-02T12:00:00+07:00","department":"UBND","cycle":1,"letter_id":"LATE:apology:1"}])"))
      << api.body;
  EXPECT_TRUE(
      Contains(api.body,
               R"("letters":[{"letter_id":"LATE:apology:1","url":"/letters/LATE%3Aapology%3A1"}])"))
      << api.body;

  const HttpResponse page = router.Handle("/dossiers/LATE");
  ASSERT_EQ(page.status, 200);
  EXPECT_TRUE(Contains(page.body, "<a href=\"/letters/LATE%3Aapology%3A1\">LATE:apology:1</a>"));
  EXPECT_TRUE(Contains(page.body, "<table id=\"cycles\">"));
  EXPECT_TRUE(Contains(page.body, "<dt>state</dt><dd>open, overdue</dd>"));
  EXPECT_EQ(router.Handle("/dossiers/NOBODY").status, 404);

  const HttpResponse letter = router.Handle("/letters/LATE%3Aapology%3A1");
  ASSERT_EQ(letter.status, 200);
  EXPECT_TRUE(Contains(letter.body, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"));
  EXPECT_TRUE(Contains(letter.body, "mã hồ sơ: <b id=\"dossier\">LATE</b>"));
  EXPECT_EQ(router.Handle("/letters/LATE:apology:9").status, 404);
}

TEST_F(ViewsTest, LettersSurviveARestartOfTheStore) {
  Morning();
  letters_.reset();  // the daemon stops
  auto reopened = LetterStore::Open(dir_ + "/letters.jsonl", 100);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  std::optional<std::string> json = (*reopened)->Find("LATE:apology:1");
  ASSERT_TRUE(json.has_value());
  EXPECT_TRUE(json->starts_with(R"({"letter_id":"LATE:apology:1","dossier_id":"LATE",)")) << *json;
  EXPECT_EQ((*reopened)->IdsOf("LATE"), std::vector<std::string>{"LATE:apology:1"});

  // A re-derived letter replaces the stored one; the oldest go beyond `keep`.
  auto small = LetterStore::Open(dir_ + "/small.jsonl", 2);
  ASSERT_TRUE(small.ok());
  (*small)->Put("A:apology:1", "A", R"({"letter_id":"A:apology:1"})");
  (*small)->Put("A:apology:2", "A", R"({"letter_id":"A:apology:2"})");
  (*small)->Put("A:apology:1", "A", R"({"letter_id":"A:apology:1","again":true})");
  (*small)->Put("B:apology:1", "B", R"({"letter_id":"B:apology:1"})");
  EXPECT_FALSE((*small)->Find("A:apology:1").has_value());
  EXPECT_EQ((*small)->Find("A:apology:2"), R"({"letter_id":"A:apology:2"})");
  EXPECT_EQ((*small)->size(), 2u);
  small->reset();
  auto compacted = LetterStore::Open(dir_ + "/small.jsonl", 2);
  ASSERT_TRUE(compacted.ok());
  EXPECT_EQ((*compacted)->size(), 2u);
  EXPECT_EQ((*compacted)->Find("B:apology:1"), R"({"letter_id":"B:apology:1"})");
}

TEST_F(ViewsTest, TokenRequiredForTheApiAndPagesButNotForHealth) {
  Morning();
  Router router = MakeRouter("s3cret-token");
  for (const char* target : {"/api/v1/dossiers", "/api/v1/board", "/", "/dossiers/LATE",
                             "/letters/LATE%3Aapology%3A1"}) {
    const HttpResponse denied = router.Handle(HttpRequest{target, {}, {}});
    EXPECT_EQ(denied.status, 401) << target;
    ASSERT_EQ(denied.headers.size(), 1u) << target;
    EXPECT_EQ(denied.headers[0].first, "WWW-Authenticate");
    EXPECT_EQ(denied.headers[0].second, "Bearer realm=\"ontimed\"");
    EXPECT_EQ(router.Handle(HttpRequest{target, "Bearer s3cret-tokeX", {}}).status, 401) << target;
    EXPECT_EQ(router.Handle(HttpRequest{target, "Bearer s3cret-token", {}}).status, 200) << target;
  }
  EXPECT_EQ(router.Handle(HttpRequest{"/healthz", {}, {}}).status, 200);
  EXPECT_EQ(router.Handle(HttpRequest{"/metrics", {}, {}}).status, 200);

  // A browser: ?token= once sets the cookie, and the page's requests carry it.
  const HttpResponse first = router.Handle(HttpRequest{"/?token=s3cret-token", {}, {}});
  EXPECT_EQ(first.status, 200);
  bool cookie_set = false;
  for (const auto& [name, value] : first.headers) {
    cookie_set |= name == "Set-Cookie" && value.starts_with("ontime_token=s3cret-token;");
  }
  EXPECT_TRUE(cookie_set);
  EXPECT_EQ(
      router.Handle(HttpRequest{"/api/v1/dossiers?limit=5&token=s3cret-token", {}, {}}).status,
      200);
  EXPECT_EQ(
      router.Handle(HttpRequest{"/api/v1/board", {}, "a=1; ontime_token=s3cret-token"}).status,
      200);
  EXPECT_EQ(router.Handle(HttpRequest{"/api/v1/board", {}, "ontime_token=wrong"}).status, 401);

  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("ab", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abcd", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("", "abc"));
}

}  // namespace
}  // namespace ontime::daemon
