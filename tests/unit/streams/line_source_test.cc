// The replay input read in bounded chunks: lines across chunk boundaries, a line longer than a
// chunk, CRLF, blank lines and a last line without a newline come out as from the whole file.
#include "ontime/streams/line_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace ontime::streams {
namespace {

struct Line {
  size_t number;
  std::string text;
  bool operator==(const Line&) const = default;
};

std::string WriteTemp(const std::string& content) {
  char name[] = "/tmp/line_source_test_XXXXXX";
  const int fd = ::mkstemp(name);
  EXPECT_GE(fd, 0);
  ::close(fd);
  std::ofstream(name, std::ios::binary) << content;
  return name;
}

std::vector<Line> ReadAll(const std::string& path, size_t chunk) {
  auto source = LineSource::Open(path, chunk);
  EXPECT_TRUE(source.ok());
  std::vector<Line> lines;
  std::string_view line;
  size_t number = 0;
  while ((*source)->Next(line, number)) {
    // The padding simdjson reads past the line is there.
    volatile char last = line.data()[line.size() + LineSource::kPadding - 1];
    (void)last;
    lines.push_back({number, std::string(line)});
  }
  EXPECT_TRUE((*source)->error().empty());
  EXPECT_EQ((*source)->consumed(), (*source)->bytes());
  return lines;
}

TEST(LineSourceTest, EveryChunkSizeGivesTheSameLines) {
  const std::string long_line(100, 'x');
  const std::string content = "{\"a\":1}\n\n  \t\n{\"b\":22}\r\n" + long_line + "\n{\"c\":333}";
  const std::string path = WriteTemp(content);
  const std::vector<Line> expected = {
      {1, "{\"a\":1}"}, {4, "{\"b\":22}"}, {5, long_line}, {6, "{\"c\":333}"}};
  for (size_t chunk : {1, 2, 3, 7, 8, 9, 16, 64, 1 << 20}) {
    SCOPED_TRACE(chunk);
    EXPECT_EQ(ReadAll(path, chunk), expected);
  }
  std::remove(path.c_str());
}

TEST(LineSourceTest, BatchesGiveTheSameLinesAsNext) {
  std::string content;
  for (int i = 0; i < 200; ++i)
    content += (i % 7 == 3 ? "\n" : "{\"n\":" + std::to_string(i) + "}\n");
  const std::string path = WriteTemp(content);
  const std::vector<Line> expected = ReadAll(path, 1 << 20);
  for (size_t chunk : {5, 16, 100, 1 << 20}) {
    SCOPED_TRACE(chunk);
    auto source = LineSource::Open(path, chunk);
    ASSERT_TRUE(source.ok());
    std::vector<Line> lines;
    std::string_view batch[8];
    size_t numbers[8];
    while (size_t n = (*source)->NextBatch(batch, numbers, 8)) {
      for (size_t j = 0; j < n; ++j) lines.push_back({numbers[j], std::string(batch[j])});
    }
    EXPECT_EQ(lines, expected);
  }
  std::remove(path.c_str());
}

TEST(LineSourceTest, EmptyAndBlankInputsHaveNoLines) {
  for (const std::string content : {"", "\n", "  \n\r\n\t"}) {
    const std::string path = WriteTemp(content);
    EXPECT_TRUE(ReadAll(path, 4).empty());
    std::remove(path.c_str());
  }
}

TEST(LineSourceTest, AMissingFileIsAnError) {
  EXPECT_FALSE(LineSource::Open("/nonexistent/events.jsonl").ok());
}

}  // namespace
}  // namespace ontime::streams
