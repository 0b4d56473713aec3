// `ontimed replay` end to end, in-process: a small file with valid, invalid, duplicate,
// CloudEvents and numeric-status lines; the emitted alerts and letters and the report are compared
// with hand-computed expected files (tests/data/replay/).

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ontime/daemon/cli.h"

namespace ontime::daemon {
namespace {

std::string SourceDir() {
  const char* dir = std::getenv("ONTIME_SOURCE_DIR");
  return dir ? dir : ONTIME_TEST_SOURCE_DIR;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ontime-replay-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  int Run(std::vector<std::string> args) {
    args.insert(args.begin(), "ontimed");
    out_.str("");
    err_.str("");
    return RunCommandLine(args, out_, err_);
  }

  std::filesystem::path dir_;
  std::ostringstream out_;
  std::ostringstream err_;
  std::string data_ = SourceDir() + "/tests/data/replay";
};

TEST_F(ReplayTest, EmitsExactlyTheExpectedAlertsAndLetters) {
  std::string emit = dir_ / "emit.jsonl";
  std::string report = dir_ / "report.json";
  ASSERT_EQ(Run({"replay", "--config", data_ + "/config.yaml", "--events", data_ + "/events.jsonl",
                 "--emit", emit, "--report", report}),
            0)
      << err_.str();
  EXPECT_EQ(ReadFile(emit), ReadFile(data_ + "/expected_emit.jsonl"));
  EXPECT_EQ(ReadFile(report), ReadFile(data_ + "/expected_report.json"));
  EXPECT_NE(out_.str().find("replayed 9 events"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("invalid 2, duplicates 1"), std::string::npos) << out_.str();
}

TEST_F(ReplayTest, NowMovesTheClockAndFiresWhatFellDue) {
  std::string emit = dir_ / "emit.jsonl";
  std::string events = dir_ / "events.jsonl";
  std::ofstream(events)
      << R"({"event_id":"a","type":"accepted","dossier_id":"N1","occurred_at":"2026-03-02T09:00:00+07:00","procedure":"PFEE"})"
      << "\n";
  ASSERT_EQ(Run({"replay", "--config", data_ + "/config.yaml", "--events", events, "--emit", emit,
                 "--now", "2026-03-04T09:00:00.001+07:00"}),
            0)
      << err_.str();
  std::string emitted = ReadFile(emit);
  EXPECT_NE(emitted.find("\"N1:at_risk:1\""), std::string::npos);
  EXPECT_NE(emitted.find("\"N1:overdue:1\""), std::string::npos);
  EXPECT_NE(emitted.find("\"N1:apology:1\""), std::string::npos);
  ASSERT_EQ(Run({"replay", "--config", data_ + "/config.yaml", "--events", events, "--emit", emit,
                 "--now", "2026-03-04T09:00:00+07:00"}),
            0);
  EXPECT_EQ(ReadFile(emit).find("overdue"), std::string::npos)
      << "a timer exactly at --now does not fire";
}

// One wild occurred_at must neither hang replay nor make every open dossier breach up to it.
TEST_F(ReplayTest, WildEventTimesAreInvalidAndMoveNoClock) {
  std::string emit = dir_ / "emit.jsonl";
  std::string report = dir_ / "report.json";
  std::string events = dir_ / "events.jsonl";
  std::ofstream(events)
      << R"({"event_id":"a","type":"accepted","dossier_id":"W1","occurred_at":"2026-03-02T09:00:00+07:00","procedure":"PFEE"})"
      << "\n"
      << R"({"event_id":"b","type":"rated","dossier_id":"W1","occurred_at":"2300-01-01T00:00:00Z","rating":"satisfied"})"
      << "\n"
      << R"({"event_id":"c","type":"accepted","dossier_id":"W2","occurred_at":"2150-01-01T00:00:00Z","procedure":"PFEE"})"
      << "\n"
      << R"({"event_id":"d","type":"resolved","dossier_id":"W1","occurred_at":"2026-03-02T10:00:00+07:00"})"
      << "\n";
  ASSERT_EQ(Run({"replay", "--config", data_ + "/config.yaml", "--events", events, "--emit", emit,
                 "--report", report, "--now", "2026-03-02T11:00:00+07:00"}),
            0)
      << err_.str();
  EXPECT_EQ(ReadFile(emit), "") << "nothing fell due: the clock never left 2 March";
  std::string text = ReadFile(report);
  EXPECT_NE(text.find(R"("line":2,"reason":"time_out_of_range")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("line":3,"reason":"future_event")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("outcome":"on_time")"), std::string::npos) << text;
  EXPECT_NE(out_.str().find("invalid 2"), std::string::npos) << out_.str();

  // Without --now there is no "future", only the range: the 2150 dossier is accepted.
  ASSERT_EQ(
      Run({"replay", "--config", data_ + "/config.yaml", "--events", events, "--report", report}),
      0);
  EXPECT_NE(ReadFile(report).find(R"("line":2,"reason":"time_out_of_range")"), std::string::npos);
  EXPECT_NE(out_.str().find("invalid 1"), std::string::npos) << out_.str();
  EXPECT_EQ(Run({"replay", "--config", data_ + "/config.yaml", "--events", events, "--now",
                 "2300-01-01T00:00:00Z"}),
            1);
}

TEST_F(ReplayTest, BadConfigurationExits78WithEveryErrorAndItsPath) {
  std::string config = dir_ / "bad.yaml";
  std::ofstream(config)
      << "calendar:\n  timezone: Asia/Ho_Chi_Minh\n  working_hours: {mon-fri: [\"07:30-11:30\"]}\n"
         "departments:\n  - {code: SXD, head: {name: A, title: B, email: c}}\n"
         "procedures:\n  - {code: P, department: SXX, sla: 15x}\n";
  EXPECT_EQ(Run({"check-config", "--config", config}), 78);
  EXPECT_NE(err_.str().find("procedures[0].sla"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("procedures[0].department"), std::string::npos) << err_.str();
}

TEST_F(ReplayTest, DuePrintsTheDueInstant) {
  ASSERT_EQ(Run({"due", "--config", data_ + "/config.yaml", "--procedure", "P2D", "--accepted",
                 "2026-03-04T09:00:00+07:00"}),
            0)
      << err_.str();
  // 16h from Wed 09:00: Wed 6.5h, Thu 8h, Friday holiday, Saturday make-up 07:30-09:00.
  EXPECT_EQ(out_.str(), "2026-03-07T09:00:00+07:00\n");
}

TEST_F(ReplayTest, UnknownCommandsAndOptionsAreUsageErrors) {
  EXPECT_EQ(Run({"frobnicate"}), 64);
  EXPECT_EQ(Run({"replay", "--config"}), 64);
  EXPECT_EQ(Run({"replay", "--bogus", "x"}), 64);
}

}  // namespace
}  // namespace ontime::daemon
