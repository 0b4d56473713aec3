#include "ontime/daemon/letter_document.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "fakes/small_rules.h"

namespace ontime::daemon {
namespace {

using testing::At;
using testing::Compile;
using testing::SmallRules;

// ONTIME_UPDATE_GOLDEN=1 rewrites the golden files from what the renderer gives now (then read
// the diff before committing it).
void ExpectGolden(const std::string& html, const std::string& name) {
  const std::string path = std::string(ONTIME_TEST_SOURCE_DIR) + "/tests/data/letters/" + name;
  if (std::getenv("ONTIME_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::binary) << html;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "no golden file " << path;
  std::ostringstream golden;
  golden << in.rdbuf();
  EXPECT_EQ(html, golden.str()) << "differs from " << path;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A letter event as dossier.apology-letters carries it.
constexpr std::string_view kLetter = R"({"letter_id":"HS-2026-0001:apology:1",
  "dossier_id":"HS-2026-0001","procedure":"1.004227","department":"SXD",
  "applicant":{"name":"Nguyễn Thị Hoa","address":"12 Lê Lợi, phường Hải Châu, Đà Nẵng",
               "phone":"0905 123 456","email":"hoa@example.vn"},
  "cycle":1,"accepted_at":"2026-02-20T09:15:00+07:00","original_due_at":"2026-03-05T16:30:00+07:00",
  "new_due_at":"2026-03-12T16:30:00+07:00",
  "reason":"The legal processing time ended before the result was ready.",
  "signer":{"name":"Nguyen Van A","title":"Giám đốc"},"issued_at":"2026-03-05T16:30:00+07:00",
  "form":"03/2025/TT-VPCP-04"})";

class LetterDocumentTest : public ::testing::Test {
 protected:
  LetterDocumentTest() : rules_(Compile(Rules())) {
    letters_.parent_agency = "Ủy ban nhân dân thành phố Đà Nẵng";
    letters_.place = "Đà Nẵng";
    letters_.departments["SXD"] = {"Sở Xây dựng", "SXD-VP"};
  }

  static rules::RulesConfig Rules() {
    rules::RulesConfig c = SmallRules();
    c.procedures[0].name = "Cấp giấy phép xây dựng";
    return c;
  }

  LetterFields Parse(std::string_view json) {
    Result<LetterFields> letter = ParseLetterJson(json);
    EXPECT_TRUE(letter.ok()) << (letter.ok() ? "" : letter.error().message);
    return letter.ok() ? *letter : LetterFields{};
  }

  std::shared_ptr<const rules::CompiledRules> rules_;
  LettersConfig letters_;
};

TEST_F(LetterDocumentTest, VietnameseDatesInTheCalendarsTimeZone) {
  const rules::BusinessCalendar& calendar = rules_->calendar();
  EXPECT_EQ(VietnameseDate(At("2026-03-05T09:00:00"), calendar), "ngày 05 tháng 3 năm 2026");
  EXPECT_EQ(VietnameseDate(At("2026-01-09T09:00:00"), calendar), "ngày 09 tháng 01 năm 2026");
  EXPECT_EQ(VietnameseDate(At("2026-12-25T00:30:00"), calendar), "ngày 25 tháng 12 năm 2026");
  // 18:00 UTC on 28 February is already 1 March at +07:00.
  EXPECT_EQ(VietnameseDate(*ParseRfc3339("2026-02-28T18:00:00Z"), calendar),
            "ngày 01 tháng 3 năm 2026");
  EXPECT_EQ(VietnameseDateTime(At("2026-03-05T16:30:00"), calendar),
            "16 giờ 30, ngày 05 tháng 3 năm 2026");
}

TEST_F(LetterDocumentTest, FormFourInVietnamese) {
  const LetterFields letter = Parse(kLetter);
  EXPECT_EQ(letter.letter_id, "HS-2026-0001:apology:1");
  EXPECT_EQ(letter.cycle, 1);
  ASSERT_TRUE(letter.applicant.has_value());
  EXPECT_EQ(letter.applicant->phone, "0905 123 456");
  const std::string html = RenderLetterHtml(letter, *rules_, letters_);
  for (const char* part : {
           "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
           "Độc lập - Tự do - Hạnh phúc",
           "VĂN BẢN XIN LỖI<br>VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT",
           "Sở Xây dựng",
           "Số: HS-2026-0001-1/SXD-VP",
           "Đà Nẵng, ngày 05 tháng 3 năm 2026",
           "Kính gửi: Ông/Bà Nguyễn Thị Hoa",
           "Địa chỉ: 12 Lê Lợi, phường Hải Châu, Đà Nẵng",
           "Số điện thoại: 0905 123 456",
           "Ngày 20 tháng 02 năm 2026, Sở Xây dựng tiếp nhận hồ sơ",
           "“Cấp giấy phép xây dựng” (mã thủ tục 1.004227)",
           "mã hồ sơ: <b id=\"dossier\">HS-2026-0001</b>",
           "hẹn trả kết quả: 16 giờ 30, ngày 05 tháng 3 năm 2026",
           "vì lý do: thời hạn giải quyết theo quy định đã hết",
           "thành thật xin lỗi Ông/Bà",
           "<b id=\"new-due\">16 giờ 30, ngày 12 tháng 3 năm 2026</b>",
           "Nơi nhận:",
           "<div class=\"title\">Giám đốc</div>",
           "<div class=\"name\">Nguyen Van A</div>",
           "@page { size: A4;",
       }) {
    EXPECT_TRUE(Contains(html, part)) << part;
  }
  ExpectGolden(html, "form04.html");
}

TEST_F(LetterDocumentTest, EveryTextFieldIsEscaped) {
  std::string json(kLetter);
  auto replace = [&](const std::string& from, const std::string& to) {
    json.replace(json.find(from), from.size(), to);
  };
  replace("Nguyễn Thị Hoa", "<script>alert(1)</script>");
  replace("12 Lê Lợi", "\\\"><img src=x onerror=alert(2)>");
  replace("0905 123 456", "1 & 2");
  replace("The legal processing time ended before the result was ready.",
          "hồ sơ <b>chưa</b> đủ 'chữ ký'");
  replace("Giám đốc", "</div><script>");
  letters_.departments["SXD"].agency = "Sở <Xây> dựng";
  const std::string html = RenderLetterHtml(Parse(json), *rules_, letters_);
  EXPECT_FALSE(Contains(html, "<script>")) << html;
  EXPECT_FALSE(Contains(html, "<img")) << html;
  EXPECT_TRUE(Contains(html, "Kính gửi: Ông/Bà &lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_TRUE(Contains(html, "Địa chỉ: &quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
  EXPECT_TRUE(Contains(html, "Số điện thoại: 1 &amp; 2"));
  EXPECT_TRUE(Contains(html, "vì lý do: hồ sơ &lt;b&gt;chưa&lt;/b&gt; đủ &#39;chữ ký&#39;"));
  EXPECT_TRUE(Contains(html, "Sở &lt;Xây&gt; dựng"));
  ExpectGolden(html, "form04_escaped.html");
}

TEST_F(LetterDocumentTest, MissingApplicantLeavesBlanksToFillIn) {
  std::string json(kLetter);
  const size_t begin = json.find("{\"name\"");
  json.replace(begin, json.find('}', begin) + 1 - begin, "null");
  const LetterFields letter = Parse(json);
  EXPECT_FALSE(letter.applicant.has_value());
  // No letterhead configured: the department's name and the default number prefix.
  const std::string html = RenderLetterHtml(letter, *rules_, LettersConfig{});
  EXPECT_TRUE(Contains(html, "Kính gửi: Ông/Bà ………………………………………"));
  EXPECT_TRUE(Contains(html, "Địa chỉ: ………………………………………"));
  EXPECT_TRUE(Contains(html, "Số: HS-2026-0001-1/XL-SXD"));
  EXPECT_TRUE(Contains(html, ">Construction</div>"));
  EXPECT_FALSE(Contains(html, "class=\"parent\""));
  ExpectGolden(html, "form04_no_applicant.html");
}

TEST_F(LetterDocumentTest, BadEventsAreErrorsNamingTheField) {
  EXPECT_EQ(ParseLetterJson("not json").error().code, "letter_json");
  EXPECT_EQ(ParseLetterJson("[1]").error().message, "not a JSON object");
  EXPECT_EQ(ParseLetterJson(R"({"letter_id":"x"})").error().message, "missing \"dossier_id\"");
  std::string json(kLetter);
  json.replace(json.find("2026-03-12T16:30:00+07:00"), 25, "next week");
  EXPECT_EQ(ParseLetterJson(json).error().message,
            "\"new_due_at\" is not an RFC 3339 timestamp: \"next week\"");
}

}  // namespace
}  // namespace ontime::daemon
