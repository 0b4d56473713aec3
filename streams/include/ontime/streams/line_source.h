#pragma once
// The replay source: JSON Lines from a file or standard input, read in bounded chunks (the input
// is never held whole: memory stays that of the longest line, not of the file), handed out line
// by line with their numbers (1-based). Blank lines are skipped. Single-threaded.

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "ontime/base/result.h"

namespace ontime::streams {

class LineSource {
 public:
  // Bytes read at a time; a longer line grows the buffer to hold it.
  static constexpr size_t kChunkBytes = size_t{1} << 20;
  // Readable bytes after every line handed out (simdjson's padding).
  static constexpr size_t kPadding = 64;

  // "-" reads standard input.
  static Result<std::unique_ptr<LineSource>> Open(const std::string& path,
                                                  size_t chunk_bytes = kChunkBytes);
  LineSource(FILE* file, size_t size, size_t chunk_bytes);
  ~LineSource();
  LineSource(const LineSource&) = delete;
  LineSource& operator=(const LineSource&) = delete;

  // False at the end, or on a read error (then error() is set). `line` stays valid until the
  // next call; kPadding readable bytes follow it.
  bool Next(std::string_view& line, size_t& line_number);
  // Up to `max` lines at once, into lines[] and numbers[]: all valid until the next call (of
  // either), kPadding readable bytes after each. Fewer when the buffer has to be refilled (the
  // end of a chunk); 0 at the end or on a read error.
  size_t NextBatch(std::string_view* lines, size_t* numbers, size_t max);
  // The input's size when known beforehand (a regular file), else 0.
  size_t bytes() const { return size_; }
  // Bytes of the input consumed so far, up to the end of the last line handed out.
  size_t consumed() const { return consumed_; }
  const std::string& error() const { return error_; }

 private:
  // Moves the unconsumed bytes to the front and reads more; false when nothing more came.
  bool Fill();
  // The next line; with `may_fill` false, false (and nothing consumed) where it would refill.
  bool Take(std::string_view& line, size_t& line_number, bool may_fill);

  FILE* file_;
  size_t size_;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_;   // readable bytes: capacity_ + kPadding
  size_t begin_ = 0;  // the unconsumed bytes are [begin_, end_)
  size_t end_ = 0;
  bool eof_ = false;
  size_t consumed_ = 0;
  size_t line_number_ = 0;
  std::string error_;
};

}  // namespace ontime::streams
