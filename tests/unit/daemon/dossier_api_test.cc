#include "ontime/daemon/dossier_api.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "fakes/small_rules.h"
#include "ontime/rules/engine.h"

namespace ontime::daemon {
namespace {

using std::chrono::hours;
using testing::At;
using testing::Compile;
using testing::SmallRules;

// The dossier ids of a list response, in order.
std::vector<std::string> Ids(const std::string& body) {
  std::vector<std::string> ids;
  const std::string key = "\"dossier_id\":\"";
  for (size_t at = body.find(key); at != std::string::npos; at = body.find(key, at)) {
    at += key.size();
    ids.push_back(body.substr(at, body.find('"', at) - at));
  }
  return ids;
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest()
      : rules_(Compile(SmallRules())),
        metrics_(registry_, *rules_),
        daemon_metrics_(registry_, "0.1.0"),
        engine_(rules_, &metrics_),
        now_(At("2026-03-02T14:30:00")),
        router_(engine_, registry_, metrics_, daemon_metrics_, health_, [this] { return now_; }) {
    Accept("A1", "1.004227", "2026-03-02T09:00:00", rules::Channel::kOnline);
    Accept("A2", "P4H", "2026-03-02T09:00:00");  // due 14:00: overdue at 14:30
    Accept("A3", "P4H", "2026-03-02T10:00:00");  // due 15:00: at risk at 14:30
    Accept("A4", "1.004227", "2026-03-02T08:30:00");
    Apply("A4", rules::EventType::kSupplementRequested, "2026-03-02T11:00:00");  // paused
    Accept("A5", "P4H", "2026-03-02T08:00:00");
    Apply("A5", rules::EventType::kResolved, "2026-03-02T09:00:00");  // closed: never listed
    Accept("X/1 b", "P4H", "2026-03-02T08:00:00");
    Apply("X/1 b", rules::EventType::kWithdrawn, "2026-03-02T08:10:00");
    engine_.AdvanceTo(now_);
  }

  void Accept(std::string id, std::string_view procedure, const std::string& at,
              rules::Channel channel = rules::Channel::kDirect) {
    storage_.push_back(std::make_unique<std::string>(std::move(id)));
    rules::Event e;
    e.event_id = *storage_.back();
    e.dossier_id = *storage_.back();
    e.type = rules::EventType::kAccepted;
    e.occurred_at = At(at);
    e.procedure = procedure;
    e.channel = channel;
    ASSERT_EQ(engine_.Apply(e), rules::ApplyStatus::kApplied);
  }

  void Apply(std::string_view id, rules::EventType type, const std::string& at) {
    rules::Event e;
    e.event_id = "second";
    e.dossier_id = id;
    e.type = type;
    e.occurred_at = At(at);
    ASSERT_EQ(engine_.Apply(e), rules::ApplyStatus::kApplied);
  }

  void ExpectBadRequest(const std::string& target, const std::string& message_part) {
    HttpResponse r = router_.Handle(target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(r.content_type, "application/json") << target;
    EXPECT_TRUE(r.body.starts_with("{\"error\":\"")) << r.body;
    EXPECT_NE(r.body.find(message_part), std::string::npos) << target << " -> " << r.body;
  }

  prometheus::Registry registry_;
  std::shared_ptr<const rules::CompiledRules> rules_;
  EngineMetrics metrics_;
  DaemonMetrics daemon_metrics_;
  rules::Engine engine_;
  HealthState health_;
  Instant now_;
  Router router_;
  std::vector<std::unique_ptr<std::string>> storage_;
};

TEST_F(RouterTest, HealthAndReadiness) {
  HttpResponse r = router_.Handle("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  r = router_.Handle("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready\n");
  health_.ready = true;
  r = router_.Handle("/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready\n");
}

TEST_F(RouterTest, MetricsRefreshesGaugesFirst) {
  HttpResponse r = router_.Handle("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("\ndossier_accepted_total{channel=\"online\",department=\"SXD\"} 1\n"),
            std::string::npos);
  EXPECT_NE(r.body.find("\ndossier_open{department=\"UBND\",state=\"overdue\"} 1\n"),
            std::string::npos);
  EXPECT_NE(r.body.find("\ndossier_open{department=\"SXD\",state=\"paused\"} 1\n"),
            std::string::npos);
  EXPECT_NE(r.body.find("\nontime_dossiers_tracked 6\n"), std::string::npos);
  EXPECT_NE(r.body.find("\nontime_build_info{version=\"0.1.0\"} 1\n"), std::string::npos);
}

TEST_F(RouterTest, ListsOpenDossiersByDueDate) {
  HttpResponse r = router_.Handle("/api/v1/dossiers");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_TRUE(r.body.starts_with("{\"now\":\"2026-03-02T14:30:00+07:00\",\"count\":4,")) << r.body;
  // A3 due 15:00; A2 overdue, now in cycle 2 (due next Monday); A4 then A1 in three weeks.
  EXPECT_EQ(Ids(r.body), (std::vector<std::string>{"A3", "A2", "A4", "A1"}));
  EXPECT_NE(r.body.find("\"remaining_seconds\":1800"), std::string::npos) << r.body;
  EXPECT_EQ(Ids(router_.Handle("/api/v1/dossiers?state=open").body),
            (std::vector<std::string>{"A3", "A2", "A4", "A1"}));
}

TEST_F(RouterTest, FiltersAndLimit) {
  auto ids = [&](const std::string& target) {
    HttpResponse r = router_.Handle(target);
    EXPECT_EQ(r.status, 200) << target << " -> " << r.body;
    return Ids(r.body);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids("/api/v1/dossiers?state=at_risk"), V{"A3"});
  EXPECT_EQ(ids("/api/v1/dossiers?state=overdue"), V{"A2"});
  EXPECT_EQ(ids("/api/v1/dossiers?state=paused"), V{"A4"});
  EXPECT_EQ(ids("/api/v1/dossiers?department=UBND"), (V{"A3", "A2"}));
  EXPECT_EQ(ids("/api/v1/dossiers?procedure=1.004227"), (V{"A4", "A1"}));
  EXPECT_EQ(ids("/api/v1/dossiers?procedure=1%2E004227&department=SXD"), (V{"A4", "A1"}));
  EXPECT_EQ(ids("/api/v1/dossiers?department=SXD&state=overdue"), V{});
  EXPECT_EQ(ids("/api/v1/dossiers?limit=2"), (V{"A3", "A2"}));
  EXPECT_EQ(ids("/api/v1/dossiers?limit=10000&state=open&"), (V{"A3", "A2", "A4", "A1"}));
  HttpResponse r = router_.Handle("/api/v1/dossiers?limit=1");
  EXPECT_NE(r.body.find("\"count\":1,"), std::string::npos);
  r = router_.Handle("/api/v1/dossiers?state=overdue&department=SXD");
  EXPECT_NE(r.body.find("\"count\":0,\"dossiers\":[]}"), std::string::npos) << r.body;
}

TEST_F(RouterTest, BadQueriesAreRejected) {
  ExpectBadRequest("/api/v1/dossiers?state=closed", "state must be one of");
  ExpectBadRequest("/api/v1/dossiers?state=", "state must be one of");
  ExpectBadRequest("/api/v1/dossiers?department=XYZ", "unknown department \\\"XYZ\\\"");
  ExpectBadRequest("/api/v1/dossiers?procedure=9.999", "unknown procedure \\\"9.999\\\"");
  ExpectBadRequest("/api/v1/dossiers?limit=0", "limit must be an integer from 1 to 10000");
  ExpectBadRequest("/api/v1/dossiers?limit=10001", "limit must be");
  ExpectBadRequest("/api/v1/dossiers?limit=ten", "limit must be");
  ExpectBadRequest("/api/v1/dossiers?limit=", "limit must be");
  ExpectBadRequest("/api/v1/dossiers?limit=-1", "limit must be");
  ExpectBadRequest("/api/v1/dossiers?sort=due", "unknown query parameter \\\"sort\\\"");
  ExpectBadRequest("/api/v1/dossiers?state=open&state=paused", "given twice");
  ExpectBadRequest("/api/v1/dossiers?department=%ZZ", "percent-encoding");
  ExpectBadRequest("/api/v1/dossiers?department=%4", "percent-encoding");
}

TEST_F(RouterTest, OneDossier) {
  HttpResponse r = router_.Handle("/api/v1/dossiers/A2");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(Ids(r.body), std::vector<std::string>{"A2"});
  EXPECT_NE(r.body.find("\"overdue\":true"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"cycle\":2"), std::string::npos) << r.body;
  EXPECT_TRUE(r.body.ends_with(",\"timeline\":[]}\n")) << r.body;

  r = router_.Handle("/api/v1/dossiers/A5");  // closed dossiers are found too
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"state\":\"resolved\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"outcome\":\"on_time\""), std::string::npos) << r.body;

  r = router_.Handle("/api/v1/dossiers/X%2F1%20b");  // ids are URL-decoded; '+' stays '+'
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Ids(r.body), std::vector<std::string>{"X/1 b"});

  r = router_.Handle("/api/v1/dossiers/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"error\":\"unknown dossier \\\"nope\\\"\"}\n");
  EXPECT_EQ(router_.Handle("/api/v1/dossiers/bad%G1").status, 400);
}

TEST_F(RouterTest, UnknownPaths) {
  EXPECT_EQ(router_.Handle("/").status, 404);
  EXPECT_EQ(router_.Handle("/metricsx").status, 404);
  EXPECT_EQ(router_.Handle("/api/v2/dossiers").status, 404);
  EXPECT_EQ(router_.Handle("/api/v1/dossiers/").status, 404);
  EXPECT_EQ(router_.Handle("/api/v1/dossiers/").content_type, "application/json");
}

TEST(UrlDecodeTest, Components) {
  EXPECT_EQ(UrlDecode("a%20b+c", true), "a b c");
  EXPECT_EQ(UrlDecode("a%20b+c", false), "a b+c");
  EXPECT_EQ(UrlDecode("%e1%BB%9D", false), "\xe1\xbb\x9d");
  EXPECT_EQ(UrlDecode("%", false), std::nullopt);
  EXPECT_EQ(UrlDecode("%2", false), std::nullopt);
  EXPECT_EQ(UrlDecode("%xy", false), std::nullopt);
}

}  // namespace
}  // namespace ontime::daemon
