#pragma once
// The replay source: JSON Lines from a file or standard input, read whole into one buffer padded
// for simdjson, handed out line by line with their numbers (1-based). Blank lines are skipped.

#include <memory>
#include <string>
#include <string_view>

#include "ontime/base/result.h"

namespace ontime::streams {

class LineSource {
 public:
  // "-" reads standard input.
  static Result<std::unique_ptr<LineSource>> Open(const std::string& path);

  // False at the end. `line` stays valid as long as the source; 64 readable bytes follow it.
  bool Next(std::string_view& line, size_t& line_number);
  size_t bytes() const { return size_; }

 private:
  std::unique_ptr<char[]> buffer_;
  size_t size_ = 0;
  size_t pos_ = 0;
  size_t line_number_ = 0;
};

}  // namespace ontime::streams
