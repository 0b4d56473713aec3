#pragma once
// ontime's one JSON writer: appends a value to a caller-owned string, placing the commas and
// colons itself, so no caller writes punctuation by hand. Strings are escaped, times are RFC 3339
// in a calendar's time zone, working seconds keep their milliseconds. Cheap enough for the output
// hot path (no allocation beyond the string; nesting up to 64 levels). Used for every JSON ontime
// writes: alerts, letters, report, API, Alertmanager payloads, `ontimed calendar`.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ontime/base/time.h"
#include "ontime/rules/calendar.h"

namespace ontime::streams {

void AppendJsonString(std::string& out, std::string_view text);

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& BeginObject() { return Open('{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray() { return Open('['); }
  JsonWriter& EndArray() { return Close(']'); }
  JsonWriter& Key(std::string_view key);

  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  // Shortest form that reads back the same to 6 significant digits, always with a decimal part
  // ("1.0", "0.9975"): the report's rates and averages.
  JsonWriter& Number(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  JsonWriter& Time(Instant t, const rules::BusinessCalendar& calendar);
  JsonWriter& OptionalTime(const std::optional<Instant>& t,
                           const rules::BusinessCalendar& calendar);
  // Working seconds with millisecond precision: 3600, -12.5.
  JsonWriter& Seconds(Duration d);

  // A value this writer (or another JsonWriter) already serialized, placed as one element.
  JsonWriter& RawValue(std::string_view json);
  // Key(key) then String(value): the common case.
  JsonWriter& Field(std::string_view key, std::string_view value) { return Key(key).String(value); }
  // A line break before the next element of the current array or object (after its comma), for
  // files people read; no effect on what the JSON means.
  JsonWriter& Break();

 private:
  JsonWriter& Open(char bracket);
  JsonWriter& Close(char bracket);
  void BeforeValue();  // the comma between elements, unless a key or a Break placed it

  std::string& out_;
  uint64_t has_elements_ = 0;  // bit d: the container at depth d has an element already
  int depth_ = 0;
  bool after_key_ = false;
  bool separated_ = false;
};

}  // namespace ontime::streams
