// The configuration keys of what people see: the HTTP token and timeline, the letters section,
// Alertmanager over TLS with credentials.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ontime/daemon/config.h"

namespace ontime::daemon {
namespace {

using ::testing::ElementsAre;

constexpr std::string_view kRules =
    "calendar:\n"
    "  working_hours: {mon-fri: [\"07:30-11:30\", \"13:00-17:00\"]}\n"
    "departments:\n"
    "  - {code: SXD, name: Construction, head: {name: A, title: Director}}\n";

ConfigResult Load(std::string_view rest) {
  return LoadConfigString(std::string(kRules) + std::string(rest));
}

std::vector<std::string> ErrorStrings(const ConfigResult& result) {
  std::vector<std::string> out;
  for (const ConfigError& error : result.errors) out.push_back(error.ToString());
  return out;
}

class ConfigViewsTest : public ::testing::Test {
 protected:
  ConfigViewsTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("ontime-config-views-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(dir_);
  }
  ~ConfigViewsTest() override { std::filesystem::remove_all(dir_); }

  std::string File(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  std::string dir_;
};

TEST_F(ConfigViewsTest, HttpTokenFromItsFileAndTheTimelineLimit) {
  const std::string token = File("token", "s3cret\n");
  const ConfigResult result = Load("http: {listen: \"127.0.0.1:9464\", token_file: \"" + token +
                                   "\", token_for_health: true, timeline_limit: \"64\"}\n");
  ASSERT_TRUE(result.ok()) << ErrorStrings(result)[0];
  EXPECT_EQ(result.config->http.token, "s3cret");
  EXPECT_TRUE(result.config->http.token_for_health);
  EXPECT_EQ(result.config->http.timeline_limit, 64u);
  EXPECT_EQ(Load("").config->http.timeline_limit, 32u);
  EXPECT_TRUE(Load("").config->http.token.empty());

  const std::string empty = File("empty", " \n");
  EXPECT_THAT(ErrorStrings(Load("http: {token_file: \"" + empty + "\"}\n")),
              ElementsAre("http.token_file: \"" + empty + "\" is empty"));
  EXPECT_THAT(ErrorStrings(Load("http: {token_file: /nonexistent/token}\n")),
              ElementsAre("http.token_file: cannot read \"/nonexistent/token\": No such file or "
                          "directory"));
  EXPECT_THAT(ErrorStrings(Load("http: {token_for_health: true, timeline_limit: 5000}\n")),
              ElementsAre("http.token_for_health: needs http.token_file",
                          "http.timeline_limit: must be at most 1000"));
}

TEST_F(ConfigViewsTest, LetterheadsByDepartment) {
  const ConfigResult result = Load(
      "letters:\n"
      "  parent_agency: \"UBND tỉnh Đắk Lắk\"\n"
      "  place: \"Buôn Ma Thuột\"\n"
      "  keep: 500\n"
      "  departments: {SXD: {agency: \"Sở Xây dựng\", number_prefix: \"SXD-XL\"}}\n");
  ASSERT_TRUE(result.ok()) << ErrorStrings(result)[0];
  const LettersConfig& letters = result.config->letters;
  EXPECT_EQ(letters.parent_agency, "UBND tỉnh Đắk Lắk");
  EXPECT_EQ(letters.place, "Buôn Ma Thuột");
  EXPECT_EQ(letters.keep, 500u);
  EXPECT_EQ(letters.departments.at("SXD").agency, "Sở Xây dựng");
  EXPECT_EQ(letters.departments.at("SXD").number_prefix, "SXD-XL");

  EXPECT_THAT(ErrorStrings(Load("letters:\n"
                                "  departments:\n"
                                "    TAX: {agency: Tax}\n"
                                "    SXD: {agency: \"\", number_prefix: \"a b\", motto: x}\n")),
              ElementsAre("letters.departments.TAX: unknown department \"TAX\"",
                          "letters.departments.SXD.agency: must not be empty",
                          "letters.departments.SXD.number_prefix: \"a b\" must be 1 to 32 "
                          "letters, digits, '-', '/', '.' or '_'",
                          "letters.departments.SXD.motto: unknown key \"motto\""));
}

TEST_F(ConfigViewsTest, AlertmanagerOverTlsWithCredentials) {
  const std::string ca = File("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  const std::string token = File("am.token", "t0ken\n");
  const std::string password = File("am.password", "pa55\n");
  ConfigResult result = Load(
      "alertmanager:\n  url: \"https://am.example.gov.vn\"\n"
      "  tls: {ca_file: \"" +
      ca + "\"}\n  bearer_token_file: \"" + token + "\"\n");
  ASSERT_TRUE(result.ok()) << ErrorStrings(result)[0];
  EXPECT_EQ(result.config->alertmanager.ca_file, ca);
  EXPECT_EQ(result.config->alertmanager.bearer_token, "t0ken");

  result = Load(
      "alertmanager:\n  url: \"https://am.example.gov.vn\"\n"
      "  basic_auth: {username: ontime, password_file: \"" +
      password + "\"}\n");
  ASSERT_TRUE(result.ok()) << ErrorStrings(result)[0];
  EXPECT_EQ(result.config->alertmanager.basic_username, "ontime");
  EXPECT_EQ(result.config->alertmanager.basic_password, "pa55");

  EXPECT_THAT(
      ErrorStrings(Load("alertmanager:\n  url: \"http://127.0.0.1:9093\"\n"
                        "  tls: {cert_file: \"" +
                        ca + "\"}\n  bearer_token_file: \"" + token +
                        "\"\n  basic_auth: {username: ontime}\n")),
      ElementsAre("alertmanager.tls: cert_file and key_file go together (a client certificate "
                  "and its key)",
                  "alertmanager.tls: only applies to an https:// url",
                  "alertmanager.basic_auth.password_file: missing (required)",
                  "alertmanager.basic_auth: give bearer_token_file or basic_auth, not both"));
}

}  // namespace
}  // namespace ontime::daemon
