#include "ontime/streams/line_source.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ontime::streams {

Result<std::unique_ptr<LineSource>> LineSource::Open(const std::string& path, size_t chunk_bytes) {
  FILE* file = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (!file) return Error{"io", path + ": " + std::strerror(errno)};
  size_t size = 0;
  struct stat st;
  if (file != stdin && fstat(fileno(file), &st) == 0 && S_ISREG(st.st_mode)) {
    size = static_cast<size_t>(st.st_size);
  }
  return std::make_unique<LineSource>(file, size, chunk_bytes);
}

LineSource::LineSource(FILE* file, size_t size, size_t chunk_bytes)
    : file_(file),
      size_(size),
      buffer_(std::make_unique<char[]>(std::max<size_t>(chunk_bytes, 1) + kPadding)),
      capacity_(std::max<size_t>(chunk_bytes, 1)) {
  std::setvbuf(file_, nullptr, _IONBF, 0);  // fread straight into the buffer: no second copy
}

LineSource::~LineSource() {
  if (file_ != stdin) std::fclose(file_);
}

bool LineSource::Fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == capacity_) {  // one line fills the buffer: make room for it
    auto bigger = std::make_unique<char[]>(capacity_ * 2 + kPadding);
    std::memcpy(bigger.get(), buffer_.get(), end_);
    buffer_ = std::move(bigger);
    capacity_ *= 2;
  }
  const size_t n = std::fread(buffer_.get() + end_, 1, capacity_ - end_, file_);
  if (n == 0) {
    eof_ = true;
    if (std::ferror(file_)) error_ = "read error";
    return false;
  }
  end_ += n;
  // After the last byte read, zeros; the bytes after any other line are the next line's
  // (simdjson only needs them readable).
  std::memset(buffer_.get() + end_, 0, kPadding);
  return true;
}

bool LineSource::Next(std::string_view& line, size_t& line_number) {
  return Take(line, line_number, /*may_fill=*/true);
}

size_t LineSource::NextBatch(std::string_view* lines, size_t* numbers, size_t max) {
  size_t n = 0;
  while (n < max && Take(lines[n], numbers[n], /*may_fill=*/n == 0)) ++n;
  return n;
}

bool LineSource::Take(std::string_view& line, size_t& line_number, bool may_fill) {
  for (;;) {
    const char* start = buffer_.get() + begin_;
    const void* newline = std::memchr(start, '\n', end_ - begin_);
    size_t length;
    if (newline) {
      length = static_cast<size_t>(static_cast<const char*>(newline) - start);
      begin_ += length + 1;
      consumed_ += length + 1;
    } else if (!may_fill && !eof_) {
      return false;  // the lines already handed out in this batch stay where they are
    } else if (Fill()) {
      continue;
    } else if (begin_ < end_) {  // the last line, without a newline
      start = buffer_.get() + begin_;
      length = end_ - begin_;
      begin_ = end_;
      consumed_ += length;
    } else {
      return false;
    }
    ++line_number_;
    if (length > 0 && start[length - 1] == '\r') --length;
    bool blank = true;
    for (size_t i = 0; i < length && blank; ++i) blank = start[i] == ' ' || start[i] == '\t';
    if (blank) continue;
    line = std::string_view(start, length);
    line_number = line_number_;
    return true;
  }
}

}  // namespace ontime::streams
