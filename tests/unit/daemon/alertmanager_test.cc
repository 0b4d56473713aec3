#include "ontime/daemon/alertmanager.h"

#include "ontime/daemon/address.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ontime::daemon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

Instant At(const std::string& local) {
  auto t = ParseRfc3339(local + "+07:00");
  EXPECT_TRUE(t.has_value()) << local;
  return t.value_or(Instant{});
}

// A stand-in Alertmanager on the test's io_context: records each POST and answers `status`.
class RecordingServer {
 public:
  explicit RecordingServer(asio::io_context& io)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    Accept();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  std::vector<std::string> bodies;
  std::vector<std::string> targets;
  std::vector<std::string> content_types;
  std::vector<std::string> authorizations;
  unsigned status = 200;

 private:
  struct Connection {
    explicit Connection(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
  };

  void Accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
      if (ec) return;
      auto c = std::make_shared<Connection>(std::move(socket));
      http::async_read(c->socket, c->buffer, c->request, [this, c](error_code read_ec, size_t) {
        if (read_ec) return;
        bodies.push_back(c->request.body());
        targets.emplace_back(c->request.target());
        content_types.emplace_back(c->request[http::field::content_type]);
        authorizations.emplace_back(c->request[http::field::authorization]);
        c->response.result(status);
        c->response.version(11);
        c->response.keep_alive(false);
        c->response.body() = "";
        c->response.prepare_payload();
        http::async_write(c->socket, c->response, [c](error_code, size_t) {
          error_code ignored;
          c->socket.close(ignored);
        });
      });
      Accept();
    });
  }

  tcp::acceptor acceptor_;
};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class AlertmanagerTest : public ::testing::Test {
 protected:
  AlertmanagerTest() : server_(io_) {}

  AlertmanagerConfig Config(const std::string& url) {
    AlertmanagerConfig config;
    config.url = url;
    config.resend_interval = std::chrono::seconds(1);
    config.timeout = std::chrono::seconds(2);
    return config;
  }

  // Runs the loop until `done` or five seconds of real time (a failure, not a wait).
  bool RunUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.run_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  rules::Alert MakeAlert(std::string_view dossier, rules::AlertKind kind, int cycle,
                         const std::string& detected) {
    rules::Alert a;
    a.kind = kind;
    a.dossier_id = dossier;
    a.procedure = "1.004227";
    a.department = "SXD";
    a.cycle = cycle;
    a.due_at = At("2026-03-02T17:00:00");
    a.detected_at = At(detected);
    a.remaining = std::chrono::hours(4);
    a.notify = &head_;
    return a;
  }

  asio::io_context io_;
  RecordingServer server_;
  rules::Person head_{"Nguyen Van A", "Director", "head.sxd@example.gov.vn"};
};

// Several instances: whichever fires a dossier's alert (its partition's owner before or after a
// handover), Alertmanager gets the same labels, so it keeps one alert. The labels are the alert's
// own, nothing of the instance (no host, no instance id, no address).
TEST_F(AlertmanagerTest, TheLabelsAreTheAlertsOwnWhateverInstancePushesIt) {
  AlertmanagerPusher pusher(io_, Config("http://127.0.0.1:" + std::to_string(server_.port()) + "/"),
                            nullptr);
  pusher.Start();
  pusher.OnAlert(MakeAlert("D7", rules::AlertKind::kOverdue, 2, "2026-03-02T17:00:00"));
  ASSERT_TRUE(RunUntil([&] { return server_.bodies.size() == 1; }));
  const std::string& body = server_.bodies[0];
  const size_t begin = body.find("\"labels\":");
  const size_t end = body.find(",\"annotations\"");
  ASSERT_NE(begin, std::string::npos) << body;
  ASSERT_NE(end, std::string::npos) << body;
  EXPECT_EQ(body.substr(begin, end - begin),
            "\"labels\":{\"alertname\":\"OntimeDossierOverdue\",\"severity\":\"critical\","
            "\"kind\":\"overdue\",\"department\":\"SXD\",\"procedure\":\"1.004227\","
            "\"dossier_id\":\"D7\",\"alert_id\":\"D7:overdue:2\",\"cycle\":\"2\"}");
  EXPECT_FALSE(Contains(body, "generatorURL")) << body;
  pusher.Stop();
}

TEST_F(AlertmanagerTest, PushesResendsAndResolves) {
  AlertmanagerPusher pusher(
      io_, Config("http://127.0.0.1:" + std::to_string(server_.port()) + "/am/"), nullptr);
  pusher.Start();
  pusher.OnAlert(MakeAlert("D1", rules::AlertKind::kAtRisk, 1, "2026-03-02T13:00:00"));
  EXPECT_EQ(pusher.active(), 1u);
  ASSERT_TRUE(RunUntil([&] { return server_.bodies.size() == 1; }));
  EXPECT_EQ(server_.targets[0], "/am/api/v2/alerts");
  EXPECT_EQ(server_.content_types[0], "application/json");
  const std::string& first = server_.bodies[0];
  EXPECT_TRUE(first.starts_with("[{\"labels\":{")) << first;
  EXPECT_TRUE(first.ends_with("}]")) << first;
  for (const char* part :
       {"\"alertname\":\"OntimeDossierAtRisk\"", "\"severity\":\"warning\"", "\"kind\":\"at_risk\"",
        "\"department\":\"SXD\"", "\"procedure\":\"1.004227\"", "\"dossier_id\":\"D1\"",
        "\"alert_id\":\"D1:at_risk:1\"", "\"cycle\":\"1\"", "\"notify_email\":\"head.sxd@",
        "\"due_at\":\"2026-03-02T10:00:00+00:00\"", "\"startsAt\":\"2026-03-02T06:00:00+00:00\"",
        "\"summary\":\"Dossier D1 (procedure 1.004227, SXD) is at risk"}) {
    EXPECT_TRUE(Contains(first, part)) << part << " in " << first;
  }
  EXPECT_FALSE(Contains(first, "endsAt"));

  // Re-sent on the next tick, still active, so Alertmanager does not let it expire.
  ASSERT_TRUE(RunUntil([&] { return server_.bodies.size() == 2; }));
  EXPECT_TRUE(Contains(server_.bodies[1], "\"alert_id\":\"D1:at_risk:1\""));
  EXPECT_FALSE(Contains(server_.bodies[1], "endsAt"));
  EXPECT_EQ(pusher.active(), 1u);

  // Overdue in the same cycle: pushed promptly; it supersedes (resolves) the at_risk alert.
  const size_t before = server_.bodies.size();
  pusher.OnAlert(MakeAlert("D1", rules::AlertKind::kOverdue, 1, "2026-03-02T17:00:00"));
  ASSERT_TRUE(RunUntil([&] { return server_.bodies.size() > before; }));
  const std::string& overdue = server_.bodies[before];
  EXPECT_TRUE(Contains(overdue, "\"alertname\":\"OntimeDossierOverdue\",\"severity\":\"critical\""))
      << overdue;
  EXPECT_TRUE(Contains(overdue, "\"alert_id\":\"D1:at_risk:1\""));
  EXPECT_TRUE(Contains(overdue, "\"endsAt\":\"2026-03-02T10:00:00+00:00\"")) << overdue;
  ASSERT_TRUE(RunUntil([&] { return pusher.active() == 1; }));  // the resolved one is dropped

  // The dossier closes: its overdue alert is sent once with endsAt, then dropped.
  pusher.ResolveDossier("D1", At("2026-03-03T09:00:00"));
  const size_t resolved_at = server_.bodies.size();
  ASSERT_TRUE(RunUntil([&] { return pusher.active() == 0; }));
  ASSERT_GT(server_.bodies.size(), resolved_at);
  const std::string& last = server_.bodies.back();
  EXPECT_TRUE(Contains(last, "\"alert_id\":\"D1:overdue:1\"")) << last;
  EXPECT_TRUE(Contains(last, "\"endsAt\":\"2026-03-03T02:00:00+00:00\"")) << last;
  EXPECT_EQ(pusher.pushes_failed(), 0u);
}

TEST_F(AlertmanagerTest, BatchesNewAlertsAndResolvesOnlyTheNamedDossier) {
  AlertmanagerPusher pusher(io_, Config("http://127.0.0.1:" + std::to_string(server_.port())),
                            nullptr);
  pusher.OnAlert(MakeAlert("A", rules::AlertKind::kAtRisk, 1, "2026-03-02T13:00:00"));
  pusher.OnAlert(MakeAlert("A:x", rules::AlertKind::kAtRisk, 1, "2026-03-02T13:00:00"));
  rules::Alert step = MakeAlert("B", rules::AlertKind::kStepOverdue, 1, "2026-03-02T13:00:00");
  step.step = 2;
  pusher.OnAlert(step);
  io_.run_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(server_.bodies.empty()) << "nothing is sent before Start()";
  pusher.Start();
  ASSERT_TRUE(RunUntil([&] { return server_.bodies.size() == 1; }));
  const std::string& body = server_.bodies[0];
  EXPECT_TRUE(Contains(body, "\"alert_id\":\"A:at_risk:1\""));
  EXPECT_TRUE(Contains(body, "\"alert_id\":\"A:x:at_risk:1\""));
  EXPECT_TRUE(Contains(body, "\"alertname\":\"OntimeStepOverdue\",\"severity\":\"warning\""));
  EXPECT_TRUE(Contains(body, "\"step\":\"2\"")) << body;

  pusher.ResolveDossier("A", At("2026-03-02T15:00:00"));
  ASSERT_TRUE(RunUntil([&] { return pusher.active() == 2; }));
  const std::string& resolved = server_.bodies.back();
  EXPECT_TRUE(Contains(resolved, "\"alert_id\":\"A:at_risk:1\""));
  EXPECT_FALSE(Contains(resolved, "\"alert_id\":\"A:x:at_risk:1\"")) << "only changed alerts";
}

TEST_F(AlertmanagerTest, FailuresAreCountedAndRetried) {
  prometheus::Registry registry;
  DaemonMetrics metrics(registry, "test");
  // A port nobody listens on: bind one, note it, close it.
  uint16_t closed_port = 0;
  {
    tcp::acceptor probe(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed_port = probe.local_endpoint().port();
  }
  AlertmanagerPusher pusher(io_, Config("http://127.0.0.1:" + std::to_string(closed_port)),
                            &metrics);
  pusher.Start();
  pusher.OnAlert(MakeAlert("D1", rules::AlertKind::kOverdue, 1, "2026-03-02T17:00:00"));
  // OnAlert only queues: the push happens later, on the event loop, so it cannot block it.
  EXPECT_EQ(pusher.pushes_failed(), 0u) << "OnAlert must not push synchronously";
  EXPECT_EQ(pusher.active(), 1u);
  ASSERT_TRUE(RunUntil([&] { return pusher.pushes_failed() == 1; }));
  ASSERT_TRUE(RunUntil([&] { return pusher.pushes_failed() == 2; }));  // retried on the tick
  EXPECT_EQ(pusher.active(), 1u);
  const std::string text = SerializeMetrics(registry);
  EXPECT_TRUE(Contains(text, "\nontime_alertmanager_push_failures_total 2\n")) << text;
  EXPECT_TRUE(Contains(text, "\nontime_alertmanager_pushes_total 2\n"));
}

TEST_F(AlertmanagerTest, ErrorStatusIsAFailureAndTheNextTickDelivers) {
  prometheus::Registry registry;
  DaemonMetrics metrics(registry, "test");
  server_.status = 500;
  AlertmanagerPusher pusher(io_, Config("http://127.0.0.1:" + std::to_string(server_.port())),
                            &metrics);
  pusher.Start();
  pusher.OnAlert(MakeAlert("D1", rules::AlertKind::kAtRisk, 1, "2026-03-02T13:00:00"));
  ASSERT_TRUE(RunUntil([&] { return pusher.pushes_failed() == 1; }));
  server_.status = 200;
  ASSERT_TRUE(RunUntil([&] { return pusher.pushes_ok() == 1; }));
  EXPECT_EQ(server_.bodies.size(), 2u);
  EXPECT_EQ(server_.bodies[0], server_.bodies[1]);
  EXPECT_TRUE(
      Contains(SerializeMetrics(registry), "\nontime_alertmanager_push_failures_total 1\n"));
}

// Routed to the escalation contact by its `kind` label (deploy/alertmanager/generate.py).
TEST_F(AlertmanagerTest, EscalatedAlertsCarryTheirKindAndContact) {
  AlertmanagerPusher pusher(io_, Config("http://127.0.0.1:" + std::to_string(server_.port())),
                            nullptr);
  pusher.Start();
  const rules::Person inspector{"Le Van C", "Chief Inspector", "inspect@example.gov.vn"};
  rules::Alert escalated = MakeAlert("D7", rules::AlertKind::kEscalated, 4, "2026-03-02T17:00:00");
  escalated.notify = &inspector;
  pusher.OnAlert(escalated);
  ASSERT_TRUE(RunUntil([&] { return server_.bodies.size() == 1; }));
  const std::string& body = server_.bodies[0];
  for (const char* part :
       {"\"alertname\":\"OntimeDossierEscalated\",\"severity\":\"critical\","
        "\"kind\":\"escalated\"",
        "\"department\":\"SXD\"", "\"alert_id\":\"D7:escalated:4\"", "\"cycle\":\"4\"",
        "\"notify_email\":\"inspect@example.gov.vn\"", "\"notify_title\":\"Chief Inspector\""}) {
    EXPECT_TRUE(Contains(body, part)) << part << " in " << body;
  }
}

TEST_F(AlertmanagerTest, BearerTokenOrBasicAuthFromTheConfiguration) {
  const std::string url = "http://127.0.0.1:" + std::to_string(server_.port());
  AlertmanagerConfig bearer = Config(url);
  bearer.bearer_token = "t0ken";
  AlertmanagerPusher first(io_, bearer, nullptr);
  first.Start();
  first.OnAlert(MakeAlert("D1", rules::AlertKind::kAtRisk, 1, "2026-03-02T13:00:00"));
  ASSERT_TRUE(RunUntil([&] { return server_.authorizations.size() == 1; }));
  EXPECT_EQ(server_.authorizations[0], "Bearer t0ken");
  first.Stop();

  AlertmanagerConfig basic = Config(url);
  basic.basic_username = "ontime";
  basic.basic_password = "pa:ss";
  AlertmanagerPusher second(io_, basic, nullptr);
  second.Start();
  second.OnAlert(MakeAlert("D2", rules::AlertKind::kAtRisk, 1, "2026-03-02T13:00:00"));
  ASSERT_TRUE(RunUntil([&] { return server_.authorizations.size() == 2; }));
  EXPECT_EQ(server_.authorizations[1], "Basic b250aW1lOnBhOnNz");  // base64("ontime:pa:ss")
}

TEST_F(AlertmanagerTest, AnHttpsUrlWithAnUnreadableCaFailsEveryPushVisibly) {
  AlertmanagerConfig config = Config("https://127.0.0.1:" + std::to_string(server_.port()));
  config.ca_file = "/nonexistent/ca.pem";
  AlertmanagerPusher pusher(io_, config, nullptr);
  pusher.Start();
  pusher.OnAlert(MakeAlert("D1", rules::AlertKind::kAtRisk, 1, "2026-03-02T13:00:00"));
  ASSERT_TRUE(RunUntil([&] { return pusher.pushes_failed() == 1; }));
  EXPECT_TRUE(server_.bodies.empty());
}

TEST_F(AlertmanagerTest, AnHttpsUrlOnAPlainServerFailsTheHandshake) {
  AlertmanagerPusher pusher(io_, Config("https://127.0.0.1:" + std::to_string(server_.port())),
                            nullptr);
  pusher.Start();
  pusher.OnAlert(MakeAlert("D1", rules::AlertKind::kAtRisk, 1, "2026-03-02T13:00:00"));
  ASSERT_TRUE(RunUntil([&] { return pusher.pushes_failed() == 1; }));
  EXPECT_EQ(pusher.pushes_ok(), 0u);
}

TEST_F(AlertmanagerTest, RestoredDossiersGetTheAlertsTheyFiredWith) {
  rules::RulesConfig config;
  config.departments = {{"SXD", "Construction", head_}, {"UBND", "Committee", head_}};
  rules::Procedure p;
  p.code = "1.004227";
  p.department = "SXD";
  p.sla = std::chrono::hours(8);
  config.procedures = {p};
  for (int d = 0; d < 7; ++d) config.calendar.weekly[d] = {{0, 24 * 60}};
  auto rules = rules::CompiledRules::Compile(config);
  ASSERT_TRUE(rules.ok()) << rules.error().message;
  AlertmanagerPusher pusher(io_, Config("http://127.0.0.1:" + std::to_string(server_.port())),
                            nullptr);
  rules::DossierView overdue;
  overdue.dossier_id = "D1";
  overdue.procedure = "1.004227";
  overdue.department = "UBND";  // transferred after its letter
  overdue.overdue = true;
  overdue.cycle = 3;
  LetterFields letter;
  letter.department = "SXD";
  letter.cycle = 2;
  letter.issued_at = At("2026-03-02T10:00:00");
  EXPECT_EQ(pusher.RestoreDossier(overdue, **rules, &letter, At("2026-03-03T10:00:00")), 1u);
  rules::DossierView at_risk;
  at_risk.dossier_id = "D2";
  at_risk.procedure = "1.004227";
  at_risk.department = "SXD";
  at_risk.at_risk = true;
  at_risk.due_at = At("2026-03-03T12:00:00");
  EXPECT_EQ(pusher.RestoreDossier(at_risk, **rules, nullptr, At("2026-03-03T10:00:00")), 1u);
  rules::DossierView paused = at_risk;
  paused.dossier_id = "D3";
  paused.paused = true;
  EXPECT_EQ(pusher.RestoreDossier(paused, **rules, nullptr, At("2026-03-03T10:00:00")), 0u);
  pusher.Start();
  ASSERT_TRUE(RunUntil([&] { return !server_.bodies.empty(); }));
  const std::string& body = server_.bodies[0];
  for (const char* part :
       {R"("alertname":"OntimeDossierOverdue","severity":"critical","kind":"overdue",)"
        R"("department":"SXD","procedure":"1.004227","dossier_id":"D1","alert_id":"D1:overdue:2",)"
        R"("cycle":"2"})",
        R"("alertname":"OntimeDossierAtRisk","severity":"warning","kind":"at_risk",)"
        R"("department":"SXD","procedure":"1.004227","dossier_id":"D2","alert_id":"D2:at_risk:1",)"
        R"("cycle":"1"})"}) {
    EXPECT_TRUE(Contains(body, part)) << part << " in " << body;
  }
  EXPECT_FALSE(Contains(body, "D3"));
}

TEST(AlertmanagerUrlTest, HttpAndHttps) {
  EXPECT_TRUE(ParseAlertmanagerUrl("http://127.0.0.1:9093").ok());
  EXPECT_TRUE(ParseAlertmanagerUrl("http://alertmanager/prefix/").ok());
  EXPECT_TRUE(ParseAlertmanagerUrl("http://[::1]:9093").ok());
  EXPECT_FALSE(ParseAlertmanagerUrl("ftp://alertmanager:9093").ok());
  EXPECT_FALSE(ParseAlertmanagerUrl("http://:9093").ok());
  EXPECT_FALSE(ParseAlertmanagerUrl("http://host:port").ok());
  EXPECT_FALSE(ParseAlertmanagerUrl("").ok());
  // Each of these used to pass (and then every push failed): the pusher's rule is the loader's.
  EXPECT_FALSE(ParseAlertmanagerUrl("http://admin:secret@alertmanager:9093").ok());
  EXPECT_FALSE(ParseAlertmanagerUrl("http://alertmanager:9093/?token=x").ok());
  EXPECT_FALSE(ParseAlertmanagerUrl("http://alert manager:9093").ok());
  EXPECT_FALSE(ParseAlertmanagerUrl("http://::1:9093").ok());
  const auto https = ParseAlertmanagerUrl("https://alertmanager/am");
  ASSERT_TRUE(https.ok());
  EXPECT_TRUE(https->tls);
  EXPECT_EQ(https->port, "443");
  EXPECT_EQ(https->target, "/am/api/v2/alerts");
  EXPECT_FALSE(ParseAlertmanagerUrl("http://alertmanager")->tls);
}

}  // namespace
}  // namespace ontime::daemon
