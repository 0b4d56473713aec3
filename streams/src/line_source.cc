#include "ontime/streams/line_source.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ontime::streams {
namespace {
constexpr size_t kPadding = 64;
}

Result<std::unique_ptr<LineSource>> LineSource::Open(const std::string& path) {
  FILE* file = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (!file) return Error{"io", path + ": " + std::strerror(errno)};
  auto source = std::make_unique<LineSource>();
  size_t capacity = 1 << 20;
  if (file != stdin) {
    std::fseek(file, 0, SEEK_END);
    long end = std::ftell(file);
    std::fseek(file, 0, SEEK_SET);
    if (end > 0) capacity = static_cast<size_t>(end) + 1;
  }
  auto buffer = std::make_unique<char[]>(capacity + kPadding);
  size_t size = 0;
  for (;;) {
    if (size == capacity) {
      auto bigger = std::make_unique<char[]>(capacity * 2 + kPadding);
      std::memcpy(bigger.get(), buffer.get(), size);
      buffer = std::move(bigger);
      capacity *= 2;
    }
    size_t n = std::fread(buffer.get() + size, 1, capacity - size, file);
    if (n == 0) break;
    size += n;
  }
  bool failed = std::ferror(file) != 0;
  if (file != stdin) std::fclose(file);
  if (failed) return Error{"io", path + ": read error"};
  std::memset(buffer.get() + size, 0, kPadding);
  source->buffer_ = std::move(buffer);
  source->size_ = size;
  return source;
}

bool LineSource::Next(std::string_view& line, size_t& line_number) {
  while (pos_ < size_) {
    const char* start = buffer_.get() + pos_;
    const void* newline = std::memchr(start, '\n', size_ - pos_);
    size_t length = newline ? static_cast<const char*>(newline) - start : size_ - pos_;
    pos_ += length + 1;
    ++line_number_;
    if (length > 0 && start[length - 1] == '\r') --length;
    bool blank = true;
    for (size_t i = 0; i < length && blank; ++i) blank = start[i] == ' ' || start[i] == '\t';
    if (blank) continue;
    line = std::string_view(start, length);
    line_number = line_number_;
    return true;
  }
  return false;
}

}  // namespace ontime::streams
