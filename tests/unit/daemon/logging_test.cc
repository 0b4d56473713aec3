// The logger is private to the daemon module (daemon/src), hence the relative include.
#include "ontime/daemon/logging.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace ontime::daemon {
namespace {

using namespace std::chrono_literals;

class LoggingTest : public ::testing::Test {
 protected:
  Logger MakeLogger(std::string_view level) {
    return Logger(out_, level, {.journal = false, .clock = &clock_, .repeat_interval = 10s});
  }
  std::string Take() {
    std::string s = out_.str();
    out_.str("");
    return s;
  }

  std::ostringstream out_;
  ManualClock clock_{Instant{}};
};

TEST_F(LoggingTest, StreamLinesCanCarryTheirInstant) {
  ManualClock clock(*ParseRfc3339("2026-12-01T09:30:00.250Z"));
  Logger log(out_, "info", {.journal = false, .clock = &clock, .timestamps = true});
  log.Info("partition restored", {{"partition", "3"}});
  EXPECT_EQ(Take(), "2026-12-01T09:30:00.250Z info partition restored partition=3\n");
}

TEST_F(LoggingTest, DropsLevelsBelowTheConfiguredOne) {
  Logger log = MakeLogger("warning");
  log.Debug("d");
  log.Info("i");
  log.Warning("w");
  log.Error("e");
  EXPECT_EQ(Take(), "warning w\nerror e\n");
  EXPECT_FALSE(log.Enabled(LogLevel::kInfo));
  EXPECT_TRUE(log.Enabled(LogLevel::kError));

  log.set_level("debug");
  log.Debug("d");
  EXPECT_EQ(Take(), "debug d\n");
  log.set_level("nonsense");  // anything unknown is info
  log.Debug("d");
  log.Info("i");
  EXPECT_EQ(Take(), "info i\n");
}

TEST_F(LoggingTest, RendersFieldsAsKeyValuePairsQuotingWhereNeeded) {
  Logger log = MakeLogger("debug");
  log.Debug("alert", {{"dossier_id", "H01.2025.000123"},
                      {"department", "SXD"},
                      {"alert_kind", "overdue"},
                      {"note", "two words \"quoted\""},
                      {"empty", ""}});
  EXPECT_EQ(Take(),
            "debug alert dossier_id=H01.2025.000123 department=SXD alert_kind=overdue "
            "note=\"two words \\\"quoted\\\"\" empty=\"\"\n");
}

TEST_F(LoggingTest, RepeatedWarningsPrintOncePerIntervalWithTheirCount) {
  Logger log = MakeLogger("info");
  log.Warning("kafka: client error", {{"error", "a"}});
  for (int i = 0; i < 57; ++i) {
    clock_.Advance(100ms);
    log.Warning("kafka: client error", {{"error", "b"}});
  }
  log.Warning("another warning");  // a different message is limited on its own
  EXPECT_EQ(Take(), "warning kafka: client error error=a\nwarning another warning\n");

  clock_.Advance(10s);
  log.Warning("kafka: client error", {{"error", "c"}});
  EXPECT_EQ(Take(), "warning kafka: client error (repeated 57 times) error=c\n");

  clock_.Advance(10s);  // nothing swallowed since: no count
  log.Error("kafka: client error");
  EXPECT_EQ(Take(), "error kafka: client error\n");
}

TEST_F(LoggingTest, InfoAndDebugAreNotRateLimited) {
  Logger log = MakeLogger("debug");
  log.Info("snapshot written");
  log.Info("snapshot written");
  log.Debug("alert");
  log.Debug("alert");
  EXPECT_EQ(Take(), "info snapshot written\ninfo snapshot written\ndebug alert\ndebug alert\n");
}

TEST_F(LoggingTest, DroppedLevelsDoNotCountAsRepeats) {
  Logger log = MakeLogger("error");
  log.Warning("w");
  log.Warning("w");
  log.set_level("warning");
  log.Warning("w");
  EXPECT_EQ(Take(), "warning w\n");
}

TEST(JournalTest, NotDetectedWithoutJournalStream) {
  const char* saved = std::getenv("JOURNAL_STREAM");
  std::string saved_value = saved ? saved : "";
  unsetenv("JOURNAL_STREAM");
  EXPECT_FALSE(StderrIsJournal());
  std::ostringstream out;
  Logger log(out, "info");  // not std::cerr: always the stream
  log.Info("hello");
  EXPECT_EQ(out.str(), "info hello\n");
  if (saved) setenv("JOURNAL_STREAM", saved_value.c_str(), 1);
}

TEST(JournalTest, DetectsAStreamByDeviceAndInode) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  int fd = fileno(f);
  struct stat st {};
  ASSERT_EQ(fstat(fd, &st), 0);
  std::string same = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
  EXPECT_TRUE(IsJournalStream(fd, same.c_str()));
  EXPECT_FALSE(IsJournalStream(fd, other.c_str()));
  EXPECT_FALSE(IsJournalStream(fd, nullptr));
  EXPECT_FALSE(IsJournalStream(fd, ""));
  EXPECT_FALSE(IsJournalStream(fd, "garbage"));
  std::fclose(f);
}

TEST(JournalTest, FieldsAreUpperCasedJournalFields) {
  std::vector<std::string> fields = JournalFields(
      LogLevel::kWarning, "alert",
      {{"dossier_id", "D1"}, {"department", "SXD"}, {"alert-kind", "at_risk"}, {"_trusted", "x"}});
  EXPECT_EQ(fields, (std::vector<std::string>{
                        "MESSAGE=alert", "PRIORITY=4", "SYSLOG_IDENTIFIER=ontimed", "DOSSIER_ID=D1",
                        "DEPARTMENT=SXD", "ALERT_KIND=at_risk", "F_TRUSTED=x"}));
}

}  // namespace
}  // namespace ontime::daemon
