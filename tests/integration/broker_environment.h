#pragma once
// One real Kafka broker (deploy/kafka-dev, KRaft) for the whole integration test process, shared
// by every test file in it: registered once with gtest (kBroker, an inline variable, so one
// instance however many files include this), started before the first test and stopped after the
// last. Header-only: the test binary is built from the directory's *_test.cc files.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace ontime::integration {

class BrokerEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    char tmpl[] = "/tmp/ontime-it-XXXXXX";
    dir_ = mkdtemp(tmpl);
    ASSERT_EQ(Run(Script() + " fetch"), 0) << "kafka.sh fetch failed";
    std::string out;
    ASSERT_EQ(Run(Script() + " start " + dir_ + "/broker", &out), 0) << out;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    bootstrap_ = out;
  }
  void TearDown() override {
    Run(Script() + " stop " + dir_ + "/broker");
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& dir() const { return dir_; }
  std::string broker_dir() const { return dir_ + "/broker"; }
  const std::string& bootstrap() const { return bootstrap_; }

  // deploy/kafka-dev/kafka.sh of this source tree (ctest sets ONTIME_SOURCE_DIR; run by hand, it
  // follows from this file's path).
  static std::string Script() {
    const char* source = std::getenv("ONTIME_SOURCE_DIR");
    std::filesystem::path root =
        source && *source
            ? std::filesystem::path(source)
            : std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
    return (root / "deploy/kafka-dev/kafka.sh").string();
  }
  // Runs a shell command; returns its exit status and, if asked, its standard output.
  static int Run(const std::string& command, std::string* out = nullptr) {
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return -1;
    std::string text;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) text.append(buf, n);
    int status = pclose(pipe);
    if (out) *out = text;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  std::string dir_;
  std::string bootstrap_;
};

inline BrokerEnvironment* const kBroker =
    static_cast<BrokerEnvironment*>(::testing::AddGlobalTestEnvironment(new BrokerEnvironment));

inline BrokerEnvironment& Broker() { return *kBroker; }

}  // namespace ontime::integration
