#include "ontime/daemon/letter_document.h"

#include <simdjson.h>

#include <chrono>
#include <cstdio>

namespace ontime::daemon {
namespace {

using simdjson::dom::element;

// The engine's one reason (rules/src/engine.cc), in the letter's language; any other reason (a
// future engine's, or an upstream one) is printed as given.
constexpr std::string_view kEngineReason =
    "The legal processing time ended before the result was ready.";
constexpr std::string_view kEngineReasonVi =
    "thời hạn giải quyết theo quy định đã hết trước khi có kết quả giải quyết hồ sơ.";

constexpr std::string_view kBlank = "………………………………………";

std::string Two(unsigned value) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%02u", value % 100);
  return buffer;
}

std::chrono::sys_time<Duration> Local(Instant t, const rules::BusinessCalendar& calendar) {
  return t + std::chrono::duration_cast<Duration>(calendar.UtcOffsetAt(t));
}

Result<std::string> StringField(const element& top, const char* key, bool required) {
  element value;
  if (top[key].get(value) != simdjson::SUCCESS || value.is_null()) {
    if (required) return Error{"letter_json", std::string("missing \"") + key + "\""};
    return std::string();
  }
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) {
    return Error{"letter_json", std::string("\"") + key + "\" is not a string"};
  }
  return std::string(text);
}

Result<Instant> TimeField(const element& top, const char* key) {
  Result<std::string> text = StringField(top, key, true);
  if (!text.ok()) return text.error();
  std::optional<Instant> t = ParseRfc3339(*text);
  if (!t) {
    return Error{"letter_json",
                 std::string("\"") + key + "\" is not an RFC 3339 timestamp: \"" + *text + "\""};
  }
  return *t;
}

const rules::Procedure* FindProcedure(const rules::CompiledRules& rules, std::string_view code) {
  std::optional<uint32_t> i = rules.FindProcedure(code);
  return i ? &rules.procedure(*i) : nullptr;
}

const rules::Department* FindDepartment(const rules::CompiledRules& rules, std::string_view code) {
  std::optional<uint32_t> i = rules.FindDepartment(code);
  return i ? &rules.department(*i) : nullptr;
}

// Print CSS: one A4 page, the margins of Decree 30/2020/ND-CP (top/bottom 20 mm, left 30 mm,
// right 15 mm), Times New Roman 13-14 pt. On screen the same page on a grey desk.
constexpr std::string_view kStyle = R"(<style>
@page { size: A4; margin: 20mm 15mm 20mm 30mm; }
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; }
body { font-family: "Times New Roman", "Liberation Serif", "DejaVu Serif", serif; font-size: 13pt;
  line-height: 1.35; color: #000; }
.page { width: 165mm; margin: 0 auto; }
@media screen {
  body { background: #d9d9d9; }
  .page { width: 210mm; min-height: 297mm; padding: 20mm 15mm 20mm 30mm; margin: 8mm auto;
    background: #fff; box-shadow: 0 1mm 4mm rgba(0,0,0,.3); }
}
table.head, table.foot { width: 100%; border-collapse: collapse; }
table.head td, table.foot td { vertical-align: top; padding: 0; }
.agency { width: 38%; text-align: center; }
.nation { width: 62%; text-align: center; }
.parent { text-transform: uppercase; font-size: 12pt; }
.agency-name { font-weight: bold; text-transform: uppercase; font-size: 12pt; }
.motto { font-weight: bold; font-size: 12pt; white-space: nowrap; }
.motto + .motto { font-size: 13pt; }
.rule { width: 30%; margin: 1mm auto 2mm; border-top: 0.6pt solid #000; }
.motto + .rule { width: 55%; }
.number { font-size: 13pt; }
.date { font-style: italic; text-align: right; padding-top: 2mm; }
h1 { font-size: 14pt; text-align: center; margin: 8mm 0 5mm; line-height: 1.3; }
p { margin: 0 0 2.5mm; text-align: justify; text-indent: 10mm; }
p.plain { text-indent: 0; }
.to { text-align: center; text-indent: 0; margin-bottom: 4mm; }
.recipients { width: 45%; font-size: 11pt; padding-top: 4mm !important; }
.recipients .label { font-weight: bold; font-style: italic; font-size: 12pt; }
.sign { width: 55%; text-align: center; padding-top: 4mm !important; }
.sign .title { font-weight: bold; text-transform: uppercase; }
.sign .hint { font-style: italic; font-size: 12pt; }
.sign .name { font-weight: bold; margin-top: 22mm; }
.form { margin-top: 10mm; font-size: 9pt; color: #444; text-align: left; }
</style>
)";

}  // namespace

void AppendHtmlEscaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
}

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendHtmlEscaped(out, text);
  return out;
}

std::string VietnameseDate(Instant t, const rules::BusinessCalendar& calendar) {
  const std::chrono::year_month_day day{std::chrono::floor<std::chrono::days>(Local(t, calendar))};
  const unsigned month = static_cast<unsigned>(day.month());
  return "ngày " + Two(static_cast<unsigned>(day.day())) + " tháng " +
         (month < 3 ? Two(month) : std::to_string(month)) + " năm " +
         std::to_string(static_cast<int>(day.year()));
}

std::string VietnameseDateTime(Instant t, const rules::BusinessCalendar& calendar) {
  const auto local = Local(t, calendar);
  const std::chrono::hh_mm_ss time{local - std::chrono::floor<std::chrono::days>(local)};
  return Two(static_cast<unsigned>(time.hours().count())) + " giờ " +
         Two(static_cast<unsigned>(time.minutes().count())) + ", " + VietnameseDate(t, calendar);
}

std::string LetterNumber(const LetterFields& letter, const LettersConfig& letters) {
  std::string prefix = "XL-" + letter.department;
  if (auto it = letters.departments.find(letter.department);
      it != letters.departments.end() && !it->second.number_prefix.empty()) {
    prefix = it->second.number_prefix;
  }
  return letter.dossier_id + "-" + std::to_string(letter.cycle) + "/" + prefix;
}

Result<LetterFields> ParseLetterJson(std::string_view json) {
  simdjson::dom::parser parser;
  element top;
  const simdjson::padded_string padded(json);
  if (auto error = parser.parse(padded).get(top); error != simdjson::SUCCESS) {
    return Error{"letter_json", std::string("not JSON: ") + simdjson::error_message(error)};
  }
  if (!top.is_object()) return Error{"letter_json", "not a JSON object"};
  LetterFields letter;
  struct Text {
    const char* key;
    std::string* out;
    bool required;
  };
  for (const Text& field :
       {Text{"letter_id", &letter.letter_id, true}, Text{"dossier_id", &letter.dossier_id, true},
        Text{"procedure", &letter.procedure, true}, Text{"department", &letter.department, true},
        Text{"reason", &letter.reason, false}}) {
    Result<std::string> value = StringField(top, field.key, field.required);
    if (!value.ok()) return value.error();
    *field.out = std::move(value).value();
  }
  struct Time {
    const char* key;
    Instant* out;
  };
  for (const Time& field :
       {Time{"accepted_at", &letter.accepted_at}, Time{"original_due_at", &letter.original_due_at},
        Time{"new_due_at", &letter.new_due_at}, Time{"issued_at", &letter.issued_at}}) {
    Result<Instant> value = TimeField(top, field.key);
    if (!value.ok()) return value.error();
    *field.out = *value;
  }
  element applicant;
  if (top["applicant"].get(applicant) == simdjson::SUCCESS && !applicant.is_null()) {
    if (!applicant.is_object()) return Error{"letter_json", "\"applicant\" is not an object"};
    LetterFields::Applicant a;
    for (const Text& field : {Text{"name", &a.name, false}, Text{"address", &a.address, false},
                              Text{"phone", &a.phone, false}, Text{"email", &a.email, false}}) {
      Result<std::string> value = StringField(applicant, field.key, false);
      if (!value.ok()) return Error{"letter_json", "applicant: " + value.error().message};
      *field.out = std::move(value).value();
    }
    letter.applicant = std::move(a);
  }
  element signer;
  if (top["signer"].get(signer) == simdjson::SUCCESS && signer.is_object()) {
    for (const Text& field :
         {Text{"name", &letter.signer_name, false}, Text{"title", &letter.signer_title, false}}) {
      Result<std::string> value = StringField(signer, field.key, false);
      if (!value.ok()) return Error{"letter_json", "signer: " + value.error().message};
      *field.out = std::move(value).value();
    }
  }
  int64_t cycle = 0;
  if (element value; top["cycle"].get(value) == simdjson::SUCCESS && !value.is_null()) {
    if (value.get_int64().get(cycle) != simdjson::SUCCESS || cycle < 0 || cycle > 65535) {
      return Error{"letter_json", "\"cycle\" is not a cycle number"};
    }
  }
  letter.cycle = static_cast<int>(cycle);
  if (letter.cycle == 0) {
    // Older letters carry no cycle: their id ends with it.
    const size_t colon = letter.letter_id.rfind(':');
    if (colon != std::string::npos) letter.cycle = std::atoi(letter.letter_id.c_str() + colon + 1);
  }
  return letter;
}

std::string RenderLetterHtml(const LetterFields& letter, const rules::CompiledRules& rules,
                             const LettersConfig& letters) {
  const rules::BusinessCalendar& calendar = rules.calendar();
  const rules::Procedure* procedure = FindProcedure(rules, letter.procedure);
  const rules::Department* department = FindDepartment(rules, letter.department);
  std::string agency = department != nullptr ? department->name : letter.department;
  if (auto it = letters.departments.find(letter.department);
      it != letters.departments.end() && !it->second.agency.empty()) {
    agency = it->second.agency;
  }
  const std::string procedure_name =
      procedure != nullptr && !procedure->name.empty() ? procedure->name : letter.procedure;
  const bool has_applicant = letter.applicant && !letter.applicant->name.empty();
  auto text = [](std::string_view value) {
    return value.empty() ? std::string(kBlank) : HtmlEscape(value);
  };
  const std::string e_agency = HtmlEscape(agency);

  std::string out;
  out.reserve(8192);
  out += "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>Văn bản xin lỗi — ";
  AppendHtmlEscaped(out, letter.letter_id);
  out += "</title>\n";
  out += kStyle;
  out += "</head>\n<body>\n<main class=\"page\">\n";

  out += "<table class=\"head\"><tr>\n<td class=\"agency\">";
  if (!letters.parent_agency.empty()) {
    out += "<div class=\"parent\">" + HtmlEscape(letters.parent_agency) + "</div>";
  }
  out +=
      "<div class=\"agency-name\" id=\"agency\">" + e_agency + "</div><div class=\"rule\"></div>";
  out += "<div class=\"number\" id=\"number\">Số: " + HtmlEscape(LetterNumber(letter, letters)) +
         "</div></td>\n";
  out += "<td class=\"nation\"><div class=\"motto\">CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</div>";
  out += "<div class=\"motto\">Độc lập - Tự do - Hạnh phúc</div><div class=\"rule\"></div>";
  out += "<div class=\"date\" id=\"date\">";
  if (!letters.place.empty()) out += HtmlEscape(letters.place) + ", ";
  out += VietnameseDate(letter.issued_at, calendar) + "</div></td>\n</tr></table>\n";

  out += "<h1>VĂN BẢN XIN LỖI<br>VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT</h1>\n";
  out += "<p class=\"to\" id=\"addressee\">Kính gửi: Ông/Bà " +
         (has_applicant ? HtmlEscape(letter.applicant->name) : std::string(kBlank)) + "</p>\n";
  out += "<p class=\"plain\" id=\"address\">Địa chỉ: " +
         text(letter.applicant ? letter.applicant->address : "") + "</p>\n";
  out += "<p class=\"plain\" id=\"phone\">Số điện thoại: " +
         text(letter.applicant ? letter.applicant->phone : "") + "</p>\n";

  // "Ngày ..." opens the sentence.
  const std::string received = VietnameseDate(letter.accepted_at, calendar);
  out += "<p id=\"received\">Ngày" + received.substr(std::string_view("ngày").size()) + ", " +
         e_agency + " tiếp nhận hồ sơ đề nghị giải quyết thủ tục hành chính “" +
         HtmlEscape(procedure_name) + "” (mã thủ tục " + HtmlEscape(letter.procedure) +
         ") của Ông/Bà; mã hồ sơ: <b id=\"dossier\">" + HtmlEscape(letter.dossier_id) +
         "</b>.</p>\n";
  out +=
      "<p id=\"due\">Thời hạn trả kết quả giải quyết hồ sơ theo Giấy tiếp nhận hồ sơ và hẹn trả "
      "kết quả: " +
      VietnameseDateTime(letter.original_due_at, calendar) + ".</p>\n";
  out += "<p id=\"reason\">Tuy nhiên đến nay, " + e_agency +
         " chưa trả kết quả giải quyết hồ sơ cho Ông/Bà đúng hạn, vì lý do: " +
         (letter.reason == kEngineReason ? std::string(kEngineReasonVi) : text(letter.reason)) +
         "</p>\n";
  out += "<p id=\"apology\">Sự chậm trễ này đã gây phiền hà cho Ông/Bà. " + e_agency +
         " thành thật xin lỗi Ông/Bà và đề nghị gia hạn thời gian giải quyết hồ sơ; kết quả giải "
         "quyết sẽ được trả vào <b id=\"new-due\">" +
         VietnameseDateTime(letter.new_due_at, calendar) + "</b>.</p>\n";
  out += "<p>Rất mong nhận được sự thông cảm của Ông/Bà./.</p>\n";

  out += "<table class=\"foot\"><tr>\n<td class=\"recipients\" id=\"recipients\">";
  out += "<div class=\"label\">Nơi nhận:</div><div>- Như trên;</div>";
  out += "<div>- Bộ phận Một cửa;</div>";
  out += "<div>- Lưu: VT, " + HtmlEscape(letter.department) + ".</div></td>\n";
  out += "<td class=\"sign\" id=\"signer\"><div class=\"title\">" + text(letter.signer_title) +
         "</div>";
  out += "<div class=\"hint\">(Ký, ghi rõ họ tên và đóng dấu)</div>";
  out += "<div class=\"name\">" + text(letter.signer_name) + "</div></td>\n</tr></table>\n";
  out += "<div class=\"form\">Mẫu số 04 — Thông tư 03/2025/TT-VPCP · " +
         HtmlEscape(letter.letter_id) + "</div>\n";
  out += "</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace ontime::daemon
