// The JSON forms of emitted values: escaping, seconds with milliseconds.

#include "ontime/streams/json_output.h"

#include <gtest/gtest.h>

namespace ontime::streams {
namespace {

TEST(JsonOutput, EscapesWhatJsonRequiresAndKeepsUtf8) {
  const std::pair<std::string, std::string> table[] = {
      {"plain", R"("plain")"},
      {"Nguyễn Văn A", "\"Nguyễn Văn A\""},
      {"say \"hi\"", R"("say \"hi\"")"},
      {"back\\slash", R"("back\\slash")"},
      {"line\nbreak\ttab\r", R"("line\nbreak\ttab\r")"},
      {std::string("nul\0x", 5), R"("nul\u0000x")"},
      {"", R"("")"},
  };
  for (const auto& [input, expected] : table) {
    std::string out;
    AppendJsonString(out, input);
    EXPECT_EQ(out, expected);
  }
}

TEST(JsonOutput, SecondsKeepTheMillisecond) {
  const std::pair<int64_t, std::string> table[] = {
      {3'600'000, "3600"}, {0, "0"}, {-12'500, "-12.500"}, {57'600'001, "57600.001"}};
  for (const auto& [ms, expected] : table) {
    std::string out;
    AppendJsonSeconds(out, Duration{ms});
    EXPECT_EQ(out, expected);
  }
}

}  // namespace
}  // namespace ontime::streams
