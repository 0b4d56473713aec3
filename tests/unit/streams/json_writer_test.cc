// ontime's one JSON writer: punctuation placed by the writer, escaping, numbers, line breaks.

#include "ontime/streams/json_writer.h"

#include <gtest/gtest.h>

namespace ontime::streams {
namespace {

TEST(JsonWriterTest, PlacesCommasAndColonsInNestedValues) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Field("a", "x").Key("list").BeginArray().Int(1).Int(-2).BeginObject();
  w.Key("t").Bool(true).Key("n").Null().EndObject().BeginArray().EndArray().EndArray();
  w.Key("empty").BeginObject().EndObject().EndObject();
  EXPECT_EQ(out, R"({"a":"x","list":[1,-2,{"t":true,"n":null},[]],"empty":{}})");
}

TEST(JsonWriterTest, EscapesStringsAndKeys) {
  std::string out;
  JsonWriter(out).BeginObject().Field("k\"ey", "<\"\\\n\t\x01 Nguyễn>").EndObject();
  EXPECT_EQ(out, "{\"k\\\"ey\":\"<\\\"\\\\\\n\\t\\u0001 Nguyễn>\"}");
}

TEST(JsonWriterTest, NumbersKeepADecimalPartAndSecondsTheirMilliseconds) {
  std::string out;
  JsonWriter w(out);
  w.BeginArray().Number(1.0).Number(0.9975).Number(960).Seconds(Duration{3'600'000});
  w.Seconds(Duration{-12'500}).Seconds(Duration{57'600'001}).EndArray();
  EXPECT_EQ(out, "[1.0,0.9975,960.0,3600,-12.500,57600.001]");
}

TEST(JsonWriterTest, BreaksGoAfterTheCommaAndChangeNoMeaning) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Key("now").Int(1).Break().Key("rows").BeginArray();
  for (int i = 0; i < 3; ++i) w.Break().BeginObject().Key("i").Int(i).EndObject();
  w.EndArray().EndObject();
  EXPECT_EQ(out, "{\"now\":1,\n\"rows\":[\n{\"i\":0},\n{\"i\":1},\n{\"i\":2}]}");
}

TEST(JsonWriterTest, RawValuesCountAsElements) {
  std::string out;
  JsonWriter w(out);
  w.BeginArray().RawValue(R"({"x":1})").RawValue("2").EndArray();
  EXPECT_EQ(out, R"([{"x":1},2])");
}

}  // namespace
}  // namespace ontime::streams
