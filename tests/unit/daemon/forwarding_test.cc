// A request for a dossier another instance owns: the router's routing decision and the forwarded
// request (with the bearer token, marked as forwarded), and the HTTP client that carries it,
// against a real server on a loopback port.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fakes/small_rules.h"
#include "ontime/daemon/dossier_api.h"
#include "ontime/daemon/http_client.h"
#include "ontime/daemon/http_server.h"
#include "ontime/daemon/members.h"
#include "ontime/rules/engine.h"

namespace ontime::daemon {
namespace {

namespace asio = boost::asio;
using testing::At;
using testing::Compile;
using testing::SmallRules;

std::string Header(const HttpResponse& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

HttpResponse Html404() { return HttpResponse{404, "text/html; charset=utf-8", "<p>no</p>", {}}; }

class ForwardingRouterTest : public ::testing::Test {
 protected:
  ForwardingRouterTest()
      : rules_(Compile(SmallRules())),
        metrics_(registry_, *rules_),
        daemon_metrics_(registry_, "0.1.0"),
        engine_(rules_, &metrics_),
        router_(
            engine_, registry_, metrics_, daemon_metrics_, health_,
            [] { return At("2026-03-02T14:30:00"); },
            RouterViews{nullptr, nullptr, nullptr, nullptr, nullptr, "tok", false,
                        RouterCluster{[this] { return local_; }, &directory_,
                                      [this](OutgoingRequest out,
                                             std::function<void(Result<HttpResponse>)> done) {
                                        auto answer = answers_.find(out.authority);
                                        forwarded_.push_back(std::move(out));
                                        done(answer != answers_.end() ? answer->second : answer_);
                                      }}}) {
    local_.instance = "a";
    local_.input_partitions = 4;
    here_ = IdIn(0);
    local_.assigned = {0, 1};
    directory_.Apply(0, "a", MemberRecord{"a", "a:1", {0, 1}, 4, 0});
    directory_.Apply(1, "b", MemberRecord{"b", "10.0.0.2:9464", {2}, 4, 0});
    rules::Event e;
    e.event_id = "e1";
    e.dossier_id = here_;
    e.type = rules::EventType::kAccepted;
    e.occurred_at = At("2026-03-02T09:00:00");
    e.procedure = "P4H";
    EXPECT_EQ(engine_.Apply(e), rules::ApplyStatus::kApplied);
  }

  static std::string IdIn(int32_t partition) {
    for (int i = 0;; ++i) {
      std::string id = "D" + std::to_string(i);
      if (streams::PartitionForKey(id, 4, streams::Partitioner::kConsistentRandom) == partition) {
        return id;
      }
    }
  }

  HttpResponse Get(const std::string& target, std::string_view forwarded_by = {}) {
    return router_.Handle(HttpRequest{target, "Bearer tok", {}, forwarded_by});
  }

  // Runs a deferred response to its end (the fake forwarder answers at once).
  static HttpResponse Finish(HttpResponse r) {
    if (!r.deferred) return r;
    std::optional<HttpResponse> later;
    r.deferred([&later](HttpResponse answer) { later = std::move(answer); });
    EXPECT_TRUE(later.has_value());
    return later ? std::move(*later) : HttpResponse{};
  }

  prometheus::Registry registry_;
  std::shared_ptr<const rules::CompiledRules> rules_;
  EngineMetrics metrics_;
  DaemonMetrics daemon_metrics_;
  rules::Engine engine_;
  HealthState health_;
  LocalPartitions local_;
  MemberDirectory directory_;
  std::vector<OutgoingRequest> forwarded_;
  std::map<std::string, Result<HttpResponse>> answers_;  // by authority; else answer_
  Result<HttpResponse> answer_ =
      HttpResponse{200, "application/json", "{\"dossier\":{}}\n", {{"X-Other", "1"}}};
  std::string here_;
  Router router_;
};

TEST_F(ForwardingRouterTest, ADossierOfAPartitionOwnedHereIsAnsweredHere) {
  HttpResponse r = Get("/api/v1/dossiers/" + here_);
  EXPECT_FALSE(r.deferred);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"dossier_id\":\"" + here_ + "\""), std::string::npos) << r.body;
  EXPECT_TRUE(forwarded_.empty());
  // Unknown, in a partition owned here: 404, not forwarded.
  EXPECT_EQ(Get("/api/v1/dossiers/" + IdIn(1)).status, 404);
  EXPECT_TRUE(forwarded_.empty());
}

TEST_F(ForwardingRouterTest, ADossierOfAnotherInstanceIsForwardedWithTheTokenAndMarked) {
  const std::string id = IdIn(2);
  HttpResponse r = Get("/api/v1/dossiers/" + id);
  ASSERT_TRUE(r.deferred);
  r = Finish(std::move(r));
  ASSERT_EQ(forwarded_.size(), 1u);
  EXPECT_EQ(forwarded_[0].authority, "10.0.0.2:9464");
  EXPECT_EQ(forwarded_[0].target, "/api/v1/dossiers/" + id);
  EXPECT_EQ(forwarded_[0].headers,
            (std::vector<std::pair<std::string, std::string>>{{"X-Ontime-Forwarded-By", "a"},
                                                              {"Authorization", "Bearer tok"}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"dossier\":{}}\n");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(Header(r, "X-Other"), "1");
  EXPECT_EQ(Header(r, "X-Ontime-Served-By"), "b");
  // The page goes the same way.
  r = Finish(Get("/dossiers/" + id));
  ASSERT_EQ(forwarded_.size(), 2u);
  EXPECT_EQ(forwarded_[1].target, "/dossiers/" + id);
  // And a letter of it (a citizen's link may reach any instance); one of a dossier here, unknown,
  // is a 404 from here.
  r = Finish(Get("/letters/" + id + "%3Aapology%3A1"));
  ASSERT_EQ(forwarded_.size(), 3u);
  EXPECT_EQ(forwarded_[2].target, "/letters/" + id + "%3Aapology%3A1");
  EXPECT_EQ(Header(r, "X-Ontime-Served-By"), "b");
}

// A letter stays with the instance that derived it, which may have owned its dossier before a
// rebalance: not kept here nor by the owner, every other instance is asked in turn.
TEST_F(ForwardingRouterTest, ALetterNotKeptByItsOwnerIsAskedOfEveryOtherInstance) {
  directory_.Apply(2, "c", MemberRecord{"c", "10.0.0.3:9464", {3}, 4, 0});
  const HttpResponse not_kept = Html404();
  answers_.insert_or_assign("10.0.0.2:9464", not_kept);
  const std::string letter = IdIn(2) + "%3Aapology%3A1";  // owned by b
  HttpResponse r = Finish(Get("/letters/" + letter));
  ASSERT_EQ(forwarded_.size(), 2u);
  EXPECT_EQ(forwarded_[0].authority, "10.0.0.2:9464") << "the owner first";
  EXPECT_EQ(forwarded_[1].authority, "10.0.0.3:9464");
  EXPECT_EQ(forwarded_[1].target, "/letters/" + letter);
  EXPECT_EQ(forwarded_[1].headers[0],
            (std::pair<std::string, std::string>{"X-Ontime-Forwarded-By", "a"}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Header(r, "X-Ontime-Served-By"), "c");

  // A letter of a dossier owned here, not kept here: the others are asked; none keeps it.
  answers_.insert_or_assign("10.0.0.3:9464", not_kept);
  forwarded_.clear();
  r = Finish(Get("/letters/" + here_ + "%3Aapology%3A1"));
  EXPECT_EQ(forwarded_.size(), 2u);
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("here nor on b, c"), std::string::npos) << r.body;

  // One that does not answer might keep it: 502, naming it.
  answers_.insert_or_assign("10.0.0.3:9464",
                            Error{"http_client", "cannot connect to 10.0.0.3:9464"});
  r = Finish(Get("/letters/" + here_ + "%3Aapology%3A1"));
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("not answering: c (10.0.0.3:9464): cannot connect"), std::string::npos)
      << r.body;

  // Asked as one of those others: answered from here only.
  forwarded_.clear();
  r = Get("/letters/" + IdIn(2) + "%3Aapology%3A1", "b");
  EXPECT_FALSE(r.deferred);
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(forwarded_.empty());
}

TEST_F(ForwardingRouterTest, AnOwnerThatDoesNotAnswerIsA502NamingThePartitionAndTheOwner) {
  answer_ = Error{"http_client", "cannot connect to 10.0.0.2:9464: Connection refused"};
  HttpResponse r = Finish(Get("/api/v1/dossiers/" + IdIn(2)));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_NE(r.body.find("is in partition 2, whose owner b (10.0.0.2:9464) did not answer: "
                        "cannot connect to 10.0.0.2:9464: Connection refused"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("\"partition\":2,\"owner\":\"b\",\"owner_http\":\"10.0.0.2:9464\""),
            std::string::npos)
      << r.body;
}

TEST_F(ForwardingRouterTest, AForwardedRequestIsNeverForwardedAgain) {
  HttpResponse r = Get("/api/v1/dossiers/" + IdIn(2), "c");
  EXPECT_FALSE(r.deferred);
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("which b owns, not this instance (a); forwarded here by c, it is not "
                        "forwarded again"),
            std::string::npos)
      << r.body;
  EXPECT_TRUE(forwarded_.empty());
}

TEST_F(ForwardingRouterTest, NoOwnerOrRestoringHereIsA503WithRetryAfter) {
  HttpResponse r = Get("/api/v1/dossiers/" + IdIn(3));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Header(r, "Retry-After"), "2");
  EXPECT_NE(r.body.find("is in partition 3, which no instance owns now"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("\"partition\":3}"), std::string::npos) << r.body;
  local_.restoring = {1};
  r = Get("/api/v1/dossiers/" + IdIn(1));
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("which this instance (a) is restoring from the changelog"),
            std::string::npos)
      << r.body;
  r = Get("/dossiers/" + IdIn(3));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_TRUE(forwarded_.empty());
}

TEST_F(ForwardingRouterTest, AListSaysWhichPartitionsItCoversAndWhereTheOthersAre) {
  HttpResponse r = Get("/api/v1/dossiers");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"instance\":\"a\",\"input_partitions\":4,\"partitions\":[0,1],"
                        "\"restoring\":[],\"complete\":false,\"members\":[{\"instance\":\"b\","
                        "\"http\":\"10.0.0.2:9464\",\"partitions\":[2]}]"),
            std::string::npos)
      << r.body;
}

TEST_F(ForwardingRouterTest, ATokenGivenInTheQuerySetsItsCookieOnAForwardedAnswerToo) {
  HttpResponse r = router_.Handle(HttpRequest{"/dossiers/" + IdIn(2) + "?token=tok", {}, {}, {}});
  r = Finish(std::move(r));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(Header(r, "Set-Cookie").find("ontime_token=tok"), std::string::npos);
}

// The client against a real server (port 0 on the loopback), both on one io_context run by a
// thread; each call's answer handed back through a promise.
class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = HttpServer::Start(io_, "127.0.0.1:0", [this](const HttpRequest& request) {
      seen_forwarded_by_ = std::string(request.forwarded_by);
      if (request.target == "/later") {
        HttpResponse r;
        r.deferred = [this](HttpRespond respond) {
          auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(20));
          timer->async_wait([timer, respond](boost::system::error_code) {
            respond(HttpResponse{201, "text/plain", "later\n", {}});
          });
        };
        return r;
      }
      if (request.target == "/never") {
        HttpResponse r;
        r.deferred = [this](HttpRespond respond) { held_.push_back(std::move(respond)); };
        return r;
      }
      return HttpResponse{404, "application/json", "{\"error\":\"x\"}\n", {{"X-Mine", "yes"}}};
    });
    ASSERT_TRUE(started.ok()) << started.error().message;
    server_ = std::move(started).value();
    guard_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    asio::post(io_, [this] {
      server_->Stop();
      held_.clear();
      guard_.reset();
    });
    thread_.join();
  }

  Result<HttpResponse> Get(std::string authority, std::string target,
                           std::vector<std::pair<std::string, std::string>> headers = {}) {
    std::promise<Result<HttpResponse>> promise;
    asio::post(io_, [&] {
      client_.Get(OutgoingRequest{std::move(authority), std::move(target), std::move(headers)},
                  [&promise](Result<HttpResponse> r) { promise.set_value(std::move(r)); });
    });
    return promise.get_future().get();
  }
  std::string Authority() const { return "127.0.0.1:" + std::to_string(server_->port()); }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::unique_ptr<HttpServer> server_;
  HttpClient client_{io_, std::chrono::milliseconds(300)};
  std::thread thread_;
  std::string seen_forwarded_by_;
  std::vector<HttpRespond> held_;  // answers never given (a slow owner)
};

TEST_F(HttpClientTest, TheAnswerComesBackAsGiven) {
  Result<HttpResponse> r = Get(Authority(), "/x", {{"X-Ontime-Forwarded-By", "a"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_EQ(r->body, "{\"error\":\"x\"}\n");
  EXPECT_EQ(Header(*r, "X-Mine"), "yes");
  EXPECT_EQ(seen_forwarded_by_, "a");
}

TEST_F(HttpClientTest, AServerThatAnswersLaterIsWaitedFor) {
  Result<HttpResponse> r = Get(Authority(), "/later");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "later\n");
}

TEST_F(HttpClientTest, NoAnswerWithinTheDeadlineIsATimeOut) {
  Result<HttpResponse> r = Get(Authority(), "/never");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "http_client_timeout");
  EXPECT_NE(r.error().message.find("within 300 ms"), std::string::npos) << r.error().message;
}

TEST_F(HttpClientTest, ARefusedConnectionOrABadAddressIsAnError) {
  const int port = server_->port();
  asio::post(io_, [this] { server_->Stop(); });
  Result<HttpResponse> r = Get("127.0.0.1:" + std::to_string(port), "/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "http_client");
  r = Get("not an address", "/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "http_client_address");
}

}  // namespace
}  // namespace ontime::daemon
