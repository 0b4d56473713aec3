#include "ontime/testdata/generate.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "generator_fixtures.h"

namespace ontime::testdata {
namespace {

// A minimal JSON syntax check (objects, arrays, strings, numbers, literals), enough to tell the
// generator's deliberate breakage from well-formed lines.
class JsonCheck {
 public:
  explicit JsonCheck(std::string_view s) : s_(s) {}
  bool Object() {
    Ws();
    if (!Value(true)) return false;
    Ws();
    return pos_ == s_.size();
  }

 private:
  void Ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  bool Eat(char c) {
    Ws();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool String() {
    if (!Eat('"')) return false;
    while (pos_ < s_.size() && s_[pos_] != '"') pos_ += s_[pos_] == '\\' ? 2 : 1;
    return pos_++ < s_.size();
  }
  bool Value(bool object_only = false) {
    Ws();
    if (pos_ >= s_.size()) return false;
    char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      if (Eat('}')) return true;
      do {
        if (!String() || !Eat(':') || !Value()) return false;
      } while (Eat(','));
      return Eat('}');
    }
    if (object_only) return false;
    if (c == '[') {
      ++pos_;
      if (Eat(']')) return true;
      do {
        if (!Value()) return false;
      } while (Eat(','));
      return Eat(']');
    }
    if (c == '"') return String();
    size_t start = pos_;
    while (pos_ < s_.size() &&
           std::string_view("-+.eE0123456789truefalsn").find(s_[pos_]) != std::string_view::npos)
      ++pos_;
    return pos_ > start;
  }
  std::string_view s_;
  size_t pos_ = 0;
};

std::string Field(std::string_view line, std::string_view key) {
  std::string pattern = "\"" + std::string(key) + "\":\"";
  size_t p = line.find(pattern);
  if (p == std::string_view::npos) return {};
  p += pattern.size();
  return std::string(line.substr(p, line.find('"', p) - p));
}

std::string Generate(const GenerateOptions& o, size_t* count = nullptr) {
  std::ostringstream out;
  Result<size_t> n = GenerateEvents(TestRules(), o, out);
  EXPECT_TRUE(n.ok());
  if (count && n.ok()) *count = *n;
  return out.str();
}

TEST(GenerateTest, DeterministicForASeed) {
  std::string a = Generate(Options(5, 200, 7, 0.01));
  std::string b = Generate(Options(5, 200, 7, 0.01));
  std::string c = Generate(Options(5, 200, 8, 0.01));
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(GenerateTest, ReturnsTheNumberOfLines) {
  size_t n = 0;
  std::string text = Generate(Options(3, 100, 1, 0.0), &n);
  EXPECT_EQ(n, Lines(text).size());
}

TEST(GenerateTest, WellFormedLinesWithTheRequiredFieldsInTimeOrder) {
  std::vector<std::string> lines = Lines(Generate(Options(10, 300, 3, 0.0)));
  ASSERT_GT(lines.size(), 10000u);
  Instant last{};
  std::set<std::string> ids;
  int cloud = 0, numeric = 0;
  for (const std::string& line : lines) {
    ASSERT_TRUE(JsonCheck(line).Object()) << line;
    bool is_cloud = line.starts_with(R"({"specversion":"1.0")");
    cloud += is_cloud;
    std::string id = Field(line, is_cloud ? "id" : "event_id");
    std::string dossier = Field(line, is_cloud ? "subject" : "dossier_id");
    std::string at = Field(line, is_cloud ? "time" : "occurred_at");
    ASSERT_FALSE(id.empty()) << line;
    ASSERT_FALSE(dossier.empty()) << line;
    ASSERT_TRUE(id.starts_with(dossier + "-")) << line;
    ASSERT_TRUE(ids.insert(id).second) << "duplicate " << line;
    if (!is_cloud && line.find(R"("type":")") == std::string::npos) {
      ASSERT_NE(line.find(R"("status":)"), std::string::npos) << line;
      ++numeric;
    }
    auto t = ParseRfc3339(at);
    ASSERT_TRUE(t.has_value()) << line;
    ASSERT_TRUE(at.ends_with("+07:00")) << line;
    ASSERT_GE(*t, last) << line;
    last = *t;
    if (line.find(R"("accepted")") != std::string::npos ||
        line.find(R"(dossier.accepted")") != std::string::npos) {
      ASSERT_FALSE(Field(line, "procedure").empty()) << line;
    }
  }
  EXPECT_GT(cloud, 0);
  EXPECT_GT(numeric, 0);
}

TEST(GenerateTest, RealisticMix) {
  std::vector<std::string> lines = Lines(Generate(Options(10, 300, 5, 0.0)));
  std::set<std::string> accepted_ids;
  int online = 0, resolved = 0, supplements = 0, transfers = 0, extended = 0;
  for (const std::string& line : lines) {
    bool is_cloud = line.starts_with(R"({"specversion")");
    std::string dossier = Field(line, is_cloud ? "subject" : "dossier_id");
    if (line.find("accepted\"") != std::string::npos ||
        line.find(R"("status":2,)") != std::string::npos) {
      ASSERT_TRUE(accepted_ids.insert(dossier).second) << line;
      online += Field(line, "channel") == "online";
      if (Field(line, "channel") == "direct") {
        EXPECT_NE(line.find("reception_seconds"), std::string::npos) << line;
      }
    }
    resolved += line.find("resolved\"") != std::string::npos;
    supplements += line.find("supplement_requested\"") != std::string::npos;
    transfers += line.find("transferred\"") != std::string::npos;
    extended += line.find("extended\"") != std::string::npos;
  }
  // 10 calendar days from a Monday: 8 working days of 300 +- 10%.
  double dossiers = static_cast<double>(accepted_ids.size());
  EXPECT_GT(dossiers, 8 * 300 * 0.9);
  EXPECT_LT(dossiers, 8 * 300 * 1.1);
  EXPECT_GT(online / dossiers, 0.80);
  EXPECT_GT(resolved / dossiers, 0.9);
  EXPECT_GT(supplements / dossiers, 0.05);
  EXPECT_LT(supplements / dossiers, 0.15);
  EXPECT_GT(transfers, 0);
  EXPECT_GT(extended, 0);
}

TEST(GenerateTest, BreaksTheRequestedFractionOfLines) {
  std::vector<std::string> lines = Lines(Generate(Options(5, 300, 9, 0.05)));
  int broken = 0;
  for (const std::string& line : lines) {
    bool ok = JsonCheck(line).Object() && !Field(line, "dossier_id").empty() &&
              ParseRfc3339(Field(line, "occurred_at")).has_value() &&
              line.find("9.999999") == std::string::npos;
    bool is_cloud = line.starts_with(R"({"specversion")");
    broken += !ok && !is_cloud;
  }
  double share = static_cast<double>(broken) / static_cast<double>(lines.size());
  EXPECT_GT(share, 0.03);
  EXPECT_LT(share, 0.07);
}

TEST(GenerateTest, NoArrivalsOnHolidaysAndTheOffsetInForceAtStart) {
  rules::RulesConfig r = TestRules();
  // As the time-zone database has it: +08:00 until 1975, +07:00 since.
  r.calendar.utc_offsets = {{Instant{} - std::chrono::hours(24 * 365 * 30), std::chrono::hours(8)},
                            {*ParseRfc3339("1975-06-13T00:00:00+08:00"), std::chrono::hours(7)}};
  r.calendar.builtin_holidays = rules::BuiltinHolidays::kVietnam;
  GenerateOptions o = Options(7, 200, 2, 0.0);
  // Mon 27/4/2026 is off for the Hung Kings day (Sun 26/4), Thu 30/4 and Fri 1/5 are holidays.
  o.first_day = *ParseDate("2026-04-27");
  std::ostringstream out;
  ASSERT_TRUE(GenerateEvents(r, o, out).ok());
  int accepted = 0;
  for (const std::string& line : Lines(out.str())) {
    bool is_cloud = line.starts_with(R"({"specversion")");
    std::string at = Field(line, is_cloud ? "time" : "occurred_at");
    ASSERT_TRUE(at.ends_with("+07:00")) << line;
    if (line.find("accepted\"") == std::string::npos) continue;
    ++accepted;
    EXPECT_TRUE(at.starts_with("2026-04-28") || at.starts_with("2026-04-29")) << line;
  }
  EXPECT_GT(accepted, 2 * 200 * 0.9);
  EXPECT_LT(accepted, 2 * 200 * 1.1);
}

TEST(GenerateTest, NothingForAnEmptyConfiguration) {
  std::ostringstream out;
  Result<size_t> lines = GenerateEvents(rules::RulesConfig{}, Options(3, 10, 1, 0.0), out);
  ASSERT_TRUE(lines.ok());
  EXPECT_EQ(*lines, 0u);
  EXPECT_TRUE(out.str().empty());
}

}  // namespace
}  // namespace ontime::testdata
