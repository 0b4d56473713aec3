#pragma once
// The apology letter as a document: form 04 of Circular 03/2025/TT-VPCP ("Văn bản xin lỗi và đề
// nghị gia hạn thời gian giải quyết"), rendered in Vietnamese as one print-ready A4 HTML page
// (print CSS; a browser's print-to-PDF gives the PDF). The input is the letter event of contract
// section 4, as written to dossier.apology-letters or by `replay --emit`; names, the time zone and
// the letterhead come from the configuration. Every text field is HTML-escaped. Pure functions;
// call them from any thread.

#include <optional>
#include <string>
#include <string_view>

#include "ontime/base/result.h"
#include "ontime/base/time.h"
#include "ontime/daemon/config.h"
#include "ontime/rules/engine.h"

namespace ontime::daemon {

// A letter event, parsed. Optional fields of the event are empty strings when absent.
struct LetterFields {
  struct Applicant {
    std::string name;
    std::string address;
    std::string phone;
    std::string email;
  };
  std::string letter_id;
  std::string dossier_id;
  std::string procedure;   // code
  std::string department;  // code
  std::optional<Applicant> applicant;
  Instant accepted_at{};
  Instant original_due_at{};
  Instant new_due_at{};
  Instant issued_at{};
  std::string reason;
  std::string signer_name;
  std::string signer_title;
  int cycle = 0;  // 0 when the event carries none
};

// Reads one letter event (a JSON object). Required: letter_id, dossier_id, procedure, department,
// accepted_at, original_due_at, new_due_at, issued_at; the error names the first missing or bad.
Result<LetterFields> ParseLetterJson(std::string_view json);

// The whole HTML page. `rules` gives the procedure and department names and the calendar's time
// zone (every date is printed in it); `letters` the agency names and letter-number prefixes.
std::string RenderLetterHtml(const LetterFields& letter, const rules::CompiledRules& rules,
                             const LettersConfig& letters);

// "ngày 05 tháng 3 năm 2026" (days below 10 and months below 3 take a leading zero, as
// Vietnamese administrative documents write them), in the calendar's time zone.
std::string VietnameseDate(Instant t, const rules::BusinessCalendar& calendar);
// "09 giờ 30, ngày 05 tháng 3 năm 2026".
std::string VietnameseDateTime(Instant t, const rules::BusinessCalendar& calendar);

// &, <, >, " and ' as entities.
std::string HtmlEscape(std::string_view text);
void AppendHtmlEscaped(std::string& out, std::string_view text);

// The letter number "<dossier_id>-<cycle>/<prefix>"; prefix from letters.departments[code], else
// "XL-<code>".
std::string LetterNumber(const LetterFields& letter, const LettersConfig& letters);

}  // namespace ontime::daemon
