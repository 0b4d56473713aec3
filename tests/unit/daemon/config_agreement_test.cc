// `ontimed check-config` and `ontimed run` agree: on a table of configurations (valid ones, and
// each kind that check-config used to pass while run then failed or silently mishandled it), the
// real binary either rejects the configuration in both commands (exit 78, the same YAML path), or
// accepts it in check-config and then starts under `run` until /healthz answers, then stops on
// SIGTERM. No broker is needed: `run` is given librdkafka's in-process mock cluster
// (test.mock.num.brokers), which listens on 127.0.0.1. Every wait is bounded and every child
// process is killed at the end of its case.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fakes/ontimed_process.h"

namespace ontime::daemon {
namespace {

using testing::FreePort;
using testing::OntimedPath;
using testing::OntimedProcess;
using testing::ReadFile;
using testing::WaitFor;

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kExitConfig = 78;
constexpr auto kStartTimeout = 30s;  // generous on a loaded 2-core machine; ~0.2 s when idle
constexpr auto kStopTimeout = 30s;
constexpr auto kRejectTimeout = 20s;

// The status line of GET `target` on 127.0.0.1:`port`, or "" when nothing answers in time.
std::string HttpStatusLine(int port, const std::string& target) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval timeout{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const std::string request = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buffer[512];
      ssize_t n;
      while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) response.append(buffer, n);
    }
  }
  close(fd);
  return response.substr(0, response.find("\r\n"));
}

struct Case {
  std::string name;
  // Top-level sections replacing or adding to the base configuration, by key.
  std::map<std::string, std::string> sections;
  // Empty: valid. Else the YAML path both commands must report the error at.
  std::string path;
};

class ConfigAgreementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ontime-agree-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    ASSERT_TRUE(fs::exists(OntimedPath())) << OntimedPath() << " not built";
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // The base configuration: small rules, the mock cluster, HTTP on a free loopback port (the
  // state directory is the case's own).
  std::map<std::string, std::string> Base(int port) const {
    return {
        {"calendar", "calendar:\n  working_hours: {mon-fri: [\"07:30-11:30\", \"13:00-17:00\"]}\n"},
        {"departments",
         "departments:\n"
         "  - {code: SXD, head: {name: A, title: Director, email: head.sxd@example.gov.vn}}\n"},
        {"procedures", "procedures:\n  - {code: \"1.004227\", department: SXD, sla: 15d}\n"},
        {"kafka", "kafka:\n  brokers: \"127.0.0.1:9\"\n" + std::string(kMock)},
        {"http", "http: {listen: \"127.0.0.1:" + std::to_string(port) + "\"}\n"},
    };
  }

  std::string Write(const std::string& name, const std::map<std::string, std::string>& sections) {
    const std::string path = dir_ + "/" + name + ".yaml";
    std::ofstream out(path);
    for (const auto& [key, text] : sections) out << text;
    return path;
  }

  // check-config and run, on one case; every expectation names the case.
  void Check(const Case& c) {
    SCOPED_TRACE(c.name);
    const int port = FreePort();
    ASSERT_GT(port, 0);
    std::map<std::string, std::string> sections = Base(port);
    sections["state_dir"] = "state_dir: " + dir_ + "/" + c.name + ".state\n";
    for (const auto& [key, text] : c.sections) {
      std::string filled = text;
      for (size_t at; (at = filled.find("PORT")) != std::string::npos;) {
        filled.replace(at, 4, std::to_string(port));
      }
      sections[key] = filled;
    }
    const std::string config = Write(c.name, sections);

    OntimedProcess check({"check-config", "--config", config}, dir_ + "/" + c.name + ".check.log");
    const int check_status = check.Wait(kRejectTimeout);
    const std::string check_log = check.Log();
    OntimedProcess run({"run", "--config", config}, dir_ + "/" + c.name + ".run.log");

    if (!c.path.empty()) {
      const std::string located = config + ": " + c.path + ": ";
      EXPECT_EQ(check_status, kExitConfig) << check_log;
      EXPECT_NE(check_log.find(located), std::string::npos) << check_log;
      const int run_status = run.Wait(kRejectTimeout);
      const std::string run_log = run.Log();
      EXPECT_EQ(run_status, kExitConfig) << run_log;
      EXPECT_NE(run_log.find(located), std::string::npos) << run_log;
      return;
    }

    EXPECT_EQ(check_status, 0) << check_log;
    EXPECT_NE(check_log.find(config + ": ok ("), std::string::npos) << check_log;
    std::string status_line;
    const bool answered = WaitFor(
        [&] {
          if (!run.Alive()) return true;
          status_line = HttpStatusLine(port, "/healthz");
          return !status_line.empty();
        },
        kStartTimeout);
    ASSERT_TRUE(answered && run.Alive())
        << "run did not reach /healthz in time (or exited): " << run.Log();
    EXPECT_EQ(status_line, "HTTP/1.0 200 OK") << run.Log();
    run.Signal(SIGTERM);
    EXPECT_EQ(run.Wait(kStopTimeout), 0) << run.Log();
  }

  static constexpr std::string_view kMock = "  properties: {test.mock.num.brokers: \"1\"}\n";
  std::string dir_;
};

TEST_F(ConfigAgreementTest, AcceptedConfigurationsStart) {
  const std::string mock(kMock);
  const std::vector<Case> cases = {
      {"base", {}, ""},
      {"new_keys",
       {{"defaults", "defaults: {max_apology_letters: 2, apology_extension: 2d}\n"},
        {"escalation",
         "escalation: {name: \"Le Van C\", title: \"Chief Inspector\", "
         "email: inspect@example.gov.vn}\n"},
        {"ingest", "ingest: {max_clock_skew: 1m}\n"},
        {"output", "output: {max_age: 1d}\n"},
        {"log", "log: {level: debug}\n"},
        {"snapshot_interval", "snapshot_interval: 1s\n"}},
       ""},
      {"listen_localhost", {{"http", "http: {listen: \"localhost:PORT\"}\n"}}, ""},
      // A name is fine where it is resolved when used: brokers and the Alertmanager.
      {"broker_names",
       {{"kafka",
         "kafka:\n  brokers: \"PLAINTEXT://kafka-1.example.invalid:9092,kafka-2\"\n" + mock}},
       ""},
      {"alertmanager_http",
       {{"alertmanager",
         "alertmanager: {url: \"http://alertmanager.example.invalid:9093/am/\", "
         "resend_interval: 1s, timeout: 1s}\n"}},
       ""},
      {"kafka_properties",
       {{"kafka",
         "kafka:\n  brokers: \"127.0.0.1:9\"\n  topics: {events: in, alerts: out, letters: out}\n"
         "  properties: {test.mock.num.brokers: \"1\", acks: all, linger.ms: \"20\",\n"
         "               session.timeout.ms: \"6000\", heartbeat.interval.ms: \"1000\"}\n"}},
       ""},
  };
  for (const Case& c : cases) Check(c);
}

// Each of these passed check-config before and then failed in run (exit 1 or 78 without a YAML
// path) or was silently mishandled by it.
TEST_F(ConfigAgreementTest, RejectedConfigurationsAreRejectedByBoth) {
  const std::string mock(kMock);
  const std::string brokers = "kafka:\n  brokers: \"127.0.0.1:9\"\n";
  const std::vector<Case> cases = {
      // run: "http server ... an IP address is required", exit 1.
      {"listen_host_name",
       {{"http", "http: {listen: \"metrics.example.gov.vn:PORT\"}\n"}},
       "http.listen"},
      // run: every push failed, counted, never logged.
      {"alertmanager_ftp",
       {{"alertmanager", "alertmanager: {url: \"ftp://127.0.0.1:9\"}\n"}},
       "alertmanager.url"},
      {"alertmanager_credentials",
       {{"alertmanager", "alertmanager: {url: \"http://admin:secret@127.0.0.1:9\"}\n"}},
       "alertmanager.url"},
      // run: exit 78 from the producer, after start-up had begun.
      {"kafka_unknown_property",
       {{"kafka", brokers + "  properties: {test.mock.num.brokers: \"1\", no.such: \"1\"}\n"}},
       "kafka.properties.no.such"},
      {"kafka_acks_with_idempotence",
       {{"kafka", brokers + "  properties: {test.mock.num.brokers: \"1\", acks: \"1\"}\n"}},
       "kafka.properties"},
      // run: bootstrap.servers silently replaced kafka.brokers.
      {"kafka_brokers_in_properties",
       {{"kafka", brokers + "  properties: {bootstrap.servers: \"127.0.0.1:9\"}\n"}},
       "kafka.properties.bootstrap.servers"},
      // run: librdkafka could never connect, and only said so in warnings.
      {"kafka_bad_broker_port",
       {{"kafka", "kafka:\n  brokers: \"127.0.0.1:port\"\n" + mock}},
       "kafka.brokers"},
      // run: its dead letters came back as invalid events, without end.
      {"kafka_dead_letters_on_input",
       {{"kafka", brokers + "  topics: {events: in, dead_letters: in}\n" + mock}},
       "kafka.topics.dead_letters"},
      // run: subscribed to a regular expression.
      {"kafka_topic_pattern",
       {{"kafka", brokers + "  topics: {events: \"^dossier\"}\n" + mock}},
       "kafka.topics.events"},
      // check-config and run: "rules do not compile", with no YAML path.
      {"procedure_without_department",
       {{"procedures", "procedures:\n  - {code: \"1.004227\", sla: 15d}\n"}},
       "procedures[0].department"},
      // run: a snapshot (a producer flush and two broker queries) every millisecond.
      {"snapshot_interval_1ms",
       {{"snapshot_interval", "snapshot_interval: 1ms\n"}},
       "snapshot_interval"},
      // The new keys.
      {"letter_limit_without_escalation",
       {{"defaults", "defaults: {max_apology_letters: 2}\n"}},
       "escalation"},
      {"zero_clock_skew", {{"ingest", "ingest: {max_clock_skew: 0s}\n"}}, "ingest.max_clock_skew"},
      {"zero_output_age", {{"output", "output: {max_age: 0d}\n"}}, "output.max_age"},
      {"zero_apology_extension",
       {{"defaults", "defaults: {apology_extension: 0d}\n"}},
       "defaults.apology_extension"},
  };
  for (const Case& c : cases) Check(c);
}

}  // namespace
}  // namespace ontime::daemon
