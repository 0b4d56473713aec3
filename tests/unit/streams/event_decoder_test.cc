// Decoding input events (contract section 1): plain, numeric status, CloudEvents, and every way
// an event can be invalid, with the reason it is dead-lettered under.

#include "ontime/streams/event_decoder.h"

#include <gtest/gtest.h>

namespace ontime::streams {
namespace {

using rules::EventType;

TEST(EventDecoder, DecodesAPlainAcceptedEvent) {
  EventDecoder decoder;
  auto e = decoder.Decode(R"({"event_id":"e1","type":"accepted","dossier_id":"H12-0001",
    "occurred_at":"2026-03-02T09:00:00.250+07:00","procedure":"1.004227","department":"SXD",
    "channel":"online","reception_seconds":798.5,"due_at":"2026-03-20T17:00:00+07:00",
    "applicant":{"name":"Le Thi C","address":"12 Tran Phu","phone":"0912","email":"c@x.vn"}})");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->event_id, "e1");
  EXPECT_EQ(e->type, EventType::kAccepted);
  EXPECT_EQ(e->dossier_id, "H12-0001");
  EXPECT_EQ(e->occurred_at, *ParseRfc3339("2026-03-02T02:00:00.250Z"));
  EXPECT_EQ(e->procedure, "1.004227");
  EXPECT_EQ(e->department, "SXD");
  EXPECT_EQ(e->channel, rules::Channel::kOnline);
  EXPECT_DOUBLE_EQ(*e->reception_seconds, 798.5);
  EXPECT_EQ(e->due_at, ParseRfc3339("2026-03-20T10:00:00Z"));
  ASSERT_TRUE(e->applicant.has_value());
  EXPECT_EQ(e->applicant->name, "Le Thi C");
  EXPECT_EQ(e->applicant->email, "c@x.vn");
}

TEST(EventDecoder, AcceptsNumericNationalStatusCodes) {
  EventDecoder decoder;
  const std::pair<int, EventType> table[] = {
      {1, EventType::kSubmitted},    {3, EventType::kRefused},
      {4, EventType::kTransferred},  {5, EventType::kSupplementRequested},
      {6, EventType::kFeeRequested}, {7, EventType::kWithdrawn},
      {8, EventType::kStopped},      {9, EventType::kResolved},
      {10, EventType::kReturned}};
  for (auto [status, type] : table) {
    std::string json =
        R"({"event_id":"e","status":)" + std::to_string(status) +
        R"(,"dossier_id":"D","occurred_at":"2026-03-02T09:00:00Z","department":"SXD"})";
    auto e = decoder.Decode(json);
    ASSERT_TRUE(e.ok()) << status << ": " << e.error().message;
    EXPECT_EQ(e->type, type) << status;
  }
  auto unknown = decoder.Decode(
      R"({"event_id":"e","status":42,"dossier_id":"D","occurred_at":"2026-03-02T09:00:00Z"})");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->type, EventType::kUnknown) << "counted and skipped, not dead-lettered";
}

TEST(EventDecoder, MapsCloudEventsStructuredMode) {
  EventDecoder decoder;
  auto e = decoder.Decode(R"({"specversion":"1.0","id":"ce-7","source":"/one-stop",
    "type":"vn.gov.dossier.resolved","subject":"H12-0002","time":"2026-03-04T10:15:00+07:00",
    "data":{"reason":"done","dossier_id":"ignored"}})");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->event_id, "ce-7");
  EXPECT_EQ(e->dossier_id, "H12-0002");
  EXPECT_EQ(e->type, EventType::kResolved);
  EXPECT_EQ(e->reason, "done");
  EXPECT_EQ(e->occurred_at, *ParseRfc3339("2026-03-04T03:15:00Z"));
}

TEST(EventDecoder, UnknownTypeNamesAreKeptForCounting) {
  EventDecoder decoder;
  auto e = decoder.Decode(
      R"({"event_id":"e","type":"teleported","dossier_id":"D","occurred_at":"2026-03-02T09:00:00Z"})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->type, EventType::kUnknown);
  EXPECT_EQ(e->type_name, "teleported");
}

TEST(EventDecoder, RejectsWhatCannotBeProcessedWithAReason) {
  struct Case {
    const char* json;
    const char* reason;
    const char* message_part;
  };
  const Case cases[] = {
      {R"({"event_id":"e","type":"accepted")", "invalid_json", ""},
      {R"([1,2])", "invalid_json", "not a JSON object"},
      {R"({"type":"resolved","dossier_id":"D","occurred_at":"2026-03-02T09:00:00Z"})",
       "missing_field", "event_id"},
      {R"({"event_id":"e","type":"resolved","occurred_at":"2026-03-02T09:00:00Z"})",
       "missing_field", "dossier_id"},
      {R"({"event_id":"e","dossier_id":"D","occurred_at":"2026-03-02T09:00:00Z"})", "missing_field",
       "type"},
      {R"({"event_id":"e","type":"resolved","dossier_id":"D"})", "missing_field", "occurred_at"},
      {R"({"event_id":"e","type":"resolved","dossier_id":"D","occurred_at":"2026-03-02 09:00"})",
       "invalid_field", "occurred_at"},
      {R"({"event_id":"e","type":"resolved","dossier_id":"D","occurred_at":"2026-03-02T09:00:00"})",
       "invalid_field", "occurred_at"},
      {R"({"event_id":"e","type":"accepted","dossier_id":"D","occurred_at":"2026-03-02T09:00:00Z"})",
       "missing_field", "procedure"},
      {R"({"event_id":"e","type":"transferred","dossier_id":"D","occurred_at":"2026-03-02T09:00:00Z"})",
       "missing_field", "department"},
      {R"({"event_id":"e","type":"rated","dossier_id":"D","occurred_at":"2026-03-02T09:00:00Z"})",
       "missing_field", "rating"},
      {R"({"event_id":"e","type":"fee_paid","dossier_id":"D","occurred_at":"2026-03-02T09:00:00Z"})",
       "missing_field", "method"},
      {R"({"event_id":"e","type":"extended","dossier_id":"D","occurred_at":"2026-03-02T09:00:00Z"})",
       "missing_field", "due_at"},
      {R"({"event_id":"e","type":"accepted","dossier_id":"D","occurred_at":"2026-03-02T09:00:00Z","procedure":"P","channel":"fax"})",
       "invalid_field", "channel"},
      {R"({"event_id":"e","type":"accepted","dossier_id":"D","occurred_at":"2026-03-02T09:00:00Z","procedure":"P","reception_seconds":-1})",
       "invalid_field", "reception_seconds"},
      {R"({"event_id":7,"type":"resolved","dossier_id":"D","occurred_at":"2026-03-02T09:00:00Z"})",
       "invalid_field", "event_id"},
  };
  EventDecoder decoder;
  for (const Case& c : cases) {
    auto e = decoder.Decode(c.json);
    ASSERT_FALSE(e.ok()) << c.json;
    EXPECT_EQ(e.error().code, c.reason) << c.json;
    EXPECT_NE(e.error().message.find(c.message_part), std::string::npos)
        << c.json << " -> " << e.error().message;
  }
  std::string long_id(129, 'x');
  auto e = decoder.Decode(R"({"event_id":"e","type":"resolved","dossier_id":")" + long_id +
                          R"(","occurred_at":"2026-03-02T09:00:00Z"})");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, "invalid_field");
  // A control character in an id (the changelog's own records are keyed "\x01..."): refused.
  for (const char* field : {"dossier_id", "event_id"}) {
    std::string json = R"({"event_id":"e","type":"resolved","dossier_id":"D",)"
                       R"("occurred_at":"2026-03-02T09:00:00Z"})";
    const std::string plain = std::string("\"") + field + "\":\"";
    json.insert(json.find(plain) + plain.size(), "\\u0001sketch/");
    auto bad = decoder.Decode(json);
    ASSERT_FALSE(bad.ok()) << json;
    EXPECT_EQ(bad.error().code, "invalid_field") << json;
    EXPECT_NE(bad.error().message.find("control character"), std::string::npos)
        << bad.error().message;
  }
}

}  // namespace
}  // namespace ontime::streams
