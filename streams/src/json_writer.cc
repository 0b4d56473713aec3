#include "ontime/streams/json_writer.h"

#include <cstdio>

#include "ontime/base/check.h"

namespace ontime::streams {

void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  size_t run = 0;  // start of the bytes that need no escaping, copied in one go
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
        out.append(buf);
      }
    }
  }
  out.append(text.data() + run, text.size() - run);
  out.push_back('"');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ == 0) return;
  const uint64_t bit = uint64_t{1} << (depth_ - 1);
  if ((has_elements_ & bit) != 0 && !separated_) out_.push_back(',');
  has_elements_ |= bit;
  separated_ = false;
}

JsonWriter& JsonWriter::Open(char bracket) {
  BeforeValue();
  ONTIME_CHECK(depth_ < 64, "JSON nested deeper than 64 levels");
  out_.push_back(bracket);
  ++depth_;
  has_elements_ &= ~(uint64_t{1} << (depth_ - 1));
  return *this;
}

JsonWriter& JsonWriter::Close(char bracket) {
  ONTIME_CHECK(depth_ > 0 && !after_key_, "JSON closed where it cannot be");
  --depth_;
  separated_ = false;
  out_.push_back(bracket);
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  BeforeValue();
  AppendJsonString(out_, key);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::Break() {
  ONTIME_CHECK(!after_key_ && depth_ > 0, "a JSON line break between a key and its value");
  const uint64_t bit = uint64_t{1} << (depth_ - 1);
  if ((has_elements_ & bit) != 0 && !separated_) out_.push_back(',');
  separated_ = (has_elements_ & bit) != 0;
  out_.push_back('\n');
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  BeforeValue();
  AppendJsonString(out_, value);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) {
  BeforeValue();
  out_.append(std::to_string(value));
  return *this;
}

JsonWriter& JsonWriter::Number(double value) {
  BeforeValue();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", value);
  const std::string_view text(buf);
  out_.append(text);
  if (text.find_first_of(".eEn") == std::string_view::npos) out_.append(".0");
  return *this;
}

JsonWriter& JsonWriter::RawValue(std::string_view json) {
  BeforeValue();
  out_.append(json);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  BeforeValue();
  out_.append(value ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_.append("null");
  return *this;
}

JsonWriter& JsonWriter::Time(Instant t, const rules::BusinessCalendar& calendar) {
  BeforeValue();
  out_.push_back('"');
  AppendRfc3339(out_, t, calendar.UtcOffsetAt(t));
  out_.push_back('"');
  return *this;
}

JsonWriter& JsonWriter::OptionalTime(const std::optional<Instant>& t,
                                     const rules::BusinessCalendar& calendar) {
  return t ? Time(*t, calendar) : Null();
}

JsonWriter& JsonWriter::Seconds(Duration d) {
  BeforeValue();
  const int64_t ms = d.count();
  if (ms % 1000 == 0) {
    out_.append(std::to_string(ms / 1000));
    return *this;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%lld.%03lld", ms < 0 ? "-" : "",
                static_cast<long long>((ms < 0 ? -ms : ms) / 1000),
                static_cast<long long>((ms < 0 ? -ms : ms) % 1000));
  out_.append(buf);
  return *this;
}

}  // namespace ontime::streams
